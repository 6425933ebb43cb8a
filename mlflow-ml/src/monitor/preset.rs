//! Named presets choosing the test per column (Evidently's rules, or Vertex AI / TFDV's), and
//! dataset drift over many columns.

use super::categorical::{CategoricalDrift, CategoricalOptions, categorical_drift};
use super::numeric::{NumericDrift, NumericOptions, numeric_drift};
use super::{DriftError, DriftTest, Side, Sizes, bad};
use crate::data::Column;

/// Evidently's share of drifted columns at which a dataset drifts.
pub const DEFAULT_DRIFT_SHARE: f64 = 0.5;

/// How tests are chosen per column.
///
/// - `Evidently`: the rules of Evidently's `_get_default_stattest`
///   (evidently/legacy/calculations/stattests/registry.py) with its default thresholds. With at
///   most `large_sample` reference values (Evidently: 1000): a numeric column with more than 5
///   distinct values (both sides together) gets [`DriftTest::Ks`] (0.05), one with 3 to 5 gets
///   [`DriftTest::ChiSquare`] (0.05) on its values as categories, one with at most 2 the
///   [`DriftTest::ZTest`] (0.05); a categorical column gets the chi-square test, or the z-test
///   when it has at most 2 categories. Above `large_sample` the p-value tests give way to
///   distances: [`DriftTest::Wasserstein`] (normalized, 0.1) for numeric columns with more than
///   5 values, [`DriftTest::JensenShannon`] (0.1) on category frequencies for the others.
/// - `Tfdv`: Vertex AI model monitoring / TensorFlow Data Validation: [`DriftTest::LInfinity`]
///   for categorical columns, [`DriftTest::JensenShannon`] on 10 reference-quantile bins for
///   numeric ones, both at 0.3, whatever the sample size. This follows their choice of tests
///   and threshold, not their numbers: TFDV computes on its own histograms from its statistics
///   protos, and calls its numeric statistic a Jensen-Shannon divergence, where this preset
///   applies 0.3 to scipy's distance (base e) on the recorded bins.
///
/// Evidently's own Jensen-Shannon on a numeric column with more than 20 values bins both sides
/// together (Sturges' rule); this preset only uses Jensen-Shannon on a numeric column with at
/// most 5 values, by value, where Evidently counts values too.
///
/// ```
/// use mlflow_ml::monitor::{DriftTest, Preset};
/// let evidently = Preset::evidently();
/// assert_eq!(evidently.numeric_test(500, 40), DriftTest::Ks);
/// assert_eq!(evidently.numeric_test(5000, 40), DriftTest::Wasserstein);
/// assert_eq!(Preset::Evidently { large_sample: 10_000 }.numeric_test(5000, 40), DriftTest::Ks);
/// assert_eq!(evidently.categorical_test(500, 2), DriftTest::ZTest);
/// assert_eq!(Preset::Tfdv.categorical_test(500, 2), DriftTest::LInfinity);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Preset {
    /// Evidently's test selection and thresholds.
    Evidently {
        /// Above this many reference values, distances replace p-value tests (Evidently: 1000).
        large_sample: usize,
    },
    /// Vertex AI / TFDV: L-infinity (categorical), Jensen-Shannon (numeric), threshold 0.3.
    Tfdv,
}

impl Preset {
    /// Evidently's rules with its switch to distances above 1000 reference values.
    pub fn evidently() -> Preset {
        Preset::Evidently { large_sample: 1000 }
    }

    /// The test for a numeric column with `n_reference` reference values and `n_unique` distinct
    /// values on both sides together (nulls left out).
    pub fn numeric_test(&self, n_reference: usize, n_unique: usize) -> DriftTest {
        match *self {
            Preset::Tfdv => DriftTest::JensenShannon,
            Preset::Evidently { large_sample } if n_reference <= large_sample => match n_unique {
                0..=2 => DriftTest::ZTest,
                3..=5 => DriftTest::ChiSquare,
                _ => DriftTest::Ks,
            },
            Preset::Evidently { .. } if n_unique <= 5 => DriftTest::JensenShannon,
            Preset::Evidently { .. } => DriftTest::Wasserstein,
        }
    }

