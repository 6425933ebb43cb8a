//! The Titanic pipeline, shared by `examples/titanic/main.rs` and `tests/titanic.rs`.
//!
//! Every step is a plain function composed from the library's rooms (`data`, `validate`,
//! `features`, `models`, `eval`); this file only says which columns, features and models.

use mlflow::data::{self, ColumnType, CsvOptions, DataFile, Ingested};
use mlflow::eval::{self, BinaryMetrics, Champion, Metric};
use mlflow::features::{
    Binner, Cmp, Encoder, Feature, FeatureMatrix, FeatureSpec, FittedFeatures, FittedMatrixScaler, Imputer,
    Op, Source, Split, StandardScaler, Unseen, class_labels, stratified_split,
};
use mlflow::models::{
    Classifier, ForestParams, LogisticParams, Model, ModelParams, NaiveBayesParams, SelfTestedModel,
    SvmParams, TreeParams,
};
use mlflow::prelude::*;
use mlflow::serve::{Lineage, ModelPackage};
use mlflow::validate::{self, Expectation, Suite, ValidationReport};
use serde::{Deserialize, Serialize};

/// The label column.
pub const LABEL: &str = "Survived";

/// Train and hold-out features with their labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    /// Training rows.
    pub train: FeatureMatrix,
    /// Training labels.
    pub train_y: Vec<usize>,
    /// Hold-out rows.
    pub test: FeatureMatrix,
    /// Hold-out labels.
    pub test_y: Vec<usize>,
}

/// A model to train: its name in the comparison, its hyperparameters, and whether it needs
/// standardized features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// Name in the comparison table.
    pub name: String,
    /// Hyperparameters.
    pub params: ModelParams,
}

/// A fitted candidate, with the scaler its inputs go through (if any).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trained {
    /// Name in the comparison table.
    pub name: String,
    /// The fitted model.
    pub model: Model,
    /// Standardization applied before the model, fitted on the training rows.
    pub scaler: Option<FittedMatrixScaler>,
}

/// A candidate's hold-out metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scored {
    /// Name in the comparison table.
    pub name: String,
    /// Hold-out metrics.
    pub metrics: BinaryMetrics,
}

/// How the data is split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitConfig {
    /// Fraction of rows held out.
    pub test_fraction: f64,
    /// Seed of the stratified shuffle.
    pub seed: u64,
}

#[step]
pub fn ingest(file: &DataFile, options: &CsvOptions) -> Result<Ingested, data::DataError> {
    data::read_csv(file, options)
}

#[step]
pub fn check(raw: &Ingested, suite: &Suite) -> Result<ValidationReport, validate::ValidationError> {
    let report = validate::validate(&raw.table, suite);
    report.check()?;
    Ok(report)
}

/// Seeded stratified split; takes the validation report so that it only runs on valid data.
#[step]
pub fn split(raw: &Ingested, _valid: &ValidationReport, config: &SplitConfig) -> mlflow::Result<Split> {
    let labels = class_labels(&raw.table, LABEL)?;
    Ok(stratified_split(&labels, config.test_fraction, config.seed)?)
}

/// Fits imputers, encoders and binners on the training rows only.
#[step]
pub fn fit_features(raw: &Ingested, split: &Split, spec: &FeatureSpec) -> mlflow::Result<FittedFeatures> {
    Ok(spec.fit(&raw.table, &split.train)?)
}

#[step]
pub fn dataset(raw: &Ingested, split: &Split, features: &FittedFeatures) -> mlflow::Result<Dataset> {
    let all = features.transform(&raw.table)?;
    let labels = class_labels(&raw.table, LABEL)?;
    Ok(Dataset {
        train: all.select_rows(&split.train)?,
        train_y: split.train.iter().map(|&i| labels[i]).collect(),
        test: all.select_rows(&split.test)?,
        test_y: split.test.iter().map(|&i| labels[i]).collect(),
    })
}

/// The standard scaler, fitted on the training rows.
#[step]
pub fn fit_scaler(data: &Dataset) -> mlflow::Result<FittedMatrixScaler> {
    let rows: Vec<usize> = (0..data.train.rows()).collect();
    Ok(StandardScaler.fit_matrix(&data.train, &rows)?)
}

#[step]
pub fn train(data: &Dataset, candidate: &Candidate) -> mlflow::Result<Trained> {
    let model = Model::fit(data.train.x.view(), &data.train_y, &candidate.params)?;
    Ok(Trained { name: candidate.name.clone(), model, scaler: None })
}

#[step]
pub fn train_scaled(
    data: &Dataset,
    scaler: &FittedMatrixScaler,
    candidate: &Candidate,
) -> mlflow::Result<Trained> {
    let scaled = scaler.transform(&data.train)?;
    let model = Model::fit(scaled.x.view(), &data.train_y, &candidate.params)?;
    Ok(Trained { name: candidate.name.clone(), model, scaler: Some(scaler.clone()) })
}

