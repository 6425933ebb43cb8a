//! The prediction log: round trips, concurrent appends, rotation by size, torn and damaged
//! frames (never cut on reopen), newer format versions, a process killed with SIGKILL while
//! appending, one writer per folder, and folders that cannot hold a log.

use crate::common;

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mlflow::serve::{
    Durability, LogEntry, LogOptions, LogReader, PredictionLog, PredictionRecord, RawRowsRef, RequestFailure,
    Role, ServeError,
};

/// The folder of the log written by [`child_appends_until_killed`].
const DIR_VAR: &str = "MLFLOW_TEST_PREDICTION_LOG";

/// The demo passenger's 13 engineered features.
const DEMO: [f64; 13] = [3.0, 0.0, 4.0, 1.0, 2.0, 3.0, 0.0, 1.0, 0.0, 8.0, 3.0, 6.0, 2.0];

/// Row `row` of request `request_id`, with values that depend on both.
fn record(request_id: &str, row: u32) -> PredictionRecord {
    let seed = request_id.bytes().map(u64::from).sum::<u64>() + u64::from(row);
    PredictionRecord {
        request_id: request_id.to_owned(),
        row,
        time_ms: 1_700_000_000_000 + seed as i64,
        model: "titanic".to_owned(),
        version: 3,
        role: [Role::Champion, Role::Challenger, Role::Shadow][seed as usize % 3],
        inputs: DEMO.iter().map(|v| v + row as f64 * 0.5).collect(),
        label: (seed % 2) as u32,
        probability: (seed % 1000) as f64 / 1000.0,
        latency_us: seed % 97,
    }
}

/// A request of `rows` rows.
fn request(request_id: &str, rows: u32) -> Vec<PredictionRecord> {
    (0..rows).map(|row| record(request_id, row)).collect()
}

/// The files in `dir` but the writer's `LOCK`, by name.
fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|path| path.file_name().is_some_and(|name| name != "LOCK"))
        .collect();
    files.sort();
    files
}

fn file_name(path: &Path) -> &str {
    path.file_name().unwrap().to_str().unwrap()
}

/// A segment's header: magic and format version.
pub(crate) const HEADER: &[u8; 14] = b"MLFLOWLOG\0\x02\0\0\0";
/// The header of a segment of format 1, whose payloads are predictions without a kind byte.
pub(crate) const HEADER_V1: &[u8; 14] = b"MLFLOWLOG\0\x01\0\0\0";

/// CRC-32 (IEEE, as zlib's), bit by bit: the documented checksum, computed independently.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { 0xEDB8_8320 ^ (crc >> 1) } else { crc >> 1 };
        }
    }
    !crc
}

/// A frame as documented: payload length, CRC-32 of the length bytes and the payload, payload.
pub(crate) fn frame(payload: &[u8]) -> Vec<u8> {
    let len = (payload.len() as u32).to_le_bytes();
    let checksum = crc32(&[&len[..], payload].concat());
    [&len[..], &checksum.to_le_bytes(), payload].concat()
}

/// The frame of one record: its payload is the kind byte of a prediction (0), then the record's
/// bincode encoding.
fn record_frame(record: &PredictionRecord) -> Vec<u8> {
    frame(&[&[0u8][..], &mlflow::codec::encode(record).unwrap()].concat())
}

#[test]
fn records_round_trip_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let log = PredictionLog::open(dir.path().join("titanic"), LogOptions::default()).unwrap();
    let mut expected = Vec::new();
    for i in 0..1000u32 {
        let records = request(&format!("req-{i}"), i % 4 + 1);
        log.append(&records).unwrap();
        expected.extend(records);
    }
    let contents = PredictionLog::read(log.dir()).unwrap();
    assert_eq!((contents.torn, contents.segments), (0, 1));
    assert_eq!(contents.records, expected);
    let files = segment_files(log.dir());
    assert_eq!(files.iter().map(|f| file_name(f)).collect::<Vec<_>>(), ["predictions-000001.mlog"]);
    // Exactly the documented format: the header, then one frame per record.
    let bytes = fs::read(&files[0]).unwrap();
    let documented: Vec<u8> = HEADER.iter().copied().chain(expected.iter().flat_map(record_frame)).collect();
    assert!(bytes == documented, "the segment is the header then one frame per record");
}

