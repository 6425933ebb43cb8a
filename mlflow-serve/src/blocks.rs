//! Ready-made blocks for the end of a classification pipeline: package the champion with its
//! self-tests, then register it and promote it under a guard. They follow the blocks of
//! `mlflow_ml::blocks` (`mlflow::blocks` gathers both).

use std::fmt;

use mlflow_core::exec::RunReport;
use mlflow_core::prelude::Node;
use mlflow_core::registry::{AliasMove, ModelVersion, Promotion, RegisterRequest, Registry, RegistryError};
use mlflow_macros::step;
use mlflow_ml::blocks::{Compared, Prepared, Scored, Trained, reference_profile};
use mlflow_ml::data::Ingested;
use mlflow_ml::eval::{Best, TaskMetric};

use crate::{Lineage, ModelPackage, ServeError};

/// How many hold-out rows (at most) a package keeps as self-tests.
pub const SELF_TEST_ROWS: usize = 5;

/// Packages the champion among `trained`: the fitted feature transformers (so the package
/// scores raw rows), its scaler, the model, and the first hold-out rows with their expected
/// probabilities as self-tests (a package that no longer reproduces them refuses to load), and
/// the reference profile of the training rows of `raw` ([`reference_profile`]) for monitoring.
///
/// Wire it after [`compare`](mlflow_ml::blocks::compare):
/// `p.step(PackageStep, (compared.champion, compared.trained, prepared, raw))`.
#[step(crate = mlflow_core)]
pub fn package(
    champion: &Best<TaskMetric>,
    trained: &Vec<Trained>,
    prepared: &Prepared,
    raw: &Ingested,
) -> Result<ModelPackage, ServeError> {
    let Some(chosen) = trained.get(champion.index) else {
        return Err(ServeError::Build(format!(
            "the champion `{}` is candidate {}, but only {} trained candidates were given; wire the `trained` and `champion` nodes of the same `compare`",
            mlflow_core::text::escape_controls(&champion.name),
            champion.index + 1,
            trained.len()
        )));
    };
    package_model(chosen, prepared, raw)
}

/// Packages one trained model, as [`package`] packages the champion: for a model that did not
/// come out of [`compare`](mlflow_ml::blocks::compare), such as a study's refit
/// (`p.step(PackageModelStep, (tuned.trained, prepared, raw))`).
#[step(crate = mlflow_core)]
pub fn package_model(
    trained: &Trained,
    prepared: &Prepared,
    raw: &Ingested,
) -> Result<ModelPackage, ServeError> {
    let n = SELF_TEST_ROWS.min(prepared.test.rows());
    let rows = prepared.test.x.slice_axis(ndarray::Axis(0), ndarray::Slice::from(..n));
    let package = ModelPackage::new(
        trained.name.clone(),
        trained.model.clone(),
        trained.scaler.clone(),
        &prepared.test.names,
        rows,
        Lineage::default(),
    )?;
    let package = match prepared.classes() {
        Some(classes) => package.with_classes(classes.clone())?,
        None => package,
    };
    let profile = reference_profile(raw, prepared, trained)
        .map_err(|e| ServeError::Build(format!("profiling the training rows: {e}")))?;
    package.with_features(prepared.features.clone())?.with_profile(profile)
}

/// What [`register_champion`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct Registration {
    /// The new version, with the champion's hold-out metrics.
    pub version: ModelVersion,
    /// What happened to the alias.
    pub promotion: PromotionOutcome,
}

/// Whether the alias moved to the new version.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum PromotionOutcome {
    /// The alias now points at the new version.
    Promoted(AliasMove),
    /// The alias already pointed at an identical version (same artifact).
    AlreadyThere,
    /// The guard kept the current holder: the message says by how much.
    Refused(String),
}

impl fmt::Display for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reference = self.version.reference();
        match &self.promotion {
            PromotionOutcome::Promoted(moved) => {
                write!(f, "registered {reference} and promoted it to {}", moved.alias)?;
                match moved.previous {
                    Some(previous) => write!(f, " (was version {previous})"),
                    None => Ok(()),
                }
            }
            PromotionOutcome::AlreadyThere => write!(f, "registered {reference}; it already holds the alias"),
            PromotionOutcome::Refused(why) => write!(f, "registered {reference}; not promoted: {why}"),
        }
    }
}

