//! The store: content-addressed artifacts plus a metadata database, behind two seams.
//!
//! - [`ArtifactStore`] keeps bytes under their BLAKE3 hash ([`LocalArtifacts`]: files in a
//!   folder; object storage later).
//! - [`MetaStore`] keeps the rooms' tables ([`SqliteMeta`]: one SQLite file, the embedded
//!   default; PostgreSQL for many machines in the `mlflow-postgres` crate, through
//!   [`Store::with_backends`]). Each room owns its tables and their migrations ([`Room`]), one
//!   set per [`Dialect`]: the cache index ([`cache`]), the runs ([`crate::track`]), the model
//!   registry ([`crate::registry`]).
//!
//! Layout of a local store folder (default `./.mlflow`, or `$MLFLOW_HOME`):
//!
//! ```text
//! .mlflow/
//!   mlflow.db            SQLite (WAL): `meta` (store format, each room's schema version) and
//!                        the rooms' tables
//!   artifacts/ab/cdef…   one file per distinct artifact, named by the BLAKE3 of its bytes
//!   lock                 writers share it, garbage collection takes it alone
//!   leases/<name>.lock   held by a live store handle: its running runs name it
//! ```
//!
//! Several processes may share a store: the database serializes writers, and artifacts are
//! written to a temporary file, fsynced, then renamed, so a reader sees either nothing or a whole
//! artifact. Every read is verified: bytes that do not hash to their name are never served.

mod artifacts;
pub mod cache;
mod error;
mod lock;
pub mod meta;
mod sqlite;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

pub use artifacts::{ArtifactStore, Listed, LocalArtifacts, Peek};
pub use cache::{InputPart, KeyParts};
pub use error::StoreError;
pub use meta::{Dialect, MachineLocks, MetaStore, Migration, Mode, Room};
pub use sqlite::SqliteMeta;

pub(crate) use lock::{WriteGuard, lease_held, lease_known, remove_dead_leases};

use crate::codec::{self, ContentHash, DEFAULT_DECODE_LIMIT};
use lock::{Lease, StoreLock};
use meta::{Outcome, Tx, params};

/// The store layout this build writes: the `meta` table with each room's schema version, and
/// the artifact folder. A store with a higher number is refused; format 2 (every table created
/// at once, before rooms had versions) is taken over as it is.
///
/// ```
/// assert_eq!(mlflow_core::store::FORMAT_VERSION, 3);
/// ```
pub const FORMAT_VERSION: u32 = 3;

/// The oldest format this build takes over.
const OLDEST_ADOPTED_FORMAT: u32 = 2;

const DB_FILE: &str = "mlflow.db";
const ARTIFACTS_DIR: &str = "artifacts";

/// A store: artifacts plus the metadata database. `Sync`: share one across threads.
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
    artifacts: Box<dyn ArtifactStore>,
    meta: Box<dyn MetaStore>,
    lock: StoreLock,
    decode_limit: u64,
    /// The rooms whose tables this handle has brought up to date.
    ready: Mutex<HashSet<&'static str>>,
    /// This handle's lease, taken when it first needs one.
    lease: std::sync::OnceLock<Lease>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("root", &self.root).finish()
    }
}

