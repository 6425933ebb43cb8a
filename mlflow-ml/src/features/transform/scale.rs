//! Standard scaling: `(x - mean) / std`, learned from the training rows.

use serde::{Deserialize, Serialize};

use crate::data::{Column, Table};

use super::{training, whole};
use crate::features::FeatureError;
use crate::features::values::{Rows, Site, Values, numbers, required};

/// Standardizes numbers: `(x - mean) / std`, with the mean and population standard deviation
/// (divisor n) of the training rows. A training std of zero (a constant column) divides by 1
/// instead, so that column becomes `x - mean`.
///
/// Missing values are an error (impute first). For a whole [`FeatureMatrix`], see
/// [`StandardScaler::fit_matrix`].
///
/// [`FeatureMatrix`]: super::FeatureMatrix
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
        let n = xs.len().max(1) as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
        FittedScaler { mean, std: var.sqrt() }
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

    /// The training (population) standard deviation.
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

    /// The divisor applied: the std, or 1 when the std is zero.
    ///
    /// ```
    /// use mlflow_ml::data::{Column, Table};
    /// use mlflow_ml::features::StandardScaler;
    /// let t = Table::new(vec![("x".into(), Column::Float(vec![Some(7.0), Some(7.0)]))]).unwrap();
    /// assert_eq!(StandardScaler.fit(&t, "x", &[0, 1])?.scale(), 1.0);
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
