//! Binning: numbers into ordered bins with right-closed edges.

use serde::{Deserialize, Serialize};

use crate::data::{Column, Table};

use super::{invalid, training, whole};
use crate::features::FeatureError;
use crate::features::values::{Rows, Site, Values, numbers, required};

/// Cuts numbers into ordered bins with right-closed edges: with edges `e0 < e1 < ... < ek`, a
/// value `x <= e0` gets code 0, `e0 < x <= e1` code 1, ..., `x > ek` code `k + 1`.
///
/// Missing values are an error (impute first).
///
/// ```
/// use mlflow_ml::data::{Column, Table};
/// use mlflow_ml::features::Binner;
/// let t = Table::new(vec![("Fare".into(), Column::Float(vec![Some(7.25), Some(7.91), Some(71.28), Some(512.3)]))])
///     .unwrap();
/// let fitted = Binner::edges([7.91, 14.454, 31.0, 99.0, 250.0]).fit(&t, "Fare", &[0])?;
/// let out = fitted.transform(&t, "Fare")?;
/// assert_eq!(out.as_int().unwrap(), &[Some(0), Some(0), Some(3), Some(5)]);
/// # Ok::<(), mlflow_ml::features::FeatureError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Binner {
    /// Explicit edges: finite and strictly increasing.
    Edges(Vec<f64>),
    /// `n >= 2` bins of about equal training counts: the edges are the training quantiles at
    /// `1/n, 2/n, ..., (n-1)/n` (linear interpolation between sorted values, as numpy's default),
    /// with repeated edges dropped, so heavily tied data can give fewer than `n` bins.
    Quantiles(usize),
}

impl Binner {
    /// Bins at explicit edges.
    ///
    /// ```
    /// use mlflow_ml::features::Binner;
    /// assert_eq!(Binner::edges([11.0, 18.0]), Binner::Edges(vec![11.0, 18.0]));
    /// ```
    pub fn edges(edges: impl IntoIterator<Item = f64>) -> Self {
        Binner::Edges(edges.into_iter().collect())
    }

    /// `n` quantile bins learned at fit.
    ///
    /// ```
    /// use mlflow_ml::features::Binner;
    /// assert_eq!(Binner::quantiles(4), Binner::Quantiles(4));
    /// ```
    pub fn quantiles(n: usize) -> Self {
        Binner::Quantiles(n)
    }

    /// Fits on the named numeric column at `train_rows` (explicit edges need no data).
    ///
    /// ```
    /// use mlflow_ml::data::{Column, Table};
    /// use mlflow_ml::features::Binner;
    /// let t = Table::new(vec![("x".into(), Column::Int((1..=9).map(Some).collect()))]).unwrap();
    /// let fitted = Binner::quantiles(2).fit(&t, "x", &(0..9).collect::<Vec<_>>())?;
    /// assert_eq!(fitted.edges(), &[5.0]);
    /// # Ok::<(), mlflow_ml::features::FeatureError>(())
    /// ```
    pub fn fit(
        &self,
        table: &Table,
        column: &str,
        train_rows: &[usize],
    ) -> Result<FittedBinner, FeatureError> {
        let values = training(table, column, train_rows)?;
        self.fit_values(&values, Site { column, rows: Rows::Subset(train_rows) })
    }

    pub(crate) fn validate(&self, feature: &str) -> Result<(), FeatureError> {
        match self {
            Binner::Edges(e) => {
                if e.is_empty() {
                    return Err(invalid(feature, "bin edges are empty; give at least one edge"));
                }
                if let Some(x) = e.iter().find(|x| !x.is_finite()) {
                    return Err(invalid(feature, format!("bin edge {x} is not finite")));
                }
                if let Some(w) = e.windows(2).find(|w| w[0] >= w[1]) {
                    return Err(invalid(
                        feature,
                        format!("bin edges must increase strictly, but {} is followed by {}", w[0], w[1]),
                    ));
                }
                Ok(())
            }
            Binner::Quantiles(n) if *n < 2 => {
                Err(invalid(feature, format!("{n} quantile bin(s) requested; ask for at least 2")))
            }
            Binner::Quantiles(_) => Ok(()),
        }
    }

    pub(crate) fn fit_values(&self, values: &Values, site: Site<'_>) -> Result<FittedBinner, FeatureError> {
        self.validate(site.column)?;
        let edges = match self {
            Binner::Edges(e) => e.clone(),
            Binner::Quantiles(n) => {
                let mut xs: Vec<f64> = numbers(values.clone(), site)?.into_iter().flatten().collect();
                if xs.is_empty() {
                    return Err(FeatureError::NoTrainingValues {
                        column: site.column.to_owned(),
                        step: "bin (quantiles)",
                        rows: values.len(),
                        context: String::new(),
                    });
                }
                xs.sort_by(f64::total_cmp);
                let mut edges: Vec<f64> = (1..*n).map(|k| quantile(&xs, k as f64 / *n as f64)).collect();
                edges.dedup();
                edges
            }
        };
        Ok(FittedBinner { edges })
    }
}

