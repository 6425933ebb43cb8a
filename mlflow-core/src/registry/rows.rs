//! Reading and appending the registry's rows, inside a transaction the caller opened.

use std::collections::BTreeMap;

use crate::store::StoreError;
use crate::store::meta::{Row, Tx, params};

use super::error::RegistryError;
use super::gate::{MetricThreshold, ThresholdCheck};
use super::schema::{CHECK_FIELDS, LATEST_MOVE, MOVE_FIELDS};
use super::types::{AliasMove, GuardCheck, ModelVersion};

/// [`RegistryError::UnknownModel`].
pub(super) fn unknown_model(name: &str) -> RegistryError {
    RegistryError::UnknownModel { name: name.to_owned() }
}

/// [`RegistryError::UnknownAlias`], listing the aliases the model has now.
pub(super) fn unknown_alias(
    tx: &mut dyn Tx,
    name: &str,
    alias: &str,
) -> Result<RegistryError, RegistryError> {
    Ok(RegistryError::UnknownAlias {
        name: name.to_owned(),
        alias: alias.to_owned(),
        current: current_aliases(tx, Some(name))?.remove(name).unwrap_or_default(),
    })
}

/// The highest version of a model (`None` if it has none).
pub(super) fn latest_version(tx: &mut dyn Tx, name: &str) -> Result<Option<u32>, RegistryError> {
    let row = tx.query_opt("SELECT MAX(version) FROM registry_versions WHERE name = ?1", params![name])?;
    Ok(match row {
        Some(row) => row.get(0)?,
        None => None,
    })
}

/// The version and time of the latest move of an alias (`None` if it never moved).
pub(super) fn last_move(
    tx: &mut dyn Tx,
    name: &str,
    alias: &str,
) -> Result<Option<(Option<u32>, i64)>, RegistryError> {
    let row = tx.query_opt(
        "SELECT version, at_ms FROM registry_alias_moves WHERE name = ?1 AND alias = ?2
         ORDER BY at_ms DESC, id DESC LIMIT 1",
        params![name, alias],
    )?;
    Ok(match row {
        Some(row) => Some((row.get(0)?, row.get(1)?)),
        None => None,
    })
}

/// Current aliases by model (one model, or all).
pub(super) fn current_aliases(
    tx: &mut dyn Tx,
    name: Option<&str>,
) -> Result<BTreeMap<String, BTreeMap<String, u32>>, RegistryError> {
    let rows = tx.query(
        &format!(
            "SELECT m.name, m.alias, m.version FROM registry_alias_moves m
             WHERE (m.name = ?1 OR ?1 IS NULL) AND m.version IS NOT NULL AND {LATEST_MOVE}"
        ),
        params![name],
    )?;
    let mut out: BTreeMap<String, BTreeMap<String, u32>> = BTreeMap::new();
    for row in rows {
        out.entry(row.get(0)?).or_default().insert(row.get(1)?, row.get(2)?);
    }
    Ok(out)
}

/// One version of a model; [`RegistryError::UnknownModel`] or [`RegistryError::UnknownVersion`]
/// if there is no such version.
pub(super) fn require_version(
    tx: &mut dyn Tx,
    name: &str,
    version: u32,
) -> Result<ModelVersion, RegistryError> {
    if let Some(found) = load_versions(tx, name, Some(version))?.pop() {
        return Ok(found);
    }
    Err(match latest_version(tx, name)? {
        None => unknown_model(name),
        Some(latest) => RegistryError::UnknownVersion { name: name.to_owned(), version, latest },
    })
}

/// The versions of a model (one, or all), oldest first.
pub(super) fn load_versions(
    tx: &mut dyn Tx,
    name: &str,
    version: Option<u32>,
) -> Result<Vec<ModelVersion>, RegistryError> {
    let filter = "name = ?1 AND (version = ?2 OR ?2 IS NULL)";
    let rows = tx.query(
        &format!(
            "SELECT version, artifact, size, run_id, pipeline, node, step, description, created_ms
             FROM registry_versions WHERE {filter} ORDER BY version"
        ),
        params![name, version],
    )?;
    let mut versions = BTreeMap::new();
    for r in rows {
        let v = ModelVersion {
            name: name.to_owned(),
            version: r.get(0)?,
            artifact: r.get(1)?,
            size: r.get::<i64>(2)?.max(0) as u64,
            run_id: r.get(3)?,
            pipeline: r.get(4)?,
            node: r.get(5)?,
            step: r.get(6)?,
            metrics: BTreeMap::new(),
            description: r.get(7)?,
            tags: BTreeMap::new(),
            created_ms: r.get(8)?,
            aliases: Vec::new(),
        };
        versions.insert(v.version, v);
    }
    if versions.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!("SELECT version, metric, value FROM registry_metrics WHERE {filter}");
    for r in tx.query(&sql, params![name, version])? {
        if let Some(found) = versions.get_mut(&r.get::<u32>(0)?) {
            found.metrics.insert(r.get(1)?, r.get(2)?);
        }
    }
    let sql = format!("SELECT version, key, value FROM registry_tags WHERE {filter}");
    for r in tx.query(&sql, params![name, version])? {
        if let Some(found) = versions.get_mut(&r.get::<u32>(0)?) {
            found.tags.insert(r.get(1)?, r.get(2)?);
        }
    }
    for (alias, v) in current_aliases(tx, Some(name))?.remove(name).unwrap_or_default() {
        if let Some(found) = versions.get_mut(&v) {
            found.aliases.push(alias); // sorted: the map iterates in order
        }
    }
    Ok(versions.into_values().collect())
}