impl Store {
    /// Opens (creating if needed) the store in the folder `path`: artifact files and a SQLite
    /// database.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        let root = path.as_ref().to_path_buf();
        let unwritable = |source| StoreError::Unwritable { path: root.clone(), source };
        let artifacts = LocalArtifacts::open(root.join(ARTIFACTS_DIR)).map_err(unwritable)?;
        let meta = SqliteMeta::open(&root.join(DB_FILE))?;
        Store::with_backends(root, Box::new(artifacts), Box::new(meta))
    }

    /// Opens a store made of these backends. `root` is a local folder for the store's lock
    /// and the leases of its handles (and the prediction logs of served models).
    pub fn with_backends(
        root: impl Into<PathBuf>,
        artifacts: Box<dyn ArtifactStore>,
        meta: Box<dyn MetaStore>,
    ) -> Result<Store, StoreError> {
        let root = root.into();
        std::fs::create_dir_all(&root)
            .map_err(|source| StoreError::Unwritable { path: root.clone(), source })?;
        check_format(&root, meta.as_ref())?;
        let lock = StoreLock::open(&root)?;
        Ok(Store {
            root,
            artifacts,
            meta,
            lock,
            decode_limit: DEFAULT_DECODE_LIMIT,
            ready: Mutex::new(HashSet::new()),
            lease: std::sync::OnceLock::new(),
        })
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

    /// The artifact backend.
    pub fn artifacts(&self) -> &dyn ArtifactStore {
        self.artifacts.as_ref()
    }

    /// The metadata backend.
    pub fn meta(&self) -> &dyn MetaStore {
        self.meta.as_ref()
    }

    /// The local file of the artifact with this hash (whether or not it exists), for a store on
    /// the local disk.
    pub fn artifact_path(&self, hash: ContentHash) -> Option<PathBuf> {
        self.artifacts.local_path(hash)
    }

    /// Stores bytes under their hash (atomically; a no-op when a sound copy is already there).
    pub fn put_artifact(&self, bytes: &[u8]) -> Result<ContentHash, StoreError> {
        let hash = codec::hash_bytes(bytes);
        let _writing = self.hold_writes()?;
        self.write_artifact(hash, bytes)?;
        Ok(hash)
    }

    /// Writes bytes already known to hash to `hash`. The caller holds [`Store::hold_writes`]
    /// until the row referring to the artifact is committed.
    pub(crate) fn write_artifact(&self, hash: ContentHash, bytes: &[u8]) -> Result<(), StoreError> {
        if self.holds(hash, bytes)? {
            return Ok(());
        }
        self.artifacts.put(hash, bytes)
    }

    /// Like [`Store::write_artifact`], without waiting for the bytes to reach the disk
    /// ([`ArtifactStore::put_unsynced`]): for a mapped step's tasks.
    pub(crate) fn write_artifact_unsynced(&self, hash: ContentHash, bytes: &[u8]) -> Result<(), StoreError> {
        if self.holds(hash, bytes)? {
            return Ok(());
        }
        self.artifacts.put_unsynced(hash, bytes)
    }

    /// Whether `bytes` (hashing to `hash`) need no write: a sound copy is there, or, where
    /// reading it back costs a download, a copy of their size (reads verify it, and discard it
    /// when corrupt, so that the next write repairs it).
    fn holds(&self, hash: ContentHash, bytes: &[u8]) -> Result<bool, StoreError> {
        Ok(match self.artifacts.peek(hash)? {
            Peek::Absent => false,
            Peek::Present { size } => size == bytes.len() as u64,
            Peek::Unknown => self.read_artifact(hash).is_ok(),
        })
    }

    /// Reads an artifact and checks that its bytes hash to its name.
    pub fn read_artifact(&self, hash: ContentHash) -> Result<Vec<u8>, StoreError> {
        let location = || self.artifacts.location_of(hash);
        let Some(bytes) = self.artifacts.get(hash)? else {
            return Err(StoreError::ArtifactMissing { hash, location: location() });
        };
        let actual = codec::hash_bytes(&bytes);
        if actual != hash {
            // Never served; removed where a write would otherwise keep it (see `holds`). A
            // failure to remove it leaves it to that write's own check of a present object.
            let _ = self.artifacts.discard(hash);
            return Err(StoreError::ArtifactCorrupt { expected: hash, actual, location: location() });
        }
        Ok(bytes)
    }

    /// A writer's share of the store lock: garbage collection waits until it is dropped. Hold it
    /// from writing an artifact until the row that refers to it is committed.
    pub(crate) fn hold_writes(&self) -> Result<WriteGuard<'_>, StoreError> {
        self.lock.write(self.meta.machine_locks())
    }

    /// The name of this handle's lease (taken on first use, held until the handle is dropped):
    /// rows that belong to this handle while it lives name it.
    pub(crate) fn lease_name(&self) -> Result<&str, StoreError> {
        if let Some(lease) = self.lease.get() {
            return Ok(lease.name());
        }
        let lease = Lease::take(&self.root)?;
        // Held on the database before any row names it; released when the database's
        // connection closes (the handle is dropped, or the process dies).
        if let Some(machines) = self.meta.machine_locks() {
            machines.hold_lease(lease.name())?;
        }
        // Two threads racing here each took one: the loser's is dropped (and its file removed).
        Ok(self.lease.get_or_init(|| lease).name())
    }

    /// The store lock alone: no writer is between an artifact write and its reference.
    pub(crate) fn exclusive(&self) -> Result<lock::Exclusive<'_>, StoreError> {
        self.lock.exclusive(self.meta.machine_locks())
    }

    /// Runs `f` on the metadata database in `mode` (see [`Mode`]), after bringing `room`'s
    /// tables up to date. An error from `f` rolls a transaction back.
    ///
    /// ```
    /// use mlflow_core::store::{meta::{no_roots, Migration, Room, Tx}, Mode, Store, StoreError};
    /// const NOTES: Room = Room {
    ///     name: "notes",
    ///     migrations: &[Migration::portable(1, "CREATE TABLE notes (text TEXT NOT NULL);")],
    ///     roots: no_roots,
    /// };
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = Store::open(dir.path())?;
    /// store.with_meta(&NOTES, Mode::Write, |tx| {
    ///     tx.execute("INSERT INTO notes (text) VALUES (?1)", &["hello".into()])
    /// })?;
    /// let rows = store.with_meta(&NOTES, Mode::Autocommit, |tx| tx.query("SELECT text FROM notes", &[]))?;
    /// assert_eq!(rows[0].get::<String>(0)?, "hello");
    /// # Ok::<(), StoreError>(())
    /// ```
    pub fn with_meta<T, E: From<StoreError>>(
        &self,
        room: &Room,
        mode: Mode,
        f: impl FnOnce(&mut dyn Tx) -> Result<T, E>,
    ) -> Result<T, E> {
        self.ensure_room(room)?;
        self.transact(mode, f)
    }

    /// [`Store::with_meta`] for several rooms at once (their tables are all brought up to date
    /// first), e.g. one transaction recording a run and its cache keys.
    pub(crate) fn with_rooms<T, E: From<StoreError>>(
        &self,
        rooms: &[&Room],
        mode: Mode,
        f: impl FnOnce(&mut dyn Tx) -> Result<T, E>,
    ) -> Result<T, E> {
        for room in rooms {
            self.ensure_room(room)?;
        }
        self.transact(mode, f)
    }

    fn transact<T, E: From<StoreError>>(
        &self,
        mode: Mode,
        f: impl FnOnce(&mut dyn Tx) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut f = Some(f);
        let mut result: Option<Result<T, E>> = None;
        self.meta.transact(mode, &mut |tx| {
            let run = f.take().expect("a transaction runs its closure once");
            let outcome = run(tx);
            let keep = if outcome.is_ok() { Outcome::Commit } else { Outcome::Rollback };
            result = Some(outcome);
            Ok(keep)
        })?;
        result.expect("the closure ran")
    }

    /// Brings `room`'s tables to this build's schema version, once per handle; `true` the
    /// first time this handle uses the room (for a room's start-of-use checks).
    pub(crate) fn ensure_room(&self, room: &Room) -> Result<bool, StoreError> {
        let mut ready = self.ready.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if ready.contains(room.name) {
            return Ok(false);
        }
        // Most opens find the tables current: check without taking the write lock.
        let current = self.transact(Mode::Autocommit, |tx| room_version(tx, self.meta.as_ref(), room))?;
        if current != room.version() {
            self.transact(Mode::Write, |tx| migrate(tx, self.meta.as_ref(), room))?;
        }
        ready.insert(room.name);
        Ok(true)
    }

    /// The rooms whose tables exist in this store, with their schema versions.
    pub fn rooms(&self) -> Result<Vec<(String, u32)>, StoreError> {
        self.transact(Mode::Autocommit, |tx| {
            let rows = tx.query(
                "SELECT key, value FROM meta WHERE key LIKE '%\\_format' ESCAPE '\\' ORDER BY key",
                &[],
            )?;
            Ok(rows
                .iter()
                .filter_map(|r| {
                    let key = r.get::<String>(0).ok()?;
                    let version = r.get::<String>(1).ok()?.trim().parse().ok()?;
                    Some((key.strip_suffix("_format")?.to_owned(), version))
                })
                .collect())
        })
    }
}

