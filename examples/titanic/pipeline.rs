//! The Titanic pipeline, shared by `examples/titanic/main.rs`, the tests and the benchmarks.
//!
//! It is the library's ready-made blocks (`mlflow::blocks`) with this data set's own validation
//! suite, feature spec and candidates: this file only says which columns, features and models.

use mlflow::blocks::{
    self, Candidate, CheckStep, Compared, IngestStep, PackageStep, Prepare, PrepareStep, Prepared,
};
use mlflow::data::{ColumnType, CsvOptions, DataFile, Ingested};
use mlflow::eval::Metric;
use mlflow::features::{Binner, Cmp, Encoder, Feature, FeatureSpec, Imputer, Op, Source, Unseen};
use mlflow::models::{ForestParams, LogisticParams, NaiveBayesParams, SvmParams, TreeParams};
use mlflow::prelude::*;
use mlflow::serve::ModelPackage;
use mlflow::validate::{Expectation, Suite};

/// The label column.
pub const LABEL: &str = "Survived";

/// The seed of the stratified split.
pub const SPLIT_SEED: u64 = 0;

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

/// The five candidates with scikit-learn's default hyperparameters (the forest with 100 trees);
/// the SVM sees standardized features.
pub fn candidates() -> [Candidate; 5] {
    [
        Candidate::new("tree", TreeParams::default()),
        Candidate::new("forest", ForestParams::default()),
        Candidate::new("logistic", LogisticParams::default()),
        Candidate::new("naive bayes", NaiveBayesParams::default()),
        Candidate::new("svm", SvmParams::default()).scaled(),
    ]
}

/// How the rows are split and turned into features, with another split seed.
pub fn setup(seed: u64) -> Prepare {
    Prepare::label(LABEL).features(feature_spec()).test_fraction(0.2).seed(seed)
}

/// Handles to the nodes a caller reads after the run.
pub struct Handles {
    /// The ingested training table.
    pub raw: Node<Ingested>,
    /// Train and hold-out features.
    pub prepared: Node<Prepared>,
    /// The candidates' models and metrics, and the champion.
    pub compared: Compared,
    /// The packaged champion.
    pub package: Node<ModelPackage>,
}

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
    let checked = p.step(CheckStep, (raw, suite));
    let setup = p.param("setup", setup(seed));
    let prepared = p.step(PrepareStep, (raw, setup));
    p.wait_for(prepared, checked);
    let compared = blocks::compare(&mut p, prepared, candidates(), metric);
    let package = p.step(PackageStep, (compared.champion, compared.trained, prepared, raw));
    (p, Handles { raw, prepared, compared, package })
}
