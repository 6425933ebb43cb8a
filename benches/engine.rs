//! Engine benchmarks: per-step overhead (uncached and all hits) on a 100-step chain, per-task
//! overhead of `map` over 10,000 elements, fan-out speedup, codec throughput on a 100 MB ndarray, and a whole-process run of the chain.
//!
//! `cargo bench --bench engine`. The whole-process case re-executes this binary with
//! `MLFLOW_BENCH_CHILD` set, which runs the chain against a store and exits.

use std::hint::black_box;
use std::process::Command;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use mlflow::exec::RunOptions;
use mlflow::prelude::*;
use ndarray::Array1;

const CHAIN: usize = 100;
const CHILD_VAR: &str = "MLFLOW_BENCH_CHILD";

#[step(cache = false)]
fn bump(x: &u64) -> u64 {
    x + 1
}

#[step]
fn bump_cached(x: &u64) -> u64 {
    x + 1
}

/// About 10 ms of arithmetic that the optimizer cannot remove.
#[step(cache = false)]
fn burn(seed: &u64) -> u64 {
    let mut x = *seed | 1;
    for _ in 0..12_000_000u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    x
}

#[step(cache = false)]
fn bump_element(x: &u64) -> u64 {
    x + 1
}

#[step]
fn bump_element_cached(x: &u64) -> u64 {
    x + 1
}

const MAPPED: u64 = 10_000;

fn mapped<S: Step<Inputs = (u64,), Output = u64>>(step: S, xs: Vec<u64>) -> (Pipeline, Node<Vec<u64>>) {
    let mut p = Pipeline::new("bench-map");
    let xs = p.param("xs", xs);
    let out = p.map(step, xs);
    (p, out)
}

/// Per-task overhead of `map` over 10,000 trivial elements: uncached (the step's caching off), the
/// first run of a cached step (every task written to the store), a rerun (the mapped step hits as
/// a whole), and a run whose list changed order (every task hits on its own, and the new whole is
/// stored).
fn map_overhead(c: &mut Criterion) {
    let mut group = c.benchmark_group("map10k");
    group.throughput(Throughput::Elements(MAPPED));
    group.sample_size(10);
    let (_dir, store) = fresh_store();
    let forward: Vec<u64> = (0..MAPPED).collect();
    let (p, out) = mapped(BumpElementStep, forward.clone());
    group.bench_function("uncached", |b| {
        b.iter(|| {
            let report = p.run(&store).unwrap();
            assert_eq!(report.get(out).unwrap().len(), MAPPED as usize);
        })
    });
    group.bench_function("first_run_stored", |b| {
        b.iter_batched(
            fresh_store,
            |(_dir, store)| {
                let (p, out) = mapped(BumpElementCachedStep, forward.clone());
                let report = p.run(&store).unwrap();
                assert_eq!(report.get(out).unwrap().len(), MAPPED as usize);
            },
            criterion::BatchSize::PerIteration,
        )
    });
    let (p, out) = mapped(BumpElementCachedStep, forward.clone());
    p.run(&store).unwrap();
    group.bench_function("rerun_whole_hit", |b| {
        b.iter(|| {
            let report = p.run(&store).unwrap();
            assert_eq!(report.count(StepStatus::Cached), 1);
            black_box(report.get(out).unwrap());
        })
    });
    let mut rotation = 0;
    group.bench_function("every_task_hits", |b| {
        b.iter(|| {
            // A rotation not run before: the list is new, each of its elements is not.
            rotation += 1;
            let mut xs = forward.clone();
            xs.rotate_left(rotation % MAPPED as usize);
            let (p, out) = mapped(BumpElementCachedStep, xs);
            let report = p.run(&store).unwrap();
            let tasks = report.steps()[0].tasks.clone().unwrap();
            assert_eq!(tasks.cached, MAPPED as usize);
            black_box(report.get(out).unwrap());
        })
    });
    group.finish();
}

fn chain<S: Step<Inputs = (u64,), Output = u64> + Copy>(step: S) -> (Pipeline, Node<u64>) {
    let mut p = Pipeline::new("bench-chain");
    let mut node = p.param("x", 0u64);
    for _ in 0..CHAIN {
        node = p.step(step, node);
    }
    (p, node)
}

fn fresh_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    (dir, store)
}

fn chain_overhead(c: &mut Criterion) {
    let mut group = c.benchmark_group("chain100");
    group.throughput(Throughput::Elements(CHAIN as u64));
    let (_dir, store) = fresh_store();
    let (p, last) = chain(BumpStep);
    group.bench_function("uncached", |b| {
        b.iter(|| {
            let report = p.run(&store).unwrap();
            assert_eq!(*report.get(last).unwrap(), CHAIN as u64);
        })
    });
    let (p, last) = chain(BumpCachedStep);
    p.run(&store).unwrap();
    group.bench_function("all_hits", |b| {
        b.iter(|| {
            let report = p.run(&store).unwrap();
            assert_eq!(report.count(StepStatus::Cached), CHAIN);
            black_box(report.get(last).unwrap());
        })
    });
    group.finish();
}

fn fan_out(c: &mut Criterion) {
    let mut group = c.benchmark_group("fanout8");
    group.sample_size(10).measurement_time(Duration::from_secs(8));
    let (_dir, store) = fresh_store();
    let mut p = Pipeline::new("bench-fanout");
    for i in 0..8u64 {
        let seed = p.param(format!("seed{i}"), i);
        p.step(BurnStep, seed);
    }
    for threads in [1, 2] {
        group.bench_with_input(BenchmarkId::new("threads", threads), &threads, |b, &threads| {
            b.iter(|| p.run_with(&store, RunOptions::new().threads(threads)).unwrap())
        });
    }
    group.finish();
}

fn codec(c: &mut Criterion) {
    let array: Array1<f64> = Array1::from_iter((0..12_500_000).map(|i| i as f64 * 0.5));
    let bytes = mlflow::codec::encode(&array).unwrap();
    let mut group = c.benchmark_group("codec_100MB_ndarray");
    group.sample_size(10).throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("encode_and_hash", |b| {
        b.iter(|| {
            let bytes = mlflow::codec::encode(black_box(&array)).unwrap();
            black_box(mlflow::codec::hash_bytes(&bytes))
        })
    });
    group.bench_function("decode", |b| {
        b.iter(|| black_box(mlflow::codec::decode::<Array1<f64>>(&bytes, u64::MAX).unwrap()))
    });
    group.finish();
}

fn whole_process(c: &mut Criterion) {
    let exe = std::env::current_exe().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut group = c.benchmark_group("process_chain100");
    group.sample_size(20);
    for (name, cached) in [("uncached", "0"), ("all_hits", "1")] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let status =
                    Command::new(&exe).env(CHILD_VAR, dir.path()).env("MLFLOW_BENCH_CACHED", cached).status();
                assert!(status.unwrap().success());
            })
        });
    }
    group.finish();
}

/// The child process of `whole_process`: open the store, run the chain, exit.
fn child(store_path: &str) {
    let store = Store::open(store_path).unwrap();
    let cached = std::env::var("MLFLOW_BENCH_CACHED").as_deref() == Ok("1");
    let report = if cached { chain(BumpCachedStep).0.run(&store) } else { chain(BumpStep).0.run(&store) };
    assert!(report.unwrap().is_success());
}

criterion_group!(benches, chain_overhead, map_overhead, fan_out, codec, whole_process);

fn main() {
    if let Ok(path) = std::env::var(CHILD_VAR) {
        child(&path);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
