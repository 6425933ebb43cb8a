//! Imputation: fill values learned from the training rows.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::data::{Column, Table};

use super::{Value, invalid, training, whole};
use crate::features::FeatureError;
use crate::features::values::{Rows, Site, Values, numbers, texts};

/// How an [`Imputer`] chooses its fill value from the training rows.
///
/// ```
/// use mlflow_ml::features::{Strategy, Value};
/// let s = Strategy::Constant(Value::from("U"));
/// assert_ne!(s, Strategy::Median);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Strategy {
    /// Mean of the non-missing training values (numbers; text is parsed as numbers).
    Mean,
    /// Median of the non-missing training values; for an even count, the mean of the two middle
    /// values.
    Median,
    /// The most frequent non-missing training value, numbers or text; ties go to the smallest
    /// value (numeric order for numbers, byte order for text), so the result is deterministic.
    MostFrequent,
    /// A fixed value (must be finite if a number); needs no training values.
    Constant(Value),
}

/// Fills missing values; the fill value is learned from the training rows only.
///
/// Numbers stay numbers (a standalone transform returns a `Float` column), text stays text.
///
/// ```
/// use mlflow_ml::data::{Column, Table};
/// use mlflow_ml::features::Imputer;
/// let t = Table::new(vec![("Age".into(), Column::Float(vec![Some(20.0), None, Some(40.0), Some(90.0)]))])
///     .unwrap();
/// let fitted = Imputer::median().fit(&t, "Age", &[0, 1, 2])?; // training rows only: median 30
/// assert_eq!(fitted.fill().as_num(), Some(30.0));
/// let out = fitted.transform(&t, "Age")?;
/// assert_eq!(out.as_float().unwrap(), &[Some(20.0), Some(30.0), Some(40.0), Some(90.0)]);
/// # Ok::<(), mlflow_ml::features::FeatureError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Imputer {
    /// How the fill value is chosen.
    pub strategy: Strategy,
}

impl Imputer {
    /// Fill with the training mean.
    ///
    /// ```
    /// use mlflow_ml::features::{Imputer, Strategy};
    /// assert_eq!(Imputer::mean().strategy, Strategy::Mean);
    /// ```
    pub fn mean() -> Self {
        Imputer { strategy: Strategy::Mean }
    }

    /// Fill with the training median.
    ///
    /// ```
    /// use mlflow_ml::features::{Imputer, Strategy};
    /// assert_eq!(Imputer::median().strategy, Strategy::Median);
    /// ```
    pub fn median() -> Self {
        Imputer { strategy: Strategy::Median }
    }

    /// Fill with the most frequent training value.
    ///
    /// ```
    /// use mlflow_ml::features::{Imputer, Strategy};
    /// assert_eq!(Imputer::most_frequent().strategy, Strategy::MostFrequent);
    /// ```
    pub fn most_frequent() -> Self {
        Imputer { strategy: Strategy::MostFrequent }
    }

    /// Fill with a constant number or text.
    ///
    /// ```
    /// use mlflow_ml::features::{Imputer, Strategy, Value};
    /// assert_eq!(Imputer::constant("U").strategy, Strategy::Constant(Value::Text("U".into())));
    /// ```
    pub fn constant(value: impl Into<Value>) -> Self {
        Imputer { strategy: Strategy::Constant(value.into()) }
    }

    /// Fits on the named column at `train_rows`.
    ///
    /// ```
    /// use mlflow_ml::data::{Column, Table};
    /// use mlflow_ml::features::Imputer;
    /// let t = Table::new(vec![("Port".into(), Column::Str(vec![Some("S".into()), None, Some("C".into()), Some("S".into())]))])
    ///     .unwrap();
    /// let fitted = Imputer::most_frequent().fit(&t, "Port", &[0, 1, 2, 3])?;
    /// assert_eq!(fitted.fill().as_text(), Some("S"));
    /// # Ok::<(), mlflow_ml::features::FeatureError>(())
    /// ```
    pub fn fit(
        &self,
        table: &Table,
        column: &str,
        train_rows: &[usize],
    ) -> Result<FittedImputer, FeatureError> {
        let values = training(table, column, train_rows)?;
        self.fit_values(&values, Site { column, rows: Rows::Subset(train_rows) })
    }