    /// The test for a categorical column (`n_unique` categories on both sides together).
    pub fn categorical_test(&self, n_reference: usize, n_unique: usize) -> DriftTest {
        match *self {
            Preset::Tfdv => DriftTest::LInfinity,
            Preset::Evidently { large_sample } if n_reference <= large_sample => {
                if n_unique <= 2 {
                    DriftTest::ZTest
                } else {
                    DriftTest::ChiSquare
                }
            }
            Preset::Evidently { .. } => DriftTest::JensenShannon,
        }
    }

    /// The threshold of `test` under this preset.
    pub fn threshold(&self, test: DriftTest) -> f64 {
        match self {
            Preset::Tfdv => 0.3,
            Preset::Evidently { .. } => test.default_threshold(),
        }
    }

    /// The drift of a numeric column (`None` is a null) by this preset's test. A column Evidently
    /// treats by its values as categories (at most 5 distinct values) comes back as
    /// [`ColumnDrift::Categorical`], the values written with Rust's shortest round-trip format.
    ///
    /// ```
    /// use mlflow_ml::monitor::{DriftTest, Preset};
    /// let reference: Vec<Option<f64>> = (0..200).map(|i| Some((i % 50) as f64)).collect();
    /// let current: Vec<Option<f64>> = (0..200).map(|i| Some((i % 50) as f64 + 10.0)).collect();
    /// let drift = Preset::evidently().numeric(&reference, &current).unwrap();
    /// assert_eq!(drift.test(), DriftTest::Ks);
    /// assert!(drift.drifted());
    /// ```
    pub fn numeric(
        &self,
        reference: &[Option<f64>],
        current: &[Option<f64>],
    ) -> Result<ColumnDrift, DriftError> {
        let mut distinct: Vec<f64> = reference.iter().chain(current).flatten().map(|x| x + 0.0).collect();
        distinct.sort_by(f64::total_cmp);
        distinct.dedup();
        let n_reference = reference.iter().flatten().count();
        let test = self.numeric_test(n_reference, distinct.len());
        let threshold = Some(self.threshold(test));
        if matches!(test, DriftTest::ChiSquare | DriftTest::ZTest)
            || (test == DriftTest::JensenShannon && matches!(self, Preset::Evidently { .. }))
        {
            let as_text = |v: &[Option<f64>], side: Side| -> Result<Vec<Option<String>>, DriftError> {
                v.iter()
                    .enumerate()
                    .map(|(row, x)| match x {
                        Some(x) if !x.is_finite() => Err(DriftError::NotFinite { side, row, value: *x }),
                        x => Ok(x.map(|x| format!("{}", x + 0.0))),
                    })
                    .collect()
            };
            let (r, c) = (as_text(reference, Side::Reference)?, as_text(current, Side::Current)?);
            let options = CategoricalOptions { threshold };
            return categorical_drift(&r, &c, test, &options).map(ColumnDrift::Categorical);
        }
        let options = NumericOptions { threshold, ..NumericOptions::default() };
        numeric_drift(reference, current, test, &options).map(ColumnDrift::Numeric)
    }

    /// The drift of a categorical column (`None` is a null) by this preset's test.
    ///
    /// ```
    /// use mlflow_ml::monitor::{DriftTest, Preset};
    /// let reference = [Some("a"), Some("b"), Some("c"), Some("a")];
    /// let current = [Some("a"), Some("b"), Some("c"), Some("c")];
    /// let drift = Preset::evidently().categorical(&reference, &current).unwrap();
    /// assert_eq!(drift.test(), DriftTest::ChiSquare);
    /// assert!(!drift.drifted());
    /// ```
    pub fn categorical<R: AsRef<str>, C: AsRef<str>>(
        &self,
        reference: &[Option<R>],
        current: &[Option<C>],
    ) -> Result<ColumnDrift, DriftError> {
        let mut distinct: Vec<&str> = reference
            .iter()
            .flatten()
            .map(AsRef::as_ref)
            .chain(current.iter().flatten().map(AsRef::as_ref))
            .collect();
        distinct.sort_unstable();
        distinct.dedup();
        let n_reference = reference.iter().flatten().count();
        let test = self.categorical_test(n_reference, distinct.len());
        let options = CategoricalOptions { threshold: Some(self.threshold(test)) };
        categorical_drift(reference, current, test, &options).map(ColumnDrift::Categorical)
    }

