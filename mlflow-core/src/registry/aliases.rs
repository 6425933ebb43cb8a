//! Aliases: moving them (by hand, or through the promotion guard) and reading their history.

use std::collections::BTreeMap;

use crate::store::Mode;
use crate::store::meta::params;

use super::Registry;
use super::error::RegistryError;
use super::gate::ThresholdCheck;
use super::reference::check_name;
use super::rows::{
    current_aliases, insert_move, last_move, latest_version, load_moves, require_version, unknown_alias,
    unknown_model,
};
use super::types::{AliasMove, GuardCheck, ModelVersion, Promotion};

impl Registry<'_> {
    /// A model's current aliases and the versions they point at.
    ///
    /// See [`Registry::set_alias`] for an example.
    pub fn aliases(&self, name: &str) -> Result<BTreeMap<String, u32>, RegistryError> {
        check_name("model name", name)?;
        self.meta(Mode::Read, |tx| {
            latest_version(tx, name)?.ok_or_else(|| unknown_model(name))?;
            Ok(current_aliases(tx, Some(name))?.remove(name).unwrap_or_default())
        })
    }

    /// Points `alias` of model `name` at `version`, unguarded, and records the move with
    /// `reason`. Returns the move, or `None` (and records nothing) when the alias already points
    /// there.
    ///
    /// ```
    /// # use mlflow_core::prelude::*;
    /// # use mlflow_core::registry::{RegisterRequest, Registry};
    /// # #[mlflow_macros::step(crate = mlflow_core)]
    /// # fn train(x: &u32) -> u32 {
    /// #     *x
    /// # }
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = Store::open(dir.path()).unwrap();
    /// # let mut p = Pipeline::new("demo");
    /// # let x = p.param("x", 7u32);
    /// # p.step(TrainStep, x);
    /// # let run = p.run(&store)?;
    /// let registry = Registry::new(&store)?.with_clock(|| 5_000);
    /// registry.register("m", RegisterRequest::new(run.run_id(), "train"))?;
    /// let moved = registry.set_alias("m", "staging", 1, "smoke tests passed")?.unwrap();
    /// assert_eq!((moved.version, moved.previous, moved.at_ms), (Some(1), None, 5_000));
    /// assert!(registry.set_alias("m", "staging", 1, "again")?.is_none()); // already there
    /// assert_eq!(registry.aliases("m")?["staging"], 1);
    /// let removed = registry.remove_alias("m", "staging", "withdrawn")?;
    /// assert_eq!((removed.version, removed.previous), (None, Some(1)));
    /// assert_eq!(registry.alias_at("m", "staging", 5_000)?, None);
    /// assert_eq!(registry.alias_history("m", "staging")?.len(), 2);
    /// # Ok::<(), mlflow_core::Error>(())
    /// ```
    pub fn set_alias(
        &self,
        name: &str,
        alias: &str,
        version: u32,
        reason: &str,
    ) -> Result<Option<AliasMove>, RegistryError> {
        check_name("model name", name)?;
        check_name("alias", alias)?;
        self.meta(Mode::Write, |tx| {
            require_version(tx, name, version)?;
            let last = last_move(tx, name, alias)?;
            let previous = last.and_then(|(v, _)| v);
            if previous == Some(version) {
                return Ok(None);
            }
            let moved = insert_move(tx, self.draft(name, alias, Some(version), previous, last, reason))?;
            Ok(Some(moved))
        })
    }

    /// Removes `alias` from model `name`: a move to nothing, recorded with `reason`.
    /// [`RegistryError::UnknownAlias`] if the alias is not set.
    ///
    /// See [`Registry::set_alias`] for an example.
    pub fn remove_alias(&self, name: &str, alias: &str, reason: &str) -> Result<AliasMove, RegistryError> {
        check_name("model name", name)?;
        check_name("alias", alias)?;
        self.meta(Mode::Write, |tx| {
            latest_version(tx, name)?.ok_or_else(|| unknown_model(name))?;
            let last = last_move(tx, name, alias)?;
            let Some(previous) = last.and_then(|(v, _)| v) else {
                return Err(unknown_alias(tx, name, alias)?);
            };
            let moved = insert_move(tx, self.draft(name, alias, None, Some(previous), last, reason))?;
            Ok(moved)
        })
    }

    /// Points `alias` of model `name` at `version` if the gate lets it (every threshold of
    /// `promotion` holds; see [`Promotion`] and the [gate's rules](super::gate)), and records the
    /// move with every threshold's figures and outcome, and `promotion.reason`.
    ///
    /// Every threshold is checked, and [`RegistryError::PromotionRefused`] lists each one that
    /// failed with its figures (candidate, holder's version and value, bound, change). A metric
    /// the candidate lacks, or the holder lacks while a change bound needs it, is
    /// [`RegistryError::MissingMetric`] (listing the metrics that version has). Unless
    /// `promotion.force`: then the move is recorded with `forced: true` and the failures. With no
    /// current holder only value bounds apply. Returns the move, or `None` (recording nothing)
    /// when the version already holds the alias. Invalid thresholds are refused first
    /// ([`Promotion::validate`]). The check and the move are one write transaction.
    ///
    /// ```
    /// # use mlflow_core::prelude::*;
    /// # use mlflow_core::registry::{Promotion, RegisterRequest, Registry, RegistryError};
    /// # #[mlflow_macros::step(crate = mlflow_core)]
    /// # fn train(x: &u32) -> u32 {
    /// #     *x
    /// # }
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = Store::open(dir.path()).unwrap();
    /// # let run_with = |x: u32| -> mlflow_core::Result<String> {
    /// #     let mut p = Pipeline::new("demo");
    /// #     let x = p.param("x", x);
    /// #     p.step(TrainStep, x);
    /// #     Ok(p.run(&store)?.run_id().to_owned())
    /// # };
    /// let registry = Registry::new(&store)?;
    /// let (run1, run2) = (run_with(1)?, run_with(2)?);
    /// registry.register("m", RegisterRequest::new(run1, "train").metric("auc", 0.84))?;
    /// registry.register("m", RegisterRequest::new(run2, "train").metric("auc", 0.80))?;
    /// registry.promote("m", 1, "production", Promotion::new("auc"))?;
    /// let err = registry.promote("m", 2, "production", Promotion::new("auc")).unwrap_err();
    /// assert!(matches!(err, RegistryError::PromotionRefused { .. }));
    /// assert!(err.to_string().contains("0.8") && err.to_string().contains("0.84"), "{err}");
    /// let forced = registry.promote("m", 2, "production", Promotion::new("auc").force(true))?.unwrap();
    /// assert!(forced.forced && !forced.guard.unwrap().passed);
    ///
    /// // Several thresholds: all are checked and every failure is listed.
    /// # use mlflow_core::registry::MetricThreshold;
    /// let run3 = run_with(3)?;
    /// registry.register("m", RegisterRequest::new(run3, "train").metric("auc", 0.83).metric("loss", 0.6))?;
    /// let gate = Promotion::new("auc").margin(-0.05).at_least(0.85)
    ///     .and(MetricThreshold::new("loss").lower_is_better().at_most(0.5));
    /// let err = registry.promote("m", 3, "production", gate).unwrap_err();
    /// let RegistryError::PromotionRefused { failures, .. } = &err else { panic!("{err}") };
    /// assert_eq!(failures.len(), 2);
    /// assert!(err.to_string().contains("2 requirements failed"), "{err}");
    /// # Ok::<(), mlflow_core::Error>(())
    /// ```
    pub fn promote(
        &self,
        name: &str,
        version: u32,
        alias: &str,
        promotion: Promotion,
    ) -> Result<Option<AliasMove>, RegistryError> {
        check_name("model name", name)?;
        check_name("alias", alias)?;
        promotion.validate()?;
        self.meta(Mode::Write, |tx| {
            let candidate = require_version(tx, name, version)?;
            let last = last_move(tx, name, alias)?;
            let holder = last.and_then(|(v, _)| v);
            if holder == Some(version) {
                return Ok(None);
            }
            let holder_version = match holder {
                Some(v) => Some(require_version(tx, name, v)?),
                None => None,
            };
            let (checks, missing) = gate_checks(name, alias, &candidate, holder_version.as_ref(), &promotion);
            let failures: Vec<ThresholdCheck> = checks.iter().filter(|c| !c.passed).cloned().collect();
            if !promotion.force {
                if let Some(missing) = missing {
                    return Err(missing);
                }
                if !failures.is_empty() {
                    let own = &checks[0];
                    return Err(RegistryError::PromotionRefused {
                        name: name.to_owned(),
                        alias: alias.to_owned(),
                        metric: promotion.metric.clone(),
                        higher_is_better: promotion.higher_is_better,
                        margin: promotion.margin,
                        candidate_version: version,
                        candidate: own.candidate.unwrap_or(f64::NAN),
                        current_version: holder.unwrap_or(0),
                        current: own.baseline.unwrap_or(f64::NAN),
                        failures: Box::new(failures),
                    });
                }
            }
            let passed = failures.is_empty();
            let own = &checks[0];
            let guard = GuardCheck {
                metric: promotion.metric.clone(),
                higher_is_better: promotion.higher_is_better,
                margin: promotion.margin,
                candidate: own.candidate,
                current_version: holder,
                current: holder_version.as_ref().and_then(|h| h.metrics.get(&promotion.metric).copied()),
                passed,
                thresholds: checks,
            };
            let moved = insert_move(
                tx,
                AliasMove {
                    forced: !passed,
                    guard: Some(guard),
                    ..self.draft(name, alias, Some(version), holder, last, &promotion.reason)
                },
            )?;
            Ok(Some(moved))
        })
    }

    /// The version `alias` of model `name` pointed at, at `time_ms` (milliseconds since the Unix
    /// epoch): the last move at or before that time decides. `None` if the alias was not set then
    /// (before its first move, or removed). [`RegistryError::UnknownAlias`] if the alias was
    /// never set at all (likely a typo).
    ///
    /// See [`Registry::set_alias`] for an example.
    pub fn alias_at(&self, name: &str, alias: &str, time_ms: i64) -> Result<Option<u32>, RegistryError> {
        check_name("model name", name)?;
        check_name("alias", alias)?;
        self.meta(Mode::Read, |tx| {
            latest_version(tx, name)?.ok_or_else(|| unknown_model(name))?;
            if last_move(tx, name, alias)?.is_none() {
                return Err(unknown_alias(tx, name, alias)?);
            }
            let found = tx.query_opt(
                "SELECT version FROM registry_alias_moves WHERE name = ?1 AND alias = ?2 AND at_ms <= ?3
                 ORDER BY at_ms DESC, id DESC LIMIT 1",
                params![name, alias, time_ms],
            )?;
            Ok(match found {
                Some(row) => row.get(0)?,
                None => None,
            })
        })
    }

    /// Every move of `alias` of model `name`, oldest first. [`RegistryError::UnknownAlias`] if
    /// it was never set.
    ///
    /// See [`Registry::set_alias`] for an example.
    pub fn alias_history(&self, name: &str, alias: &str) -> Result<Vec<AliasMove>, RegistryError> {
        check_name("model name", name)?;
        check_name("alias", alias)?;
        self.meta(Mode::Read, |tx| {
            latest_version(tx, name)?.ok_or_else(|| unknown_model(name))?;
            let moves = load_moves(tx, name, Some(alias))?;
            if moves.is_empty() {
                return Err(unknown_alias(tx, name, alias)?);
            }
            Ok(moves)
        })
    }

    /// Every alias move of model `name`, all aliases, oldest first (empty if it never had one).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = mlflow_core::store::Store::open(dir.path()).unwrap();
    /// let registry = mlflow_core::registry::Registry::new(&store)?;
    /// assert!(registry.history("unknown").is_err());
    /// # Ok::<(), mlflow_core::registry::RegistryError>(())
    /// ```
    pub fn history(&self, name: &str) -> Result<Vec<AliasMove>, RegistryError> {
        check_name("model name", name)?;
        self.meta(Mode::Read, |tx| {
            latest_version(tx, name)?.ok_or_else(|| unknown_model(name))?;
            load_moves(tx, name, None)
        })
    }

    /// An unguarded move of `alias` to `version`, after `last` (its latest move, if any), stamped
    /// now but never before `last`.
    fn draft(
        &self,
        name: &str,
        alias: &str,
        version: Option<u32>,
        previous: Option<u32>,
        last: Option<(Option<u32>, i64)>,
        reason: &str,
    ) -> AliasMove {
        let now = (self.clock)();
        AliasMove {
            id: 0,
            name: name.to_owned(),
            alias: alias.to_owned(),
            version,
            previous,
            at_ms: last.map_or(now, |(_, at)| now.max(at)),
            reason: reason.to_owned(),
            forced: false,
            guard: None,
        }
    }
}

