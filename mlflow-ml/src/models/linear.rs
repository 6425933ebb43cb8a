//! Linear regression: ordinary least squares and ridge (L2), as scikit-learn's `LinearRegression`
//! and `Ridge`.

use ndarray::{Array1, ArrayView2};
use serde::{Deserialize, Serialize};

use super::linalg::{Columns, solve};
use super::regressor::{Regressor, check_regression_training};
use super::{ModelError, check_input, invalid};
use crate::float::{binary_exponent, times_pow2};

pub(super) const KIND: &str = "linear regression";

/// Hyperparameters of a [`LinearRegression`]; `Default` is scikit-learn's `LinearRegression()`
/// (no penalty, fitted intercept, rank tolerance `1e-6`), [`LinearParams::ridge`] its
/// `Ridge(alpha=...)`.
///
/// ```
/// use mlflow_ml::models::LinearParams;
/// let ols = LinearParams::default();
/// assert_eq!((ols.alpha, ols.fit_intercept, ols.rank_tol), (0.0, true, 1e-6));
/// let ridge = LinearParams { fit_intercept: false, ..LinearParams::ridge(0.5) };
/// assert_eq!(ridge.alpha, 0.5);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearParams {
    /// L2 penalty strength, finite and `>= 0`: `0` is ordinary least squares (scikit-learn's
    /// `LinearRegression`), `> 0` ridge regression minimizing `|y - Xw - b|^2 + alpha |w|^2`
    /// (scikit-learn's `Ridge(alpha=...)`, whose default is `1.0`). The intercept is never
    /// penalized.
    pub alpha: f64,
    /// Fit an intercept by centering `x` and `y` on their column means (otherwise the intercept is
    /// 0 and the data are used as they are).
    pub fit_intercept: bool,
    /// Rank tolerance of least squares (`alpha == 0`), finite and `>= 0`: singular values of the
    /// (centered) `x` at or below `rank_tol` times the largest are taken as zero, and the
    /// minimum-norm solution of the rest is returned. `1e-6` is scikit-learn's `LinearRegression`
    /// `tol`, which it passes to `scipy.linalg.lstsq` as `cond`. Unused by ridge.
    pub rank_tol: f64,
}

impl Default for LinearParams {
    fn default() -> Self {
        LinearParams { alpha: 0.0, fit_intercept: true, rank_tol: 1e-6 }
    }
}

impl LinearParams {
    /// Ridge regression with penalty `alpha` and the other settings at their defaults.
    ///
    /// ```
    /// use mlflow_ml::models::LinearParams;
    /// assert_eq!(LinearParams::ridge(1.0), LinearParams { alpha: 1.0, ..Default::default() });
    /// ```
    pub fn ridge(alpha: f64) -> LinearParams {
        LinearParams { alpha, ..LinearParams::default() }
    }
}

