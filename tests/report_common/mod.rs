//! The realistic run view both report tests render: a Titanic-like run with a fan-out to four
//! trainers and a fan-in to the champion, every step status, a metric series and three
//! classifiers. Shared by `tests/report.rs` and `tests/report_browser.rs`.

use mlflow::eval::evaluate;
use mlflow::report::{ClassifierView, MetricView, NodeView, RunView, StudyView, TrialView};
use mlflow::tune::ParamValue;

/// The name of a step that would run a script if it were not escaped.
pub const EVIL: &str = "<script>alert(1)</script>";

/// Deterministic labels and scores of a classifier of the given quality (higher `skill`, better).
fn scored(seed: u64, skill: f64) -> (Vec<usize>, Vec<f64>) {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut next = move || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut y = Vec::new();
    let mut s = Vec::new();
    for i in 0..178 {
        let label = usize::from(i % 5 < 2);
        let noise = next();
        let score =
            (1.0 - skill) * noise + skill * (0.25 + 0.5 * label as f64) + skill * 0.3 * (next() - 0.5);
        y.push(label);
        s.push(score.clamp(0.0, 1.0));
    }
    (y, s)
}

fn classifier(name: &str, seed: u64, skill: f64) -> ClassifierView {
    let (y, s) = scored(seed, skill);
    let metrics = evaluate(&y, &s).expect("valid synthetic scores");
    ClassifierView::from_metrics(name, &metrics)
}

/// Indices into `nodes` by name, for the edge list.
fn at(nodes: &[NodeView], name: &str) -> usize {
    nodes.iter().position(|n| n.name == name).unwrap_or_else(|| panic!("no node {name}"))
}

/// A forest grid of 3 depths x 2 leaf sizes x 2 criteria (one trial pruned), scored so that
/// depth matters most.
fn study() -> StudyView {
    let mut trials = Vec::new();
    for (d, depth) in [2i64, 6, 12].into_iter().enumerate() {
        for (l, leaf) in [1i64, 5].into_iter().enumerate() {
            for criterion in ["gini", "entropy"] {
                let mean =
                    0.74 + 0.03 * d as f64 + 0.005 * l as f64 + if criterion == "gini" { 0.002 } else { 0.0 };
                trials.push(TrialView {
                    name: format!(
                        "forest #{} (max_depth={depth}, min_samples_leaf={leaf}, criterion={criterion})",
                        trials.len()
                    ),
                    params: vec![
                        Some(ParamValue::Int(depth)),
                        Some(ParamValue::Int(leaf)),
                        Some(ParamValue::Text(criterion.into())),
                    ],
                    mean,
                    std: 0.012,
                    rank: 0,
                    pruned: false,
                });
            }
        }
    }
    trials[1].mean = f64::NAN;
    trials[1].pruned = true;
    let means: Vec<f64> = trials.iter().map(|t| t.mean).collect();
    for t in &mut trials {
        t.rank = 1 + means.iter().filter(|m| **m > t.mean).count() as u32;
        if t.mean.is_nan() {
            t.rank = means.len() as u32;
        }
    }
    StudyView {
        name: "rank_forest".into(),
        metric: "roc_auc".into(),
        higher_is_better: true,
        params: vec!["max_depth".into(), "min_samples_leaf".into(), "criterion".into()],
        trials,
        importance: vec![
            ("max_depth".into(), 0.96),
            ("min_samples_leaf".into(), 0.03),
            ("criterion".into(), 0.01),
        ],
    }
}