/// Every threshold of `promotion` checked on the candidate and the holder, and the first missing
/// metric as a [`RegistryError::MissingMetric`]: one the candidate lacks, or one the holder lacks
/// that a change bound needs.
fn gate_checks(
    name: &str,
    alias: &str,
    candidate: &ModelVersion,
    holder: Option<&ModelVersion>,
    promotion: &Promotion,
) -> (Vec<ThresholdCheck>, Option<RegistryError>) {
    let mut missing = None;
    let mut checks = Vec::new();
    for threshold in promotion.thresholds() {
        let metric = &threshold.metric;
        let value = candidate.metrics.get(metric).copied();
        let baseline = holder.and_then(|h| h.metrics.get(metric).copied());
        let lacking = match (value, holder) {
            (None, _) => Some(candidate),
            (Some(_), Some(h)) if baseline.is_none() && threshold.has_change() => Some(h),
            _ => None,
        };
        if let Some(lacking) = lacking
            && missing.is_none()
        {
            missing = Some(RegistryError::MissingMetric {
                name: name.to_owned(),
                alias: alias.to_owned(),
                metric: metric.clone(),
                candidate_version: candidate.version,
                version: lacking.version,
                available: lacking.metrics.keys().cloned().collect(),
            });
        }
        checks.push(threshold.check(value, holder.map(|h| h.version), baseline));
    }
    (checks, missing)
}
