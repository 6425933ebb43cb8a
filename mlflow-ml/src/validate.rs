//! Validation: declarative expectations over a [`Table`], and a report of which ones hold.
//!
//! This room has one job: say whether a table looks the way a pipeline assumes, and if not, where
//! it does not. A [`Suite`] is a list of [`Expectation`]s: plain, serializable data, so a suite can
//! be a pipeline param (editing it invalidates the validate step's cache). [`validate`] checks
//! every expectation and returns a [`ValidationReport`] naming, for each, the column, whether it
//! held, how many rows offend and up to [`MAX_EXAMPLES`] examples (row index and value).
//! [`ValidationReport::check`] turns failed [`Severity::Error`] expectations into a
//! [`ValidationError`] whose message is what a pipeline user sees when the validate step fails;
//! failed [`Severity::Warning`] expectations are recorded in the report but do not fail.
//!
//! Rows are 0-based table indices (for a CSV read by [`crate::data`], the file line is row + 2
//! when no quoted field spans several lines). Missing values are only the business of
//! [`Expectation::max_null_rate`] and [`Expectation::binary_label`]: the other checks skip them.
//!
//! A misconfigured expectation (a rate outside `[0, 1]`, `min > max`, a NaN bound, `k <= 0`, an
//! empty category set) always fails, with severity `Error` whatever was asked, so a typo cannot
//! silently disable a check.
//!
//! ```
//! use mlflow_ml::data::{parse_csv, ColumnType, CsvOptions};
//! use mlflow_ml::validate::{validate, Expectation, Suite};
//!
//! let table = parse_csv(b"sex,fare,survived\nmale,7.25,0\nfemale,-1,1\n", "t.csv", &CsvOptions::default())?;
//! let suite = Suite::new("passengers")
//!     .with(Expectation::column("fare", ColumnType::Float))
//!     .with(Expectation::range("fare", 0.0, 600.0))
//!     .with(Expectation::allowed("sex", ["female", "male"]))
//!     .with(Expectation::binary_label("survived"));
//! let report = validate(&table, &suite);
//! assert!(!report.passed());
//! let err = report.check().unwrap_err();
//! assert!(err.to_string().contains("column `fare`: range [0, 600]: 1 offending row(s)"));
//! assert!(err.to_string().contains("row 1 = -1"));
//! # Ok::<(), mlflow_ml::data::DataError>(())
//! ```

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::data::{Column, ColumnType, Table, Value};
use crate::features::{FittedScaler, quantile};
use mlflow_core::text::escape_controls as esc;

/// At most this many example rows are kept per expectation.
///
/// ```
/// assert_eq!(mlflow_ml::validate::MAX_EXAMPLES, 5);
/// ```
pub const MAX_EXAMPLES: usize = 5;

/// Whether a violated expectation fails validation.
///
/// ```
/// use mlflow_ml::validate::Severity;
/// assert_eq!(Severity::default(), Severity::Error);
/// assert_eq!(Severity::Warning.to_string(), "warning");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
pub enum Severity {
    /// A violation fails validation.
    #[default]
    Error,
    /// A violation is recorded but does not fail validation.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// What an expectation checks about its column.
///
/// ```
/// use mlflow_ml::validate::{Check, Expectation};
/// let e = Expectation::max_null_rate("Age", 0.25);
/// assert_eq!(e.check, Check::MaxNullRate { max: 0.25 });
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Check {
    /// The column exists and, if given, has this type (`Float` also accepts an `Int` column).
    Present {
        /// The required type, if any.
        column_type: Option<ColumnType>,
    },
    /// At most this fraction (`0..=1`) of the values is missing.
    MaxNullRate {
        /// The largest allowed fraction.
        max: f64,
    },
    /// Every present value lies in `[min, max]` (inclusive; an absent bound is unbounded). The
    /// column must be numeric.
    Range {
        /// Lower bound.
        min: Option<f64>,
        /// Upper bound.
        max: Option<f64>,
    },
    /// Every present value is one of these (numbers compare by their text, e.g. `"3"`).
    AllowedValues {
        /// The allowed values.
        values: BTreeSet<String>,
    },
    /// At most `max_rate` of the present values lie more than `k` x IQR below the first or above
    /// the third quartile (quartiles by linear interpolation, like numpy's default). Numeric.
    IqrOutliers {
        /// Multiple of the interquartile range (1.5 is Tukey's fence, 3 "far out").
        k: f64,
        /// The largest allowed fraction of outliers (`0..=1`).
        max_rate: f64,
    },
    /// At most `max_rate` of the present values have `|x - mean| / std > z` (population standard
    /// deviation; a constant column has no outliers, constant as
    /// [`StandardScaler`](crate::features::StandardScaler) decides it: to within rounding).
    /// Numeric.
    ZScoreOutliers {
        /// The z-score threshold.
        z: f64,
        /// The largest allowed fraction of outliers (`0..=1`).
        max_rate: f64,
    },
    /// A label column: present, numeric, no missing values, every value 0 or 1, both present.
    BinaryLabel,
}

/// One expectation: a check on a column, with a severity.
///
/// ```
/// use mlflow_ml::validate::{Expectation, Severity};
/// let e = Expectation::max_null_rate("Cabin", 0.5).warning();
/// assert_eq!(e.severity, Severity::Warning);
/// assert_eq!(e.name(), "max_null_rate");
/// assert_eq!(e.rule(), "at most 50% missing");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Expectation {
    /// The column checked.
    pub column: String,
    /// What is checked.
    pub check: Check,
    /// What a violation does.
    pub severity: Severity,
}

