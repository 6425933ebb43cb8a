//! Stateless operations on one column: nothing to fit.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::data::{Column, Table};

use super::{invalid, whole};
use crate::features::FeatureError;
use crate::features::values::{Site, Values, check_finite, numbers, texts};

/// A comparison for [`Op::Indicator`].
///
/// ```
/// use mlflow_ml::features::Cmp;
/// assert!(Cmp::Le.holds(1.0, 1.0));
/// assert!(!Cmp::Lt.holds(1.0, 1.0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cmp {
    /// `x == value`
    Eq,
    /// `x != value`
    Ne,
    /// `x < value`
    Lt,
    /// `x <= value`
    Le,
    /// `x > value`
    Gt,
    /// `x >= value`
    Ge,
}

impl Cmp {
    /// Whether `x` compares to `value` this way.
    ///
    /// ```
    /// use mlflow_ml::features::Cmp;
    /// assert!(Cmp::Eq.holds(0.0, 0.0) && Cmp::Gt.holds(2.0, 1.0) && Cmp::Ne.holds(2.0, 1.0));
    /// ```
    pub fn holds(self, x: f64, value: f64) -> bool {
        match self {
            Cmp::Eq => x == value,
            Cmp::Ne => x != value,
            Cmp::Lt => x < value,
            Cmp::Le => x <= value,
            Cmp::Gt => x > value,
            Cmp::Ge => x >= value,
        }
    }
}

/// A stateless step: nothing to fit. Missing values stay missing through every operation.
///
/// ```
/// use mlflow_ml::data::{Column, Table};
/// use mlflow_ml::features::Op;
/// let t = Table::new(vec![("Name".into(), Column::Str(vec![Some("Braund, Mr. Owen Harris".into())]))])
///     .unwrap();
/// let title = Op::between(", ", ".").transform(&t, "Name")?;
/// assert_eq!(title.as_text().unwrap(), &[Some("Mr".to_string())]);
/// # Ok::<(), mlflow_ml::features::FeatureError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Op {
    /// Text: its first character (missing for an empty text).
    FirstChar,
    /// Text: the part after the first `start` and before the next `end` after it (missing when
    /// either is absent). An empty `start` means from the beginning.
    Between {
        /// Opening delimiter.
        start: String,
        /// Closing delimiter (not empty).
        end: String,
    },
    /// Text: replaces values found in `map` (distinct keys); other values become `other` if
    /// set, else stay as they are.
    MapText {
        /// `(from, to)` pairs.
        map: Vec<(String, String)>,
        /// What values not in `map` become; `None` keeps them.
        other: Option<String>,
    },
    /// Numbers: 1 where `x cmp value` holds, else 0.
    Indicator {
        /// The comparison.
        cmp: Cmp,
        /// The value compared with (finite).
        value: f64,
    },
    /// Numbers: rounded down to an integer.
    Floor,
}

impl Op {
    /// [`Op::Between`].
    ///
    /// ```
    /// use mlflow_ml::features::Op;
    /// assert_eq!(Op::between("(", ")"), Op::Between { start: "(".into(), end: ")".into() });
    /// ```
    pub fn between(start: impl Into<String>, end: impl Into<String>) -> Self {
        Op::Between { start: start.into(), end: end.into() }
    }

    /// [`Op::MapText`] keeping values not in the map.
    ///
    /// ```
    /// use mlflow_ml::features::Op;
    /// let op = Op::map_text([("Mlle", "Miss"), ("Mme", "Mrs")]);
    /// assert!(matches!(op, Op::MapText { other: None, .. }));
    /// ```
    pub fn map_text<I, A, B>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (A, B)>,
        A: Into<String>,
        B: Into<String>,
    {
        Op::MapText { map: pairs.into_iter().map(|(a, b)| (a.into(), b.into())).collect(), other: None }
    }

    /// [`Op::MapText`] mapping values not in the map to `other` (e.g. rare titles to "Rare").
    ///
    /// ```
    /// use mlflow_ml::data::{Column, Table};
    /// use mlflow_ml::features::Op;
    /// let t = Table::new(vec![("t".into(), Column::Str(vec![Some("Mr".into()), Some("Dr".into())]))]).unwrap();
    /// let out = Op::map_text_or([("Mr", "Mr")], "Rare").transform(&t, "t")?;
    /// assert_eq!(out.as_text().unwrap(), &[Some("Mr".to_string()), Some("Rare".to_string())]);
    /// # Ok::<(), mlflow_ml::features::FeatureError>(())
    /// ```
    pub fn map_text_or<I, A, B>(pairs: I, other: impl Into<String>) -> Self
    where
        I: IntoIterator<Item = (A, B)>,
        A: Into<String>,
        B: Into<String>,
    {
        match Op::map_text(pairs) {
            Op::MapText { map, .. } => Op::MapText { map, other: Some(other.into()) },
            op => op,
        }
    }