pub fn realistic() -> RunView {
    let failed_error = "kernel matrix is not positive definite at row 3 & column 4 (<NaN>)\n  \
                        caused by: gamma = \"auto\" gave 'inf'";
    let nodes = vec![
        NodeView::param("path"),
        NodeView::step("ingest", "ran", 0.0, 3.2),
        NodeView::step("validate", "cached", 3.3, 0.05),
        NodeView::param("seed"),
        NodeView::step("split", "ran", 3.4, 1.6),
        NodeView::param("features"),
        NodeView::step("engineer", "ran", 5.1, 3.9),
        NodeView::step("train_tree", "ran", 9.1, 4.9),
        NodeView::param("trees"),
        NodeView { attempts: 2, ..NodeView::step("train_forest", "ran", 9.1, 30.4) },
        NodeView { miss_reason: None, ..NodeView::step("train_logistic", "cached", 9.2, 0.1) },
        NodeView {
            attempts: 3,
            error: Some(failed_error.into()),
            miss_reason: Some("code changed".into()),
            ..NodeView::step("train_svm", "failed", 14.1, 8.2)
        },
        NodeView::step("evaluate_tree", "ran", 14.2, 0.8),
        NodeView::step("evaluate_forest", "ran", 39.6, 1.2),
        NodeView {
            miss_reason: Some("input train_logistic changed".into()),
            ..NodeView::step("evaluate_logistic", "ran", 9.4, 0.7)
        },
        NodeView { attempts: 0, ..NodeView::step(EVIL, "skipped", 0.0, 0.0) },
        NodeView { attempts: 0, ..NodeView::step("select_champion", "skipped", 0.0, 0.0) },
        NodeView { attempts: 0, ..NodeView::step("package", "skipped", 0.0, 0.0) },
    ];
    let pairs = [
        ("path", "ingest"),
        ("ingest", "validate"),
        ("validate", "split"),
        ("seed", "split"),
        ("split", "engineer"),
        ("features", "engineer"),
        ("engineer", "train_tree"),
        ("engineer", "train_forest"),
        ("trees", "train_forest"),
        ("engineer", "train_logistic"),
        ("engineer", "train_svm"),
        ("train_tree", "evaluate_tree"),
        ("split", "evaluate_tree"),
        ("train_forest", "evaluate_forest"),
        ("split", "evaluate_forest"),
        ("train_logistic", "evaluate_logistic"),
        ("split", "evaluate_logistic"),
        ("train_svm", EVIL),
        ("split", EVIL),
        ("evaluate_tree", "select_champion"),
        ("evaluate_forest", "select_champion"),
        ("evaluate_logistic", "select_champion"),
        (EVIL, "select_champion"),
        ("select_champion", "package"),
        ("engineer", "package"),
    ];
    let edges = pairs.iter().map(|(a, b)| (at(&nodes, a), at(&nodes, b))).collect();

    let classifiers = vec![
        classifier("decision tree", 1, 0.35),
        classifier("random forest", 2, 0.55),
        classifier("logistic regression", 3, 0.62),
    ];
    let mut metrics = Vec::new();
    for (step, c) in ["evaluate_tree", "evaluate_forest", "evaluate_logistic"].iter().zip(&classifiers) {
        let [[tn, fp], [fn_, tp]] = c.confusion.map(|r| r.map(|v| v as f64));
        let precision = tp / (tp + fp);
        let recall = tp / (tp + fn_);
        metrics.push(MetricView::scalar(*step, "accuracy", (tp + tn) / (tp + tn + fp + fn_)));
        metrics.push(MetricView::scalar(*step, "precision", precision));
        metrics.push(MetricView::scalar(*step, "recall", recall));
        metrics.push(MetricView::scalar(*step, "f1", 2.0 * precision * recall / (precision + recall)));
        metrics.push(MetricView::scalar(*step, "roc_auc", c.auc));
    }
    for i in 1..=10 {
        metrics.push(MetricView::series(
            "train_forest",
            "oob_error",
            i * 10,
            0.32 - 0.1 * (1.0 - (-(i as f64) / 3.0).exp()),
        ));
    }
    for fold in 0..5 {
        metrics.push(MetricView::series(
            "train_logistic",
            "cv_accuracy",
            fold,
            0.79 + 0.013 * ((fold * 7 % 5) as f64),
        ));
    }

    RunView {
        run_id: "a83e3110979f".into(),
        pipeline: "titanic".into(),
        status: "failed".into(),
        started_ms: 1_714_567_890_123,
        duration_ms: 42.3,
        nodes,
        edges,
        params: vec![
            ("path".into(), "examples/data/titanic/train.csv (3b9d093535bd)".into()),
            ("seed".into(), "0".into()),
            ("features".into(), "FeatureConfig { age_bins: 5, fare_bins: 4 } (5e1f0c2a9b7d)".into()),
            ("trees".into(), "100".into()),
        ],
        metrics,
        classifiers,
        studies: vec![study()],
        environment: vec![
            ("mlflow".into(), "0.1.0".into()),
            ("crate".into(), "titanic 0.1.0".into()),
            ("rustc".into(), "1.95.0".into()),
            ("os".into(), "linux x86_64".into()),
            ("host".into(), "builder-7".into()),
            ("git commit".into(), "750c89a (dirty)".into()),
        ],
    }
}

/// A monitoring pass of six hourly windows of a Titanic-like model: the age and class drift from
/// the fourth window on, labels come back for the first three (realized) and too few for the
/// rest (estimated); one feature's name would run a script if it were not escaped.
pub fn monitoring() -> mlflow::report::MonitoringView {
    use mlflow::report::{ColumnView, MonitoringView, WindowView};
    let names = ["Pclass", "Sex", "Age", "Fare", EVIL, "P(1)"];
    let windows = (0..6)
        .map(|i| {
            let shifted = i >= 3;
            let columns = names
                .iter()
                .map(|name| {
                    let drifts = shifted && matches!(*name, "Pclass" | "Age" | "P(1)");
                    let p = if drifts { 1e-6 * (i as f64 + 1.0) } else { 0.2 + 0.1 * i as f64 };
                    ColumnView {
                        name: (*name).into(),
                        test: if *name == "Sex" { "z_test".into() } else { "ks".into() },
                        statistic: Some(if drifts { 0.31 } else { 0.04 }),
                        p_value: Some(p),
                        drifted: drifts,
                        nulls: if *name == "Age" { 20 } else { 0 },
                    }
                })
                .collect::<Vec<_>>();
            let drifted = columns.iter().filter(|c| c.drifted && c.name != "P(1)").count();
            WindowView {
                label: format!("version 1 (champion), 2026-12-07 0{i}:00 .. 0{}:00", i + 1),
                rows: 1000 + 10 * i as u64,
                dataset_share: Some(drifted as f64 / 5.0),
                dataset_drifted: drifted as f64 / 5.0 >= 0.4,
                columns,
                performance: vec![
                    ("accuracy".into(), 0.82 - 0.04 * i as f64),
                    ("f1".into(), 0.74 - 0.05 * i as f64),
                ],
                performance_estimated: i >= 3,
                labeled: Some(if i < 3 { 300 } else { 12 }),
                requests_per_second: Some(0.28),
                latency_p99_ms: Some(0.45 + 0.01 * i as f64),
                errors: Some(i as u64),
                error_rate: Some(i as f64 / (1000.0 + 10.0 * i as f64)),
            }
        })
        .collect();
    MonitoringView {
        model: "titanic".into(),
        subtitle: "windows of 1 h; champion; drift share threshold 0.4".into(),
        windows,
        notes: vec!["2 log segments are of format 1, written before failed requests were logged".into()],
    }
}
