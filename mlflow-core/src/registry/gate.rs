//! The promotion gate: metric thresholds in the manner of TensorFlow Model Analysis
//! (`tfma.MetricThreshold`), and their evaluation, which needs no store.
//!
//! A [`MetricThreshold`] names a metric, its direction, and up to four bounds: a **value**
//! range (`at_least`, `at_most`, TFMA's `GenericValueThreshold` `lower_bound`/`upper_bound`) and
//! a **change** from the version that holds the alias now (`absolute_change`,
//! `relative_change`, TFMA's `GenericChangeThreshold` `absolute`/`relative`, whose sense is set by
//! the direction). With `candidate` the new version's value and `baseline` the holder's:
//!
//! - value: passes when `at_least <= candidate <= at_most`; an unset bound always passes.
//! - change: `diff = candidate - baseline` and `relative = diff / |baseline|`. Higher is better:
//!   passes when `diff >= absolute_change` and `relative >= relative_change`. Lower is better:
//!   passes when `diff <= absolute_change` and `relative <= relative_change`. An unset bound
//!   always passes. So `absolute_change(-0.01)` on a higher-is-better metric allows the candidate
//!   to be at most 0.01 worse, and `absolute_change(0.02)` on a lower-is-better one (a loss)
//!   allows it to be at most 0.02 higher.
//!
//! ```
//! use mlflow_core::registry::MetricThreshold;
//! // TFMA: value_threshold { lower_bound: 0.8 },
//! //       change_threshold { direction: HIGHER_IS_BETTER, absolute: -0.01 }
//! let auc = MetricThreshold::new("roc_auc").at_least(0.8).absolute_change(-0.01);
//! assert!(auc.check(Some(0.855), Some(1), Some(0.86)).passed);
//! let check = auc.check(Some(0.84), Some(1), Some(0.86));
//! assert!(!check.passed, "0.02 worse than version 1");
//! assert!(check.to_string().contains("change >= -0.01: FAILED"), "{check}");
//! ```
//!
//! These are TFMA's rules (`metrics_validator.py`), with these deliberate differences:
//!
//! - **No holder**: the change bounds are not checked (they pass, recorded as "no baseline");
//!   the value bounds still apply. TFMA likewise skips change thresholds without a baseline model.
//! - **Baseline 0**: TFMA sets the ratio to NaN, which fails *every* change threshold on that
//!   metric, even one with only an absolute bound. Here the relative change from 0 is 0 when the
//!   candidate is 0 too, and otherwise undefined: an undefined relative change fails a
//!   `relative_change` bound (it cannot be shown to hold) but leaves the absolute bound to decide.
//! - **Negative baseline**: TFMA divides by the signed baseline, which flips the sign of the
//!   relative change; here it is divided by `|baseline|`, so an improvement is a positive
//!   relative change whatever the sign of the metric. For positive baselines (most metrics) the
//!   two agree.
//! - **Rounding**: each comparison allows a relative 1e-12 of slack, so that `0.85` meets `0.80`
//!   plus a margin of `0.05`; TFMA compares exactly.
//! - **Missing metric**: TFMA records a failure ("Metric not found"); [`Registry::promote`]
//!   refuses with [`RegistryError::MissingMetric`] unless forced, as a misspelt name is more likely
//!   than a model that should lose. The holder needs the metric only for thresholds with a change
//!   bound.
//! - **Direction**: TFMA has a direction only on change thresholds; here each threshold has one,
//!   and two thresholds with change bounds on the same metric must agree on it.
//!
//! [`Registry::promote`]: super::Registry::promote

use std::fmt;

use serde::{Deserialize, Serialize};

use super::error::RegistryError;
use super::types::PromotionMetric;

/// Relative slack of every comparison, so that floating-point rounding of `baseline + margin`
/// does not refuse a candidate that meets the figures exactly.
const TOLERANCE: f64 = 1e-12;

