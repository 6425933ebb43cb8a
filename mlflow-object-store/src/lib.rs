//! Object-storage artifacts for mlflow-pipelines: the content-addressed artifact store of
//! [`mlflow_core::store`] on S3, Google Cloud Storage, Azure Blob Storage, a local folder or
//! memory, through the [`object_store`] crate.
//!
//! [`ObjectArtifacts`] implements [`ArtifactStore`](mlflow_core::store::ArtifactStore);
//! [`open_store`] makes a [`Store`] of it with the local SQLite metadata. The layout in the
//! bucket is that of a local store's `artifacts/` folder, `PREFIX/ab/cdef…`, and every read is
//! verified by hash in [`Store`], whatever the backend.
//!
//! | URL | backend | cargo feature |
//! | --- | --- | --- |
//! | `s3://bucket/prefix`, `s3a://` | Amazon S3 and S3-compatible servers | `s3` |
//! | `gs://bucket/prefix` | Google Cloud Storage | `gcs` |
//! | `az://container/prefix`, `azure://` | Azure Blob Storage | `azure` |
//! | `file:///absolute/path` | a local folder | none |
//! | `memory://`, `memory://prefix` | this process's memory | none |
//!
//! Credentials and settings come from each backend's standard environment variables (for S3:
//! `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT_URL`,
//! `AWS_ALLOW_HTTP`...) or the platform's instance credentials, never from the URL.
//!
//! `mlflow-core` stays synchronous and free of tokio: this crate drives `object_store` on a
//! private current-thread tokio runtime per [`ObjectArtifacts`].
//!
//! ```
//! use mlflow_core::store::Store;
//!
//! let dir = tempfile::tempdir()?;
//! let store: Store = mlflow_object_store::open_store(dir.path(), "memory://artifacts")?;
//! let hash = store.put_artifact(b"some bytes")?;
//! assert_eq!(store.read_artifact(hash)?, b"some bytes");
//! assert_eq!(store.artifacts().location(), "memory://artifacts");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod artifacts;
mod error;
mod runtime;
mod url;

use std::path::Path;

use mlflow_core::store::{SqliteMeta, Store};

pub use artifacts::ObjectArtifacts;
pub use error::OpenError;
/// The `object_store` crate this one is built on, for building a backend by hand
/// ([`ObjectArtifacts::new`]) or reaching the objects directly.
pub use object_store;

/// The metadata database's file in a store folder (as [`Store::open`] names it).
const DB_FILE: &str = "mlflow.db";

/// Opens a store whose metadata is the local SQLite database in the folder `meta_root` (created
/// if needed; it also holds the store's lock and its handles' leases) and whose artifacts are
/// in the object store `artifacts_url` names (see [`ObjectArtifacts::from_url`]).
///
/// Garbage collection ([`Store::gc`]) removes every artifact under the prefix that this store's
/// own database does not refer to, and its lock is in `meta_root`, on this machine: give each
/// metadata database a prefix of its own, or collect garbage from none of the stores that share
/// one. Machines sharing one cache share their metadata too: a PostgreSQL database
/// (`mlflow-postgres`, or `mlflow::StoreLocation` with `--metadata postgres://...`), whose
/// store lock every machine's writers and collections see.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let artifacts = format!("file://{}", dir.path().join("bucket").display());
/// let store = mlflow_object_store::open_store(&dir.path().join("meta"), &artifacts)?;
/// let hash = store.put_artifact(b"abc")?;
/// assert!(store.artifact_path(hash).is_none(), "artifacts are objects, not store files");
/// assert!(dir.path().join("meta/mlflow.db").exists());
///
/// let err = mlflow_object_store::open_store(dir.path(), "gopher://x").unwrap_err();
/// assert!(err.to_string().contains("unknown artifact store scheme"), "{err}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn open_store(meta_root: &Path, artifacts_url: &str) -> Result<Store, OpenError> {
    let artifacts = ObjectArtifacts::from_url(artifacts_url)?;
    std::fs::create_dir_all(meta_root)
        .map_err(|source| OpenError::Io { path: meta_root.to_path_buf(), source })?;
    let meta = SqliteMeta::open(&meta_root.join(DB_FILE))?;
    let store = Store::with_backends(meta_root, Box::new(artifacts), Box::new(meta))?;
    tracing::debug!(meta = %meta_root.display(), artifacts = %store.artifacts().location(), "store opened");
    Ok(store)
}
