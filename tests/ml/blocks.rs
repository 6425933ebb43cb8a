//! The ready-made blocks as plain functions (the way a unit test calls them) and their refusals.

use mlflow::blocks::{self, BlockError, Candidate, Prepare, Scored};
use mlflow::data::{Column, Ingested, Table};
use mlflow::eval::Metric;
use mlflow::models::{LinearParams, TreeParams};
use mlflow::track;

fn ingested(table: Table) -> Ingested {
    Ingested {
        version: mlflow::codec::ContentHash::of(b"test"),
        rows: table.rows(),
        schema: table.schema(),
        table,
    }
}

/// 60 rows: `x` decides the label, `city` is a category, `id` an identifier, `note` free text.
fn table() -> Table {
    let n = 60;
    Table::new(vec![
        ("id".into(), Column::Int((0..n).map(Some).collect())),
        ("x".into(), Column::Float((0..n).map(|i| if i % 7 == 0 { None } else { Some(i as f64) }).collect())),
        ("city".into(), Column::Str((0..n).map(|i| Some(["a", "b", "c"][i as usize % 3].into())).collect())),
        ("note".into(), Column::Str((0..n).map(|i| Some(format!("note {i}"))).collect())),
        ("y".into(), Column::Int((0..n).map(|i| Some((i >= 30) as i64)).collect())),
    ])
    .unwrap()
}

#[test]
fn prepare_infers_features_from_the_training_rows_and_says_what_it_left_out() {
    let prepared = blocks::prepare(&ingested(table()), &Prepare::label("y").exclude(["id"])).unwrap();
    assert_eq!(prepared.train.names, ["x", "city"]);
    assert_eq!(prepared.dropped.len(), 1);
    assert_eq!(prepared.dropped[0].0, "note");
    assert!(prepared.dropped[0].1.contains("distinct training values"), "{:?}", prepared.dropped);
    assert_eq!((prepared.train.rows(), prepared.test.rows()), (48, 12));
    assert!(prepared.train.x.iter().all(|v| v.is_finite()), "gaps in `x` are imputed");
    // Stratified: six of each class held out.
    assert_eq!(prepared.test_classes().unwrap().iter().filter(|&&y| y == 1).count(), 6);
}

#[test]
fn blocks_are_plain_functions_and_evaluate_logs_only_inside_a_capture() {
    let prepared = blocks::prepare(&ingested(table()), &Prepare::label("y").exclude(["id"])).unwrap();
    let trained = blocks::train(&prepared, &Candidate::new("tree", TreeParams::default())).unwrap();
    let scored = blocks::evaluate(&trained, &prepared).unwrap(); // outside a run: nothing recorded
    let (again, log) = track::capture(|| blocks::evaluate(&trained, &prepared).unwrap());
    assert_eq!(again, scored);
    assert_eq!(log.metric("roc_auc"), Some(scored.metrics.binary().unwrap().roc_auc));
    assert_eq!(log.series(mlflow::eval::ROC_TPR_SERIES).len(), scored.metrics.binary().unwrap().roc.len());
    let champion = blocks::select(&vec![scored.clone()], &Metric::Accuracy.into()).unwrap();
    assert_eq!((champion.index, champion.name.as_str()), (0, "tree"));
    assert!(blocks::comparison_table(&[scored]).contains("tree"));
}

#[test]
fn a_table_with_nothing_to_learn_from_is_a_clear_error() {
    let err =
        blocks::prepare(&ingested(table()), &Prepare::label("y").exclude(["id", "x", "city"])).unwrap_err();
    assert!(matches!(err, BlockError::NoFeatures { .. }), "{err:?}");
    let message = err.to_string();
    for needle in ["no column can be a feature", "`note`", "distinct training values", "Prepare::features"] {
        assert!(message.contains(needle), "`{needle}` missing from: {message}");
    }
}

