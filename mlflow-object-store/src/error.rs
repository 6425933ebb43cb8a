//! What can go wrong opening an object artifact store.

use std::io;
use std::path::PathBuf;

use mlflow_core::store::StoreError;

/// What can go wrong opening an object artifact store (reading and writing artifacts reports
/// [`StoreError`]s, like every other artifact backend).
///
/// URLs in messages are shown without user information, query or fragment.
///
/// ```
/// use mlflow_object_store::{ObjectArtifacts, OpenError};
/// let err = ObjectArtifacts::from_url("ftp://host/artifacts").unwrap_err();
/// assert!(matches!(err, OpenError::UnknownScheme { .. }));
/// assert!(err.to_string().contains("s3://"), "{err}");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The text is not a URL this crate reads.
    #[error("artifact store URL `{url}`: {reason}")]
    BadUrl {
        /// The URL, without user information, query or fragment.
        url: String,
        /// What is wrong with it and what to write instead.
        reason: String,
    },
    /// The URL carries a user name or password: credentials are read from the environment only.
    #[error(
        "artifact store URL `{url}` carries credentials; they are never read from a URL (nor logged): remove them and set the backend's standard environment variables instead ({hint})"
    )]
    CredentialsInUrl {
        /// The URL, without the credentials.
        url: String,
        /// The variables to set for this scheme.
        hint: &'static str,
    },
    /// No backend has this scheme.
    #[error(
        "unknown artifact store scheme `{scheme}://` in `{url}`; mlflow-object-store reads s3:// or s3a:// (cargo feature `s3`), gs:// (feature `gcs`), az:// or azure:// (feature `azure`), file:///absolute/path and memory://"
    )]
    UnknownScheme {
        /// The scheme found.
        scheme: String,
        /// The URL, without user information, query or fragment.
        url: String,
    },
    /// The backend of this scheme was not compiled in.
    #[error(
        "`{scheme}://` artifact stores need the cargo feature `{feature}` of mlflow-object-store, which this build does not have; turn it on: `mlflow-object-store = {{ version = \"{version}\", features = [\"{feature}\"] }}` in Cargo.toml, or `--features mlflow-object-store/{feature}`"
    )]
    FeatureOff {
        /// The scheme asked for.
        scheme: String,
        /// The cargo feature that brings its backend.
        feature: &'static str,
        /// This crate's version, for the line to write.
        version: &'static str,
    },
    /// The backend refused its configuration (a missing region or bucket, a bad endpoint...).
    #[error("cannot open the artifact store `{location}`: {source}")]
    Backend {
        /// The store (`s3://bucket/prefix`, ...).
        location: String,
        /// The backend's reason.
        source: object_store::Error,
    },
    /// A local folder or the runtime could not be set up.
    #[error("cannot open the artifact store at `{}`: {source}", path.display())]
    Io {
        /// The folder.
        path: PathBuf,
        /// The operating system's reason.
        source: io::Error,
    },
    /// The metadata side of the store could not be opened (see [`crate::open_store`]).
    #[error(transparent)]
    Store(#[from] StoreError),
}
