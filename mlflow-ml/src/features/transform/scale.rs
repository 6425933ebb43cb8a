//! Standard scaling: `(x - mean) / std`, learned from the training rows.

use serde::{Deserialize, Serialize};

use crate::data::{Column, Table};

use super::{training, whole};
use crate::features::FeatureError;
use crate::features::values::{Rows, Site, Values, numbers, required};
use crate::float::{binary_exponent, times_pow2};

/// Standardizes numbers: `(x - mean) / std`, with the mean and population standard deviation
/// (divisor n) of the training rows. A constant training column divides by 1 instead, so it
/// becomes `x - mean`.
///
/// The numbers are scikit-learn's `StandardScaler`'s (checked against it in the tests): the mean
/// is a pairwise sum divided by n, the variance the corrected two-pass one of Chan, Golub and
/// LeVeque, and a column is **constant** when that variance is within the algorithm's rounding
/// error, `var <= n * eps * var + (n * mean * eps)^2` (`eps` = [`f64::EPSILON`]). So 455 rows of
/// 0.1, or 1e9 plus noise of a few units in the last place, are constant: a later 0.2 scales to
/// 0.1, not to 1e14 as dividing by a rounding error would give. [`FittedScaler::std`] is 0 for such
/// a column.
///
/// Unlike scikit-learn, the result does not depend on the unit: the sums are taken on the numbers
/// times a power of two (an exact change of unit), so numbers around 1e200 (whose squares
/// overflow; scikit-learn's scale is then NaN) and around 1e-300 (whose squares underflow;
/// scikit-learn then calls any such column constant) are standardized like numbers around 1.
///
/// Missing values are an error (impute first). For a whole [`FeatureMatrix`], see
/// [`StandardScaler::fit_matrix`].
///
/// [`FeatureMatrix`]: crate::features::FeatureMatrix
///
/// ```
/// use mlflow_ml::data::{Column, Table};
/// use mlflow_ml::features::StandardScaler;
/// let t = Table::new(vec![("x".into(), Column::Float(vec![Some(1.0), Some(3.0), Some(5.0)]))]).unwrap();
/// let fitted = StandardScaler.fit(&t, "x", &[0, 1])?; // mean 2, std 1
/// assert_eq!(fitted.transform(&t, "x")?.as_float().unwrap(), &[Some(-1.0), Some(1.0), Some(3.0)]);
/// # Ok::<(), mlflow_ml::features::FeatureError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StandardScaler;

impl StandardScaler {
    /// Fits on the named numeric column at `train_rows`; training values must all be present.
    ///
    /// ```
    /// use mlflow_ml::data::{Column, Table};
    /// use mlflow_ml::features::StandardScaler;
    /// let t = Table::new(vec![("x".into(), Column::Int(vec![Some(4), Some(4)]))]).unwrap();
    /// let fitted = StandardScaler.fit(&t, "x", &[0, 1])?;
    /// assert_eq!((fitted.mean(), fitted.std(), fitted.scale()), (4.0, 0.0, 1.0));
    /// # Ok::<(), mlflow_ml::features::FeatureError>(())
    /// ```
    pub fn fit(
        &self,
        table: &Table,
        column: &str,
        train_rows: &[usize],
    ) -> Result<FittedScaler, FeatureError> {
        let values = training(table, column, train_rows)?;
        self.fit_values(&values, Site { column, rows: Rows::Subset(train_rows) })
    }

    pub(crate) fn fit_values(&self, values: &Values, site: Site<'_>) -> Result<FittedScaler, FeatureError> {
        let xs = required(numbers(values.clone(), site)?, site, "scale")?;
        if xs.is_empty() {
            return Err(FeatureError::NoTrainingRows);
        }
        Ok(FittedScaler::from_values(&xs))
    }
}

/// A fitted [`StandardScaler`]: the training mean and standard deviation.
///
/// ```
/// use mlflow_ml::data::{Column, Table};
/// use mlflow_ml::features::StandardScaler;
/// let t = Table::new(vec![("x".into(), Column::Float(vec![Some(0.0), Some(2.0)]))]).unwrap();
/// let fitted = StandardScaler.fit(&t, "x", &[0, 1])?;
/// assert_eq!((fitted.mean(), fitted.std()), (1.0, 1.0));
/// # Ok::<(), mlflow_ml::features::FeatureError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FittedScaler {
    mean: f64,
    std: f64,
}

