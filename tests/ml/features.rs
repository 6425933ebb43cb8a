//! The features room on the Titanic data: the demo's 13 features, training-only fitting,
//! artifact round trips, scaling, splits, and every bad-input case.
//!
//! The spec, the split and the reading of the files are the demo pipeline's own
//! (`examples/titanic/pipeline.rs`, through `tests/support/titanic.rs`).

use crate::common;
use crate::titanic as support;

use mlflow::codec::{decode, encode};
use mlflow::data::{Column, DataFile, Table};
use mlflow::eval::Metric;
use mlflow::features::*;
use mlflow::prelude::*;
use support::pipeline;

/// A Titanic file as the pipeline's `ingest` step reads it.
fn titanic(file: &str) -> Table {
    support::table(file)
}

/// A copy of `table` with one column replaced.
fn with_column(table: &Table, name: &str, column: Column) -> Table {
    Table::new(
        table
            .iter()
            .map(|(n, c)| (n.to_owned(), if n == name { column.clone() } else { c.clone() }))
            .collect(),
    )
    .expect("table")
}

/// A copy of `table` without one column.
fn without_column(table: &Table, name: &str) -> Table {
    Table::new(table.iter().filter(|(n, _)| *n != name).map(|(n, c)| (n.to_owned(), c.clone())).collect())
        .expect("table")
}

fn all_rows(table: &Table) -> Vec<usize> {
    (0..table.rows()).collect()
}

/// The row index of a passenger.
fn row_of(table: &Table, passenger: i64) -> usize {
    let ids = table.column("PassengerId").unwrap().as_int().unwrap();
    ids.iter().position(|&id| id == Some(passenger)).expect("passenger")
}

fn row(m: &FeatureMatrix, i: usize) -> Vec<f64> {
    m.x.row(i).to_vec()
}

// ---------------------------------------------------------------------------------------------
// The demo's features: `pipeline::feature_spec()`, in this order.

const NAMES: [&str; 13] = [
    "Pclass",
    "Sex",
    "Age",
    "SibSp",
    "Parch",
    "Fare",
    "Embarked",
    "relatives",
    "not_alone",
    "Deck",
    "Title",
    "Age_Class",
    "Fare_Per_Person",
];

/// The pipeline's split of `train.csv` (its `check` and `prepare` steps).
fn titanic_split() -> Split {
    support::split()
}

