//! Three small registered models for the Open Inference Protocol tests and the KServe client
//! check (`examples/kserve_v2.rs`): a binary classifier with integer labels `-1` and `1`
//! (`binary`), a three-class classifier with text labels (`species`) and a linear regressor
//! (`price`), each with two features and alias `production`; and a second binary classifier
//! (`binary@candidate`) for challengers.
#![allow(dead_code)]

use mlflow::features::{ClassLabel, ClassLabels};
use mlflow::models::{LinearParams, Model, ModelParams, NaiveBayesParams, RegressionModel};
use mlflow::prelude::*;
use mlflow::registry::{RegisterRequest, Registry};
use mlflow::serve::{Lineage, ModelPackage, ServeError};
use ndarray::Array2;

/// The served models: name and feature names.
pub const MODELS: [(&str, [&str; 2]); 3] =
    [("binary", ["x1", "x2"]), ("species", ["petal_length", "petal_width"]), ("price", ["rooms", "age"])];

/// The species' labels, in class order.
pub const SPECIES: [&str; 3] = ["setosa", "versicolor", "virginica"];

/// Rows to ask each model about (two features each).
pub const ROWS: [[f64; 2]; 4] = [[0.1, 0.2], [2.1, 1.9], [4.2, 4.0], [1.0, 1.1]];

fn x() -> Array2<f64> {
    ndarray::array![
        [0.0, 0.1],
        [0.3, 0.0],
        [0.2, 0.4],
        [2.0, 2.1],
        [2.3, 1.8],
        [1.9, 2.2],
        [4.0, 4.1],
        [4.4, 3.8],
        [3.9, 4.3]
    ]
}

#[step]
fn package_model(kind: &String) -> Result<ModelPackage, ServeError> {
    let x = x();
    let names = MODELS.iter().find(|(name, _)| name == kind).map_or(["x1", "x2"], |(_, names)| *names);
    let rows = x.slice(ndarray::s![..4, ..]);
    let nb = ModelParams::NaiveBayes(NaiveBayesParams::default());
    match kind.as_str() {
        "binary" => {
            let model = Model::fit(x.view(), &[0, 0, 0, 0, 0, 1, 1, 1, 1], &nb)?;
            ModelPackage::new("naive_bayes", model, None, &names, rows, Lineage::default())?
                .with_classes(ClassLabels::new(vec![ClassLabel::Int(-1), ClassLabel::Int(1)]))
        }
        "binary_logistic" => {
            let params = ModelParams::Logistic(mlflow::models::LogisticParams::default());
            let model = Model::fit(x.view(), &[0, 0, 0, 0, 0, 1, 1, 1, 1], &params)?;
            ModelPackage::new("logistic", model, None, &["x1", "x2"], rows, Lineage::default())?
                .with_classes(ClassLabels::new(vec![ClassLabel::Int(-1), ClassLabel::Int(1)]))
        }
        "species" => {
            let model = Model::fit(x.view(), &[0, 0, 0, 1, 1, 1, 2, 2, 2], &nb)?;
            let classes = ClassLabels::new(SPECIES.map(|s| ClassLabel::Text(s.into())).to_vec());
            ModelPackage::new("naive_bayes", model, None, &names, rows, Lineage::default())?
                .with_classes(classes)
        }
        _ => {
            // price = 10 + 3 rooms - 0.5 age, with a little noise.
            let y: Vec<f64> = x
                .rows()
                .into_iter()
                .enumerate()
                .map(|(i, r)| 10.0 + 3.0 * r[0] - 0.5 * r[1] + [0.01, -0.02, 0.0][i % 3])
                .collect();
            let model = RegressionModel::fit(x.view(), &y, &LinearParams::default().into())?;
            ModelPackage::new("linear", model, None, &names, rows, Lineage::default())
        }
    }
}

/// Registers the three models in `store`, alias `production`, and a logistic regression as
/// `binary/2`, alias `candidate`.
pub fn register(store: &Store) {
    let registry = Registry::new(store).expect("open the registry");
    let models = MODELS.map(|(name, _)| (name, name, "production"));
    for (name, kind, alias) in models.into_iter().chain([("binary", "binary_logistic", "candidate")]) {
        let mut p = Pipeline::new(format!("v2-{kind}"));
        let kind = p.param("kind", kind.to_owned());
        let package = p.step(PackageModelStep, kind);
        let report = p.run(store).expect("the packaging pipeline runs");
        assert!(report.is_success(), "{report}");
        let request = RegisterRequest::for_output(&report, package).expect("the package node");
        let version = registry.register(name, request).expect("register").version;
        registry.set_alias(name, alias, version, "served over V2").expect("set the alias");
    }
}
