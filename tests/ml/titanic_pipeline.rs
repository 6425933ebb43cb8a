//! The Titanic example's pipeline end to end: caching, determinism, validation failures, data
//! versions and packaged-model self-tests.

use crate::titanic as support;

use std::fs;
use std::path::{Path, PathBuf};

use mlflow::data::DataFile;
use mlflow::eval::Metric;
use mlflow::models::{ModelError, SelfTestedModel};
use mlflow::prelude::*;
use mlflow::serve::{ModelPackage, Scorer};

use support::pipeline;

use support::{temp_store, train_file};

/// A copy of train.csv in `dir` with `edit` applied to its data lines (1-based line numbers,
/// the header being line 1).
fn edited_copy(dir: &Path, edit: impl Fn(usize, &str) -> String) -> PathBuf {
    let text = fs::read_to_string(support::path("train.csv")).unwrap();
    let edited: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, line)| if i == 0 { line.to_owned() } else { edit(i + 1, line) })
        .collect();
    let path = dir.join("train.csv");
    fs::write(&path, edited.join("\n") + "\n").unwrap();
    path
}

#[test]
fn the_pipeline_runs_then_reruns_all_cached_with_identical_outputs() {
    let (_dir, store) = temp_store();
    let (p, nodes) = pipeline::build(train_file(), Metric::RocAuc);
    let first = p.run(&store).unwrap();
    assert!(first.is_success(), "{first}");
    assert_eq!(first.count(StepStatus::Ran), 17);

    let scored = first.get(nodes.compared.scored).unwrap();
    assert_eq!(scored.len(), 5);
    let best = scored.iter().map(|s| s.metrics.binary().unwrap().roc_auc).fold(f64::MIN, f64::max);
    let champion = first.get(nodes.compared.champion).unwrap();
    assert_eq!(champion.value, best, "the champion has the highest ROC AUC");
    assert_eq!(champion.name, scored[champion.index].name);
    for s in scored {
        assert!(
            s.metrics.binary().unwrap().accuracy > 0.7 && s.metrics.binary().unwrap().accuracy <= 1.0,
            "{}: {}",
            s.name,
            s.metrics.binary().unwrap().accuracy
        );
    }
    let package = first.get(nodes.package).unwrap();
    assert_eq!(package.name(), champion.name);
    assert_eq!(package.signature().names()[12], "Fare_Per_Person");
    assert!(package.features().is_some(), "the package carries the fitted transformers");
    let demo = [3.0, 0.0, 4.0, 1.0, 2.0, 3.0, 0.0, 1.0, 0.0, 8.0, 3.0, 6.0, 2.0];
    let p_demo = Scorer::new(package.clone()).score_row(&demo).unwrap().probability;
    assert!((0.0..=1.0).contains(&p_demo));

    let second = p.run(&store).unwrap();
    assert_eq!(second.count(StepStatus::Cached), 17, "{second}");
    for (a, b) in first.steps().iter().zip(second.steps()) {
        assert_eq!(a.output_hash, b.output_hash, "{}", a.node);
    }
    let again = Scorer::new(second.get(nodes.package).unwrap().clone()).score_row(&demo).unwrap();
    assert_eq!(again.probability, p_demo);
}

#[test]
fn the_champion_metric_is_a_param() {
    let (_dir, store) = temp_store();
    let (p, nodes) = pipeline::build(train_file(), Metric::Accuracy);
    let report = p.run(&store).unwrap();
    let best = report
        .get(nodes.compared.scored)
        .unwrap()
        .iter()
        .map(|s| s.metrics.binary().unwrap().accuracy)
        .fold(f64::MIN, f64::max);
    let champion = report.get(nodes.compared.champion).unwrap();
    assert_eq!((champion.metric, champion.value), (Metric::Accuracy.into(), best));

    // Switching the metric reruns only selection and packaging.
    let (p, _) = pipeline::build(train_file(), Metric::LogLoss);
    let report = p.run(&store).unwrap();
    let ran: Vec<_> =
        report.steps().iter().filter(|s| s.status == StepStatus::Ran).map(|s| s.node.as_str()).collect();
    assert_eq!(ran, ["select", "package"]);
}

