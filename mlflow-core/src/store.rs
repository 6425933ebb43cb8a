//! The local store: content-addressed artifact files plus one SQLite database holding the cache
//! index and the runs.
//!
//! Layout of a store folder (default `./.mlflow`, or `$MLFLOW_HOME`):
//!
//! ```text
//! .mlflow/
//!   mlflow.db            SQLite (WAL): meta, cache index, runs (steps as one blob), params, and
//!                        the last cache key (with its components) of every step
//!   artifacts/ab/cdef…   one file per distinct artifact, named by the BLAKE3 of its bytes
//! ```
//!
//! Several processes may share a store: SQLite serializes writers (WAL, busy timeout), and
//! artifact files are written to a temporary file in the same folder, fsynced, then renamed, so a
//! reader sees either nothing or a whole artifact. A leftover temporary file is never read.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension};

use crate::codec::{self, ContentHash, DEFAULT_DECODE_LIMIT};
use crate::track::{DataInput, Environment, MetricPoint, StepLog};

/// The database format this build writes. A store with a higher number is refused.
///
/// ```
/// assert_eq!(mlflow_core::store::FORMAT_VERSION, 2);
/// ```
pub const FORMAT_VERSION: u32 = 2;

const DB_FILE: &str = "mlflow.db";
const ARTIFACTS_DIR: &str = "artifacts";
const TEMP_PREFIX: &str = ".tmp-";

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

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
pub enum StoreError {
    /// The folder cannot be created or written.
    #[error("cannot use `{}` as an mlflow store: {source}; choose a writable folder (set MLFLOW_HOME or pass another path to Store::open)", path.display())]
    Unwritable {
        /// The folder.
        path: PathBuf,
        /// The operating system's reason.
        source: io::Error,
    },
    /// The database was written by a newer mlflow.
    #[error("the store at `{}` has format version {found}, but this mlflow reads up to version {supported}; upgrade mlflow (it is never read with an older format)", path.display())]
    NewerFormat {
        /// The store folder.
        path: PathBuf,
        /// Format found in the database.
        found: u32,
        /// Highest format this build reads.
        supported: u32,
    },
    /// The database was written by a pre-release mlflow whose format this build does not migrate.
    #[error("the store at `{}` has format version {found}, written by a pre-release mlflow; this mlflow reads version {supported} and does not migrate pre-release stores: move the folder away (or delete it) and rerun to start a new store", path.display())]
    OlderFormat {
        /// The store folder.
        path: PathBuf,
        /// Format found in the database.
        found: u32,
        /// The format this build reads.
        supported: u32,
    },
    /// The database failed.
    #[error("store database `{}`: {source}", path.display())]
    Database {
        /// The database file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
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
    #[error("artifact {} is missing from the store (expected at `{}`)", hash.short(), path.display())]
    ArtifactMissing {
        /// The artifact's hash.
        hash: ContentHash,
        /// Where it should be.
        path: PathBuf,
    },
    /// The artifact's bytes do not hash to its name.
    #[error("artifact {} is corrupt: its bytes hash to {} (file `{}`)", expected.short(), actual.short(), path.display())]
    ArtifactCorrupt {
        /// The hash it should have.
        expected: ContentHash,
        /// The hash of what is there.
        actual: ContentHash,
        /// The file.
        path: PathBuf,
    },
}

/// What `gc` removed.
///
/// ```
/// use std::time::Duration;
/// use mlflow_core::store::{GcOptions, Store};
/// let dir = tempfile::tempdir().unwrap();
/// let store = Store::open(dir.path()).unwrap();
/// store.put_artifact(b"referenced by nothing").unwrap();
/// let report = store.gc_with(GcOptions { grace: Duration::ZERO }).unwrap();
/// assert_eq!((report.artifacts_removed, report.bytes_freed), (1, 21));
/// ```
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GcReport {
    /// Artifact files removed because no run and no cache entry refers to them.
    pub artifacts_removed: usize,
    /// Bytes freed by those.
    pub bytes_freed: u64,
    /// Leftover temporary files of interrupted writes removed.
    pub temp_files_removed: usize,
    /// Artifacts still referenced.
    pub artifacts_kept: usize,
}

/// Options of [`Store::gc_with`] (see [`GcReport`] for an example).
#[derive(Debug, Clone, Copy)]
pub struct GcOptions {
    /// Files younger than this are left alone, so that a write under way in another process
    /// (file written, index row not yet committed) is not collected. Default 10 minutes.
    pub grace: Duration,
}

impl Default for GcOptions {
    fn default() -> Self {
        GcOptions { grace: Duration::from_secs(600) }
    }
}

/// The components of a step's cache key, recorded with every run so that `plan` and the run
/// report can say which one changed. Read them with [`Store::last_keys`]; see [`RunRecord`] for an
/// example.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeyParts {
    /// The step's code hash.
    pub code: ContentHash,
    /// The step's `version`.
    pub version: u32,
    /// The folded hashes of the step's `deps`.
    pub deps: ContentHash,
    /// `name@version` of the crate that defines the step.
    pub krate: String,
    /// The mlflow version.
    pub library: String,
    /// The inputs, in order.
    pub inputs: Vec<InputPart>,
}