    pub(crate) fn step_name(&self) -> &'static str {
        match self.strategy {
            Strategy::Mean => "impute (mean)",
            Strategy::Median => "impute (median)",
            Strategy::MostFrequent => "impute (most frequent)",
            Strategy::Constant(_) => "impute (constant)",
        }
    }

    pub(crate) fn validate(&self, feature: &str) -> Result<(), FeatureError> {
        match &self.strategy {
            Strategy::Constant(Value::Num(x)) if !x.is_finite() => {
                Err(invalid(feature, format!("constant fill {x} is not finite; use a finite number")))
            }
            _ => Ok(()),
        }
    }

    pub(crate) fn fit_values(&self, values: &Values, site: Site<'_>) -> Result<FittedImputer, FeatureError> {
        self.validate(site.column)?;
        let step = self.step_name();
        let none = || FeatureError::NoTrainingValues {
            column: site.column.to_owned(),
            step,
            rows: values.len(),
            context: String::new(),
        };
        let fill = match &self.strategy {
            Strategy::Constant(v) => v.clone(),
            Strategy::Mean => {
                let xs: Vec<f64> = numbers(values.clone(), site)?.into_iter().flatten().collect();
                if xs.is_empty() {
                    return Err(none());
                }
                Value::Num(xs.iter().sum::<f64>() / xs.len() as f64)
            }
            Strategy::Median => {
                let mut xs: Vec<f64> = numbers(values.clone(), site)?.into_iter().flatten().collect();
                if xs.is_empty() {
                    return Err(none());
                }
                xs.sort_by(f64::total_cmp);
                let n = xs.len();
                Value::Num(if n % 2 == 1 { xs[n / 2] } else { (xs[n / 2 - 1] + xs[n / 2]) / 2.0 })
            }
            Strategy::MostFrequent => match values {
                Values::Num(v) => {
                    let mut xs: Vec<f64> = v.iter().flatten().copied().collect();
                    xs.sort_by(f64::total_cmp);
                    let mut best: Option<(f64, usize)> = None;
                    let mut i = 0;
                    while i < xs.len() {
                        let run = xs[i..].iter().take_while(|&&x| x == xs[i]).count().max(1);
                        if best.is_none_or(|(_, c)| run > c) {
                            best = Some((xs[i], run));
                        }
                        i += run;
                    }
                    Value::Num(best.ok_or_else(none)?.0)
                }
                Values::Text(v) => {
                    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
                    for s in v.iter().flatten() {
                        *counts.entry(s).or_default() += 1;
                    }
                    let mut best: Option<(&str, usize)> = None;
                    for (s, c) in counts {
                        if best.is_none_or(|(_, b)| c > b) {
                            best = Some((s, c));
                        }
                    }
                    Value::Text(best.ok_or_else(none)?.0.to_owned())
                }
            },
        };
        Ok(FittedImputer { fill })
    }
}

/// A fitted [`Imputer`]: the fill value learned from the training rows.
///
/// ```
/// use mlflow_ml::data::{Column, Table};
/// use mlflow_ml::features::Imputer;
/// let t = Table::new(vec![("Fare".into(), Column::Float(vec![Some(7.0), None, Some(9.0)]))]).unwrap();
/// let fitted = Imputer::mean().fit(&t, "Fare", &[0, 2])?;
/// let bytes = mlflow_core::codec::encode(&fitted).unwrap(); // an artifact
/// assert!(!bytes.is_empty());
/// assert_eq!(fitted.fill().as_num(), Some(8.0));
/// # Ok::<(), mlflow_ml::features::FeatureError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedImputer {
    fill: Value,
}

impl FittedImputer {
    /// The fill value.
    ///
    /// ```
    /// use mlflow_ml::data::{Column, Table};
    /// use mlflow_ml::features::Imputer;
    /// let t = Table::new(vec![("x".into(), Column::Int(vec![Some(1), Some(2), Some(2)]))]).unwrap();
    /// assert_eq!(Imputer::most_frequent().fit(&t, "x", &[0, 1, 2])?.fill().as_num(), Some(2.0));
    /// # Ok::<(), mlflow_ml::features::FeatureError>(())
    /// ```
    pub fn fill(&self) -> &Value {
        &self.fill
    }

    /// Fills the missing values of the named column (numbers come back as a `Float` column,
    /// text as a `Str` column).
    ///
    /// ```
    /// use mlflow_ml::data::{Column, Table};
    /// use mlflow_ml::features::Imputer;
    /// let t = Table::new(vec![("Cabin".into(), Column::Str(vec![None, Some("C85".into())]))]).unwrap();
    /// let out = Imputer::constant("U").fit(&t, "Cabin", &[0])?.transform(&t, "Cabin")?;
    /// assert_eq!(out.as_text().unwrap(), &[Some("U".to_string()), Some("C85".to_string())]);
    /// # Ok::<(), mlflow_ml::features::FeatureError>(())
    /// ```
    pub fn transform(&self, table: &Table, column: &str) -> Result<Column, FeatureError> {
        let (values, rows) = whole(table, column)?;
        Ok(self.apply(values, Site { column, rows }, "impute")?.into_column())
    }

    pub(crate) fn apply(
        &self,
        values: Values,
        site: Site<'_>,
        step: &'static str,
    ) -> Result<Values, FeatureError> {
        Ok(match &self.fill {
            Value::Num(f) => {
                Values::Num(numbers(values, site)?.into_iter().map(|x| Some(x.unwrap_or(*f))).collect())
            }
            Value::Text(f) => Values::Text(
                texts(values, site, step)?
                    .into_iter()
                    .map(|x| Some(x.unwrap_or_else(|| f.clone())))
                    .collect(),
            ),
        })
    }
}
