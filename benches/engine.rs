//! Engine benchmarks: per-step overhead (uncached and all hits) on a 100-step chain, fan-out
//! speedup, codec throughput on a 100 MB ndarray, and a whole-process run of the chain.
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

criterion_group!(benches, chain_overhead, fan_out, codec, whole_process);

fn main() {
    if let Ok(path) = std::env::var(CHILD_VAR) {
        child(&path);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
