//! Permutation importance: how much a score drops when one feature's values are shuffled.

use ndarray::{Array2, ArrayView2};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::AnalysisError;

/// One feature's permutation importance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Importance {
    /// The feature's column.
    pub feature: usize,
    /// The score drop of each repeat (baseline minus permuted; for a loss, permuted minus
    /// baseline), so that larger is more important either way.
    pub drops: Vec<f64>,
    /// Their mean.
    pub mean: f64,
    /// Their standard deviation (divided by n, as scikit-learn's).
    pub std: f64,
}

/// Permutation importance of every column of `x` for `score` (a function of a feature matrix,
/// for example a model's accuracy on labelled rows), as scikit-learn's `permutation_importance`:
/// each column shuffled `n_repeats` times, the score recomputed, the drops averaged. The shuffles
/// come from one `StdRng` seeded with `seed` (columns in order, repeats in order), so the same
/// seed gives the same importances. A column the model never reads has importance exactly 0.
///
/// ```
/// use mlflow_ml::analysis::permutation_importance;
/// use ndarray::array;
/// let x = array![[0.0, 5.0], [1.0, 3.0], [2.0, 9.0], [3.0, 1.0]];
/// let y = [0.0, 1.0, 2.0, 3.0];
/// // A "model" that reads column 0 only; score = minus the squared error.
/// let score = |x: ndarray::ArrayView2<'_, f64>| -> Result<f64, std::convert::Infallible> {
///     Ok(-x.column(0).iter().zip(&y).map(|(p, t)| (p - t).powi(2)).sum::<f64>())
/// };
/// let importances = permutation_importance(x.view(), score, 5, 42, true)?;
/// assert!(importances[0].mean > 0.0);
/// assert_eq!(importances[1].mean, 0.0);
/// # Ok::<(), mlflow_ml::analysis::AnalysisError>(())
/// ```
///
/// Errors: no row or column, no repeat, a score that fails or is not finite.
pub fn permutation_importance<E: std::fmt::Display>(
    x: ArrayView2<'_, f64>,
    score: impl Fn(ArrayView2<'_, f64>) -> Result<f64, E>,
    n_repeats: usize,
    seed: u64,
    higher_is_better: bool,
) -> Result<Vec<Importance>, AnalysisError> {
    if x.nrows() == 0 || x.ncols() == 0 || n_repeats == 0 {
        return Err(AnalysisError::BadInput {
            detail: format!(
                "permutation importance of {} rows x {} columns with {n_repeats} repeats: give at least one of each",
                x.nrows(),
                x.ncols()
            ),
        });
    }
    let checked = |x: ArrayView2<'_, f64>, what: &str| -> Result<f64, AnalysisError> {
        let value = score(x).map_err(|e| AnalysisError::Score { detail: format!("{what}: {e}") })?;
        if value.is_finite() {
            Ok(value)
        } else {
            Err(AnalysisError::Score { detail: format!("{what}: the score is {value}, not a finite number") })
        }
    };
    let baseline = checked(x, "the unshuffled rows")?;
    let sign = if higher_is_better { 1.0 } else { -1.0 };
    let mut rng = StdRng::seed_from_u64(seed);
    let mut shuffled: Array2<f64> = x.to_owned();
    let mut importances = Vec::with_capacity(x.ncols());
    for feature in 0..x.ncols() {
        let original: Vec<f64> = x.column(feature).to_vec();
        let mut drops = Vec::with_capacity(n_repeats);
        for repeat in 0..n_repeats {
            let mut column = original.clone();
            column.shuffle(&mut rng);
            shuffled.column_mut(feature).assign(&ndarray::Array1::from(column));
            let permuted = checked(shuffled.view(), &format!("column {feature} shuffled (repeat {repeat})"))?;
            drops.push(sign * (baseline - permuted));
        }
        shuffled.column_mut(feature).assign(&ndarray::Array1::from(original));
        let mean = drops.iter().sum::<f64>() / n_repeats as f64;
        let std = (drops.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / n_repeats as f64).sqrt();
        importances.push(Importance { feature, drops, mean, std });
    }
    Ok(importances)
}
