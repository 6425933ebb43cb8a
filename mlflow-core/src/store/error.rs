//! What can go wrong with the store.

use std::io;
use std::path::PathBuf;

use crate::codec::ContentHash;

/// What can go wrong with the store.
///
/// ```
/// use mlflow_core::store::{Store, StoreError};
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::write(dir.path().join("file"), b"").unwrap();
/// let err = Store::open(dir.path().join("file").join("store")).unwrap_err();
/// assert!(matches!(err, StoreError::Unwritable { .. }));
/// assert!(err.to_string().contains("choose a writable folder"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The folder cannot be created or written.
    #[error("cannot use `{}` as an mlflow store: {source}; choose a writable folder (set MLFLOW_HOME or pass another path to Store::open)", path.display())]
    Unwritable {
        /// The folder.
        path: PathBuf,
        /// The operating system's reason.
        source: io::Error,
    },
    /// The store was written by a newer mlflow.
    #[error("the store at `{}` has format version {found}, but this mlflow reads up to version {supported}; upgrade mlflow (it is never read with an older format)", path.display())]
    NewerFormat {
        /// The store folder.
        path: PathBuf,
        /// Format found in the database.
        found: u32,
        /// Highest format this build reads.
        supported: u32,
    },
    /// The store was written by a pre-release mlflow whose format this build does not migrate.
    #[error("the store at `{}` has format version {found}, written by a pre-release mlflow; this mlflow reads version {supported} and does not migrate pre-release stores: move the folder away (or delete it) and rerun to start a new store", path.display())]
    OlderFormat {
        /// The store folder.
        path: PathBuf,
        /// Format found in the database.
        found: u32,
        /// The format this build reads.
        supported: u32,
    },
    /// One room's tables were written by a newer mlflow.
    #[error(
        "the {room} tables of the store at `{location}` have schema version {found}, but this mlflow knows up to version {supported}; upgrade mlflow (they are never read with an older schema)"
    )]
    NewerRoom {
        /// The metadata database.
        location: String,
        /// The room (`cache`, `runs`, `registry`, ...).
        room: String,
        /// Version found.
        found: u32,
        /// Highest version this build knows.
        supported: u32,
    },
    /// The metadata database failed.
    #[error("store database `{location}`: {source}")]
    Database {
        /// The database (file path or URL).
        location: String,
        /// The database's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A row of the metadata database does not have the shape this build expects.
    #[error("the store database holds an unexpected value: {detail}; was it written by another program?")]
    Schema {
        /// Which column held what.
        detail: String,
    },
    /// An artifact file could not be read or written.
    #[error("artifact file `{}`: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: io::Error,
    },
    /// The artifact is not in the store.
    #[error("artifact {} is missing from the store (expected at `{location}`)", hash.short())]
    ArtifactMissing {
        /// The artifact's hash.
        hash: ContentHash,
        /// Where it should be.
        location: String,
    },
    /// The artifact's bytes do not hash to its name.
    #[error("artifact {} is corrupt: its bytes hash to {} (at `{location}`)", expected.short(), actual.short())]
    ArtifactCorrupt {
        /// The hash it should have.
        expected: ContentHash,
        /// The hash of what is there.
        actual: ContentHash,
        /// Where it is.
        location: String,
    },
    /// Garbage collection found tables of rooms this build does not know, whose references it
    /// cannot read: collecting now could delete artifacts they keep.
    #[error("not collecting garbage in `{}`: it holds tables of {} this build of mlflow does not know ({}), whose artifact references it cannot read; run gc with the program that wrote them (or pass their rooms to Store::gc_with_rooms)", path.display(), if rooms.len() == 1 { "a room" } else { "rooms" }, rooms.join(", "))]
    UnknownRooms {
        /// The store folder.
        path: PathBuf,
        /// The rooms.
        rooms: Vec<String>,
    },
}
