//! Retraining triggers: declarative rules (a schedule, new labels, drift, a performance floor,
//! on demand; combined with any/all; each with a cooldown) evaluated against what monitoring
//! observed, with an explanation of every decision in figures.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::cron::Cron;

/// What one trigger watches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Condition {
    /// A cron schedule fell due since the last training (or since the watch started).
    Schedule(Cron),
    /// At least this many labeled rows arrived since the last training.
    NewLabels(u64),
    /// The share of drifted features reached this (Evidently's dataset drift: 0.5).
    DatasetDrift(f64),
    /// This feature drifted: by its own test's verdict, or, with a threshold, its statistic
    /// reached it (distances: at or above; p-values: below).
    FeatureDrift {
        /// The feature's name.
        feature: String,
        /// `None`: the drift test's own verdict.
        threshold: Option<f64>,
    },
    /// A realized metric is worse than a floor (below it when higher is better, above it when
    /// lower is better), judged only with at least `min_labels` labels.
    Performance {
        /// The metric's name, as monitoring reports it (`accuracy`, `roc_auc`, `rmse`, ...).
        metric: String,
        /// The floor (or ceiling, for a loss).
        floor: f64,
        /// Whether higher values are better.
        higher_is_better: bool,
        /// Labels needed before the figure counts.
        min_labels: u64,
    },
    /// Someone asked for a retrain.
    OnDemand,
    /// Any of these fires.
    Any(Vec<Trigger>),
    /// All of these fire.
    All(Vec<Trigger>),
}

/// A named condition with a cooldown: after it fired, it stays quiet for `cooldown_ms`.
///
/// ```
/// use mlflow_ml::monitor::{Observations, Trigger, TriggerState};
/// let hour = 3_600_000;
/// let rule = Trigger::any([
///     Trigger::schedule("0 3 * * *")?.named("nightly"),
///     Trigger::new_labels(500).named("labels").cooldown(6 * hour),
///     Trigger::dataset_drift(0.5).named("drift").cooldown(24 * hour),
/// ]);
/// let observed = Observations { now_ms: 10 * hour, last_training_ms: Some(9 * hour), new_labeled_rows: 800, ..Observations::default() };
/// let decision = rule.evaluate(&observed, &TriggerState::default());
/// assert!(decision.fired);
/// assert_eq!(decision.fired_by(), ["labels"]);
/// assert!(decision.explain().contains("800 new labeled rows, at least 500: fires"), "{}", decision.explain());
/// # Ok::<(), mlflow_ml::monitor::CronError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trigger {
    /// Its name, in decisions and in the cooldown state.
    pub name: String,
    /// What it watches.
    pub condition: Condition,
    /// How long it stays quiet after it fired, in milliseconds.
    pub cooldown_ms: i64,
}

/// What monitoring observed, for the triggers to judge.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Observations {
    /// Now, in milliseconds since the Unix epoch.
    pub now_ms: i64,
    /// When the model was last trained (or the watch started), if ever.
    pub last_training_ms: Option<i64>,
    /// Labeled rows that arrived since then.
    pub new_labeled_rows: u64,
    /// The share of drifted features in the latest window, if one was measured.
    pub dataset_drift_share: Option<f64>,
    /// Each feature's drift in the latest window.
    pub feature_drift: BTreeMap<String, FeatureDriftFigure>,
    /// Realized metrics in the latest window, with the labels they rest on.
    pub performance: BTreeMap<String, f64>,
    /// Labels behind `performance`.
    pub labeled: u64,
    /// Whether a retrain was asked for.
    pub on_demand: bool,
}

/// One feature's drift figure, as triggers read it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct FeatureDriftFigure {
    /// The test's statistic (a distance, or the test statistic of a p-value test).
    pub statistic: f64,
    /// The p-value, for a p-value test.
    pub p_value: Option<f64>,
    /// The test's own verdict.
    pub drifted: bool,
}

/// When each trigger last fired (for cooldowns); kept in the store by the retraining loop.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerState {
    /// Trigger name to the time it last fired (ms since the Unix epoch).
    pub last_fired_ms: BTreeMap<String, i64>,
}