#[test]
fn concurrent_appends_never_interleave() {
    const THREADS: usize = 4;
    const REQUESTS: usize = 1500;
    let dir = tempfile::tempdir().unwrap();
    let options = LogOptions::default().max_segment_bytes(256 * 1024);
    let log = Arc::new(PredictionLog::open(dir.path(), options).unwrap());
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for i in 0..REQUESTS {
                    log.append(&request(&format!("t{t}-{i}"), (i % 3 + 1) as u32)).unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let contents = PredictionLog::read(dir.path()).unwrap();
    assert_eq!(contents.torn, 0, "no broken frames");
    assert!(contents.segments > 1, "rotated while appending concurrently");
    let expected_rows: usize = THREADS * (0..REQUESTS).map(|i| i % 3 + 1).sum::<usize>();
    assert_eq!(contents.records.len(), expected_rows);
    // Every record exactly once, unaltered; the rows of one request next to each other, in order;
    // each thread's requests in the order it appended them.
    let mut seen = HashSet::new();
    let mut next_request = HashMap::new();
    let mut records = contents.records.iter().peekable();
    while let Some(first) = records.next() {
        assert_eq!(first.row, 0, "a request starts with its row 0: {first:?}");
        let (thread, i) = first.request_id[1..].split_once('-').unwrap();
        let i: usize = i.parse().unwrap();
        let expected_i = next_request.entry(thread.to_owned()).or_insert(0);
        assert_eq!(i, *expected_i, "thread {thread} appended its requests in order");
        *expected_i += 1;
        let rows = (i % 3 + 1) as u32;
        assert_eq!(first, &record(&first.request_id, 0));
        for row in 1..rows {
            let next = records.next().unwrap();
            assert_eq!(next, &record(&first.request_id, row), "rows of a request are contiguous");
        }
        assert!(seen.insert(first.request_id.clone()), "{} appears twice", first.request_id);
    }
    assert_eq!(seen.len(), THREADS * REQUESTS);
}

#[test]
fn rotation_by_size_keeps_every_record_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let one_frame = record_frame(&record("req-000", 0)).len() as u64;
    let limit = HEADER.len() as u64 + one_frame * 5 + one_frame / 2;
    let log = PredictionLog::open(dir.path(), LogOptions::default().max_segment_bytes(limit)).unwrap();
    let mut expected = Vec::new();
    for i in 0..52 {
        let records = request(&format!("req-{i:03}"), 1);
        log.append(&records).unwrap();
        expected.extend(records);
    }
    let files = segment_files(dir.path());
    assert_eq!(files.len(), 11, "5 records per segment: {files:?}");
    assert_eq!(file_name(&files[0]), "predictions-000001.mlog");
    assert_eq!(file_name(&files[10]), "predictions-000011.mlog");
    for file in &files {
        assert!(fs::metadata(file).unwrap().len() <= limit, "{file:?} is over the limit");
    }
    let contents = PredictionLog::read(dir.path()).unwrap();
    assert_eq!((contents.torn, contents.segments), (0, 11));
    assert_eq!(contents.records, expected);

    // An append larger than the limit goes whole into one new segment.
    let big = request("big", 12);
    log.append(&big).unwrap();
    let files = segment_files(dir.path());
    assert_eq!(files.len(), 12);
    let in_last: Vec<_> = LogReader::new([files[11].clone()]).collect::<Result<_, _>>().unwrap();
    assert_eq!(in_last, big, "the whole request in one segment");
    log.append(&request("after", 1)).unwrap();
    assert_eq!(segment_files(dir.path()).len(), 13, "the next append starts another segment");
    expected.extend(big);
    expected.extend(request("after", 1));
    assert_eq!(PredictionLog::read(dir.path()).unwrap().records, expected);

    // Reopening continues the highest segment.
    drop(log);
    let log = PredictionLog::open(dir.path(), LogOptions::default()).unwrap();
    log.append(&request("reopened", 1)).unwrap();
    assert_eq!(segment_files(dir.path()).len(), 13);
    expected.extend(request("reopened", 1));
    assert_eq!(PredictionLog::read(dir.path()).unwrap().records, expected);
}

#[test]
fn max_segments_deletes_the_oldest() {
    let dir = tempfile::tempdir().unwrap();
    let one_frame = record_frame(&record("req-000", 0)).len() as u64;
    let options =
        LogOptions::default().max_segment_bytes(HEADER.len() as u64 + one_frame * 2).max_segments(3);
    let log = PredictionLog::open(dir.path(), options).unwrap();
    // Not a segment: left alone.
    fs::write(dir.path().join("notes.txt"), "keep me").unwrap();
    let all: Vec<_> = (0..20).map(|i| record(&format!("req-{i:03}"), 0)).collect();
    for r in &all {
        log.append(std::slice::from_ref(r)).unwrap();
    }
    let names: Vec<_> = segment_files(dir.path()).iter().map(|f| file_name(f).to_owned()).collect();
    assert_eq!(
        names,
        ["notes.txt", "predictions-000008.mlog", "predictions-000009.mlog", "predictions-000010.mlog"]
    );
    let contents = PredictionLog::read(dir.path()).unwrap();
    assert_eq!((contents.torn, contents.segments), (0, 3));
    assert_eq!(contents.records, all[14..], "the newest 6 records, in order");
}