/// A fitted linear regression: `y = w . x + b`.
///
/// **What it fits.** With `alpha == 0`, ordinary least squares: the `w` minimizing
/// `|y - Xw - b|^2`; when `x` is rank deficient (a duplicated or constant column, more columns than
/// rows) the one of least norm `|w|`, as `scipy.linalg.lstsq` gives scikit-learn's
/// `LinearRegression`. With `alpha > 0`, ridge: the `w` minimizing `|y - Xw - b|^2 + alpha |w|^2`,
/// always unique, as scikit-learn's `Ridge`. With `fit_intercept`, `x` and `y` are centered on
/// their means first and `b = mean(y) - mean(x) . w` (so the intercept is not penalized), as
/// scikit-learn does.
///
/// **How.** The whole of `x` and of `y` are each multiplied by a power of two that brings their
/// largest magnitude into `[1, 2)` (an exact change of unit: no squares overflow or underflow),
/// then the centered `x` (or its transpose, when it has more columns than rows) is factored by
/// Householder QR and its triangular factor by one-sided Jacobi rotations into a singular value
/// decomposition `U S V^T`, without forming `X^T X`. Least squares keeps the singular values above
/// `rank_tol * s_max` ([`LinearParams::rank_tol`], scikit-learn's `1e-6`; their number is
/// [`LinearRegression::rank`]); ridge weighs each by `s / (s^2 + alpha)`. The coefficients agree
/// with scikit-learn's to about the condition number of `x` times `1e-16`, relative; a singular
/// value within rounding of the tolerance itself may be kept by one and dropped by the other.
///
/// Every step runs in a fixed order on one thread, so the same data and params give the same
/// coefficients and the same artifact bytes.
///
/// ```
/// use mlflow_ml::models::{LinearParams, LinearRegression, Regressor};
/// use ndarray::array;
/// // y = 1 + 2 x0 - x1, exactly.
/// let x = array![[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [2.0, 3.0]];
/// let y = [1.0, 3.0, 0.0, 2.0];
/// let m = LinearRegression::fit(x.view(), &y, &LinearParams::default())?;
/// assert!((m.coef()[0] - 2.0).abs() < 1e-12 && (m.coef()[1] + 1.0).abs() < 1e-12);
/// assert!((m.intercept() - 1.0).abs() < 1e-12);
/// assert_eq!(m.rank(), 2);
/// let p = m.predict(array![[1.0, 1.0]].view())?;
/// assert!((p[0] - 2.0).abs() < 1e-12);
/// // A duplicated column: the minimum-norm solution splits the weight evenly.
/// let x = array![[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]];
/// let m = LinearRegression::fit(x.view(), &[0.0, 2.0, 4.0], &LinearParams::default())?;
/// assert!((m.coef()[0] - 1.0).abs() < 1e-12 && (m.coef()[1] - 1.0).abs() < 1e-12);
/// assert_eq!(m.rank(), 1);
/// # Ok::<(), mlflow_ml::models::ModelError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearRegression {
    coef: Vec<f64>,
    intercept: f64,
    alpha: f64,
    rank: usize,
}

