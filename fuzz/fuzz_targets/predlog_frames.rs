//! The prediction log reader over arbitrary segment bytes, written as a segment file in a
//! temporary folder. The first byte picks the mode:
//! - 0: the rest is the segment file as is;
//! - 1: the rest is a list of payloads (`u16` length, bytes), framed with the right lengths and
//!   checksums after a valid header, so that the fuzzer reaches the entry decoders (the first
//!   byte of a payload picks a prediction, raw rows or a failed request);
//! - 2: as 1, then the log is opened for writing and one record appended: every record read
//!   before must still be read, in order, followed by the new one.
//!
//! Mode 2 then re-reads the folder, so every mode also runs `PredictionLog::read`.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mlflow_core::codec;
use mlflow_serve::{LogOptions, LogReader, PredictionLog, PredictionRecord, Role};

static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();

fn dir() -> PathBuf {
    let dir = DIR.get_or_init(|| {
        let shm = std::path::Path::new("/dev/shm");
        if shm.is_dir() { tempfile::tempdir_in(shm) } else { tempfile::tempdir() }.expect("temp dir")
    });
    dir.path().join("log")
}

fn framed(mut rest: &[u8]) -> Vec<u8> {
    let mut segment = mlflow_fuzz::segment_header();
    while rest.len() >= 2 {
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        mlflow_fuzz::push_frame(&mut segment, &rest[2..2 + len]);
        rest = &rest[2 + len..];
    }
    segment
}

fn encoded(records: &[PredictionRecord]) -> Vec<Vec<u8>> {
    records.iter().map(|r| codec::encode(r).expect("encode")).collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let dir = dir();
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("log folder");
    let segment = dir.join("predictions-000001.mlog");
    let bytes = if mode % 3 == 0 { rest.to_vec() } else { framed(rest) };
    std::fs::write(&segment, &bytes).expect("write segment");

    let mut reader = LogReader::new([segment.clone()]);
    let mut before = Vec::new();
    let mut failed = false;
    for item in reader.by_ref() {
        match item {
            Ok(record) => before.push(record),
            Err(e) => {
                assert!(!e.to_string().is_empty());
                failed = true;
            }
        }
    }
    assert!(reader.segments() <= 1);
    // Every entry, raw rows and failed requests too: never a panic, the same predictions.
    let predictions = LogReader::new([segment.clone()])
        .entries()
        .filter(|e| matches!(e, Ok(mlflow_serve::LogEntry::Prediction(_))))
        .count();
    assert_eq!(predictions, before.len());
    if mode % 3 != 2 {
        return;
    }
    assert!(!failed, "a framed segment has a valid header");
    let log = PredictionLog::open(&dir, LogOptions::default()).expect("open the log");
    let record = PredictionRecord {
        request_id: "fuzz".into(),
        row: 0,
        time_ms: 1,
        model: "m".into(),
        version: 1,
        role: Role::Champion,
        inputs: vec![1.0, f64::NAN],
        label: 1,
        probability: 0.5,
        latency_us: 2,
    };
    log.append(std::slice::from_ref(&record)).expect("append");
    drop(log);
    let after = PredictionLog::read(&dir).expect("read the log");
    let mut want = encoded(&before);
    want.push(codec::encode(&record).expect("encode"));
    assert_eq!(encoded(&after.records), want, "records read before the append are all still there");
});
