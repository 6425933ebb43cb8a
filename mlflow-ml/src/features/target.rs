//! Targets read from a table: class labels as given (integers or text, numbered in a recorded
//! order) for classifiers, and numeric values for regressors.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::data::{Column, Table};

use super::FeatureError;
use super::values::column;

/// One class label, as the label column holds it.
///
/// ```
/// use mlflow_ml::features::ClassLabel;
/// assert_eq!(ClassLabel::Int(2).to_string(), "2");
/// assert_eq!(ClassLabel::Text("setosa".into()).to_string(), "setosa");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ClassLabel {
    /// An integer label (also whole-number floats such as `1.0`).
    Int(i64),
    /// A text label.
    Text(String),
}

impl fmt::Display for ClassLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClassLabel::Int(v) => write!(f, "{v}"),
            ClassLabel::Text(s) => f.write_str(s),
        }
    }
}

/// The classes of a label column, kept as given and numbered in sorted order (integers
/// ascending, text by code point), as scikit-learn's `classes_` (`np.unique`) numbers them:
/// class index `i` is `labels()[i]`, column `i` of `predict_proba`.
///
/// [`ClassLabels::fit`] learns them from the training rows and encodes those rows;
/// [`ClassLabels::encode`] encodes any other rows and refuses a class it did not see.
///
/// ```
/// use mlflow_ml::data::{Column, Table};
/// use mlflow_ml::features::{ClassLabel, ClassLabels, FeatureError};
/// let species = ["virginica", "setosa", "versicolor", "setosa"].map(|s| Some(s.to_string()));
/// let t = Table::new(vec![("species".into(), Column::Str(species.to_vec()))]).unwrap();
/// let (classes, y) = ClassLabels::fit(&t, "species", &[0, 1, 2, 3])?;
/// assert_eq!(classes.labels(), [ClassLabel::Text("setosa".into()), ClassLabel::Text("versicolor".into()), ClassLabel::Text("virginica".into())]);
/// assert_eq!(y, [2, 0, 1, 0]);
/// assert_eq!(classes.label(2).map(|l| l.to_string()), Some("virginica".into()));
/// # Ok::<(), FeatureError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassLabels {
    labels: Vec<ClassLabel>,
}

impl ClassLabels {
    /// Classes given explicitly, in class-index order (for a model whose classes are known).
    ///
    /// ```
    /// use mlflow_ml::features::{ClassLabel, ClassLabels};
    /// let binary = ClassLabels::new(vec![ClassLabel::Int(0), ClassLabel::Int(1)]);
    /// assert_eq!(binary.len(), 2);
    /// ```
    pub fn new(labels: Vec<ClassLabel>) -> ClassLabels {
        ClassLabels { labels }
    }

    /// Classes `0, 1, ..., n - 1`: what a model fitted on class indices knows before its labels
    /// are named.
    ///
    /// ```
    /// use mlflow_ml::features::ClassLabels;
    /// assert_eq!(ClassLabels::numbered(3).describe(), "0, 1, 2");
    /// ```
    pub fn numbered(n: usize) -> ClassLabels {
        ClassLabels { labels: (0..n as i64).map(ClassLabel::Int).collect() }
    }

