//! The ready-made blocks as plain functions (the way a unit test calls them) and their refusals.

use mlflow::blocks::{self, BlockError, Candidate, Prepare, Scored};
use mlflow::data::{Column, Ingested, Table};
use mlflow::eval::Metric;
use mlflow::models::{ModelError, TreeParams};
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
fn a_label_that_is_not_0_or_1_fails_where_it_is_used_with_the_reason() {
    let mut t = table();
    t = t
        .without("y")
        .with_column("y", Column::Str((0..60).map(|i| Some(["no", "yes"][i % 2].into())).collect()))
        .unwrap();
    let err = blocks::prepare(&ingested(t), &Prepare::label("y")).unwrap_err().to_string();
    assert!(err.contains("`no` is not a class label"), "{err}");

    let mut three = table();
    three = three.without("y").with_column("y", Column::Int((0..60).map(|i| Some(i % 3)).collect())).unwrap();
    let prepared = blocks::prepare(&ingested(three), &Prepare::label("y").exclude(["id"])).unwrap();
    let err = blocks::train(&prepared, &Candidate::new("tree", TreeParams::default())).unwrap_err();
    assert!(matches!(err, BlockError::Model(ModelError::InvalidLabel { .. })), "{err:?}");
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
