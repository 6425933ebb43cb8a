//! Tracking: what every run records, queries over runs, typed access to past outputs, lineage.

use crate::titanic as support;

use mlflow::EngineError as Error;
use mlflow::eval::Metric;
use mlflow::prelude::*;
use mlflow::track::query::{Compare, RunFilter};
use mlflow::track::{self, log_metric, log_metric_at, set_tag};

use support::pipeline;

use support::{temp_store, train_file};

#[test]
fn a_run_records_params_data_versions_metrics_and_environment() {
    let (_dir, store) = temp_store();
    let file = train_file();
    let (p, _) = pipeline::build(file.clone(), Metric::RocAuc);
    let report = p.run(&store).unwrap();
    let run = store.run(report.run_id()).unwrap().unwrap();

    let env = run.environment.as_ref().expect("finished runs record their environment");
    assert_eq!(env.library, env!("CARGO_PKG_VERSION"));
    assert!(env.rustc.starts_with("rustc 1."), "{}", env.rustc);
    // The crates defining the steps: the blocks, packaging, and the engine's `collect`.
    assert!(env.crates.iter().any(|c| c.starts_with("mlflow-ml@")), "{:?}", env.crates);
    assert!(env.crates.iter().any(|c| c.starts_with("mlflow-core@")), "{:?}", env.crates);
    assert!(!env.host.is_empty() && env.os.contains('-'));

    let setup = run.param_values.iter().find(|(n, _)| n == "setup").unwrap();
    assert!(
        setup.1.starts_with(r#"{"label":"Survived","target":"Classes","test_fraction":0.2,"seed":0,"#),
        "{}",
        setup.1
    );
    assert_eq!(
        run.data,
        [("ingest".to_string(), track::DataInput { name: file.path.clone(), version: file.version })]
    );

    let svm_auc = run.metrics.iter().find(|(n, m)| n == "evaluate_svm" && m.key == "roc_auc").unwrap();
    assert_eq!(svm_auc.1.value, report.step("evaluate_svm").unwrap().log.metric("roc_auc").unwrap());
    let scalar = |n: &String, m: &track::MetricPoint| {
        n.starts_with("evaluate_") && m.step.is_none() && Metric::ALL.iter().any(|x| x.name() == m.key)
    };
    assert_eq!(run.metrics.iter().filter(|(n, m)| scalar(n, m)).count(), 5 * Metric::ALL.len());
    assert!(run.steps.iter().all(|s| s.started <= report.duration()));

    // A fully cached run records the same metrics and data versions: they come with the cache.
    let again = p.run(&store).unwrap();
    let cached = store.run(again.run_id()).unwrap().unwrap();
    assert_eq!(cached.metrics, run.metrics);
    assert_eq!(cached.data, run.data);
    assert!(cached.steps.iter().all(|s| s.source_run.as_deref() == Some(report.run_id())));
}

#[step(cache = false)]
fn score(seed: &u64) -> mlflow::Result<f64> {
    let value = (*seed as f64 * 0.37).fract();
    log_metric("score", value)?;
    log_metric("seed_times_two", *seed as f64 * 2.0)?;
    for fold in 0..3 {
        log_metric_at("fold_score", fold, value + fold as f64 / 10.0)?;
    }
    set_tag("kind", if seed.is_multiple_of(2) { "even" } else { "odd" })?;
    Ok(value)
}

fn run_seed(store: &Store, seed: u64) -> String {
    let mut p = Pipeline::new("scores");
    let s = p.param("seed", seed);
    p.step(ScoreStep, s);
    p.run(store).unwrap().run_id().to_owned()
}

#[test]
fn runs_are_listed_filtered_and_sorted() {
    let (_dir, store) = temp_store();
    let ids: Vec<String> = (0..10).map(|seed| run_seed(&store, seed)).collect();
    let all = store.runs(&RunFilter::new().pipeline("scores")).unwrap();
    assert_eq!(all.len(), 10);
    assert_eq!(all[0].id, ids[9], "newest first");
    assert_eq!(all[0].metrics["score.seed_times_two"], 18.0);

    let by_param = store.runs(&RunFilter::new().param("seed", "3")).unwrap();
    assert_eq!(by_param.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), [ids[3].as_str()]);

    let high = store.runs(&RunFilter::new().metric("seed_times_two", Compare::Ge, 14.0)).unwrap();
    assert_eq!(high.len(), 3);
    let high = store.runs(&RunFilter::new().metric("score.seed_times_two", Compare::Gt, 14.0)).unwrap();
    assert_eq!(high.len(), 2);

    let sorted = store.runs(&RunFilter::new().sort_by("score", true).limit(3)).unwrap();
    let scores: Vec<f64> = sorted.iter().map(|r| r.metrics["score.score"]).collect();
    assert_eq!(scores.len(), 3);
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    let best = (0..10u64).map(|s| (s as f64 * 0.37).fract()).fold(f64::MIN, f64::max);
    assert_eq!(scores[0], best);

    let run = store.run(&ids[4]).unwrap().unwrap();
    let series: Vec<_> =
        run.metrics.iter().filter(|(_, m)| m.key == "fold_score").map(|(_, m)| m.step).collect();
    assert_eq!(series, [Some(0), Some(1), Some(2)]);
    assert_eq!(run.tags, [("score".to_string(), "kind".to_string(), "even".to_string())]);
}

