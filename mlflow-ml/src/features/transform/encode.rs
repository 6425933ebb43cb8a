//! Category encoding: text categories to integer codes.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::data::{Column, Table};

use super::{invalid, training, whole};
use crate::features::FeatureError;
use crate::features::values::{Rows, Site, Values, required, texts};

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
        if let Unseen::Code(c) = self.unseen
            && c == i64::MAX
        {
            return Err(invalid(feature, "unseen code i64::MAX is reserved; pick a smaller code"));
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