impl Expectation {
    fn new(column: impl Into<String>, check: Check) -> Self {
        Expectation { column: column.into(), check, severity: Severity::Error }
    }

    /// The column exists with this type (`Float` also accepts `Int`).
    ///
    /// ```
    /// use mlflow_ml::data::ColumnType;
    /// let e = mlflow_ml::validate::Expectation::column("Fare", ColumnType::Float);
    /// assert_eq!(e.rule(), "present, float");
    /// ```
    pub fn column(column: impl Into<String>, column_type: ColumnType) -> Self {
        Self::new(column, Check::Present { column_type: Some(column_type) })
    }

    /// The column exists, whatever its type.
    ///
    /// ```
    /// assert_eq!(mlflow_ml::validate::Expectation::present("Name").rule(), "present");
    /// ```
    pub fn present(column: impl Into<String>) -> Self {
        Self::new(column, Check::Present { column_type: None })
    }

    /// At most `max` (a fraction in `[0, 1]`) of the column is missing.
    ///
    /// ```
    /// let e = mlflow_ml::validate::Expectation::max_null_rate("Age", 0.25);
    /// assert_eq!(e.rule(), "at most 25% missing");
    /// ```
    pub fn max_null_rate(column: impl Into<String>, max: f64) -> Self {
        Self::new(column, Check::MaxNullRate { max })
    }

    /// No missing value at all.
    ///
    /// ```
    /// let e = mlflow_ml::validate::Expectation::not_null("Sex");
    /// assert_eq!(e.rule(), "at most 0% missing");
    /// ```
    pub fn not_null(column: impl Into<String>) -> Self {
        Self::max_null_rate(column, 0.0)
    }

    /// Present values in `[min, max]`.
    ///
    /// ```
    /// let e = mlflow_ml::validate::Expectation::range("Fare", 0.0, 600.0);
    /// assert_eq!(e.rule(), "range [0, 600]");
    /// ```
    pub fn range(column: impl Into<String>, min: f64, max: f64) -> Self {
        Self::new(column, Check::Range { min: Some(min), max: Some(max) })
    }

    /// Present values `>= min`.
    ///
    /// ```
    /// let e = mlflow_ml::validate::Expectation::at_least("Fare", 0.0);
    /// assert_eq!(e.rule(), "range [0, +inf)");
    /// ```
    pub fn at_least(column: impl Into<String>, min: f64) -> Self {
        Self::new(column, Check::Range { min: Some(min), max: None })
    }

    /// Present values `<= max`.
    ///
    /// ```
    /// let e = mlflow_ml::validate::Expectation::at_most("Age", 120.0);
    /// assert_eq!(e.rule(), "range (-inf, 120]");
    /// ```
    pub fn at_most(column: impl Into<String>, max: f64) -> Self {
        Self::new(column, Check::Range { min: None, max: Some(max) })
    }

    /// Present values are among `values` (numbers compare by their text: `"1"`, `"2"`).
    ///
    /// ```
    /// let e = mlflow_ml::validate::Expectation::allowed("Embarked", ["S", "C", "Q"]);
    /// assert_eq!(e.rule(), "allowed values {\"C\", \"Q\", \"S\"}");
    /// ```
    pub fn allowed<S: Into<String>>(column: impl Into<String>, values: impl IntoIterator<Item = S>) -> Self {
        Self::new(column, Check::AllowedValues { values: values.into_iter().map(Into::into).collect() })
    }

    /// At most `max_rate` of the present values are beyond `k` x IQR outside the quartiles.
    ///
    /// ```
    /// let e = mlflow_ml::validate::Expectation::iqr_outliers("Fare", 3.0, 0.1);
    /// assert_eq!(e.rule(), "at most 10% beyond 3 x IQR outside the quartiles");
    /// ```
    pub fn iqr_outliers(column: impl Into<String>, k: f64, max_rate: f64) -> Self {
        Self::new(column, Check::IqrOutliers { k, max_rate })
    }

    /// At most `max_rate` of the present values have a z-score above `z` in absolute value.
    ///
    /// ```
    /// let e = mlflow_ml::validate::Expectation::zscore_outliers("Age", 4.0, 0.0);
    /// assert_eq!(e.rule(), "at most 0% with |z-score| > 4");
    /// ```
    pub fn zscore_outliers(column: impl Into<String>, z: f64, max_rate: f64) -> Self {
        Self::new(column, Check::ZScoreOutliers { z, max_rate })
    }

