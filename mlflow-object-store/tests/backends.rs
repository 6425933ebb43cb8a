//! The artifact-store contract on the backends that need no network: `memory://` and
//! `file://`. A pipeline's second run is all cache hits, racing writers are harmless, a damaged
//! object is a miss that the next run repairs, garbage collection lists and removes objects.

mod support;

use std::sync::Arc;

use mlflow_core::store::ArtifactStore;
use mlflow_object_store::object_store::ObjectStore;
use mlflow_object_store::object_store::local::LocalFileSystem;
use mlflow_object_store::object_store::memory::InMemory;
use mlflow_object_store::object_store::path::Path as ObjectPath;
use mlflow_object_store::{ObjectArtifacts, open_store};
use support::*;

fn file_url(dir: &std::path::Path) -> String {
    format!("file://{}", dir.display())
}

#[test]
fn memory_store_second_run_is_all_cache_hits() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path(), "memory://runs").unwrap();
    assert_eq!(store.artifacts().location(), "memory://runs");
    first_run_computes_second_run_hits(&store);
}

#[test]
fn file_store_second_run_is_all_cache_hits_in_the_local_layout() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = dir.path().join("bucket");
    let store = open_store(&dir.path().join("meta"), &file_url(&bucket)).unwrap();
    first_run_computes_second_run_hits(&store);
    // The layout of a local store's artifacts folder: ab/cdef…, nothing else.
    let mut files = 0;
    for shard in std::fs::read_dir(&bucket).unwrap() {
        let shard = shard.unwrap();
        let shard_name = shard.file_name().into_string().unwrap();
        assert_eq!(shard_name.len(), 2, "{shard_name}");
        for file in std::fs::read_dir(shard.path()).unwrap() {
            let name = file.unwrap().file_name().into_string().unwrap();
            let hash = mlflow_core::codec::ContentHash::from_hex(&format!("{shard_name}{name}"))
                .unwrap_or_else(|| panic!("{shard_name}/{name} is named by a hash"));
            assert!(store.read_artifact(hash).is_ok());
            files += 1;
        }
    }
    assert!(files >= 4, "{files}");
}

#[test]
fn a_store_reopened_on_the_same_bucket_hits_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let url = file_url(&dir.path().join("bucket"));
    let (p, _, out) = pipeline(5);
    let first = p.run(&open_store(&dir.path().join("meta"), &url).unwrap()).unwrap();
    let again = p.run(&open_store(&dir.path().join("meta"), &url).unwrap()).unwrap();
    assert_eq!(again.count(mlflow_core::exec::StepStatus::Cached), again.steps().len(), "{again}");
    assert_eq!(first.get(out).unwrap(), again.get(out).unwrap());
}

#[test]
fn memory_racing_duplicate_puts_are_harmless() {
    let shared: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let handles: Vec<_> =
        (0..3).map(|_| ObjectArtifacts::new(shared.clone(), "race", "memory://race").unwrap()).collect();
    racing_puts_are_harmless(&handles);
}

#[test]
fn file_racing_duplicate_puts_are_harmless() {
    let dir = tempfile::tempdir().unwrap();
    let url = file_url(dir.path());
    let handles: Vec<_> = (0..3).map(|_| ObjectArtifacts::from_url(&url).unwrap()).collect();
    racing_puts_are_harmless(&handles);
    // No staged upload is left behind.
    let shards: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(shards.len(), 1);
    let files: Vec<_> = std::fs::read_dir(shards[0].as_ref().unwrap().path()).unwrap().collect();
    assert_eq!(files.len(), 1, "{files:?}");
}

#[test]
fn a_wrong_object_under_a_hash_is_overwritten_by_the_next_put() {
    a_wrong_object_is_overwritten_by_put(&ObjectArtifacts::from_url("memory://p").unwrap());
    let dir = tempfile::tempdir().unwrap();
    a_wrong_object_is_overwritten_by_put(&ObjectArtifacts::from_url(&file_url(dir.path())).unwrap());
}

#[test]
fn memory_corrupted_object_is_a_miss_and_the_next_run_repairs_it() {
    let dir = tempfile::tempdir().unwrap();
    let shared: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let artifacts = ObjectArtifacts::new(shared.clone(), "a/b", "memory://a/b").unwrap();
    let paths = ObjectArtifacts::new(shared.clone(), "a/b", "memory://a/b").unwrap();
    let store = store_on(dir.path(), artifacts);
    a_corrupted_object_is_a_miss_and_repaired(
        &store,
        |hash, bytes| overwrite_object(&shared, &paths.object_path(hash), bytes),
        |hash| read_object(&shared, &paths.object_path(hash)),
    );
}

#[test]
fn file_corrupted_object_is_a_miss_and_the_next_run_repairs_it() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = dir.path().join("bucket");
    let store = open_store(&dir.path().join("meta"), &file_url(&bucket)).unwrap();
    // Another client of the same folder, through object_store.
    let direct: Arc<dyn ObjectStore> = Arc::new(LocalFileSystem::new_with_prefix(&bucket).unwrap());
    let path = |hash: mlflow_core::codec::ContentHash| {
        let hex = hash.to_hex();
        ObjectPath::from_iter([&hex[..2], &hex[2..]])
    };
    a_corrupted_object_is_a_miss_and_repaired(
        &store,
        |hash, bytes| overwrite_object(&direct, &path(hash), bytes),
        |hash| read_object(&direct, &path(hash)),
    );
}