/// Registers the package `package` of run `report` as a new version of `model`, with the
/// champion's hold-out metrics, and promotes it to `alias` if it is at least as good as the
/// current holder on the metric the champion was selected by (in that metric's direction).
/// A refusal by the guard is an outcome, not an error.
pub fn register_champion(
    registry: &Registry<'_>,
    model: &str,
    report: &RunReport,
    package: Node<ModelPackage>,
    compared: &Compared,
    alias: &str,
) -> mlflow_core::Result<Registration> {
    let champion = report.get(compared.champion)?;
    let promotion = Promotion::by(champion.metric).reason(format!("champion of run {}", report.run_id()));
    register_champion_with(registry, model, report, package, compared, alias, promotion)
}

/// [`register_champion`] with a gate of your own (value bounds, changes against the holder,
/// several metrics: see [`Promotion`]) instead of "at least as good on the selection metric".
pub fn register_champion_with(
    registry: &Registry<'_>,
    model: &str,
    report: &RunReport,
    package: Node<ModelPackage>,
    compared: &Compared,
    alias: &str,
    promotion: Promotion,
) -> mlflow_core::Result<Registration> {
    let champion = report.get(compared.champion)?;
    let scored = &report.get(compared.scored)?[champion.index];
    let description = format!("{} selected by {} ({:.4})", champion.name, champion.metric, champion.value);
    register(registry, model, report, package, scored, description, alias, promotion)
}

/// Registers the package `package` of run `report` as a new version of `model`, with the
/// hold-out metrics of `scored` (the packaged model's evaluation), and promotes it to `alias`
/// if it passes `promotion`'s gate (every threshold, with the figures recorded in the alias
/// history). A refusal by the gate is an outcome, not an error.
///
/// ```no_run
/// # fn demo(registry: &mlflow_core::registry::Registry<'_>, report: &mlflow_core::exec::RunReport,
/// #         package: mlflow_core::prelude::Node<mlflow_serve::ModelPackage>,
/// #         scored: mlflow_core::prelude::Node<mlflow_ml::blocks::Scored>) -> mlflow_core::Result<()> {
/// use mlflow_core::registry::{MetricThreshold, Promotion};
/// use mlflow_ml::eval::Metric;
/// // At least 0.80 ROC AUC and at most 0.01 below production; log loss at most 5% worse.
/// let gate = Promotion::by(Metric::RocAuc)
///     .at_least(0.80)
///     .margin(-0.01)
///     .and(MetricThreshold::by(Metric::LogLoss).relative_change(0.05))
///     .reason("tuned forest");
/// let registration = mlflow_serve::blocks::register_and_promote(registry, "titanic", report, package, scored, "production", gate)?;
/// println!("{registration}");
/// # Ok(())
/// # }
/// ```
pub fn register_and_promote(
    registry: &Registry<'_>,
    model: &str,
    report: &RunReport,
    package: Node<ModelPackage>,
    scored: Node<Scored>,
    alias: &str,
    promotion: Promotion,
) -> mlflow_core::Result<Registration> {
    let scored = report.get(scored)?;
    let description = format!("{} ({})", scored.name, promotion.reason);
    register(registry, model, report, package, scored, description, alias, promotion)
}

#[allow(clippy::too_many_arguments)] // the two public entry points' shared body
fn register(
    registry: &Registry<'_>,
    model: &str,
    report: &RunReport,
    package: Node<ModelPackage>,
    scored: &Scored,
    description: String,
    alias: &str,
    promotion: Promotion,
) -> mlflow_core::Result<Registration> {
    let request = RegisterRequest::for_output(report, package)?
        .metrics(scored.metrics.named())
        .description(description);
    let version = registry.register(model, request)?;
    let promotion = offer(registry, model, version.version, alias, promotion)?;
    Ok(Registration { version, promotion })
}

/// Offers `version` of `model` to `alias` through `promotion`'s gate: a refusal by the gate is
/// an outcome ([`PromotionOutcome::Refused`], with the figures), any other failure an error.
pub fn offer(
    registry: &Registry<'_>,
    model: &str,
    version: u32,
    alias: &str,
    promotion: Promotion,
) -> Result<PromotionOutcome, RegistryError> {
    match registry.promote(model, version, alias, promotion) {
        Ok(Some(moved)) => Ok(PromotionOutcome::Promoted(moved)),
        Ok(None) => Ok(PromotionOutcome::AlreadyThere),
        Err(refused @ RegistryError::PromotionRefused { .. }) => {
            Ok(PromotionOutcome::Refused(refused.to_string()))
        }
        Err(e) => Err(e),
    }
}
