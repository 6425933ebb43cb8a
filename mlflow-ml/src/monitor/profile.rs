//! Reference profiles: what the training data (raw and engineered), the model's outputs and the
//! labels looked like, recorded at training time so that serving windows can be compared with
//! them later (drift, skew) without the training data at hand.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::numeric::Bins;
use crate::data::{Column, Table};
use crate::features::FeatureMatrix;
use crate::features::quantile;

/// The quantile levels every numeric profile records.
pub const QUANTILE_LEVELS: [f64; 11] = [0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0];
/// The number of reference-quantile bins a numeric profile records edges for (deciles).
pub const BINS: usize = 10;
/// Most values a numeric profile keeps as its sample (more: evenly spaced order statistics).
pub const SAMPLE_MAX: usize = 10_000;
/// Most distinct values a numeric column may have to also be profiled by category.
pub const MAX_DISCRETE: usize = 20;
/// Most categories kept by name; the rest are counted together.
pub const MAX_CATEGORIES: usize = 1_000;

/// How a profiled column is compared: as numbers or as categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ColumnKind {
    /// Numbers (integers or floats).
    Numeric,
    /// Text.
    Categorical,
}

/// One column's profile: its kind, row and null counts, and the summaries of its values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnProfile {
    /// The column's name.
    pub name: String,
    /// Numeric or categorical.
    pub kind: ColumnKind,
    /// Rows profiled, nulls included.
    pub count: usize,
    /// Missing values (and, for numbers, NaN and infinities).
    pub nulls: usize,
    /// Numbers: range, moments, quantiles, bins and a sample.
    pub numeric: Option<NumericSummary>,
    /// Text, and numbers with at most [`MAX_DISCRETE`] distinct values: the count of each value.
    pub categories: Option<CategorySummary>,
}

impl ColumnProfile {
    /// The share of missing values (0 for an empty column).
    pub fn null_rate(&self) -> f64 {
        if self.count == 0 { 0.0 } else { self.nulls as f64 / self.count as f64 }
    }
}

/// The summary of a numeric column's non-missing values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumericSummary {
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Mean.
    pub mean: f64,
    /// Standard deviation (divided by n, numpy's default).
    pub std: f64,
    /// `(level, value)` at each of [`QUANTILE_LEVELS`], interpolated linearly (numpy's default).
    pub quantiles: Vec<(f64, f64)>,
    /// The reference's decile bins ([`Bins::quantiles`] with [`BINS`]): every drift statistic on
    /// bins uses these, so a window's bins are the reference's.
    pub bins: Bins,
    /// The reference's count in each bin.
    pub bin_counts: Vec<usize>,
    /// The values, sorted: all of them up to [`SAMPLE_MAX`], else that many evenly spaced order
    /// statistics (two-sample tests against it are exact up to that many rows).
    pub sample: Vec<f64>,
}

/// The counts of a categorical column's values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategorySummary {
    /// Each value and its count, most frequent first (then by value), at most
    /// [`MAX_CATEGORIES`].
    pub counts: Vec<(String, u64)>,
    /// Values beyond the first [`MAX_CATEGORIES`], counted together.
    pub other: u64,
}

impl CategorySummary {
    /// Each value's share of the non-missing values.
    pub fn frequencies(&self) -> Vec<(String, f64)> {
        let total = self.counts.iter().map(|(_, c)| c).sum::<u64>() + self.other;
        self.counts.iter().map(|(v, c)| (v.clone(), *c as f64 / total.max(1) as f64)).collect()
    }
}

/// A model's reference: its raw input columns, its engineered features, its outputs and its
/// labels on the training rows. A [`ModelPackage`](../../mlflow_serve/struct.ModelPackage.html)
/// carries it, so that monitoring needs nothing but the package and the prediction log.
///
/// ```
/// use mlflow_ml::data::{Column, Table};
/// use mlflow_ml::features::FeatureMatrix;
/// use mlflow_ml::monitor::{ColumnKind, ReferenceProfile};
/// use mlflow_ml::ndarray::array;
/// let raw = Table::new(vec![
///     ("Sex".into(), Column::Str(vec![Some("male".into()), Some("female".into()), None, Some("male".into())])),
///     ("Age".into(), Column::Float(vec![Some(22.0), Some(38.0), Some(26.0), None])),
///     ("Survived".into(), Column::Int(vec![Some(0), Some(1), Some(1), Some(0)])),
/// ])?;
/// let features = FeatureMatrix { names: vec!["sex".into(), "age".into()], x: array![[0.0, 22.0], [1.0, 38.0], [0.0, 26.0], [0.0, 28.0]] };
/// let outputs = FeatureMatrix { names: vec!["p1".into()], x: array![[0.1], [0.9], [0.7], [0.2]] };
/// let profile = ReferenceProfile::new(&raw, Some("Survived"), &features, &outputs)?;
/// let sex = profile.raw_column("Sex").unwrap();
/// assert_eq!((sex.kind, sex.nulls), (ColumnKind::Categorical, 1));
/// assert_eq!(sex.categories.as_ref().unwrap().counts[0], ("male".to_owned(), 2));
/// let age = profile.raw_column("Age").unwrap();
/// assert_eq!(age.numeric.as_ref().unwrap().quantiles[5], (0.5, 26.0)); // the median
/// assert_eq!(profile.label.as_ref().unwrap().categories.as_ref().unwrap().counts.len(), 2);
/// assert!(profile.raw_column("Survived").is_none(), "the label is profiled on its own");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferenceProfile {
    /// Rows profiled.
    pub rows: usize,
    /// The raw input columns (the label left out).
    pub raw: Vec<ColumnProfile>,
    /// The engineered features the model reads.
    pub features: Vec<ColumnProfile>,
    /// The model's outputs (a probability per class, or the predicted value) on held-out rows:
    /// a model's outputs on its own training rows are overconfident (a forest's most of all), so
    /// they are no reference for what it will output on new rows.
    pub outputs: Vec<ColumnProfile>,
    /// The label, if the rows had one.
    pub label: Option<ColumnProfile>,
}

