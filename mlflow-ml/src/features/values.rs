//! Internal value columns flowing through transformer chains, and the row bookkeeping that lets
//! errors name the table row a value came from.

use crate::data::{Column, Table};

use super::FeatureError;

/// One column of intermediate values: numbers (ints widened) or text; `None` is missing.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Values {
    Num(Vec<Option<f64>>),
    Text(Vec<Option<String>>),
}

impl Values {
    pub(crate) fn len(&self) -> usize {
        match self {
            Values::Num(v) => v.len(),
            Values::Text(v) => v.len(),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Values::Num(_) => "numbers",
            Values::Text(_) => "text",
        }
    }

    /// Numeric columns become `Float`, text columns `Str`.
    pub(crate) fn into_column(self) -> Column {
        match self {
            Values::Num(v) => Column::Float(v),
            Values::Text(v) => Column::Str(v),
        }
    }
}

/// Which table rows a `Values` holds: all of them, or a subset (the training rows).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Rows<'a> {
    All(usize),
    Subset(&'a [usize]),
}

impl Rows<'_> {
    pub(crate) fn len(&self) -> usize {
        match self {
            Rows::All(n) => *n,
            Rows::Subset(r) => r.len(),
        }
    }

    /// The table row of position `i`.
    pub(crate) fn id(&self, i: usize) -> usize {
        match self {
            Rows::All(_) => i,
            Rows::Subset(r) => r.get(i).copied().unwrap_or(i),
        }
    }

    fn pick<T: Clone>(&self, v: &[T]) -> Vec<T> {
        match self {
            Rows::All(_) => v.to_vec(),
            Rows::Subset(r) => r.iter().filter_map(|&i| v.get(i).cloned()).collect(),
        }
    }
}

/// Where values come from, for error messages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Site<'a> {
    pub(crate) column: &'a str,
    pub(crate) rows: Rows<'a>,
}

/// Checks training row indices: at least one, all in range.
pub(crate) fn check_rows(rows: &[usize], n: usize) -> Result<(), FeatureError> {
    if rows.is_empty() {
        return Err(FeatureError::NoTrainingRows);
    }
    if let Some(&row) = rows.iter().find(|&&r| r >= n) {
        return Err(FeatureError::RowOutOfRange { row, rows: n });
    }
    Ok(())
}

/// The named column of `table`, or a `MissingColumn` error listing the columns it has.
///
/// ```
/// use mlflow_ml::data::{Column, Table};
/// use mlflow_ml::features::{column, FeatureError};
/// let t = Table::new(vec![("Age".into(), Column::Float(vec![Some(22.0)]))]).unwrap();
/// assert!(column(&t, "Age").is_ok());
/// assert!(matches!(column(&t, "Fare"), Err(FeatureError::MissingColumn { .. })));
/// ```
pub fn column<'t>(table: &'t Table, name: &str) -> Result<&'t Column, FeatureError> {
    table.column(name).ok_or_else(|| FeatureError::MissingColumn {
        column: name.to_owned(),
        available: table.names().join(", "),
        context: String::new(),
    })
}

/// Reads the named column at `rows` (already range-checked). Floats must be finite.
pub(crate) fn read(table: &Table, name: &str, rows: Rows<'_>) -> Result<Values, FeatureError> {
    let col = column(table, name)?;
    Ok(match col {
        Column::Int(v) => Values::Num(rows.pick(v).into_iter().map(|x| x.map(|i| i as f64)).collect()),
        Column::Float(v) => {
            let picked = rows.pick(v);
            check_finite(&picked, Site { column: name, rows })?;
            Values::Num(picked)
        }
        Column::Str(v) => Values::Text(rows.pick(v)),
    })
}

/// Errors on the first NaN or infinite value.
pub(crate) fn check_finite(v: &[Option<f64>], site: Site<'_>) -> Result<(), FeatureError> {
    match v.iter().position(|x| x.is_some_and(|x| !x.is_finite())) {
        Some(i) => Err(FeatureError::NotFinite {
            column: site.column.to_owned(),
            row: site.rows.id(i),
            value: v[i].unwrap_or(f64::NAN),
            context: String::new(),
        }),
        None => Ok(()),
    }
}

/// The values as numbers. Text is parsed (surrounding spaces ignored); a value that does not
/// parse is a `NotNumeric` error, NaN or infinity a `NotFinite` error.
pub(crate) fn numbers(v: Values, site: Site<'_>) -> Result<Vec<Option<f64>>, FeatureError> {
    match v {
        Values::Num(x) => Ok(x),
        Values::Text(t) => t
            .into_iter()
            .enumerate()
            .map(|(i, s)| match s {
                None => Ok(None),
                Some(s) => match s.trim().parse::<f64>() {
                    Ok(x) if x.is_finite() => Ok(Some(x)),
                    Ok(x) => Err(FeatureError::NotFinite {
                        column: site.column.to_owned(),
                        row: site.rows.id(i),
                        value: x,
                        context: String::new(),
                    }),
                    Err(_) => Err(FeatureError::NotNumeric {
                        column: site.column.to_owned(),
                        row: site.rows.id(i),
                        value: s,
                        context: String::new(),
                    }),
                },
            })
            .collect(),
    }
}

/// The values as text. Numbers are accepted only when every one is missing (a column with no
/// values at all has no meaningful type).
pub(crate) fn texts(
    v: Values,
    site: Site<'_>,
    step: &'static str,
) -> Result<Vec<Option<String>>, FeatureError> {
    match v {
        Values::Text(t) => Ok(t),
        Values::Num(x) if x.iter().all(Option::is_none) => Ok(vec![None; x.len()]),
        other => Err(FeatureError::WrongType {
            column: site.column.to_owned(),
            step,
            expected: "text",
            found: other.kind(),
            hint: "apply this step to a text column, or bin/scale the numbers instead",
            context: String::new(),
        }),
    }
}

/// Every value present, or a `MissingValue` error at the first missing one.
pub(crate) fn required<T>(
    v: Vec<Option<T>>,
    site: Site<'_>,
    step: &'static str,
) -> Result<Vec<T>, FeatureError> {
    let mut out = Vec::with_capacity(v.len());
    for (i, x) in v.into_iter().enumerate() {
        match x {
            Some(x) => out.push(x),
            None => {
                return Err(FeatureError::MissingValue {
                    column: site.column.to_owned(),
                    row: site.rows.id(i),
                    step,
                    context: String::new(),
                });
            }
        }
    }
    Ok(out)
}