impl TriggerState {
    /// Records that the triggers of `decision` fired at `at_ms`.
    pub fn record(&mut self, decision: &Decision, at_ms: i64) {
        for name in decision.fired_by() {
            self.last_fired_ms.insert(name.to_owned(), at_ms);
        }
    }
}

/// One trigger's verdict: whether it fires, why (in figures), and the verdicts of its parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The trigger's name.
    pub name: String,
    /// Whether it fires.
    pub fired: bool,
    /// Why, with the figures.
    pub why: String,
    /// For `any`/`all`, each part's verdict.
    pub parts: Vec<Verdict>,
}

/// The triggers' decision: whether to retrain, and each trigger's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Whether the rule fired: retrain.
    pub fired: bool,
    /// The rule's verdict, with its parts'.
    pub verdict: Verdict,
}

impl Decision {
    /// The names of the leaf triggers that fired (a combination's parts, not the combination).
    pub fn fired_by(&self) -> Vec<&str> {
        fn walk<'a>(v: &'a Verdict, out: &mut Vec<&'a str>) {
            if v.parts.is_empty() {
                if v.fired {
                    out.push(&v.name);
                }
            } else {
                v.parts.iter().for_each(|p| walk(p, out));
            }
        }
        let mut out = Vec::new();
        walk(&self.verdict, &mut out);
        out
    }

    /// Every verdict as an indented list, one line each: which trigger would fire and why.
    pub fn explain(&self) -> String {
        fn walk(v: &Verdict, depth: usize, out: &mut String) {
            let mark = if v.fired { "fires" } else { "quiet" };
            let _ = writeln!(out, "{:indent$}{} [{mark}]: {}", "", v.name, v.why, indent = depth * 2);
            v.parts.iter().for_each(|p| walk(p, depth + 1, out));
        }
        let mut out = String::new();
        walk(&self.verdict, 0, &mut out);
        out
    }
}

impl Trigger {
    fn of(name: &str, condition: Condition) -> Trigger {
        Trigger { name: name.to_owned(), condition, cooldown_ms: 0 }
    }

    /// Fires when `cron` fell due since the last training. Errors: a malformed expression.
    pub fn schedule(cron: &str) -> Result<Trigger, super::CronError> {
        Ok(Trigger::of("schedule", Condition::Schedule(Cron::parse(cron)?)))
    }

    /// Fires when at least `rows` labeled rows arrived since the last training.
    pub fn new_labels(rows: u64) -> Trigger {
        Trigger::of("new labels", Condition::NewLabels(rows))
    }

    /// Fires when the share of drifted features reaches `share`.
    pub fn dataset_drift(share: f64) -> Trigger {
        Trigger::of("dataset drift", Condition::DatasetDrift(share))
    }

    /// Fires when `feature` drifted (its test's verdict; see [`Trigger::threshold`]).
    pub fn feature_drift(feature: impl Into<String>) -> Trigger {
        let feature = feature.into();
        Trigger::of(&format!("drift of {feature}"), Condition::FeatureDrift { feature, threshold: None })
    }

    /// Fires when `metric` is worse than `floor` with at least `min_labels` labels.
    pub fn performance(
        metric: impl Into<String>,
        floor: f64,
        higher_is_better: bool,
        min_labels: u64,
    ) -> Trigger {
        let metric = metric.into();
        Trigger::of(
            &format!("{metric} floor"),
            Condition::Performance { metric, floor, higher_is_better, min_labels },
        )
    }

    /// Fires when a retrain was asked for.
    pub fn on_demand() -> Trigger {
        Trigger::of("on demand", Condition::OnDemand)
    }

    /// Fires when any of `triggers` fires.
    pub fn any(triggers: impl IntoIterator<Item = Trigger>) -> Trigger {
        Trigger::of("any", Condition::Any(triggers.into_iter().collect()))
    }

