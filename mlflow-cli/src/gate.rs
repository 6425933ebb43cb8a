//! `model promote`'s thresholds: `--require`, `--require-change` and
//! `--require-relative-change`, each `METRIC>=NUMBER` or `METRIC<=NUMBER`, added to the
//! promotion's own `--metric`/`--margin` guard.

use mlflow::registry::{MetricThreshold, Promotion};

/// Which bound a flag sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `--require`: the candidate's value.
    Value,
    /// `--require-change`: candidate minus the holder's value.
    Change,
    /// `--require-relative-change`: that change over the holder's value.
    RelativeChange,
}

impl Kind {
    fn flag(self) -> &'static str {
        match self {
            Kind::Value => "--require",
            Kind::Change => "--require-change",
            Kind::RelativeChange => "--require-relative-change",
        }
    }
}

/// The thresholds the flags give, in the order: values, changes, relative changes.
pub fn thresholds(
    values: &[String],
    changes: &[String],
    relative_changes: &[String],
) -> Result<Vec<MetricThreshold>, String> {
    let flags = values
        .iter()
        .map(|t| (Kind::Value, t))
        .chain(changes.iter().map(|t| (Kind::Change, t)))
        .chain(relative_changes.iter().map(|t| (Kind::RelativeChange, t)));
    flags.map(|(kind, text)| parse(kind, text)).collect()
}

/// Adds the thresholds to `promotion`. A value bound has no direction of its own: it takes its
/// metric's, from the promotion's own metric or a change bound, so that the history reads right.
pub fn gate(mut promotion: Promotion, thresholds: Vec<MetricThreshold>) -> Promotion {
    let direction = |metric: &str| -> Option<bool> {
        if metric == promotion.metric {
            return Some(promotion.higher_is_better);
        }
        thresholds.iter().find(|t| t.metric == metric && t.has_change()).map(|t| t.higher_is_better)
    };
    let directed: Vec<MetricThreshold> = thresholds
        .iter()
        .map(|t| {
            let mut t = t.clone();
            if !t.has_change() {
                t.higher_is_better = direction(&t.metric).unwrap_or(true);
            }
            t
        })
        .collect();
    for threshold in directed {
        promotion = promotion.and(threshold);
    }
    promotion
}

/// One flag's `METRIC>=NUMBER` or `METRIC<=NUMBER`.
fn parse(kind: Kind, text: &str) -> Result<MetricThreshold, String> {
    let flag = kind.flag();
    let example = match kind {
        Kind::Value => "\"roc_auc>=0.8\" or \"log_loss<=0.5\"",
        Kind::Change => "\"roc_auc>=-0.01\" (at most 0.01 worse) or \"log_loss<=0.02\"",
        Kind::RelativeChange => "\"roc_auc>=-0.01\" (at most 1% worse) or \"log_loss<=0.05\"",
    };
    let bad = |problem: String| {
        format!("{flag} \"{text}\": {problem}; write METRIC>=NUMBER or METRIC<=NUMBER, e.g. {flag} {example}")
    };
    let operators: Vec<(usize, bool)> = text
        .match_indices(">=")
        .map(|(at, _)| (at, true))
        .chain(text.match_indices("<=").map(|(at, _)| (at, false)))
        .collect();
    let (metric, at_least, number) = match operators.as_slice() {
        [(at, at_least)] => (&text[..*at], *at_least, &text[at + 2..]),
        [] => return Err(bad("it has no `>=` or `<=` (bounds are inclusive)".into())),
        _ => return Err(bad("it has more than one `>=` or `<=`; give each bound its own flag".into())),
    };
    let metric = metric.trim();
    if metric.is_empty() {
        return Err(bad("it names no metric".into()));
    }
    let number = number.trim();
    let bound: f64 = number.parse().map_err(|_| bad(format!("`{number}` is not a number")))?;
    if !bound.is_finite() {
        return Err(bad(format!("`{number}` is not a finite number")));
    }
    let threshold = MetricThreshold::new(metric);
    Ok(match (kind, at_least) {
        (Kind::Value, true) => threshold.at_least(bound),
        (Kind::Value, false) => threshold.at_most(bound),
        // For a change, the operator is the metric's direction: `>=` higher is better.
        (Kind::Change, true) => threshold.absolute_change(bound),
        (Kind::Change, false) => threshold.lower_is_better().absolute_change(bound),
        (Kind::RelativeChange, true) => threshold.relative_change(bound),
        (Kind::RelativeChange, false) => threshold.lower_is_better().relative_change(bound),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(kind: Kind, text: &str) -> Result<MetricThreshold, String> {
        parse(kind, text)
    }

    #[test]
    fn each_flag_sets_its_bound_and_the_operator_sets_the_direction() {
        assert_eq!(one(Kind::Value, "roc_auc>=0.8").unwrap(), MetricThreshold::new("roc_auc").at_least(0.8));
        assert_eq!(
            one(Kind::Value, " log_loss <= 0.5 ").unwrap(),
            MetricThreshold::new("log_loss").at_most(0.5)
        );
        assert_eq!(
            one(Kind::Change, "roc_auc>=-0.01").unwrap(),
            MetricThreshold::new("roc_auc").absolute_change(-0.01)
        );
        assert_eq!(
            one(Kind::RelativeChange, "log_loss<=0.05").unwrap(),
            MetricThreshold::new("log_loss").lower_is_better().relative_change(0.05)
        );
        let all = thresholds(&["a>=1".into()], &["b<=2".into()], &["c>=3".into()]).unwrap();
        assert_eq!(all.len(), 3);
    }

    #[test]
    fn malformed_flags_say_what_and_how() {
        for (kind, text, needle) in [
            (Kind::Value, "roc_auc>0.8", "no `>=` or `<=`"),
            (Kind::Value, ">=0.8", "names no metric"),
            (Kind::Change, "auc>=high", "`high` is not a number"),
            (Kind::RelativeChange, "auc<=NaN", "`NaN` is not a finite number"),
            (Kind::Value, "0.1<=auc<=0.9", "more than one `>=` or `<=`"),
        ] {
            let err = one(kind, text).unwrap_err();
            assert!(
                err.contains(needle) && err.contains(kind.flag()) && err.contains("METRIC>=NUMBER"),
                "{err}"
            );
        }
    }

    #[test]
    fn value_bounds_take_their_metrics_direction() {
        let promotion = Promotion::new("log_loss").lower_is_better();
        let found = thresholds(
            &["log_loss<=0.5".into(), "brier<=0.2".into(), "auc>=0.8".into()],
            &["brier<=0.01".into()],
            &[],
        )
        .unwrap();
        let gated = gate(promotion, found).thresholds();
        let directions: Vec<(&str, bool)> =
            gated.iter().map(|t| (t.metric.as_str(), t.higher_is_better)).collect();
        assert_eq!(
            directions,
            [("log_loss", false), ("log_loss", false), ("brier", false), ("auc", true), ("brier", false)]
        );
    }
}
