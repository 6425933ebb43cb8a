//! In-process scoring benchmarks on the Titanic champion (the ROC AUC champion of
//! `examples/titanic/pipeline.rs`: the RBF SVM on standardized features).
//!
//! `cargo bench --bench serve`. Setup runs the whole demo pipeline once into a temporary store
//! whose `package` step outputs the champion as a `ModelPackage`, as a user would.
//!
//! - `score_row`: one demo-passenger row through `Scorer::score_row` (input checks, scaling,
//!   the model). The target is under 20 µs.
//! - `score_named`: the same row given as feature name to value.
//! - `score_batch_100`: 100 hold-out rows (the 178 hold-out rows, first 100) through
//!   `Scorer::score_batch`.
//! - `load_package`: reading a package from bytes, including the hash check and the self-test.
//!
//! Group `prediction_log` (`cargo bench --bench serve -- prediction_log`): appending to a
//! `PredictionLog` in a temporary folder with `Durability::Process` (64 MiB segments, 4 kept):
//! each record is encoded with bincode into a CRC-32-checked binary frame (about 180 bytes).
//!
//! - `append_1`: one record (13 inputs) per append, from one thread.
//! - `append_1_two_threads`: the same from two threads at once; the time is per append, so its
//!   inverse is the log's throughput under contention.
//! - `append_batch_100`: one append of 100 records (a batch request).
//! - `batch/score_csv_100k` (`bench_batch_scoring`): a ~100k-row raw CSV (the rows of
//!   `test.csv` repeated, 100,320 rows, in memory) streamed through `serve::score_csv` with the
//!   packaged champion: CSV parsing, the feature transformers, the model and the CSV output.
//!   Criterion reports rows/s as its throughput. `cargo bench --bench serve -- batch`.
//! - `batch/score_parquet_100k`: the same rows as a Parquet file (typed as `read_csv` types
//!   them, snappy, row groups of 8192 rows, in memory) through `serve::score_parquet`, with CSV
//!   output: Parquet decoding in place of CSV parsing, the rest the same.

//!
//! Group `protocols` (with the `server` feature: `cargo bench --features server --bench serve --
//! protocols`): the same Titanic rows through the HTTP server on 127.0.0.1, one keep-alive
//! connection, no prediction log, answers read whole: KServe V1 (`instances` as lists) against
//! the Open Inference Protocol (V2, one FP64 tensor per feature, and one `[N, 13]` matrix), for
//! 1 and 100 rows. The scoring path after parsing is shared, so the differences are the wire
//! formats.

#[path = "../tests/support/titanic.rs"]
mod titanic;

#[cfg(feature = "server")]
#[path = "../tests/support/http.rs"]
mod http;

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mlflow::data::{CsvOptions, DataFile, ParquetFile, ParquetWriter, parse_csv};
use mlflow::eval::Metric;
use mlflow::prelude::*;
use mlflow::serve::{
    BatchOptions, Durability, LogOptions, ModelPackage, PredictionLog, PredictionRecord, Role, Scorer,
    score_csv, score_parquet,
};

const DEMO: [f64; 13] = [3.0, 0.0, 4.0, 1.0, 2.0, 3.0, 0.0, 1.0, 0.0, 8.0, 3.0, 6.0, 2.0];

fn scoring(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path().join("store")).expect("store");
    let file = DataFile::open(titanic::path("train.csv")).expect("train.csv");
    let (pipeline, nodes) = titanic::pipeline::build(file, Metric::RocAuc);
    let report = pipeline.run(&store).expect("pipeline run");
    let package = report.get(nodes.package).expect("champion").clone();
    let data = report.get(nodes.prepared).expect("prepared features");
    let bytes = package.to_bytes().expect("package bytes");
    let scorer = Scorer::new(package);
    let batch = data.test.x.slice(ndarray::s![..100, ..]).to_owned();
    let named: BTreeMap<String, f64> = data.train.names.iter().cloned().zip(DEMO).collect();

    let mut group = c.benchmark_group("serve");
    group.bench_function("score_row", |b| b.iter(|| scorer.score_row(black_box(&DEMO)).unwrap()));
    group.bench_function("score_named", |b| b.iter(|| scorer.score_named(black_box(&named)).unwrap()));
    group.bench_function("score_batch_100", |b| {
        b.iter(|| scorer.score_batch(black_box(batch.view())).unwrap())
    });
    group.bench_function("load_package", |b| b.iter(|| ModelPackage::from_bytes(black_box(&bytes)).unwrap()));
    group.finish();
}

// ---------------------------------------------------------------------------------------------
// The prediction log.
// ---------------------------------------------------------------------------------------------

/// The record a server logs for one scored row of the demo passenger.
fn prediction(i: u64) -> PredictionRecord {
    PredictionRecord {
        request_id: format!("0190f2a4-7c1e-7d3a-9b2f-{i:012x}"),
        row: 0,
        time_ms: 1_732_000_000_000 + i as i64,
        model: "titanic".to_owned(),
        version: 3,
        role: Role::Champion,
        inputs: DEMO.to_vec(),
        label: 0,
        probability: 0.123_456_789_012_345_6,
        latency_us: 17,
    }
}

