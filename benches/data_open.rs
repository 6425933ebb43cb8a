//! Opening a 2 GB data file: the first open hashes every byte, the next ones find the version in
//! the stat cache without reading the file.
//!
//! `cargo bench --bench data_open`. The file is sparse (`set_len`: no disk space, read back as
//! zeros), written once in a temp dir; the benchmark then waits out the stat cache's racy window
//! so that the entry written by the first open is trusted.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group};
use mlflow::data::{DataFile, StatCache};

const SIZE: u64 = 2 << 30;

fn open_2gb(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.bin");
    std::fs::File::create(&path).unwrap().set_len(SIZE).unwrap();
    let written = Instant::now();
    let cache = StatCache::at(dir.path().join("stat-cache"));

    // Every open hashes: the first open of a file (or any open with the cache disabled). One
    // iteration per sample (about a second each).
    let mut group = c.benchmark_group("data_open_2GB");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(15))
        .throughput(Throughput::Bytes(SIZE));
    let disabled = StatCache::disabled();
    group.bench_function("first_open_hash", |b| {
        b.iter(|| black_box(DataFile::open_with(&path, &disabled).unwrap()));
    });
    group.finish();

    // Wait until the file is older than the racy window, then open once to fill the cache.
    let settled = StatCache::RACY_WINDOW + Duration::from_millis(500);
    std::thread::sleep(settled.saturating_sub(written.elapsed()));
    let first = DataFile::open_with(&path, &cache).unwrap();
    assert_eq!(cache.hashed(), 1);
    let mut group = c.benchmark_group("data_open_2GB");
    group.bench_function("second_open_stat_cache_hit", |b| {
        b.iter(|| assert_eq!(DataFile::open_with(&path, &cache).unwrap(), first));
    });
    assert_eq!(cache.hashed(), 1, "every later open was a hit");
    group.finish();
}

criterion_group!(benches, open_2gb);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
