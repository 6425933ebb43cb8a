//! The transformers: imputer, category encoder, binner, standard scaler (fitted on training rows
//! into a serializable fitted state) and stateless operations on one column.
//!
//! Each fitted transformer can be used on its own, on a named column of a [`Table`]:
//! `spec.fit(&table, "Age", &train_rows)?` then `fitted.transform(&table, "Age")?` on any table
//! with that column (training, hold-out or serving rows). Inside a [`FeatureSpec`] the same
//! transformers are steps of a feature's chain.
//!
//! [`FeatureSpec`]: super::FeatureSpec

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::data::{Column, Table};

use super::values::{check_finite, check_rows, numbers, read, required, texts, Rows, Site, Values};
use super::FeatureError;

/// A fill value: a number or a text.
///
/// ```
/// use mlflow_ml::features::Value;
/// assert_eq!(Value::from(28.0), Value::Num(28.0));
/// assert_eq!(Value::from("S"), Value::Text("S".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Value {
    /// A number.
    Num(f64),
    /// A text.
    Text(String),
}

impl Value {
    /// The number, if this is one.
    ///
    /// ```
    /// use mlflow_ml::features::Value;
    /// assert_eq!(Value::Num(1.5).as_num(), Some(1.5));
    /// assert_eq!(Value::Text("a".into()).as_num(), None);
    /// ```
    pub fn as_num(&self) -> Option<f64> {
        match self {
            Value::Num(x) => Some(*x),
            Value::Text(_) => None,
        }
    }

    /// The text, if this is one.
    ///
    /// ```
    /// use mlflow_ml::features::Value;
    /// assert_eq!(Value::Text("S".into()).as_text(), Some("S"));
    /// assert_eq!(Value::Num(1.0).as_text(), None);
    /// ```
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Num(_) => None,
            Value::Text(s) => Some(s),
        }
    }
}

impl From<f64> for Value {
    fn from(x: f64) -> Self {
        Value::Num(x)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}

fn invalid(feature: &str, message: impl Into<String>) -> FeatureError {
    FeatureError::InvalidSpec { feature: feature.to_owned(), message: message.into() }
}

/// Reads a named column at the training rows.
fn training(table: &Table, column: &str, rows: &[usize]) -> Result<Values, FeatureError> {
    check_rows(rows, table.rows())?;
    read(table, column, Rows::Subset(rows))
}

fn whole(table: &Table, column: &str) -> Result<(Values, Rows<'static>), FeatureError> {
    let rows = Rows::All(table.rows());
    Ok((read(table, column, rows)?, rows))
}

// ---------------------------------------------------------------------------------------------
// Imputer

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

// ---------------------------------------------------------------------------------------------
// Encoder

/// Where an [`Encoder`]'s categories and codes come from.
///
/// ```
/// use mlflow_ml::features::Mapping;
/// let m = Mapping::Explicit(vec![("S".into(), 0), ("C".into(), 1), ("Q".into(), 2)]);
/// assert_ne!(m, Mapping::Learned);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Mapping {
    /// Given by the user: `(category, code)` pairs. Categories must be distinct; several
    /// categories may share a code.
    Explicit(Vec<(String, i64)>),
    /// Learned at fit: the distinct non-missing training categories, sorted by byte order, get
    /// codes `0, 1, 2, ...` (so the codes do not depend on row order).
    Learned,
}

/// What an [`Encoder`] does with a category it does not know (not in the explicit mapping, or
/// not seen in the training rows).
///
/// ```
/// use mlflow_ml::features::Unseen;
/// assert_eq!(Unseen::default(), Unseen::Error);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Unseen {
    /// An [`UnseenCategory`](FeatureError::UnseenCategory) error naming the row and value.
    #[default]
    Error,
    /// This code.
    Code(i64),
    /// A reserved "unknown" code: one more than the largest known code, fixed at fit.
    Reserved,
}

/// Maps text categories to integer codes.
///
/// Missing values are an error (impute first). Unknown categories follow [`Unseen`].
///
/// ```
/// use mlflow_ml::data::{Column, Table};
/// use mlflow_ml::features::{Encoder, Unseen};
/// let t = Table::new(vec![("Port".into(), Column::Str(vec![Some("S".into()), Some("Q".into()), Some("X".into())]))])
///     .unwrap();
/// let enc = Encoder::explicit([("S", 0), ("C", 1), ("Q", 2)]).unseen(Unseen::Reserved);
/// let out = enc.fit(&t, "Port", &[0, 1])?.transform(&t, "Port")?;
/// assert_eq!(out.as_int().unwrap(), &[Some(0), Some(2), Some(3)]); // X is unknown: 3
/// # Ok::<(), mlflow_ml::features::FeatureError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Encoder {
    /// Where the codes come from.
    pub mapping: Mapping,
    /// What unknown categories become.
    pub unseen: Unseen,
}

