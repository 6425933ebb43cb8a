//! Regression metrics, equal to scikit-learn's (`sklearn.metrics`, single output, no weights).
//!
//! Every function takes `y_true` and `y_pred` of the same non-zero length, every value finite:
//! otherwise [`EvalError::Empty`], [`EvalError::RowsMismatch`] or [`EvalError::NotFinite`] (with
//! the row), as scikit-learn raises there.
//!
//! # Conventions (scikit-learn 1.9's defaults)
//! - **R² and explained variance with a constant `y_true`** (`force_finite=True`): 1.0 when the
//!   predictions are perfect (numerator 0), 0.0 otherwise, instead of NaN or -inf. "Constant"
//!   means every `y_true` equal, tested exactly here; scikit-learn tests the variance it computes,
//!   which is also exactly 0 whenever numpy's mean of the constant is the constant (e.g. 3.0).
//! - **R² with one sample** is undefined (scikit-learn: NaN with a warning):
//!   [`EvalError::Undefined`]. Explained variance with one sample is 1.0 (its numerator is 0).
//! - **MAPE** divides by `max(|y_true|, eps)` with `eps = f64::EPSILON` (2.2e-16), so a zero in
//!   `y_true` gives a huge but finite error, and it is a fraction (0.1 = 10 %), not a percentage.
//! - **Median absolute error** of an even count is the mean of the two middle errors (numpy).
//!
//! ```
//! use mlflow_ml::eval::regression::{mean_absolute_error, r2_score};
//! let (y, p) = ([1.0, 2.0, 3.0], [1.5, 2.0, 2.5]);
//! assert_eq!(mean_absolute_error(&y, &p)?, 1.0 / 3.0);
//! assert_eq!(r2_score(&y, &p)?, 0.75);
//! assert_eq!(r2_score(&[3.0, 3.0], &[3.0, 2.0])?, 0.0); // constant y_true
//! # Ok::<(), mlflow_ml::eval::EvalError>(())
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::classification::{mean, normalise};
use super::{EvalError, Scores};

fn check(y_true: &[f64], y_pred: &[f64]) -> Result<(), EvalError> {
    if y_true.len() != y_pred.len() {
        return Err(EvalError::RowsMismatch { y_true: y_true.len(), other: "y_pred", got: y_pred.len() });
    }
    if y_true.is_empty() {
        return Err(EvalError::Empty);
    }
    for (what, y) in [("y_true", y_true), ("y_pred", y_pred)] {
        if let Some((row, &value)) = y.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(EvalError::NotFinite { what, row, value });
        }
    }
    Ok(())
}

fn errors(y_true: &[f64], y_pred: &[f64]) -> Result<Vec<f64>, EvalError> {
    check(y_true, y_pred)?;
    Ok(y_true.iter().zip(y_pred).map(|(t, p)| t - p).collect())
}

/// Mean absolute error (`mean_absolute_error`).
///
/// ```
/// use mlflow_ml::eval::regression::mean_absolute_error;
/// assert_eq!(mean_absolute_error(&[3.0, -0.5, 2.0, 7.0], &[2.5, 0.0, 2.0, 8.0])?, 0.5);
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
pub fn mean_absolute_error(y_true: &[f64], y_pred: &[f64]) -> Result<f64, EvalError> {
    Ok(mean(&errors(y_true, y_pred)?.iter().map(|e| e.abs()).collect::<Vec<_>>()))
}

/// Mean squared error (`mean_squared_error`).
///
/// ```
/// use mlflow_ml::eval::regression::mean_squared_error;
/// assert_eq!(mean_squared_error(&[3.0, -0.5, 2.0, 7.0], &[2.5, 0.0, 2.0, 8.0])?, 0.375);
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
pub fn mean_squared_error(y_true: &[f64], y_pred: &[f64]) -> Result<f64, EvalError> {
    Ok(mean(&errors(y_true, y_pred)?.iter().map(|e| e * e).collect::<Vec<_>>()))
}

/// Root mean squared error (`root_mean_squared_error`): the square root of the MSE.
///
/// ```
/// use mlflow_ml::eval::regression::root_mean_squared_error;
/// assert_eq!(root_mean_squared_error(&[1.0, 1.0], &[3.0, -1.0])?, 2.0);
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
pub fn root_mean_squared_error(y_true: &[f64], y_pred: &[f64]) -> Result<f64, EvalError> {
    Ok(mean_squared_error(y_true, y_pred)?.sqrt())
}