/// One input of a step's cache key (see [`RunRecord`] for an example).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InputPart {
    /// The upstream node's name.
    pub node: String,
    /// Whether the upstream node is a param.
    pub is_param: bool,
    /// Content hash of the input artifact.
    pub hash: ContentHash,
}

/// One step of a run as recorded in the store (see [`RunRecord`] for an example).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StepRecord {
    /// Node name.
    pub node: String,
    /// Step name.
    pub step: String,
    /// `ran`, `cached`, `failed` or `skipped`.
    pub status: String,
    /// Wall time spent (attempts and waits included).
    pub duration: Duration,
    /// Attempts made.
    pub attempts: u32,
    /// The cache key, when all inputs existed.
    pub cache_key: Option<ContentHash>,
    /// Content hash of the output, when there is one.
    pub output: Option<ContentHash>,
    /// Why the cache missed.
    pub miss_reason: Option<String>,
    /// The error, for a failed or skipped step.
    pub error: Option<String>,
    /// When the step started, from the start of the run.
    pub started: Duration,
    /// For a cached step, the run that computed the output.
    pub source_run: Option<String>,
}

/// A run as recorded in the store.
///
/// ```
/// # use mlflow_core::prelude::*;
/// # use mlflow_core::step::{CrateId, StepError};
/// # struct Double;
/// # impl Step for Double {
/// #     type Inputs = (u64,);
/// #     type Output = u64;
/// #     const NAME: &'static str = "double";
/// #     const CODE_HASH: ContentHash = ContentHash::from_bytes([7; 32]);
/// #     const CRATE: CrateId = CrateId { name: "demo", version: "1.0.0" };
/// #     fn call(&self, (x,): (&u64,)) -> Result<u64, StepError> { Ok(x * 2) }
/// # }
/// # let dir = tempfile::tempdir().unwrap();
/// # let store = Store::open(dir.path()).unwrap();
/// let mut p = Pipeline::new("recorded");
/// let x = p.param("x", 1u64);
/// p.step(Double, x);
/// let report = p.run(&store)?;
/// let run = store.run(report.run_id())?.expect("every run is recorded");
/// assert_eq!((run.pipeline.as_str(), run.status.as_str()), ("recorded", "succeeded"));
/// assert_eq!(run.steps[0].output, report.steps()[0].output_hash);
/// let keys = store.last_keys("recorded")?;
/// let (key, parts) = &keys["double"];
/// assert_eq!(Some(*key), run.steps[0].cache_key);
/// assert!(parts.inputs[0].is_param && parts.inputs[0].node == "x");
/// # Ok::<(), mlflow_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunRecord {
    /// Run id.
    pub id: String,
    /// Pipeline name.
    pub pipeline: String,
    /// `running`, `succeeded` or `failed`.
    pub status: String,
    /// Start, in milliseconds since the Unix epoch.
    pub started_ms: i64,
    /// End, when finished.
    pub ended_ms: Option<i64>,
    /// Params by name with their content hash.
    pub params: Vec<(String, ContentHash)>,
    /// Params by name, rendered as JSON (long values are cut with `…`).
    pub param_values: Vec<(String, String)>,
    /// Steps in pipeline order.
    pub steps: Vec<StepRecord>,
    /// Metrics logged by the steps, by node.
    pub metrics: Vec<(String, MetricPoint)>,
    /// Tags set by the steps, by node.
    pub tags: Vec<(String, String, String)>,
    /// Data versions that entered the run, by node.
    pub data: Vec<(String, DataInput)>,
    /// Where and with what the run happened (absent while it is running).
    pub environment: Option<Environment>,
}

/// A cache index entry.
pub(crate) struct CacheEntry {
    pub output: ContentHash,
    /// The run that computed the output.
    pub run_id: String,
    /// What the step logged when it computed the output.
    pub log: StepLog,
}

/// Everything recorded at the end of a run.
pub(crate) struct FinishedRun<'a> {
    pub id: &'a str,
    pub pipeline: &'a str,
    pub status: &'a str,
    /// Params: name, content hash, value rendered as JSON.
    pub params: &'a [(String, ContentHash, String)],
    pub steps: &'a [StepRecord],
    /// What each step logged (or, for a cached step, what it logged when it was computed).
    pub logs: &'a [(&'a str, &'a StepLog)],
    pub changed_keys: &'a [(&'a str, ContentHash, &'a KeyParts)],
    pub environment: &'a Environment,
}