impl LinearRegression {
    /// Fits the model on `x` (rows = samples) and targets `y` (one per row).
    ///
    /// Fails with [`ModelError::InvalidParam`] on a negative or non-finite `alpha` or `rank_tol`,
    /// [`ModelError::Empty`] when `x` has no rows or no columns, [`ModelError::TargetCount`] when
    /// `y` has not one value per row, [`ModelError::NonFinite`] or
    /// [`ModelError::NonFiniteTarget`] on NaN or infinite values (naming the row, and the column
    /// in `x`), and [`ModelError::Overflow`] when the coefficients do not fit in `f64` (features
    /// around `1e-300` with targets around `1e300`, say).
    ///
    /// ```
    /// use mlflow_ml::models::{LinearParams, LinearRegression, ModelError};
    /// use ndarray::array;
    /// let x = array![[1.0], [2.0], [3.0]];
    /// let err = LinearRegression::fit(x.view(), &[1.0, f64::NAN, 3.0], &LinearParams::default()).unwrap_err();
    /// assert_eq!(err.to_string(), "the target y has a non-finite value NaN at row 1; drop or impute the rows \
    ///     with a missing or infinite target before fitting");
    /// let err = LinearRegression::fit(x.view(), &[1.0, 2.0, 3.0], &LinearParams::ridge(-1.0)).unwrap_err();
    /// assert!(matches!(err, ModelError::InvalidParam { param: "alpha", .. }));
    /// # Ok::<(), ModelError>(())
    /// ```
    pub fn fit(x: ArrayView2<'_, f64>, y: &[f64], params: &LinearParams) -> Result<Self, ModelError> {
        if !(params.alpha >= 0.0 && params.alpha.is_finite()) {
            return Err(invalid(
                KIND,
                "alpha",
                params.alpha,
                "a finite number >= 0: 0 for ordinary least squares, > 0 for ridge (scikit-learn's Ridge uses 1.0)",
            ));
        }
        if !(params.rank_tol >= 0.0 && params.rank_tol.is_finite()) {
            return Err(invalid(
                KIND,
                "rank_tol",
                params.rank_tol,
                "a finite number >= 0, the relative size below which singular values count as zero (scikit-learn's LinearRegression uses 1e-6)",
            ));
        }
        check_regression_training(x, y)?;
        let (n, p) = x.dim();

        // Exact changes of unit: x and y each times the power of two that brings the largest
        // magnitude into [1, 2), so that sums of squares neither overflow nor underflow.
        let ex = max_exponent(x.iter().copied());
        let ey = max_exponent(y.iter().copied());
        let mut data = Vec::with_capacity(n * p);
        for column in x.columns() {
            data.extend(column.iter().map(|&v| times_pow2(v, -ex)));
        }
        let mut target: Vec<f64> = y.iter().map(|&v| times_pow2(v, -ey)).collect();
        let mut x_mean = vec![0.0; p];
        let mut y_mean = 0.0;
        if params.fit_intercept {
            for (j, column) in data.chunks_exact_mut(n).enumerate() {
                x_mean[j] = column.iter().sum::<f64>() / n as f64;
                column.iter_mut().for_each(|v| *v -= x_mean[j]);
            }
            y_mean = target.iter().sum::<f64>() / n as f64;
            target.iter_mut().for_each(|v| *v -= y_mean);
        }
        // In the scaled units the penalty is alpha * 2^(-2 ex); coefficients come back times
        // 2^(ey - ex) and the intercept times 2^ey.
        let alpha = times_pow2(params.alpha, -2 * ex);
        let solution = solve(&Columns::new(n, p, data), &target, alpha, params.rank_tol);
        let intercept = if params.fit_intercept {
            let dot: f64 = x_mean.iter().zip(&solution.coef).map(|(m, w)| m * w).sum();
            times_pow2(y_mean - dot, ey)
        } else {
            0.0
        };
        let coef: Vec<f64> = solution.coef.iter().map(|&w| times_pow2(w, ey - ex)).collect();
        if let Some((j, w)) = coef.iter().enumerate().find(|(_, w)| !w.is_finite()) {
            return Err(ModelError::Overflow {
                model: KIND,
                detail: format!("coefficient {j} is {w} (features up to 2^{ex}, targets up to 2^{ey})"),
            });
        }
        if !intercept.is_finite() {
            return Err(ModelError::Overflow {
                model: KIND,
                detail: format!("the intercept is {intercept} (features up to 2^{ex}, targets up to 2^{ey})"),
            });
        }
        Ok(LinearRegression { coef, intercept, alpha: params.alpha, rank: solution.rank })
    }

    /// The coefficients `w`, one per feature column.
    ///
    /// ```
    /// use mlflow_ml::models::{LinearParams, LinearRegression};
    /// use ndarray::array;
    /// let m = LinearRegression::fit(array![[1.0], [2.0]].view(), &[3.0, 5.0], &LinearParams::default())?;
    /// assert!((m.coef()[0] - 2.0).abs() < 1e-12);
    /// # Ok::<(), mlflow_ml::models::ModelError>(())
    /// ```
    pub fn coef(&self) -> &[f64] {
        &self.coef
    }

    /// The intercept `b` (`0` when fitted without one).
    ///
    /// ```
    /// use mlflow_ml::models::{LinearParams, LinearRegression};
    /// use ndarray::array;
    /// let m = LinearRegression::fit(array![[1.0], [2.0]].view(), &[3.0, 5.0], &LinearParams::default())?;
    /// assert!((m.intercept() - 1.0).abs() < 1e-12);
    /// # Ok::<(), mlflow_ml::models::ModelError>(())
    /// ```
    pub fn intercept(&self) -> f64 {
        self.intercept
    }