#[step]
pub fn evaluate(trained: &Trained, data: &Dataset) -> mlflow::Result<Scored> {
    let scaled;
    let x = match &trained.scaler {
        Some(scaler) => {
            scaled = scaler.transform(&data.test)?;
            &scaled
        }
        None => &data.test,
    };
    let scores = trained.model.predict_proba(x.x.view())?;
    let metrics = eval::evaluate(&data.test_y, &scores.to_vec())?;
    eval::log_binary_metrics(&metrics)?;
    Ok(Scored { name: trained.name.clone(), metrics })
}

#[step]
pub fn select(
    a: &Scored,
    b: &Scored,
    c: &Scored,
    d: &Scored,
    e: &Scored,
    metric: &Metric,
) -> mlflow::Result<Champion> {
    let candidates: Vec<(String, BinaryMetrics)> =
        [a, b, c, d, e].iter().map(|s| (s.name.clone(), s.metrics.clone())).collect();
    Ok(eval::select_champion(&candidates, *metric)?)
}

/// The champion as a model package: the fitted feature transformers, its scaler, the model, the
/// feature names, and self-test rows (the first hold-out rows with their expected probabilities),
/// refused on load if it no longer reproduces them.
#[step]
#[allow(clippy::too_many_arguments)]
pub fn package(
    champion: &Champion,
    a: &Trained,
    b: &Trained,
    c: &Trained,
    d: &Trained,
    e: &Trained,
    data: &Dataset,
    features: &FittedFeatures,
) -> mlflow::Result<ModelPackage> {
    let trained = [a, b, c, d, e][champion.index];
    let rows = data.test.x.slice(ndarray::s![..5.min(data.test.rows()), ..]);
    let tested =
        SelfTestedModel::new(trained.name.clone(), trained.model.clone(), trained.scaler.clone(), rows)?;
    let package =
        ModelPackage::from_self_tested(&tested, &data.test.names, Lineage::default().pipeline("titanic"))?;
    Ok(package.with_features(features.clone())?)
}

/// The expectations the raw training file must meet.
pub fn suite() -> Suite {
    use ColumnType::*;
    let mut suite = Suite::new("titanic");
    for (name, ty) in [
        ("PassengerId", Int),
        ("Survived", Int),
        ("Pclass", Int),
        ("Name", Str),
        ("Sex", Str),
        ("Age", Float),
        ("SibSp", Int),
        ("Parch", Int),
        ("Fare", Float),
        ("Cabin", Str),
        ("Embarked", Str),
    ] {
        suite.push(Expectation::column(name, ty));
    }
    for name in ["PassengerId", "Pclass", "Name", "Sex", "SibSp", "Parch", "Fare"] {
        suite.push(Expectation::not_null(name));
    }
    suite
        .with(Expectation::binary_label(LABEL))
        .with(Expectation::allowed("Pclass", ["1", "2", "3"]))
        .with(Expectation::allowed("Sex", ["female", "male"]))
        .with(Expectation::allowed("Embarked", ["C", "Q", "S"]))
        .with(Expectation::max_null_rate("Age", 0.25))
        .with(Expectation::max_null_rate("Embarked", 0.01))
        .with(Expectation::max_null_rate("Cabin", 0.5).warning())
        .with(Expectation::range("Age", 0.0, 100.0))
        .with(Expectation::range("Fare", 0.0, 1000.0))
        .with(Expectation::range("SibSp", 0.0, 10.0))
        .with(Expectation::range("Parch", 0.0, 10.0))
        .with(Expectation::iqr_outliers("Fare", 3.0, 0.10).warning())
}