fn bench_prediction_log(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let options = LogOptions::default().max_segments(4).durability(Durability::Process);
    let log = Arc::new(PredictionLog::open(dir.path(), options).expect("prediction log"));
    let one = [prediction(1)];
    let batch: Vec<_> = (0..100).map(prediction).collect();

    let mut group = c.benchmark_group("prediction_log");
    group.bench_function("append_1", |b| b.iter(|| log.append(black_box(&one)).unwrap()));
    group.bench_function("append_1_two_threads", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            let threads: Vec<_> = (0..2)
                .map(|_| {
                    let log = Arc::clone(&log);
                    let one = one.clone();
                    std::thread::spawn(move || {
                        for _ in 0..iters.div_ceil(2) {
                            log.append(black_box(&one)).unwrap();
                        }
                    })
                })
                .collect();
            for thread in threads {
                thread.join().unwrap();
            }
            let elapsed = start.elapsed();
            // Per append: both threads together did 2 * ceil(iters / 2).
            elapsed.mul_f64(iters as f64 / (2 * iters.div_ceil(2)) as f64)
        })
    });
    group.throughput(criterion::Throughput::Elements(100));
    group.bench_function("append_batch_100", |b| b.iter(|| log.append(black_box(&batch)).unwrap()));
    group.finish();
}

/// Rows of `test.csv` repeated to ~100k rows.
const BATCH_REPEATS: usize = 240;

fn bench_batch_scoring(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path().join("store")).expect("store");
    let file = DataFile::open(titanic::path("train.csv")).expect("train.csv");
    let (pipeline, nodes) = titanic::pipeline::build(file, Metric::RocAuc);
    let report = pipeline.run(&store).expect("pipeline run");
    let scorer = Scorer::new(report.get(nodes.package).expect("champion").clone());
    let test = std::fs::read_to_string(titanic::path("test.csv")).expect("test.csv");
    let (header, rows) = test.split_once('\n').expect("a header");
    let rows = rows.trim_end();
    let mut csv = String::with_capacity(header.len() + (rows.len() + 1) * BATCH_REPEATS);
    csv.push_str(header);
    csv.push('\n');
    for _ in 0..BATCH_REPEATS {
        csv.push_str(rows);
        csv.push('\n');
    }
    let n = (rows.lines().count() * BATCH_REPEATS) as u64;
    let options = BatchOptions::new();
    let summary = score_csv(&scorer, csv.as_bytes(), "bench.csv", std::io::sink(), &options).expect("scores");
    assert_eq!(summary.rows, n);

    let mut group = c.benchmark_group("batch");
    group.sample_size(10).throughput(Throughput::Elements(n));
    group.bench_function("score_csv_100k", |b| {
        b.iter(|| {
            score_csv(&scorer, black_box(csv.as_bytes()), "bench.csv", std::io::sink(), &options).unwrap()
        })
    });

    let table = parse_csv(csv.as_bytes(), "bench.csv", &CsvOptions::default()).expect("parses");
    let mut writer = ParquetWriter::new(Vec::new(), &table.schema(), "bench.parquet").expect("writer");
    let all: Vec<usize> = (0..table.rows()).collect();
    for part in all.chunks(8192) {
        writer.write(&table.take(part)).expect("writes");
    }
    let parquet = writer.finish().expect("finishes");
    let file = ParquetFile::from_bytes(parquet, "bench.parquet").expect("a Parquet file");
    let summary = score_parquet(&scorer, &file, std::io::sink(), &options).expect("scores");
    assert_eq!(summary.rows, n);
    group.bench_function("score_parquet_100k", |b| {
        b.iter(|| score_parquet(&scorer, black_box(&file), std::io::sink(), &options).unwrap())
    });
    group.finish();
}

#[cfg(feature = "server")]
fn bench_protocols(c: &mut Criterion) {
    use mlflow::serve::server::{ModelSpec, Server, ServerConfig};
    let (_dir, store) = titanic::temp_store();
    let (report, nodes, _) = titanic::register_demo(&store);
    let data = report.get(nodes.prepared).expect("prepared features");
    let names = data.train.names.clone();
    let config = ServerConfig::new("127.0.0.1:0".parse().unwrap())
        .model(ModelSpec::new("titanic"))
        .prediction_log(None)
        .worker_threads(1);
    let server = Server::start(store, config).expect("server starts");
    let mut client = http::Client::connect(server.local_addr()).expect("connect");
    let mut group = c.benchmark_group("protocols");
    for n in [1, 100] {
        let rows: Vec<Vec<f64>> = data.test.x.rows().into_iter().take(n).map(|r| r.to_vec()).collect();
        let v1 = serde_json::json!({ "instances": rows }).to_string();
        let inputs: Vec<serde_json::Value> = names
            .iter()
            .enumerate()
            .map(|(j, name)| {
                let column: Vec<f64> = rows.iter().map(|r| r[j]).collect();
                serde_json::json!({ "name": name, "shape": [n], "datatype": "FP64", "data": column })
            })
            .collect();
        let v2 = serde_json::json!({ "inputs": inputs, "outputs": [{ "name": "label" }] }).to_string();
        let flat: Vec<f64> = rows.iter().flatten().copied().collect();
        let matrix = serde_json::json!({
            "inputs": [{ "name": "x", "shape": [n, names.len()], "datatype": "FP64", "data": flat }],
            "outputs": [{ "name": "label" }],
        })
        .to_string();
        for (name, path, body) in [
            ("v1", "/v1/models/titanic:predict", &v1),
            ("v2", "/v2/models/titanic/infer", &v2),
            ("v2_matrix", "/v2/models/titanic/infer", &matrix),
        ] {
            assert_eq!(client.post(path, body).expect("answer").status, 200, "{name}");
            group.bench_function(format!("{name}_{n}"), |b| {
                b.iter(|| client.post(path, black_box(body)).expect("answer"))
            });
        }
    }
    group.finish();
    drop(client);
    server.shutdown().expect("shutdown");
}

#[cfg(not(feature = "server"))]
fn bench_protocols(_: &mut Criterion) {}

criterion_group!(benches, scoring, bench_prediction_log, bench_batch_scoring, bench_protocols);
criterion_main!(benches);
