//! Where a store's parts live, chosen by URL: the folder (its lock and leases, and by default
//! everything), the artifacts (a folder, or object storage with the `object-store` feature) and
//! the metadata (SQLite in the folder, or PostgreSQL with the `postgres` feature). The pipeline
//! binary's `run` and `step` and the command line open their store through it, so one set of
//! flags and variables means the same everywhere.

use std::path::{Path, PathBuf};

use mlflow_core::store::{ArtifactStore, LocalArtifacts, MetaStore, SqliteMeta, Store, StoreError};

/// The variable naming the artifacts URL when no flag does.
pub const ARTIFACTS_VAR: &str = "MLFLOW_ARTIFACTS";
/// The variable naming the metadata URL when no flag does.
pub const METADATA_VAR: &str = "MLFLOW_METADATA";

/// The SQLite database of a store folder (as [`Store::open`] names it).
const DB_FILE: &str = "mlflow.db";
/// The artifact folder of a store folder (as [`Store::open`] names it).
const ARTIFACTS_DIR: &str = "artifacts";

/// Where a store is: a folder, with its artifacts and its metadata optionally elsewhere.
///
/// - `artifacts`: `file:///...`, `memory://...` (feature `object-store`), `s3://bucket/prefix`
///   (feature `s3`), `gs://` and `az://` (through `mlflow-object-store`'s features); none: the
///   folder's `artifacts/`.
/// - `metadata`: `postgres://user@host:port/database` (feature `postgres`; the password from
///   `PGPASSWORD`, never from a URL that is logged or exported); none: the folder's `mlflow.db`.
///
/// ```
/// use mlflow::StoreLocation;
/// let dir = tempfile::tempdir()?;
/// let store = StoreLocation::new(dir.path()).open()?;
/// assert!(store.artifact_path(store.put_artifact(b"abc")?).is_some(), "a file in the folder");
///
/// let err = StoreLocation::new(dir.path()).metadata("mysql://db/ml").open().unwrap_err();
/// assert!(err.to_string().contains("postgres://"), "{err}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreLocation {
    folder: PathBuf,
    artifacts: Option<String>,
    metadata: Option<String>,
}

/// Why a store could not be opened where a [`StoreLocation`] says.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenStoreError {
    /// The folder was given a URL.
    #[error(
        "store `{folder}`: the store's folder is a local path (its lock and leases); give object storage with --artifacts URL (or ${ARTIFACTS_VAR}) and PostgreSQL with --metadata URL (or ${METADATA_VAR})"
    )]
    FolderIsUrl {
        /// What was given as the folder.
        folder: String,
    },
    /// The metadata URL names no database this library keeps metadata in.
    #[error(
        "metadata `{url}`: unknown database; give postgres://USER@HOST:PORT/DATABASE (PostgreSQL), or nothing for the SQLite file in the store folder"
    )]
    UnknownMetadata {
        /// The URL, up to its scheme.
        url: String,
    },
    /// The backend the URL needs was not compiled in.
    #[error(
        "{what} `{url}`: this binary was built without mlflow's `{feature}` feature; build it with `--features {feature}` (mlflow-pipelines = {{ features = [\"{feature}\"] }})"
    )]
    FeatureOff {
        /// "artifacts" or "metadata".
        what: &'static str,
        /// The URL, up to its scheme.
        url: String,
        /// The cargo feature of `mlflow-pipelines` to turn on.
        feature: &'static str,
    },
    /// Opening the store or one of its backends failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The artifact or metadata backend refused its URL or could not connect.
    #[error(transparent)]
    Backend(Box<dyn std::error::Error + Send + Sync>),
}

impl StoreLocation {
    /// Everything in `folder`: what [`Store::open`] opens.
    pub fn new(folder: impl Into<PathBuf>) -> StoreLocation {
        StoreLocation { folder: folder.into(), artifacts: None, metadata: None }
    }

    /// The location the environment gives: `folder` (else `$MLFLOW_HOME`, else `./.mlflow`),
    /// the artifacts at `$MLFLOW_ARTIFACTS` and the metadata at `$MLFLOW_METADATA` when they are
    /// set and not empty. Flags override them with [`artifacts`](Self::artifacts) and
    /// [`metadata`](Self::metadata).
    ///
    /// ```
    /// let location = mlflow::StoreLocation::from_env(Some("/tmp/store".into()));
    /// assert_eq!(location.folder(), std::path::Path::new("/tmp/store"));
    /// ```
    pub fn from_env(folder: Option<PathBuf>) -> StoreLocation {
        let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
        StoreLocation {
            folder: folder.unwrap_or_else(mlflow_core::store::default_path),
            artifacts: var(ARTIFACTS_VAR),
            metadata: var(METADATA_VAR),
        }
    }