fn imputer_fill(fitted: &FittedFeatures, feature: &str) -> Value {
    match &fitted.feature(feature).unwrap().steps[0] {
        FittedStep::Impute(i) => i.fill().clone(),
        other => panic!("{feature}: first step is {other:?}"),
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 { xs[n / 2] } else { (xs[n / 2 - 1] + xs[n / 2]) / 2.0 }
}

// ---------------------------------------------------------------------------------------------
// The Titanic features.

#[test]
fn reader_sees_the_titanic_schema() {
    // The library's reader (the pipeline's `ingest`) gives the types and missing values the
    // hand-checked rows below rely on.
    let t = titanic("train.csv");
    assert_eq!(t.rows(), 891);
    assert_eq!(t.column("Age").unwrap().null_count(), 177);
    assert_eq!(t.column("Embarked").unwrap().null_count(), 2);
    assert!(t.column("Pclass").unwrap().as_int().is_some());
    assert!(t.column("Fare").unwrap().as_float().is_some());
    let names = t.column("Name").unwrap().as_text().unwrap();
    assert_eq!(names[0].as_deref(), Some("Braund, Mr. Owen Harris"));
}

#[test]
fn titanic_features_for_hand_checked_passengers() {
    let t = titanic("train.csv");
    // Fitted on every row, so the imputation statistics are the whole file's: Age median 28
    // (bin 4), Embarked most frequent S.
    let fitted = pipeline::feature_spec().fit(&t, &all_rows(&t)).unwrap();
    assert_eq!(imputer_fill(&fitted, "Age"), Value::Num(28.0));
    assert_eq!(imputer_fill(&fitted, "Embarked"), Value::Text("S".into()));
    let m = fitted.transform(&t).unwrap();
    assert_eq!(m.names, NAMES);
    assert_eq!(m.x.dim(), (891, 13));

    let cases: [(i64, [f64; 13]); 9] = [
        // Braund, Mr. Owen Harris: male, 22, 1/0, 7.25, S, no cabin.
        (1, [3., 0., 2., 1., 0., 0., 0., 1., 0., 8., 1., 6., 0.]),
        // Cumings, Mrs.: female, 38 (bin 5), 1/0, 71.28 (bin 3), C, C85; 5*1; floor(3/2).
        (2, [1., 1., 5., 1., 0., 3., 1., 1., 0., 3., 3., 5., 1.]),
        // Moran, Mr. James: Age missing -> 28 -> bin 4; 8.46 (bin 1), Q; alone; 4*3; 1/1.
        (6, [3., 0., 4., 0., 0., 1., 2., 0., 1., 8., 1., 12., 1.]),
        // Palsson, Master.: 2 (bin 0), 3/1, 21.075 (bin 2), S; floor(2/5) = 0.
        (8, [3., 0., 0., 3., 1., 2., 0., 4., 0., 8., 4., 0., 0.]),
        // Icard, Miss.: 38, 80 (bin 3), Embarked missing -> S, B28.
        (62, [1., 1., 5., 0., 0., 3., 0., 0., 1., 2., 2., 5., 3.]),
        // Byles, Rev.: a rare title -> 5; 42 (bin 6); 13 (bin 1).
        (150, [2., 0., 6., 0., 0., 1., 0., 0., 1., 8., 5., 12., 1.]),
        // Blackwell, Mr.: cabin T -> unknown deck 8; 45 (bin 6); 35.5 (bin 3).
        (340, [1., 0., 6., 0., 0., 3., 0., 0., 1., 8., 1., 6., 3.]),
        // Sagesser, Mlle. -> Miss; 24 (bin 3); 69.3 (bin 3); C; B35.
        (642, [1., 1., 3., 0., 0., 3., 1., 0., 1., 2., 2., 3., 3.]),
        // Rothes, the Countess. -> "the Countess" -> Rare; 33 (bin 4, edges are right-closed).
        (760, [1., 1., 4., 0., 0., 3., 0., 0., 1., 2., 5., 4., 3.]),
    ];
    for (passenger, expected) in cases {
        assert_eq!(row(&m, row_of(&t, passenger)), expected, "passenger {passenger}");
    }
    // Codes stay in their documented ranges.
    let range = |name: &str| {
        let c = m.column(name).unwrap();
        (c.iter().cloned().fold(f64::MAX, f64::min), c.iter().cloned().fold(f64::MIN, f64::max))
    };
    assert_eq!(range("Age"), (0.0, 6.0));
    assert_eq!(range("Fare"), (0.0, 5.0));
    assert_eq!(range("Embarked"), (0.0, 2.0));
    assert_eq!(range("Deck"), (1.0, 8.0));
    assert_eq!(range("Title"), (1.0, 5.0));
    assert_eq!(range("not_alone"), (0.0, 1.0));
}

#[test]
fn titanic_serving_rows_use_the_training_statistics() {
    let train = titanic("train.csv");
    let split = titanic_split();
    let fitted = pipeline::feature_spec().fit(&train, &split.train).unwrap();
    let fares: Vec<f64> =
        split.train.iter().map(|&i| train.column("Fare").unwrap().f64_at(i).unwrap()).collect();
    let fare_median = median(fares);
    assert_eq!(imputer_fill(&fitted, "Fare"), Value::Num(fare_median));

    // test.csv has no Survived column and one missing Fare (passenger 1044).
    let serving = titanic("test.csv");
    assert_eq!(serving.column("Fare").unwrap().null_count(), 1);
    let m = fitted.transform(&serving).unwrap();
    assert_eq!(m.x.dim(), (418, 13));
    let fare_bin = [7.91, 14.454, 31.0, 99.0, 250.0].iter().filter(|&&e| e < fare_median).count() as f64;
    // Storey, Mr. Thomas: 3rd class, male, 60.5 (bin 6), alone, Fare missing, S.
    assert_eq!(
        row(&m, row_of(&serving, 1044)),
        [3., 0., 6., 0., 0., fare_bin, 0., 0., 1., 8., 1., 18., fare_bin]
    );
    // Kelly, Mr. James: 34.5 (bin 5), 7.83 (bin 0), Q.
    assert_eq!(row(&m, row_of(&serving, 892)), [3., 0., 5., 0., 0., 0., 2., 0., 1., 8., 1., 15., 0.]);
}

#[test]
fn imputation_statistics_come_from_the_training_rows_only() {
    let t = titanic("train.csv");
    let ages = t.column("Age").unwrap();
    let split = titanic_split();
    let fitted = pipeline::feature_spec().fit(&t, &split.train).unwrap();
    let train_median = median(split.train.iter().filter_map(|&i| ages.f64_at(i)).collect());
    assert_eq!(imputer_fill(&fitted, "Age"), Value::Num(train_median));

    // A subset with a clearly different median: first-class passengers (37) vs everyone (28).
    let pclass = t.column("Pclass").unwrap().as_int().unwrap();
    let first: Vec<usize> = (0..t.rows()).filter(|&i| pclass[i] == Some(1)).collect();
    let first_median = median(first.iter().filter_map(|&i| ages.f64_at(i)).collect());
    assert_eq!(first_median, 37.0);
    let on_first = pipeline::feature_spec().fit(&t, &first).unwrap();
    assert_eq!(imputer_fill(&on_first, "Age"), Value::Num(37.0));
    let on_all = pipeline::feature_spec().fit(&t, &all_rows(&t)).unwrap();
    assert_eq!(imputer_fill(&on_all, "Age"), Value::Num(28.0));
    // Moran (Age missing) gets the subset's median: 37 -> bin 5, not 28 -> bin 4.
    let moran = row_of(&t, 6);
    assert_eq!(on_first.transform(&t).unwrap().x[[moran, 2]], 5.0);
    assert_eq!(on_all.transform(&t).unwrap().x[[moran, 2]], 4.0);

    // Rows outside the training set are never read by fit: scrambling them changes nothing.
    let mut scrambled: Vec<Option<f64>> = ages.as_float().unwrap().to_vec();
    let mut embarked: Vec<Option<String>> = t.column("Embarked").unwrap().as_text().unwrap().to_vec();
    for &i in &split.test {
        scrambled[i] = Some(1000.0);
        embarked[i] = Some("Q".into());
    }
    let t2 =
        with_column(&with_column(&t, "Age", Column::Float(scrambled)), "Embarked", Column::Str(embarked));
    let refit = pipeline::feature_spec().fit(&t2, &split.train).unwrap();
    assert_eq!(encode(&refit).unwrap(), encode(&fitted).unwrap());
}

#[test]
fn fitted_features_round_trip_as_artifacts_and_are_deterministic() {
    let t = titanic("train.csv");
    let split = titanic_split();
    let fitted = pipeline::feature_spec().fit(&t, &split.train).unwrap();
    let bytes = encode(&fitted).unwrap();
    // Same data, same spec: same bytes.
    assert_eq!(encode(&pipeline::feature_spec().fit(&t, &split.train).unwrap()).unwrap(), bytes);
    let back: FittedFeatures = decode(&bytes, 1 << 20).unwrap();
    assert_eq!(back, fitted);
    let before = fitted.transform(&t).unwrap();
    let after = back.transform(&t).unwrap();
    assert_eq!(encode(&after).unwrap(), encode(&before).unwrap());
    let serving = titanic("test.csv");
    assert_eq!(back.transform(&serving).unwrap(), fitted.transform(&serving).unwrap());
    // The spec itself is an artifact (a pipeline param).
    let spec: FeatureSpec = decode(&encode(&pipeline::feature_spec()).unwrap(), 1 << 20).unwrap();
    assert_eq!(spec, pipeline::feature_spec());
    assert_eq!(
        fitted.input_columns(),
        ["Age", "Cabin", "Embarked", "Fare", "Name", "Parch", "Pclass", "Sex", "SibSp"]
    );
}

#[test]
fn standard_scaler_on_train_gives_mean_zero_std_one() {
    let t = titanic("train.csv");
    let split = titanic_split();
    let m = pipeline::feature_spec().fit(&t, &split.train).unwrap().transform(&t).unwrap();
    let scaler = StandardScaler.fit_matrix(&m, &split.train).unwrap();
    let scaled = scaler.transform(&m).unwrap();
    let train = scaled.select_rows(&split.train).unwrap();
    for (j, name) in train.names.iter().enumerate() {
        let c = train.x.column(j);
        let n = c.len() as f64;
        let mean = c.sum() / n;
        let std = (c.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n).sqrt();
        assert!(mean.abs() < 1e-9, "{name}: mean {mean}");
        assert!((std - 1.0).abs() < 1e-9, "{name}: std {std}");
    }
    // Hold-out rows use the training statistics (so are not exactly standardized themselves).
    let back: FittedMatrixScaler = decode(&encode(&scaler).unwrap(), 1 << 20).unwrap();
    assert_eq!(back.transform(&m).unwrap(), scaled);
    // A constant training column: divided by 1, so it becomes 0 rather than NaN.
    let constant = FeatureMatrix { names: vec!["c".into()], x: ndarray::Array2::from_elem((4, 1), 3.0) };
    let s = StandardScaler.fit_matrix(&constant, &[0, 1, 2, 3]).unwrap();
    assert_eq!(s.transform(&constant).unwrap().x, ndarray::Array2::<f64>::zeros((4, 1)));
}

#[test]
fn column_scaler_in_a_chain() {
    let t = titanic("train.csv");
    let split = titanic_split();
    let spec = FeatureSpec::new().with(Feature::column("Age").then(Imputer::mean()).then(StandardScaler));
    let m = spec.fit(&t, &split.train).unwrap().transform(&t).unwrap();
    let train = m.select_rows(&split.train).unwrap();
    let c = train.x.column(0);
    let mean = c.sum() / c.len() as f64;
    assert!(mean.abs() < 1e-9);
}

// ---------------------------------------------------------------------------------------------
// Transformers on their own.

fn small() -> Table {
    Table::new(vec![
        ("n".into(), Column::Int(vec![Some(3), Some(1), None, Some(3), Some(10)])),
        ("f".into(), Column::Float(vec![Some(1.0), None, Some(3.0), Some(4.0), Some(5.0)])),
        ("s".into(), Column::Str(["b", "a", "b", "c", "z"].map(|s| Some(s.to_string())).to_vec())),
        ("m".into(), Column::Str(vec![None, Some("x".into()), Some("y".into()), Some("y".into()), None])),
    ])
    .unwrap()
}

#[test]
fn imputer_strategies() {
    let t = small();
    let train = [0, 1, 2, 3];
    assert_eq!(Imputer::mean().fit(&t, "n", &train).unwrap().fill(), &Value::Num(7.0 / 3.0));
    assert_eq!(Imputer::median().fit(&t, "n", &train).unwrap().fill(), &Value::Num(3.0));
    assert_eq!(Imputer::median().fit(&t, "f", &train).unwrap().fill(), &Value::Num(3.0));
    assert_eq!(Imputer::median().fit(&t, "f", &[0, 3]).unwrap().fill(), &Value::Num(2.5));
    assert_eq!(Imputer::most_frequent().fit(&t, "n", &train).unwrap().fill(), &Value::Num(3.0));
    // Tie between x and y (one each in rows 0..3): the smallest wins.
    assert_eq!(Imputer::most_frequent().fit(&t, "m", &[0, 1, 2]).unwrap().fill(), &Value::from("x"));
    assert_eq!(Imputer::most_frequent().fit(&t, "m", &train).unwrap().fill(), &Value::from("y"));
    let filled = Imputer::constant(-1.0).fit(&t, "n", &train).unwrap().transform(&t, "n").unwrap();
    assert_eq!(filled.as_float().unwrap(), &[Some(3.0), Some(1.0), Some(-1.0), Some(3.0), Some(10.0)]);
    let filled = Imputer::constant("none").fit(&t, "m", &train).unwrap().transform(&t, "m").unwrap();
    assert_eq!(filled.null_count(), 0);
    // Numbers written as text are parsed.
    let text_numbers =
        Table::new(vec![("a".into(), Column::Str(vec![Some(" 2".into()), None, Some("4".into())]))]).unwrap();
    let out =
        Imputer::mean().fit(&text_numbers, "a", &[0, 1, 2]).unwrap().transform(&text_numbers, "a").unwrap();
    assert_eq!(out.as_float().unwrap(), &[Some(2.0), Some(3.0), Some(4.0)]);
}

#[test]
fn learned_encoder_with_both_unseen_rules() {
    let t = small();
    let train = [0, 1, 2]; // b, a, b: categories a=0, b=1
    let strict = Encoder::learned().fit(&t, "s", &train).unwrap();
    assert_eq!(
        strict.codes().iter().map(|(k, v)| (k.as_str(), *v)).collect::<Vec<_>>(),
        [("a", 0), ("b", 1)]
    );
    let err = strict.transform(&t, "s").unwrap_err();
    assert_eq!(
        err,
        FeatureError::UnseenCategory {
            column: "s".into(),
            row: 3,
            value: "c".into(),
            known: "a, b".into(),
            context: String::new()
        }
    );
    assert!(err.to_string().contains("row 3, column `s`"), "{err}");
    let reserved = Encoder::learned().unseen(Unseen::Reserved).fit(&t, "s", &train).unwrap();
    assert_eq!(reserved.unknown_code(), Some(2));
    assert_eq!(
        reserved.transform(&t, "s").unwrap().as_int().unwrap(),
        &[Some(1), Some(0), Some(1), Some(2), Some(2)]
    );
    let coded = Encoder::learned().unseen(Unseen::Code(-1)).fit(&t, "s", &train).unwrap();
    assert_eq!(coded.transform(&t, "s").unwrap().as_int().unwrap()[4], Some(-1));
    // Learned codes do not depend on row order.
    assert_eq!(Encoder::learned().fit(&t, "s", &[2, 1, 0]).unwrap(), strict);
}

#[test]
fn messages_escape_control_characters_from_the_data() {
    // A terminal title escape in a column name, a carriage return and a C1 control in values.
    let title = "\x1b]0;pwned\x07";
    let t = Table::new(vec![
        (title.into(), Column::Str(vec![Some("m".into()), Some("f\r".into())])),
        ("n\u{2066}".into(), Column::Str(vec![Some("1".into()), Some("x\u{9b}2J".into())])),
    ])
    .unwrap();
    let encoder = Encoder::learned().fit(&t, title, &[0]).unwrap();
    let errors = [
        encoder.transform(&t, title).unwrap_err(),
        Imputer::mean().fit(&t, "n\u{2066}", &[0, 1]).unwrap_err(),
        FeatureSpec::new().with(Feature::column("Age\x1b[2J")).fit(&t, &[0, 1]).unwrap_err(),
    ];
    for (err, fragment) in errors.iter().zip([
        "row 1, column `\\u{1b}]0;pwned\\u{7}`: category `f\\u{d}` is unknown",
        "column `n\\u{2066}`: `x\\u{9b}2J` is not a number",
        "no column `Age\\u{1b}[2J` (feature `Age\\u{1b}[2J`, source); its columns are [\\u{1b}]0;pwned\\u{7}, n\\u{2066}]",
    ]) {
        let message = err.to_string();
        assert!(!message.chars().any(mlflow::text::is_unsafe_char), "raw control character in {message:?}");
        assert!(message.contains(fragment), "no {fragment:?} in {message}");
    }
}

#[test]
fn explicit_encoder_with_both_unseen_rules_in_a_spec() {
    let t = titanic("train.csv");
    let mut sex = t.column("Sex").unwrap().as_text().unwrap().to_vec();
    sex[5] = Some("unknown".into());
    let odd = with_column(&t, "Sex", Column::Str(sex));
    // The demo's Sex encoder errors on an unseen category, naming row, column and feature.
    let fitted = pipeline::feature_spec().fit(&t, &all_rows(&t)).unwrap();
    let err = fitted.transform(&odd).unwrap_err();
    assert!(
        matches!(&err, FeatureError::UnseenCategory { row: 5, column, value, .. } if column == "Sex" && value == "unknown")
    );
    let text = err.to_string();
    assert!(text.contains("row 5, column `Sex` (feature `Sex`, step 1: encode)"), "{text}");
    // The Deck encoder maps unknown decks (T, or anything new) to 8.
    let mut cabin = t.column("Cabin").unwrap().as_text().unwrap().to_vec();
    cabin[0] = Some("Z99".into());
    let m = fitted.transform(&with_column(&t, "Cabin", Column::Str(cabin))).unwrap();
    assert_eq!(m.x[[0, 9]], 8.0);
}

#[test]
fn binning_by_edges_and_quantiles() {
    let t = titanic("train.csv");
    let fare = Binner::edges([7.91, 14.454, 31.0, 99.0, 250.0]).fit(&t, "Fare", &[0]).unwrap();
    assert_eq!(fare.bins(), 6);
    assert_eq!(
        [0.0, 7.91, 7.92, 14.454, 31.0, 99.0, 250.0, 512.33].map(|x| fare.code(x)),
        [0, 0, 1, 1, 2, 3, 4, 5]
    );
    let q = Binner::quantiles(4).fit(&t, "Fare", &all_rows(&t)).unwrap();
    // numpy.quantile(train.Fare, [.25, .5, .75]) = 7.9104, 14.4542, 31.0
    assert_eq!(q.edges().len(), 3);
    assert!((q.edges()[0] - 7.9104).abs() < 1e-9, "{:?}", q.edges());
    assert!((q.edges()[1] - 14.4542).abs() < 1e-9);
    assert!((q.edges()[2] - 31.0).abs() < 1e-9);
    let codes = q.transform(&t, "Fare").unwrap();
    let mut counts = [0usize; 4];
    codes.as_int().unwrap().iter().for_each(|c| counts[c.unwrap() as usize] += 1);
    assert!(counts.iter().all(|&c| (200..=250).contains(&c)), "{counts:?}");
    // Heavily tied data gives fewer, deduplicated edges.
    let ties =
        Table::new(vec![("x".into(), Column::Int(vec![Some(0); 9].into_iter().chain([Some(1)]).collect()))])
            .unwrap();
    assert_eq!(Binner::quantiles(4).fit(&ties, "x", &(0..10).collect::<Vec<_>>()).unwrap().edges(), &[0.0]);
}

#[test]
fn text_operations() {
    let t = Table::new(vec![(
        "s".into(),
        Column::Str(vec![
            Some("Braund, Mr. Owen".into()),
            Some("no comma".into()),
            Some(String::new()),
            None,
        ]),
    )])
    .unwrap();
    let between = Op::between(", ", ".").transform(&t, "s").unwrap();
    assert_eq!(between.as_text().unwrap(), &[Some("Mr".to_string()), None, None, None]);
    let first = Op::FirstChar.transform(&t, "s").unwrap();
    assert_eq!(first.as_text().unwrap(), &[Some("B".to_string()), Some("n".to_string()), None, None]);
    let mapped = Op::map_text_or([("no comma", "x")], "other").transform(&t, "s").unwrap();
    assert_eq!(mapped.as_text().unwrap()[..2], [Some("other".to_string()), Some("x".to_string())]);
    let floor = Op::Floor
        .transform(&Table::new(vec![("x".into(), Column::Float(vec![Some(1.7), Some(-0.5)]))]).unwrap(), "x")
        .unwrap();
    assert_eq!(floor.as_float().unwrap(), &[Some(1.0), Some(-1.0)]);
}

// ---------------------------------------------------------------------------------------------
// Splits.

#[test]
fn stratified_split_on_titanic() {
    let t = titanic("train.csv");
    let labels = class_labels(&t, "Survived").unwrap();
    // The pipeline's split is a stratified split with its configuration.
    let config = pipeline::setup(pipeline::SPLIT_SEED);
    let split = stratified_split(&labels, config.test_fraction, config.seed).unwrap();
    assert_eq!(titanic_split(), split);
    // 549 died, 342 survived: round(109.8) = 110 and round(68.4) = 68 go to the test side.
    assert_eq!(split.test.len(), 178);
    assert_eq!(split.train.len(), 713);
    assert_eq!(split.test.iter().filter(|&&i| labels[i] == 1).count(), 68);
    let mut all: Vec<usize> = split.train.iter().chain(&split.test).copied().collect();
    all.sort_unstable();
    assert_eq!(all, (0..891).collect::<Vec<_>>());
    assert!(split.train.windows(2).all(|w| w[0] < w[1]) && split.test.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(stratified_split(&labels, config.test_fraction, config.seed).unwrap(), split);
    assert_ne!(stratified_split(&labels, config.test_fraction, config.seed + 1).unwrap(), split);
    let bytes = encode(&split).unwrap();
    assert_eq!(decode::<Split>(&bytes, 1 << 20).unwrap(), split);
}

#[test]
fn split_per_class_rounding_keeps_every_class_on_both_sides() {
    // Class 2 has 2 rows: round(0.2) = 0 is raised to 1. Class 0: round(1.6) = 2.
    let labels = [0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 1, 1, 1, 1, 1];
    let split = stratified_split(&labels, 0.2, 1).unwrap();
    let count = |side: &[usize], c: usize| side.iter().filter(|&&i| labels[i] == c).count();
    assert_eq!((count(&split.test, 0), count(&split.test, 1), count(&split.test, 2)), (2, 1, 1));
    // A fraction near 1 still leaves one row of each class for training.
    let split = stratified_split(&labels, 0.99, 1).unwrap();
    assert_eq!((count(&split.train, 0), count(&split.train, 1), count(&split.train, 2)), (1, 1, 1));
}

#[test]
fn split_errors() {
    for f in [0.0, 1.0, -0.1, 1.5, f64::NAN, f64::INFINITY] {
        assert!(
            matches!(stratified_split(&[0, 0, 1, 1], f, 0), Err(FeatureError::BadFraction { .. })),
            "{f}"
        );
    }
    assert_eq!(stratified_split(&[], 0.2, 0), Err(FeatureError::EmptyLabels));
    let err = stratified_split(&[0, 0, 0, 1], 0.2, 0).unwrap_err();
    assert_eq!(err, FeatureError::ClassTooSmall { class: 1, count: 1 });
    assert!(err.to_string().contains("class 1 has 1 row(s)"));
}

#[test]
fn label_errors() {
    let bad = |c: Column| class_labels(&Table::new(vec![("y".into(), c)]).unwrap(), "y").unwrap_err();
    assert!(matches!(bad(Column::Int(vec![Some(0), Some(-1)])), FeatureError::BadLabel { row: 1, .. }));
    assert!(matches!(bad(Column::Float(vec![Some(0.5)])), FeatureError::BadLabel { row: 0, .. }));
    assert!(matches!(
        bad(Column::Str(vec![Some("1".into()), Some("yes".into())])),
        FeatureError::BadLabel { row: 1, .. }
    ));
    assert!(matches!(bad(Column::Str(vec![None])), FeatureError::BadLabel { row: 0, .. }));
    let t = titanic("test.csv");
    assert!(matches!(class_labels(&t, "Survived"), Err(FeatureError::MissingColumn { .. })));
    let ok = Table::new(vec![("y".into(), Column::Float(vec![Some(1.0), Some(0.0)]))]).unwrap();
    assert_eq!(class_labels(&ok, "y").unwrap(), [1, 0]);
}

// ---------------------------------------------------------------------------------------------
// Bad input: each case is a clear error naming row and column, never a panic.

#[test]
fn missing_column_at_transform() {
    let t = titanic("train.csv");
    let fitted = pipeline::feature_spec().fit(&t, &all_rows(&t)).unwrap();
    let err = fitted.transform(&without_column(&t, "Cabin")).unwrap_err();
    assert!(matches!(&err, FeatureError::MissingColumn { column, .. } if column == "Cabin"));
    let text = err.to_string();
    assert!(text.contains("no column `Cabin` (feature `Deck`, source)"), "{text}");
    assert!(text.contains("PassengerId"), "{text}");
    // And at fit.
    assert!(matches!(
        pipeline::feature_spec().fit(&without_column(&t, "Name"), &[0]),
        Err(FeatureError::MissingColumn { .. })
    ));
}

#[test]
fn non_numeric_value_where_a_number_is_needed() {
    let t = titanic("train.csv");
    let fitted = pipeline::feature_spec().fit(&t, &all_rows(&t)).unwrap();
    let mut age: Vec<Option<String>> =
        t.column("Age").unwrap().as_float().unwrap().iter().map(|x| x.map(|x| x.to_string())).collect();
    // Numbers written as text are fine...
    let as_text = with_column(&t, "Age", Column::Str(age.clone()));
    assert_eq!(fitted.transform(&as_text).unwrap(), fitted.transform(&t).unwrap());
    // ...a word is not.
    age[3] = Some("thirty".into());
    let err = fitted.transform(&with_column(&t, "Age", Column::Str(age))).unwrap_err();
    assert_eq!(
        err,
        FeatureError::NotNumeric {
            column: "Age".into(),
            row: 3,
            value: "thirty".into(),
            context: " (feature `Age`, step 1: impute)".into()
        }
    );
    assert!(err.to_string().starts_with("row 3, column `Age` (feature `Age`"), "{err}");
    // A text column used as a number: named where it is first used (here the sum `relatives`).
    let mut sibsp: Vec<Option<String>> = vec![Some("1".into()); t.rows()];
    sibsp[7] = Some("many".into());
    let err = fitted.transform(&with_column(&t, "SibSp", Column::Str(sibsp))).unwrap_err();
    assert!(matches!(&err, FeatureError::NotNumeric { row: 7, column, .. } if column == "SibSp"), "{err}");
}

#[test]
fn nan_and_infinity_are_errors() {
    let t = titanic("train.csv");
    let fitted = pipeline::feature_spec().fit(&t, &all_rows(&t)).unwrap();
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let mut fare = t.column("Fare").unwrap().as_float().unwrap().to_vec();
        fare[10] = Some(bad);
        let t2 = with_column(&t, "Fare", Column::Float(fare));
        let err = fitted.transform(&t2).unwrap_err();
        assert!(matches!(&err, FeatureError::NotFinite { row: 10, column, .. } if column == "Fare"), "{err}");
        assert!(err.to_string().contains("row 10, column `Fare`"));
        // Fitting on such a row fails too.
        assert!(matches!(
            pipeline::feature_spec().fit(&t2, &[9, 10]),
            Err(FeatureError::NotFinite { row: 10, .. })
        ));
    }
    // "NaN" written as text.
    let mut age: Vec<Option<String>> = vec![Some("30".into()); t.rows()];
    age[2] = Some("NaN".into());
    let err = fitted.transform(&with_column(&t, "Age", Column::Str(age))).unwrap_err();
    assert!(matches!(err, FeatureError::NotFinite { row: 2, .. }), "{err}");
}

#[test]
fn missing_values_need_an_imputer() {
    let t = titanic("train.csv");
    let fitted = pipeline::feature_spec().fit(&t, &all_rows(&t)).unwrap();
    let mut sex = t.column("Sex").unwrap().as_text().unwrap().to_vec();
    sex[4] = None;
    let err = fitted.transform(&with_column(&t, "Sex", Column::Str(sex))).unwrap_err();
    assert!(
        matches!(&err, FeatureError::MissingValue { row: 4, column, step: "encode", .. } if column == "Sex")
    );
    assert!(err.to_string().contains("add an impute step"), "{err}");
    // A missing Pclass reaches the output (and poisons Age_Class): named at its own feature first.
    let mut pclass = t.column("Pclass").unwrap().as_int().unwrap().to_vec();
    pclass[12] = None;
    let err = fitted.transform(&with_column(&t, "Pclass", Column::Int(pclass))).unwrap_err();
    assert!(
        matches!(&err, FeatureError::MissingValue { row: 12, column, step: "output", .. } if column == "Pclass"),
        "{err}"
    );
    // Missing Age/Fare/Embarked/Cabin are imputed: a serving batch with nothing known.
    let blank = Table::new(vec![
        ("Pclass".into(), Column::Int(vec![Some(2)])),
        ("Sex".into(), Column::Str(vec![Some("female".into())])),
        ("Age".into(), Column::Float(vec![None])),
        ("SibSp".into(), Column::Int(vec![Some(0)])),
        ("Parch".into(), Column::Int(vec![Some(0)])),
        ("Fare".into(), Column::Str(vec![None])), // an empty column read as text: still fine
        ("Embarked".into(), Column::Str(vec![None])),
        ("Cabin".into(), Column::Float(vec![None])), // likewise read as numbers
        ("Name".into(), Column::Str(vec![Some("Doe, Jane".into())])), // no title: Rare
    ])
    .unwrap();
    let m = fitted.transform(&blank).unwrap();
    assert_eq!(row(&m, 0), [2., 1., 4., 0., 0., 2., 0., 0., 1., 8., 5., 8., 2.]);
}

#[test]
fn fit_errors() {
    let t = titanic("train.csv");
    assert_eq!(pipeline::feature_spec().fit(&t, &[]).unwrap_err(), FeatureError::NoTrainingRows);
    assert_eq!(
        pipeline::feature_spec().fit(&t, &[0, 891]).unwrap_err(),
        FeatureError::RowOutOfRange { row: 891, rows: 891 }
    );
    // Passenger 6 (row 5) has no Age: no value to take a median of.
    let err = pipeline::feature_spec().fit(&t, &[5]).unwrap_err();
    assert!(matches!(&err, FeatureError::NoTrainingValues { column, .. } if column == "Age"), "{err}");
    assert!(err.to_string().contains("feature `Age`, step 1: impute): no non-missing value"), "{err}");
    let err = Encoder::learned().fit(&small(), "m", &[0]).unwrap_err();
    assert!(matches!(err, FeatureError::NoTrainingValues { .. }));
    let err = StandardScaler.fit(&small(), "f", &[0, 1]).unwrap_err();
    assert!(matches!(err, FeatureError::MissingValue { row: 1, .. }));
    assert!(matches!(
        Imputer::mean().fit(&small(), "f", &[7]),
        Err(FeatureError::RowOutOfRange { row: 7, rows: 5 })
    ));
    assert!(matches!(Imputer::mean().fit(&small(), "nope", &[0]), Err(FeatureError::MissingColumn { .. })));
    assert!(matches!(Imputer::mean().fit(&small(), "s", &[0]), Err(FeatureError::NotNumeric { row: 0, .. })));
    let m = FeatureMatrix { names: vec!["a".into()], x: ndarray::array![[1.0], [f64::NAN]] };
    assert!(matches!(StandardScaler.fit_matrix(&m, &[0]), Err(FeatureError::NotFinite { row: 1, .. })));
    assert!(matches!(StandardScaler.fit_matrix(&m, &[2]), Err(FeatureError::RowOutOfRange { .. })));
}

#[test]
fn invalid_specs() {
    let t = small();
    let invalid = |spec: FeatureSpec| match spec.fit(&t, &[0, 1, 2, 3, 4]) {
        Err(FeatureError::InvalidSpec { feature, message }) => format!("{feature}: {message}"),
        other => panic!("expected InvalidSpec, got {other:?}"),
    };
    let one = |f: Feature| FeatureSpec::new().with(f);
    assert!(invalid(FeatureSpec::new()).contains("no output feature"));
    assert!(invalid(one(Feature::column("n").hidden())).contains("no output feature"));
    assert!(
        invalid(FeatureSpec::new().with(Feature::column("n")).with(Feature::column("n")))
            .contains("used by two")
    );
    assert!(invalid(one(Feature::new("a", Source::feature("b")))).contains("not defined before"));
    assert!(invalid(one(Feature::new("a", Source::feature("a")))).contains("not defined before"));
    assert!(invalid(one(Feature::column("n").then(Binner::edges([2.0, 1.0])))).contains("increase strictly"));
    assert!(invalid(one(Feature::column("n").then(Binner::edges([])))).contains("empty"));
    assert!(invalid(one(Feature::column("n").then(Binner::edges([f64::NAN])))).contains("not finite"));
    assert!(invalid(one(Feature::column("n").then(Binner::quantiles(1)))).contains("at least 2"));
    assert!(
        invalid(one(Feature::column("s").then(Encoder::explicit::<[(&str, i64); 0], &str>([]))))
            .contains("empty")
    );
    assert!(
        invalid(one(Feature::column("s").then(Encoder::explicit([("a", 0), ("a", 1)])))).contains("twice")
    );
    assert!(
        invalid(one(Feature::column("s").then(Op::map_text([("a", "b"), ("a", "c")])))).contains("twice")
    );
    assert!(invalid(one(Feature::column("s").then(Op::between("(", "")))).contains("end delimiter"));
    assert!(invalid(one(Feature::column("n").then(Imputer::constant(f64::NAN)))).contains("not finite"));
    assert!(
        invalid(one(Feature::column("n").then(Op::indicator(Cmp::Lt, f64::INFINITY)))).contains("not finite")
    );
    assert!(
        invalid(one(Feature::new("r", Source::ratio(Source::column("n"), Source::column("f"), f64::NAN))))
            .contains("not finite")
    );
    assert!(invalid(one(Feature::new("e", Source::sum([])))).contains("at least one"));
    assert!(invalid(one(Feature::new("", Source::column("n")))).contains("empty name"));
}

#[test]
fn wrong_kinds_and_division_by_zero() {
    let t = small();
    let rows = [0, 1, 2, 3, 4];
    // A feature that ends as text.
    let err =
        FeatureSpec::new().with(Feature::column("s")).fit(&t, &rows).unwrap().transform(&t).unwrap_err();
    assert!(matches!(&err, FeatureError::NotNumeric { row: 0, value, .. } if value == "b"), "{err}");
    assert!(err.to_string().contains("(feature `s`, output)"), "{err}");
    assert!(err.to_string().contains("encode text with an encoder"), "{err}");
    // Text steps on numbers.
    let err = FeatureSpec::new().with(Feature::column("f").then(Op::FirstChar)).fit(&t, &rows).unwrap_err();
    assert!(matches!(err, FeatureError::WrongType { expected: "text", .. }), "{err}");
    // Division by zero, named at its row.
    let zero = FeatureSpec::new()
        .with(Feature::new("r", Source::ratio(Source::column("f"), Source::column("n"), -3.0)));
    let err = zero.fit(&t, &rows).unwrap_err();
    assert!(
        matches!(&err, FeatureError::DivisionByZero { row: 0, column, .. } if column == "f / (n + -3)"),
        "{err}"
    );
    // A missing operand gives a missing result, named at the output.
    let sum =
        FeatureSpec::new().with(Feature::new("s", Source::sum([Source::column("n"), Source::column("f")])));
    let err = sum.fit(&t, &rows).unwrap().transform(&t).unwrap_err();
    assert!(matches!(err, FeatureError::MissingValue { row: 1, step: "output", .. }), "{err}");
    // Matrix scaler on a matrix of other features.
    let m = FeatureMatrix { names: vec!["a".into()], x: ndarray::array![[1.0]] };
    let other = FeatureMatrix { names: vec!["a".into(), "b".into()], x: ndarray::array![[1.0, 2.0]] };
    let s = StandardScaler.fit_matrix(&m, &[0]).unwrap();
    assert!(matches!(s.transform(&other), Err(FeatureError::FeatureMismatch { .. })));
    assert!(matches!(m.select_rows(&[1]), Err(FeatureError::RowOutOfRange { row: 1, rows: 1 })));
}

#[test]
fn hidden_features_feed_later_ones() {
    let t = small();
    let spec = FeatureSpec::new()
        .with(Feature::column("f").then(Imputer::constant(0.0)).hidden())
        .with(Feature::new("twice", Source::sum([Source::feature("f"), Source::feature("f")])));
    let m = spec.fit(&t, &[0, 1, 2, 3, 4]).unwrap().transform(&t).unwrap();
    assert_eq!(m.names, ["twice"]);
    assert_eq!(m.x.column(0).to_vec(), [2.0, 0.0, 6.0, 8.0, 10.0]);
}

// ---------------------------------------------------------------------------------------------
// In the demo pipeline: the split, the fitted state and the matrices are cached artifacts.

#[test]
fn features_as_pipeline_artifacts() {
    let (_dir, store) = common::temp_store();
    let file = DataFile::open(support::path("train.csv")).unwrap();
    let (p, handles) = pipeline::build(file, Metric::RocAuc);
    let first = p.run(&store).unwrap();
    assert!(first.is_success(), "{first}");
    // The pipeline's own features are what the step functions give when called directly.
    let data = first.get(handles.prepared).unwrap();
    assert_eq!((data.train.x.dim(), data.test.x.dim()), ((713, 13), (178, 13)));
    assert_eq!(data, &support::dataset());
    let again = p.run(&store).unwrap();
    for step in ["check", "prepare", "trained"] {
        assert_eq!(again.step(step).map(|s| s.status), Some(StepStatus::Cached), "{step}: {again}");
    }
    assert_eq!(again.count(StepStatus::Ran), 0, "{again}");
    assert_eq!(encode(again.get(handles.prepared).unwrap()).unwrap(), encode(data).unwrap());
}

// ---------------------------------------------------------------------------------------------
// Standard scaling against scikit-learn's `StandardScaler` (tests/fixtures/numerics/scaler.json,
// written by tests/fixtures/numerics/generate.py): near-constant columns, tiny and huge numbers,
// large offsets, ordinary data.

#[derive(serde::Deserialize)]
struct ScalerFixture {
    cases: Vec<ScalerCase>,
}

#[derive(serde::Deserialize)]
struct ScalerCase {
    name: String,
    log2_factor: i32,
    x_train: Vec<Vec<f64>>,
    x_test: Vec<Vec<f64>>,
    mean: Vec<f64>,
    var_scaled: Vec<f64>,
    scale: Vec<f64>,
    constant: Vec<bool>,
    transform: Vec<Vec<f64>>,
}

fn scaler_fixture() -> ScalerFixture {
    serde_json::from_str(include_str!("../fixtures/numerics/scaler.json")).expect("scaler.json")
}

fn matrix(names: &[String], rows: &[Vec<f64>]) -> FeatureMatrix {
    let p = names.len();
    let flat: Vec<f64> = rows.iter().flat_map(|r| r.iter().copied()).collect();
    FeatureMatrix {
        names: names.to_vec(),
        x: ndarray::Array2::from_shape_vec((rows.len(), p), flat).unwrap(),
    }
}

/// `a` and `b` agree to `rel` relative to the larger of them and `floor`.
fn close(a: f64, b: f64, rel: f64, floor: f64) -> bool {
    a == b || (a - b).abs() <= rel * a.abs().max(b.abs()).max(floor)
}

#[test]
fn standard_scaler_matches_scikit_learn() {
    let fixture = scaler_fixture();
    assert!(fixture.cases.len() >= 12);
    for case in &fixture.cases {
        let name = &case.name;
        let p = case.mean.len();
        let names: Vec<String> = (0..p).map(|j| format!("c{j}")).collect();
        let mut rows = case.x_train.clone();
        rows.extend(case.x_test.iter().cloned());
        let m = matrix(&names, &rows);
        let train: Vec<usize> = (0..case.x_train.len()).collect();
        let fitted = StandardScaler.fit_matrix(&m, &train).unwrap();
        let factor = 2f64.powi(case.log2_factor);
        for (j, s) in fitted.scalers().iter().enumerate() {
            let what = format!("{name}, column {j}");
            assert!(
                close(s.mean(), case.mean[j], 1e-12, 0.0),
                "{what}: mean {} vs {}",
                s.mean(),
                case.mean[j]
            );
            assert!(
                close(s.scale(), case.scale[j], 1e-12, 0.0),
                "{what}: scale {} vs {}",
                s.scale(),
                case.scale[j]
            );
            if case.constant[j] {
                assert_eq!((s.std(), s.scale()), (0.0, 1.0), "{what}: a constant column");
            } else {
                assert!(
                    close(s.std(), case.scale[j], 1e-12, 0.0),
                    "{what}: std {} vs {}",
                    s.std(),
                    case.scale[j]
                );
                // var_ in the units scikit-learn ran in.
                let var = (s.std() * factor).powi(2);
                assert!(
                    close(var, case.var_scaled[j], 1e-12, 0.0),
                    "{what}: var {var} vs {}",
                    case.var_scaled[j]
                );
            }
        }
        let scaled = fitted.transform(&m).unwrap();
        let test: Vec<usize> = (train.len()..rows.len()).collect();
        let out = scaled.select_rows(&test).unwrap();
        for (j, s) in fitted.scalers().iter().enumerate() {
            let expected: Vec<f64> = case.transform.iter().map(|r| r[j]).collect();
            let largest = expected.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            // `x - mean` cancels when x is near a large mean (1e9 + 1e-3): the two means' rounding
            // difference (a few units in the last place of 1e9 where numpy adds row by row, none
            // where it adds pairwise as we do) shows in the output, divided by the scale.
            let mean_gap = (s.mean() - case.mean[j]).abs() / s.scale();
            for (i, (got, want)) in out.x.column(j).iter().zip(&expected).enumerate() {
                assert!(
                    (got - want).abs() <= 1e-12 * want.abs().max(largest) + 1.01 * mean_gap,
                    "{name}, column {j}, test row {i}: {got} vs {want}"
                );
            }
        }
    }
}

/// On one column the numbers are scikit-learn's bit for bit: numpy sums a single column pairwise,
/// as we do, and the change of unit we sum in is an exact power of two. Through the column scaler
/// of a feature spec (a `Table` column).
#[test]
fn column_scaler_matches_scikit_learn_bit_for_bit_on_single_columns() {
    let fixture = scaler_fixture();
    let mut checked = 0;
    for case in fixture.cases.iter().filter(|c| c.mean.len() == 1) {
        let name = &case.name;
        let values: Vec<Option<f64>> = case.x_train.iter().chain(&case.x_test).map(|r| Some(r[0])).collect();
        let t = Table::new(vec![("x".into(), Column::Float(values))]).unwrap();
        let train: Vec<usize> = (0..case.x_train.len()).collect();
        let s = StandardScaler.fit(&t, "x", &train).unwrap();
        assert_eq!((s.mean(), s.scale()), (case.mean[0], case.scale[0]), "{name}");
        let std = if case.constant[0] { 0.0 } else { case.scale[0] };
        assert_eq!(s.std(), std, "{name}");
        let out = s.transform(&t, "x").unwrap();
        let out: Vec<f64> = out.as_float().unwrap()[train.len()..].iter().map(|v| v.unwrap()).collect();
        let expected: Vec<f64> = case.transform.iter().map(|r| r[0]).collect();
        assert_eq!(out, expected, "{name}");
        checked += 1;
    }
    assert!(checked >= 11, "{checked} single-column cases");
}

/// 455 training rows of 0.1 are a constant column: a later 0.2 scales to 0.1, not to ~1e14.
#[test]
fn near_constant_training_column_scales_by_one() {
    let m = FeatureMatrix {
        names: vec!["c".into()],
        x: ndarray::Array2::from_shape_fn((456, 1), |(i, _)| if i < 455 { 0.1 } else { 0.2 }),
    };
    let train: Vec<usize> = (0..455).collect();
    let s = StandardScaler.fit_matrix(&m, &train).unwrap();
    assert_eq!((s.scalers()[0].std(), s.scalers()[0].scale()), (0.0, 1.0));
    let out = s.transform(&m).unwrap();
    assert!((out.x[[455, 0]] - 0.1).abs() < 1e-15, "0.2 scaled to {}", out.x[[455, 0]]);
    // A large offset with noise of a few units in the last place is constant too.
    let wobble = [0.0, 1.2e-7, -1.2e-7, 2.4e-7];
    let m = FeatureMatrix {
        names: vec!["c".into()],
        x: ndarray::Array2::from_shape_fn((400, 1), |(i, _)| 1e9 + wobble[i % 4]),
    };
    let s = StandardScaler.fit_matrix(&m, &(0..400).collect::<Vec<_>>()).unwrap();
    assert_eq!(s.scalers()[0].scale(), 1.0);
}

/// Standardizing does not depend on the unit: features around 1e154 or 1e-300 (whose squares
/// overflow or underflow) come out as the same numbers as features around 1.
#[test]
fn scaling_is_the_same_in_any_unit() {
    let base: Vec<f64> = (0..50).map(|i| ((i * 37 % 50) as f64 - 20.0) / 7.0).collect();
    let fit = |k: i32| {
        let f = 2f64.powi(k);
        let m = FeatureMatrix {
            names: vec!["x".into()],
            x: ndarray::Array2::from_shape_fn((50, 1), |(i, _)| base[i] * f),
        };
        let s = StandardScaler.fit_matrix(&m, &(0..40).collect::<Vec<_>>()).unwrap();
        (s.scalers()[0], s.transform(&m).unwrap().x)
    };
    let (one, reference) = fit(0);
    assert!(one.std() > 1.0);
    for k in [512, 700, 1000, -1000] {
        let (s, out) = fit(k);
        assert_eq!(out, reference, "2^{k}");
        assert_eq!((s.mean(), s.std()), (one.mean() * 2f64.powi(k), one.std() * 2f64.powi(k)), "2^{k}");
    }
}