/// What cannot be profiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// The raw table and the features describe different numbers of rows.
    #[error(
        "the profile's inputs disagree on the number of rows: raw table {raw}, features {features}; profile the same training rows in both"
    )]
    RowMismatch {
        /// Rows of the raw table.
        raw: usize,
        /// Rows of the feature matrix.
        features: usize,
    },
    /// The label column is not in the raw table.
    #[error("the label column `{label}` is not in the raw table (its columns: {columns})")]
    NoLabel {
        /// The label asked for.
        label: String,
        /// The table's columns.
        columns: String,
    },
    /// No rows.
    #[error("nothing to profile: the training rows are empty")]
    Empty,
}

impl ReferenceProfile {
    /// Profiles the training rows: `raw` (the `label` column, if named, profiled as the label),
    /// the engineered `features` of the same rows, and the model's `outputs` on held-out rows
    /// (see [`ReferenceProfile::outputs`]).
    ///
    /// Errors: no rows, row counts that differ, a label column the table lacks.
    pub fn new(
        raw: &Table,
        label: Option<&str>,
        features: &FeatureMatrix,
        outputs: &FeatureMatrix,
    ) -> Result<Self, ProfileError> {
        let rows = raw.rows();
        if rows == 0 {
            return Err(ProfileError::Empty);
        }
        if features.x.nrows() != rows {
            return Err(ProfileError::RowMismatch { raw: rows, features: features.x.nrows() });
        }
        let label = match label {
            Some(name) => Some(raw.column(name).map(|c| profile_column(name, c)).ok_or_else(|| {
                ProfileError::NoLabel { label: name.to_owned(), columns: raw.names().join(", ") }
            })?),
            None => None,
        };
        let raw_columns = raw
            .iter()
            .filter(|(name, _)| label.as_ref().is_none_or(|l| l.name != *name))
            .map(|(name, column)| profile_column(name, column))
            .collect();
        Ok(ReferenceProfile {
            rows,
            raw: raw_columns,
            features: profile_matrix(features),
            outputs: profile_matrix(outputs),
            label,
        })
    }

    /// The profile of raw column `name`.
    pub fn raw_column(&self, name: &str) -> Option<&ColumnProfile> {
        self.raw.iter().find(|c| c.name == name)
    }

    /// The profile of engineered feature `name`.
    pub fn feature(&self, name: &str) -> Option<&ColumnProfile> {
        self.features.iter().find(|c| c.name == name)
    }
}

/// Profiles each column of a matrix (NaN and infinities counted as missing).
pub fn profile_matrix(matrix: &FeatureMatrix) -> Vec<ColumnProfile> {
    matrix
        .names
        .iter()
        .zip(matrix.x.columns())
        .map(|(name, column)| {
            profile_numbers(name, column.iter().map(|&v| (!v.is_nan()).then_some(v)), column.len())
        })
        .collect()
}

/// Profiles one column of a table: numbers as numbers (and as categories when they take at most
/// [`MAX_DISCRETE`] values), text as categories.
///
/// ```
/// use mlflow_ml::data::Column;
/// use mlflow_ml::monitor::{profile_column, ColumnKind};
/// let p = profile_column("Pclass", &Column::Int(vec![Some(3), Some(1), Some(3), None]));
/// assert_eq!((p.kind, p.count, p.nulls), (ColumnKind::Numeric, 4, 1));
/// assert_eq!(p.categories.unwrap().counts, [("3".to_owned(), 2), ("1".to_owned(), 1)]);
/// ```
pub fn profile_column(name: &str, column: &Column) -> ColumnProfile {
    match column {
        Column::Int(values) => {
            profile_numbers(name, values.iter().map(|v| v.map(|i| i as f64)), values.len())
        }
        Column::Float(values) => {
            profile_numbers(name, values.iter().map(|v| v.filter(|f| f.is_finite())), values.len())
        }
        Column::Str(values) => {
            let nulls = values.iter().filter(|v| v.is_none()).count();
            let categories = categories(values.iter().flatten().map(String::as_str));
            ColumnProfile {
                name: name.to_owned(),
                kind: ColumnKind::Categorical,
                count: values.len(),
                nulls,
                numeric: None,
                categories: Some(categories),
            }
        }
    }
}

