//! Monitoring: the reference profile a model is trained with, and data drift, pure functions
//! comparing a reference sample (training data, a past window) with a current one, each
//! statistic equal to scipy's (tests/fixtures/drift/generate.py).
//!
//! - [`ReferenceProfile`]: per raw column and engineered feature its kind, count, nulls,
//!   quantiles, reference-quantile bins, a sample and category counts; the same for the model's
//!   outputs and the label. A [`ModelPackage`](../serve/struct.ModelPackage.html) carries it.
//! - [`Trigger`]: when to retrain: a [`Cron`] schedule, new labels, dataset or feature drift, a
//!   performance floor, on demand; combined with any/all, each with a cooldown, every
//!   [`Decision`] explained in figures.
//! - Numeric ([`numeric_drift`]): [`DriftTest::Psi`] on reference-quantile [`Bins`],
//!   [`DriftTest::Ks`] (scipy's `ks_2samp`, exact or asymptotic as `method="auto"` picks),
//!   [`DriftTest::Wasserstein`] normalized by the reference standard deviation and
//!   [`DriftTest::JensenShannon`] on the bins. The bins and both histograms are recorded in every
//!   result, whichever test ran, so a later run can reuse them ([`NumericOptions::bins`]).
//! - Categorical ([`categorical_drift`]): [`DriftTest::ChiSquare`], [`DriftTest::ZTest`],
//!   [`DriftTest::JensenShannon`], [`DriftTest::LInfinity`] and [`DriftTest::Psi`] on category
//!   frequencies, with the share of current rows in categories the reference never had.
//! - The raw statistics: [`ks_2samp`], [`wasserstein_distance`], [`wasserstein_normed`],
//!   [`psi`], [`jensen_shannon`], [`chi_square`], [`l_infinity`], [`z_test`].
//! - [`Preset`]: Evidently's default test choice and thresholds, or Vertex AI / TFDV's
//!   (L-infinity for categorical, Jensen-Shannon for numeric, threshold 0.3), and
//!   [`dataset_drift`] over many columns.
//!
//! Nulls are `None` (numeric and categorical alike); they are counted in [`Sizes`] and left out
//! of the statistics, never silently: a column with no value on one side is an error. A `NaN` or
//! an infinity inside `Some` is an error, not a null.
//!
//! Large samples make every p-value test significant (the test detects differences too small to
//! matter), so [`Preset::Evidently`] swaps p-value tests for distances above `large_sample`
//! reference rows (Evidently's 1000).

mod categorical;
mod cron;
mod numeric;
mod preset;
mod profile;
mod special;
mod triggers;

pub use categorical::{
    CategoricalDrift, CategoricalOptions, CategoryCount, ChiSquare, ZTest, categorical_drift,
    categorical_drift_of_counts, chi_square, l_infinity, z_test,
};
pub use cron::{Cron, CronError};
pub use numeric::{
    Bins, KsMethod, KsTest, NumericDrift, NumericOptions, PSI_EMPTY_BIN, jensen_shannon, ks_2samp,
    ks_p_value, numeric_drift, psi, wasserstein_distance, wasserstein_normed,
};
pub use preset::{ColumnDrift, DEFAULT_DRIFT_SHARE, DatasetDrift, Preset, dataset_drift};
pub use profile::{
    BINS, CategorySummary, ColumnKind, ColumnProfile, MAX_CATEGORIES, MAX_DISCRETE, NumericSummary,
    ProfileError, QUANTILE_LEVELS, ReferenceProfile, SAMPLE_MAX, profile_column, profile_matrix,
};
pub use triggers::{Condition, Decision, FeatureDriftFigure, Observations, Trigger, TriggerState, Verdict};

/// Which side of the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Side {
    /// The reference sample (training data, a past window).
    Reference,
    /// The current sample (what is served now).
    Current,
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Side::Reference => "reference",
            Side::Current => "current",
        })
    }
}

/// A drift test: a p-value test (drift when the p-value is small) or a distance (drift when it
/// is large).
///
/// ```
/// use mlflow_ml::monitor::DriftTest;
/// assert!(DriftTest::Ks.is_p_value());
/// assert_eq!(DriftTest::Wasserstein.default_threshold(), 0.1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum DriftTest {
    /// Population stability index, `Σ (c - r) ln(c / r)` over bin (or category) shares, an empty
    /// share counted as [`PSI_EMPTY_BIN`]. Numeric and categorical; default threshold 0.1.
    Psi,
    /// Two-sample Kolmogorov-Smirnov test (scipy's `ks_2samp`, two-sided, `method="auto"`);
    /// drift when `p <= threshold` (Evidently's rule). Numeric; default threshold 0.05.
    Ks,
    /// First Wasserstein distance divided by the reference standard deviation (`ddof = 0`,
    /// floored at 0.001 as Evidently does). Numeric; default threshold 0.1.
    Wasserstein,
    /// Jensen-Shannon distance (natural log, scipy's `jensenshannon`) between the bin (or
    /// category) frequencies. Numeric and categorical; default threshold 0.1.
    JensenShannon,
    /// Chi-square goodness of fit of the current category counts to the reference frequencies
    /// scaled to the current total (Evidently's use of scipy's `chisquare`); drift when
    /// `p < threshold`. Categorical; default threshold 0.05.
    ChiSquare,
    /// Two-proportion z-test of the first category (in sorted order) against the rest
    /// (Evidently's binary test); drift when `p < threshold`. Categorical; default 0.05.
    ZTest,
    /// L-infinity distance, the largest difference of a category's frequency (TFDV's categorical
    /// drift). Categorical; default threshold 0.3.
    LInfinity,
}