    /// Learns the classes from the label column's `rows` (the training rows) and returns them with
    /// those rows' class indices, in `rows` order.
    ///
    /// Errors name the column and the row: a missing label, a float that is not a whole number
    /// (a numeric target belongs to a regressor), or a single class among the rows
    /// ([`FeatureError::OneClass`]).
    ///
    /// ```
    /// use mlflow_ml::data::{Column, Table};
    /// use mlflow_ml::features::{ClassLabels, FeatureError};
    /// let t = Table::new(vec![("y".into(), Column::Int(vec![Some(5), Some(5)]))]).unwrap();
    /// let err = ClassLabels::fit(&t, "y", &[0, 1]).unwrap_err();
    /// assert!(matches!(err, FeatureError::OneClass { .. }));
    /// assert!(err.to_string().contains("only one class"));
    /// ```
    pub fn fit(
        table: &Table,
        label: &str,
        rows: &[usize],
    ) -> Result<(ClassLabels, Vec<usize>), FeatureError> {
        let values = read_labels(table, label)?;
        let mut seen = BTreeSet::new();
        for &row in rows {
            let value = values.get(row).ok_or_else(|| FeatureError::BadLabel {
                column: label.to_owned(),
                row,
                message: format!(
                    "row {row} is past the table's {} rows; pass row indices of this table",
                    values.len()
                ),
            })?;
            seen.insert(value.clone());
        }
        if seen.len() < 2 {
            return Err(FeatureError::OneClass {
                column: label.to_owned(),
                class: seen.into_iter().next().map(|c| c.to_string()).unwrap_or_default(),
                rows: rows.len(),
            });
        }
        let classes = ClassLabels { labels: seen.into_iter().collect() };
        let encoded = rows.iter().map(|&row| classes.index_of(&values[row]).unwrap_or(0)).collect();
        Ok((classes, encoded))
    }

    /// The class index of every row of the label column; a label not among the classes is
    /// [`FeatureError::UnseenClass`].
    ///
    /// ```
    /// use mlflow_ml::data::{Column, Table};
    /// use mlflow_ml::features::{ClassLabel, ClassLabels, FeatureError};
    /// let classes = ClassLabels::new(vec![ClassLabel::Int(0), ClassLabel::Int(1)]);
    /// let t = Table::new(vec![("y".into(), Column::Int(vec![Some(1), Some(7)]))]).unwrap();
    /// let err = classes.encode(&t, "y").unwrap_err();
    /// assert!(matches!(err, FeatureError::UnseenClass { row: 1, .. }));
    /// ```
    pub fn encode(&self, table: &Table, label: &str) -> Result<Vec<usize>, FeatureError> {
        read_labels(table, label)?
            .iter()
            .enumerate()
            .map(|(row, value)| {
                self.index_of(value).ok_or_else(|| FeatureError::UnseenClass {
                    column: label.to_owned(),
                    row,
                    class: value.to_string(),
                    known: self.describe(),
                })
            })
            .collect()
    }

    /// The classes in class-index order.
    pub fn labels(&self) -> &[ClassLabel] {
        &self.labels
    }

    /// The label of class index `index`.
    pub fn label(&self, index: usize) -> Option<&ClassLabel> {
        self.labels.get(index)
    }

    /// The number of classes.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no classes.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The class index of `label`.
    pub fn index_of(&self, label: &ClassLabel) -> Option<usize> {
        self.labels.binary_search(label).ok().or_else(|| self.labels.iter().position(|l| l == label))
    }

    /// The classes as text: `0, 1` or `setosa, versicolor, virginica`.
    pub fn describe(&self) -> String {
        self.labels.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
    }
}

