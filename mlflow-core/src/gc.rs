//! Garbage collection: removes artifacts no room refers to, and leftovers of interrupted writes.
//!
//! Each room that keeps tables says which artifacts its rows keep alive ([`Room::roots`]): the
//! cache index its outputs, the runs their steps' outputs, the registry its model versions; a
//! program with rooms of its own names them ([`Store::gc_with_rooms`]). A store holding tables of
//! a room the collecting program does not know is not collected: its references cannot be read,
//! so collecting could delete what it keeps.
//!
//! Collection holds the store lock alone: writers share it from an artifact write until the row
//! referring to the artifact is committed, so a collection at any grace period never removes a
//! write under way, nor an artifact written but not yet referenced.

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::codec::ContentHash;
use crate::registry::REGISTRY;
use crate::store::cache::CACHE;
use crate::store::{Mode, Room, Store, StoreError};
use crate::track::runs::RUNS;

/// Every room of the engine that keeps tables.
pub const ROOMS: [&Room; 3] = [&CACHE, &RUNS, &REGISTRY];

/// What a collection removed.
///
/// ```
/// use std::time::Duration;
/// use mlflow_core::gc::GcOptions;
/// use mlflow_core::store::Store;
/// let dir = tempfile::tempdir().unwrap();
/// let store = Store::open(dir.path()).unwrap();
/// store.put_artifact(b"referenced by nothing").unwrap();
/// let report = store.gc_with(GcOptions { grace: Duration::ZERO }).unwrap();
/// assert_eq!((report.artifacts_removed, report.bytes_freed), (1, 21));
/// ```
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct GcReport {
    /// Artifacts removed because no room refers to them.
    pub artifacts_removed: usize,
    /// Bytes freed by those.
    pub bytes_freed: u64,
    /// Leftover temporary files of interrupted writes removed.
    pub temp_files_removed: usize,
    /// Artifacts still referenced (or younger than the grace period).
    pub artifacts_kept: usize,
}

/// Options of [`Store::gc_with`] (see [`GcReport`] for an example).
#[derive(Debug, Clone, Copy)]
pub struct GcOptions {
    /// Unreferenced artifacts younger than this are kept (default 10 minutes): an artifact a
    /// program put with `Store::put_artifact` and has not referenced yet. Writes of runs and of
    /// the registry are protected at any grace by the store lock.
    pub grace: Duration,
}

impl Default for GcOptions {
    fn default() -> Self {
        GcOptions { grace: Duration::from_secs(600) }
    }
}

impl Store {
    /// Removes artifacts that no room refers to, and leftover temporary files of interrupted
    /// writes, keeping unreferenced artifacts younger than 10 minutes (see [`GcOptions`]).
    pub fn gc(&self) -> Result<GcReport, StoreError> {
        self.gc_with(GcOptions::default())
    }

    /// [`Store::gc`] with options.
    pub fn gc_with(&self, options: GcOptions) -> Result<GcReport, StoreError> {
        self.gc_with_rooms(options, &[])
    }

    /// [`Store::gc_with`] for a program whose own rooms keep tables in the store beside the
    /// engine's: their roots are kept too. A store holding tables of a room in neither list is
    /// not collected.
    ///
    /// ```
    /// use std::time::Duration;
    /// use mlflow_core::gc::GcOptions;
    /// use mlflow_core::store::{meta::{Migration, Room, Tx}, Mode, Store, StoreError};
    /// const PINS: Room = Room {
    ///     name: "pins",
    ///     migrations: &[Migration {
    ///         version: 1,
    ///         sqlite: "CREATE TABLE pins (artifact BLOB NOT NULL);",
    ///         postgres: "CREATE TABLE pins (artifact BYTEA NOT NULL);",
    ///     }],
    ///     roots: |tx: &mut dyn Tx| Ok(tx.query("SELECT artifact FROM pins", &[])?.iter().filter_map(|r| r.try_get(0)).collect()),
    /// };
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = Store::open(dir.path())?;
    /// let pinned = store.put_artifact(b"keep me")?;
    /// store.with_meta(&PINS, Mode::Write, |tx| tx.execute("INSERT INTO pins (artifact) VALUES (?1)", &[pinned.into()]))?;
    /// let now = GcOptions { grace: Duration::ZERO };
    /// assert!(store.gc_with(now).is_err(), "the engine alone does not know the pins");
    /// assert_eq!(store.gc_with_rooms(now, &[&PINS])?.artifacts_removed, 0);
    /// assert!(store.read_artifact(pinned).is_ok());
    /// # Ok::<(), StoreError>(())
    /// ```
    pub fn gc_with_rooms(&self, options: GcOptions, rooms: &[&Room]) -> Result<GcReport, StoreError> {
        let known: Vec<&Room> = ROOMS.iter().copied().chain(rooms.iter().copied()).collect();
        // Alone first: a writer may create a room's tables (and its first references) meanwhile.
        let _alone = self.exclusive()?;
        let present: Vec<String> = self.rooms()?.into_iter().map(|(room, _)| room).collect();
        let unknown: Vec<String> =
            present.iter().filter(|room| !known.iter().any(|k| k.name == *room)).cloned().collect();
        if !unknown.is_empty() {
            return Err(StoreError::UnknownRooms { path: self.root().to_path_buf(), rooms: unknown });
        }
        let mut referenced = HashSet::new();
        // A room whose tables were never created refers to nothing.
        for room in known.iter().filter(|room| present.iter().any(|p| p == room.name)) {
            referenced.extend(self.with_meta(room, Mode::Read, |tx| (room.roots)(tx))?);
        }
        collect(self, &referenced, options)
    }
}

