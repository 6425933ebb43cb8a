//! Tracking queries at scale: 10,000 runs with 20 single-value metrics each are listed, filtered
//! and sorted with [`Store::runs`].
//!
//! `cargo bench --bench tracking`. The store is populated once, before the measurements, by
//! running a one-step pipeline 10,000 times (the time it takes is printed). Set
//! `MLFLOW_BENCH_RUNS` to use fewer runs, and `MLFLOW_BENCH_STORE` to a directory to keep the
//! populated store between invocations (it is filled up to the wanted number of runs).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use mlflow::prelude::*;
use mlflow::track::log_metric;
use mlflow::track::query::{Compare, RunFilter};

const PIPELINE: &str = "bench-tracking";
const METRICS: usize = 20;
const METRIC_NAMES: [&str; METRICS] = [
    "m00", "m01", "m02", "m03", "m04", "m05", "m06", "m07", "m08", "m09", "m10", "m11", "m12", "m13", "m14",
    "m15", "m16", "m17", "m18", "m19",
];
/// Runs of one fold: the param filter keeps one run in `FOLDS`.
const FOLDS: u64 = 10;

/// A deterministic value in [0, 1) for (seed, metric).
fn uniform(seed: u64, metric: usize) -> f64 {
    let mut z =
        seed.wrapping_mul(METRICS as u64).wrapping_add(metric as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// Logs 20 single-value metrics, `m00` … `m19`, each uniform in [0, 1).
#[step(cache = false)]
fn evaluate(seed: &u64, fold: &u64) -> mlflow::Result<u64> {
    for (i, name) in METRIC_NAMES.iter().enumerate() {
        log_metric(name, uniform(*seed, i))?;
    }
    Ok(seed + fold)
}

fn run_once(store: &Store, seed: u64) {
    let mut p = Pipeline::new(PIPELINE);
    let s = p.param("seed", seed);
    let f = p.param("fold", seed % FOLDS);
    p.step(EvaluateStep, (s, f));
    assert!(p.run(store).unwrap().is_success());
}

fn wanted_runs() -> usize {
    std::env::var("MLFLOW_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000)
}

/// The store with `runs` runs of the pipeline, and where it lives.
fn populated(runs: usize) -> (Option<tempfile::TempDir>, Store) {
    let (dir, store) = match std::env::var_os("MLFLOW_BENCH_STORE") {
        Some(path) => (None, Store::open(path).unwrap()),
        None => {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open(dir.path()).unwrap();
            (Some(dir), store)
        }
    };
    let have = store.runs(&RunFilter::new().pipeline(PIPELINE)).unwrap().len();
    if have < runs {
        let start = Instant::now();
        for seed in have..runs {
            run_once(&store, seed as u64);
        }
        let took = start.elapsed();
        let added = runs - have;
        println!(
            "populated {added} runs x {METRICS} metrics in {:.1} s ({:.2} ms per run)",
            took.as_secs_f64(),
            took.as_secs_f64() * 1e3 / added as f64
        );
    }
    (dir, store)
}

fn queries(c: &mut Criterion) {
    let runs = wanted_runs();
    let (_dir, store) = populated(runs);
    let all = RunFilter::new().pipeline(PIPELINE);
    let threshold = all.clone().metric("m00", Compare::Ge, 0.9);
    let top = all.clone().sort_by("m01", true).limit(20);
    let combined = threshold.clone().sort_by("evaluate.m01", true).limit(20);
    let fold = all.clone().param("fold", "3");

    // What each case returns, so that a fast wrong answer does not pass for a fast query.
    let count = |f: &RunFilter| store.runs(f).unwrap().len();
    assert_eq!(count(&all), runs);
    let kept = count(&threshold);
    assert!((runs / 20..=runs / 5).contains(&kept) || runs < 100, "{kept} of {runs} above 0.9");
    let best = store.runs(&top).unwrap();
    assert_eq!(best.len(), 20.min(runs));
    assert!(best.windows(2).all(|w| w[0].metrics["evaluate.m01"] >= w[1].metrics["evaluate.m01"]));
    assert!(best.iter().all(|r| r.metrics.len() == METRICS));
    let worst = store.runs(&all.clone().sort_by("evaluate.m01", false).limit(20)).unwrap();
    assert!(worst.windows(2).all(|w| w[0].metrics["evaluate.m01"] <= w[1].metrics["evaluate.m01"]));
    assert!(
        worst.last().map(|r| r.metrics["evaluate.m01"]) <= best.last().map(|r| r.metrics["evaluate.m01"])
    );
    let both = store.runs(&combined).unwrap();
    assert!(both.iter().all(|r| r.metrics["evaluate.m00"] >= 0.9));
    assert_eq!(count(&fold), runs / FOLDS as usize);
    println!("{runs} runs; the metric filter keeps {kept}, the param filter {}", count(&fold));

    let mut group = c.benchmark_group(format!("runs{runs}"));
    group.sample_size(10).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(5));
    for (name, filter) in [
        ("list_all", &all),
        ("filter_metric_10pct", &threshold),
        ("sort_metric_top20", &top),
        ("filter_sort_limit", &combined),
        ("filter_param", &fold),
    ] {
        group.bench_function(name, |b| b.iter(|| black_box(store.runs(black_box(filter)).unwrap())));
    }
    group.finish();
}

criterion_group!(benches, queries);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