#[test]
fn a_torn_last_frame_is_skipped_and_appends_go_to_a_new_segment() {
    let dir = tempfile::tempdir().unwrap();
    let log = PredictionLog::open(dir.path(), LogOptions::default()).unwrap();
    let before = request("before", 3);
    log.append(&before).unwrap();
    drop(log);
    let whole = fs::read(dir.path().join("predictions-000001.mlog")).unwrap();
    // A crash in the middle of a write: a frame cut anywhere, even inside its length.
    let torn = record_frame(&record("torn", 0));
    let after = request("after", 2);
    for cut in 1..torn.len() {
        let dir = tempfile::tempdir().unwrap();
        let segment = dir.path().join("predictions-000001.mlog");
        let damaged = [&whole[..], &torn[..cut]].concat();
        fs::write(&segment, &damaged).unwrap();
        let contents = PredictionLog::read(dir.path()).unwrap();
        assert_eq!(contents.records, before, "cut at {cut}");
        assert_eq!(contents.torn, 1, "cut at {cut}");

        // Reopening cuts nothing: the records go to a new segment.
        let log = PredictionLog::open(dir.path(), LogOptions::default()).unwrap();
        log.append(&after).unwrap();
        drop(log);
        assert!(fs::read(&segment).unwrap() == damaged, "cut at {cut}: the torn segment is unchanged");
        let contents = PredictionLog::read(dir.path()).unwrap();
        assert_eq!(contents.records, [before.clone(), after.clone()].concat(), "cut at {cut}");
        assert_eq!((contents.torn, contents.segments), (1, 2), "cut at {cut}");
    }

    // Reopening a log whose last frame is whole changes nothing and continues that segment.
    let segment = dir.path().join("predictions-000001.mlog");
    let log = PredictionLog::open(dir.path(), LogOptions::default()).unwrap();
    assert_eq!(fs::read(&segment).unwrap(), whole);
    log.append(&after).unwrap();
    drop(log);
    let bytes = fs::read(&segment).unwrap();
    assert!(bytes.starts_with(&whole), "whole frames are never altered");
    PredictionLog::open(dir.path(), LogOptions::default()).unwrap();
    assert_eq!(fs::read(&segment).unwrap(), bytes);
    let contents = PredictionLog::read(dir.path()).unwrap();
    assert_eq!(contents.records, [before, after].concat());
    assert_eq!((contents.torn, contents.segments), (0, 1));
}

#[test]
fn a_damaged_length_in_the_last_segment_never_cuts_the_frames_after_it() {
    let first = request("first", 2);
    let rest: Vec<_> = (0..4).map(|i| record(&format!("later-{i}"), 0)).collect();
    let one_frame = record_frame(&rest[0]).len() as u32;
    // The second frame's length: past the end of the file, or a little too long (inside it).
    for bad_len in [u32::MAX, 10_000, one_frame - 8 + 1] {
        let dir = tempfile::tempdir().unwrap();
        let log = PredictionLog::open(dir.path(), LogOptions::default()).unwrap();
        log.append(&first).unwrap();
        let segment = dir.path().join("predictions-000001.mlog");
        let damaged_at = fs::metadata(&segment).unwrap().len() as usize;
        for r in &rest {
            log.append(std::slice::from_ref(r)).unwrap();
        }
        drop(log);
        let mut bytes = fs::read(&segment).unwrap();
        bytes[damaged_at..damaged_at + 4].copy_from_slice(&bad_len.to_le_bytes());
        fs::write(&segment, &bytes).unwrap();
        let contents = PredictionLog::read(dir.path()).unwrap();
        assert_eq!(contents.records, first, "length {bad_len}: the segment stops at the bad frame");
        assert_eq!(contents.torn, 1);

        let log = PredictionLog::open(dir.path(), LogOptions::default()).unwrap();
        log.append(&request("new", 2)).unwrap();
        drop(log);
        assert!(fs::read(&segment).unwrap() == bytes, "length {bad_len}: the segment is unchanged");
        let contents = PredictionLog::read(dir.path()).unwrap();
        assert_eq!(contents.records, [first.clone(), request("new", 2)].concat(), "length {bad_len}");
        assert_eq!((contents.torn, contents.segments), (1, 2), "length {bad_len}");
    }
}

