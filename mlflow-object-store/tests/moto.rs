//! The artifact-store contract against a real S3-compatible server on loopback: moto's
//! `moto_server` (`pip install 'moto[server]'`), started by the test when `MLFLOW_TEST_MOTO`
//! names its executable and the crate is built with the feature `s3`:
//!
//! ```text
//! MLFLOW_TEST_MOTO=/path/to/moto_server cargo test -p mlflow-object-store --features s3 --test moto
//! ```
//!
//! Without the variable (or the feature) the test prints that it was skipped and passes.
//!
//! The outer test starts the server and creates a bucket, then runs this test binary again with
//! the standard AWS variables set for the child (`AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`, dummy
//! credentials): the store is opened from `s3://bucket/prefix` exactly as a user's would be.

mod support;

use support::moto::{MOTO_VAR, Moto};

/// The URL the child opens.
const URL_VAR: &str = "MLFLOW_TEST_S3_URL";

#[test]
fn s3_against_moto() {
    if !cfg!(feature = "s3") {
        println!("skipped: built without the `s3` feature (run with --features s3 and {MOTO_VAR} set)");
        return;
    }
    let Some(executable) = Moto::executable() else {
        println!("skipped: set {MOTO_VAR} to a moto_server executable (pip install 'moto[server]') to run");
        return;
    };
    let moto = Moto::start(&executable);
    moto.create_bucket("mlflow-test");
    let mut command = std::process::Command::new(std::env::current_exe().unwrap());
    command.args(["s3_child", "--exact", "--ignored", "--nocapture", "--test-threads=1"]);
    for (key, _) in std::env::vars_os() {
        if key.to_str().is_some_and(|k| k.starts_with("AWS_")) {
            command.env_remove(key);
        }
    }
    command.envs(moto.env()).env(URL_VAR, "s3://mlflow-test/team/artifacts");
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "child failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("s3 contract: ok"), "{stdout}");
}

#[cfg(feature = "s3")]
#[test]
#[ignore = "run by s3_against_moto, with the S3 server's environment"]
fn s3_child() {
    use std::sync::Arc;

    use mlflow_object_store::object_store::aws::AmazonS3Builder;
    use mlflow_object_store::object_store::path::Path as ObjectPath;
    use mlflow_object_store::object_store::{ObjectStore, PutMode};
    use mlflow_object_store::{ObjectArtifacts, open_store};
    use support::*;

    let url = std::env::var(URL_VAR).expect("run by s3_against_moto");
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir.path().join("meta"), &url).unwrap();
    assert_eq!(store.artifacts().location(), "s3://mlflow-test/team/artifacts");
    first_run_computes_second_run_hits(&store);

    // Another client of the bucket, through object_store with the same environment.
    let direct: Arc<dyn ObjectStore> =
        Arc::new(AmazonS3Builder::from_env().with_bucket_name("mlflow-test").build().unwrap());
    let paths = ObjectArtifacts::from_url(&url).unwrap();

    // The server honours create-only writes (If-None-Match: *): the racing-writer path below
    // is the real one, not a silent overwrite.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let probe = ObjectPath::from("probe/create-only");
    runtime.block_on(direct.put_opts(&probe, b"first".to_vec().into(), PutMode::Create.into())).unwrap();
    let second = runtime.block_on(direct.put_opts(&probe, b"second".to_vec().into(), PutMode::Create.into()));
    assert!(
        matches!(second, Err(mlflow_object_store::object_store::Error::AlreadyExists { .. })),
        "{second:?}"
    );
    assert_eq!(read_object(&direct, &probe), b"first");
    a_corrupted_object_is_a_miss_and_repaired(
        &store,
        |hash, bytes| overwrite_object(&direct, &paths.object_path(hash), bytes),
        |hash| read_object(&direct, &paths.object_path(hash)),
    );

    let handles: Vec<_> = (0..3).map(|_| ObjectArtifacts::from_url(&url).unwrap()).collect();
    racing_puts_are_harmless(&handles);
    a_wrong_object_is_overwritten_by_put(&handles[0]);

    // A store of its own under another prefix, for an exact garbage count.
    let gc_url = "s3://mlflow-test/gc";
    let gc_store = open_store(&dir.path().join("gc-meta"), gc_url).unwrap();
    gc_removes_only_unreferenced_artifacts(&gc_store, |key, bytes| {
        overwrite_object(&direct, &ObjectPath::from(format!("gc/{key}")), bytes)
    });
    assert_eq!(read_object(&direct, &ObjectPath::from("gc/notes/readme.txt")), b"not an artifact");
    println!("s3 contract: ok");
}