    /// A binary label: present, numeric, never missing, only 0 and 1, both classes present.
    ///
    /// ```
    /// let e = mlflow_ml::validate::Expectation::binary_label("Survived");
    /// assert_eq!(e.rule(), "binary label: 0 or 1, never missing, both classes present");
    /// ```
    pub fn binary_label(column: impl Into<String>) -> Self {
        Self::new(column, Check::BinaryLabel)
    }

    /// The same expectation with severity [`Severity::Warning`].
    ///
    /// ```
    /// use mlflow_ml::validate::{Expectation, Severity};
    /// assert_eq!(Expectation::present("x").warning().severity, Severity::Warning);
    /// ```
    pub fn warning(self) -> Self {
        self.severity(Severity::Warning)
    }

    /// The same expectation with this severity.
    ///
    /// ```
    /// use mlflow_ml::validate::{Expectation, Severity};
    /// assert_eq!(Expectation::present("x").severity(Severity::Error).severity, Severity::Error);
    /// ```
    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// The kind of check, as a short identifier (`range`, `max_null_rate`, ...).
    ///
    /// ```
    /// assert_eq!(mlflow_ml::validate::Expectation::binary_label("y").name(), "binary_label");
    /// ```
    pub fn name(&self) -> &'static str {
        match self.check {
            Check::Present { .. } => "column",
            Check::MaxNullRate { .. } => "max_null_rate",
            Check::Range { .. } => "range",
            Check::AllowedValues { .. } => "allowed_values",
            Check::IqrOutliers { .. } => "iqr_outliers",
            Check::ZScoreOutliers { .. } => "zscore_outliers",
            Check::BinaryLabel => "binary_label",
        }
    }

    /// The rule in words.
    ///
    /// ```
    /// let e = mlflow_ml::validate::Expectation::allowed("Sex", ["male", "female"]);
    /// assert_eq!(e.rule(), "allowed values {\"female\", \"male\"}");
    /// ```
    pub fn rule(&self) -> String {
        let pct = |x: f64| format!("{}%", x * 100.0);
        match &self.check {
            Check::Present { column_type: None } => "present".to_owned(),
            Check::Present { column_type: Some(t) } => format!("present, {t}"),
            Check::MaxNullRate { max } => format!("at most {} missing", pct(*max)),
            Check::Range { min, max } => format!(
                "range {}, {}",
                min.map_or("(-inf".to_owned(), |m| format!("[{m}")),
                max.map_or("+inf)".to_owned(), |m| format!("{m}]"))
            ),
            Check::AllowedValues { values } => format!(
                "allowed values {{{}}}",
                values.iter().map(|v| format!("{v:?}")).collect::<Vec<_>>().join(", ")
            ),
            Check::IqrOutliers { k, max_rate } => {
                format!("at most {} beyond {k} x IQR outside the quartiles", pct(*max_rate))
            }
            Check::ZScoreOutliers { z, max_rate } => {
                format!("at most {} with |z-score| > {z}", pct(*max_rate))
            }
            Check::BinaryLabel => "binary label: 0 or 1, never missing, both classes present".to_owned(),
        }
    }

    /// Why the expectation itself is malformed, if it is.
    fn config_problem(&self) -> Option<String> {
        let rate = |name: &str, r: f64| {
            (!(0.0..=1.0).contains(&r)).then(|| format!("{name} must be a fraction in [0, 1], got {r}"))
        };
        match &self.check {
            Check::Present { .. } | Check::BinaryLabel => None,
            Check::MaxNullRate { max } => rate("the null rate", *max),
            Check::Range { min, max } => match (min, max) {
                (None, None) => Some("a range needs at least one bound".to_owned()),
                (Some(a), _) if a.is_nan() => Some("the lower bound is NaN".to_owned()),
                (_, Some(b)) if b.is_nan() => Some("the upper bound is NaN".to_owned()),
                (Some(a), Some(b)) if a > b => {
                    Some(format!("the lower bound {a} is above the upper bound {b}"))
                }
                _ => None,
            },
            Check::AllowedValues { values } => {
                values.is_empty().then(|| "the set of allowed values is empty".to_owned())
            }
            Check::IqrOutliers { k, max_rate } => (!(k.is_finite() && *k > 0.0))
                .then(|| format!("k must be a positive number, got {k}"))
                .or_else(|| rate("max_rate", *max_rate)),
            Check::ZScoreOutliers { z, max_rate } => (!(z.is_finite() && *z > 0.0))
                .then(|| format!("z must be a positive number, got {z}"))
                .or_else(|| rate("max_rate", *max_rate)),
        }
    }
}

/// A named list of expectations. Serializable: pass it as a pipeline param.
///
/// ```
/// use mlflow_ml::data::ColumnType;
/// use mlflow_ml::validate::{Expectation, Suite};
/// let suite = Suite::new("titanic")
///     .with(Expectation::column("Survived", ColumnType::Int))
///     .with(Expectation::binary_label("Survived"));
/// assert_eq!(suite.expectations.len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suite {
    /// A name for reports and errors.
    pub name: String,
    /// The expectations, checked in this order.
    pub expectations: Vec<Expectation>,
}