/// numpy's `quantile(sorted, q)` (the default linear method) of sorted, non-empty values,
/// interpolated as numpy's `_lerp` does, so that it is exact at both ends of each interval.
pub(crate) fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = (pos.floor() as usize).min(sorted.len() - 1);
    let hi = (lo + 1).min(sorted.len() - 1);
    let frac = pos - lo as f64;
    let (a, b) = (sorted[lo], sorted[hi]);
    if frac >= 0.5 { b - (b - a) * (1.0 - frac) } else { a + (b - a) * frac }
}

/// A fitted [`Binner`]: its edges.
///
/// ```
/// use mlflow_ml::data::{Column, Table};
/// use mlflow_ml::features::Binner;
/// let t = Table::new(vec![("Age".into(), Column::Float(vec![Some(22.0)]))]).unwrap();
/// let fitted = Binner::edges([11.0, 18.0, 22.0, 27.0, 33.0, 40.0]).fit(&t, "Age", &[0])?;
/// assert_eq!(fitted.bins(), 7);
/// # Ok::<(), mlflow_ml::features::FeatureError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedBinner {
    edges: Vec<f64>,
}

impl FittedBinner {
    /// The edges, increasing.
    ///
    /// ```
    /// use mlflow_ml::data::{Column, Table};
    /// use mlflow_ml::features::Binner;
    /// let t = Table::new(vec![("x".into(), Column::Float(vec![Some(1.0)]))]).unwrap();
    /// assert_eq!(Binner::edges([0.5]).fit(&t, "x", &[0])?.edges(), &[0.5]);
    /// # Ok::<(), mlflow_ml::features::FeatureError>(())
    /// ```
    pub fn edges(&self) -> &[f64] {
        &self.edges
    }

    /// Number of bins: edges + 1.
    ///
    /// ```
    /// use mlflow_ml::data::{Column, Table};
    /// use mlflow_ml::features::Binner;
    /// let t = Table::new(vec![("x".into(), Column::Float(vec![Some(1.0)]))]).unwrap();
    /// assert_eq!(Binner::edges([0.5, 2.0]).fit(&t, "x", &[0])?.bins(), 3);
    /// # Ok::<(), mlflow_ml::features::FeatureError>(())
    /// ```
    pub fn bins(&self) -> usize {
        self.edges.len() + 1
    }

    /// The bin code of one number: how many edges lie strictly below it.
    ///
    /// ```
    /// use mlflow_ml::data::{Column, Table};
    /// use mlflow_ml::features::Binner;
    /// let t = Table::new(vec![("x".into(), Column::Float(vec![Some(1.0)]))]).unwrap();
    /// let b = Binner::edges([11.0, 18.0]).fit(&t, "x", &[0])?;
    /// assert_eq!((b.code(11.0), b.code(11.5), b.code(99.0)), (0, 1, 2));
    /// # Ok::<(), mlflow_ml::features::FeatureError>(())
    /// ```
    pub fn code(&self, x: f64) -> i64 {
        self.edges.iter().filter(|&&e| e < x).count() as i64
    }

    /// Bins the named numeric column into an `Int` column of codes.
    ///
    /// ```
    /// use mlflow_ml::data::{Column, Table};
    /// use mlflow_ml::features::{Binner, FeatureError};
    /// let t = Table::new(vec![("Age".into(), Column::Float(vec![Some(5.0), None]))]).unwrap();
    /// let b = Binner::edges([11.0]).fit(&t, "Age", &[0])?;
    /// assert!(matches!(b.transform(&t, "Age"), Err(FeatureError::MissingValue { row: 1, .. })));
    /// # Ok::<(), FeatureError>(())
    /// ```
    pub fn transform(&self, table: &Table, column: &str) -> Result<Column, FeatureError> {
        let (values, rows) = whole(table, column)?;
        Ok(Column::Int(self.bin(values, Site { column, rows })?.into_iter().map(Some).collect()))
    }

    pub(crate) fn bin(&self, values: Values, site: Site<'_>) -> Result<Vec<i64>, FeatureError> {
        let xs = required(numbers(values, site)?, site, "bin")?;
        Ok(xs.into_iter().map(|x| self.code(x)).collect())
    }
}