/// One metric's requirements on a promotion candidate: a value range and a change from the
/// current holder, in the metric's direction (see the [module documentation](self) for the rules
/// and how they relate to TFMA's). Build it with [`MetricThreshold::new`] and the builder
/// methods; add it to a promotion with [`Promotion::and`](super::Promotion::and).
///
/// ```
/// use mlflow_core::registry::MetricThreshold;
/// // log_loss at most 0.5, and at most 0.02 worse than the current holder's.
/// let loss = MetricThreshold::new("log_loss").lower_is_better().at_most(0.5).absolute_change(0.02);
/// assert!(loss.check(Some(0.45), Some(3), Some(0.44)).passed);
/// assert!(!loss.check(Some(0.47), Some(3), Some(0.44)).passed, "0.03 worse");
/// assert!(!loss.check(Some(0.55), None, None).passed, "above 0.5, even with no holder");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricThreshold {
    /// The metric (as registered with the versions).
    pub metric: String,
    /// Whether higher values are better: sets the sense of the change bounds.
    pub higher_is_better: bool,
    /// The candidate's value must be at least this (TFMA's `lower_bound`).
    pub at_least: Option<f64>,
    /// The candidate's value must be at most this (TFMA's `upper_bound`).
    pub at_most: Option<f64>,
    /// Bound on `candidate - baseline`: a minimum if higher is better, else a maximum (TFMA's
    /// change `absolute`).
    pub absolute_change: Option<f64>,
    /// Bound on `(candidate - baseline) / |baseline|`: a minimum if higher is better, else a
    /// maximum (TFMA's change `relative`; `0.05` is 5%).
    pub relative_change: Option<f64>,
}

impl MetricThreshold {
    /// A threshold on `metric`, higher is better, with no bounds yet (see [`MetricThreshold`]).
    pub fn new(metric: impl Into<String>) -> Self {
        MetricThreshold {
            metric: metric.into(),
            higher_is_better: true,
            at_least: None,
            at_most: None,
            absolute_change: None,
            relative_change: None,
        }
    }

    /// A threshold on a typed metric, in its own direction, with no bounds yet.
    ///
    /// ```
    /// use mlflow_core::registry::{MetricThreshold, PromotionMetric};
    /// struct Loss;
    /// impl PromotionMetric for Loss {
    ///     fn metric_name(&self) -> &str { "log_loss" }
    ///     fn higher_is_better(&self) -> bool { false }
    /// }
    /// let threshold = MetricThreshold::by(Loss).at_most(0.5);
    /// assert_eq!((threshold.metric.as_str(), threshold.higher_is_better), ("log_loss", false));
    /// ```
    pub fn by(metric: impl PromotionMetric) -> Self {
        MetricThreshold {
            higher_is_better: metric.higher_is_better(),
            ..MetricThreshold::new(metric.metric_name())
        }
    }

    /// Lower values of the metric are better (e.g. a loss): the change bounds become maxima.
    ///
    /// See [`MetricThreshold`] for an example.
    pub fn lower_is_better(mut self) -> Self {
        self.higher_is_better = false;
        self
    }

    /// The candidate's value must be at least `bound`, whatever the holder's.
    ///
    /// ```
    /// use mlflow_core::registry::MetricThreshold;
    /// let auc = MetricThreshold::new("roc_auc").at_least(0.8);
    /// assert!(auc.check(Some(0.8), None, None).passed && !auc.check(Some(0.79), None, None).passed);
    /// ```
    pub fn at_least(mut self, bound: f64) -> Self {
        self.at_least = Some(bound);
        self
    }

    /// The candidate's value must be at most `bound`, whatever the holder's.
    ///
    /// See [`MetricThreshold`] for an example.
    pub fn at_most(mut self, bound: f64) -> Self {
        self.at_most = Some(bound);
        self
    }

