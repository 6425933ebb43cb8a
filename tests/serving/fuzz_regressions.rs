//! Inputs the fuzz targets (`fuzz/`) once failed on, in the serving layer: each must be refused
//! (or skipped) with a clear outcome, without a panic and without reserving memory the input
//! does not hold. The tests of inputs that made the decoder reserve a few GiB run again in a
//! child process whose address space is capped at 1 GiB, where such a reservation aborts.

use crate::common::fuzz_input;
use crate::predlog::{HEADER, HEADER_V1, frame};

use std::process::Command;

use mlflow::codec;
use mlflow::serve::{FORMAT_VERSION, MAGIC, ModelPackage, PredictionLog, ServeError};

/// Set in the capped child process.
const CHILD_VAR: &str = "MLFLOW_TEST_FUZZ_REGRESSION_CHILD";

/// In the test process, runs test `name` of this binary in a child whose address space is
/// capped at 1 GiB and returns `false` (the caller returns); in that child, returns `true` (the
/// caller runs its checks).
fn in_capped_child(name: &str) -> bool {
    if std::env::var_os(CHILD_VAR).is_some() {
        return true;
    }
    let exe = std::env::current_exe().unwrap();
    let output = Command::new("sh")
        .arg("-c")
        .arg(r#"ulimit -v 1048576 && exec "$0" --exact "$1" --test-threads=1 --nocapture"#)
        .arg(&exe)
        .arg(name)
        .env(CHILD_VAR, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{name} under a 1 GiB address space: {}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    false
}

/// A package file around `body` with the right length and hash, as the `package_decode` target
/// builds it when the first byte of its input is odd.
fn package_file(body: &[u8]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(codec::hash_bytes(body).as_bytes());
    out.extend_from_slice(body);
    out
}

/// `package_decode` input (minimized): mode byte 0x3f (wrap the rest in a valid header), then
/// a 5-byte body whose first field, the package name, claims 0xFCFCFCFC bytes. Decoding it
/// reserved 4 GiB before finding the body too short.
#[test]
fn package_decode_body_whose_name_claims_4_gib_is_corrupt() {
    if !in_capped_child("fuzz_regressions::package_decode_body_whose_name_claims_4_gib_is_corrupt") {
        return;
    }
    for name in ["body-name-claims-4gib", "oom-131b2997fd0b29ce"] {
        let input = fuzz_input("package_decode", name);
        let (&mode, body) = input.split_first().unwrap();
        assert_eq!(mode & 1, 1, "{name}: wrapped in a valid header");
        let err = ModelPackage::from_bytes(&package_file(body)).unwrap_err();
        assert!(matches!(err, ServeError::Corrupt { .. }), "{name}: {err}");
        assert!(err.to_string().contains("the body does not decode"), "{name}: {err}");
    }
}

/// `predlog_frames` input (minimized): mode 1 (frame the payloads after a valid header), then
/// one payload of 5 bytes whose first field, the request id, claims 0xFCFC0000 bytes. The frame
/// is intact (its checksum matches), and decoding its payload reserved 4 GiB.
#[test]
fn predlog_frame_whose_request_id_claims_4_gib_is_skipped_as_torn() {
    if !in_capped_child("fuzz_regressions::predlog_frame_whose_request_id_claims_4_gib_is_skipped_as_torn") {
        return;
    }
    let input = fuzz_input("predlog_frames", "frame-request-id-claims-4gib");
    let (&mode, rest) = input.split_first().unwrap();
    assert_eq!(mode % 3, 1, "framed after a valid header");
    // The target's framing: a u16 length (capped by what follows), then the payload.
    let len = usize::from(u16::from_le_bytes([rest[0], rest[1]])).min(rest.len() - 2);
    let payload = &rest[2..2 + len];
    assert_eq!(payload.len(), 5);
    // As found (format 1, an untagged prediction), and behind each entry kind of format 2.
    let segments = [[&HEADER_V1[..], &frame(payload)].concat()]
        .into_iter()
        .chain((0u8..3).map(|kind| [&HEADER[..], &frame(&[&[kind][..], payload].concat())].concat()));
    for segment in segments {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("predictions-000001.mlog"), &segment).unwrap();
        let contents = PredictionLog::read(dir.path()).unwrap();
        assert!(contents.records.is_empty() && contents.raw.is_empty() && contents.failures.is_empty());
        assert_eq!(
            (contents.torn, contents.segments),
            (1, 1),
            "an intact frame that is not an entry is skipped"
        );
    }
}