/// The schema version of `room` in the database (0: no tables yet); an error when a newer
/// mlflow wrote them.
fn room_version(tx: &mut dyn Tx, meta: &dyn MetaStore, room: &Room) -> Result<u32, StoreError> {
    let key = room.format_key();
    let found: u32 = match tx.query_opt("SELECT value FROM meta WHERE key = ?1", params![key.as_str()])? {
        Some(row) => row.get::<String>(0)?.trim().parse().unwrap_or(u32::MAX),
        None => 0,
    };
    if found > room.version() {
        return Err(StoreError::NewerRoom {
            location: meta.location(),
            room: room.name.to_owned(),
            found,
            supported: room.version(),
        });
    }
    Ok(found)
}

/// Applies the migrations of `room` that the database has not seen, in one write transaction
/// (which also settles a race between two processes migrating at once).
fn migrate(tx: &mut dyn Tx, meta: &dyn MetaStore, room: &Room) -> Result<(), StoreError> {
    let key = room.format_key();
    let found = room_version(tx, meta, room)?;
    if found == room.version() {
        return Ok(());
    }
    for migration in room.migrations.iter().filter(|m| m.version > found) {
        let sql = migration.sql(meta.dialect());
        if sql.trim().is_empty() {
            return Err(StoreError::Schema {
                detail: format!(
                    "the {} tables have no {:?} migration to version {} (at {}): use a store with a database this room supports",
                    room.name,
                    meta.dialect(),
                    migration.version,
                    meta.location()
                ),
            });
        }
        tx.execute_batch(sql)?;
    }
    tx.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key.as_str(), room.version().to_string()],
    )?;
    Ok(())
}