    /// Bound on the change from the holder, `candidate - baseline`: at least `bound` if higher
    /// is better (a negative bound tolerates a small loss), at most `bound` if lower is better.
    ///
    /// ```
    /// use mlflow_core::registry::MetricThreshold;
    /// let auc = MetricThreshold::new("roc_auc").absolute_change(-0.01); // at most 0.01 worse
    /// assert!(auc.check(Some(0.855), Some(1), Some(0.86)).passed);
    /// assert!(!auc.check(Some(0.84), Some(1), Some(0.86)).passed);
    /// assert!(auc.check(Some(0.5), None, None).passed, "no holder: nothing to change from");
    /// ```
    pub fn absolute_change(mut self, bound: f64) -> Self {
        self.absolute_change = Some(bound);
        self
    }

    /// Bound on the relative change from the holder, `(candidate - baseline) / |baseline|`
    /// (`0.05` is 5%): at least `bound` if higher is better, at most `bound` if lower is better.
    ///
    /// ```
    /// use mlflow_core::registry::MetricThreshold;
    /// let loss = MetricThreshold::new("log_loss").lower_is_better().relative_change(0.05);
    /// assert!(loss.check(Some(0.42), Some(1), Some(0.40)).passed, "5% worse is allowed");
    /// assert!(!loss.check(Some(0.43), Some(1), Some(0.40)).passed, "7.5% worse is not");
    /// // From 0 the relative change is undefined, and cannot meet the bound.
    /// assert!(!loss.check(Some(0.01), Some(1), Some(0.0)).passed);
    /// ```
    pub fn relative_change(mut self, bound: f64) -> Self {
        self.relative_change = Some(bound);
        self
    }

    /// Whether it has a change bound, and so needs the holder's value.
    ///
    /// ```
    /// use mlflow_core::registry::MetricThreshold;
    /// assert!(!MetricThreshold::new("auc").at_least(0.7).has_change());
    /// assert!(MetricThreshold::new("auc").relative_change(0.0).has_change());
    /// ```
    pub fn has_change(&self) -> bool {
        self.absolute_change.is_some() || self.relative_change.is_some()
    }

    /// Evaluates the threshold on a candidate's value and the holder's version and value (all
    /// `None` when the alias has no holder; `baseline` alone `None` when the holder lacks the
    /// metric). A missing value fails the rules that need it.
    ///
    /// See [`MetricThreshold`] for examples.
    pub fn check(
        &self,
        candidate: Option<f64>,
        baseline_version: Option<u32>,
        baseline: Option<f64>,
    ) -> ThresholdCheck {
        // A value without a version would be a baseline from nowhere.
        let baseline = baseline_version.and(baseline);
        let diff = candidate.zip(baseline).map(|(c, b)| c - b);
        let relative = diff.zip(baseline).and_then(|(d, b)| relative_change(d, b));
        let mut check = ThresholdCheck {
            threshold: self.clone(),
            candidate,
            baseline_version,
            baseline,
            diff,
            relative,
            passed: false,
        };
        check.passed = check.verdicts().iter().all(|(_, verdict)| verdict.passes());
        check
    }