    /// [`Op::Indicator`].
    ///
    /// ```
    /// use mlflow_ml::features::{Cmp, Op};
    /// assert_eq!(Op::indicator(Cmp::Eq, 0.0), Op::Indicator { cmp: Cmp::Eq, value: 0.0 });
    /// ```
    pub fn indicator(cmp: Cmp, value: f64) -> Self {
        Op::Indicator { cmp, value }
    }

    pub(crate) fn step_name(&self) -> &'static str {
        match self {
            Op::FirstChar => "first char",
            Op::Between { .. } => "between",
            Op::MapText { .. } => "map text",
            Op::Indicator { .. } => "indicator",
            Op::Floor => "floor",
        }
    }

    pub(crate) fn validate(&self, feature: &str) -> Result<(), FeatureError> {
        match self {
            Op::Between { end, .. } if end.is_empty() => {
                Err(invalid(feature, "`between` needs a non-empty end delimiter"))
            }
            Op::MapText { map, .. } => {
                let mut seen = BTreeSet::new();
                match map.iter().find(|(a, _)| !seen.insert(a.as_str())) {
                    Some((a, _)) => {
                        Err(invalid(feature, format!("`{a}` appears twice in a text map; keep one")))
                    }
                    None => Ok(()),
                }
            }
            Op::Indicator { value, .. } if !value.is_finite() => {
                Err(invalid(feature, format!("indicator value {value} is not finite")))
            }
            _ => Ok(()),
        }
    }

    /// Applies the operation to the named column (text results as a `Str` column, numbers as a
    /// `Float` column).
    ///
    /// ```
    /// use mlflow_ml::data::{Column, Table};
    /// use mlflow_ml::features::{Cmp, Op};
    /// let t = Table::new(vec![("n".into(), Column::Int(vec![Some(0), Some(2), None]))]).unwrap();
    /// let out = Op::indicator(Cmp::Eq, 0.0).transform(&t, "n")?;
    /// assert_eq!(out.as_float().unwrap(), &[Some(1.0), Some(0.0), None]);
    /// # Ok::<(), mlflow_ml::features::FeatureError>(())
    /// ```
    pub fn transform(&self, table: &Table, column: &str) -> Result<Column, FeatureError> {
        self.validate(column)?;
        let (values, rows) = whole(table, column)?;
        Ok(self.apply(values, Site { column, rows })?.into_column())
    }

    pub(crate) fn apply(&self, values: Values, site: Site<'_>) -> Result<Values, FeatureError> {
        let step = self.step_name();
        Ok(match self {
            Op::FirstChar => Values::Text(
                texts(values, site, step)?
                    .into_iter()
                    .map(|s| s.and_then(|s| s.chars().next().map(String::from)))
                    .collect(),
            ),
            Op::Between { start, end } => Values::Text(
                texts(values, site, step)?
                    .into_iter()
                    .map(|s| s.and_then(|s| between(&s, start, end)))
                    .collect(),
            ),
            Op::MapText { map, other } => {
                let map: BTreeMap<&str, &str> = map.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
                Values::Text(
                    texts(values, site, step)?
                        .into_iter()
                        .map(|s| {
                            s.map(|s| match (map.get(s.as_str()), other) {
                                (Some(to), _) => (*to).to_owned(),
                                (None, Some(o)) => o.clone(),
                                (None, None) => s,
                            })
                        })
                        .collect(),
                )
            }
            Op::Indicator { cmp, value } => Values::Num(
                numbers(values, site)?
                    .into_iter()
                    .map(|x| x.map(|x| if cmp.holds(x, *value) { 1.0 } else { 0.0 }))
                    .collect(),
            ),
            Op::Floor => Values::Num(numbers(values, site)?.into_iter().map(|x| x.map(f64::floor)).collect()),
        })
    }
}

fn between(s: &str, start: &str, end: &str) -> Option<String> {
    let from = s.find(start)? + start.len();
    let rest = s.get(from..)?;
    let to = rest.find(end)?;
    rest.get(..to).map(str::to_owned)
}

/// Checks finite numbers in a derived result.
pub(crate) fn finite(v: Vec<Option<f64>>, site: Site<'_>) -> Result<Vec<Option<f64>>, FeatureError> {
    check_finite(&v, site)?;
    Ok(v)
}