    /// Keeps the artifacts at `url` (see the type's documentation); an empty `url` keeps them in
    /// the folder.
    pub fn artifacts(mut self, url: impl Into<String>) -> StoreLocation {
        self.artifacts = Some(url.into()).filter(|u| !u.is_empty());
        self
    }

    /// Keeps the metadata at `url` (see the type's documentation); an empty `url` keeps it in the
    /// folder's SQLite file.
    pub fn metadata(mut self, url: impl Into<String>) -> StoreLocation {
        self.metadata = Some(url.into()).filter(|u| !u.is_empty());
        self
    }

    /// The folder.
    pub fn folder(&self) -> &Path {
        &self.folder
    }

    /// Whether the metadata is in the folder's SQLite file.
    pub fn is_local_metadata(&self) -> bool {
        self.metadata.is_none()
    }

    /// Whether a store was ever opened here: the folder's SQLite file exists, or the metadata is
    /// in a database (which says so itself once connected).
    pub fn may_exist(&self) -> bool {
        !self.is_local_metadata() || self.folder.join(DB_FILE).is_file()
    }

    /// Opens (creating if needed) the store here.
    pub fn open(&self) -> Result<Store, OpenStoreError> {
        if let Some(scheme) = self.folder.to_str().and_then(|p| p.split_once("://")).map(|(s, _)| s) {
            return Err(OpenStoreError::FolderIsUrl { folder: format!("{scheme}://...") });
        }
        // The metadata first: its URL is the likelier mistake, and nothing is created before it
        // is known to be right.
        let meta = self.open_metadata()?;
        let artifacts: Box<dyn ArtifactStore> = match &self.artifacts {
            None => Box::new(
                LocalArtifacts::open(self.folder.join(ARTIFACTS_DIR))
                    .map_err(|source| StoreError::Unwritable { path: self.folder.clone(), source })?,
            ),
            Some(url) => object_artifacts(url)?,
        };
        Ok(Store::with_backends(&self.folder, artifacts, meta)?)
    }

    fn open_metadata(&self) -> Result<Box<dyn MetaStore>, OpenStoreError> {
        let Some(url) = &self.metadata else {
            std::fs::create_dir_all(&self.folder)
                .map_err(|source| StoreError::Unwritable { path: self.folder.clone(), source })?;
            return Ok(Box::new(SqliteMeta::open(&self.folder.join(DB_FILE))?));
        };
        let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("postgres" | "postgresql") => postgres_meta(url),
            Some(scheme) => Err(OpenStoreError::UnknownMetadata { url: format!("{scheme}://...") }),
            None => Err(OpenStoreError::UnknownMetadata { url: "(no scheme)".into() }),
        }
    }
}

/// The URL's scheme and `://...`, for messages that must not echo a credential.
#[cfg(any(not(feature = "object-store"), not(feature = "postgres")))]
fn scheme_only(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, _)) => format!("{scheme}://..."),
        None => "(no scheme)".into(),
    }
}

#[cfg(feature = "object-store")]
fn object_artifacts(url: &str) -> Result<Box<dyn ArtifactStore>, OpenStoreError> {
    let artifacts = mlflow_object_store::ObjectArtifacts::from_url(url)
        .map_err(|e| OpenStoreError::Backend(Box::new(e)))?;
    Ok(Box::new(artifacts))
}

#[cfg(not(feature = "object-store"))]
fn object_artifacts(url: &str) -> Result<Box<dyn ArtifactStore>, OpenStoreError> {
    Err(OpenStoreError::FeatureOff { what: "artifacts", url: scheme_only(url), feature: "object-store" })
}

#[cfg(feature = "postgres")]
fn postgres_meta(url: &str) -> Result<Box<dyn MetaStore>, OpenStoreError> {
    let meta =
        mlflow_postgres::PostgresMeta::connect(url).map_err(|e| OpenStoreError::Backend(Box::new(e)))?;
    Ok(Box::new(meta))
}

#[cfg(not(feature = "postgres"))]
fn postgres_meta(url: &str) -> Result<Box<dyn MetaStore>, OpenStoreError> {
    Err(OpenStoreError::FeatureOff { what: "metadata", url: scheme_only(url), feature: "postgres" })
}