/// The 13 features of the demo, in order.
pub fn feature_spec() -> FeatureSpec {
    let title_codes = [("Mr", 1), ("Miss", 2), ("Mrs", 3), ("Master", 4)];
    let deck_codes = [("A", 1), ("B", 2), ("C", 3), ("D", 4), ("E", 5), ("F", 6), ("G", 7)];
    FeatureSpec::new()
        .with(Feature::column("Pclass"))
        .with(Feature::column("Sex").then(Encoder::explicit([("male", 0), ("female", 1)])))
        .with(
            Feature::column("Age")
                .then(Imputer::median())
                .then(Binner::edges([11.0, 18.0, 22.0, 27.0, 33.0, 40.0])),
        )
        .with(Feature::column("SibSp"))
        .with(Feature::column("Parch"))
        .with(
            Feature::column("Fare")
                .then(Imputer::median())
                .then(Binner::edges([7.91, 14.454, 31.0, 99.0, 250.0])),
        )
        .with(Feature::column("Embarked").then(Imputer::most_frequent()).then(Encoder::explicit([
            ("S", 0),
            ("C", 1),
            ("Q", 2),
        ])))
        .with(Feature::new("relatives", Source::sum([Source::column("SibSp"), Source::column("Parch")])))
        .with(Feature::new("not_alone", Source::feature("relatives")).then(Op::indicator(Cmp::Eq, 0.0)))
        .with(
            Feature::new("Deck", Source::column("Cabin"))
                .then(Op::FirstChar)
                .then(Imputer::constant("U"))
                .then(Encoder::explicit(deck_codes).unseen(Unseen::Code(8))),
        )
        .with(
            Feature::new("Title", Source::column("Name"))
                .then(Op::between(", ", "."))
                .then(Imputer::constant("Rare"))
                .then(Op::map_text([("Mlle", "Miss"), ("Ms", "Miss"), ("Mme", "Mrs")]))
                .then(Encoder::explicit(title_codes).unseen(Unseen::Code(5))),
        )
        .with(Feature::new("Age_Class", Source::product([Source::feature("Age"), Source::feature("Pclass")])))
        .with(
            Feature::new(
                "Fare_Per_Person",
                Source::ratio(Source::feature("Fare"), Source::feature("relatives"), 1.0),
            )
            .then(Op::Floor),
        )
}

/// The five candidates with scikit-learn's default hyperparameters (the forest with 100 trees).
pub fn candidates() -> [Candidate; 5] {
    [
        Candidate { name: "decision tree".into(), params: ModelParams::Tree(TreeParams::default()) },
        Candidate { name: "random forest".into(), params: ModelParams::Forest(ForestParams::default()) },
        Candidate {
            name: "logistic regression".into(),
            params: ModelParams::Logistic(LogisticParams::default()),
        },
        Candidate {
            name: "gaussian naive bayes".into(),
            params: ModelParams::NaiveBayes(NaiveBayesParams::default()),
        },
        Candidate { name: "rbf svm (scaled)".into(), params: ModelParams::Svm(SvmParams::default()) },
    ]
}

/// Handles to the nodes a caller reads after the run.
pub struct Handles {
    /// Each candidate's hold-out metrics, in candidate order.
    pub scored: [Node<Scored>; 5],
    /// The selected champion.
    pub champion: Node<Champion>,
    /// The packaged champion.
    pub package: Node<ModelPackage>,
    /// The ingested training table.
    pub raw: Node<Ingested>,
    /// Train and hold-out features.
    pub data: Node<Dataset>,
}

/// The seed of the stratified split.
pub const SPLIT_SEED: u64 = 0;

/// Builds the pipeline over `file`, selecting the champion by `metric`.
pub fn build(file: DataFile, metric: Metric) -> (Pipeline, Handles) {
    build_with_seed(file, metric, SPLIT_SEED)
}

/// [`build`] with another split seed.
pub fn build_with_seed(file: DataFile, metric: Metric, seed: u64) -> (Pipeline, Handles) {
    let mut p = Pipeline::new("titanic");
    let file = p.param("train_file", file);
    let options = p.param("csv", CsvOptions::default());
    let raw = p.step(IngestStep, (file, options));
    let suite = p.param("suite", suite());
    let report = p.step(CheckStep, (raw, suite));
    let split_config = p.param("split_config", SplitConfig { test_fraction: 0.2, seed });
    let split = p.step(SplitStep, (raw, report, split_config));
    let spec = p.param("features", feature_spec());
    let features = p.step(FitFeaturesStep, (raw, split, spec));
    let data = p.step(DatasetStep, (raw, split, features));
    let scaler = p.step(FitScalerStep, data);
    let [tree, forest, logistic, bayes, svm] = candidates();
    let tree = p.param("tree", tree);
    let forest = p.param("forest", forest);
    let logistic = p.param("logistic", logistic);
    let bayes = p.param("naive_bayes", bayes);
    let svm = p.param("svm", svm);
    let trained = [
        p.step_named("train_tree", TrainStep, (data, tree)),
        p.step_named("train_forest", TrainStep, (data, forest)),
        p.step_named("train_logistic", TrainStep, (data, logistic)),
        p.step_named("train_naive_bayes", TrainStep, (data, bayes)),
        p.step_named("train_svm", TrainScaledStep, (data, scaler, svm)),
    ];
    let names =
        ["evaluate_tree", "evaluate_forest", "evaluate_logistic", "evaluate_naive_bayes", "evaluate_svm"];
    let scored = [0, 1, 2, 3, 4].map(|i| p.step_named(names[i], EvaluateStep, (trained[i], data)));
    let metric = p.param("metric", metric);
    let champion = p.step(SelectStep, (scored[0], scored[1], scored[2], scored[3], scored[4], metric));
    let package = p.step(
        PackageStep,
        (champion, trained[0], trained[1], trained[2], trained[3], trained[4], data, features),
    );
    (p, Handles { scored, champion, package, raw, data })
}