impl Suite {
    /// An empty suite.
    ///
    /// ```
    /// assert!(mlflow_ml::validate::Suite::new("s").expectations.is_empty());
    /// ```
    pub fn new(name: impl Into<String>) -> Self {
        Suite { name: name.into(), expectations: Vec::new() }
    }

    /// The suite with one more expectation.
    ///
    /// ```
    /// use mlflow_ml::validate::{Expectation, Suite};
    /// assert_eq!(Suite::new("s").with(Expectation::present("a")).expectations.len(), 1);
    /// ```
    pub fn with(mut self, expectation: Expectation) -> Self {
        self.expectations.push(expectation);
        self
    }

    /// Adds an expectation.
    ///
    /// ```
    /// use mlflow_ml::validate::{Expectation, Suite};
    /// let mut s = Suite::new("s");
    /// s.push(Expectation::present("a"));
    /// assert_eq!(s.expectations.len(), 1);
    /// ```
    pub fn push(&mut self, expectation: Expectation) {
        self.expectations.push(expectation);
    }
}

/// One offending row: its 0-based index and its value.
///
/// ```
/// use mlflow_ml::data::Value;
/// use mlflow_ml::validate::Example;
/// let e = Example { row: 3, value: Value::Float(-1.5) };
/// assert_eq!(e.to_string(), "row 3 = -1.5");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Example {
    /// 0-based table row.
    pub row: usize,
    /// The value there.
    pub value: Value,
}

impl fmt::Display for Example {
    /// `row N = value`; text values are quoted with their control characters escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "row {} = {}", self.row, self.value)
    }
}

/// The result of one expectation.
///
/// ```
/// use mlflow_ml::data::{Column, Table};
/// use mlflow_ml::validate::{validate, Expectation, Suite};
/// let t = Table::new(vec![("x".into(), Column::Int(vec![Some(1), None, None]))])?;
/// let report = validate(&t, &Suite::new("s").with(Expectation::max_null_rate("x", 0.5)));
/// let o = &report.outcomes[0];
/// assert!(!o.passed);
/// assert_eq!((o.offending, o.examples.len(), o.examples[0].row), (2, 2, 1));
/// assert_eq!(o.detail, "2 of 3 values missing (66.7%)");
/// # Ok::<(), mlflow_ml::data::DataError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// The kind of check ([`Expectation::name`]).
    pub expectation: String,
    /// The rule in words ([`Expectation::rule`]).
    pub rule: String,
    /// The column.
    pub column: String,
    /// The severity (always `Error` for a malformed expectation).
    pub severity: Severity,
    /// Whether the expectation held.
    pub passed: bool,
    /// Number of offending rows (0 for column-level problems such as a missing column).
    pub offending: usize,
    /// Up to [`MAX_EXAMPLES`] offending rows, in row order.
    pub examples: Vec<Example>,
    /// What was found, in words.
    pub detail: String,
}

impl fmt::Display for Outcome {
    /// `column `x`: rule: N offending row(s): detail; e.g. row 3 = ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Column names, allowed values and what was found come from data and suites: escaped.
        write!(f, "column `{}`: {}: ", esc(&self.column), esc(&self.rule))?;
        if self.offending > 0 {
            write!(f, "{} offending row(s): ", self.offending)?;
        }
        f.write_str(&esc(&self.detail))?;
        if !self.examples.is_empty() {
            let shown: Vec<String> = self.examples.iter().map(Example::to_string).collect();
            write!(f, "; e.g. {}", shown.join(", "))?;
        }
        Ok(())
    }
}

/// What [`validate`] found: one [`Outcome`] per expectation, in suite order.
///
/// ```
/// use mlflow_ml::data::{Column, Table};
/// use mlflow_ml::validate::{validate, Expectation, Suite};
/// let t = Table::new(vec![("x".into(), Column::Int(vec![Some(1), None]))])?;
/// let suite = Suite::new("s")
///     .with(Expectation::present("x"))
///     .with(Expectation::not_null("x").warning());
/// let report = validate(&t, &suite);
/// assert!(report.passed()); // only a warning failed
/// assert_eq!(report.warnings().count(), 1);
/// assert!(report.check().is_ok());
/// # Ok::<(), mlflow_ml::data::DataError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationReport {
    /// The suite's name.
    pub suite: String,
    /// Rows in the table.
    pub rows: usize,
    /// One per expectation, in suite order.
    pub outcomes: Vec<Outcome>,
}

impl ValidationReport {
    /// Whether no `Error`-severity expectation failed.
    ///
    /// ```
    /// use mlflow_ml::data::Table;
    /// use mlflow_ml::validate::{validate, Suite};
    /// assert!(validate(&Table::new(vec![])?, &Suite::new("empty")).passed());
    /// # Ok::<(), mlflow_ml::data::DataError>(())
    /// ```
    pub fn passed(&self) -> bool {
        self.failures().next().is_none()
    }