#[test]
fn gc_removes_unreferenced_objects_and_keeps_foreign_ones() {
    let dir = tempfile::tempdir().unwrap();
    let shared: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let store =
        store_on(dir.path(), ObjectArtifacts::new(shared.clone(), "cache", "memory://cache").unwrap());
    let outside = ObjectPath::from("elsewhere/file");
    overwrite_object(&shared, &outside, b"outside the prefix");
    gc_removes_only_unreferenced_artifacts(&store, |key, bytes| {
        overwrite_object(&shared, &ObjectPath::from(format!("cache/{key}")), bytes)
    });
    assert_eq!(read_object(&shared, &ObjectPath::from("cache/notes/readme.txt")), b"not an artifact");
    assert_eq!(read_object(&shared, &outside), b"outside the prefix");

    let dir = tempfile::tempdir().unwrap();
    let bucket = dir.path().join("bucket");
    let store = open_store(&dir.path().join("meta"), &file_url(&bucket)).unwrap();
    gc_removes_only_unreferenced_artifacts(&store, |key, bytes| {
        let path = bucket.join(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    });
    assert!(bucket.join("notes/readme.txt").exists());
}

#[test]
fn list_names_each_artifact_by_its_hash() {
    let artifacts = ObjectArtifacts::from_url("memory://deep/prefix").unwrap();
    let hashes: Vec<_> = (0..10u8)
        .map(|i| {
            let bytes = vec![i; 100];
            let hash = mlflow_core::codec::hash_bytes(&bytes);
            artifacts.put(hash, &bytes).unwrap();
            hash
        })
        .collect();
    let mut listed = Vec::new();
    artifacts
        .list(&mut |entry| {
            listed.push(entry);
            Ok(())
        })
        .unwrap();
    assert_eq!(listed.len(), 10);
    for entry in &listed {
        let hash = entry.hash.expect("named by a hash");
        assert!(hashes.contains(&hash));
        assert_eq!(entry.key, artifacts.object_path(hash).to_string());
        assert_eq!(entry.size, 100);
        assert!(entry.modified.is_some());
    }
    artifacts.remove(&listed[0]).unwrap();
    artifacts.remove(&listed[0]).unwrap(); // gone already: not an error
    assert!(artifacts.get(listed[0].hash.unwrap()).unwrap().is_none());
    assert!(artifacts.location_of(hashes[0]).starts_with("memory://deep/prefix/"));
    assert!(ObjectArtifacts::from_url("memory://").unwrap().location_of(hashes[0]).starts_with("memory://"));
}

#[test]
fn works_when_called_from_inside_an_async_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let url = file_url(&dir.path().join("bucket"));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let store = open_store(&dir.path().join("meta"), &url).unwrap();
        first_run_computes_second_run_hits(&store);
        drop(store);
    });
}

/// An object store that counts the reads of object bodies (GETs that are not HEADs).
#[derive(Debug)]
struct CountingReads {
    inner: Arc<dyn ObjectStore>,
    reads: std::sync::atomic::AtomicUsize,
}

impl std::fmt::Display for CountingReads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CountingReads({})", self.inner)
    }
}

mod counting {
    use futures_util::stream::BoxStream;
    use mlflow_object_store::object_store::path::Path;
    use mlflow_object_store::object_store::{
        CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
        PutMultipartOptions, PutOptions, PutPayload, PutResult, Result,
    };

    #[async_trait::async_trait]
    impl ObjectStore for super::CountingReads {
        async fn put_opts(
            &self,
            location: &Path,
            payload: PutPayload,
            opts: PutOptions,
        ) -> Result<PutResult> {
            self.inner.put_opts(location, payload, opts).await
        }
        async fn put_multipart_opts(
            &self,
            location: &Path,
            opts: PutMultipartOptions,
        ) -> Result<Box<dyn MultipartUpload>> {
            self.inner.put_multipart_opts(location, opts).await
        }
        async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
            if !options.head {
                self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            self.inner.get_opts(location, options).await
        }
        fn delete_stream(
            &self,
            locations: BoxStream<'static, Result<Path>>,
        ) -> BoxStream<'static, Result<Path>> {
            self.inner.delete_stream(locations)
        }
        fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
            self.inner.list(prefix)
        }
        async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
            self.inner.list_with_delimiter(prefix).await
        }
        async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
            self.inner.copy_opts(from, to, options).await
        }
    }
}

/// Writing an artifact that is already stored costs a HEAD, not a download of its bytes; a
/// pipeline's rerun reads only what it needs.
#[test]
fn writing_an_artifact_already_stored_reads_nothing_back() {
    let dir = tempfile::tempdir().unwrap();
    let counting = Arc::new(CountingReads { inner: Arc::new(InMemory::new()), reads: Default::default() });
    let artifacts = ObjectArtifacts::new(counting.clone(), "runs", "memory://runs").unwrap();
    let store = store_on(dir.path(), artifacts);
    let reads = || counting.reads.load(std::sync::atomic::Ordering::SeqCst);
    let bytes = vec![7u8; 1 << 20];
    let hash = store.put_artifact(&bytes).unwrap();
    assert_eq!(reads(), 0, "a new artifact is written without reading");
    assert_eq!(store.put_artifact(&bytes).unwrap(), hash);
    assert_eq!(reads(), 0, "a stored artifact is not downloaded to be written again");
    assert_eq!(store.read_artifact(hash).unwrap(), bytes);
    assert_eq!(reads(), 1);
}
