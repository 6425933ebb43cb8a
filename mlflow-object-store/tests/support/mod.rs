//! What the backend tests share: a small pipeline, the checks every backend must pass, and
//! writing to an object directly through `object_store` (behind the store's back).
#![allow(dead_code)]

pub mod moto;

use std::path::Path;
use std::sync::{Arc, Barrier};

use mlflow_core::codec::{ContentHash, encode, hash_bytes};
use mlflow_core::exec::StepStatus;
use mlflow_core::gc::GcOptions;
use mlflow_core::prelude::*;
use mlflow_core::store::{ArtifactStore, SqliteMeta, StoreError};
use mlflow_object_store::ObjectArtifacts;
use mlflow_object_store::object_store::path::Path as ObjectPath;
use mlflow_object_store::object_store::{ObjectStore, ObjectStoreExt as _, PutPayload};

#[mlflow_macros::step(crate = mlflow_core)]
fn numbers(n: &u64) -> Vec<u64> {
    (1..=*n).collect()
}

#[mlflow_macros::step(crate = mlflow_core)]
fn square(x: &u64) -> u64 {
    x * x
}

#[mlflow_macros::step(crate = mlflow_core)]
fn total(xs: &Vec<u64>) -> u64 {
    xs.iter().sum()
}

#[mlflow_macros::step(crate = mlflow_core)]
fn label(prefix: &String, total: &u64) -> String {
    format!("{prefix}{total}")
}

/// numbers -> square (one task per element) -> total -> label.
pub fn pipeline(n: u64) -> (Pipeline, Node<Vec<u64>>, Node<String>) {
    let mut p = Pipeline::new("object-store");
    let n = p.param("n", n);
    let prefix = p.param("prefix", "sum of squares: ".to_string());
    let xs = p.step(NumbersStep, n);
    let squares = p.map(SquareStep, xs);
    let sum = p.step(TotalStep, squares);
    let out = p.step(LabelStep, (prefix, sum));
    (p, squares, out)
}

/// A store with these artifacts and a SQLite metadata database in `meta_root`.
pub fn store_on(meta_root: &Path, artifacts: ObjectArtifacts) -> Store {
    std::fs::create_dir_all(meta_root).unwrap();
    let meta = SqliteMeta::open(&meta_root.join("mlflow.db")).unwrap();
    Store::with_backends(meta_root, Box::new(artifacts), Box::new(meta)).unwrap()
}

/// First run computes every step, the second is all cache hits with the same outputs and hashes.
pub fn first_run_computes_second_run_hits(store: &Store) {
    let (p, squares, out) = pipeline(20);
    let first = p.run(store).unwrap().into_result().unwrap();
    assert!(first.steps().iter().all(|s| s.status == StepStatus::Ran), "{first}");
    assert_eq!(first.get(out).unwrap(), "sum of squares: 2870");
    let again = p.run(store).unwrap().into_result().unwrap();
    assert!(again.steps().iter().all(|s| s.status == StepStatus::Cached), "{again}");
    assert_eq!(again.get(out).unwrap(), first.get(out).unwrap());
    assert_eq!(again.get(squares).unwrap(), first.get(squares).unwrap());
    for (a, b) in first.steps().iter().zip(again.steps()) {
        assert_eq!(a.output_hash, b.output_hash, "{}", a.node);
    }
}

/// Writes `bytes` to `path` directly, replacing whatever is there.
pub fn overwrite_object(store: &Arc<dyn ObjectStore>, path: &ObjectPath, bytes: &[u8]) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(store.put(path, PutPayload::from(bytes.to_vec()))).unwrap();
}

/// Reads an object directly.
pub fn read_object(store: &Arc<dyn ObjectStore>, path: &ObjectPath) -> Vec<u8> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async { store.get(path).await.unwrap().bytes().await.unwrap() }).to_vec()
}

/// `corrupt` replaces an artifact's object with other bytes behind the store's back: the store
/// reports it corrupt, the next run treats it as a miss ("artifact corrupt"), recomputes the
/// same output and repairs the object.
pub fn a_corrupted_object_is_a_miss_and_repaired(
    store: &Store,
    corrupt: impl Fn(ContentHash, &[u8]),
    read: impl Fn(ContentHash) -> Vec<u8>,
) {
    let (p, _, out) = pipeline(6);
    let first = p.run(store).unwrap().into_result().unwrap();
    let hash = first.step("label").unwrap().output_hash.unwrap();
    let good = encode(&"sum of squares: 91".to_string()).unwrap();
    assert_eq!(read(hash), good);
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0x01; // "...91" becomes "...90": still a valid String, not the recorded bytes
    corrupt(hash, &bad);
    let report = p.run(store).unwrap().into_result().unwrap();
    let label = report.step("label").unwrap();
    assert_eq!(label.status, StepStatus::Ran);
    assert_eq!(label.miss_reason.as_ref().map(|r| r.kind()), Some("artifact corrupt"));
    assert_eq!(report.get(out).unwrap(), "sum of squares: 91");
    assert_eq!(read(hash), good, "the object was repaired");
    assert_eq!(store.read_artifact(hash).unwrap(), good);
    assert_eq!(p.run(store).unwrap().count(StepStatus::Cached), report.steps().len());

    // A read that finds a corrupt copy removes it: a write skips an object of the right size
    // unread (no download), so the copy must not stay for the next write to keep.
    corrupt(hash, &bad);
    assert!(matches!(store.read_artifact(hash), Err(StoreError::ArtifactCorrupt { .. })));
    assert!(matches!(store.read_artifact(hash), Err(StoreError::ArtifactMissing { .. })), "removed");
    let report = p.run(store).unwrap().into_result().unwrap();
    let label = report.step("label").unwrap();
    assert_eq!(label.miss_reason.as_ref().map(|r| r.kind()), Some("artifact missing"));
    assert_eq!(read(hash), good, "written again");
    assert_eq!(p.run(store).unwrap().count(StepStatus::Cached), report.steps().len());
}