    /// Fires when all of `triggers` fire.
    pub fn all(triggers: impl IntoIterator<Item = Trigger>) -> Trigger {
        Trigger::of("all", Condition::All(triggers.into_iter().collect()))
    }

    /// Renames it (names key the cooldown state: give each its own).
    pub fn named(mut self, name: impl Into<String>) -> Trigger {
        self.name = name.into();
        self
    }

    /// Keeps it quiet for `ms` after it fired.
    pub fn cooldown(mut self, ms: i64) -> Trigger {
        self.cooldown_ms = ms.max(0);
        self
    }

    /// For a feature-drift trigger, judges by its statistic against `threshold` instead of the
    /// test's verdict (p-value tests: p below it; distances: at or above it).
    pub fn threshold(mut self, threshold: f64) -> Trigger {
        if let Condition::FeatureDrift { threshold: t, .. } = &mut self.condition {
            *t = Some(threshold);
        }
        self
    }

    /// Judges the triggers against `observed`, with the cooldowns of `state`.
    pub fn evaluate(&self, observed: &Observations, state: &TriggerState) -> Decision {
        let verdict = self.verdict(observed, state);
        Decision { fired: verdict.fired, verdict }
    }

    fn verdict(&self, o: &Observations, state: &TriggerState) -> Verdict {
        let leaf =
            |fired: bool, why: String| Verdict { name: self.name.clone(), fired, why, parts: Vec::new() };
        let mut verdict = match &self.condition {
            Condition::Any(parts) | Condition::All(parts) => {
                let parts: Vec<Verdict> = parts.iter().map(|t| t.verdict(o, state)).collect();
                let count = parts.iter().filter(|p| p.fired).count();
                let all = matches!(self.condition, Condition::All(_));
                let fired = if all { count == parts.len() && count > 0 } else { count > 0 };
                let why =
                    format!("{count} of {} fire, {} needed", parts.len(), if all { "all" } else { "one" });
                Verdict { name: self.name.clone(), fired, why, parts }
            }
            Condition::Schedule(cron) => {
                let since = o.last_training_ms.unwrap_or(i64::MIN / 2);
                match cron.due_between(since, o.now_ms) {
                    Some(due) => {
                        leaf(true, format!("`{cron}` fell due at {} since the last training", utc(due)))
                    }
                    None => leaf(
                        false,
                        format!(
                            "`{cron}` not due since the last training; next at {}",
                            cron.next_after(o.now_ms).map_or_else(|| "never".to_owned(), utc)
                        ),
                    ),
                }
            }
            Condition::NewLabels(rows) => {
                let fired = o.new_labeled_rows >= *rows;
                let verb = if fired { "fires" } else { "waits" };
                leaf(fired, format!("{} new labeled rows, at least {rows}: {verb}", o.new_labeled_rows))
            }
            Condition::DatasetDrift(share) => match o.dataset_drift_share {
                Some(s) => leaf(s >= *share, format!("{:.3} of the features drifted, threshold {share}", s)),
                None => leaf(false, "no window measured yet".into()),
            },
            Condition::FeatureDrift { feature, threshold } => match (o.feature_drift.get(feature), threshold)
            {
                (None, _) => {
                    leaf(false, format!("`{feature}` has no drift figure (not measured, or not a feature)"))
                }
                (Some(f), None) => leaf(
                    f.drifted,
                    format!(
                        "statistic {:.4}{}: {}",
                        f.statistic,
                        p_text(f.p_value),
                        if f.drifted { "drifted" } else { "no drift" }
                    ),
                ),
                (Some(f), Some(t)) => {
                    let fired = match f.p_value {
                        Some(p) => p < *t,
                        None => f.statistic >= *t,
                    };
                    let figure = match f.p_value {
                        Some(p) => format!("p-value {p:.4} against {t}"),
                        None => format!("statistic {:.4} against {t}", f.statistic),
                    };
                    leaf(fired, figure)
                }
            },
            Condition::Performance { metric, floor, higher_is_better, min_labels } => {
                match (o.performance.get(metric), o.labeled >= *min_labels) {
                    (_, false) => {
                        leaf(false, format!("{} labels, {min_labels} needed to judge {metric}", o.labeled))
                    }
                    (None, true) => leaf(false, format!("{metric} not measured")),
                    (Some(v), true) => {
                        let worse = if *higher_is_better { v < floor } else { v > floor };
                        let side = if *higher_is_better { "floor" } else { "ceiling" };
                        leaf(worse, format!("{metric} {v:.4} on {} labels, {side} {floor}", o.labeled))
                    }
                }
            }
            Condition::OnDemand => {
                leaf(o.on_demand, if o.on_demand { "asked for" } else { "not asked" }.into())
            }
        };
        if verdict.fired
            && let Some(&last) = state.last_fired_ms.get(&self.name)
            && self.cooldown_ms > 0
            && o.now_ms < last.saturating_add(self.cooldown_ms)
        {
            verdict.fired = false;
            let _ =
                write!(verdict.why, "; cooling down until {}", utc(last.saturating_add(self.cooldown_ms)));
        }
        verdict
    }
}