fn collect(
    store: &Store,
    referenced: &HashSet<ContentHash>,
    options: GcOptions,
) -> Result<GcReport, StoreError> {
    let cutoff = SystemTime::now().checked_sub(options.grace).unwrap_or(UNIX_EPOCH);
    let mut report = GcReport::default();
    let artifacts = store.artifacts();
    let mut doomed = Vec::new();
    artifacts.list(&mut |entry| {
        if entry.temp {
            // No writer holds the lock: a temporary file is the leftover of a crashed write.
            report.temp_files_removed += 1;
            doomed.push(entry);
            return Ok(());
        }
        let young = entry.modified.is_none_or(|m| m > cutoff);
        // A file whose name is not a hash is not ours to remove.
        let keep = entry.hash.is_none_or(|h| referenced.contains(&h));
        if keep || young {
            report.artifacts_kept += 1;
        } else {
            report.artifacts_removed += 1;
            report.bytes_freed += entry.size;
            doomed.push(entry);
        }
        Ok(())
    })?;
    for entry in &doomed {
        artifacts.remove(entry)?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::meta::{Migration, no_roots};
    use crate::store::temp_store;

    #[test]
    fn gc_keeps_referenced_and_young_files_and_removes_leftovers() {
        let (_dir, store) = temp_store();
        let kept = store.put_artifact(b"kept").unwrap();
        store.cache_put(ContentHash::of(b"k"), "s", kept, 4, "r", None).unwrap();
        let orphan = store.put_artifact(b"orphan").unwrap();
        let temp = store.artifact_path(orphan).unwrap().with_file_name(".tmp-crashed");
        std::fs::write(&temp, b"half").unwrap();
        let report = store.gc().unwrap();
        assert_eq!(report.artifacts_removed, 0, "young files survive the default grace");
        assert_eq!(report.temp_files_removed, 1, "no writer holds the lock: a leftover");
        let report = store.gc_with(GcOptions { grace: Duration::ZERO }).unwrap();
        assert_eq!(report.artifacts_removed, 1);
        assert!(store.read_artifact(kept).is_ok());
        assert!(store.read_artifact(orphan).is_err());
    }

    #[test]
    fn gc_refuses_a_store_with_tables_of_an_unknown_room() {
        let (_dir, store) = temp_store();
        const FUTURE: Room = Room {
            name: "monitor",
            migrations: &[Migration {
                version: 1,
                sqlite: "CREATE TABLE monitor (artifact BLOB);",
                postgres: "CREATE TABLE monitor (artifact BYTEA);",
            }],
            roots: no_roots,
        };
        store.ensure_room(&FUTURE).unwrap();
        let orphan = store.put_artifact(b"maybe the monitor's").unwrap();
        let err = store.gc_with(GcOptions { grace: Duration::ZERO }).unwrap_err();
        assert!(matches!(&err, StoreError::UnknownRooms { rooms, .. } if rooms == &["monitor"]), "{err}");
        assert!(err.to_string().contains("run gc with the program that wrote them"), "{err}");
        assert!(store.read_artifact(orphan).is_ok(), "nothing removed");
    }

    #[test]
    fn gc_waits_for_a_writer_between_artifact_and_reference() {
        let (_dir, store) = temp_store();
        let store = std::sync::Arc::new(store);
        let writing = store.hold_writes().unwrap();
        let hash = store.put_artifact(b"not yet referenced").unwrap();
        let collector = {
            let store = std::sync::Arc::clone(&store);
            std::thread::spawn(move || store.gc_with(GcOptions { grace: Duration::ZERO }).unwrap())
        };
        std::thread::sleep(Duration::from_millis(100));
        assert!(!collector.is_finished(), "gc waits for the writer");
        store.cache_put(ContentHash::of(b"key"), "s", hash, 18, "r", None).unwrap();
        drop(writing);
        let report = collector.join().unwrap();
        assert_eq!(report.artifacts_removed, 0);
        assert!(store.read_artifact(hash).is_ok());
    }
}