#[test]
fn two_runs_compare_by_what_differs() {
    let (_dir, store) = temp_store();
    let a = run_seed(&store, 1);
    let b = run_seed(&store, 2);
    let diff = store.compare_runs(&a, &b).unwrap();
    assert_eq!(diff.params.len(), 1);
    assert_eq!((diff.params[0].left.as_deref(), diff.params[0].right.as_deref()), (Some("1"), Some("2")));
    assert!(
        diff.metrics
            .iter()
            .any(|d| d.name == "score.seed_times_two" && d.left == Some(2.0) && d.right == Some(4.0))
    );
    assert!(matches!(store.compare_runs(&a, "nope"), Err(Error::UnknownRun { .. })));
}

#[test]
fn past_outputs_load_typed_and_lineage_goes_back_to_the_data() {
    let (_dir, store) = temp_store();
    let file = train_file();
    let (p, _) = pipeline::build(file.clone(), Metric::RocAuc);
    let run_id = p.run(&store).unwrap().run_id().to_owned();

    let scored: mlflow::blocks::Scored = store.artifact(&run_id, "evaluate_forest").unwrap();
    assert_eq!(scored.name, "forest");
    assert!(matches!(
        store.artifact::<mlflow::blocks::Scored>(&run_id, "nope"),
        Err(Error::UnknownNode { .. })
    ));
    assert!(matches!(
        store.artifact::<mlflow::blocks::Scored>("nope", "select"),
        Err(Error::UnknownRun { .. })
    ));
    assert!(
        matches!(store.artifact::<u64>(&run_id, "select"), Err(Error::Codec(_))),
        "wrong type is an error"
    );

    let lineage = store.lineage(&run_id, "package").unwrap();
    fn find<'a>(
        l: &'a mlflow::track::query::Lineage,
        node: &str,
    ) -> Option<&'a mlflow::track::query::Lineage> {
        if l.node == node {
            return Some(l);
        }
        l.upstream.iter().find_map(|u| find(u, node))
    }
    let ingest = find(&lineage, "ingest").expect("the package traces back to ingestion");
    assert_eq!(ingest.data[0].version, file.version);
    assert!(ingest.params.iter().any(|(name, _, value)| name == "train_file" && value.contains("train.csv")));
    let train = find(&lineage, "train_forest").unwrap();
    assert!(train.code.is_some() && train.params.iter().any(|(n, _, _)| n == "candidate_forest"));

    let uses = store.data_uses(file.version).unwrap();
    assert_eq!(uses.len(), 1);
    assert_eq!((uses[0].run_id.as_str(), uses[0].node.as_str()), (run_id.as_str(), "ingest"));
}

#[step]
fn logs_outside_rules(x: &u64) -> mlflow::Result<u64> {
    log_metric("nan", f64::NAN)?;
    Ok(*x)
}

#[test]
fn a_bad_metric_fails_the_step_with_a_clear_error() {
    let (_dir, store) = temp_store();
    let mut p = Pipeline::new("bad-metric");
    let x = p.param("x", 1u64);
    p.step(LogsOutsideRulesStep, x);
    let report = p.run(&store).unwrap();
    let error = report.steps()[0].error.clone().unwrap();
    assert!(error.contains("metric `nan` has the non-finite value NaN"), "{error}");
    // Called as a plain function (outside a run), the step fails the same way: the value is
    // checked even where nothing is recorded.
    let plain = logs_outside_rules(&1).unwrap_err().to_string();
    assert!(plain.contains("metric `nan` has the non-finite value NaN"), "{plain}");
    assert_eq!(log_metric("outside", 1.0), Ok(()), "outside a step nothing is recorded, and that is fine");
}