    /// The failed `Error`-severity outcomes.
    ///
    /// ```
    /// use mlflow_ml::data::Table;
    /// use mlflow_ml::validate::{validate, Expectation, Suite};
    /// let r = validate(&Table::new(vec![])?, &Suite::new("s").with(Expectation::present("x")));
    /// assert_eq!(r.failures().next().unwrap().detail, "column missing; the table has no columns");
    /// # Ok::<(), mlflow_ml::data::DataError>(())
    /// ```
    pub fn failures(&self) -> impl Iterator<Item = &Outcome> {
        self.outcomes.iter().filter(|o| !o.passed && o.severity == Severity::Error)
    }

    /// The failed `Warning`-severity outcomes.
    ///
    /// ```
    /// use mlflow_ml::data::Table;
    /// use mlflow_ml::validate::{validate, Expectation, Suite};
    /// let r = validate(&Table::new(vec![])?, &Suite::new("s").with(Expectation::present("x").warning()));
    /// assert_eq!(r.warnings().count(), 1);
    /// # Ok::<(), mlflow_ml::data::DataError>(())
    /// ```
    pub fn warnings(&self) -> impl Iterator<Item = &Outcome> {
        self.outcomes.iter().filter(|o| !o.passed && o.severity == Severity::Warning)
    }

    /// `Ok` when [`passed`](Self::passed), else an error listing every failed `Error` expectation.
    ///
    /// ```
    /// use mlflow_ml::data::Table;
    /// use mlflow_ml::validate::{validate, Expectation, Suite, ValidationError};
    /// let r = validate(&Table::new(vec![])?, &Suite::new("s").with(Expectation::present("x")));
    /// let err = r.check().unwrap_err();
    /// assert!(matches!(&err, ValidationError::Failed { failures, .. } if failures.len() == 1));
    /// # Ok::<(), mlflow_ml::data::DataError>(())
    /// ```
    pub fn check(&self) -> Result<(), ValidationError> {
        if self.passed() {
            return Ok(());
        }
        Err(ValidationError::Failed {
            suite: self.suite.clone(),
            rows: self.rows,
            failures: self.failures().cloned().collect(),
        })
    }
}

impl fmt::Display for ValidationReport {
    /// One line per expectation: `ok`, `FAIL` (error) or `warn` (failed warning).
    ///
    /// ```
    /// use mlflow_ml::data::Table;
    /// use mlflow_ml::validate::{validate, Expectation, Suite};
    /// let r = validate(&Table::new(vec![])?, &Suite::new("s").with(Expectation::present("x")));
    /// assert!(r.to_string().contains("FAIL column `x`: present: column missing"));
    /// # Ok::<(), mlflow_ml::data::DataError>(())
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let failed = self.failures().count();
        let warned = self.warnings().count();
        writeln!(
            f,
            "validation `{}` on {} rows: {} passed, {failed} failed, {warned} warning(s)",
            self.suite,
            self.rows,
            self.outcomes.len() - failed - warned
        )?;
        for o in &self.outcomes {
            let tag = match (o.passed, o.severity) {
                (true, _) => "ok  ",
                (false, Severity::Error) => "FAIL",
                (false, Severity::Warning) => "warn",
            };
            writeln!(f, "  {tag} {o}")?;
        }
        Ok(())
    }
}

/// Validation failed: the error a validate step returns.
///
/// ```
/// use mlflow_ml::data::{Column, Table};
/// use mlflow_ml::validate::{validate, Expectation, Suite};
/// let t = Table::new(vec![("Sex".into(), Column::Str(vec![Some("unknown".into())]))])?;
/// let err = validate(&t, &Suite::new("s").with(Expectation::allowed("Sex", ["male", "female"])))
///     .check()
///     .unwrap_err();
/// assert!(err.to_string().contains(
///     "column `Sex`: allowed values {\"female\", \"male\"}: 1 offending row(s): 1 value(s) not allowed; e.g. row 0 = \"unknown\""
/// ));
/// # Ok::<(), mlflow_ml::data::DataError>(())
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// One or more `Error`-severity expectations failed.
    #[error(
        "validation `{}` failed on {rows} rows: {} expectation(s) violated:\n{}\n(rows are 0-based table indices; in a CSV file without multi-line fields, line = row + 2)\nfix the data, or relax these expectations in the suite",
        esc(.suite),
        .failures.len(),
        .failures.iter().map(|o| format!("  - {o}")).collect::<Vec<_>>().join("\n")
    )]
    Failed {
        /// The suite's name.
        suite: String,
        /// Rows in the table.
        rows: usize,
        /// The failed expectations.
        failures: Vec<Outcome>,
    },
}