#[test]
fn a_flipped_byte_in_the_last_frame_fails_its_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let log = PredictionLog::open(dir.path(), LogOptions::default()).unwrap();
    log.append(&request("kept", 2)).unwrap();
    let segment = dir.path().join("predictions-000001.mlog");
    let whole = fs::read(&segment).unwrap();
    log.append(&request("flipped", 1)).unwrap();
    drop(log);
    let mut bytes = fs::read(&segment).unwrap();
    let last = bytes.len() - 1;
    for at in [whole.len() + 4, whole.len() + 20, last] {
        bytes[at] ^= 0x10;
        fs::write(&segment, &bytes).unwrap();
        let contents = PredictionLog::read(dir.path()).unwrap();
        assert_eq!(contents.records, request("kept", 2), "flipped byte {at}");
        assert_eq!(contents.torn, 1);
        bytes[at] ^= 0x10;
    }
    bytes[last] ^= 0x01;
    fs::write(&segment, &bytes).unwrap();

    // Reopening leaves the damaged segment as it is and appends to a new one.
    let log = PredictionLog::open(dir.path(), LogOptions::default()).unwrap();
    log.append(&request("next", 1)).unwrap();
    assert_eq!(fs::read(&segment).unwrap(), bytes);
    let contents = PredictionLog::read(dir.path()).unwrap();
    assert_eq!(contents.records, [request("kept", 2), request("next", 1)].concat());
    assert_eq!((contents.torn, contents.segments), (1, 2));
}

#[test]
fn damage_before_the_end_is_left_alone_and_appends_go_to_a_new_segment() {
    let dir = tempfile::tempdir().unwrap();
    let log = PredictionLog::open(dir.path(), LogOptions::default()).unwrap();
    log.append(&request("a", 1)).unwrap();
    log.append(&request("b", 2)).unwrap();
    drop(log);
    let segment = dir.path().join("predictions-000001.mlog");
    let mut bytes = fs::read(&segment).unwrap();
    bytes[HEADER.len() + 30] ^= 0xff; // inside the first frame's payload
    fs::write(&segment, &bytes).unwrap();
    let contents = PredictionLog::read(dir.path()).unwrap();
    assert_eq!((contents.records.len(), contents.torn), (0, 1), "a segment stops at its first bad frame");

    let log = PredictionLog::open(dir.path(), LogOptions::default()).unwrap();
    log.append(&request("c", 1)).unwrap();
    assert_eq!(fs::read(&segment).unwrap(), bytes, "the damaged segment is left as it is");
    let names: Vec<_> = segment_files(dir.path()).iter().map(|f| file_name(f).to_owned()).collect();
    assert_eq!(names, ["predictions-000001.mlog", "predictions-000002.mlog"]);
    let contents = PredictionLog::read(dir.path()).unwrap();
    assert_eq!(contents.records, request("c", 1));
    assert_eq!((contents.torn, contents.segments), (1, 2));
}

#[test]
fn garbage_frames_torn_headers_and_empty_segments_never_fail_a_read() {
    let dir = tempfile::tempdir().unwrap();
    let good = record_frame(&record("good", 0));
    // Empty, and a torn header: both read as empty.
    fs::write(dir.path().join("predictions-000001.mlog"), "").unwrap();
    fs::write(dir.path().join("predictions-000002.mlog"), &HEADER[..7]).unwrap();
    // An intact frame that is not a record is skipped alone; the segment goes on.
    let not_a_record = frame(&[0xff, 0xfe]);
    let empty = frame(&[]);
    fs::write(
        dir.path().join("predictions-000003.mlog"),
        [&HEADER[..], &not_a_record, &empty, &good].concat(),
    )
    .unwrap();
    // A length claiming more than the file holds.
    let huge = [&u32::MAX.to_le_bytes()[..], &[0; 4]].concat();
    fs::write(dir.path().join("predictions-000004.mlog"), [&HEADER[..], &good, &huge, &good].concat())
        .unwrap();
    // Zeros, as a power loss may leave.
    fs::write(dir.path().join("predictions-000005.mlog"), [&HEADER[..], &[0; 64]].concat()).unwrap();
    let contents = PredictionLog::read(dir.path()).unwrap();
    assert_eq!(contents.records, [record("good", 0), record("good", 0)]);
    assert_eq!((contents.torn, contents.segments), (4, 5));

    // Reopening leaves the zeros of the last segment alone and appends to a new one.
    let zeros = fs::read(dir.path().join("predictions-000005.mlog")).unwrap();
    let log = PredictionLog::open(dir.path(), LogOptions::default()).unwrap();
    log.append(&request("next", 1)).unwrap();
    assert_eq!(fs::read(dir.path().join("predictions-000005.mlog")).unwrap(), zeros);
    let contents = PredictionLog::read(dir.path()).unwrap();
    assert_eq!(contents.records, [record("good", 0), record("good", 0), record("next", 0)]);
    assert_eq!((contents.torn, contents.segments), (4, 6));
}