    /// The L2 penalty it was fitted with (`0` for ordinary least squares).
    ///
    /// ```
    /// use mlflow_ml::models::{LinearParams, LinearRegression};
    /// use ndarray::array;
    /// let m = LinearRegression::fit(array![[1.0], [2.0]].view(), &[3.0, 5.0], &LinearParams::ridge(2.0))?;
    /// assert_eq!(m.alpha(), 2.0);
    /// # Ok::<(), mlflow_ml::models::ModelError>(())
    /// ```
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// The effective rank of the (centered) training features: how many singular values are above
    /// `rank_tol` times the largest. For least squares it is scikit-learn's `rank_`; below the
    /// number of features, the coefficients are the minimum-norm solution.
    ///
    /// ```
    /// use mlflow_ml::models::{LinearParams, LinearRegression};
    /// use ndarray::array;
    /// // Centered, one row is all zeros: rank 0, all-zero coefficients, the intercept is y.
    /// let m = LinearRegression::fit(array![[1.0, 2.0]].view(), &[3.0], &LinearParams::default())?;
    /// assert_eq!((m.rank(), m.coef(), m.intercept()), (0, &[0.0, 0.0][..], 3.0));
    /// # Ok::<(), mlflow_ml::models::ModelError>(())
    /// ```
    pub fn rank(&self) -> usize {
        self.rank
    }
}

impl Regressor for LinearRegression {
    fn n_features(&self) -> usize {
        self.coef.len()
    }

    fn predict(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>, ModelError> {
        if self.coef.is_empty() || !self.intercept.is_finite() || self.coef.iter().any(|w| !w.is_finite()) {
            return Err(ModelError::Corrupt {
                model: KIND,
                detail: "it has no coefficients, or a non-finite coefficient or intercept".into(),
            });
        }
        check_input(x, self.coef.len())?;
        Ok(x.rows()
            .into_iter()
            .map(|row| row.iter().zip(&self.coef).map(|(v, w)| v * w).sum::<f64>() + self.intercept)
            .collect())
    }
}

/// `floor(log2(max |v|))`, or 0 when every value is 0.
fn max_exponent(values: impl Iterator<Item = f64>) -> i32 {
    let max = values.fold(0.0f64, |m, v| m.max(v.abs()));
    if max > 0.0 { binary_exponent(max) } else { 0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn units_do_not_change_the_answer() {
        let x = array![[1.0, 0.5], [2.0, -1.0], [3.0, 2.0], [4.0, 0.0], [5.0, 1.5]];
        let y = [1.0, 2.5, 2.0, 4.5, 4.0];
        // Features times 2^kx and targets times 2^ky: squares that would overflow (2^600 and up)
        // or underflow (2^-600) without the change of unit. The penalty scales by 2^(2 kx).
        for (alpha, kx, ky) in [(0.0, 600, 400), (0.0, -600, -550), (0.5, 500, 300), (0.5, -450, -400)] {
            let params = LinearParams::ridge(alpha);
            let base = LinearRegression::fit(x.view(), &y, &params).unwrap();
            let xs = x.mapv(|v| times_pow2(v, kx));
            let ys: Vec<f64> = y.iter().map(|&v| times_pow2(v, ky)).collect();
            let scaled_params = LinearParams::ridge(times_pow2(alpha, 2 * kx));
            let m = LinearRegression::fit(xs.view(), &ys, &scaled_params).unwrap();
            for (a, b) in m.coef().iter().zip(base.coef()) {
                assert_eq!(times_pow2(*a, kx - ky), *b, "{alpha} {kx} {ky}");
            }
            assert_eq!(times_pow2(m.intercept(), -ky), base.intercept(), "{alpha} {kx} {ky}");
        }
    }

    #[test]
    fn overflowing_coefficients_are_an_error() {
        let x = array![[1e-300], [2e-300], [3e-300]];
        let err = LinearRegression::fit(x.view(), &[1e300, 2e300, 4e300], &LinearParams::default());
        assert!(matches!(err, Err(ModelError::Overflow { .. })), "{err:?}");
    }

    #[test]
    fn corrupt_models_do_not_predict() {
        let m = LinearRegression { coef: vec![], intercept: 0.0, alpha: 0.0, rank: 0 };
        assert!(matches!(m.predict(array![[1.0]].view()), Err(ModelError::Corrupt { .. })));
        let m = LinearRegression { coef: vec![f64::NAN], intercept: 0.0, alpha: 0.0, rank: 1 };
        assert!(matches!(m.predict(array![[1.0]].view()), Err(ModelError::Corrupt { .. })));
    }
}