    /// Its bounds, in a fixed order.
    pub(super) fn rules(&self) -> Vec<Rule> {
        [
            self.at_least.map(Rule::AtLeast),
            self.at_most.map(Rule::AtMost),
            self.absolute_change.map(Rule::Change),
            self.relative_change.map(Rule::RelativeChange),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// What is wrong with the threshold, if anything (for [`RegistryError::InvalidThreshold`]).
    /// The metric name is checked by the caller, as the promotion's own metric has its own error.
    pub(super) fn problem(&self) -> Option<String> {
        let bounds = [
            ("at_least", self.at_least),
            ("at_most", self.at_most),
            ("absolute_change", self.absolute_change),
            ("relative_change", self.relative_change),
        ];
        for (name, bound) in bounds {
            if let Some(value) = bound
                && !value.is_finite()
            {
                return Some(format!(
                    "its {name} bound is {value}, not a finite number; give a finite number or leave it unset"
                ));
            }
        }
        if let (Some(low), Some(high)) = (self.at_least, self.at_most)
            && low > high
        {
            return Some(format!(
                "at_least {low} is above at_most {high}, so no value could pass; swap them or widen the range"
            ));
        }
        if self.rules().is_empty() {
            return Some(
                "it sets no bound, so it would always pass; set at_least, at_most, absolute_change or relative_change"
                    .to_owned(),
            );
        }
        None
    }
}

/// The relative change `diff / |baseline|`: 0 from 0 to 0, undefined from 0 to anything else.
fn relative_change(diff: f64, baseline: f64) -> Option<f64> {
    if baseline == 0.0 { (diff == 0.0).then_some(0.0) } else { Some(diff / baseline.abs()) }
}

/// Slack for comparing figures of these magnitudes (see [`TOLERANCE`]).
fn slack(figures: &[f64]) -> f64 {
    TOLERANCE * figures.iter().fold(1.0f64, |max, x| max.max(x.abs()))
}

/// One bound of a threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Rule {
    AtLeast(f64),
    AtMost(f64),
    Change(f64),
    RelativeChange(f64),
}

/// How one rule came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    Passed,
    Failed,
    /// A change rule with no holder to change from: passes.
    NoBaseline,
    /// The candidate, or the holder for a change rule, lacks the metric: fails.
    Missing,
    /// A relative change from a baseline of 0: fails.
    Undefined,
}

impl Verdict {
    pub(super) fn passes(self) -> bool {
        matches!(self, Verdict::Passed | Verdict::NoBaseline)
    }
}

/// One threshold's figures and outcome, as recorded with a promotion in the alias history.
///
/// ```
/// use mlflow_core::registry::MetricThreshold;
/// let check = MetricThreshold::new("roc_auc").at_least(0.8).relative_change(-0.01).check(
///     Some(0.83),
///     Some(2),
///     Some(0.86),
/// );
/// assert!(!check.passed, "3.5% worse than version 2");
/// assert_eq!((check.baseline_version, check.baseline), (Some(2), Some(0.86)));
/// assert!((check.diff.unwrap() + 0.03).abs() < 1e-9);
/// let line = check.to_string();
/// assert!(line.contains("at least 0.8: passed") && line.contains("relative change >= -0.01: FAILED"), "{line}");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdCheck {
    /// The threshold checked.
    pub threshold: MetricThreshold,
    /// The candidate's value (`None` if it lacks the metric: a forced promotion).
    pub candidate: Option<f64>,
    /// The version that held the alias (`None` if none did).
    pub baseline_version: Option<u32>,
    /// Its value (`None` with no holder, or if it lacks the metric).
    pub baseline: Option<f64>,
    /// `candidate - baseline`, when both are known.
    pub diff: Option<f64>,
    /// `diff / |baseline|`, when both are known and it is defined (not from 0 to non-zero).
    pub relative: Option<f64>,
    /// Whether every bound held.
    pub passed: bool,
}

impl ThresholdCheck {
    /// Each bound of the threshold and how it came out, judged from the recorded figures.
    pub(super) fn verdicts(&self) -> Vec<(Rule, Verdict)> {
        let t = &self.threshold;
        let judged = |rule: Rule| -> Verdict {
            let Some(c) = self.candidate else { return Verdict::Missing };
            let holds = match rule {
                Rule::AtLeast(low) => c >= low - slack(&[c, low]),
                Rule::AtMost(high) => c <= high + slack(&[c, high]),
                Rule::Change(bound) => {
                    if self.baseline_version.is_none() {
                        return Verdict::NoBaseline;
                    }
                    let Some(b) = self.baseline else { return Verdict::Missing };
                    // Compared as `baseline + bound`, the figure the refusal states.
                    let s = slack(&[c, b, bound]);
                    if t.higher_is_better { c >= b + bound - s } else { c <= b + bound + s }
                }
                Rule::RelativeChange(bound) => {
                    if self.baseline_version.is_none() {
                        return Verdict::NoBaseline;
                    }
                    if self.baseline.is_none() {
                        return Verdict::Missing;
                    }
                    let Some(r) = self.relative else { return Verdict::Undefined };
                    let s = slack(&[r, bound]);
                    if t.higher_is_better { r >= bound - s } else { r <= bound + s }
                }
            };
            if holds { Verdict::Passed } else { Verdict::Failed }
        };
        t.rules().into_iter().map(|rule| (rule, judged(rule))).collect()
    }

