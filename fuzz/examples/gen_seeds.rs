//! Writes the seed corpora of the fuzz targets into `fuzz/seeds/<target>/`, from real values:
//! packages built by the library, artifacts it encodes, prediction log segments it writes.
//!
//! `cargo run --example gen_seeds` (from `fuzz/`).

use std::path::{Path, PathBuf};

use mlflow_core::codec::{self, ContentHash};
use mlflow_fuzz::{nested, packages, push_frame, segment_header, table};
use mlflow_ml::data::{parse_csv, CsvOptions, DataFile, Ingested};
use mlflow_serve::{LogOptions, PredictionLog, PredictionRecord, Role};
use ndarray::array;

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("seeds").join(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
}

fn with(flag: u8, bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![flag];
    out.extend_from_slice(bytes);
    out
}

fn csv() {
    let samples: [(&str, u8, &[u8]); 8] = [
        ("plain", 0, b"id,score,name\n1,0.5,a\n2,,b\n3,1e3,\n"),
        ("semicolon", 1, b"a;b\n1.5;x\n;y\n"),
        ("tab_schema", 2 | 8 | 0x10, b"x\ty\tz\n1\t2.5\thello\n-3\t\t\n"),
        ("pipe_quoted", 3, b"a|b\n\"1|2\"|\"say \"\"hi\"\"\"\n3|4\n"),
        ("schema_ab", 16, b"a,b,c\n1.0,x,3\n2,y,4\n"),
        ("bom_crlf", 0, b"\xEF\xBB\xBFPassengerId,Survived,Age\r\n1,0,22\r\n2,1,\r\n"),
        ("custom_delimiter", 4, b":a:b\n1:2\n3:4\n"),
        ("titanic", 8, b"PassengerId,Pclass,Sex,Age\n1,3,male,22\n2,1,female,38\n3,3,female,26\n"),
    ];
    for (name, flag, bytes) in samples {
        write("csv_ingest", name, &with(flag, bytes));
    }
}

fn kserve() {
    let bodies: [(&str, &str); 8] = [
        ("values", r#"{"instances": [[3, 0, 22.5]]}"#),
        ("batch", r#"{"instances": [[3, 0, 22], [1, 1, 38], [2, 0, 54.0]], "probabilities": true}"#),
        ("named", r#"{"instances": [{"Pclass": 3, "Sex": 0, "Age": 22}], "key": "user-1"}"#),
        (
            "mixed",
            r#"{"instances": [[1, 1, 38], {"Age": 4, "Pclass": 2, "Sex": 1}], "probabilities": false}"#,
        ),
        ("unknown_feature", r#"{"instances": [{"Pclass": 3, "Sex": 0, "Fare": 7.25}]}"#),
        ("too_large", r#"{"instances": [[1e400, 0, 1]]}"#),
        ("wrong_count", r#"{"instances": [[1, 2]], "key": null}"#),
        ("not_numbers", r#"{"instances": [["3", null, true]]}"#),
    ];
    for (name, body) in bodies {
        write("kserve_request", name, body.as_bytes());
    }
}

fn package() {
    for (name, package) in packages() {
        let bytes = package.to_bytes().unwrap();
        write("package_decode", &format!("{name}_file"), &with(0, &bytes));
        write("package_decode", &format!("{name}_body"), &with(1, &bytes[54..]));
    }
}

fn artifacts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.csv");
    std::fs::write(&path, "id,score,name\n1,0.5,a\n").unwrap();
    let file = DataFile::open(&path).unwrap();
    let t = parse_csv(b"id,score,name\n1,0.5,a\n", "data.csv", &CsvOptions::default()).unwrap();
    let ingested = Ingested { version: file.version, rows: t.rows(), schema: t.schema(), table: t };
    let samples: Vec<(&str, u8, Vec<u8>)> = vec![
        ("vec_f64", 0, codec::encode(&vec![0.5, -1.0, f64::NAN, 1e300]).unwrap()),
        ("string", 1, codec::encode("a string artifact, ü").unwrap()),
        ("nested", 2, codec::encode(&nested()).unwrap()),
        ("array2", 3, codec::encode(&array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]).unwrap()),
        ("table", 4, codec::encode(&table()).unwrap()),
        ("ingested", 5, codec::encode(&ingested).unwrap()),
        ("hashes", 6, codec::encode(&vec![("a".to_string(), ContentHash::of(b"a"))]).unwrap()),
        ("bytes", 7, codec::encode(&vec![vec![1u8, 2, 3], vec![]]).unwrap()),
    ];
    for (name, kind, bytes) in samples {
        write("artifact_decode", name, &with(kind, &bytes));
    }
}

fn record(i: u32) -> PredictionRecord {
    PredictionRecord {
        request_id: format!("req-{i}"),
        row: i,
        time_ms: 1_700_000_000_000 + i64::from(i),
        model: "titanic".into(),
        version: 3,
        role: [Role::Champion, Role::Challenger, Role::Shadow][i as usize % 3],
        inputs: vec![3.0, 0.0, 22.0 + f64::from(i)],
        label: (i % 2) as u8,
        probability: 0.25,
        latency_us: 14,
    }
}

fn predlog() {
    let dir = tempfile::tempdir().unwrap();
    let log = PredictionLog::open(dir.path(), LogOptions::default()).unwrap();
    log.append(&[record(0), record(1), record(2)]).unwrap();
    drop(log);
    let segment = std::fs::read(dir.path().join("predictions-000001.mlog")).unwrap();
    write("predlog_frames", "segment", &with(0, &segment));
    let mut cut = segment.clone();
    cut.truncate(segment.len() - 5);
    write("predlog_frames", "segment_torn", &with(0, &cut));
    write("predlog_frames", "header_only", &with(0, &segment_header()));
    let mut payloads = Vec::new();
    for i in 0..3 {
        let payload = codec::encode(&record(i)).unwrap();
        payloads.extend_from_slice(&(payload.len() as u16).to_le_bytes());
        payloads.extend_from_slice(&payload);
    }
    write("predlog_frames", "payloads", &with(1, &payloads));
    write("predlog_frames", "payloads_open", &with(2, &payloads));
    let mut odd = segment_header();
    push_frame(&mut odd, b"not a record");
    push_frame(&mut odd, &codec::encode(&record(4)).unwrap());
    write("predlog_frames", "foreign_frame", &with(0, &odd));
}

fn main() {
    csv();
    kserve();
    package();
    artifacts();
    predlog();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    println!("seeds written under {}", root.display());
}