mod erased {
    /// Lets one closure encode values of several types.
    pub trait Encode {
        fn encode(&self) -> Result<Vec<u8>, crate::codec::CodecError>;
    }
    impl<T: serde::Serialize> Encode for T {
        fn encode(&self) -> Result<Vec<u8>, crate::codec::CodecError> {
            crate::codec::encode(self)
        }
    }
}

/// A store folder: artifacts plus the metadata database. `Sync`: share one across threads.
///
/// ```
/// use mlflow_core::store::Store;
/// let dir = std::env::temp_dir().join(format!("mlflow-doc-store-{}", std::process::id()));
/// let store = Store::open(&dir).unwrap();
/// let hash = store.put_artifact(b"some bytes").unwrap();
/// assert_eq!(store.read_artifact(hash).unwrap(), b"some bytes");
/// # std::fs::remove_dir_all(&dir).ok();
/// ```
pub struct Store {
    root: PathBuf,
    artifacts: PathBuf,
    db_path: PathBuf,
    db: Mutex<Connection>,
    decode_limit: u64,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("root", &self.root).finish()
    }
}

impl Store {
    /// Opens (creating if needed) the store in `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        let root = path.as_ref().to_path_buf();
        let artifacts = root.join(ARTIFACTS_DIR);
        let unwritable = |source| StoreError::Unwritable { path: root.clone(), source };
        fs::create_dir_all(&artifacts).map_err(unwritable)?;
        probe_writable(&artifacts).map_err(unwritable)?;
        let db_path = root.join(DB_FILE);
        let db = open_database(&root, &db_path)?;
        Ok(Store { root, artifacts, db_path, db: Mutex::new(db), decode_limit: DEFAULT_DECODE_LIMIT })
    }

    /// Opens `$MLFLOW_HOME`, or `./.mlflow` when it is not set.
    pub fn open_default() -> Result<Store, StoreError> {
        Store::open(default_path())
    }

    /// Sets the largest artifact (in encoded bytes) this store will decode (default 4 GiB).
    pub fn with_decode_limit(mut self, bytes: u64) -> Self {
        self.decode_limit = bytes;
        self
    }

    /// The largest artifact this store will decode.
    pub fn decode_limit(&self) -> u64 {
        self.decode_limit
    }

    /// The store folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the artifact with this hash lives (whether or not it exists).
    pub fn artifact_path(&self, hash: ContentHash) -> PathBuf {
        let hex = hash.to_hex();
        self.artifacts.join(&hex[..2]).join(&hex[2..])
    }

    /// Stores bytes under their hash (atomically; a no-op when a sound copy is already there).
    pub fn put_artifact(&self, bytes: &[u8]) -> Result<ContentHash, StoreError> {
        let hash = codec::hash_bytes(bytes);
        self.write_artifact(hash, bytes)?;
        Ok(hash)
    }

    /// Writes bytes already known to hash to `hash`.
    pub(crate) fn write_artifact(&self, hash: ContentHash, bytes: &[u8]) -> Result<(), StoreError> {
        let path = self.artifact_path(hash);
        if self.read_artifact(hash).is_ok() {
            return Ok(());
        }
        let io_err = |source| StoreError::Io { path: path.clone(), source };
        let dir = path.parent().expect("artifact paths have a shard folder");
        fs::create_dir_all(dir).map_err(io_err)?;
        let temp = dir.join(format!(
            "{TEMP_PREFIX}{}-{}-{}",
            std::process::id(),
            TEMP_COUNTER.fetch_add(1, Ordering::Relaxed),
            now_nanos()
        ));
        let result = (|| {
            let mut file = fs::File::create(&temp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            fs::rename(&temp, &path)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&temp);
        }
        result.map_err(io_err)
    }

    /// Reads an artifact and checks that its bytes hash to its name.
    pub fn read_artifact(&self, hash: ContentHash) -> Result<Vec<u8>, StoreError> {
        let path = self.artifact_path(hash);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(StoreError::ArtifactMissing { hash, path })
            }
            Err(source) => return Err(StoreError::Io { path, source }),
        };
        let actual = codec::hash_bytes(&bytes);
        if actual != hash {
            return Err(StoreError::ArtifactCorrupt { expected: hash, actual, path });
        }
        Ok(bytes)
    }

    fn db(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written: keep going.
        self.db.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` on the database connection, for the rooms of this crate that keep tables of
    /// their own in the store (the registry, tracking). Keep `f` short: it holds the store's lock.
    pub(crate) fn with_db<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let mut db = self.db();
        f(&mut db).map_err(|e| self.db_err(e))
    }

    fn db_err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Database { path: self.db_path.clone(), source }
    }

    /// The cache entry of a key, if any.
    pub(crate) fn cache_get(&self, key: ContentHash) -> Result<Option<CacheEntry>, StoreError> {
        let db = self.db();
        let mut stmt = db
            .prepare_cached("SELECT output, run_id, log FROM cache WHERE key = ?1")
            .map_err(|e| self.db_err(e))?;
        let found = stmt
            .query_row([key.as_bytes().as_slice()], |row| {
                Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, String>(1)?, row.get::<_, Option<Vec<u8>>>(2)?))
            })
            .optional()
            .map_err(|e| self.db_err(e))?;
        Ok(found.and_then(|(output, run_id, log)| {
            Some(CacheEntry {
                output: hash_from_blob(&output)?,
                run_id,
                // A log this build cannot read is not a reason to recompute the step.
                log: log.and_then(|bytes| codec::decode(&bytes, u64::MAX).ok()).unwrap_or_default(),
            })
        }))
    }

    /// Records that `key` produced `output` (with what the step logged) in run `run_id`.
    pub(crate) fn cache_put(
        &self,
        key: ContentHash,
        step: &str,
        output: ContentHash,
        size: usize,
        run_id: &str,
        log: &StepLog,
    ) -> Result<(), StoreError> {
        let log = if log.is_empty() { None } else { codec::encode(log).ok() };
        let db = self.db();
        let mut stmt = db
            .prepare_cached(
                "INSERT OR REPLACE INTO cache (key, step, output, size, created_ms, run_id, log)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .map_err(|e| self.db_err(e))?;
        stmt.execute(params![
            key.as_bytes().as_slice(),
            step,
            output.as_bytes().as_slice(),
            size as i64,
            now_ms(),
            run_id,
            log
        ])
        .map_err(|e| self.db_err(e))?;
        Ok(())
    }

    /// Records the start of a run.
    pub(crate) fn begin_run(&self, id: &str, pipeline: &str, started_ms: i64) -> Result<(), StoreError> {
        self.db()
            .execute(
                "INSERT INTO runs (id, pipeline, status, started_ms) VALUES (?1, ?2, 'running', ?3)",
                params![id, pipeline, started_ms],
            )
            .map_err(|e| self.db_err(e))?;
        Ok(())
    }

    /// Records the end of a run with its params and steps, and the new key parts of the steps
    /// whose cache key changed since their last run, in one transaction.
    pub(crate) fn finish_run(&self, run: FinishedRun<'_>) -> Result<(), StoreError> {
        let FinishedRun { id, pipeline, status, params, steps, logs, changed_keys, environment } = run;
        // One compact blob per run: recording a run costs one row, not one per step.
        let encode = |value: &dyn erased::Encode| {
            value.encode().map_err(|e| StoreError::Io {
                path: self.db_path.clone(),
                source: io::Error::other(e.to_string()),
            })
        };
        let steps_blob = encode(&steps)?;
        let env_blob = encode(&environment)?;
        let mut db = self.db();
        let tx = db
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| StoreError::Database { path: self.db_path.clone(), source: e })?;
        let result = (|| {
            tx.execute(
                "UPDATE runs SET status = ?2, ended_ms = ?3, steps = ?4, env = ?5 WHERE id = ?1",
                params![id, status, now_ms(), steps_blob, env_blob],
            )?;
            let mut stmt = tx.prepare_cached(
                "INSERT INTO run_params (run_id, name, hash, value) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (name, hash, value) in params {
                stmt.execute(params![id, name, hash.as_bytes().as_slice(), value])?;
            }
            let mut metric = tx.prepare_cached(
                "INSERT OR REPLACE INTO run_metrics (run_id, node, key, idx, value) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            let mut tag = tx.prepare_cached(
                "INSERT OR REPLACE INTO run_tags (run_id, node, key, value) VALUES (?1, ?2, ?3, ?4)",
            )?;
            let mut data = tx.prepare_cached(
                "INSERT OR IGNORE INTO run_data (run_id, node, name, version) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (node, log) in logs {
                for m in &log.metrics {
                    let idx = m.step.map(|s| s.min(i64::MAX as u64) as i64).unwrap_or(-1);
                    metric.execute(params![id, node, m.key, idx, m.value])?;
                }
                for (key, value) in &log.tags {
                    tag.execute(params![id, node, key, value])?;
                }
                for d in &log.data {
                    data.execute(params![id, node, d.name, d.version.as_bytes().as_slice()])?;
                }
            }
            let mut latest = tx.prepare_cached(
                "INSERT OR REPLACE INTO step_keys (pipeline, node, cache_key, run_id) VALUES (?1, ?2, ?3, ?4)",
            )?;
            let mut parts_of = tx.prepare_cached(
                "INSERT OR IGNORE INTO key_parts (cache_key, code_hash, version, deps_hash, crate, library, inputs)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for (node, key, parts) in changed_keys {
                latest.execute(params![pipeline, node, key.as_bytes().as_slice(), id])?;
                parts_of.execute(params![
                    key.as_bytes().as_slice(),
                    parts.code.as_bytes().as_slice(),
                    parts.version,
                    parts.deps.as_bytes().as_slice(),
                    parts.krate,
                    parts.library,
                    encode_inputs(&parts.inputs),
                ])?;
            }
            Ok(())
        })();
        result.and_then(|()| tx.commit()).map_err(|e| self.db_err(e))
    }

    /// The cache key at the most recent run of each step of a pipeline, by node name.
    pub(crate) fn last_cache_keys(&self, pipeline: &str) -> Result<HashMap<String, ContentHash>, StoreError> {
        let db = self.db();
        let q = || -> rusqlite::Result<HashMap<String, ContentHash>> {
            let mut stmt = db.prepare_cached("SELECT node, cache_key FROM step_keys WHERE pipeline = ?1")?;
            let rows =
                stmt.query_map([pipeline], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?)))?;
            let mut keys = HashMap::new();
            for row in rows {
                let (node, key) = row?;
                keys.extend(hash_from_blob(&key).map(|key| (node, key)));
            }
            Ok(keys)
        };
        q().map_err(|e| self.db_err(e))
    }

    /// The cache key and its components at the most recent run of each step of a pipeline that
    /// got as far as computing a key, by node name.
    pub fn last_keys(&self, pipeline: &str) -> Result<HashMap<String, (ContentHash, KeyParts)>, StoreError> {
        let db = self.db();
        let q = || -> rusqlite::Result<HashMap<String, (ContentHash, KeyParts)>> {
            let mut stmt = db.prepare_cached(
                "SELECT s.node, s.cache_key, k.code_hash, k.version, k.deps_hash, k.crate, k.library, k.inputs
                 FROM step_keys s JOIN key_parts k ON k.cache_key = s.cache_key WHERE s.pipeline = ?1",
            )?;
            let rows = stmt.query_map([pipeline], |r| {
                let parts = key_parts_from_row(r, 2)?;
                Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1).map(|b| hash_from_blob(&b))?, parts))
            })?;
            let mut map = HashMap::new();
            for row in rows {
                // A row this build cannot read explains nothing: the step just reports "first run".
                if let (node, Some(key), Some(parts)) = row? {
                    map.insert(node, (key, parts));
                }
            }
            Ok(map)
        };
        q().map_err(|e| self.db_err(e))
    }

    /// One run with its params and steps.
    pub fn run(&self, id: &str) -> Result<Option<RunRecord>, StoreError> {
        let db = self.db();
        let q = || -> rusqlite::Result<Option<RunRecord>> {
            let head = db
                .query_row(
                    "SELECT id, pipeline, status, started_ms, ended_ms, env, steps FROM runs WHERE id = ?1",
                    [id],
                    |r| {
                        let run = RunRecord {
                            id: r.get(0)?,
                            pipeline: r.get(1)?,
                            status: r.get(2)?,
                            started_ms: r.get(3)?,
                            ended_ms: r.get(4)?,
                            params: Vec::new(),
                            param_values: Vec::new(),
                            steps: Vec::new(),
                            metrics: Vec::new(),
                            tags: Vec::new(),
                            data: Vec::new(),
                            environment: None,
                        };
                        Ok((run, r.get::<_, Option<Vec<u8>>>(5)?, r.get::<_, Option<Vec<u8>>>(6)?))
                    },
                )
                .optional()?;
            let Some((mut run, env, steps)) = head else { return Ok(None) };
            let mut stmt =
                db.prepare("SELECT name, hash, value FROM run_params WHERE run_id = ?1 ORDER BY name")?;
            let rows = stmt.query_map([id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?, r.get::<_, String>(2)?))
            })?;
            for row in rows {
                let (name, hash, value) = row?;
                if let Some(hash) = hash_from_blob(&hash) {
                    run.params.push((name.clone(), hash));
                }
                run.param_values.push((name, value));
            }
            let mut stmt = db.prepare(
                "SELECT node, key, idx, value FROM run_metrics WHERE run_id = ?1 ORDER BY node, key, idx",
            )?;
            run.metrics = stmt
                .query_map([id], |r| {
                    let idx: i64 = r.get(2)?;
                    Ok((
                        r.get::<_, String>(0)?,
                        MetricPoint { key: r.get(1)?, step: u64::try_from(idx).ok(), value: r.get(3)? },
                    ))
                })?
                .collect::<rusqlite::Result<_>>()?;
            let mut stmt =
                db.prepare("SELECT node, key, value FROM run_tags WHERE run_id = ?1 ORDER BY node, key")?;
            run.tags = stmt
                .query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let mut stmt =
                db.prepare("SELECT node, name, version FROM run_data WHERE run_id = ?1 ORDER BY node, name")?;
            let rows = stmt.query_map([id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, Vec<u8>>(2)?))
            })?;
            for row in rows {
                let (node, name, version) = row?;
                if let Some(version) = hash_from_blob(&version) {
                    run.data.push((node, DataInput { name, version }));
                }
            }
            run.environment = env.and_then(|bytes| codec::decode(&bytes, u64::MAX).ok());
            run.steps = decode_steps(steps.as_deref())?;
            Ok(Some(run))
        };
        q().map_err(|e| self.db_err(e))
    }

    /// Ids of the runs of a pipeline, newest first.
    pub fn run_ids(&self, pipeline: &str) -> Result<Vec<String>, StoreError> {
        let db = self.db();
        let q = || -> rusqlite::Result<Vec<String>> {
            let mut stmt =
                db.prepare("SELECT id FROM runs WHERE pipeline = ?1 ORDER BY started_ms DESC, rowid DESC")?;
            let ids = stmt.query_map([pipeline], |r| r.get(0))?.collect();
            ids
        };
        q().map_err(|e| self.db_err(e))
    }

    /// Removes artifacts that no run and no cache entry refers to, and leftover temporary files,
    /// leaving alone anything younger than 10 minutes (see [`GcOptions`]).
    pub fn gc(&self) -> Result<GcReport, StoreError> {
        self.gc_with(GcOptions::default())
    }

    /// [`Store::gc`] with options.
    pub fn gc_with(&self, options: GcOptions) -> Result<GcReport, StoreError> {
        let referenced = self.referenced_artifacts()?;
        let cutoff = SystemTime::now().checked_sub(options.grace).unwrap_or(UNIX_EPOCH);
        let mut report = GcReport::default();
        let io_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| StoreError::Io { path, source }
        };
        for shard in fs::read_dir(&self.artifacts).map_err(io_err(&self.artifacts))? {
            let shard = shard.map_err(io_err(&self.artifacts))?.path();
            if !shard.is_dir() {
                continue;
            }
            let shard_name = shard.file_name().and_then(|s| s.to_str()).unwrap_or_default().to_owned();
            for entry in fs::read_dir(&shard).map_err(io_err(&shard))? {
                let entry = entry.map_err(io_err(&shard))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                let meta = entry.metadata().map_err(io_err(&entry.path()))?;
                let young = meta.modified().map(|m| m > cutoff).unwrap_or(true);
                if name.starts_with(TEMP_PREFIX) {
                    if !young {
                        fs::remove_file(entry.path()).map_err(io_err(&entry.path()))?;
                        report.temp_files_removed += 1;
                    }
                    continue;
                }
                let keep = ContentHash::from_hex(&format!("{shard_name}{name}"))
                    .map(|h| referenced.contains(&h))
                    .unwrap_or(true);
                if keep || young {
                    report.artifacts_kept += 1;
                } else {
                    fs::remove_file(entry.path()).map_err(io_err(&entry.path()))?;
                    report.artifacts_removed += 1;
                    report.bytes_freed += meta.len();
                }
            }
        }
        Ok(report)
    }

    fn referenced_artifacts(&self) -> Result<HashSet<ContentHash>, StoreError> {
        let db = self.db();
        let q = || -> rusqlite::Result<HashSet<ContentHash>> {
            let mut set = HashSet::new();
            let mut stmt = db.prepare("SELECT output FROM cache")?;
            for row in stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))? {
                set.extend(hash_from_blob(&row?));
            }
            // Registered model versions keep their artifacts (the registry's table exists once
            // a registry was opened on this store).
            let registry: bool = db.query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'registry_versions')",
                [],
                |r| r.get(0),
            )?;
            if registry {
                let mut stmt = db.prepare("SELECT artifact FROM registry_versions")?;
                for row in stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))? {
                    set.extend(hash_from_blob(&row?));
                }
            }
            let mut stmt = db.prepare("SELECT steps FROM runs WHERE steps IS NOT NULL")?;
            for row in stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))? {
                set.extend(decode_steps(Some(&row?))?.into_iter().filter_map(|s| s.output));
            }
            Ok(set)
        };
        q().map_err(|e| self.db_err(e))
    }
}

/// `$MLFLOW_HOME`, or `./.mlflow`.
///
/// ```
/// let path = mlflow_core::store::default_path();
/// assert!(std::env::var_os("MLFLOW_HOME").is_some() || path.ends_with(".mlflow"));
/// ```
pub fn default_path() -> PathBuf {
    std::env::var_os("MLFLOW_HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(".mlflow"))
}

fn probe_writable(dir: &Path) -> io::Result<()> {
    let probe = dir.join(format!("{TEMP_PREFIX}probe-{}-{}", std::process::id(), now_nanos()));
    fs::write(&probe, b"")?;
    fs::remove_file(&probe)
}

fn open_database(root: &Path, db_path: &Path) -> Result<Connection, StoreError> {
    let db_err = |source| StoreError::Database { path: db_path.to_path_buf(), source };
    let mut db = Connection::open(db_path).map_err(db_err)?;
    db.busy_timeout(Duration::from_secs(30)).map_err(db_err)?;
    // Switching to WAL needs an exclusive lock and SQLite does not wait for it through the busy
    // handler: when several processes open a new store at once, retry for a while.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        match db.pragma_update(None, "journal_mode", "WAL") {
            Ok(()) => break,
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(db_err(e)),
        }
    }
    db.pragma_update(None, "synchronous", "NORMAL").map_err(db_err)?;
    let tx = db.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(db_err)?;
    tx.execute_batch("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);")
        .map_err(db_err)?;
    let found: Option<String> = tx
        .query_row("SELECT value FROM meta WHERE key = 'format'", [], |r| r.get(0))
        .optional()
        .map_err(db_err)?;
    match found {
        None => {
            tx.execute_batch(SCHEMA).map_err(db_err)?;
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('format', ?1), ('created_by', ?2)",
                params![FORMAT_VERSION.to_string(), env!("CARGO_PKG_VERSION")],
            )
            .map_err(db_err)?;
        }
        Some(text) => {
            let found = text.trim().parse::<u32>().unwrap_or(u32::MAX);
            if found < FORMAT_VERSION {
                return Err(StoreError::OlderFormat {
                    path: root.to_path_buf(),
                    found,
                    supported: FORMAT_VERSION,
                });
            }
            if found > FORMAT_VERSION {
                return Err(StoreError::NewerFormat {
                    path: root.to_path_buf(),
                    found,
                    supported: FORMAT_VERSION,
                });
            }
        }
    }
    tx.commit().map_err(db_err)?;
    Ok(db)
}