impl Encoder {
    /// An encoder with the given `(category, code)` pairs; unknown categories are an error.
    ///
    /// ```
    /// use mlflow_ml::features::{Encoder, Mapping, Unseen};
    /// let e = Encoder::explicit([("male", 0), ("female", 1)]);
    /// assert_eq!(e.mapping, Mapping::Explicit(vec![("male".into(), 0), ("female".into(), 1)]));
    /// assert_eq!(e.unseen, Unseen::Error);
    /// ```
    pub fn explicit<I, S>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (S, i64)>,
        S: Into<String>,
    {
        Encoder {
            mapping: Mapping::Explicit(pairs.into_iter().map(|(s, c)| (s.into(), c)).collect()),
            unseen: Unseen::Error,
        }
    }

    /// An encoder that learns sorted categories at fit; unknown categories are an error.
    ///
    /// ```
    /// use mlflow_ml::features::{Encoder, Mapping};
    /// assert_eq!(Encoder::learned().mapping, Mapping::Learned);
    /// ```
    pub fn learned() -> Self {
        Encoder { mapping: Mapping::Learned, unseen: Unseen::Error }
    }

    /// Sets the rule for unknown categories.
    ///
    /// ```
    /// use mlflow_ml::features::{Encoder, Unseen};
    /// assert_eq!(Encoder::learned().unseen(Unseen::Code(-1)).unseen, Unseen::Code(-1));
    /// ```
    pub fn unseen(mut self, rule: Unseen) -> Self {
        self.unseen = rule;
        self
    }

    /// Fits on the named text column at `train_rows` (an explicit mapping needs no data, but the
    /// column must exist).
    ///
    /// ```
    /// use mlflow_ml::data::{Column, Table};
    /// use mlflow_ml::features::Encoder;
    /// let t = Table::new(vec![("c".into(), Column::Str(vec![Some("b".into()), Some("a".into()), Some("z".into())]))])
    ///     .unwrap();
    /// let fitted = Encoder::learned().fit(&t, "c", &[0, 1])?;
    /// assert_eq!(fitted.code("a"), Some(0));
    /// assert_eq!(fitted.code("b"), Some(1));
    /// assert_eq!(fitted.code("z"), None); // not in the training rows
    /// # Ok::<(), mlflow_ml::features::FeatureError>(())
    /// ```
    pub fn fit(
        &self,
        table: &Table,
        column: &str,
        train_rows: &[usize],
    ) -> Result<FittedEncoder, FeatureError> {
        let values = training(table, column, train_rows)?;
        self.fit_values(&values, Site { column, rows: Rows::Subset(train_rows) })
    }

    pub(crate) fn validate(&self, feature: &str) -> Result<(), FeatureError> {
        if let Mapping::Explicit(pairs) = &self.mapping {
            if pairs.is_empty() {
                return Err(invalid(
                    feature,
                    "the encoder's explicit mapping is empty; give at least one category",
                ));
            }
            let mut seen = BTreeSet::new();
            for (s, _) in pairs {
                if !seen.insert(s.as_str()) {
                    return Err(invalid(
                        feature,
                        format!("category `{s}` appears twice in the encoder's mapping; keep one"),
                    ));
                }
            }
        }
        if let Unseen::Code(c) = self.unseen {
            if c == i64::MAX {
                return Err(invalid(feature, "unseen code i64::MAX is reserved; pick a smaller code"));
            }
        }
        Ok(())
    }

    pub(crate) fn fit_values(&self, values: &Values, site: Site<'_>) -> Result<FittedEncoder, FeatureError> {
        self.validate(site.column)?;
        let codes: BTreeMap<String, i64> = match &self.mapping {
            Mapping::Explicit(pairs) => pairs.iter().cloned().collect(),
            Mapping::Learned => {
                let cats: BTreeSet<String> =
                    texts(values.clone(), site, "encode")?.into_iter().flatten().collect();
                if cats.is_empty() {
                    return Err(FeatureError::NoTrainingValues {
                        column: site.column.to_owned(),
                        step: "encode",
                        rows: values.len(),
                        context: String::new(),
                    });
                }
                cats.into_iter().zip(0..).collect()
            }
        };
        let unknown = match self.unseen {
            Unseen::Error => None,
            Unseen::Code(c) => Some(c),
            Unseen::Reserved => Some(codes.values().max().copied().unwrap_or(-1).saturating_add(1)),
        };
        Ok(FittedEncoder { codes, unknown })
    }
}