/// Checks every expectation of `suite` against `table`.
///
/// Never fails: problems, including a missing column or a malformed expectation, are outcomes.
///
/// ```
/// use mlflow_ml::data::{Column, Table};
/// use mlflow_ml::validate::{validate, Expectation, Suite};
/// let t = Table::new(vec![("y".into(), Column::Int(vec![Some(0), Some(1), Some(2)]))])?;
/// let r = validate(&t, &Suite::new("labels").with(Expectation::binary_label("y")));
/// assert!(!r.passed());
/// assert_eq!(r.outcomes[0].offending, 1);
/// assert_eq!(r.outcomes[0].examples[0].to_string(), "row 2 = 2");
/// # Ok::<(), mlflow_ml::data::DataError>(())
/// ```
pub fn validate(table: &Table, suite: &Suite) -> ValidationReport {
    ValidationReport {
        suite: suite.name.clone(),
        rows: table.rows(),
        outcomes: suite.expectations.iter().map(|e| evaluate(table, e)).collect(),
    }
}

/// Offending rows found by a row-level check.
struct Offenders {
    count: usize,
    examples: Vec<Example>,
}

/// The outcome of an outlier check: the offending rows, whether they are at most `max_rate` of
/// the `n` present values, and a detail built from "`count` of `n` values (`percent`)".
fn outliers(
    column: &Column,
    bad: impl Iterator<Item = usize>,
    n: usize,
    max_rate: f64,
    detail: impl FnOnce(&str) -> String,
) -> (bool, Option<Offenders>, String) {
    let found = Offenders::collect(column, bad);
    let ok = found.count as f64 <= max_rate * n as f64;
    let share = format!("{} of {n} values ({})", found.count, percent(found.count, n));
    let detail = detail(&share);
    (ok, Some(found), detail)
}

impl Offenders {
    fn collect(column: &Column, rows: impl Iterator<Item = usize>) -> Self {
        let mut count = 0;
        let mut examples = Vec::new();
        for row in rows {
            count += 1;
            if examples.len() < MAX_EXAMPLES {
                examples.push(Example { row, value: column.value(row).unwrap_or(Value::Missing) });
            }
        }
        Offenders { count, examples }
    }
}

fn percent(part: usize, whole: usize) -> String {
    if whole == 0 {
        return "0%".to_owned();
    }
    format!("{:.1}%", 100.0 * part as f64 / whole as f64)
}

/// `(row, value)` of the present numeric values.
fn numeric(column: &Column) -> Vec<(usize, f64)> {
    (0..column.len()).filter_map(|r| column.f64_at(r).map(|x| (r, x))).collect()
}