/// scikit-learn's `force_finite` rule: 1 with a zero numerator, 0 with only a zero denominator.
fn fraction_explained(numerator: f64, denominator: f64, constant: bool) -> f64 {
    if numerator == 0.0 {
        1.0
    } else if constant || denominator == 0.0 {
        0.0
    } else {
        1.0 - numerator / denominator
    }
}

fn is_constant(y: &[f64]) -> bool {
    y.iter().all(|&v| v == y[0])
}

/// Coefficient of determination R² (`r2_score`): `1 - sum (y - p)^2 / sum (y - mean y)^2`.
///
/// Constant `y_true`: 1.0 for perfect predictions, else 0.0 (scikit-learn's `force_finite=True`).
/// Fewer than two samples: [`EvalError::Undefined`] (scikit-learn: NaN with a warning).
///
/// ```
/// use mlflow_ml::eval::regression::r2_score;
/// use mlflow_ml::eval::EvalError;
/// assert_eq!(r2_score(&[3.0, 3.0], &[3.0, 3.0])?, 1.0);
/// assert!(matches!(r2_score(&[1.0], &[2.0]), Err(EvalError::Undefined { .. })));
/// # Ok::<(), EvalError>(())
/// ```
pub fn r2_score(y_true: &[f64], y_pred: &[f64]) -> Result<f64, EvalError> {
    check(y_true, y_pred)?;
    if y_true.len() < 2 {
        return Err(EvalError::Undefined {
            metric: "r2",
            reason: "R² needs at least two samples (one sample has no variance); evaluate on more rows"
                .to_owned(),
        });
    }
    let m = mean(y_true);
    let numerator: f64 = y_true.iter().zip(y_pred).map(|(t, p)| (t - p) * (t - p)).sum();
    let denominator: f64 = y_true.iter().map(|t| (t - m) * (t - m)).sum();
    Ok(fraction_explained(numerator, denominator, is_constant(y_true)))
}

/// Explained variance (`explained_variance_score`): `1 - Var(y - p) / Var(y)`; unlike R² it
/// ignores a constant bias of the predictions.
///
/// Constant `y_true`: 1.0 when `Var(y - p)` is 0, else 0.0 (`force_finite=True`).
///
/// ```
/// use mlflow_ml::eval::regression::explained_variance_score;
/// assert_eq!(explained_variance_score(&[1.0, 2.0, 3.0], &[3.0, 4.0, 5.0])?, 1.0);
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
pub fn explained_variance_score(y_true: &[f64], y_pred: &[f64]) -> Result<f64, EvalError> {
    let diff = errors(y_true, y_pred)?;
    let diff_mean = mean(&diff);
    let numerator = mean(&diff.iter().map(|d| (d - diff_mean) * (d - diff_mean)).collect::<Vec<_>>());
    let m = mean(y_true);
    let denominator = mean(&y_true.iter().map(|t| (t - m) * (t - m)).collect::<Vec<_>>());
    Ok(fraction_explained(numerator, denominator, is_constant(y_true)))
}

/// Mean absolute percentage error (`mean_absolute_percentage_error`): the mean of
/// `|y - p| / max(|y|, eps)`, `eps = f64::EPSILON`, as a fraction (not times 100).
///
/// ```
/// use mlflow_ml::eval::regression::mean_absolute_percentage_error;
/// assert_eq!(mean_absolute_percentage_error(&[2.0, 4.0], &[1.0, 5.0])?, 0.375);
/// // A zero in y_true: divided by machine epsilon, huge but finite.
/// assert_eq!(mean_absolute_percentage_error(&[0.0], &[1.0])?, 1.0 / f64::EPSILON);
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
pub fn mean_absolute_percentage_error(y_true: &[f64], y_pred: &[f64]) -> Result<f64, EvalError> {
    check(y_true, y_pred)?;
    let ratios: Vec<f64> =
        y_true.iter().zip(y_pred).map(|(t, p)| (p - t).abs() / t.abs().max(f64::EPSILON)).collect();
    Ok(mean(&ratios))
}