#[test]
fn a_torn_header_is_rewritten_on_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let segment = dir.path().join("predictions-000001.mlog");
    fs::write(&segment, &HEADER[..3]).unwrap();
    let log = PredictionLog::open(dir.path(), LogOptions::default()).unwrap();
    log.append(&request("first", 1)).unwrap();
    assert_eq!(fs::read(&segment).unwrap(), [&HEADER[..], &record_frame(&record("first", 0))].concat());
}

#[test]
fn a_newer_format_version_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let log = PredictionLog::open(dir.path(), LogOptions::default()).unwrap();
    log.append(&request("v1", 1)).unwrap();
    drop(log);
    let newer = dir.path().join("predictions-000002.mlog");
    let mut header = HEADER.to_vec();
    header[10] = 3;
    fs::write(&newer, [&header[..], &[1, 2, 3]].concat()).unwrap();
    for err in [
        PredictionLog::read(dir.path()).unwrap_err(),
        PredictionLog::open(dir.path(), LogOptions::default()).unwrap_err(),
    ] {
        assert_names(&err, &newer);
        let message = err.to_string();
        assert!(message.contains("format version 3") && message.contains("versions 1 to 2"), "{message}");
        assert!(message.contains("newer mlflow") && message.contains("move it out"), "{message}");
    }
    assert_eq!(fs::read(&newer).unwrap(), [&header[..], &[1, 2, 3]].concat(), "left untouched");

    // Streaming reads the older segment, then reports the newer one.
    let mut reader = PredictionLog::records(dir.path()).unwrap();
    assert_eq!(reader.next().unwrap().unwrap(), record("v1", 0));
    assert!(reader.next().unwrap().is_err());
    assert!(reader.next().is_none());

    // Not a segment at all.
    fs::write(&newer, b"{\"request_id\":\"x\",\"row\":0}\n").unwrap();
    let err = PredictionLog::read(dir.path()).unwrap_err();
    assert_names(&err, &newer);
    assert!(err.to_string().contains("not a prediction log segment"), "{err}");
}

#[test]
fn a_format_1_segment_is_read_and_appending_continues_in_a_new_segment() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("predictions-000001.mlog");
    let untagged = |r: &PredictionRecord| frame(&mlflow::codec::encode(r).unwrap());
    let written = [&HEADER_V1[..], &untagged(&record("old", 0)), &untagged(&record("old", 1))].concat();
    fs::write(&old, &written).unwrap();
    let log = PredictionLog::open(dir.path(), LogOptions::default()).unwrap();
    let failure = RequestFailure {
        request_id: "bad".into(),
        time_ms: 9,
        model: "titanic".into(),
        version: 3,
        status: 400,
        code: "feature_count".into(),
        latency_us: 70,
    };
    log.append(&request("new", 1)).unwrap();
    log.append(std::slice::from_ref(&failure)).unwrap();
    assert_eq!(fs::read(&old).unwrap(), written, "a format 1 segment is never appended to");
    let contents = PredictionLog::read(dir.path()).unwrap();
    assert_eq!(contents.records, [record("old", 0), record("old", 1), record("new", 0)]);
    assert_eq!((contents.failures, contents.torn, contents.segments), (vec![failure.clone()], 0, 2));
    // The fast path of predictions skips the failure without counting it as torn.
    let mut reader = PredictionLog::records(dir.path()).unwrap();
    assert_eq!(reader.by_ref().count(), 3);
    assert_eq!((reader.torn(), reader.segments(), reader.untagged_segments()), (0, 2, 1));
    let entries = PredictionLog::entries(dir.path()).unwrap().collect::<Result<Vec<_>, _>>().unwrap();
    assert_eq!(entries.last(), Some(&LogEntry::Failure(failure)));
}