/// Reads every row of a label column as a [`ClassLabel`]: integers, whole-number floats and text
/// (kept as text, trimmed of nothing); a missing value or a fractional float is an error naming
/// the row.
fn read_labels(table: &Table, label: &str) -> Result<Vec<ClassLabel>, FeatureError> {
    let bad = |row: usize, message: String| FeatureError::BadLabel { column: label.to_owned(), row, message };
    let missing = |row: usize| bad(row, "missing label; drop the row or fill the label".into());
    match column(table, label)? {
        Column::Int(v) => {
            v.iter().enumerate().map(|(row, x)| x.map(ClassLabel::Int).ok_or_else(|| missing(row))).collect()
        }
        Column::Float(v) => v
            .iter()
            .enumerate()
            .map(|(row, x)| match x {
                None => Err(missing(row)),
                Some(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => Ok(ClassLabel::Int(*x as i64)),
                Some(x) => Err(bad(
                    row,
                    format!(
                        "`{x}` is not a class label (classes are integers or text); for a numeric target, train a regressor (Prepare::regression)"
                    ),
                )),
            })
            .collect(),
        Column::Str(v) => v
            .iter()
            .enumerate()
            .map(|(row, x)| x.as_ref().map(|s| ClassLabel::Text(s.clone())).ok_or_else(|| missing(row)))
            .collect(),
    }
}

/// Reads a regression target: one finite number per row.
///
/// A text column, a missing value or a NaN/infinite value is an error naming the column, the
/// row and the fix ([`FeatureError::BadTarget`]).
///
/// ```
/// use mlflow_ml::data::{Column, Table};
/// use mlflow_ml::features::{regression_target, FeatureError};
/// let t = Table::new(vec![("price".into(), Column::Int(vec![Some(3), Some(5)]))]).unwrap();
/// assert_eq!(regression_target(&t, "price")?, [3.0, 5.0]);
/// let t = Table::new(vec![("species".into(), Column::Str(vec![Some("setosa".into())]))]).unwrap();
/// let err = regression_target(&t, "species").unwrap_err();
/// assert!(err.to_string().contains("classifier"));
/// # Ok::<(), FeatureError>(())
/// ```
pub fn regression_target(table: &Table, target: &str) -> Result<Vec<f64>, FeatureError> {
    let bad =
        |row: usize, message: String| FeatureError::BadTarget { column: target.to_owned(), row, message };
    let number = |row: usize, x: Option<f64>| match x {
        None => Err(bad(row, "missing target value; drop the row or fill the target".into())),
        Some(x) if !x.is_finite() => {
            Err(bad(row, format!("`{x}` is not a finite number; drop the row or fix the target")))
        }
        Some(x) => Ok(x),
    };
    match column(table, target)? {
        Column::Int(v) => v.iter().enumerate().map(|(row, x)| number(row, x.map(|x| x as f64))).collect(),
        Column::Float(v) => v.iter().enumerate().map(|(row, x)| number(row, *x)).collect(),
        Column::Str(v) => {
            let row = v.iter().position(Option::is_some).unwrap_or(0);
            let shown = v.get(row).cloned().flatten().unwrap_or_default();
            Err(bad(
                row,
                format!(
                    "the column holds text (`{shown}`), and a regressor needs numbers; for class labels train a classifier (Prepare::label), or convert the column to numbers"
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(column: Column) -> Table {
        Table::new(vec![("y".into(), column)]).unwrap()
    }

    #[test]
    fn integer_classes_sort_numerically_and_floats_must_be_whole() {
        let t = table(Column::Int(vec![Some(10), Some(2), Some(-1), Some(2)]));
        let (classes, y) = ClassLabels::fit(&t, "y", &[0, 1, 2, 3]).unwrap();
        assert_eq!(classes.describe(), "-1, 2, 10");
        assert_eq!(y, [2, 1, 0, 1]);
        let t = table(Column::Float(vec![Some(1.0), Some(0.0), Some(0.5)]));
        let err = ClassLabels::fit(&t, "y", &[0, 1, 2]).unwrap_err();
        assert!(matches!(err, FeatureError::BadLabel { row: 2, .. }), "{err}");
        assert!(err.to_string().contains("regressor"), "{err}");
    }

    #[test]
    fn fit_learns_from_the_given_rows_only() {
        let t = table(Column::Str(["a", "b", "c"].map(|s| Some(s.to_string())).to_vec()));
        let (classes, y) = ClassLabels::fit(&t, "y", &[1, 0]).unwrap();
        assert_eq!((classes.describe().as_str(), y), ("a, b", vec![1, 0]));
        let err = classes.encode(&t, "y").unwrap_err();
        assert!(matches!(err, FeatureError::UnseenClass { row: 2, .. }), "{err}");
        assert!(err.to_string().contains("`c`") && err.to_string().contains("a, b"), "{err}");
    }

    #[test]
    fn missing_labels_and_targets_name_the_row() {
        let t = table(Column::Int(vec![Some(1), None]));
        assert!(matches!(ClassLabels::fit(&t, "y", &[0, 1]), Err(FeatureError::BadLabel { row: 1, .. })));
        assert!(matches!(regression_target(&t, "y"), Err(FeatureError::BadTarget { row: 1, .. })));
        let t = table(Column::Float(vec![Some(1.0), Some(f64::NAN)]));
        assert!(matches!(regression_target(&t, "y"), Err(FeatureError::BadTarget { row: 1, .. })));
    }
}