/// Median absolute error (`median_absolute_error`); the mean of the two middle errors for an
/// even count.
///
/// ```
/// use mlflow_ml::eval::regression::median_absolute_error;
/// assert_eq!(median_absolute_error(&[0.0, 0.0, 0.0, 0.0], &[1.0, 4.0, 2.0, 3.0])?, 2.5);
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
pub fn median_absolute_error(y_true: &[f64], y_pred: &[f64]) -> Result<f64, EvalError> {
    let mut abs: Vec<f64> = errors(y_true, y_pred)?.iter().map(|e| e.abs()).collect();
    abs.sort_by(f64::total_cmp);
    let n = abs.len();
    Ok(if n % 2 == 1 { abs[n / 2] } else { (abs[n / 2 - 1] + abs[n / 2]) / 2.0 })
}

/// The largest absolute error (`max_error`).
///
/// ```
/// use mlflow_ml::eval::regression::max_error;
/// assert_eq!(max_error(&[3.0, 2.0, 7.0, 1.0], &[9.0, 2.0, 7.0, 1.0])?, 6.0);
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
pub fn max_error(y_true: &[f64], y_pred: &[f64]) -> Result<f64, EvalError> {
    Ok(errors(y_true, y_pred)?.iter().fold(0.0, |m, e| m.max(e.abs())))
}

/// Every regression metric of one model on one evaluation set.
///
/// ```
/// use mlflow_ml::eval::{RegressionMetric, RegressionReport};
/// let r = RegressionReport::compute(&[1.0, 2.0, 3.0], &[1.5, 2.0, 2.5])?;
/// assert_eq!((r.r2, r.max_error), (Some(0.75), 0.5));
/// assert_eq!(r.get(RegressionMetric::Mse), Some(r.mse));
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegressionReport {
    /// Number of samples.
    pub samples: u64,
    /// [`mean_absolute_error`].
    pub mae: f64,
    /// [`mean_squared_error`].
    pub mse: f64,
    /// [`root_mean_squared_error`].
    pub rmse: f64,
    /// [`r2_score`]; `None` with a single sample.
    pub r2: Option<f64>,
    /// [`explained_variance_score`].
    pub explained_variance: f64,
    /// [`mean_absolute_percentage_error`].
    pub mape: f64,
    /// [`median_absolute_error`].
    pub median_absolute_error: f64,
    /// [`max_error`].
    pub max_error: f64,
}

impl RegressionReport {
    /// Computes every metric; fails on bad input as the functions do.
    ///
    /// ```
    /// use mlflow_ml::eval::{EvalError, RegressionReport};
    /// let err = RegressionReport::compute(&[1.0, f64::NAN], &[1.0, 2.0]).unwrap_err();
    /// assert!(matches!(err, EvalError::NotFinite { what: "y_true", row: 1, .. }));
    /// ```
    pub fn compute(y_true: &[f64], y_pred: &[f64]) -> Result<Self, EvalError> {
        check(y_true, y_pred)?;
        Ok(RegressionReport {
            samples: y_true.len() as u64,
            mae: mean_absolute_error(y_true, y_pred)?,
            mse: mean_squared_error(y_true, y_pred)?,
            rmse: root_mean_squared_error(y_true, y_pred)?,
            r2: r2_score(y_true, y_pred).ok(),
            explained_variance: explained_variance_score(y_true, y_pred)?,
            mape: mean_absolute_percentage_error(y_true, y_pred)?,
            median_absolute_error: median_absolute_error(y_true, y_pred)?,
            max_error: max_error(y_true, y_pred)?,
        })
    }

    /// The value of one metric (`None` for R² with one sample).
    ///
    /// ```
    /// use mlflow_ml::eval::{RegressionMetric, RegressionReport};
    /// let r = RegressionReport::compute(&[2.0], &[1.0])?;
    /// assert_eq!(r.get(RegressionMetric::R2), None);
    /// assert_eq!(r.get(RegressionMetric::Mae), Some(1.0));
    /// # Ok::<(), mlflow_ml::eval::EvalError>(())
    /// ```
    pub fn get(&self, metric: RegressionMetric) -> Option<f64> {
        Some(match metric {
            RegressionMetric::Mae => self.mae,
            RegressionMetric::Mse => self.mse,
            RegressionMetric::Rmse => self.rmse,
            RegressionMetric::R2 => return self.r2,
            RegressionMetric::ExplainedVariance => self.explained_variance,
            RegressionMetric::Mape => self.mape,
            RegressionMetric::MedianAbsoluteError => self.median_absolute_error,
            RegressionMetric::MaxError => self.max_error,
        })
    }
}