    /// The bounds that did not hold.
    pub(super) fn failures(&self) -> Vec<(Rule, Verdict)> {
        self.verdicts().into_iter().filter(|(_, v)| !v.passes()).collect()
    }
}

/// A figure computed here (a difference, a ratio), to 6 decimals: `-0.05`, not
/// `-0.04999999999999993`.
pub(super) fn figure(x: f64) -> String {
    let text = format!("{x:.6}");
    let text = if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.') } else { &text };
    if text == "-0" { "0".to_owned() } else { text.to_owned() }
}

/// One line: the metric, the figures, and each bound's outcome, e.g. `roc_auc: candidate 0.83,
/// version 2 has 0.86 (change -0.03, relative -0.034884); at least 0.8: passed; relative change
/// >= -0.01: FAILED`.
impl fmt::Display for ThresholdCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = &self.threshold;
        write!(f, "{}: candidate ", t.metric)?;
        match self.candidate {
            Some(c) => write!(f, "{c}")?,
            None => f.write_str("missing")?,
        }
        match (self.baseline_version, self.baseline) {
            (None, _) => f.write_str(", no baseline (the alias had no holder)")?,
            (Some(v), None) => write!(f, ", version {v} lacks it")?,
            (Some(v), Some(b)) => write!(f, ", version {v} has {b}")?,
        }
        if let Some(diff) = self.diff {
            write!(f, " (change {}, relative ", figure(diff))?;
            match self.relative {
                Some(r) => write!(f, "{})", figure(r))?,
                None => f.write_str("undefined from 0)")?,
            }
        }
        let op = if t.higher_is_better { ">=" } else { "<=" };
        for (rule, verdict) in self.verdicts() {
            match rule {
                Rule::AtLeast(x) => write!(f, "; at least {x}")?,
                Rule::AtMost(x) => write!(f, "; at most {x}")?,
                Rule::Change(x) => write!(f, "; change {op} {x}")?,
                Rule::RelativeChange(x) => write!(f, "; relative change {op} {x}")?,
            }
            f.write_str(match verdict {
                Verdict::Passed => ": passed",
                Verdict::Failed => ": FAILED",
                Verdict::NoBaseline => ": not checked (no baseline)",
                Verdict::Missing => ": FAILED (metric missing)",
                Verdict::Undefined => ": FAILED (undefined from a baseline of 0)",
            })?;
        }
        Ok(())
    }
}

