//! The web UI's runs page over 10,000 runs: the server-side render of its first page (counting
//! the matches, reading one page of runs with their metrics and params, writing the HTML), as
//! it is sent by `GET /`, sorted by start, by a metric and by a param, and filtered. And the
//! studies page over the 10,000 studies those runs logged (each run's 20 trial scores): its
//! first page and its 100th.
//!
//! `cargo bench -p mlflow-serve --features ui --bench ui`. The store is populated once, before
//! the measurements, by running a one-step pipeline 10,000 times (the time it takes is
//! printed). Set `MLFLOW_BENCH_RUNS` to use fewer runs, and `MLFLOW_BENCH_STORE` to a directory
//! to keep the populated store between invocations (it is filled up to the wanted number of
//! runs).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use mlflow_core::prelude::*;
use mlflow_core::track::query::RunFilter;
use mlflow_core::track::{log_metric, log_metric_at};
use mlflow_serve::ui::{Ui, UiConfig};

const PIPELINE: &str = "bench-ui";
const METRICS: [&str; 5] = ["auc", "accuracy", "log_loss", "f1", "recall"];

/// Trials of each run's study, whose scores it logs as a study does (`cv.<metric>`).
const TRIALS: u64 = 20;

/// Five single-value metrics from the seed, and a study's trial scores.
#[mlflow_macros::step(crate = mlflow_core, cache = false)]
fn evaluate(seed: &u64, fold: &u64) -> mlflow_core::Result<u64> {
    for (i, name) in METRICS.iter().enumerate() {
        log_metric(name, ((seed.wrapping_mul(2_654_435_761) >> i) % 1000) as f64 / 1000.0)?;
    }
    for trial in 0..TRIALS {
        log_metric_at(
            "cv.roc_auc",
            trial,
            ((seed ^ trial).wrapping_mul(2_654_435_761) % 1000) as f64 / 1000.0,
        )?;
    }
    Ok(seed + fold)
}

fn populated(runs: usize) -> (Option<tempfile::TempDir>, Store) {
    let (dir, store) = match std::env::var_os("MLFLOW_BENCH_STORE") {
        Some(path) => (None, Store::open(path).unwrap()),
        None => {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open(dir.path()).unwrap();
            (Some(dir), store)
        }
    };
    let have = store.count_runs(&RunFilter::new().pipeline(PIPELINE)).unwrap();
    if have < runs {
        let start = Instant::now();
        for seed in have..runs {
            let mut p = Pipeline::new(PIPELINE);
            let s = p.param("seed", seed as u64);
            let f = p.param("fold", seed as u64 % 10);
            p.step(EvaluateStep, (s, f));
            assert!(p.run(&store).unwrap().is_success());
        }
        println!("populated {} runs in {:.1} s", runs - have, start.elapsed().as_secs_f64());
    }
    (dir, store)
}

fn runs_page(c: &mut Criterion) {
    let runs = std::env::var("MLFLOW_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let (_dir, store) = populated(runs);
    let ui = Ui::new(store, UiConfig::default());
    let cases = [
        ("first_page", ""),
        ("sort_metric", "sort=metric.auc"),
        ("sort_param", "sort=param.seed&order=asc"),
        ("filter_param_sort_metric", "where=param.fold%3D3+and+auc%3E%3D0.5&sort=f1"),
    ];
    for (name, query) in cases {
        let page = ui.handle("GET", "/", query, b"");
        assert_eq!(page.status, 200, "{name}: {}", page.body);
        assert!(page.body.contains("showing 1 to 50"), "{name}");
    }
    let mut group = c.benchmark_group(format!("ui_runs_page_{runs}"));
    group.sample_size(20).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(5));
    for (name, query) in cases {
        group.bench_function(name, |b| b.iter(|| black_box(ui.handle("GET", "/", black_box(query), b""))));
    }
    for (name, query) in [("studies_first_page", ""), ("studies_page_100", "page=100")] {
        let page = ui.handle("GET", "/studies", query, b"");
        assert_eq!(page.status, 200, "{name}: {}", page.body);
        assert!(
            page.body.contains(" to ") && page.body.contains("/studies/evaluate"),
            "{name}: {}",
            page.body
        );
        group.bench_function(name, |b| {
            b.iter(|| black_box(ui.handle("GET", "/studies", black_box(query), b"")))
        });
    }
    group.finish();
}

criterion_group!(benches, runs_page);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