impl Scores<RegressionMetric> for RegressionReport {
    fn score(&self, metric: RegressionMetric) -> Option<f64> {
        self.get(metric)
    }
}

/// A regression metric to rank models by: errors are lower-is-better, R² and explained variance
/// higher-is-better.
///
/// ```
/// use mlflow_ml::eval::RegressionMetric;
/// let m: RegressionMetric = "rmse".parse()?;
/// assert!(!m.higher_is_better());
/// assert!(RegressionMetric::R2.higher_is_better());
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RegressionMetric {
    /// Mean absolute error.
    Mae,
    /// Mean squared error.
    Mse,
    /// Root mean squared error.
    Rmse,
    /// R².
    R2,
    /// Explained variance.
    ExplainedVariance,
    /// Mean absolute percentage error.
    Mape,
    /// Median absolute error.
    MedianAbsoluteError,
    /// Largest absolute error.
    MaxError,
}

const REGRESSION_METRIC_NAMES: &str =
    "mae, mse, rmse, r2, explained_variance, mape, median_absolute_error, max_error";

impl RegressionMetric {
    /// Every metric, in declaration order.
    ///
    /// ```
    /// assert_eq!(mlflow_ml::eval::RegressionMetric::ALL.len(), 8);
    /// ```
    pub const ALL: [RegressionMetric; 8] = [
        RegressionMetric::Mae,
        RegressionMetric::Mse,
        RegressionMetric::Rmse,
        RegressionMetric::R2,
        RegressionMetric::ExplainedVariance,
        RegressionMetric::Mape,
        RegressionMetric::MedianAbsoluteError,
        RegressionMetric::MaxError,
    ];

    /// The canonical name.
    ///
    /// ```
    /// assert_eq!(mlflow_ml::eval::RegressionMetric::Mape.name(), "mape");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            RegressionMetric::Mae => "mae",
            RegressionMetric::Mse => "mse",
            RegressionMetric::Rmse => "rmse",
            RegressionMetric::R2 => "r2",
            RegressionMetric::ExplainedVariance => "explained_variance",
            RegressionMetric::Mape => "mape",
            RegressionMetric::MedianAbsoluteError => "median_absolute_error",
            RegressionMetric::MaxError => "max_error",
        }
    }

    /// Whether a larger value is better (R² and explained variance).
    ///
    /// ```
    /// assert!(!mlflow_ml::eval::RegressionMetric::MaxError.higher_is_better());
    /// ```
    pub fn higher_is_better(self) -> bool {
        matches!(self, RegressionMetric::R2 | RegressionMetric::ExplainedVariance)
    }
}

impl fmt::Display for RegressionMetric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for RegressionMetric {
    type Err = EvalError;

    /// The canonical names, case-insensitive, `-` and space read as `_`.
    ///
    /// ```
    /// use mlflow_ml::eval::RegressionMetric;
    /// assert_eq!("Explained Variance".parse::<RegressionMetric>()?, RegressionMetric::ExplainedVariance);
    /// assert!("auc".parse::<RegressionMetric>().is_err());
    /// # Ok::<(), mlflow_ml::eval::EvalError>(())
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key = normalise(s);
        RegressionMetric::ALL.into_iter().find(|m| m.name() == key).ok_or_else(|| {
            EvalError::UnknownMetricName { name: s.to_owned(), expected: REGRESSION_METRIC_NAMES }
        })
    }
}

/// Guards a promotion by this metric, in its direction.
///
/// ```
/// use mlflow_core::registry::Promotion;
/// use mlflow_ml::eval::RegressionMetric;
/// assert!(!Promotion::by(RegressionMetric::Rmse).higher_is_better);
/// assert!(Promotion::by(RegressionMetric::R2).higher_is_better);
/// ```
impl mlflow_core::registry::PromotionMetric for RegressionMetric {
    fn metric_name(&self) -> &str {
        self.name()
    }

    fn higher_is_better(&self) -> bool {
        RegressionMetric::higher_is_better(*self)
    }
}
