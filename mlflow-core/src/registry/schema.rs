//! The registry's tables, as a room of the store: their schema, its version, and the artifacts
//! they keep from garbage collection.

use crate::codec::ContentHash;
use crate::store::StoreError;
use crate::store::meta::{Migration, Room, Tx};

const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    sqlite: "
CREATE TABLE IF NOT EXISTS registry_versions (
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    artifact BLOB NOT NULL,
    size INTEGER NOT NULL,
    run_id TEXT NOT NULL,
    pipeline TEXT NOT NULL,
    node TEXT NOT NULL,
    step TEXT NOT NULL,
    description TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (name, version)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS registry_versions_by_artifact ON registry_versions (artifact, name);
CREATE TABLE IF NOT EXISTS registry_metrics (
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    metric TEXT NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (name, version, metric)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS registry_tags (
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (name, version, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS registry_alias_moves (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    alias TEXT NOT NULL,
    version INTEGER,
    previous INTEGER,
    at_ms INTEGER NOT NULL,
    reason TEXT NOT NULL,
    forced INTEGER NOT NULL,
    guard_metric TEXT,
    guard_higher INTEGER,
    guard_margin REAL,
    guard_candidate REAL,
    guard_current_version INTEGER,
    guard_current REAL,
    guard_passed INTEGER
);
CREATE INDEX IF NOT EXISTS registry_alias_moves_by_alias ON registry_alias_moves (name, alias, at_ms, id);
CREATE TRIGGER IF NOT EXISTS registry_alias_moves_no_update BEFORE UPDATE ON registry_alias_moves
BEGIN SELECT RAISE(ABORT, 'the alias history is append-only'); END;
CREATE TRIGGER IF NOT EXISTS registry_alias_moves_no_delete BEFORE DELETE ON registry_alias_moves
BEGIN SELECT RAISE(ABORT, 'the alias history is append-only'); END;
",
}];

/// The registry's tables: one row per version (`registry_versions`, with `registry_metrics` and
/// `registry_tags`) and the append-only alias history (`registry_alias_moves`). Every registered
/// version keeps its artifact from garbage collection.
///
/// ```
/// use mlflow_core::registry::{REGISTRY, REGISTRY_FORMAT};
/// assert_eq!((REGISTRY.name, REGISTRY.version()), ("registry", REGISTRY_FORMAT));
/// assert_eq!(REGISTRY.format_key(), "registry_format");
/// ```
pub const REGISTRY: Room = Room { name: "registry", migrations: MIGRATIONS, roots: registry_roots };

/// The registry table format this build writes. A store whose registry has a higher number is
/// refused.
///
/// ```
/// assert_eq!(mlflow_core::registry::REGISTRY_FORMAT, 1);
/// ```
pub const REGISTRY_FORMAT: u32 = MIGRATIONS[MIGRATIONS.len() - 1].version;

/// The columns of an alias move after its `id`, in the order the row readers expect.
pub(super) const MOVE_FIELDS: &str = "name, alias, version, previous, at_ms, reason, forced, guard_metric, \
     guard_higher, guard_margin, guard_candidate, guard_current_version, guard_current, guard_passed";

/// The move that decides an alias's state: the latest by time, then by id.
pub(super) const LATEST_MOVE: &str = "NOT EXISTS (SELECT 1 FROM registry_alias_moves n WHERE n.name = m.name \
     AND n.alias = m.alias AND (n.at_ms > m.at_ms OR (n.at_ms = m.at_ms AND n.id > m.id)))";

/// Every registered version keeps its artifact.
fn registry_roots(tx: &mut dyn Tx) -> Result<Vec<ContentHash>, StoreError> {
    let mut roots = Vec::new();
    for row in tx.query("SELECT artifact FROM registry_versions", &[])? {
        // A blob that is not a hash names no artifact.
        if let Ok(bytes) = <[u8; 32]>::try_from(row.get::<Vec<u8>>(0)?.as_slice()) {
            roots.push(ContentHash::from_bytes(bytes));
        }
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{Registry, RegistryError};
    use crate::store::meta::params;
    use crate::store::temp_store;
    use crate::store::{Mode, Store};

    fn run(store: &Store, sql: &str) -> Result<usize, StoreError> {
        store.with_meta(&REGISTRY, Mode::Autocommit, |tx| tx.execute(sql, &[]))
    }

    #[test]
    fn tables_are_created_once_and_a_newer_format_is_refused() {
        let (dir, store) = temp_store();
        Registry::new(&store).unwrap();
        Registry::new(&store).unwrap();
        let format: String = store
            .with_meta(&REGISTRY, Mode::Autocommit, |tx| {
                tx.query_opt("SELECT value FROM meta WHERE key = 'registry_format'", &[])
            })
            .unwrap()
            .expect("the format is recorded")
            .get(0)
            .unwrap();
        assert_eq!(format, REGISTRY_FORMAT.to_string());
        run(&store, "UPDATE meta SET value = '7' WHERE key = 'registry_format'").unwrap();
        // Refused by this handle, which brought the tables up to date before...
        let err = Registry::new(&store).unwrap_err();
        assert!(matches!(err, RegistryError::NewerFormat { found: 7, supported: REGISTRY_FORMAT }), "{err}");
        assert!(err.to_string().contains("upgrade mlflow"), "{err}");
        // ...and by a new one, when the store brings them up to date.
        drop(store);
        let store = Store::open(dir.path().join("store")).unwrap();
        let err = Registry::new(&store).unwrap_err();
        assert!(matches!(err, RegistryError::NewerFormat { found: 7, supported: REGISTRY_FORMAT }), "{err}");
        assert!(err.to_string().contains("upgrade mlflow"), "{err}");
    }

    #[test]
    fn the_alias_history_is_append_only() {
        let (_dir, store) = temp_store();
        Registry::new(&store).unwrap();
        run(
            &store,
            "INSERT INTO registry_alias_moves (name, alias, version, at_ms, reason, forced)
             VALUES ('m', 'a', 1, 0, '', 0)",
        )
        .unwrap();
        let update = run(&store, "UPDATE registry_alias_moves SET version = 2");
        assert!(update.unwrap_err().to_string().contains("append-only"));
        let delete = run(&store, "DELETE FROM registry_alias_moves");
        assert!(delete.unwrap_err().to_string().contains("append-only"));
    }

    #[test]
    fn every_version_is_a_root() {
        let (_dir, store) = temp_store();
        let hash = ContentHash::of(b"a model");
        store
            .with_meta(&REGISTRY, Mode::Write, |tx| {
                for (version, artifact) in [(1u32, hash.as_bytes().to_vec()), (2, b"not a hash".to_vec())] {
                    tx.execute(
                        "INSERT INTO registry_versions (name, version, artifact, size, run_id, pipeline, node,
                             step, description, created_ms)
                         VALUES ('m', ?1, ?2, 7, 'r', 'p', 'n', 's', '', 0)",
                        params![version, artifact],
                    )?;
                }
                Ok::<_, StoreError>(())
            })
            .unwrap();
        let roots = store.with_meta(&REGISTRY, Mode::Read, |tx| (REGISTRY.roots)(tx)).unwrap();
        assert_eq!(roots, [hash]);
    }
}