/// The moves of a model's aliases (one alias, or all), oldest first.
pub(super) fn load_moves(
    tx: &mut dyn Tx,
    name: &str,
    alias: Option<&str>,
) -> Result<Vec<AliasMove>, RegistryError> {
    let rows = tx.query(
        &format!(
            "SELECT id, {MOVE_FIELDS} FROM registry_alias_moves WHERE name = ?1 AND (alias = ?2 OR ?2 IS NULL)
             ORDER BY at_ms, id"
        ),
        params![name, alias],
    )?;
    let mut moves: Vec<AliasMove> = rows.iter().map(read_move).collect::<Result<_, _>>()?;
    let rows = tx.query(
        &format!(
            "SELECT c.move_id, {} FROM registry_gate_checks c JOIN registry_alias_moves m ON m.id = c.move_id
             WHERE m.name = ?1 AND (m.alias = ?2 OR ?2 IS NULL) ORDER BY c.move_id, c.position",
            CHECK_FIELDS.replace("position", "c.position")
        ),
        params![name, alias],
    )?;
    let mut checks: BTreeMap<i64, Vec<ThresholdCheck>> = BTreeMap::new();
    for row in &rows {
        checks.entry(row.get(0)?).or_default().push(read_check(row)?);
    }
    for moved in &mut moves {
        if let Some(guard) = moved.guard.as_mut() {
            guard.thresholds = match checks.remove(&moved.id) {
                Some(found) => found,
                // Recorded before thresholds had their own table: the one guard it had.
                None => vec![legacy_check(guard)],
            };
        }
    }
    Ok(moves)
}

/// The single threshold of a move recorded by a registry of format 1: an absolute change of
/// `margin` in the metric's good direction, with the figures its `guard_*` columns kept.
fn legacy_check(guard: &GuardCheck) -> ThresholdCheck {
    let mut threshold = MetricThreshold::new(guard.metric.clone())
        .absolute_change(if guard.higher_is_better { guard.margin } else { -guard.margin });
    threshold.higher_is_better = guard.higher_is_better;
    let mut check = threshold.check(guard.candidate, guard.current_version, guard.current);
    // As decided then, even if the rules have been refined since.
    check.passed = guard.passed;
    check
}

/// A row of `SELECT move_id, {CHECK_FIELDS}`.
fn read_check(r: &Row) -> Result<ThresholdCheck, StoreError> {
    Ok(ThresholdCheck {
        threshold: MetricThreshold {
            metric: r.get(2)?,
            higher_is_better: flag(r, 3)?.unwrap_or(true),
            at_least: r.get(4)?,
            at_most: r.get(5)?,
            absolute_change: r.get(6)?,
            relative_change: r.get(7)?,
        },
        candidate: r.get(8)?,
        baseline_version: r.get(9)?,
        baseline: r.get(10)?,
        diff: r.get(11)?,
        relative: r.get(12)?,
        passed: flag(r, 13)?.unwrap_or(false),
    })
}

/// A flag column: any integer but 0 is true.
fn flag(row: &Row, index: usize) -> Result<Option<bool>, StoreError> {
    Ok(row.get::<Option<i64>>(index)?.map(|i| i != 0))
}

/// A row of `SELECT id, {MOVE_FIELDS}`.
fn read_move(r: &Row) -> Result<AliasMove, StoreError> {
    let guard = match r.get::<Option<String>>(8)? {
        None => None,
        Some(metric) => Some(GuardCheck {
            metric,
            higher_is_better: flag(r, 9)?.unwrap_or(true),
            margin: r.get::<Option<f64>>(10)?.unwrap_or(0.0),
            candidate: r.get(11)?,
            current_version: r.get(12)?,
            current: r.get(13)?,
            passed: flag(r, 14)?.unwrap_or(false),
            thresholds: Vec::new(), // read by `load_moves`
        }),
    };
    Ok(AliasMove {
        id: r.get(0)?,
        name: r.get(1)?,
        alias: r.get(2)?,
        version: r.get(3)?,
        previous: r.get(4)?,
        at_ms: r.get(5)?,
        reason: r.get(6)?,
        forced: r.get::<i64>(7)? != 0,
        guard,
    })
}

/// Appends a move (its `id` is assigned here) and returns it.
pub(super) fn insert_move(tx: &mut dyn Tx, mut moved: AliasMove) -> Result<AliasMove, RegistryError> {
    let guard = moved.guard.as_ref();
    let row = tx.query_opt(
        &format!(
            "INSERT INTO registry_alias_moves ({MOVE_FIELDS})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) RETURNING id"
        ),
        params![
            moved.name.as_str(),
            moved.alias.as_str(),
            moved.version,
            moved.previous,
            moved.at_ms,
            moved.reason.as_str(),
            moved.forced,
            guard.map(|g| g.metric.as_str()),
            guard.map(|g| g.higher_is_better),
            guard.map(|g| g.margin),
            guard.and_then(|g| g.candidate),
            guard.and_then(|g| g.current_version),
            guard.and_then(|g| g.current),
            guard.map(|g| g.passed),
        ],
    )?;
    let row = row
        .ok_or_else(|| StoreError::Schema { detail: "appending an alias move returned no id".to_owned() })?;
    moved.id = row.get(0)?;
    for (position, check) in moved.guard.iter().flat_map(|g| g.thresholds.iter()).enumerate() {
        let t = &check.threshold;
        tx.execute(
            &format!(
                "INSERT INTO registry_gate_checks (move_id, {CHECK_FIELDS})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
            ),
            params![
                moved.id,
                position as i64,
                t.metric.as_str(),
                t.higher_is_better,
                t.at_least,
                t.at_most,
                t.absolute_change,
                t.relative_change,
                check.candidate,
                check.baseline_version,
                check.baseline,
                check.diff,
                check.relative,
                check.passed,
            ],
        )?;
    }
    Ok(moved)
}
