//! The registry's tables, as a room of the store: their schema, its version, and the artifacts
//! they keep from garbage collection.

use crate::codec::ContentHash;
use crate::store::StoreError;
use crate::store::meta::{Migration, Room, Tx};

const MIGRATIONS: &[Migration] = &[
    Migration {
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
    },
    // Version 2: a promotion is gated by several thresholds. Each one's figures go in a child
    // table of the move; the move's `guard_*` columns keep the first (the promotion's own
    // metric), so moves written before this read back unchanged.
    Migration {
        version: 2,
        sqlite: "
CREATE TABLE IF NOT EXISTS registry_gate_checks (
    move_id INTEGER NOT NULL REFERENCES registry_alias_moves (id),
    position INTEGER NOT NULL,
    metric TEXT NOT NULL,
    higher_is_better INTEGER NOT NULL,
    at_least REAL,
    at_most REAL,
    absolute_change REAL,
    relative_change REAL,
    candidate REAL,
    baseline_version INTEGER,
    baseline REAL,
    diff REAL,
    relative REAL,
    passed INTEGER NOT NULL,
    PRIMARY KEY (move_id, position)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS registry_gate_checks_no_update BEFORE UPDATE ON registry_gate_checks
BEGIN SELECT RAISE(ABORT, 'the alias history is append-only'); END;
CREATE TRIGGER IF NOT EXISTS registry_gate_checks_no_delete BEFORE DELETE ON registry_gate_checks
BEGIN SELECT RAISE(ABORT, 'the alias history is append-only'); END;
",
    },
];

/// The registry's tables: one row per version (`registry_versions`, with `registry_metrics` and
/// `registry_tags`) and the append-only alias history (`registry_alias_moves`, with the figures
/// of each promotion's thresholds in `registry_gate_checks`). Every registered
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
/// assert_eq!(mlflow_core::registry::REGISTRY_FORMAT, 2);
/// ```
pub const REGISTRY_FORMAT: u32 = MIGRATIONS[MIGRATIONS.len() - 1].version;

/// The columns of an alias move after its `id`, in the order the row readers expect.
pub(super) const MOVE_FIELDS: &str = "name, alias, version, previous, at_ms, reason, forced, guard_metric, \
     guard_higher, guard_margin, guard_candidate, guard_current_version, guard_current, guard_passed";

/// The columns of a threshold check after its `move_id`, in the order the row readers expect.
pub(super) const CHECK_FIELDS: &str = "position, metric, higher_is_better, at_least, at_most, absolute_change, \
     relative_change, candidate, baseline_version, baseline, diff, relative, passed";

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
    use crate::registry::{MetricThreshold, Promotion, Registry, RegistryError};
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
    fn a_format_1_store_reads_its_guarded_moves_as_one_change_threshold() {
        let (dir, store) = temp_store();
        // What a registry of format 1 wrote: its tables only, and a promotion guarded by the
        // `guard_*` columns (version 2 refused, forced past a 0.85 holder with margin 0.01).
        const FORMAT_1: Room = Room { name: "registry", migrations: &[MIGRATIONS[0]], roots: registry_roots };
        store
            .with_meta(&FORMAT_1, Mode::Write, |tx| {
                tx.execute(
                    "INSERT INTO registry_alias_moves (name, alias, version, previous, at_ms, reason, forced,
                         guard_metric, guard_higher, guard_margin, guard_candidate, guard_current_version,
                         guard_current, guard_passed)
                     VALUES ('m', 'production', 2, 1, 5, 'old', 1, 'loss', 0, 0.01, 0.4, 1, 0.3, 0)",
                    &[],
                )
            })
            .unwrap();
        drop(store);
        let store = Store::open(dir.path().join("store")).unwrap();
        crate::registry::promote_tests::seed(&store, &[&[("loss", 0.3)], &[("loss", 0.4)], &[("loss", 0.2)]]);
        let registry = Registry::new(&store).unwrap();
        assert!(store.rooms().unwrap().contains(&("registry".to_owned(), REGISTRY_FORMAT)));
        let old = registry.alias_history("m", "production").unwrap().remove(0);
        let guard = old.guard.expect("a guarded move");
        assert_eq!((guard.metric.as_str(), guard.higher_is_better, guard.margin), ("loss", false, 0.01));
        assert!(old.forced && !guard.passed);
        let [check] = guard.thresholds.as_slice() else { panic!("one threshold: {guard:?}") };
        assert_eq!(check.threshold, MetricThreshold::new("loss").lower_is_better().absolute_change(-0.01));
        assert_eq!(
            (check.candidate, check.baseline_version, check.baseline),
            (Some(0.4), Some(1), Some(0.3))
        );
        assert!(!check.passed && (check.diff.unwrap() - 0.1).abs() < 1e-12, "{check}");
        // New moves record their thresholds in the new table, after the old one.
        let moved = registry.promote("m", 3, "production", Promotion::new("loss").lower_is_better()).unwrap();
        let history = registry.alias_history("m", "production").unwrap();
        assert_eq!(history.len(), 2);
        assert_eq!(history[1], moved.unwrap());
        assert!(history[1].guard.as_ref().unwrap().passed);
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