/// A fitted [`Encoder`]: category codes (sorted by category) and the unknown code, if any.
///
/// ```
/// use mlflow_ml::data::{Column, Table};
/// use mlflow_ml::features::{Encoder, Unseen};
/// let t = Table::new(vec![("c".into(), Column::Str(vec![Some("x".into())]))]).unwrap();
/// let fitted = Encoder::learned().unseen(Unseen::Reserved).fit(&t, "c", &[0])?;
/// assert_eq!(fitted.unknown_code(), Some(1));
/// # Ok::<(), mlflow_ml::features::FeatureError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedEncoder {
    codes: BTreeMap<String, i64>,
    unknown: Option<i64>,
}

impl FittedEncoder {
    /// The known categories and their codes.
    ///
    /// ```
    /// use mlflow_ml::data::{Column, Table};
    /// use mlflow_ml::features::Encoder;
    /// let t = Table::new(vec![("c".into(), Column::Str(vec![Some("b".into()), Some("a".into())]))]).unwrap();
    /// let fitted = Encoder::learned().fit(&t, "c", &[0, 1])?;
    /// assert_eq!(fitted.codes().keys().collect::<Vec<_>>(), ["a", "b"]);
    /// # Ok::<(), mlflow_ml::features::FeatureError>(())
    /// ```
    pub fn codes(&self) -> &BTreeMap<String, i64> {
        &self.codes
    }

    /// The code for unknown categories; `None` when they are an error.
    ///
    /// ```
    /// use mlflow_ml::data::{Column, Table};
    /// use mlflow_ml::features::{Encoder, Unseen};
    /// let t = Table::new(vec![("c".into(), Column::Str(vec![Some("A".into())]))]).unwrap();
    /// let fitted = Encoder::explicit([("A", 1)]).unseen(Unseen::Code(8)).fit(&t, "c", &[0])?;
    /// assert_eq!(fitted.unknown_code(), Some(8));
    /// # Ok::<(), mlflow_ml::features::FeatureError>(())
    /// ```
    pub fn unknown_code(&self) -> Option<i64> {
        self.unknown
    }

    /// The code of one category (the unknown code for an unknown one, `None` if they are an error).
    ///
    /// ```
    /// use mlflow_ml::data::{Column, Table};
    /// use mlflow_ml::features::Encoder;
    /// let t = Table::new(vec![("c".into(), Column::Str(vec![Some("A".into())]))]).unwrap();
    /// let fitted = Encoder::explicit([("A", 1)]).fit(&t, "c", &[0])?;
    /// assert_eq!(fitted.code("A"), Some(1));
    /// assert_eq!(fitted.code("T"), None);
    /// # Ok::<(), mlflow_ml::features::FeatureError>(())
    /// ```
    pub fn code(&self, category: &str) -> Option<i64> {
        self.codes.get(category).copied().or(self.unknown)
    }

    /// Encodes the named text column into an `Int` column of codes.
    ///
    /// ```
    /// use mlflow_ml::data::{Column, Table};
    /// use mlflow_ml::features::{Encoder, FeatureError};
    /// let t = Table::new(vec![("Sex".into(), Column::Str(vec![Some("male".into()), Some("other".into())]))])
    ///     .unwrap();
    /// let fitted = Encoder::explicit([("male", 0), ("female", 1)]).fit(&t, "Sex", &[0])?;
    /// let err = fitted.transform(&t, "Sex").unwrap_err();
    /// assert!(matches!(err, FeatureError::UnseenCategory { row: 1, .. }));
    /// # Ok::<(), FeatureError>(())
    /// ```
    pub fn transform(&self, table: &Table, column: &str) -> Result<Column, FeatureError> {
        let (values, rows) = whole(table, column)?;
        Ok(Column::Int(self.encode(values, Site { column, rows })?.into_iter().map(Some).collect()))
    }

    pub(crate) fn encode(&self, values: Values, site: Site<'_>) -> Result<Vec<i64>, FeatureError> {
        let text = required(texts(values, site, "encode")?, site, "encode")?;
        text.into_iter()
            .enumerate()
            .map(|(i, s)| {
                self.code(&s).ok_or_else(|| FeatureError::UnseenCategory {
                    column: site.column.to_owned(),
                    row: site.rows.id(i),
                    known: self.codes.keys().map(String::as_str).collect::<Vec<_>>().join(", "),
                    value: s,
                    context: String::new(),
                })
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Binner

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

/// Linear-interpolated quantile of sorted, non-empty values.
pub(crate) fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    let frac = pos - lo as f64;
    sorted[lo] + frac * (sorted[hi] - sorted[lo])
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

// ---------------------------------------------------------------------------------------------
// Standard scaler

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
        if self.std > 0.0 && self.std.is_finite() {
            self.std
        } else {
            1.0
        }
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

// ---------------------------------------------------------------------------------------------
// Stateless operations

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