impl FittedScaler {
    pub(crate) fn from_values(xs: &[f64]) -> Self {
        let Moments { mean, std } = moments(xs);
        FittedScaler { mean, std }
    }

    /// The training mean.
    ///
    /// ```
    /// use mlflow_ml::data::{Column, Table};
    /// use mlflow_ml::features::StandardScaler;
    /// let t = Table::new(vec![("x".into(), Column::Float(vec![Some(3.0)]))]).unwrap();
    /// assert_eq!(StandardScaler.fit(&t, "x", &[0])?.mean(), 3.0);
    /// # Ok::<(), mlflow_ml::features::FeatureError>(())
    /// ```
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// The training (population) standard deviation; 0 for a column that is constant to within
    /// rounding (see [`StandardScaler`]).
    ///
    /// ```
    /// use mlflow_ml::data::{Column, Table};
    /// use mlflow_ml::features::StandardScaler;
    /// let t = Table::new(vec![("x".into(), Column::Float(vec![Some(1.0), Some(5.0)]))]).unwrap();
    /// assert_eq!(StandardScaler.fit(&t, "x", &[0, 1])?.std(), 2.0);
    /// # Ok::<(), mlflow_ml::features::FeatureError>(())
    /// ```
    pub fn std(&self) -> f64 {
        self.std
    }

    /// The divisor applied: the std, or 1 for a constant column (std 0).
    ///
    /// ```
    /// use mlflow_ml::data::{Column, Table};
    /// use mlflow_ml::features::StandardScaler;
    /// let t = Table::new(vec![("x".into(), Column::Float(vec![Some(7.0), Some(7.0)]))]).unwrap();
    /// assert_eq!(StandardScaler.fit(&t, "x", &[0, 1])?.scale(), 1.0);
    /// // 455 rows of 0.1: constant, although 455 * 0.1 / 455 need not round back to 0.1.
    /// let t = Table::new(vec![("x".into(), Column::Float(vec![Some(0.1); 455]))]).unwrap();
    /// let fitted = StandardScaler.fit(&t, "x", &(0..455).collect::<Vec<_>>())?;
    /// assert_eq!((fitted.std(), fitted.scale()), (0.0, 1.0));
    /// # Ok::<(), mlflow_ml::features::FeatureError>(())
    /// ```
    pub fn scale(&self) -> f64 {
        if self.std > 0.0 && self.std.is_finite() { self.std } else { 1.0 }
    }

    /// Scales one number.
    ///
    /// ```
    /// use mlflow_ml::data::{Column, Table};
    /// use mlflow_ml::features::StandardScaler;
    /// let t = Table::new(vec![("x".into(), Column::Float(vec![Some(1.0), Some(5.0)]))]).unwrap();
    /// assert_eq!(StandardScaler.fit(&t, "x", &[0, 1])?.apply_one(7.0), 2.0);
    /// # Ok::<(), mlflow_ml::features::FeatureError>(())
    /// ```
    pub fn apply_one(&self, x: f64) -> f64 {
        (x - self.mean) / self.scale()
    }

    /// Scales the named numeric column into a `Float` column.
    ///
    /// ```
    /// use mlflow_ml::data::{Column, Table};
    /// use mlflow_ml::features::StandardScaler;
    /// let t = Table::new(vec![("x".into(), Column::Float(vec![Some(1.0), Some(5.0)]))]).unwrap();
    /// let out = StandardScaler.fit(&t, "x", &[0, 1])?.transform(&t, "x")?;
    /// assert_eq!(out.as_float().unwrap(), &[Some(-1.0), Some(1.0)]);
    /// # Ok::<(), mlflow_ml::features::FeatureError>(())
    /// ```
    pub fn transform(&self, table: &Table, column: &str) -> Result<Column, FeatureError> {
        let (values, rows) = whole(table, column)?;
        let xs = self.scale_values(values, Site { column, rows })?;
        Ok(Column::Float(xs.into_iter().map(Some).collect()))
    }

    pub(crate) fn scale_values(&self, values: Values, site: Site<'_>) -> Result<Vec<f64>, FeatureError> {
        let xs = required(numbers(values, site)?, site, "scale")?;
        Ok(xs.into_iter().map(|x| self.apply_one(x)).collect())
    }
}