/// Creates the `meta` table of a new store, or checks the format of an existing one (taking a
/// format-2 store over: its tables are every room's version 1).
fn check_format(root: &Path, meta: &dyn MetaStore) -> Result<(), StoreError> {
    let mut inner = |tx: &mut dyn Tx| -> Result<Outcome, StoreError> {
        tx.execute_batch("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);")?;
        let found = tx.query_opt("SELECT value FROM meta WHERE key = 'format'", &[])?;
        let found = match found {
            Some(row) => row.get::<String>(0)?.trim().parse::<u32>().unwrap_or(u32::MAX),
            None => {
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES ('format', ?1), ('created_by', ?2)",
                    params![FORMAT_VERSION.to_string(), env!("CARGO_PKG_VERSION")],
                )?;
                return Ok(Outcome::Commit);
            }
        };
        if found > FORMAT_VERSION {
            return Err(StoreError::NewerFormat {
                path: root.to_path_buf(),
                found,
                supported: FORMAT_VERSION,
            });
        }
        if found < OLDEST_ADOPTED_FORMAT {
            return Err(StoreError::OlderFormat {
                path: root.to_path_buf(),
                found,
                supported: FORMAT_VERSION,
            });
        }
        if found < FORMAT_VERSION {
            // Format 2 created the cache and runs tables at their version 1 (the registry kept
            // its own version already, under the same key rooms use now).
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('cache_format', '1'), ('runs_format', '1')
                 ON CONFLICT (key) DO NOTHING",
                &[],
            )?;
            tx.execute(
                "UPDATE meta SET value = ?1 WHERE key = 'format'",
                params![FORMAT_VERSION.to_string()],
            )?;
        }
        Ok(Outcome::Commit)
    };
    // Most opens find the current format: check it without taking the write lock.
    let mut current = false;
    meta.transact(Mode::Autocommit, &mut |tx| {
        let format = tx.query_opt("SELECT value FROM meta WHERE key = 'format'", &[]);
        current = matches!(format, Ok(Some(row)) if row.get::<String>(0).is_ok_and(|v| v.trim() == FORMAT_VERSION.to_string()));
        Ok(Outcome::Commit)
    })?;
    if current {
        return Ok(());
    }
    meta.transact(Mode::Write, &mut inner)
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

pub(crate) fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

pub(crate) fn now_nanos() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}