fn evaluate(table: &Table, e: &Expectation) -> Outcome {
    let outcome = |passed: bool, severity: Severity, found: Option<Offenders>, detail: String| {
        let (offending, examples) = found.map_or((0, Vec::new()), |o| (o.count, o.examples));
        Outcome {
            expectation: e.name().to_owned(),
            rule: e.rule(),
            column: e.column.clone(),
            severity,
            passed,
            offending,
            examples,
            detail,
        }
    };
    if let Some(problem) = e.config_problem() {
        return outcome(
            false,
            Severity::Error,
            None,
            format!("invalid expectation: {problem}; fix the suite"),
        );
    }
    let Some(column) = table.column(&e.column) else {
        let detail = if table.names().is_empty() {
            "column missing; the table has no columns".to_owned()
        } else {
            format!("column missing; the table has: {}", table.names().join(", "))
        };
        return outcome(false, e.severity, None, detail);
    };
    let rows = table.rows();
    let ty = column.column_type();
    let needs_numeric = matches!(
        e.check,
        Check::Range { .. } | Check::IqrOutliers { .. } | Check::ZScoreOutliers { .. } | Check::BinaryLabel
    );
    if needs_numeric && ty == ColumnType::Str {
        return outcome(false, e.severity, None, "the column is text, not numeric".to_owned());
    }
    let (passed, found, detail) = match &e.check {
        Check::Present { column_type: None } => (true, None, format!("present, {ty}")),
        Check::Present { column_type: Some(want) } => {
            let ok = ty == *want || (*want == ColumnType::Float && ty == ColumnType::Int);
            (ok, None, if ok { format!("present, {ty}") } else { format!("has type {ty}, expected {want}") })
        }
        Check::MaxNullRate { max } => {
            let found = Offenders::collect(column, (0..rows).filter(|&r| column.is_missing(r)));
            let ok = rows == 0 || found.count as f64 / rows as f64 <= *max;
            let detail = format!("{} of {rows} values missing ({})", found.count, percent(found.count, rows));
            (ok, Some(found), detail)
        }
        Check::Range { min, max } => {
            let lo = min.unwrap_or(f64::NEG_INFINITY);
            let hi = max.unwrap_or(f64::INFINITY);
            let bad = numeric(column).into_iter().filter(|&(_, x)| !(lo..=hi).contains(&x)).map(|(r, _)| r);
            let found = Offenders::collect(column, bad);
            let detail = format!("{} value(s) out of range", found.count);
            (found.count == 0, Some(found), detail)
        }
        Check::AllowedValues { values } => {
            let bad = (0..rows).filter(|&r| match column.value(r) {
                Some(Value::Missing) | None => false,
                Some(Value::Str(s)) => !values.contains(&s),
                Some(Value::Int(x)) => !values.contains(&x.to_string()),
                Some(Value::Float(x)) => !values.contains(&x.to_string()),
            });
            let found = Offenders::collect(column, bad);
            let detail = format!("{} value(s) not allowed", found.count);
            (found.count == 0, Some(found), detail)
        }
        Check::IqrOutliers { k, max_rate } => {
            let values = numeric(column);
            let mut sorted: Vec<f64> = values.iter().map(|&(_, x)| x).filter(|x| x.is_finite()).collect();
            if sorted.is_empty() {
                let bad = values.iter().map(|&(r, _)| r);
                outliers(column, bad, values.len(), *max_rate, |_| {
                    "no finite values to compute quartiles from".to_owned()
                })
            } else {
                sorted.sort_by(f64::total_cmp);
                let (q1, q3) = (quantile(&sorted, 0.25), quantile(&sorted, 0.75));
                let (lo, hi) = (q1 - k * (q3 - q1), q3 + k * (q3 - q1));
                let bad = values.iter().filter(|&&(_, x)| !(lo..=hi).contains(&x)).map(|&(r, _)| r);
                outliers(column, bad, values.len(), *max_rate, |share| {
                    format!("{share} outside [{lo}, {hi}] (q1 {q1}, q3 {q3})")
                })
            }
        }
        Check::ZScoreOutliers { z, max_rate } => {
            let values = numeric(column);
            let finite: Vec<f64> = values.iter().map(|&(_, x)| x).filter(|x| x.is_finite()).collect();
            let scaler = FittedScaler::from_values(&finite);
            let (mean, std) = (scaler.mean(), scaler.std());
            let bad = values
                .iter()
                .filter(|&&(_, x)| !x.is_finite() || (std > 0.0 && ((x - mean) / std).abs() > *z))
                .map(|&(r, _)| r);
            outliers(column, bad, values.len(), *max_rate, |share| {
                format!("{share} with |z| > {z} (mean {mean:.4}, std {std:.4})")
            })
        }
        Check::BinaryLabel => {
            let mut counts = [0usize; 2];
            let bad = (0..rows).filter(|&r| match column.f64_at(r) {
                Some(x) if x == 0.0 || x == 1.0 => {
                    counts[usize::from(x == 1.0)] += 1;
                    false
                }
                _ => true,
            });
            let found = Offenders::collect(column, bad);
            let [zeros, ones] = counts;
            let mut detail = if found.count > 0 {
                format!("{} value(s) missing or not 0/1; ", found.count)
            } else {
                String::new()
            };
            detail += &format!("class 0: {zeros}, class 1: {ones}");
            match (zeros > 0, ones > 0) {
                (true, true) => {}
                (false, false) => detail += " (no valid label at all)",
                (has_zeros, _) => detail += &format!(" (only class {} present)", usize::from(!has_zeros)),
            }
            (found.count == 0 && zeros > 0 && ones > 0, Some(found), detail)
        }
    };
    outcome(passed, e.severity, found, detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Column;

    fn table(col: Column) -> Table {
        Table::new(vec![("x".into(), col)]).unwrap()
    }

    fn one(t: &Table, e: Expectation) -> Outcome {
        validate(t, &Suite::new("t").with(e)).outcomes.remove(0)
    }

    #[test]
    fn quantiles_match_numpy_linear() {
        // numpy.percentile([1, 2, 3, 4], [25, 75]) = [1.75, 3.25]
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0], 0.25), 1.75);
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0], 0.75), 3.25);
        assert_eq!(quantile(&[5.0], 0.75), 5.0);
    }

    #[test]
    fn iqr_flags_far_values() {
        // 1..=8 and 100: q1 = 3, q3 = 7, IQR 4, fences [-3, 13] at k = 1.5: only 100 (row 8).
        let mut v: Vec<Option<f64>> = (1..=8).map(|i| Some(i as f64)).collect();
        v.push(Some(100.0));
        v.push(None);
        let t = table(Column::Float(v));
        let o = one(&t, Expectation::iqr_outliers("x", 1.5, 0.0));
        assert!(!o.passed);
        assert_eq!(o.offending, 1);
        assert_eq!(o.examples, [Example { row: 8, value: Value::Float(100.0) }]);
        // 1 of 9 present values = 11.1% <= 20%.
        assert!(one(&t, Expectation::iqr_outliers("x", 1.5, 0.2)).passed);
    }

    #[test]
    fn zscore_flags_and_constant_column_has_none() {
        // 0 x 9 and 10: mean 1, population std 3; z(10) = 3, z(0) = -1/3.
        let mut v = vec![Some(0); 9];
        v.push(Some(10));
        let t = table(Column::Int(v));
        assert_eq!(one(&t, Expectation::zscore_outliers("x", 2.5, 0.0)).offending, 1);
        assert_eq!(one(&t, Expectation::zscore_outliers("x", 3.0, 0.0)).offending, 0); // 3 is not > 3
        let t = table(Column::Float(vec![Some(2.0); 4]));
        assert!(one(&t, Expectation::zscore_outliers("x", 1.0, 0.0)).passed);
    }

    #[test]
    fn zscore_of_a_column_constant_to_within_rounding_has_no_outliers() {
        // 1e9 x 99 and 1e9 + 2 units in the last place: constant by the scaler's rule, so the
        // odd value is no outlier (a z-score of 9.9 against a std of a rounding error).
        let mut v = vec![Some(1e9); 99];
        v.push(Some(1e9 + 2.384185791015625e-7));
        let t = table(Column::Float(v));
        assert!(one(&t, Expectation::zscore_outliers("x", 3.0, 0.0)).passed);
        // The same shape at a visible scale is flagged.
        let mut v = vec![Some(1.0); 99];
        v.push(Some(2.0));
        assert_eq!(one(&table(Column::Float(v)), Expectation::zscore_outliers("x", 3.0, 0.0)).offending, 1);
    }

    #[test]
    fn non_finite_values_in_a_hand_built_table_are_offending() {
        let t = table(Column::Float(vec![Some(1.0), Some(f64::NAN), Some(2.0), Some(f64::INFINITY)]));
        assert_eq!(one(&t, Expectation::range("x", 0.0, 10.0)).offending, 2);
        assert_eq!(one(&t, Expectation::iqr_outliers("x", 1.5, 0.0)).offending, 2);
        assert_eq!(one(&t, Expectation::zscore_outliers("x", 3.0, 0.0)).offending, 2);
    }

    #[test]
    fn malformed_expectations_fail_as_errors_even_as_warnings() {
        let t = table(Column::Int(vec![Some(1)]));
        for e in [
            Expectation::max_null_rate("x", 1.5),
            Expectation::max_null_rate("x", f64::NAN),
            Expectation::range("x", 2.0, 1.0),
            Expectation::at_least("x", f64::NAN),
            Expectation::allowed("x", Vec::<String>::new()),
            Expectation::iqr_outliers("x", 0.0, 0.0),
            Expectation::zscore_outliers("x", 3.0, -0.1),
            Expectation::new("x", Check::Range { min: None, max: None }),
        ] {
            let o = one(&t, e.clone().warning());
            assert!(!o.passed && o.severity == Severity::Error, "{e:?}");
            assert!(o.detail.starts_with("invalid expectation: "), "{}", o.detail);
        }
    }

    #[test]
    fn type_checks() {
        let t = table(Column::Int(vec![Some(1)]));
        assert!(one(&t, Expectation::column("x", ColumnType::Float)).passed); // Int is a number
        let o = one(&t, Expectation::column("x", ColumnType::Str));
        assert_eq!(o.detail, "has type integer, expected text");
        let t = table(Column::Str(vec![Some("a".into())]));
        assert_eq!(one(&t, Expectation::range("x", 0.0, 1.0)).detail, "the column is text, not numeric");
        assert!(!one(&t, Expectation::binary_label("x")).passed);
    }

    #[test]
    fn binary_label_details() {
        let t = table(Column::Int(vec![Some(0), Some(0)]));
        let o = one(&t, Expectation::binary_label("x"));
        assert_eq!((o.passed, o.detail.as_str()), (false, "class 0: 2, class 1: 0 (only class 0 present)"));
        let t = table(Column::Int(vec![None, Some(1), Some(1)]));
        let o = one(&t, Expectation::binary_label("x"));
        assert_eq!(o.detail, "1 value(s) missing or not 0/1; class 0: 0, class 1: 2 (only class 1 present)");
        assert_eq!(o.examples, [Example { row: 0, value: Value::Missing }]);
        let t = table(Column::Int(vec![None]));
        let o = one(&t, Expectation::binary_label("x"));
        assert_eq!(o.detail, "1 value(s) missing or not 0/1; class 0: 0, class 1: 0 (no valid label at all)");
        let t = table(Column::Float(vec![Some(0.0), Some(1.0)]));
        assert!(one(&t, Expectation::binary_label("x")).passed);
    }

    #[test]
    fn examples_are_capped_and_in_row_order() {
        let t = table(Column::Int((0..20).map(Some).collect()));
        let o = one(&t, Expectation::at_most("x", 4.0));
        assert_eq!(o.offending, 15);
        assert_eq!(o.examples.iter().map(|e| e.row).collect::<Vec<_>>(), [5, 6, 7, 8, 9]);
    }

    #[test]
    fn allowed_values_compare_numbers_as_text() {
        let t = table(Column::Int(vec![Some(1), Some(2), Some(3), Some(4), None]));
        let o = one(&t, Expectation::allowed("x", ["1", "2", "3"]));
        assert_eq!(o.offending, 1);
        assert_eq!(o.examples[0].to_string(), "row 3 = 4");
    }
}
