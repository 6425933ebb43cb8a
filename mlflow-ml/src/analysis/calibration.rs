//! Calibration: how often the positive class happens at each predicted probability.

use serde::{Deserialize, Serialize};

use super::AnalysisError;
use crate::features::quantile;

/// How [`calibration_curve`] cuts `[0, 1]` into bins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Binning {
    /// Bins of equal width.
    Uniform,
    /// Bins of equal counts: edges at the quantiles of the predicted probabilities.
    Quantile,
}

/// A reliability curve: for each bin that has rows, the fraction of positives and the mean
/// predicted probability, with the bin's count. Empty bins are left out, as scikit-learn leaves
/// them out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationCurve {
    /// Fraction of positives per bin (scikit-learn's `prob_true`).
    pub fraction_positive: Vec<f64>,
    /// Mean predicted probability per bin (`prob_pred`).
    pub mean_predicted: Vec<f64>,
    /// Rows per bin.
    pub counts: Vec<usize>,
}

impl CalibrationCurve {
    /// Expected calibration error: the mean over rows of `|fraction_positive - mean_predicted|`
    /// of their bin (each bin weighted by its count).
    pub fn expected_calibration_error(&self) -> f64 {
        let total: usize = self.counts.iter().sum();
        self.counts
            .iter()
            .zip(self.fraction_positive.iter().zip(&self.mean_predicted))
            .map(|(&n, (t, p))| n as f64 * (t - p).abs())
            .sum::<f64>()
            / total.max(1) as f64
    }
}

/// scikit-learn's `calibration_curve(y_true, y_prob, n_bins, strategy)`: bins of `[0, 1]`
/// (uniform: `n_bins` equal widths; quantile: edges at the quantiles of `y_prob`), a probability
/// on an inner edge going to the lower bin (`searchsorted`, side left).
///
/// ```
/// use mlflow_ml::analysis::{calibration_curve, Binning};
/// let y = [0, 0, 0, 0, 1, 1, 1, 1, 1];
/// let p = [0.1, 0.2, 0.3, 0.4, 0.65, 0.7, 0.8, 0.9, 1.0];
/// let curve = calibration_curve(&y, &p, 3, Binning::Uniform)?;
/// assert_eq!(curve.fraction_positive, [0.0, 0.5, 1.0]);
/// assert_eq!(curve.counts, [3, 2, 4]);
/// assert!((curve.mean_predicted[1] - 0.525).abs() < 1e-12);
/// # Ok::<(), mlflow_ml::analysis::AnalysisError>(())
/// ```
///
/// Errors: no rows, different lengths, a label other than 0 or 1, a probability outside
/// `[0, 1]` or NaN, no bin.
pub fn calibration_curve(
    y_true: &[usize],
    y_prob: &[f64],
    n_bins: usize,
    binning: Binning,
) -> Result<CalibrationCurve, AnalysisError> {
    super::check_binary(y_true, y_prob)?;
    if n_bins == 0 {
        return Err(AnalysisError::BadInput { detail: "a calibration curve needs at least 1 bin".into() });
    }
    // numpy's linspace(0, 1, n_bins + 1): i * (1 / n_bins).
    let step = 1.0 / n_bins as f64;
    let inner: Vec<f64> = match binning {
        Binning::Uniform => (1..n_bins).map(|i| i as f64 * step).collect(),
        Binning::Quantile => {
            let mut sorted = y_prob.to_vec();
            sorted.sort_by(f64::total_cmp);
            (1..n_bins).map(|i| quantile(&sorted, i as f64 * step)).collect()
        }
    };
    let mut sums = vec![0.0; n_bins];
    let mut positives = vec![0usize; n_bins];
    let mut counts = vec![0usize; n_bins];
    for (&y, &p) in y_true.iter().zip(y_prob) {
        let bin = inner.partition_point(|&edge| edge < p);
        sums[bin] += p;
        positives[bin] += y;
        counts[bin] += 1;
    }
    let kept: Vec<usize> = (0..n_bins).filter(|&b| counts[b] > 0).collect();
    Ok(CalibrationCurve {
        fraction_positive: kept.iter().map(|&b| positives[b] as f64 / counts[b] as f64).collect(),
        mean_predicted: kept.iter().map(|&b| sums[b] / counts[b] as f64).collect(),
        counts: kept.iter().map(|&b| counts[b]).collect(),
    })
}
