//! The artifact-store seam: content-addressed bytes, written atomically, and the local folder
//! that implements it.
//!
//! An [`ArtifactStore`] keeps opaque bytes under the BLAKE3 hash of those bytes. It does not
//! verify what it returns; [`crate::store::Store`] does, so every backend gets the same
//! guarantee: a hit is never served from bytes that do not hash to their name.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use crate::codec::ContentHash;
use crate::store::{StoreError, now_nanos};

/// Prefix of the temporary files of writes under way (never read as artifacts).
const TEMP_PREFIX: &str = ".tmp-";

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// What an artifact store holds, one entry at a time (see [`ArtifactStore::list`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The artifact's hash; `None` for a leftover of an interrupted write or a foreign file.
    pub hash: Option<ContentHash>,
    /// A temporary file of a write (finished or interrupted).
    pub temp: bool,
    /// Size in bytes.
    pub size: u64,
    /// Last modification, when the backend knows it.
    pub modified: Option<SystemTime>,
    /// The backend's own name for the entry (a path, an object key).
    pub key: String,
}

/// What a backend knows of an artifact without reading it (see [`ArtifactStore::peek`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Peek {
    /// Nothing is stored under the hash.
    Absent,
    /// Something of this size is (unverified: reads verify it).
    Present {
        /// Its size in bytes.
        size: u64,
    },
    /// The backend cannot tell more cheaply than by reading it.
    Unknown,
}

/// Content-addressed bytes: local files, or objects (`mlflow-object-store`).
///
/// Writes must be atomic (a reader sees nothing or the whole artifact) and idempotent (writing
/// the same hash twice is harmless and repairs a damaged copy).
pub trait ArtifactStore: Send + Sync {
    /// Where the store is, for messages.
    fn location(&self) -> String;
    /// Where one artifact is (whether or not it exists), for messages.
    fn location_of(&self, hash: ContentHash) -> String;
    /// The local file of an artifact, for a store on the local disk.
    fn local_path(&self, hash: ContentHash) -> Option<PathBuf>;
    /// The bytes stored under `hash`, unverified; `None` when there are none.
    fn get(&self, hash: ContentHash) -> Result<Option<Vec<u8>>, StoreError>;
    /// Stores `bytes`, known to hash to `hash`, atomically and durably.
    fn put(&self, hash: ContentHash, bytes: &[u8]) -> Result<(), StoreError>;
    /// Stores `bytes` atomically, without waiting for them to reach the disk: for outputs that
    /// are cheap to compute again, such as the tasks of a mapped step. Every read verifies the
    /// hash, so a write lost in a crash is a cache miss, never a wrong hit. Defaults to `put`.
    fn put_unsynced(&self, hash: ContentHash, bytes: &[u8]) -> Result<(), StoreError> {
        self.put(hash, bytes)
    }
    /// Calls `visit` for every entry (artifacts and temporary files).
    fn list(&self, visit: &mut dyn FnMut(Listed) -> Result<(), StoreError>) -> Result<(), StoreError>;
    /// Deletes one listed entry.
    fn remove(&self, entry: &Listed) -> Result<(), StoreError>;
    /// What is stored under `hash`, from the backend's metadata alone (an object store's HEAD),
    /// for a backend where reading an artifact back costs a download. A write of an artifact
    /// whose stored size matches is then skipped unread; defaults to [`Peek::Unknown`], and the
    /// store reads the artifact back to decide.
    fn peek(&self, _hash: ContentHash) -> Result<Peek, StoreError> {
        Ok(Peek::Unknown)
    }
    /// Removes the copy stored under `hash`, which a read found corrupt, so that the next write
    /// stores it again: needed where a write skips a present artifact unread ([`peek`](Self::peek)).
    /// Defaults to nothing.
    fn discard(&self, _hash: ContentHash) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Artifact files in a folder: `ab/cdef…` (the first two hex digits of the hash name a shard
/// folder). Writes go to a temporary file in the shard, are fsynced, then renamed into place.
#[derive(Debug, Clone)]
pub struct LocalArtifacts {
    dir: PathBuf,
}

impl LocalArtifacts {
    /// The artifact files in `dir` (created if needed; an error if it cannot be written).
    pub fn open(dir: impl Into<PathBuf>) -> io::Result<LocalArtifacts> {
        let dir = dir.into();
        fs::create_dir_all(&dir)?;
        let probe = dir.join(format!("{TEMP_PREFIX}probe-{}-{}", std::process::id(), now_nanos()));
        fs::write(&probe, b"")?;
        fs::remove_file(&probe)?;
        Ok(LocalArtifacts { dir })
    }

    /// The file an artifact lives in.
    pub fn path(&self, hash: ContentHash) -> PathBuf {
        let hex = hash.to_hex();
        self.dir.join(&hex[..2]).join(&hex[2..])
    }

    fn io(path: &Path) -> impl Fn(io::Error) -> StoreError + '_ {
        move |source| StoreError::Io { path: path.to_path_buf(), source }
    }
}

impl LocalArtifacts {
    /// Writes to a temporary file in the shard, fsyncs it when `sync`, renames it into place.
    fn write(&self, hash: ContentHash, bytes: &[u8], sync: bool) -> Result<(), StoreError> {
        let path = self.path(hash);
        let dir = path.parent().expect("artifact paths have a shard folder");
        fs::create_dir_all(dir).map_err(Self::io(&path))?;
        let temp = dir.join(format!(
            "{TEMP_PREFIX}{}-{}-{}",
            std::process::id(),
            TEMP_COUNTER.fetch_add(1, Ordering::Relaxed),
            now_nanos()
        ));
        let result = (|| {
            let mut file = fs::File::create(&temp)?;
            file.write_all(bytes)?;
            if sync {
                file.sync_all()?;
            }
            fs::rename(&temp, &path)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&temp);
        }
        result.map_err(Self::io(&path))
    }
}

impl ArtifactStore for LocalArtifacts {
    fn location(&self) -> String {
        self.dir.display().to_string()
    }