/// A fresh store in a temporary folder, for the unit tests of the rooms.
#[cfg(test)]
pub(crate) fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    (dir, store)
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    fn set_format(store: &Store, value: &str) {
        store
            .transact(Mode::Autocommit, |tx| {
                tx.execute("UPDATE meta SET value = ?1 WHERE key = 'format'", params![value])
            })
            .unwrap();
    }

    #[test]
    fn artifacts_are_verified_on_read() {
        let (_dir, store) = temp_store();
        let hash = store.put_artifact(b"abc").unwrap();
        let path = store.artifact_path(hash).unwrap();
        fs::write(&path, b"abd").unwrap();
        assert!(matches!(store.read_artifact(hash), Err(StoreError::ArtifactCorrupt { .. })));
        // Writing again repairs the corrupt copy.
        store.put_artifact(b"abc").unwrap();
        assert_eq!(store.read_artifact(hash).unwrap(), b"abc");
        fs::remove_file(&path).unwrap();
        assert!(matches!(store.read_artifact(hash), Err(StoreError::ArtifactMissing { .. })));
    }

    #[test]
    fn a_newer_format_is_refused() {
        let (dir, store) = temp_store();
        set_format(&store, "999");
        drop(store);
        let err = Store::open(dir.path().join("store")).unwrap_err();
        assert!(matches!(err, StoreError::NewerFormat { found: 999, supported: FORMAT_VERSION, .. }));
        assert!(err.to_string().contains("upgrade mlflow"), "{err}");
    }

    #[test]
    fn a_pre_release_format_is_refused_with_what_to_do() {
        let (dir, store) = temp_store();
        set_format(&store, "1");
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
    fn a_format_2_store_is_taken_over_and_its_rooms_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("old");
        fs::create_dir_all(&root).unwrap();
        {
            // What a format-2 mlflow created: every table at once, and the format key.
            let db = rusqlite::Connection::open(root.join(DB_FILE)).unwrap();
            db.execute_batch("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);").unwrap();
            db.execute_batch(cache::CACHE.migrations[0].sqlite).unwrap();
            db.execute_batch(crate::track::runs::RUNS.migrations[0].sqlite).unwrap();
            db.execute("INSERT INTO meta (key, value) VALUES ('format', '2')", []).unwrap();
        }
        let store = Store::open(&root).unwrap();
        assert!(store.last_keys("any").unwrap().is_empty(), "the cache room's version 2 added its column");
        assert!(store.run_ids("any").unwrap().is_empty());
        let rooms = store.rooms().unwrap();
        assert!(
            rooms.contains(&("cache".to_owned(), 2)) && rooms.contains(&("runs".to_owned(), 3)),
            "{rooms:?}"
        );
        let format: String = store
            .transact(Mode::Autocommit, |tx| tx.query("SELECT value FROM meta WHERE key = 'format'", &[]))
            .unwrap()[0]
            .get(0)
            .unwrap();
        assert_eq!(format, FORMAT_VERSION.to_string());
    }

    const TOY: Room = Room {
        name: "toy",
        migrations: &[
            Migration {
                version: 1,
                sqlite: "CREATE TABLE toy (a INTEGER NOT NULL);",
                postgres: "CREATE TABLE toy (a BIGINT NOT NULL);",
            },
            Migration::portable(2, "ALTER TABLE toy ADD COLUMN b TEXT NOT NULL DEFAULT 'x';"),
        ],
        roots: meta::no_roots,
    };

    #[test]
    fn rooms_migrate_once_in_order_and_a_newer_room_is_refused() {
        let (dir, store) = temp_store();
        assert!(store.ensure_room(&TOY).unwrap(), "first use");
        assert!(!store.ensure_room(&TOY).unwrap(), "once per handle");
        store.with_meta(&TOY, Mode::Write, |tx| tx.execute("INSERT INTO toy (a) VALUES (1)", &[])).unwrap();
        let b: String =
            store.with_meta(&TOY, Mode::Autocommit, |tx| tx.query("SELECT b FROM toy", &[])).unwrap()[0]
                .get(0)
                .unwrap();
        assert_eq!(b, "x");
        assert!(store.rooms().unwrap().contains(&("toy".to_owned(), 2)));
        store
            .transact(Mode::Autocommit, |tx| {
                tx.execute("UPDATE meta SET value = '3' WHERE key = 'toy_format'", &[])
            })
            .unwrap();
        drop(store);
        let store = Store::open(dir.path().join("store")).unwrap();
        let err = store.ensure_room(&TOY).unwrap_err();
        assert!(matches!(err, StoreError::NewerRoom { found: 3, supported: 2, .. }), "{err}");
        assert!(err.to_string().contains("toy tables"), "{err}");
    }

    #[test]
    fn a_failed_transaction_leaves_nothing() {
        let (_dir, store) = temp_store();
        let failed: Result<(), StoreError> = store.with_meta(&TOY, Mode::Write, |tx| {
            tx.execute("INSERT INTO toy (a) VALUES (1)", &[])?;
            Err(StoreError::Schema { detail: "stop".into() })
        });
        assert!(failed.is_err());
        let rows = store.with_meta(&TOY, Mode::Autocommit, |tx| tx.query("SELECT a FROM toy", &[])).unwrap();
        assert!(rows.is_empty());
    }
}