const SCHEMA: &str = "
CREATE TABLE cache (
    key BLOB PRIMARY KEY,
    step TEXT NOT NULL,
    output BLOB NOT NULL,
    size INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    run_id TEXT NOT NULL,
    log BLOB
);
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    pipeline TEXT NOT NULL,
    status TEXT NOT NULL,
    started_ms INTEGER NOT NULL,
    ended_ms INTEGER,
    steps BLOB,
    env BLOB
);
CREATE INDEX runs_by_pipeline ON runs (pipeline, started_ms);
CREATE TABLE run_params (
    run_id TEXT NOT NULL,
    name TEXT NOT NULL,
    hash BLOB NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (run_id, name)
) WITHOUT ROWID;
CREATE INDEX run_params_by_value ON run_params (name, value);
CREATE TABLE run_metrics (
    run_id TEXT NOT NULL,
    node TEXT NOT NULL,
    key TEXT NOT NULL,
    idx INTEGER NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (run_id, node, key, idx)
) WITHOUT ROWID;
CREATE INDEX run_metrics_by_key ON run_metrics (key, value);
CREATE TABLE run_tags (
    run_id TEXT NOT NULL,
    node TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (run_id, node, key)
) WITHOUT ROWID;
CREATE TABLE run_data (
    run_id TEXT NOT NULL,
    node TEXT NOT NULL,
    name TEXT NOT NULL,
    version BLOB NOT NULL,
    PRIMARY KEY (run_id, node, name, version)
) WITHOUT ROWID;
CREATE INDEX run_data_by_version ON run_data (version);
CREATE TABLE step_keys (
    pipeline TEXT NOT NULL,
    node TEXT NOT NULL,
    cache_key BLOB NOT NULL,
    run_id TEXT NOT NULL,
    PRIMARY KEY (pipeline, node)
) WITHOUT ROWID;
CREATE TABLE key_parts (
    cache_key BLOB PRIMARY KEY,
    code_hash BLOB NOT NULL,
    version INTEGER NOT NULL,
    deps_hash BLOB NOT NULL,
    crate TEXT NOT NULL,
    library TEXT NOT NULL,
    inputs TEXT NOT NULL
) WITHOUT ROWID;
";

