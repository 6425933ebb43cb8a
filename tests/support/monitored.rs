//! A small binary classifier with a reference profile, and logged predictions of it (as served,
//! or with one input shifted), for the monitoring tests of the library and of the command line.
//! Three inputs: `age` (continuous), `fare` (continuous) and `sex` (0/1); Naive Bayes.
#![allow(dead_code)]

use mlflow::data::{Column, Table};
use mlflow::features::FeatureMatrix;
use mlflow::models::{Classifier, Model, ModelParams, NaiveBayesParams};
use mlflow::monitor::ReferenceProfile;
use mlflow::prelude::*;
use mlflow::registry::{RegisterRequest, Registry};
use mlflow::serve::{Lineage, ModelPackage, PredictionRecord, Role, ServeError};
use ndarray::Array2;

/// The model's inputs, in signature order.
pub const FEATURES: [&str; 3] = ["age", "fare", "sex"];
/// Training rows (below Evidently's 1000: the KS and z tests).
pub const TRAIN_ROWS: usize = 800;

/// A deterministic uniform stream in [0, 1) (a 64-bit LCG, the high bits).
pub struct Uniform(u64);

impl Uniform {
    pub fn new(seed: u64) -> Uniform {
        Uniform(seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407))
    }

    pub fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One row of inputs; `age_shift` is added to the age.
pub fn row(u: &mut Uniform, age_shift: f64) -> [f64; 3] {
    let age = (5.0 + 70.0 * u.next()).round() + age_shift;
    let fare = ((10.0 + 50.0 * u.next()) * 100.0).round() / 100.0;
    let sex = f64::from(u8::from(u.next() < 0.4));
    [age, fare, sex]
}

fn training() -> (Array2<f64>, Vec<usize>) {
    let mut u = Uniform::new(7);
    let mut x = Array2::zeros((TRAIN_ROWS, 3));
    let mut y = Vec::with_capacity(TRAIN_ROWS);
    for i in 0..TRAIN_ROWS {
        let r = row(&mut u, 0.0);
        x.row_mut(i).assign(&ndarray::arr1(&r));
        y.push(usize::from(r[2] == 1.0 || (r[0] < 15.0 && u.next() < 0.7)));
    }
    (x, y)
}

/// The model (fitted) and its package with the profile of its training rows.
pub fn package() -> (Model, ModelPackage) {
    let (x, y) = training();
    let model = Model::fit(x.view(), &y, &ModelParams::NaiveBayes(NaiveBayesParams::default())).unwrap();
    let p = model.predict_proba(x.view()).unwrap();
    let raw = Table::new(
        FEATURES
            .iter()
            .enumerate()
            .map(|(j, name)| {
                (name.to_string(), Column::Float(x.column(j).iter().map(|v| Some(*v)).collect()))
            })
            .collect(),
    )
    .unwrap();
    let features = FeatureMatrix { names: FEATURES.map(String::from).to_vec(), x: x.clone() };
    let outputs = FeatureMatrix { names: vec!["P(0)".into(), "P(1)".into()], x: p };
    let profile = ReferenceProfile::new(&raw, None, &features, &outputs).unwrap();
    let rows = x.slice(ndarray::s![..4, ..]);
    let package = ModelPackage::new("naive_bayes", model.clone(), None, &FEATURES, rows, Lineage::default())
        .unwrap()
        .with_profile(profile)
        .unwrap();
    (model, package)
}

/// `n` records of `version` in `role`, scored by `model`, from request `first` on, one a
/// second from `start_ms` (one row per request), the age shifted by `age_shift`.
#[allow(clippy::too_many_arguments)]
pub fn records(
    model: &Model,
    seed: u64,
    first: usize,
    n: usize,
    start_ms: i64,
    version: u32,
    role: Role,
    age_shift: f64,
) -> Vec<PredictionRecord> {
    let mut u = Uniform::new(seed);
    let rows: Vec<[f64; 3]> = (0..n).map(|_| row(&mut u, age_shift)).collect();
    let x = Array2::from_shape_fn((n, 3), |(i, j)| rows[i][j]);
    let p = model.predict_proba(x.view()).unwrap();
    (0..n)
        .map(|i| PredictionRecord {
            request_id: format!("req-{}", first + i),
            row: 0,
            time_ms: start_ms + 1000 * i as i64,
            model: "demo".into(),
            version,
            role,
            inputs: rows[i].to_vec(),
            label: u32::from(p[[i, 1]] >= 0.5),
            probability: p[[i, 1]],
            latency_us: 200 + (i % 100) as u64,
        })
        .collect()
}

/// The package of version `variant` (the versions differ by the package's name only).
#[step]
fn monitored_package(variant: &u32) -> Result<ModelPackage, ServeError> {
    let (model, package) = package();
    let rows = ndarray::Array2::from_shape_fn((1, 3), |(_, j)| j as f64);
    let profile = package.profile().cloned().expect("a profile");
    ModelPackage::new(
        format!("naive_bayes_{variant}"),
        model,
        None,
        &FEATURES,
        rows.view(),
        Lineage::default(),
    )?
    .with_profile(profile)
}

/// Registers the package as versions 1 and 2 of `demo` in `store`, alias `production` on 1.
pub fn register(store: &Store) {
    let registry = Registry::new(store).expect("open the registry");
    for variant in 1..=2u32 {
        let mut p = Pipeline::new("monitored");
        let variant = p.param("variant", variant);
        let package = p.step(MonitoredPackageStep, variant);
        let report = p.run(store).expect("the packaging pipeline runs");
        assert!(report.is_success(), "{report}");
        let request = RegisterRequest::for_output(&report, package).expect("the package node");
        registry.register("demo", request).expect("register");
    }
    registry.set_alias("demo", "production", 1, "monitored").expect("set the alias");
}
