//! [`ObjectArtifacts`]: the artifact-store seam of `mlflow-core` over `object_store`.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use futures_util::StreamExt as _;
use mlflow_core::codec::{ContentHash, hash_bytes};
use mlflow_core::store::{ArtifactStore, Listed, Peek, StoreError};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt as _, PutMode, PutPayload};

use crate::OpenError;
use crate::runtime::Runtime;

/// Content-addressed artifacts in an object store: `PREFIX/ab/cdef…`, the layout of
/// [`mlflow_core::store::LocalArtifacts`] (the first two hex digits of the BLAKE3 hash name a
/// shard), under a prefix inside the bucket.
///
/// Writes are create-only: an object that is already there (a racing writer's, or an earlier
/// run's) is read back and kept when its bytes hash to its name, and overwritten, with a
/// warning, when they do not. Every read is verified by [`mlflow_core::store::Store`], so a
/// damaged object is a cache miss, repaired by the next write of that artifact.
///
/// The store's futures run on a private current-thread tokio runtime: the engine calls it
/// synchronously, from any number of threads.
///
/// ```
/// use mlflow_core::store::ArtifactStore;
/// use mlflow_object_store::ObjectArtifacts;
///
/// let artifacts = ObjectArtifacts::from_url("memory://team/artifacts")?;
/// assert_eq!(artifacts.location(), "memory://team/artifacts");
/// let hash = mlflow_core::codec::hash_bytes(b"bytes");
/// artifacts.put(hash, b"bytes")?;
/// assert_eq!(artifacts.get(hash)?.as_deref(), Some(&b"bytes"[..]));
/// assert!(artifacts.local_path(hash).is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ObjectArtifacts {
    store: Arc<dyn ObjectStore>,
    /// A second handle on the same objects whose writes do not wait for the disk.
    unsynced: Option<Arc<dyn ObjectStore>>,
    prefix: ObjectPath,
    location: String,
    runtime: Runtime,
}

