//! The transformers: imputer, category encoder, binner, standard scaler (fitted on training rows
//! into a serializable fitted state) and stateless operations on one column.
//!
//! Each fitted transformer can be used on its own, on a named column of a [`Table`]:
//! `spec.fit(&table, "Age", &train_rows)?` then `fitted.transform(&table, "Age")?` on any table
//! with that column (training, hold-out or serving rows). Inside a [`FeatureSpec`] the same
//! transformers are steps of a feature's chain.
//!
//! [`FeatureSpec`]: super::FeatureSpec

use serde::{Deserialize, Serialize};

use crate::data::Table;

use super::FeatureError;
use super::values::{Rows, Values, check_rows, read};

mod bin;
mod encode;
mod impute;
mod op;
mod scale;

pub(crate) use bin::quantile;
pub use bin::{Binner, FittedBinner};
pub use encode::{Encoder, FittedEncoder, Mapping, Unseen};
pub use impute::{FittedImputer, Imputer, Strategy};
pub(crate) use op::finite;
pub use op::{Cmp, Op};
pub(crate) use scale::moments;
pub use scale::{FittedScaler, StandardScaler};

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

pub(super) fn invalid(feature: &str, message: impl Into<String>) -> FeatureError {
    FeatureError::InvalidSpec { feature: feature.to_owned(), message: message.into() }
}

/// Reads a named column at the training rows.
pub(super) fn training(table: &Table, column: &str, rows: &[usize]) -> Result<Values, FeatureError> {
    check_rows(rows, table.rows())?;
    read(table, column, Rows::Subset(rows))
}

pub(super) fn whole(table: &Table, column: &str) -> Result<(Values, Rows<'static>), FeatureError> {
    let rows = Rows::All(table.rows());
    Ok((read(table, column, rows)?, rows))
}