#[test]
fn raw_rows_and_failures_round_trip_beside_predictions() {
    use mlflow::data::{Column, Table};
    let dir = tempfile::tempdir().unwrap();
    let log = PredictionLog::open(dir.path(), LogOptions::default()).unwrap();
    let table = Table::new(vec![
        ("Sex".into(), Column::Str(vec![Some("female".into()), None])),
        ("Age".into(), Column::Float(vec![Some(29.0), Some(f64::NAN)])),
    ])
    .unwrap();
    let raw = RawRowsRef { request_id: "req-1", time_ms: 4, model: "titanic", table: &table };
    log.append(&[raw]).unwrap();
    log.append(&request("req-1", 2)).unwrap();
    let contents = PredictionLog::read(dir.path()).unwrap();
    assert_eq!(contents.records.len(), 2);
    assert_eq!(contents.raw.len(), 1);
    let back = &contents.raw[0];
    assert_eq!((back.request_id.as_str(), back.time_ms, back.model.as_str()), ("req-1", 4, "titanic"));
    assert_eq!(back.table.rows(), 2);
    assert_eq!(back.table.column("Sex"), table.column("Sex"));
    let Some(Column::Float(ages)) = back.table.column("Age") else { panic!("{back:?}") };
    assert!(ages[1].is_some_and(f64::is_nan), "a NaN keeps its bits in the binary log");
}

#[test]
fn streaming_reads_every_segment_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let options = LogOptions::default().max_segment_bytes(2000);
    let log = PredictionLog::open(dir.path(), options).unwrap();
    let all = request("streamed", 40);
    for pair in all.chunks(2) {
        log.append(pair).unwrap();
    }
    let files = PredictionLog::segment_files(dir.path()).unwrap();
    assert!(files.len() > 2, "{files:?}");
    let mut reader = PredictionLog::records(dir.path()).unwrap();
    let streamed: Vec<_> = reader.by_ref().collect::<Result<_, _>>().unwrap();
    assert_eq!(streamed, all);
    assert_eq!((reader.torn(), reader.segments()), (0, files.len()));
    // The newest segment alone holds the newest records.
    let newest: Vec<_> = LogReader::new(files.last().cloned()).collect::<Result<_, _>>().unwrap();
    assert!(!newest.is_empty() && all.ends_with(&newest));
}

#[test]
fn sync_durability_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let options = LogOptions::default().durability(Durability::Sync).max_segment_bytes(1000);
    let log = PredictionLog::open(dir.path(), options).unwrap();
    let all = request("synced", 10);
    for r in &all {
        log.append(std::slice::from_ref(r)).unwrap();
    }
    let contents = PredictionLog::read(dir.path()).unwrap();
    assert_eq!(contents.records, all);
    assert!(contents.segments > 1);
}

#[test]
fn synced_appends_from_many_threads_keep_every_record_across_rotations() {
    let dir = tempfile::tempdir().unwrap();
    let options = LogOptions::default().durability(Durability::Sync).max_segment_bytes(4000);
    let log = Arc::new(PredictionLog::open(dir.path(), options).unwrap());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                let mine = request(&format!("thread-{t}"), 30);
                for r in &mine {
                    log.append(std::slice::from_ref(r)).unwrap();
                }
                mine
            })
        })
        .collect();
    let written: Vec<PredictionRecord> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    let contents = PredictionLog::read(dir.path()).unwrap();
    assert_eq!((contents.records.len(), contents.torn), (written.len(), 0));
    assert!(contents.segments > 1, "rotated while syncing");
    for t in 0..8 {
        let prefix = format!("thread-{t}");
        let theirs: Vec<&PredictionRecord> =
            contents.records.iter().filter(|r| r.request_id.starts_with(&prefix)).collect();
        let expected: Vec<&PredictionRecord> =
            written.iter().filter(|r| r.request_id.starts_with(&prefix)).collect();
        assert_eq!(theirs, expected, "each thread's records, in its order");
    }
}

/// Not a test of its own: the body of the child process of
/// `acknowledged_predictions_survive_sigkill`. Appends requests of 1 to 3 rows in a loop and
/// prints `ACK <request id> <rows>` once each append returned.
#[test]
#[ignore = "run as a child process by acknowledged_predictions_survive_sigkill"]
fn child_appends_until_killed() {
    let dir = std::env::var(DIR_VAR).expect("started by acknowledged_predictions_survive_sigkill");
    let log = PredictionLog::open(dir, LogOptions::default().max_segment_bytes(64 * 1024)).unwrap();
    let mut stdout = std::io::stdout().lock();
    // Bounded, in case the parent never kills it.
    for i in 0..2_000_000u32 {
        let id = format!("child-{i}");
        let rows = i % 3 + 1;
        log.append(&request(&id, rows)).unwrap();
        writeln!(stdout, "ACK {id} {rows}").unwrap();
        stdout.flush().unwrap();
    }
}