#[test]
fn labels_are_classes_as_given_and_bad_targets_fail_with_the_column_and_row() {
    // Text labels are classes, numbered in sorted order; answers come back as the text.
    let t = table()
        .without("y")
        .with_column("y", Column::Str((0..60).map(|i| Some(["no", "yes"][i % 2].into())).collect()))
        .unwrap();
    let prepared = blocks::prepare(&ingested(t), &Prepare::label("y").exclude(["id"])).unwrap();
    assert_eq!(prepared.classes().unwrap().describe(), "no, yes");

    // Three integer classes: a tree with one probability column per class.
    let three =
        table().without("y").with_column("y", Column::Int((0..60).map(|i| Some(i % 3)).collect())).unwrap();
    let prepared = blocks::prepare(&ingested(three), &Prepare::label("y").exclude(["id"])).unwrap();
    let trained = blocks::train(&prepared, &Candidate::new("tree", TreeParams::default())).unwrap();
    assert_eq!(trained.predict_proba(&prepared.test).unwrap().ncols(), 3);
    let scored = blocks::evaluate(&trained, &prepared).unwrap();
    assert!(scored.metrics.classes().unwrap().accuracy >= 0.0);
    assert!(scored.metrics.binary().is_none(), "three classes are not a binary evaluation");

    // A fractional label is a regression target, a missing one names its row.
    let fractional = table()
        .without("y")
        .with_column("y", Column::Float((0..60).map(|i| Some(i as f64 / 7.0)).collect()))
        .unwrap();
    let err = blocks::prepare(&ingested(fractional), &Prepare::label("y")).unwrap_err().to_string();
    assert!(err.contains("row 1, label column `y`") && err.contains("Prepare::regression"), "{err}");

    // One class only.
    let one = table().without("y").with_column("y", Column::Int(vec![Some(4); 60])).unwrap();
    let err = blocks::prepare(&ingested(one), &Prepare::label("y")).unwrap_err().to_string();
    assert!(err.contains("label column `y` has only one class (`4`)"), "{err}");

    // A text column is no regression target; a NaN target names its row.
    let text = table()
        .without("y")
        .with_column("y", Column::Str((0..60).map(|i| Some(["no", "yes"][i % 2].into())).collect()))
        .unwrap();
    let err = blocks::prepare(&ingested(text), &Prepare::regression("y")).unwrap_err().to_string();
    assert!(err.contains("target column `y`") && err.contains("classifier"), "{err}");
    let nan = table()
        .without("y")
        .with_column(
            "y",
            Column::Float((0..60).map(|i| Some(if i == 5 { f64::NAN } else { i as f64 })).collect()),
        )
        .unwrap();
    let err = blocks::prepare(&ingested(nan), &Prepare::regression("y")).unwrap_err().to_string();
    assert!(err.contains("row 5, target column `y`"), "{err}");

    // A classifier's params on a numeric target, and the other way round.
    let values = table()
        .without("y")
        .with_column("y", Column::Float((0..60).map(|i| Some(i as f64)).collect()))
        .unwrap();
    let prepared = blocks::prepare(&ingested(values), &Prepare::regression("y").exclude(["id"])).unwrap();
    let err =
        blocks::train(&prepared, &Candidate::new("tree", TreeParams::default())).unwrap_err().to_string();
    assert!(err.contains("not a regressor"), "{err}");
    let trained = blocks::train(&prepared, &Candidate::new("ols", LinearParams::default())).unwrap();
    let scored = blocks::evaluate(&trained, &prepared).unwrap();
    assert!(scored.metrics.regression().unwrap().rmse.is_finite());
}

#[test]
fn selecting_from_no_candidates_says_so() {
    let err = blocks::select(&Vec::<Scored>::new(), &Metric::RocAuc.into()).unwrap_err();
    assert_eq!(err, mlflow::eval::EvalError::NoCandidates);
}

#[test]
fn candidate_names_become_node_names_that_filters_can_name() {
    assert_eq!(blocks::node_key("Random Forest (100)"), "random_forest__100_");
    let mut p = mlflow::prelude::Pipeline::new("keys");
    let raw = p.param("raw", ingested(table()));
    let setup = p.param("setup", Prepare::label("y"));
    let prepared = p.step(blocks::PrepareStep, (raw, setup));
    let compared = blocks::compare(
        &mut p,
        prepared,
        [Candidate::new("A tree", TreeParams::default()), Candidate::new("a-tree", TreeParams::default())],
        Metric::RocAuc,
    );
    let _ = compared;
    let errors = p.check().unwrap_err();
    assert!(
        errors.iter().any(|e| e.to_string().contains("two nodes are named `candidate_a_tree`")),
        "{errors:?}"
    );
}