/// Several handles on the same objects put the same artifact at once (create-only writes that
/// find it there): every put succeeds and one sound object remains.
pub fn racing_puts_are_harmless(handles: &[ObjectArtifacts]) {
    let bytes: Vec<u8> = (0..(1u32 << 20)).map(|i| (i % 251) as u8).collect();
    let hash = hash_bytes(&bytes);
    let barrier = Barrier::new(handles.len() * 2);
    std::thread::scope(|scope| {
        for handle in handles {
            for unsynced in [false, true] {
                let (barrier, bytes) = (&barrier, &bytes);
                scope.spawn(move || {
                    barrier.wait();
                    if unsynced { handle.put_unsynced(hash, bytes) } else { handle.put(hash, bytes) }
                        .unwrap();
                });
            }
        }
    });
    // Once more, one after the other: the object is there and sound.
    handles[0].put(hash, &bytes).unwrap();
    for handle in handles {
        assert_eq!(handle.get(hash).unwrap().as_deref(), Some(&bytes[..]));
    }
    let mut listed = Vec::new();
    handles[0]
        .list(&mut |entry| {
            listed.push(entry);
            Ok(())
        })
        .unwrap();
    let ours: Vec<_> = listed.iter().filter(|e| e.hash == Some(hash)).collect();
    assert_eq!(ours.len(), 1, "{listed:?}");
    assert_eq!(ours[0].size, bytes.len() as u64);
    assert!(!ours[0].temp);
}

/// A put that finds wrong bytes under the name replaces them, and says so in a warning that
/// names the object; a put that finds the right bytes warns of nothing.
pub fn a_wrong_object_is_overwritten_by_put(artifacts: &ObjectArtifacts) {
    let hash = hash_bytes(b"the right bytes");
    overwrite_object(artifacts.object_store(), &artifacts.object_path(hash), b"the wrong bytes");
    let warnings = warnings_of(|| artifacts.put(hash, b"the right bytes").unwrap());
    assert_eq!(artifacts.get(hash).unwrap().as_deref(), Some(&b"the right bytes"[..]));
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("does not hash to its name"), "{warnings:?}");
    assert!(warnings[0].contains(&artifacts.location_of(hash)), "{warnings:?}");
    let warnings = warnings_of(|| artifacts.put(hash, b"the right bytes").unwrap());
    assert!(warnings.is_empty(), "{warnings:?}");
}

/// The warnings `f` logs on this thread, each as its fields (`name=value`, space-separated).
pub fn warnings_of(f: impl FnOnce()) -> Vec<String> {
    use std::sync::Mutex;
    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Level, Metadata, Subscriber};

    struct Warnings(Mutex<Vec<String>>);
    struct Fields(String);
    impl Visit for Fields {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            self.0.push_str(&format!("{}={value:?} ", field.name()));
        }
    }
    impl Subscriber for Warnings {
        fn enabled(&self, metadata: &Metadata<'_>) -> bool {
            *metadata.level() <= Level::WARN
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            let mut fields = Fields(String::new());
            event.record(&mut fields);
            self.0.lock().unwrap().push(fields.0);
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }
    let warnings = Arc::new(Warnings(Mutex::new(Vec::new())));
    tracing::subscriber::with_default(Arc::clone(&warnings), f);
    warnings.0.lock().unwrap().clone()
}

/// Garbage collection lists the objects and removes the unreferenced ones; referenced
/// artifacts and objects whose names are not hashes stay.
pub fn gc_removes_only_unreferenced_artifacts(store: &Store, foreign: impl Fn(&str, &[u8])) {
    let (p, _, out) = pipeline(3);
    p.run(store).unwrap().into_result().unwrap();
    let orphan = store.put_artifact(b"referenced by no row").unwrap();
    foreign("notes/readme.txt", b"not an artifact");
    let report = store.gc_with(GcOptions { grace: std::time::Duration::ZERO }).unwrap();
    assert_eq!(report.artifacts_removed, 1, "{report:?}");
    assert_eq!(report.bytes_freed, b"referenced by no row".len() as u64);
    assert!(matches!(store.read_artifact(orphan), Err(StoreError::ArtifactMissing { .. })));
    assert!(report.artifacts_kept >= 2, "{report:?}");
    let again = p.run(store).unwrap();
    assert_eq!(again.count(StepStatus::Cached), again.steps().len(), "{again}");
    assert_eq!(again.get(out).unwrap(), "sum of squares: 14");
}