    fn location_of(&self, hash: ContentHash) -> String {
        self.path(hash).display().to_string()
    }

    fn local_path(&self, hash: ContentHash) -> Option<PathBuf> {
        Some(self.path(hash))
    }

    fn get(&self, hash: ContentHash) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.path(hash);
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StoreError::Io { path, source }),
        }
    }

    fn put(&self, hash: ContentHash, bytes: &[u8]) -> Result<(), StoreError> {
        self.write(hash, bytes, true)
    }

    fn put_unsynced(&self, hash: ContentHash, bytes: &[u8]) -> Result<(), StoreError> {
        self.write(hash, bytes, false)
    }

    fn list(&self, visit: &mut dyn FnMut(Listed) -> Result<(), StoreError>) -> Result<(), StoreError> {
        for shard in fs::read_dir(&self.dir).map_err(Self::io(&self.dir))? {
            let shard = shard.map_err(Self::io(&self.dir))?.path();
            if !shard.is_dir() {
                continue;
            }
            let shard_name = shard.file_name().and_then(|s| s.to_str()).unwrap_or_default().to_owned();
            for entry in fs::read_dir(&shard).map_err(Self::io(&shard))? {
                let entry = entry.map_err(Self::io(&shard))?;
                let path = entry.path();
                let meta = match entry.metadata() {
                    Ok(meta) => meta,
                    // Renamed or removed by a writer or another collector meanwhile.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(source) => return Err(StoreError::Io { path, source }),
                };
                let name = entry.file_name().to_string_lossy().into_owned();
                let temp = name.starts_with(TEMP_PREFIX);
                visit(Listed {
                    hash: if temp { None } else { ContentHash::from_hex(&format!("{shard_name}{name}")) },
                    temp,
                    size: meta.len(),
                    modified: meta.modified().ok(),
                    key: path.display().to_string(),
                })?;
            }
        }
        Ok(())
    }

    fn remove(&self, entry: &Listed) -> Result<(), StoreError> {
        let path = PathBuf::from(&entry.key);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(StoreError::Io { path, source: e }),
            _ => Ok(()),
        }
    }
}