/// Checks every threshold of a promotion (numbered from 1 in messages): bounds finite and in
/// order, at least one bound, and one direction per metric among those with change bounds.
pub(super) fn validate(thresholds: &[MetricThreshold]) -> Result<(), RegistryError> {
    for (index, threshold) in thresholds.iter().enumerate() {
        let invalid = |problem: String| RegistryError::InvalidThreshold {
            position: index + 1,
            metric: threshold.metric.clone(),
            problem,
        };
        if threshold.metric.is_empty() || threshold.metric.chars().any(char::is_control) {
            return Err(invalid(
                "its metric name is empty or has control characters; name a metric the versions were registered with"
                    .to_owned(),
            ));
        }
        if let Some(problem) = threshold.problem() {
            return Err(invalid(problem));
        }
        let clash = thresholds[..index].iter().position(|earlier| {
            earlier.metric == threshold.metric
                && earlier.has_change()
                && threshold.has_change()
                && earlier.higher_is_better != threshold.higher_is_better
        });
        if let Some(earlier) = clash {
            let direction = |higher: bool| if higher { "higher is better" } else { "lower is better" };
            return Err(invalid(format!(
                "threshold {} says {} for `{}` but this one says {}; a metric has one direction, so use the same in both",
                earlier + 1,
                direction(thresholds[earlier].higher_is_better),
                threshold.metric,
                direction(threshold.higher_is_better),
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auc() -> MetricThreshold {
        MetricThreshold::new("auc")
    }

    fn loss() -> MetricThreshold {
        MetricThreshold::new("loss").lower_is_better()
    }

    #[test]
    fn value_bounds_are_inclusive_and_ignore_the_holder() {
        let t = auc().at_least(0.7).at_most(0.9);
        for (value, passed) in [(0.7, true), (0.9, true), (0.8, true), (0.69, false), (0.91, false)] {
            assert_eq!(t.check(Some(value), None, None).passed, passed, "{value}");
            assert_eq!(t.check(Some(value), Some(1), Some(0.95)).passed, passed, "{value} with a holder");
        }
        // Only the lower bound: any higher value passes.
        assert!(auc().at_least(0.7).check(Some(1e9), None, None).passed);
        // The holder may lack a metric that only has value bounds.
        assert!(auc().at_least(0.7).check(Some(0.8), Some(1), None).passed);
    }

    #[test]
    fn absolute_change_in_both_directions() {
        let higher = auc().absolute_change(0.05);
        assert!(higher.check(Some(0.85), Some(1), Some(0.80)).passed, "0.85 >= 0.80 + 0.05 despite rounding");
        assert!(!higher.check(Some(0.84), Some(1), Some(0.80)).passed);
        let tolerant = auc().absolute_change(-0.01);
        assert!(tolerant.check(Some(0.79), Some(1), Some(0.80)).passed);
        assert!(!tolerant.check(Some(0.78), Some(1), Some(0.80)).passed);

        let lower = loss().absolute_change(0.02); // may be 0.02 worse
        assert!(lower.check(Some(0.42), Some(1), Some(0.40)).passed);
        assert!(!lower.check(Some(0.43), Some(1), Some(0.40)).passed);
        let improving = loss().absolute_change(-0.1); // must be 0.1 better
        assert!(improving.check(Some(0.30), Some(1), Some(0.40)).passed);
        assert!(!improving.check(Some(0.35), Some(1), Some(0.40)).passed);
        let check = improving.check(Some(0.35), Some(1), Some(0.40));
        assert_eq!(figure(check.diff.unwrap()), "-0.05");
    }

    #[test]
    fn relative_change_in_both_directions() {
        let higher = auc().relative_change(-0.01); // at most 1% worse
        assert!(higher.check(Some(0.995), Some(1), Some(1.0)).passed);
        assert!(!higher.check(Some(0.98), Some(1), Some(1.0)).passed);
        let check = higher.check(Some(0.98), Some(1), Some(1.0));
        assert_eq!(figure(check.relative.unwrap()), "-0.02");
        let lower = loss().relative_change(-0.1); // at least 10% better
        assert!(lower.check(Some(0.36), Some(1), Some(0.40)).passed);
        assert!(!lower.check(Some(0.37), Some(1), Some(0.40)).passed);
        // A negative baseline: the relative change keeps the sign of the difference.
        let check = auc().relative_change(0.1).check(Some(-0.9), Some(1), Some(-1.0));
        assert!(check.passed && (check.relative.unwrap() - 0.1).abs() < 1e-12, "{check}");
    }

    #[test]
    fn a_baseline_of_zero_fails_only_a_relative_bound() {
        let relative = auc().relative_change(0.0);
        let check = relative.check(Some(0.1), Some(1), Some(0.0));
        assert!(!check.passed && check.relative.is_none(), "{check}");
        assert!(check.to_string().contains("undefined from a baseline of 0"), "{check}");
        assert!(relative.check(Some(0.0), Some(1), Some(0.0)).passed, "no change from 0 is 0%");
        // Unlike TFMA, an absolute bound alone still decides.
        assert!(auc().absolute_change(0.0).check(Some(0.1), Some(1), Some(0.0)).passed);
    }

    #[test]
    fn with_no_holder_change_bounds_pass_and_value_bounds_apply() {
        let t = auc().at_least(0.7).absolute_change(0.1).relative_change(0.5);
        let check = t.check(Some(0.75), None, None);
        assert!(check.passed, "{check}");
        assert!(check.to_string().contains("change >= 0.1: not checked (no baseline)"), "{check}");
        assert!(!t.check(Some(0.65), None, None).passed);
        // A baseline value without a version is ignored.
        assert!(t.check(Some(0.75), None, Some(0.9)).baseline.is_none());
    }

    #[test]
    fn missing_values_fail_the_rules_that_need_them() {
        let t = auc().at_least(0.5).absolute_change(0.0);
        let no_candidate = t.check(None, Some(1), Some(0.8));
        assert!(!no_candidate.passed && no_candidate.diff.is_none());
        assert_eq!(no_candidate.failures().len(), 2);
        let no_baseline = t.check(Some(0.9), Some(1), None);
        assert_eq!(no_baseline.failures(), [(Rule::Change(0.0), Verdict::Missing)]);
        assert!(no_baseline.to_string().contains("version 1 lacks it"), "{no_baseline}");
    }

    #[test]
    fn every_failed_bound_is_listed() {
        let t = auc().at_least(0.9).absolute_change(0.0).relative_change(0.0);
        let check = t.check(Some(0.8), Some(2), Some(0.85));
        let failed: Vec<Rule> = check.failures().into_iter().map(|(rule, _)| rule).collect();
        assert_eq!(failed, [Rule::AtLeast(0.9), Rule::Change(0.0), Rule::RelativeChange(0.0)]);
        let line = check.to_string();
        assert!(
            line.starts_with("auc: candidate 0.8, version 2 has 0.85 (change -0.05, relative -0.058824)"),
            "{line}"
        );
    }

    #[test]
    fn invalid_thresholds_say_which_what_and_how_to_fix() {
        let invalid = |thresholds: &[MetricThreshold], position: usize, needle: &str| {
            let err = validate(thresholds).unwrap_err();
            assert!(
                matches!(&err, RegistryError::InvalidThreshold { position: p, .. } if *p == position),
                "{err:?}"
            );
            let text = err.to_string();
            assert!(text.contains(&format!("threshold {position}")) && text.contains(needle), "{text}");
        };
        let ok = auc().at_least(0.5);
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            invalid(&[ok.clone(), auc().at_least(bad)], 2, "at_least bound is");
            invalid(&[auc().at_most(bad)], 1, "at_most bound is");
            invalid(&[auc().absolute_change(bad)], 1, "absolute_change bound is");
            invalid(&[auc().relative_change(bad)], 1, "relative_change bound is");
        }
        invalid(&[auc().at_least(0.9).at_most(0.8)], 1, "at_least 0.9 is above at_most 0.8");
        invalid(&[ok.clone(), auc()], 2, "sets no bound");
        invalid(&[ok.clone(), MetricThreshold::new("").at_least(0.1)], 2, "metric name is empty");
        invalid(&[MetricThreshold::new("a\tb").at_least(0.1)], 1, "control characters");
        invalid(
            &[
                auc().absolute_change(0.0),
                ok.clone(),
                loss().absolute_change(0.0),
                auc().lower_is_better().relative_change(0.1),
            ],
            4,
            "threshold 1 says higher is better for `auc` but this one says lower is better",
        );
        // Directions matter only for change bounds; equal bounds are a valid (one-value) range.
        validate(&[auc().absolute_change(0.0), auc().lower_is_better().at_most(0.9).at_least(0.9)]).unwrap();
    }
}
