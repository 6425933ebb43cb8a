//! Put and get throughput of one 100 MB artifact: a local store's folder (`LocalArtifacts`, the
//! baseline), `file://` and `memory://` through object_store, and, with the feature `s3` and
//! `MLFLOW_TEST_MOTO` naming a `moto_server` executable, S3 on loopback.
//!
//! ```text
//! cargo bench -p mlflow-object-store --bench throughput
//! MLFLOW_TEST_MOTO=/path/to/moto_server cargo bench -p mlflow-object-store --features s3 --bench throughput
//! ```
//!
//! A put is timed on an absent object (the object is removed, untimed, before each put); a get
//! reads the whole object into memory (the store's hash check on top of it is not timed here).

#[allow(dead_code)]
#[path = "../tests/support/moto.rs"]
mod moto;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use mlflow_core::codec::{ContentHash, hash_bytes};
use mlflow_core::store::{ArtifactStore, Listed, LocalArtifacts};
use mlflow_object_store::ObjectArtifacts;

const SIZE: usize = 100 * 1024 * 1024;

/// 100 MB of bytes that no layer could compress.
fn payload() -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    (0..SIZE / 8)
        .flat_map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()
        })
        .collect()
}

fn remove(store: &dyn ArtifactStore, hash: ContentHash, key: String) {
    store.remove(&Listed { hash: Some(hash), temp: false, size: 0, modified: None, key }).unwrap();
}

fn bench_backend(
    c: &mut Criterion,
    name: &str,
    store: &dyn ArtifactStore,
    key: &dyn Fn(ContentHash) -> String,
    bytes: &[u8],
) {
    let hash = hash_bytes(bytes);
    let mut group = c.benchmark_group(format!("artifact_100MB/{name}"));
    group.sample_size(10).sampling_mode(SamplingMode::Flat).warm_up_time(Duration::from_millis(500));
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("put", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                remove(store, hash, key(hash));
                let start = Instant::now();
                store.put(hash, bytes).unwrap();
                total += start.elapsed();
            }
            total
        })
    });
    store.put(hash, bytes).unwrap();
    group.bench_function("get", |b| b.iter(|| black_box(store.get(hash).unwrap().unwrap().len())));
    group.finish();
    remove(store, hash, key(hash));
}

fn throughput(c: &mut Criterion) {
    let bytes = payload();
    let dir = tempfile::tempdir().unwrap();

    let local = LocalArtifacts::open(dir.path().join("local")).unwrap();
    bench_backend(c, "local_folder", &local, &|h| local.path(h).display().to_string(), &bytes);

    let file = ObjectArtifacts::from_url(&format!("file://{}", dir.path().join("file").display())).unwrap();
    bench_backend(c, "file", &file, &|h| file.object_path(h).to_string(), &bytes);

    let memory = ObjectArtifacts::from_url("memory://bench").unwrap();
    bench_backend(c, "memory", &memory, &|h| memory.object_path(h).to_string(), &bytes);

    s3(c, &bytes);
}

#[cfg(feature = "s3")]
fn s3(c: &mut Criterion, bytes: &[u8]) {
    use std::sync::Arc;

    use mlflow_object_store::object_store::aws::AmazonS3Builder;

    let Some(executable) = moto::Moto::executable() else {
        println!("s3 on loopback: skipped (set {} to a moto_server executable)", moto::MOTO_VAR);
        return;
    };
    let server = moto::Moto::start(&executable);
    server.create_bucket("bench");
    let s3 = AmazonS3Builder::new()
        .with_bucket_name("bench")
        .with_endpoint(&server.endpoint)
        .with_allow_http(true)
        .with_region("us-east-1")
        .with_access_key_id("test")
        .with_secret_access_key("test")
        .build()
        .unwrap();
    let s3 = ObjectArtifacts::new(Arc::new(s3), "artifacts", "s3://bench/artifacts").unwrap();
    bench_backend(c, "s3_moto_loopback", &s3, &|h| s3.object_path(h).to_string(), bytes);
}

#[cfg(not(feature = "s3"))]
fn s3(_: &mut Criterion, _: &[u8]) {
    println!("s3 on loopback: skipped (build with --features s3 and set {})", moto::MOTO_VAR);
}

criterion_group!(benches, throughput);
criterion_main!(benches);