#[test]
fn the_same_data_and_seeds_give_the_same_bytes_in_fresh_stores() {
    let (_a, store_a) = temp_store();
    let (_b, store_b) = temp_store();
    let (p, _) = pipeline::build(train_file(), Metric::RocAuc);
    let a = p.run(&store_a).unwrap();
    let b = p.run(&store_b).unwrap();
    assert_eq!(b.count(StepStatus::Ran), 17);
    for (x, y) in a.steps().iter().zip(b.steps()) {
        assert_eq!(x.output_hash, y.output_hash, "{} is not deterministic", x.node);
    }
}

#[test]
fn a_corrupted_copy_fails_validation_with_a_report_naming_each_problem() {
    let dir = tempfile::tempdir().unwrap();
    // Line 2 gets a negative fare, line 3 an unknown sex, line 4 a label of 2.
    let path = edited_copy(dir.path(), |line, text| {
        let mut fields = split_csv_line(text);
        match line {
            2 => fields[9] = "-7.25".into(),
            3 => fields[4] = "unknown".into(),
            4 => fields[1] = "2".into(),
            _ => {}
        }
        fields.join(",")
    });
    let store = Store::open(dir.path().join("store")).unwrap();
    let (p, _) = pipeline::build(DataFile::open(&path).unwrap(), Metric::RocAuc);
    let report = p.run(&store).unwrap();
    assert!(!report.is_success());
    let status = |node: &str| report.step(node).unwrap().status;
    assert_eq!(status("ingest"), StepStatus::Ran);
    assert_eq!(status("check"), StepStatus::Failed);
    assert_eq!(status("prepare"), StepStatus::Skipped);
    assert_eq!(report.step("prepare").unwrap().error.as_deref(), Some("upstream step `check` failed"));
    assert_eq!(status("package"), StepStatus::Skipped);
    let error = report.step("check").unwrap().error.clone().unwrap();
    for needle in ["Fare", "-7.25", "Sex", "unknown", "Survived", "row 0", "row 1", "row 2"] {
        assert!(error.contains(needle), "`{needle}` missing from:\n{error}");
    }
}

#[test]
fn a_changed_file_is_read_again_never_a_stale_hit() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    let original = edited_copy(dir.path(), |_, text| text.to_owned());
    let (p, nodes) = pipeline::build(DataFile::open(&original).unwrap(), Metric::RocAuc);
    let first = p.run(&store).unwrap();
    let rows_before = first.get(nodes.raw).unwrap().rows;

    // Same path, other bytes: drop the last passenger.
    let text = fs::read_to_string(&original).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.pop();
    fs::write(&original, lines.join("\n") + "\n").unwrap();

    let (p, nodes) = pipeline::build(DataFile::open(&original).unwrap(), Metric::RocAuc);
    let plan = p.plan(&store).unwrap();
    assert_eq!(
        plan.step("ingest").unwrap().outcome,
        mlflow::exec::PlanOutcome::Miss(mlflow::exec::MissReason::Param { name: "train_file".into() })
    );
    let second = p.run(&store).unwrap();
    assert_eq!(second.step("ingest").unwrap().status, StepStatus::Ran);
    assert_eq!(second.get(nodes.raw).unwrap().rows, rows_before - 1);
    let runs = store.run_ids("titanic").unwrap();
    let version =
        |id: &str| store.run(id).unwrap().unwrap().params.into_iter().find(|(n, _)| n == "train_file");
    assert_ne!(version(&runs[0]), version(&runs[1]), "the data version is recorded with each run");
}