#[test]
fn acknowledged_predictions_survive_sigkill() {
    const KILL_AFTER: usize = 2000;
    let dir = tempfile::tempdir().unwrap();
    let log_dir = dir.path().join("predictions").join("titanic");
    let mut child =
        common::spawn_ignored_test("child_appends_until_killed", &[(DIR_VAR, log_dir.as_os_str())]);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acknowledged = Vec::new();
    let parse = |line: String, acknowledged: &mut Vec<(String, u32)>| {
        if let Some(ack) = line.strip_prefix("ACK ") {
            let (id, rows) = ack.split_once(' ').expect("ACK <id> <rows>");
            acknowledged.push((id.to_owned(), rows.parse().unwrap()));
        }
    };
    while acknowledged.len() < KILL_AFTER {
        let Some(line) = lines.next() else {
            let output = child.wait_with_output().unwrap();
            panic!("the child stopped early: {}", String::from_utf8_lossy(&output.stderr));
        };
        parse(line.unwrap(), &mut acknowledged);
    }
    // The child holds the log: another writer is refused, readers are not.
    let err = PredictionLog::open(&log_dir, LogOptions::default()).unwrap_err();
    assert!(err.to_string().contains("another process"), "{err}");
    PredictionLog::read(&log_dir).unwrap();
    child.kill().unwrap(); // SIGKILL on unix
    let status = child.wait().unwrap();
    assert!(!status.success(), "the child was killed, not finished: {status}");
    // What the child printed before it died was acknowledged too.
    for line in lines {
        parse(line.unwrap(), &mut acknowledged);
    }

    let contents = PredictionLog::read(&log_dir).unwrap();
    assert!(contents.torn <= 1, "at most the frame being written when killed is torn: {}", contents.torn);
    let present: HashSet<(&str, u32)> =
        contents.records.iter().map(|r| (r.request_id.as_str(), r.row)).collect();
    for (id, rows) in &acknowledged {
        for row in 0..*rows {
            assert!(present.contains(&(id.as_str(), row)), "acknowledged {id} row {row} is missing");
        }
    }
    for r in &contents.records {
        assert_eq!(r, &record(&r.request_id, r.row), "records are written unaltered");
    }
    assert_eq!(present.len(), contents.records.len(), "no record is written twice");
    assert!(contents.records.len() >= acknowledged.iter().map(|(_, rows)| *rows as usize).sum::<usize>());

    // Restarted (the killed process's lock is gone), the log continues where it stopped.
    let log = PredictionLog::open(&log_dir, LogOptions::default().max_segment_bytes(64 * 1024)).unwrap();
    let after: Vec<_> = (0..50).flat_map(|i| request(&format!("restarted-{i}"), 2)).collect();
    for pair in after.chunks(2) {
        log.append(pair).unwrap();
    }
    drop(log);
    let reread = PredictionLog::read(&log_dir).unwrap();
    assert_eq!(reread.torn, contents.torn, "reopening altered nothing");
    assert_eq!(reread.records[..contents.records.len()], contents.records[..]);
    assert_eq!(reread.records[contents.records.len()..], after[..]);
    let present: HashSet<(&str, u32)> =
        reread.records.iter().map(|r| (r.request_id.as_str(), r.row)).collect();
    assert_eq!(present.len(), reread.records.len(), "no record is written twice");
    for (id, rows) in &acknowledged {
        for row in 0..*rows {
            assert!(
                present.contains(&(id.as_str(), row)),
                "acknowledged {id} row {row} is lost after the restart"
            );
        }
    }
}

#[test]
fn one_writer_per_folder_and_readers_need_no_lock() {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = dir.path().join("titanic");
    let log = PredictionLog::open(&log_dir, LogOptions::default()).unwrap();
    log.append(&request("first", 1)).unwrap();
    for _ in 0..2 {
        let err = PredictionLog::open(&log_dir, LogOptions::default()).unwrap_err();
        assert_names(&err, &log_dir);
        let message = err.to_string();
        assert!(
            message.contains("another process (or another PredictionLog in this process) is writing"),
            "{message}"
        );
        assert!(
            message.contains("give each server its own store") && message.contains("--no-log"),
            "{message}"
        );
    }
    // Reading beside the writer.
    assert_eq!(PredictionLog::read(&log_dir).unwrap().records, request("first", 1));
    assert_eq!(PredictionLog::records(&log_dir).unwrap().count(), 1);
    log.append(&request("second", 1)).unwrap();

    // Once the writer is dropped, the folder can be opened again, and continues.
    drop(log);
    let log = PredictionLog::open(&log_dir, LogOptions::default()).unwrap();
    log.append(&request("third", 1)).unwrap();
    let contents = PredictionLog::read(&log_dir).unwrap();
    assert_eq!(contents.records, [request("first", 1), request("second", 1), request("third", 1)].concat());
    assert_eq!((contents.torn, contents.segments), (0, 1));
    // The lock file is not a segment.
    assert!(log_dir.join("LOCK").is_file());
    assert_eq!(PredictionLog::segment_files(&log_dir).unwrap().len(), 1);
}