fn profile_numbers(name: &str, values: impl Iterator<Item = Option<f64>>, count: usize) -> ColumnProfile {
    let mut sorted: Vec<f64> = values.flatten().collect();
    let nulls = count - sorted.len();
    sorted.sort_by(f64::total_cmp);
    let numeric = summarize(&sorted);
    let mut distinct = sorted.clone();
    distinct.dedup();
    let categories = (!sorted.is_empty() && distinct.len() <= MAX_DISCRETE).then(|| {
        categories(sorted.iter().map(|v| number_label(*v)).collect::<Vec<_>>().iter().map(String::as_str))
    });
    ColumnProfile { name: name.to_owned(), kind: ColumnKind::Numeric, count, nulls, numeric, categories }
}

/// A number as a category label: integers without a decimal point.
fn number_label(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{}", v as i64) } else { v.to_string() }
}

fn summarize(sorted: &[f64]) -> Option<NumericSummary> {
    let (&min, &max) = (sorted.first()?, sorted.last()?);
    let n = sorted.len() as f64;
    let mean = sorted.iter().sum::<f64>() / n;
    let std = (sorted.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    let quantiles = QUANTILE_LEVELS.iter().map(|&q| (q, quantile(sorted, q))).collect();
    let bins = Bins::of_sorted(sorted, BINS);
    let bin_counts = bins.counts(sorted);
    let sample = if sorted.len() <= SAMPLE_MAX {
        sorted.to_vec()
    } else {
        (0..SAMPLE_MAX).map(|i| sorted[i * (sorted.len() - 1) / (SAMPLE_MAX - 1)]).collect()
    };
    Some(NumericSummary { min, max, mean, std, quantiles, bins, bin_counts, sample })
}

fn categories<'a>(values: impl Iterator<Item = &'a str>) -> CategorySummary {
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for v in values {
        *counts.entry(v).or_default() += 1;
    }
    let mut counts: Vec<(String, u64)> = counts.into_iter().map(|(v, c)| (v.to_owned(), c)).collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let other = counts.iter().skip(MAX_CATEGORIES).map(|(_, c)| c).sum();
    counts.truncate(MAX_CATEGORIES);
    CategorySummary { counts, other }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_and_bins_are_numpys() {
        // np.quantile([1..=10], [.25, .5, .95]) = [3.25, 5.5, 9.55]
        let sorted: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(quantile(&sorted, 0.25), 3.25);
        assert_eq!(quantile(&sorted, 0.5), 5.5);
        assert!((quantile(&sorted, 0.95) - 9.55).abs() < 1e-12);
        let s = summarize(&sorted).unwrap();
        assert_eq!(s.bins.cuts().len(), 9);
        assert_eq!(s.bin_counts.iter().sum::<usize>(), 10);
        assert_eq!(s.bin_counts, [1; 10], "one value per decile");
    }

    #[test]
    fn many_values_keep_a_sample_of_order_statistics_and_many_categories_an_other_count() {
        let values: Vec<Option<f64>> = (0..25_000).map(|i| Some(i as f64)).collect();
        let p = profile_numbers("x", values.into_iter(), 25_000);
        let n = p.numeric.unwrap();
        assert_eq!((n.sample.len(), n.sample[0], n.sample[SAMPLE_MAX - 1]), (SAMPLE_MAX, 0.0, 24_999.0));
        assert!(p.categories.is_none(), "too many distinct values to count");
        let names: Vec<String> = (0..1_500).map(|i| format!("v{i}")).collect();
        let c = categories(names.iter().map(String::as_str));
        assert_eq!((c.counts.len(), c.other), (MAX_CATEGORIES, 500));
    }

    #[test]
    fn ties_collapse_bins_and_nan_is_missing() {
        let p = profile_numbers("x", [Some(1.0), Some(1.0), Some(1.0), Some(2.0), None].into_iter(), 5);
        let n = p.numeric.unwrap();
        assert_eq!((n.bins.cuts().len(), n.bins.cuts()[0]), (4, 1.0), "{:?}", n.bins);
        assert_eq!(n.bin_counts, [3, 0, 0, 0, 1]);
        assert_eq!(p.nulls, 1);
        let m = FeatureMatrix { names: vec!["a".into()], x: ndarray::array![[1.0], [f64::NAN]] };
        assert_eq!(profile_matrix(&m)[0].nulls, 1);
    }
}