#[test]
fn a_packaged_model_that_no_longer_reproduces_its_self_test_is_refused() {
    let (_dir, store) = temp_store();
    let (p, nodes) = pipeline::build(train_file(), Metric::RocAuc);
    let report = p.run(&store).unwrap();
    let package = report.get(nodes.package).unwrap();
    assert!(ModelPackage::from_bytes(&package.to_bytes().unwrap()).is_ok());
    // The package's model with its self-test rows, as a self-tested model: its own encoding ends
    // with the expected probabilities.
    let (rows, _) = package.self_test();
    let tested = SelfTestedModel::new(
        package.name(),
        package.model().classifier().unwrap().clone(),
        package.scaler().cloned(),
        rows,
    )
    .unwrap();
    let bytes = tested.to_bytes().unwrap();
    let loaded = SelfTestedModel::from_bytes(&bytes).unwrap();
    assert_eq!(loaded.self_test().1.len(), 5);
    assert_eq!(loaded.self_test().1, package.self_test().1);

    // The expected probabilities are the last 5 f64 of the encoding: nudge the last one.
    let mut tampered = bytes.clone();
    let at = tampered.len() - 3;
    tampered[at] ^= 0x10;
    match SelfTestedModel::from_bytes(&tampered) {
        Err(ModelError::SelfTest { row, .. }) => assert_eq!(row, 4),
        other => panic!("expected a self-test failure, got {other:?}"),
    }
}

#[test]
fn stale_steps_plan_and_report_their_reasons() {
    let (_dir, store) = temp_store();
    let (p, _) = pipeline::build(train_file(), Metric::RocAuc);
    p.run(&store).unwrap();
    let (p, _) = pipeline::build_with_seed(train_file(), Metric::RocAuc, 7);
    let plan = p.plan(&store).unwrap();
    use mlflow::exec::{MissReason, PlanOutcome};
    assert_eq!(plan.step("ingest").unwrap().outcome, PlanOutcome::Hit);
    assert_eq!(plan.step("check").unwrap().outcome, PlanOutcome::Hit);
    assert_eq!(
        plan.step("prepare").unwrap().outcome,
        PlanOutcome::Miss(MissReason::Param { name: "setup".into() })
    );
    assert!(matches!(plan.step("train_forest").unwrap().outcome, PlanOutcome::DependsOn { .. }));
}

/// Splits a CSV line on commas outside double quotes (Titanic names contain quoted commas).
fn split_csv_line(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                fields.last_mut().unwrap().push(c);
            }
            ',' if !quoted => fields.push(String::new()),
            _ => fields.last_mut().unwrap().push(c),
        }
    }
    fields
}

/// Two checkouts of the project in different folders share one store: the second one's run is
/// served entirely from the cache (keys depend on the data's bytes, not on where they are), and
/// its run record still names its own data file.
#[test]
fn the_same_data_in_another_folder_hits_every_step_and_is_recorded_where_it_was() {
    let (_dir, store) = temp_store();
    let projects = tempfile::tempdir().unwrap();
    let copy = |project: &str| {
        let folder = projects.path().join(project).join("examples/data/titanic");
        fs::create_dir_all(&folder).unwrap();
        let path = folder.join("train.csv");
        fs::copy(support::path("train.csv"), &path).unwrap();
        path
    };
    let (first, second) = (copy("checkout-a"), copy("checkout-b"));

    let run = |path: &Path| {
        let (p, _) = pipeline::build(DataFile::open(path).unwrap(), Metric::RocAuc);
        p.run(&store).unwrap()
    };
    let a = run(&first);
    assert!(a.is_success(), "{a}");
    let b = run(&second);
    assert_eq!(b.count(StepStatus::Cached), b.steps().len(), "{b}");

    let recorded = |report: &RunReport| {
        let run = store.run(report.run_id()).unwrap().unwrap();
        run.param_values.into_iter().find(|(name, _)| name == "train_file").unwrap().1
    };
    let (in_a, in_b) = (recorded(&a), recorded(&b));
    assert!(in_b.contains("checkout-b") && !in_b.contains("checkout-a"), "{in_b}");
    assert!(in_a.contains("checkout-a"), "{in_a}");
    let param_hash = |report: &RunReport| {
        let run = store.run(report.run_id()).unwrap().unwrap();
        run.params.into_iter().find(|(name, _)| name == "train_file").unwrap().1
    };
    assert_eq!(param_hash(&a), param_hash(&b), "the param is keyed by its content");

    // Other bytes at the second place are another version: never a stale hit.
    fs::write(&second, fs::read_to_string(&second).unwrap().replacen("Braund", "Braun", 1)).unwrap();
    let c = run(&second);
    assert_eq!(c.step("ingest").unwrap().status, StepStatus::Ran, "{c}");
}