fn p_text(p: Option<f64>) -> String {
    p.map(|p| format!(", p-value {p:.4}")).unwrap_or_default()
}

/// `YYYY-MM-DD HH:MM UTC`.
fn utc(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let minutes = ms.rem_euclid(86_400_000) / 60_000;
    let (y, m, d) = super::cron::civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02} UTC", minutes / 60, minutes % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    #[test]
    fn cooldowns_silence_a_trigger_until_they_end() {
        let t = Trigger::on_demand().cooldown(2 * HOUR);
        let asked = Observations { now_ms: 10 * HOUR, on_demand: true, ..Observations::default() };
        let mut state = TriggerState::default();
        let first = t.evaluate(&asked, &state);
        assert!(first.fired);
        state.record(&first, 10 * HOUR);
        let soon = Observations { now_ms: 11 * HOUR, ..asked.clone() };
        let quiet = t.evaluate(&soon, &state);
        assert!(
            !quiet.fired && quiet.explain().contains("cooling down until 1970-01-01 12:00 UTC"),
            "{}",
            quiet.explain()
        );
        assert!(t.evaluate(&Observations { now_ms: 12 * HOUR, ..asked }, &state).fired);
    }

    #[test]
    fn all_needs_every_part_and_performance_needs_enough_labels() {
        let rule = Trigger::all([
            Trigger::performance("accuracy", 0.8, true, 100),
            Trigger::feature_drift("Age").threshold(0.1),
        ]);
        let mut o = Observations { labeled: 50, ..Observations::default() };
        o.performance.insert("accuracy".into(), 0.7);
        o.feature_drift
            .insert("Age".into(), FeatureDriftFigure { statistic: 0.2, p_value: None, drifted: true });
        let d = rule.evaluate(&o, &TriggerState::default());
        assert!(!d.fired && d.explain().contains("50 labels, 100 needed"), "{}", d.explain());
        o.labeled = 150;
        let d = rule.evaluate(&o, &TriggerState::default());
        assert!(d.fired, "{}", d.explain());
        assert_eq!(d.fired_by(), ["accuracy floor", "drift of Age"]);
        // A loss is judged against a ceiling.
        o.performance.insert("rmse".into(), 3.0);
        assert!(Trigger::performance("rmse", 2.5, false, 10).evaluate(&o, &TriggerState::default()).fired);
    }

    #[test]
    fn a_schedule_fires_once_per_due_time_since_the_last_training() {
        let nightly = Trigger::schedule("0 3 * * *").unwrap();
        let day = 24 * HOUR;
        let trained_at = 100 * day + 4 * HOUR;
        let o =
            |now| Observations { now_ms: now, last_training_ms: Some(trained_at), ..Observations::default() };
        assert!(!nightly.evaluate(&o(100 * day + 23 * HOUR), &TriggerState::default()).fired);
        let d = nightly.evaluate(&o(101 * day + 3 * HOUR), &TriggerState::default());
        assert!(d.fired && d.explain().contains("fell due at"), "{}", d.explain());
    }
}
