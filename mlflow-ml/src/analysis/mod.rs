//! Model analysis beyond whole hold-out metrics: slices, calibration, permutation importance and
//! group fairness.
//!
//! - [`slice_metrics`]: metrics per slice of the rows ([`Slicing`] by a column's value, by bins
//!   of a numeric column, or the cross of two), with counts; small slices flagged, not scored.
//! - [`calibration_curve`]: scikit-learn's reliability curve (uniform or quantile bins), with the
//!   expected calibration error ([`CalibrationCurve::expected_calibration_error`]); the Brier
//!   score is [`eval::classification::brier_score`](crate::eval::classification::brier_score).
//! - [`permutation_importance`]: seeded, `n_repeats`, mean and standard deviation per feature,
//!   for any model behind a score function; a feature the model never reads scores exactly 0.
//! - [`fairness`]: per group the selection rate, true and false positive rates, and fairlearn's
//!   demographic parity and equalized odds differences.
//!
//! Reference values come from tests/fixtures/analysis/generate.py (scikit-learn and fairlearn).

mod calibration;
mod fairness;
mod importance;
mod slices;

pub use calibration::{Binning, CalibrationCurve, calibration_curve};
pub use fairness::{Fairness, GroupRates, fairness};
pub use importance::{Importance, permutation_importance};
pub use slices::{SliceMetrics, Slicing, slice_metrics};

/// What can go wrong analysing a model.
///
/// ```
/// use mlflow_ml::analysis::{calibration_curve, AnalysisError, Binning};
/// let err = calibration_curve(&[0, 1], &[0.2], 5, Binning::Uniform).unwrap_err();
/// assert!(matches!(err, AnalysisError::BadInput { .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AnalysisError {
    /// Inputs that cannot be analysed.
    #[error("{detail}")]
    BadInput {
        /// What is wrong, and the fix.
        detail: String,
    },
    /// The score function failed or gave a non-finite value.
    #[error("the score could not be computed on {detail}")]
    Score {
        /// Which rows, and why.
        detail: String,
    },
}

/// Binary labels and probabilities of the same, non-zero length, labels 0 or 1, probabilities in
/// `[0, 1]`.
fn check_binary(y_true: &[usize], y_prob: &[f64]) -> Result<(), AnalysisError> {
    let bad = |detail: String| Err(AnalysisError::BadInput { detail });
    if y_true.is_empty() || y_true.len() != y_prob.len() {
        return bad(format!(
            "{} labels and {} probabilities: give one probability per label, at least one",
            y_true.len(),
            y_prob.len()
        ));
    }
    if let Some(row) = y_true.iter().position(|&y| y > 1) {
        return bad(format!("row {row}: label {} is not 0 or 1", y_true[row]));
    }
    if let Some(row) = y_prob.iter().position(|p| !(0.0..=1.0).contains(p)) {
        return bad(format!("row {row}: probability {} is outside [0, 1]", y_prob[row]));
    }
    Ok(())
}
