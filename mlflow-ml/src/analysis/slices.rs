//! Metrics per slice of the rows: by a column's value, by bins of a numeric column, or by the
//! cross of two.

use ndarray::{ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use super::AnalysisError;
use crate::data::{Column, Table};
use crate::eval::Evaluation;

/// Which slice each row is in: one label per row (`None`: a missing value, its own slice `null`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slicing {
    /// What the slices are of: `Sex`, `Age bins`, `Sex x Pclass`.
    pub name: String,
    /// Each row's slice.
    pub labels: Vec<String>,
}

impl Slicing {
    /// By the value of column `column` of `table` (rows in table order).
    ///
    /// ```
    /// use mlflow_ml::analysis::Slicing;
    /// use mlflow_ml::data::{Column, Table};
    /// let t = Table::new(vec![("Sex".into(), Column::Str(vec![Some("f".into()), None]))]).unwrap();
    /// assert_eq!(Slicing::by_value(&t, "Sex")?.labels, ["f", "null"]);
    /// # Ok::<(), mlflow_ml::analysis::AnalysisError>(())
    /// ```
    pub fn by_value(table: &Table, column: &str) -> Result<Slicing, AnalysisError> {
        let labels = match find(table, column)? {
            Column::Int(v) => v.iter().map(|x| x.map_or("null".into(), |x| x.to_string())).collect(),
            Column::Float(v) => v.iter().map(|x| x.map_or("null".into(), |x| x.to_string())).collect(),
            Column::Str(v) => v.iter().map(|x| x.clone().unwrap_or_else(|| "null".into())).collect(),
        };
        Ok(Slicing { name: column.to_owned(), labels })
    }

    /// By bins of the numeric column `column`: `(-inf, e0]`, `(e0, e1]`, ..., `(e_last, inf)`
    /// for ascending `edges`.
    pub fn by_bins(table: &Table, column: &str, edges: &[f64]) -> Result<Slicing, AnalysisError> {
        if edges.is_empty() || edges.iter().any(|e| !e.is_finite()) || edges.windows(2).any(|w| w[0] >= w[1])
        {
            return Err(AnalysisError::BadInput {
                detail: format!("bins of `{column}` need finite, strictly ascending edges, not {edges:?}"),
            });
        }
        let values: Vec<Option<f64>> = match find(table, column)? {
            Column::Int(v) => v.iter().map(|x| x.map(|x| x as f64)).collect(),
            Column::Float(v) => v.clone(),
            Column::Str(_) => {
                return Err(AnalysisError::BadInput {
                    detail: format!(
                        "column `{column}` holds text: slice it by value, or give a numeric column to bin"
                    ),
                });
            }
        };
        let label = |x: f64| {
            let i = edges.partition_point(|&e| e < x);
            match i {
                0 => format!("<= {}", edges[0]),
                i if i == edges.len() => format!("> {}", edges[i - 1]),
                i => format!("({}, {}]", edges[i - 1], edges[i]),
            }
        };
        let labels = values.iter().map(|x| x.map_or_else(|| "null".to_owned(), label)).collect();
        Ok(Slicing { name: format!("{column} bins"), labels })
    }

    /// Every pair of slices of `self` and `other`, as `a x b`.
    pub fn cross(&self, other: &Slicing) -> Result<Slicing, AnalysisError> {
        if self.labels.len() != other.labels.len() {
            return Err(AnalysisError::BadInput {
                detail: format!(
                    "`{}` has {} rows and `{}` {}",
                    self.name,
                    self.labels.len(),
                    other.name,
                    other.labels.len()
                ),
            });
        }
        Ok(Slicing {
            name: format!("{} x {}", self.name, other.name),
            labels: self.labels.iter().zip(&other.labels).map(|(a, b)| format!("{a} x {b}")).collect(),
        })
    }
}

fn find<'t>(table: &'t Table, column: &str) -> Result<&'t Column, AnalysisError> {
    table.column(column).ok_or_else(|| AnalysisError::BadInput {
        detail: format!("the table has no column `{column}`; its columns are {}", table.names().join(", ")),
    })
}

/// One slice's metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SliceMetrics {
    /// The slice's label.
    pub slice: String,
    /// Its rows.
    pub count: usize,
    /// Its metrics; `None` when it is too small or they are undefined on it (one class only).
    pub metrics: Option<Evaluation>,
    /// Why there are no metrics: under the minimum size, or what evaluating said.
    pub note: Option<String>,
}

/// The classification metrics of each slice of `slicing` (sorted by label), from class indices
/// `y_true` and probabilities `proba` (one column per class) of the same rows. A slice of fewer
/// than `min_rows` rows is listed with its count and flagged, not scored.
///
/// ```
/// use mlflow_ml::analysis::{slice_metrics, Slicing};
/// use ndarray::array;
/// let slicing = Slicing { name: "sex".into(), labels: ["f", "f", "m", "m", "m"].map(String::from).to_vec() };
/// let proba = array![[0.1, 0.9], [0.8, 0.2], [0.7, 0.3], [0.4, 0.6], [0.9, 0.1]];
/// let slices = slice_metrics(&slicing, &[1, 0, 0, 1, 0], proba.view(), 3)?;
/// assert_eq!((slices[0].slice.as_str(), slices[0].count), ("f", 2));
/// assert!(slices[0].metrics.is_none() && slices[0].note.as_deref().unwrap().contains("fewer than 3"));
/// assert_eq!(slices[1].metrics.as_ref().unwrap().binary().unwrap().accuracy, 1.0);
/// # Ok::<(), mlflow_ml::analysis::AnalysisError>(())
/// ```
pub fn slice_metrics(
    slicing: &Slicing,
    y_true: &[usize],
    proba: ArrayView2<'_, f64>,
    min_rows: usize,
) -> Result<Vec<SliceMetrics>, AnalysisError> {
    if slicing.labels.len() != y_true.len() || proba.nrows() != y_true.len() {
        return Err(AnalysisError::BadInput {
            detail: format!(
                "{} slice labels, {} labels and {} probability rows: give one of each per row",
                slicing.labels.len(),
                y_true.len(),
                proba.nrows()
            ),
        });
    }
    let mut by_slice: std::collections::BTreeMap<&str, Vec<usize>> = Default::default();
    for (row, label) in slicing.labels.iter().enumerate() {
        by_slice.entry(label).or_default().push(row);
    }
    Ok(by_slice
        .into_iter()
        .map(|(slice, rows)| {
            let count = rows.len();
            let (metrics, note) = if count < min_rows {
                (None, Some(format!("fewer than {min_rows} rows: not scored")))
            } else {
                let y: Vec<usize> = rows.iter().map(|&r| y_true[r]).collect();
                match Evaluation::of_classes(&y, proba.select(Axis(0), &rows).view()) {
                    Ok(m) => (Some(m), None),
                    Err(e) => (None, Some(e.to_string())),
                }
            };
            SliceMetrics { slice: slice.to_owned(), count, metrics, note }
        })
        .collect())
}