    /// The drift of a table column: integers and floats as numbers, text as categories.
    ///
    /// ```
    /// use mlflow_ml::data::Column;
    /// use mlflow_ml::monitor::{DriftTest, Preset};
    /// let reference = Column::Int((0..50).map(Some).collect());
    /// let current = Column::Float((0..50).map(|i| Some(i as f64)).collect());
    /// let drift = Preset::Tfdv.column(&reference, &current).unwrap();
    /// assert_eq!((drift.test(), drift.drifted()), (DriftTest::JensenShannon, false));
    /// ```
    pub fn column(&self, reference: &Column, current: &Column) -> Result<ColumnDrift, DriftError> {
        let numbers = |c: &Column| -> Option<Vec<Option<f64>>> {
            match c {
                Column::Int(v) => Some(v.iter().map(|x| x.map(|x| x as f64)).collect()),
                Column::Float(v) => Some(v.clone()),
                _ => None,
            }
        };
        match (reference, current) {
            (Column::Str(r), Column::Str(c)) => self.categorical(r, c),
            _ => match (numbers(reference), numbers(current)) {
                (Some(r), Some(c)) => self.numeric(&r, &c),
                _ => bad(format!(
                    "a {:?} reference column against a {:?} current one: compare columns of the same kind",
                    reference.column_type(),
                    current.column_type()
                )),
            },
        }
    }
}

/// A column's drift, numeric or categorical.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum ColumnDrift {
    /// Compared as numbers.
    Numeric(NumericDrift),
    /// Compared as categories.
    Categorical(CategoricalDrift),
}

impl ColumnDrift {
    /// The test that ran.
    pub fn test(&self) -> DriftTest {
        match self {
            ColumnDrift::Numeric(d) => d.test,
            ColumnDrift::Categorical(d) => d.test,
        }
    }

    /// The distance or test statistic.
    pub fn statistic(&self) -> f64 {
        match self {
            ColumnDrift::Numeric(d) => d.statistic,
            ColumnDrift::Categorical(d) => d.statistic,
        }
    }

    /// The p-value of a p-value test.
    pub fn p_value(&self) -> Option<f64> {
        match self {
            ColumnDrift::Numeric(d) => d.p_value,
            ColumnDrift::Categorical(d) => d.p_value,
        }
    }

    /// Whether the column drifted.
    pub fn drifted(&self) -> bool {
        match self {
            ColumnDrift::Numeric(d) => d.drifted,
            ColumnDrift::Categorical(d) => d.drifted,
        }
    }

    /// Values compared and nulls.
    pub fn sizes(&self) -> Sizes {
        match self {
            ColumnDrift::Numeric(d) => d.sizes,
            ColumnDrift::Categorical(d) => d.sizes,
        }
    }
}

/// Drift over a dataset's columns.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DatasetDrift {
    /// Columns that drifted.
    pub drifted_columns: usize,
    /// Columns compared.
    pub columns: usize,
    /// `drifted_columns / columns`.
    pub share: f64,
    /// Whether `share` reached the drift share asked for.
    pub drifted: bool,
}

/// Evidently's dataset drift: the dataset drifts when the share of drifted columns is at least
/// `drift_share` ([`DEFAULT_DRIFT_SHARE`], 0.5), a number in `(0, 1]`.
///
/// ```
/// use mlflow_ml::monitor::{dataset_drift, Preset, DEFAULT_DRIFT_SHARE};
/// let a = Preset::Tfdv.categorical(&[Some("x"), Some("y")], &[Some("x"), Some("x")]).unwrap();
/// let b = Preset::Tfdv.categorical(&[Some("x"), Some("y")], &[Some("y"), Some("x")]).unwrap();
/// let d = dataset_drift(&[a, b], DEFAULT_DRIFT_SHARE).unwrap();
/// assert_eq!((d.drifted_columns, d.share, d.drifted), (1, 0.5, true));
/// ```
pub fn dataset_drift(columns: &[ColumnDrift], drift_share: f64) -> Result<DatasetDrift, DriftError> {
    if columns.is_empty() {
        return bad("no columns: give the drift of at least one column".to_string());
    }
    if !(drift_share > 0.0 && drift_share <= 1.0) {
        return bad(format!(
            "drift share {drift_share}: give a number in (0, 1] (Evidently's default is 0.5)"
        ));
    }
    let drifted_columns = columns.iter().filter(|c| c.drifted()).count();
    let share = drifted_columns as f64 / columns.len() as f64;
    Ok(DatasetDrift { drifted_columns, columns: columns.len(), share, drifted: share >= drift_share })
}