fn encode_inputs(inputs: &[InputPart]) -> String {
    inputs
        .iter()
        .map(|i| format!("{}\t{}\t{}\n", if i.is_param { "param" } else { "step" }, i.hash.to_hex(), i.node))
        .collect()
}

pub(crate) fn decode_inputs(text: &str) -> Option<Vec<InputPart>> {
    text.lines()
        .map(|line| {
            let mut fields = line.splitn(3, '\t');
            let is_param = fields.next()? == "param";
            let hash = ContentHash::from_hex(fields.next()?)?;
            Some(InputPart { node: fields.next()?.to_owned(), is_param, hash })
        })
        .collect()
}

fn decode_steps(blob: Option<&[u8]>) -> rusqlite::Result<Vec<StepRecord>> {
    match blob {
        None => Ok(Vec::new()),
        Some(bytes) => codec::decode(bytes, u64::MAX).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Blob, Box::new(e))
        }),
    }
}

pub(crate) fn hash_from_blob(bytes: &[u8]) -> Option<ContentHash> {
    <[u8; 32]>::try_from(bytes).ok().map(ContentHash::from_bytes)
}

/// The [`KeyParts`] in the columns `code_hash, version, deps_hash, crate, library, inputs` of a
/// row, starting at column `first`; `None` when a hash blob or the inputs text cannot be read.
pub(crate) fn key_parts_from_row(row: &rusqlite::Row, first: usize) -> rusqlite::Result<Option<KeyParts>> {
    let blob = |i: usize| row.get::<_, Vec<u8>>(first + i).map(|b| hash_from_blob(&b));
    let Some(code) = blob(0)? else { return Ok(None) };
    let version = row.get(first + 1)?;
    let Some(deps) = blob(2)? else { return Ok(None) };
    let krate = row.get(first + 3)?;
    let library = row.get(first + 4)?;
    let Some(inputs) = decode_inputs(&row.get::<_, String>(first + 5)?) else { return Ok(None) };
    Ok(Some(KeyParts { code, version, deps, krate, library, inputs }))
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

pub(crate) fn now_nanos() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("store")).unwrap();
        (dir, store)
    }

    #[test]
    fn artifacts_are_verified_on_read() {
        let (_dir, store) = temp_store();
        let hash = store.put_artifact(b"abc").unwrap();
        fs::write(store.artifact_path(hash), b"abd").unwrap();
        assert!(matches!(store.read_artifact(hash), Err(StoreError::ArtifactCorrupt { .. })));
        // Writing again repairs the corrupt copy.
        store.put_artifact(b"abc").unwrap();
        assert_eq!(store.read_artifact(hash).unwrap(), b"abc");
        fs::remove_file(store.artifact_path(hash)).unwrap();
        assert!(matches!(store.read_artifact(hash), Err(StoreError::ArtifactMissing { .. })));
    }

    #[test]
    fn a_newer_format_is_refused() {
        let (dir, store) = temp_store();
        store.db().execute("UPDATE meta SET value = '999' WHERE key = 'format'", []).unwrap();
        drop(store);
        let err = Store::open(dir.path().join("store")).unwrap_err();
        assert!(matches!(err, StoreError::NewerFormat { found: 999, supported: FORMAT_VERSION, .. }));
        assert!(err.to_string().contains("upgrade mlflow"), "{err}");
    }

    #[test]
    fn a_pre_release_format_is_refused_with_what_to_do() {
        let (dir, store) = temp_store();
        store.db().execute("UPDATE meta SET value = '1' WHERE key = 'format'", []).unwrap();
        drop(store);
        let err = Store::open(dir.path().join("store")).unwrap_err();
        assert!(matches!(err, StoreError::OlderFormat { found: 1, .. }));
        assert!(err.to_string().contains("move the folder away"), "{err}");
    }

    #[test]
    fn a_file_that_is_not_a_database_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("s")).unwrap();
        fs::write(dir.path().join("s").join(DB_FILE), b"this is not sqlite, just text that is long enough")
            .unwrap();
        let err = Store::open(dir.path().join("s")).unwrap_err();
        assert!(matches!(err, StoreError::Database { .. }), "{err}");
        assert!(err.to_string().contains("mlflow.db"), "{err}");
    }

    #[test]
    fn gc_keeps_referenced_and_young_files() {
        let (_dir, store) = temp_store();
        let kept = store.put_artifact(b"kept").unwrap();
        store.cache_put(ContentHash::of(b"k"), "s", kept, 4, "r", &StepLog::default()).unwrap();
        let orphan = store.put_artifact(b"orphan").unwrap();
        let temp = store.artifact_path(orphan).with_file_name(".tmp-crashed");
        fs::write(&temp, b"half").unwrap();
        let report = store.gc().unwrap();
        assert_eq!(report.artifacts_removed, 0, "young files survive the default grace");
        let report = store.gc_with(GcOptions { grace: Duration::ZERO }).unwrap();
        assert_eq!(report.artifacts_removed, 1);
        assert_eq!(report.temp_files_removed, 1);
        assert!(store.read_artifact(kept).is_ok());
        assert!(store.read_artifact(orphan).is_err());
    }
}
