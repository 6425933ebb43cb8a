//! Helpers shared by the fuzz targets and the seed generator (`examples/gen_seeds.rs`): tiny
//! real model packages, the artifact types decoded by `artifact_decode`, and the framing of
//! prediction log segments.

use std::collections::BTreeMap;

use mlflow_core::codec;
use mlflow_ml::data::{Column, Table};
use mlflow_ml::features::{Feature, FeatureSpec, Imputer, StandardScaler};
use mlflow_ml::models::{
    ForestParams, LogisticParams, Model, ModelParams, NaiveBayesParams, SvmParams, TreeParams,
};
use mlflow_serve::{Lineage, ModelPackage, Scorer};
use ndarray::{array, Array2};
use serde::{Deserialize, Serialize};

/// The feature names of the packages built here.
pub const FEATURES: [&str; 3] = ["Pclass", "Sex", "Age"];

fn training() -> (Array2<f64>, Vec<usize>) {
    let x = array![
        [3.0, 0.0, 22.0],
        [1.0, 1.0, 38.0],
        [3.0, 1.0, 26.0],
        [1.0, 1.0, 35.0],
        [3.0, 0.0, 35.0],
        [2.0, 0.0, 54.0],
        [3.0, 0.0, 2.0],
        [2.0, 1.0, 27.0],
    ];
    (x, vec![0, 1, 1, 1, 0, 0, 0, 1])
}

/// Small real packages, one per model kind, one with a scaler and one with feature transformers.
pub fn packages() -> Vec<(&'static str, ModelPackage)> {
    let (x, y) = training();
    let fit = |params: ModelParams| Model::fit(x.view(), &y, &params).expect("fit");
    let plain = |name: &str, model: Model| {
        ModelPackage::new(name, model, None, &FEATURES, x.view(), Lineage::default().pipeline("fuzz"))
            .expect("package")
    };
    let mut out = vec![
        ("naive_bayes", plain("nb", fit(ModelParams::NaiveBayes(NaiveBayesParams::default())))),
        ("tree", plain("tree", fit(ModelParams::Tree(TreeParams::default())))),
        (
            "forest",
            plain(
                "forest",
                fit(ModelParams::Forest(ForestParams { n_trees: 3, threads: 1, ..Default::default() })),
            ),
        ),
        ("svm", plain("svm", fit(ModelParams::Svm(SvmParams::default())))),
    ];
    // A logistic regression on standardized inputs.
    let matrix = mlflow_ml::features::FeatureMatrix {
        names: FEATURES.iter().map(|s| s.to_string()).collect(),
        x: x.clone(),
    };
    let rows: Vec<usize> = (0..x.nrows()).collect();
    let scaler = StandardScaler.fit_matrix(&matrix, &rows).expect("scaler");
    let scaled = scaler.transform(&matrix).expect("scale");
    let logistic =
        Model::fit(scaled.x.view(), &y, &ModelParams::Logistic(LogisticParams::default())).expect("fit");
    let package =
        ModelPackage::new("logistic", logistic, Some(scaler), &FEATURES, x.view(), Lineage::default())
            .expect("package");
    out.push(("logistic_scaled", package));
    // Naive Bayes behind feature transformers (an imputer) fitted on a table.
    let table = Table::new(
        FEATURES
            .iter()
            .enumerate()
            .map(|(j, name)| {
                (name.to_string(), Column::Float(x.column(j).iter().map(|&v| Some(v)).collect()))
            })
            .collect(),
    )
    .expect("table");
    let spec = FEATURES
        .iter()
        .fold(FeatureSpec::new(), |spec, name| spec.with(Feature::column(*name).then(Imputer::mean())));
    let fitted = spec.fit(&table, &rows).expect("features");
    let nb = fit(ModelParams::NaiveBayes(NaiveBayesParams::default()));
    let package = plain("nb_features", nb).with_features(fitted).expect("features");
    out.push(("naive_bayes_features", package));
    out
}

/// Scorers of the KServe target: a plain one and one with a scaler.
pub fn scorers() -> Vec<Scorer> {
    packages()
        .into_iter()
        .filter(|(name, _)| matches!(*name, "naive_bayes" | "logistic_scaled"))
        .map(|(_, p)| Scorer::new(p))
        .collect()
}

/// A nested artifact type: strings, maps, options, enums and recursion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Nested {
    pub name: String,
    pub tags: BTreeMap<String, Vec<u64>>,
    pub parts: Vec<Part>,
    pub child: Option<Box<Nested>>,
    pub hash: codec::ContentHash,
}

/// The enum inside [`Nested`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Part {
    Unit,
    Number(i64),
    Pair(f64, String),
    Record { id: u32, values: Vec<f32>, flag: bool },
}

/// A sample [`Nested`] value.
pub fn nested() -> Nested {
    Nested {
        name: "outer".into(),
        tags: BTreeMap::from([("a".to_string(), vec![1, 300, u64::MAX]), ("b".to_string(), vec![])]),
        parts: vec![
            Part::Unit,
            Part::Number(-5),
            Part::Pair(0.5, "half".into()),
            Part::Record { id: 7, values: vec![1.5, -2.0], flag: true },
        ],
        child: Some(Box::new(Nested {
            name: "inner".into(),
            tags: BTreeMap::new(),
            parts: vec![],
            child: None,
            hash: codec::ContentHash::of(b"inner"),
        })),
        hash: codec::ContentHash::of(b"outer"),
    }
}

/// A sample [`Table`] with the three column types and missing values.
pub fn table() -> Table {
    Table::new(vec![
        ("id".into(), Column::Int(vec![Some(1), Some(2), None])),
        ("score".into(), Column::Float(vec![Some(0.5), None, Some(-1.25)])),
        ("name".into(), Column::Str(vec![Some("a".into()), None, Some("ü".into())])),
    ])
    .expect("table")
}

/// CRC-32 (IEEE), bit by bit: the prediction log's frame checksum, computed independently.
pub fn crc32(parts: &[&[u8]]) -> u32 {
    let mut crc = !0u32;
    for part in parts {
        for &byte in *part {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { 0xEDB8_8320 ^ (crc >> 1) } else { crc >> 1 };
            }
        }
    }
    !crc
}

/// The header of a prediction log segment (magic and format version 1).
pub fn segment_header() -> Vec<u8> {
    let mut out = b"MLFLOWLOG\0".to_vec();
    out.extend_from_slice(&mlflow_serve::LOG_FORMAT_VERSION.to_le_bytes());
    out
}

/// Appends one frame (length, CRC, payload) to a segment.
pub fn push_frame(segment: &mut Vec<u8>, payload: &[u8]) {
    let len = (payload.len() as u32).to_le_bytes();
    segment.extend_from_slice(&len);
    segment.extend_from_slice(&crc32(&[&len, payload]).to_le_bytes());
    segment.extend_from_slice(payload);
}

/// A package file around `body`, with the right length and hash in the header.
pub fn package_file(body: &[u8]) -> Vec<u8> {
    let mut out = mlflow_serve::MAGIC.to_vec();
    out.extend_from_slice(&mlflow_serve::FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(codec::hash_bytes(body).as_bytes());
    out.extend_from_slice(body);
    out
}