/// The mean and population standard deviation of finite numbers, as [`StandardScaler`] learns
/// them: the one place that standardizing code computes a spread.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Moments {
    /// The mean.
    pub(crate) mean: f64,
    /// The population standard deviation; exactly 0 when the numbers are constant to within the
    /// rounding error of the variance algorithm (scikit-learn's near-constant rule).
    pub(crate) std: f64,
}

/// The [`Moments`] of `xs` (all finite; no numbers give mean 0 and std 0).
///
/// scikit-learn's arithmetic (`sklearn.utils.extmath._incremental_mean_and_var` on a first batch,
/// then `sklearn.preprocessing._data._is_constant_feature`), on the numbers times the power of two
/// that brings the largest magnitude into `[1, 2)`: the same rounding (a power-of-two change of
/// unit is exact), without the overflow of squares above ~1e154 or the underflow below ~1e-154.
/// The sums are pairwise, as numpy sums one column.
pub(crate) fn moments(xs: &[f64]) -> Moments {
    let largest = xs.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    if xs.is_empty() || largest == 0.0 {
        return Moments { mean: 0.0, std: 0.0 };
    }
    let e = if largest.is_finite() { binary_exponent(largest) } else { 0 };
    let scaled = |x: f64| times_pow2(x, -e);
    let n = xs.len() as f64;
    let mean = pairwise_sum(xs, &scaled) / n;
    let correction = pairwise_sum(xs, &|x| scaled(x) - mean);
    let squares = pairwise_sum(xs, &|x| {
        let d = scaled(x) - mean;
        d * d
    });
    let var = (squares - correction * correction / n) / n;
    let eps = f64::EPSILON;
    let constant = var <= n * eps * var + (n * mean * eps) * (n * mean * eps);
    let std = if constant { 0.0 } else { times_pow2(var.sqrt(), e) };
    Moments { mean: times_pow2(mean, e), std }
}

/// `sum(f(x))`, added pairwise as numpy adds a contiguous array (blocks of up to 128 numbers with
/// 8 running sums), so the rounding error grows with `log n`, not `n`.
fn pairwise_sum(xs: &[f64], f: &impl Fn(f64) -> f64) -> f64 {
    const BLOCK: usize = 128;
    let n = xs.len();
    if n < 8 {
        xs.iter().fold(0.0, |s, &x| s + f(x))
    } else if n <= BLOCK {
        let mut r = [0.0; 8];
        for (r, &x) in r.iter_mut().zip(xs) {
            *r = f(x);
        }
        let whole = n - n % 8;
        for chunk in xs[8..whole].chunks_exact(8) {
            for (r, &x) in r.iter_mut().zip(chunk) {
                *r += f(x);
            }
        }
        let mut s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &x in &xs[whole..] {
            s += f(x);
        }
        s
    } else {
        let half = n / 2;
        let half = half - half % 8;
        pairwise_sum(&xs[..half], f) + pairwise_sum(&xs[half..], f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_sum_is_numpys() {
        // numpy 2.4: np.sum(np.full(455, 0.1)) == 45.5; a running sum gives 45.50000000000038.
        assert_eq!(pairwise_sum(&[0.1; 455], &|x| x), 45.5);
        assert_eq!([0.1; 455].iter().sum::<f64>(), 45.50000000000038);
        // np.sum(1 / np.arange(1, 1001)) == 7.485470860550345 (running: 7.485470860550343).
        let xs: Vec<f64> = (1..=1000).map(|i| 1.0 / i as f64).collect();
        assert_eq!(pairwise_sum(&xs, &|x| x), 7.485470860550345);
        assert_eq!(pairwise_sum(&[], &|x: f64| x), 0.0);
        assert_eq!(pairwise_sum(&[1.0, 2.0, 3.0], &|x| 2.0 * x), 12.0);
    }

    #[test]
    fn moments_of_small_sets() {
        assert_eq!(moments(&[]), Moments { mean: 0.0, std: 0.0 });
        assert_eq!(moments(&[0.0, 0.0]), Moments { mean: 0.0, std: 0.0 });
        assert_eq!(moments(&[1.0, 3.0]), Moments { mean: 2.0, std: 1.0 });
        assert_eq!(moments(&[-4.0]), Moments { mean: -4.0, std: 0.0 });
        assert_eq!(moments(&[f64::MAX, f64::MAX]), Moments { mean: f64::MAX, std: 0.0 });
        let m = moments(&[f64::MAX, -f64::MAX]);
        assert_eq!(m.mean, 0.0);
        assert!(m.std == f64::MAX, "{m:?}");
    }
}