/// The error's message names `path`.
fn assert_names(err: &ServeError, path: &Path) {
    assert!(matches!(err, ServeError::Log { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
}

#[test]
fn folders_that_cannot_hold_a_log_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();

    // A file where the folder should be.
    let file = dir.path().join("a-file");
    fs::write(&file, "x").unwrap();
    let err = PredictionLog::open(&file, LogOptions::default()).unwrap_err();
    assert_names(&err, &file);
    assert!(err.to_string().contains("move the file in the way"), "{err}");
    let err = PredictionLog::read(&file).unwrap_err();
    assert_names(&err, &file);

    // A file where a parent folder should be.
    let below = file.join("titanic");
    let err = PredictionLog::open(&below, LogOptions::default()).unwrap_err();
    assert_names(&err, &below);

    // A folder where the segment should be.
    let taken = dir.path().join("taken");
    fs::create_dir_all(taken.join("predictions-000001.mlog")).unwrap();
    let err = PredictionLog::open(&taken, LogOptions::default()).unwrap_err();
    assert_names(&err, &taken.join("predictions-000001.mlog"));

    // Nothing there to read.
    let missing = dir.path().join("missing");
    let err = PredictionLog::read(&missing).unwrap_err();
    assert_names(&err, &missing);
    assert!(err.to_string().contains("check the path"), "{err}");

    // A read-only folder (not enforced for root).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let read_only = dir.path().join("read-only");
        fs::create_dir(&read_only).unwrap();
        fs::set_permissions(&read_only, fs::Permissions::from_mode(0o555)).unwrap();
        if fs::write(read_only.join("probe"), "x").is_err() {
            let err = PredictionLog::open(&read_only, LogOptions::default()).unwrap_err();
            assert_names(&err, &read_only);
            assert!(err.to_string().contains("make the folder writable"), "{err}");
        }
        fs::set_permissions(&read_only, fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// A record as the log wrote it while labels were binary and the field a `u8`.
#[derive(serde::Serialize)]
struct RecordWithByteLabel {
    request_id: String,
    row: u32,
    time_ms: i64,
    model: String,
    version: u32,
    role: Role,
    inputs: Vec<f64>,
    label: u8,
    probability: f64,
    latency_us: u64,
}

#[test]
fn logs_written_with_byte_labels_read_unchanged_and_take_new_appends() {
    let old: Vec<PredictionRecord> = request("old", 6);
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("titanic");
    fs::create_dir_all(&folder).unwrap();
    let mut bytes = HEADER_V1.to_vec();
    for r in &old {
        let byte_label = RecordWithByteLabel {
            request_id: r.request_id.clone(),
            row: r.row,
            time_ms: r.time_ms,
            model: r.model.clone(),
            version: r.version,
            role: r.role,
            inputs: r.inputs.clone(),
            label: u8::try_from(r.label).unwrap(),
            probability: r.probability,
            latency_us: r.latency_us,
        };
        bytes.extend(frame(&mlflow::codec::encode(&byte_label).unwrap()));
    }
    assert!(old.iter().any(|r| r.label == 0) && old.iter().any(|r| r.label == 1));
    fs::write(folder.join("predictions-000001.mlog"), bytes).unwrap();

    let contents = PredictionLog::read(&folder).unwrap();
    assert_eq!((contents.torn, contents.records.len()), (0, old.len()));
    assert_eq!(contents.records, old);

    // A server of today appends multiclass labels to the same folder; both kinds read back.
    let log = PredictionLog::open(&folder, LogOptions::default()).unwrap();
    let mut new = request("new", 2);
    new[0].label = 2;
    new[1].label = 70_000;
    log.append(&new).unwrap();
    drop(log);
    let all = PredictionLog::read(&folder).unwrap().records;
    assert_eq!(all, [old, new].concat());
}