impl ObjectArtifacts {
    /// Opens the artifact store a URL names:
    ///
    /// - `s3://bucket/prefix` (or `s3a://`), with the cargo feature `s3`;
    /// - `gs://bucket/prefix`, with the feature `gcs`;
    /// - `az://container/prefix` (or `azure://`), with the feature `azure`;
    /// - `file:///absolute/path`: a local folder (created if needed), written with fsync;
    /// - `memory://` (or `memory://prefix`): a new, empty store in this process's memory.
    ///
    /// Credentials, region, endpoint and the other settings of a cloud backend come from its
    /// standard environment variables only (`AWS_ACCESS_KEY_ID`, `AWS_REGION`,
    /// `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`, `GOOGLE_APPLICATION_CREDENTIALS`,
    /// `AZURE_STORAGE_ACCOUNT_NAME`, ...) or the platform's instance credentials: a URL with a
    /// user name, password or query is refused, and none is ever logged.
    ///
    /// An unknown scheme, or one whose feature this build lacks, is an error that names the
    /// feature to turn on.
    ///
    /// ```
    /// use mlflow_core::store::ArtifactStore;
    /// use mlflow_object_store::{ObjectArtifacts, OpenError};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let url = format!("file://{}", dir.path().join("artifacts").display());
    /// let artifacts = ObjectArtifacts::from_url(&url)?;
    /// assert!(artifacts.location().starts_with("file:///"));
    ///
    /// assert!(matches!(
    ///     ObjectArtifacts::from_url("s3://key:secret@bucket/x"),
    ///     Err(OpenError::CredentialsInUrl { .. })
    /// ));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_url(url: &str) -> Result<ObjectArtifacts, OpenError> {
        let opened = crate::url::open(url)?;
        let mut artifacts = ObjectArtifacts::new(opened.store, "", opened.location)?;
        artifacts.prefix = opened.prefix;
        artifacts.unsynced = opened.unsynced;
        Ok(artifacts)
    }

    /// The artifacts under `prefix` (`""` for the top) of an object store built by the caller;
    /// `location` names it in messages (`s3://bucket/prefix`): keep credentials out of it.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use mlflow_core::store::ArtifactStore;
    /// use mlflow_object_store::{ObjectArtifacts, object_store::memory::InMemory};
    ///
    /// let shared = Arc::new(InMemory::new());
    /// let one = ObjectArtifacts::new(shared.clone(), "cache", "memory://cache")?;
    /// let two = ObjectArtifacts::new(shared, "cache", "memory://cache")?;
    /// let hash = mlflow_core::codec::hash_bytes(b"x");
    /// one.put(hash, b"x")?;
    /// assert_eq!(two.get(hash)?.as_deref(), Some(&b"x"[..]));
    /// assert_eq!(two.object_path(hash).as_ref(), format!("cache/{}/{}", &hash.to_hex()[..2], &hash.to_hex()[2..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(
        store: Arc<dyn ObjectStore>,
        prefix: &str,
        location: impl Into<String>,
    ) -> Result<ObjectArtifacts, OpenError> {
        let location = location.into();
        let prefix = crate::url::parse_prefix(prefix, &location)?;
        let runtime =
            Runtime::new().map_err(|source| OpenError::Io { path: PathBuf::from(&location), source })?;
        Ok(ObjectArtifacts { store, unsynced: None, prefix, location, runtime })
    }

    /// The object store the artifacts are in (for tools and tests that reach the objects
    /// directly).
    ///
    /// ```
    /// use mlflow_core::store::ArtifactStore;
    /// use mlflow_object_store::{ObjectArtifacts, object_store::ObjectStoreExt};
    ///
    /// let artifacts = ObjectArtifacts::from_url("memory://")?;
    /// let hash = mlflow_core::codec::hash_bytes(b"four");
    /// artifacts.put(hash, b"four")?;
    /// let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    /// let meta = runtime.block_on(artifacts.object_store().head(&artifacts.object_path(hash)))?;
    /// assert_eq!(meta.size, 4);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn object_store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The folder of the artifacts inside the bucket (empty for the top).
    ///
    /// ```
    /// let artifacts = mlflow_object_store::ObjectArtifacts::from_url("memory://a/b/")?;
    /// assert_eq!(artifacts.prefix().as_ref(), "a/b");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn prefix(&self) -> &ObjectPath {
        &self.prefix
    }

    /// The object an artifact lives in (whether or not it exists): `PREFIX/ab/cdef…`.
    ///
    /// ```
    /// let artifacts = mlflow_object_store::ObjectArtifacts::from_url("memory://p")?;
    /// let hash = mlflow_core::codec::hash_bytes(b"x");
    /// let hex = hash.to_hex();
    /// assert_eq!(artifacts.object_path(hash).as_ref(), format!("p/{}/{}", &hex[..2], &hex[2..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn object_path(&self, hash: ContentHash) -> ObjectPath {
        let hex = hash.to_hex();
        self.prefix.clone().join(&hex[..2]).join(&hex[2..])
    }

    fn failed(&self, hash: Option<ContentHash>, error: object_store::Error) -> StoreError {
        let at = match hash {
            Some(hash) => self.location_of(hash),
            None => self.location.clone(),
        };
        StoreError::Io { path: PathBuf::from(at), source: io::Error::from(error) }
    }

    /// Writes create-only through `store`; settles an object that is already there.
    fn write(&self, store: &Arc<dyn ObjectStore>, hash: ContentHash, bytes: &[u8]) -> Result<(), StoreError> {
        let path = self.object_path(hash);
        let payload = PutPayload::from(Bytes::copy_from_slice(bytes));
        let created = self.runtime.block_on(store.put_opts(&path, payload.clone(), PutMode::Create.into()));
        match created {
            Ok(_) => Ok(()),
            Err(object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. }) => {
                match self.get(hash)? {
                    Some(existing) if hash_bytes(&existing) == hash => {
                        tracing::debug!(artifact = %hash.short(), "artifact already stored (by another writer)");
                        Ok(())
                    }
                    Some(_) => {
                        tracing::warn!(
                            location = %self.location_of(hash),
                            "the stored artifact object does not hash to its name: overwriting it with the right bytes"
                        );
                        self.overwrite(store, hash, &path, payload)
                    }
                    // Removed meanwhile (by garbage collection): write it again.
                    None => self.overwrite(store, hash, &path, payload),
                }
            }
            Err(object_store::Error::NotImplemented { .. } | object_store::Error::NotSupported { .. }) => {
                // A backend without conditional writes: the bytes are the same whoever wins.
                tracing::debug!(location = %self.location, "no create-only writes here: overwriting");
                self.overwrite(store, hash, &path, payload)
            }
            Err(error) => Err(self.failed(Some(hash), error)),
        }
    }

    fn overwrite(
        &self,
        store: &Arc<dyn ObjectStore>,
        hash: ContentHash,
        path: &ObjectPath,
        payload: PutPayload,
    ) -> Result<(), StoreError> {
        self.runtime
            .block_on(store.put_opts(path, payload, PutMode::Overwrite.into()))
            .map(|_| ())
            .map_err(|error| self.failed(Some(hash), error))
    }

    /// Deletes an object; one that is not there is fine.
    fn delete(&self, path: &ObjectPath, hash: Option<ContentHash>) -> Result<(), StoreError> {
        match self.runtime.block_on(self.store.delete(path)) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(self.failed(hash, error)),
        }
    }

    fn listed(&self, meta: ObjectMeta) -> Listed {
        let hash = meta.location.prefix_match(&self.prefix).and_then(|parts| {
            let parts: Vec<_> = parts.collect();
            match parts.as_slice() {
                [shard, rest] if shard.as_ref().len() == 2 => {
                    ContentHash::from_hex(&format!("{}{}", shard.as_ref(), rest.as_ref()))
                }
                _ => None,
            }
        });
        let millis = meta.last_modified.timestamp_millis();
        Listed {
            hash,
            // Object stores publish whole objects; a local folder hides its staged uploads.
            temp: false,
            size: meta.size,
            modified: Some(UNIX_EPOCH + Duration::from_millis(u64::try_from(millis).unwrap_or(0))),
            key: meta.location.to_string(),
        }
    }
}