impl DriftTest {
    /// The test's short name: `psi`, `ks`, `wasserstein`, `jensen_shannon`, `chi_square`,
    /// `z_test` or `l_infinity`.
    ///
    /// ```
    /// assert_eq!(mlflow_ml::monitor::DriftTest::Ks.name(), "ks");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            DriftTest::Psi => "psi",
            DriftTest::Ks => "ks",
            DriftTest::Wasserstein => "wasserstein",
            DriftTest::JensenShannon => "jensen_shannon",
            DriftTest::ChiSquare => "chi_square",
            DriftTest::ZTest => "z_test",
            DriftTest::LInfinity => "l_infinity",
        }
    }

    /// Whether the statistic is a p-value test (drift below the threshold) rather than a
    /// distance (drift at or above it).
    pub fn is_p_value(self) -> bool {
        matches!(self, DriftTest::Ks | DriftTest::ChiSquare | DriftTest::ZTest)
    }

    /// The default threshold: Evidently's for the tests it has (0.05 for p-values, 0.1 for
    /// distances), Vertex AI's 0.3 for L-infinity.
    pub fn default_threshold(self) -> f64 {
        match self {
            DriftTest::Ks | DriftTest::ChiSquare | DriftTest::ZTest => 0.05,
            DriftTest::Psi | DriftTest::Wasserstein | DriftTest::JensenShannon => 0.1,
            DriftTest::LInfinity => 0.3,
        }
    }

    /// Whether `statistic` (a p-value or a distance) at `threshold` means drift.
    pub fn drifted(self, statistic: f64, threshold: f64) -> bool {
        match self {
            DriftTest::Ks => statistic <= threshold,
            DriftTest::ChiSquare | DriftTest::ZTest => statistic < threshold,
            _ => statistic >= threshold,
        }
    }
}

/// Row counts of both sides: values compared, and nulls reported (left out of the statistics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Sizes {
    /// Reference values compared (not null).
    pub reference: usize,
    /// Current values compared (not null).
    pub current: usize,
    /// Reference nulls.
    pub reference_nulls: usize,
    /// Current nulls.
    pub current_nulls: usize,
}

/// What can go wrong measuring drift; each message says what and what to do.
///
/// ```
/// use mlflow_ml::monitor::{numeric_drift, DriftError, DriftTest, NumericOptions, Side};
/// let err = numeric_drift(&[], &[Some(1.0)], DriftTest::Ks, &NumericOptions::default()).unwrap_err();
/// assert_eq!(err, DriftError::Empty { side: Side::Reference });
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DriftError {
    /// A sample without rows.
    #[error("the {side} sample is empty: give at least one row on each side")]
    Empty {
        /// Which one.
        side: Side,
    },
    /// A sample whose rows are all null.
    #[error("the {side} sample has {nulls} rows, all null: drift needs at least one value on each side")]
    AllNull {
        /// Which one.
        side: Side,
        /// How many nulls.
        nulls: usize,
    },
    /// `NaN` or an infinity where a number belongs.
    #[error("row {row} of the {side} sample is {value}: give finite numbers, and None (not NaN) for a null")]
    NotFinite {
        /// Which sample.
        side: Side,
        /// The row (among the rows given).
        row: usize,
        /// The value.
        value: f64,
    },
    /// Fewer than two bins.
    #[error("{bins} bins: give at least 2 (10 is the usual choice)")]
    TooFewBins {
        /// The number asked for.
        bins: usize,
    },
    /// A test that does not apply to this kind of column.
    #[error("{test:?} does not apply to {kind} columns: {hint}")]
    WrongTest {
        /// The test asked for.
        test: DriftTest,
        /// "numeric" or "categorical".
        kind: &'static str,
        /// What to use instead.
        hint: &'static str,
    },
    /// Anything else wrong with the inputs (lengths, negative counts, a bad threshold).
    #[error("{detail}")]
    BadInput {
        /// What is wrong, and the fix.
        detail: String,
    },
}

fn bad<T>(detail: String) -> Result<T, DriftError> {
    Err(DriftError::BadInput { detail })
}

/// A threshold from the options or the test's default; must be finite and not negative.
fn threshold(test: DriftTest, given: Option<f64>) -> Result<f64, DriftError> {
    match given {
        None => Ok(test.default_threshold()),
        Some(t) if t.is_finite() && t >= 0.0 => Ok(t),
        Some(t) => bad(format!("threshold {t}: give a finite number >= 0 (or None for the test's default)")),
    }
}

/// Two count (or weight) vectors of the same, non-zero length, finite and not negative, each with
/// a positive total.
fn check_weights(p: &[f64], q: &[f64]) -> Result<(), DriftError> {
    if p.is_empty() || p.len() != q.len() {
        return bad(format!(
            "{} and {} counts: give one count per bin on each side, at least one",
            p.len(),
            q.len()
        ));
    }
    for (name, w) in [("first", p), ("second", q)] {
        if let Some(i) = w.iter().position(|x| !x.is_finite() || *x < 0.0) {
            return bad(format!("count {i} of the {name} side is {}: counts are finite and >= 0", w[i]));
        }
        if w.iter().sum::<f64>() <= 0.0 {
            return bad(format!("the {name} side's counts sum to 0: give at least one positive count"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p_value_tests_drift_below_distances_at_or_above_the_threshold() {
        assert!(DriftTest::Ks.drifted(0.05, 0.05));
        assert!(!DriftTest::ChiSquare.drifted(0.05, 0.05));
        assert!(DriftTest::Psi.drifted(0.1, 0.1));
        assert!(!DriftTest::LInfinity.drifted(0.29, 0.3));
        assert!(threshold(DriftTest::Ks, Some(f64::NAN)).is_err());
    }
}