impl ArtifactStore for ObjectArtifacts {
    fn location(&self) -> String {
        self.location.clone()
    }

    fn location_of(&self, hash: ContentHash) -> String {
        let hex = hash.to_hex();
        let separator = if self.location.ends_with('/') { "" } else { "/" };
        format!("{}{separator}{}/{}", self.location, &hex[..2], &hex[2..])
    }

    fn local_path(&self, _hash: ContentHash) -> Option<PathBuf> {
        None
    }

    fn get(&self, hash: ContentHash) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.object_path(hash);
        let store = &self.store;
        let read = self.runtime.block_on(async {
            match store.get(&path).await {
                Ok(found) => found.bytes().await.map(Some),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(error) => Err(error),
            }
        });
        read.map(|bytes| bytes.map(Vec::from)).map_err(|error| self.failed(Some(hash), error))
    }

    fn put(&self, hash: ContentHash, bytes: &[u8]) -> Result<(), StoreError> {
        self.write(&self.store, hash, bytes)
    }

    fn put_unsynced(&self, hash: ContentHash, bytes: &[u8]) -> Result<(), StoreError> {
        self.write(self.unsynced.as_ref().unwrap_or(&self.store), hash, bytes)
    }

    fn list(&self, visit: &mut dyn FnMut(Listed) -> Result<(), StoreError>) -> Result<(), StoreError> {
        let prefix = (!self.prefix.as_ref().is_empty()).then_some(&self.prefix);
        let mut objects = self.store.list(prefix);
        while let Some(next) = self.runtime.block_on(objects.next()) {
            let meta = next.map_err(|error| self.failed(None, error))?;
            visit(self.listed(meta))?;
        }
        Ok(())
    }

    fn remove(&self, entry: &Listed) -> Result<(), StoreError> {
        let path = ObjectPath::parse(&entry.key).map_err(|error| self.failed(entry.hash, error.into()))?;
        self.delete(&path, entry.hash)
    }

    /// A HEAD request: writing an artifact that is already there costs no download.
    fn peek(&self, hash: ContentHash) -> Result<Peek, StoreError> {
        match self.runtime.block_on(self.store.head(&self.object_path(hash))) {
            Ok(meta) => Ok(Peek::Present { size: meta.size }),
            Err(object_store::Error::NotFound { .. }) => Ok(Peek::Absent),
            Err(error) => Err(self.failed(Some(hash), error)),
        }
    }

    fn discard(&self, hash: ContentHash) -> Result<(), StoreError> {
        tracing::warn!(
            location = %self.location_of(hash),
            "the stored artifact object does not hash to its name: removed, to be written again"
        );
        self.delete(&self.object_path(hash), Some(hash))
    }
}
