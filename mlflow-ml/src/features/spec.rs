//! The declarative feature pipeline: an ordered list of output features, each built from input
//! columns (or earlier features) by a chain of transforms, fitted once on the training rows.

use std::collections::BTreeSet;
use std::fmt;

use ndarray::{Array2, ArrayView1, Axis};
use serde::{Deserialize, Serialize};

use crate::data::Table;

use super::FeatureError;
use super::transform::{
    Binner, Encoder, FittedBinner, FittedEncoder, FittedImputer, FittedScaler, Imputer, Op, StandardScaler,
    finite,
};
use super::values::{Rows, Site, Values, check_rows, numbers, read};

/// Where a feature's values start: a table column, an earlier feature, or arithmetic on those.
///
/// Arithmetic is element-wise; a missing operand gives a missing result.
///
/// ```
/// use mlflow_ml::features::Source;
/// let relatives = Source::sum([Source::column("SibSp"), Source::column("Parch")]);
/// assert_eq!(relatives.to_string(), "SibSp + Parch");
/// let per_person = Source::ratio(Source::feature("Fare"), Source::feature("relatives"), 1.0);
/// assert_eq!(per_person.to_string(), "Fare / (relatives + 1)");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Source {
    /// A column of the input table (ints and floats are numbers, strings are text).
    Column(String),
    /// The final values of an earlier feature of the same spec.
    Feature(String),
    /// The sum of at least one source.
    Sum(Vec<Source>),
    /// The product of at least one source.
    Product(Vec<Source>),
    /// `numerator / (denominator + offset)`; a zero divisor is an error.
    Ratio {
        /// The numerator.
        numerator: Box<Source>,
        /// The denominator, before the offset is added.
        denominator: Box<Source>,
        /// Added to the denominator (e.g. 1 for "per person including oneself").
        offset: f64,
    },
}

impl Source {
    /// [`Source::Column`].
    ///
    /// ```
    /// use mlflow_ml::features::Source;
    /// assert_eq!(Source::column("Age"), Source::Column("Age".into()));
    /// ```
    pub fn column(name: impl Into<String>) -> Self {
        Source::Column(name.into())
    }

    /// [`Source::Feature`].
    ///
    /// ```
    /// use mlflow_ml::features::Source;
    /// assert_eq!(Source::feature("relatives"), Source::Feature("relatives".into()));
    /// ```
    pub fn feature(name: impl Into<String>) -> Self {
        Source::Feature(name.into())
    }

    /// [`Source::Sum`].
    ///
    /// ```
    /// use mlflow_ml::features::Source;
    /// let s = Source::sum([Source::column("a"), Source::column("b")]);
    /// assert!(matches!(s, Source::Sum(v) if v.len() == 2));
    /// ```
    pub fn sum(parts: impl IntoIterator<Item = Source>) -> Self {
        Source::Sum(parts.into_iter().collect())
    }

    /// [`Source::Product`].
    ///
    /// ```
    /// use mlflow_ml::features::Source;
    /// let p = Source::product([Source::feature("Age"), Source::feature("Pclass")]);
    /// assert_eq!(p.to_string(), "Age * Pclass");
    /// ```
    pub fn product(parts: impl IntoIterator<Item = Source>) -> Self {
        Source::Product(parts.into_iter().collect())
    }

    /// [`Source::Ratio`].
    ///
    /// ```
    /// use mlflow_ml::features::Source;
    /// let r = Source::ratio(Source::column("a"), Source::column("b"), 0.0);
    /// assert_eq!(r.to_string(), "a / b");
    /// ```
    pub fn ratio(numerator: Source, denominator: Source, offset: f64) -> Self {
        Source::Ratio { numerator: Box::new(numerator), denominator: Box::new(denominator), offset }
    }

    fn columns<'a>(&'a self, out: &mut BTreeSet<&'a str>) {
        match self {
            Source::Column(c) => {
                out.insert(c);
            }
            Source::Feature(_) => {}
            Source::Sum(v) | Source::Product(v) => v.iter().for_each(|s| s.columns(out)),
            Source::Ratio { numerator, denominator, .. } => {
                numerator.columns(out);
                denominator.columns(out);
            }
        }
    }

    fn validate(&self, feature: &str, earlier: &BTreeSet<&str>) -> Result<(), FeatureError> {
        let bad = |message: String| FeatureError::InvalidSpec { feature: feature.to_owned(), message };
        match self {
            Source::Column(_) => Ok(()),
            Source::Feature(f) if earlier.contains(f.as_str()) => Ok(()),
            Source::Feature(f) => Err(bad(format!(
                "it uses feature `{f}`, which is not defined before it; define `{f}` earlier in the spec"
            ))),
            Source::Sum(v) | Source::Product(v) if v.is_empty() => {
                Err(bad("a sum or product needs at least one source".into()))
            }
            Source::Sum(v) | Source::Product(v) => v.iter().try_for_each(|s| s.validate(feature, earlier)),
            Source::Ratio { offset, .. } if !offset.is_finite() => {
                Err(bad(format!("ratio offset {offset} is not finite")))
            }
            Source::Ratio { numerator, denominator, .. } => {
                numerator.validate(feature, earlier)?;
                denominator.validate(feature, earlier)
            }
        }
    }

    /// Evaluates at `rows` given the earlier features' values.
    fn eval(
        &self,
        table: &Table,
        rows: Rows<'_>,
        done: &[(String, Values)],
        feature: &str,
    ) -> Result<Values, FeatureError> {
        let label = self.to_string();
        let site = Site { column: &label, rows };
        let operand = |p: &Source| -> Result<Vec<Option<f64>>, FeatureError> {
            let label = p.to_string();
            numbers(p.eval(table, rows, done, feature)?, Site { column: &label, rows })
        };
        let fold = |parts: &[Source], unit: f64, f: fn(f64, f64) -> f64| -> Result<Values, FeatureError> {
            let mut acc = vec![Some(unit); rows.len()];
            for p in parts {
                let v = operand(p)?;
                for (a, x) in acc.iter_mut().zip(v) {
                    *a = match (*a, x) {
                        (Some(a), Some(x)) => Some(f(a, x)),
                        _ => None,
                    };
                }
            }
            Ok(Values::Num(finite(acc, site)?))
        };
        match self {
            Source::Column(c) => read(table, c, rows),
            Source::Feature(f) => {
                done.iter().find(|(n, _)| n == f).map(|(_, v)| v.clone()).ok_or_else(|| {
                    FeatureError::InvalidSpec {
                        feature: feature.to_owned(),
                        message: format!("feature `{f}` is not defined before it"),
                    }
                })
            }
            Source::Sum(parts) => fold(parts, 0.0, |a, x| a + x),
            Source::Product(parts) => fold(parts, 1.0, |a, x| a * x),
            Source::Ratio { numerator, denominator, offset } => {
                let num = operand(numerator)?;
                let den = operand(denominator)?;
                let mut out = Vec::with_capacity(num.len());
                for (i, (n, d)) in num.into_iter().zip(den).enumerate() {
                    out.push(match (n, d) {
                        (Some(n), Some(d)) => {
                            let d = d + offset;
                            if d == 0.0 {
                                return Err(FeatureError::DivisionByZero {
                                    column: label,
                                    row: rows.id(i),
                                    context: String::new(),
                                });
                            }
                            Some(n / d)
                        }
                        _ => None,
                    });
                }
                Ok(Values::Num(finite(out, site)?))
            }
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |f: &mut fmt::Formatter<'_>, v: &[Source], sep: &str| -> fmt::Result {
            for (i, s) in v.iter().enumerate() {
                if i > 0 {
                    f.write_str(sep)?;
                }
                match s {
                    Source::Column(_) | Source::Feature(_) => write!(f, "{s}")?,
                    _ => write!(f, "({s})")?,
                }
            }
            Ok(())
        };
        match self {
            Source::Column(c) | Source::Feature(c) => f.write_str(c),
            Source::Sum(v) => join(f, v, " + "),
            Source::Product(v) => join(f, v, " * "),
            Source::Ratio { numerator, denominator, offset } => {
                join(f, std::slice::from_ref(numerator), "")?;
                f.write_str(" / ")?;
                if *offset == 0.0 {
                    join(f, std::slice::from_ref(denominator), "")
                } else {
                    write!(f, "({denominator} + {offset})")
                }
            }
        }
    }
}

/// One step of a feature's chain.
///
/// Build with `From`: `Imputer::median().into()`, `Op::Floor.into()`, ...
///
/// ```
/// use mlflow_ml::features::{Binner, Imputer, Transform};
/// let steps: Vec<Transform> = vec![Imputer::median().into(), Binner::edges([11.0, 18.0]).into()];
/// assert!(matches!(steps[1], Transform::Bin(_)));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Transform {
    /// Fill missing values.
    Impute(Imputer),
    /// Text categories to integer codes.
    Encode(Encoder),
    /// Numbers to bin codes.
    Bin(Binner),
    /// Standardize numbers.
    Scale(StandardScaler),
    /// A stateless operation.
    Op(Op),
}

impl Transform {
    fn name(&self) -> &'static str {
        match self {
            Transform::Impute(_) => "impute",
            Transform::Encode(_) => "encode",
            Transform::Bin(_) => "bin",
            Transform::Scale(_) => "scale",
            Transform::Op(op) => op.step_name(),
        }
    }

    fn validate(&self, feature: &str) -> Result<(), FeatureError> {
        match self {
            Transform::Impute(i) => i.validate(feature),
            Transform::Encode(e) => e.validate(feature),
            Transform::Bin(b) => b.validate(feature),
            Transform::Scale(_) => Ok(()),
            Transform::Op(op) => op.validate(feature),
        }
    }

    fn fit(&self, values: &Values, site: Site<'_>) -> Result<FittedStep, FeatureError> {
        Ok(match self {
            Transform::Impute(i) => FittedStep::Impute(i.fit_values(values, site)?),
            Transform::Encode(e) => FittedStep::Encode(e.fit_values(values, site)?),
            Transform::Bin(b) => FittedStep::Bin(b.fit_values(values, site)?),
            Transform::Scale(s) => FittedStep::Scale(s.fit_values(values, site)?),
            Transform::Op(op) => FittedStep::Op(op.clone()),
        })
    }
}

impl From<Imputer> for Transform {
    fn from(x: Imputer) -> Self {
        Transform::Impute(x)
    }
}
impl From<Encoder> for Transform {
    fn from(x: Encoder) -> Self {
        Transform::Encode(x)
    }
}
impl From<Binner> for Transform {
    fn from(x: Binner) -> Self {
        Transform::Bin(x)
    }
}
impl From<StandardScaler> for Transform {
    fn from(x: StandardScaler) -> Self {
        Transform::Scale(x)
    }
}
impl From<Op> for Transform {
    fn from(x: Op) -> Self {
        Transform::Op(x)
    }
}

/// One feature: a name, a source and a chain of steps applied in order.
///
/// ```
/// use mlflow_ml::features::{Binner, Feature, Imputer, Source};
/// let age = Feature::new("Age", Source::column("Age"))
///     .then(Imputer::median())
///     .then(Binner::edges([11.0, 18.0, 22.0, 27.0, 33.0, 40.0]));
/// assert_eq!(age.steps.len(), 2);
/// assert!(age.output);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feature {
    /// The output column name (unique within a spec).
    pub name: String,
    /// Where the values start.
    pub source: Source,
    /// Steps applied in order.
    pub steps: Vec<Transform>,
    /// Whether the feature is a column of the output matrix; hidden features (`false`) only
    /// feed later features.
    pub output: bool,
}

impl Feature {
    /// A feature with no steps yet, shown in the output.
    ///
    /// ```
    /// use mlflow_ml::features::{Feature, Source};
    /// let f = Feature::new("Pclass", Source::column("Pclass"));
    /// assert!(f.steps.is_empty());
    /// ```
    pub fn new(name: impl Into<String>, source: Source) -> Self {
        Feature { name: name.into(), source, steps: Vec::new(), output: true }
    }

    /// A feature that is its input column as is (a number column).
    ///
    /// ```
    /// use mlflow_ml::features::{Feature, Source};
    /// assert_eq!(Feature::column("SibSp"), Feature::new("SibSp", Source::column("SibSp")));
    /// ```
    pub fn column(name: impl Into<String>) -> Self {
        let name = name.into();
        Feature::new(name.clone(), Source::Column(name))
    }

    /// Appends a step.
    ///
    /// ```
    /// use mlflow_ml::features::{Feature, Op, Source};
    /// let f = Feature::new("x", Source::column("x")).then(Op::Floor);
    /// assert_eq!(f.steps.len(), 1);
    /// ```
    pub fn then(mut self, step: impl Into<Transform>) -> Self {
        self.steps.push(step.into());
        self
    }

    /// Keeps the feature out of the output matrix (it can still feed later features).
    ///
    /// ```
    /// use mlflow_ml::features::{Feature, Source};
    /// assert!(!Feature::new("tmp", Source::column("x")).hidden().output);
    /// ```
    pub fn hidden(mut self) -> Self {
        self.output = false;
        self
    }
}

/// An ordered list of features: the declarative recipe, fitted once on training rows.
///
/// ```
/// use mlflow_ml::data::{Column, Table};
/// use mlflow_ml::features::{Encoder, Feature, FeatureSpec, Imputer, Source};
/// let t = Table::new(vec![
///     ("Sex".into(), Column::Str(vec![Some("male".into()), Some("female".into()), Some("male".into())])),
///     ("Age".into(), Column::Float(vec![Some(30.0), None, Some(50.0)])),
/// ])
/// .unwrap();
/// let spec = FeatureSpec::new()
///     .with(Feature::column("Sex").then(Encoder::explicit([("male", 0), ("female", 1)])))
///     .with(Feature::column("Age").then(Imputer::median()));
/// let fitted = spec.fit(&t, &[0, 2])?; // median of the training rows: 40
/// let m = fitted.transform(&t)?;
/// assert_eq!(m.names, ["Sex", "Age"]);
/// assert_eq!(m.x.row(1).to_vec(), [1.0, 40.0]);
/// # Ok::<(), mlflow_ml::features::FeatureError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FeatureSpec {
    /// The features, in order.
    pub features: Vec<Feature>,
}

impl FeatureSpec {
    /// An empty spec.
    ///
    /// ```
    /// assert!(mlflow_ml::features::FeatureSpec::new().features.is_empty());
    /// ```
    pub fn new() -> Self {
        FeatureSpec::default()
    }

    /// Appends a feature.
    ///
    /// ```
    /// use mlflow_ml::features::{Feature, FeatureSpec};
    /// assert_eq!(FeatureSpec::new().with(Feature::column("Pclass")).features.len(), 1);
    /// ```
    pub fn with(mut self, feature: Feature) -> Self {
        self.features.push(feature);
        self
    }

    /// Checks the spec without data: at least one output feature, unique names, features used
    /// only after they are defined, valid parameters (edges, mappings, constants).
    ///
    /// ```
    /// use mlflow_ml::features::{Feature, FeatureError, FeatureSpec, Source};
    /// let spec = FeatureSpec::new().with(Feature::new("b", Source::feature("a")));
    /// assert!(matches!(spec.validate(), Err(FeatureError::InvalidSpec { .. })));
    /// ```
    pub fn validate(&self) -> Result<(), FeatureError> {
        if !self.features.iter().any(|f| f.output) {
            return Err(FeatureError::InvalidSpec {
                feature: "(spec)".into(),
                message: "no output feature; add at least one feature that is not hidden".into(),
            });
        }
        let mut earlier = BTreeSet::new();
        for f in &self.features {
            if f.name.is_empty() {
                return Err(FeatureError::InvalidSpec {
                    feature: "(unnamed)".into(),
                    message: "a feature has an empty name; name it".into(),
                });
            }
            f.source.validate(&f.name, &earlier)?;
            for step in &f.steps {
                step.validate(&f.name)?;
            }
            if !earlier.insert(f.name.as_str()) {
                return Err(FeatureError::InvalidSpec {
                    feature: f.name.clone(),
                    message: "this name is used by two features; rename one".into(),
                });
            }
        }
        Ok(())
    }

    /// The table columns the spec reads, sorted.
    ///
    /// ```
    /// use mlflow_ml::features::{Feature, FeatureSpec, Source};
    /// let spec = FeatureSpec::new()
    ///     .with(Feature::column("Parch"))
    ///     .with(Feature::new("rel", Source::sum([Source::column("SibSp"), Source::column("Parch")])));
    /// assert_eq!(spec.input_columns(), ["Parch", "SibSp"]);
    /// ```
    pub fn input_columns(&self) -> Vec<String> {
        let mut out = BTreeSet::new();
        self.features.iter().for_each(|f| f.source.columns(&mut out));
        out.into_iter().map(str::to_owned).collect()
    }

    /// Fits every step on the training rows only (indices into `table`; other rows are not read),
    /// in order: each step is fitted on the training values as transformed by the steps before it.
    ///
    /// ```
    /// use mlflow_ml::data::{Column, Table};
    /// use mlflow_ml::features::{Feature, FeatureSpec, Imputer};
    /// let t = Table::new(vec![("x".into(), Column::Float(vec![Some(1.0), Some(3.0), Some(100.0), None]))])
    ///     .unwrap();
    /// let fitted = FeatureSpec::new().with(Feature::column("x").then(Imputer::mean())).fit(&t, &[0, 1])?;
    /// assert_eq!(fitted.transform(&t)?.x.column(0).to_vec(), [1.0, 3.0, 100.0, 2.0]);
    /// # Ok::<(), mlflow_ml::features::FeatureError>(())
    /// ```
    pub fn fit(&self, table: &Table, train_rows: &[usize]) -> Result<FittedFeatures, FeatureError> {
        self.validate()?;
        check_rows(train_rows, table.rows())?;
        let rows = Rows::Subset(train_rows);
        let mut done: Vec<(String, Values)> = Vec::with_capacity(self.features.len());
        let mut fitted = Vec::with_capacity(self.features.len());
        for f in &self.features {
            let label = f.source.to_string();
            let site = Site { column: &label, rows };
            let mut values =
                f.source.eval(table, rows, &done, &f.name).map_err(|e| e.within(&f.name, "source"))?;
            let mut steps = Vec::with_capacity(f.steps.len());
            for (i, step) in f.steps.iter().enumerate() {
                let at = || format!("step {}: {}", i + 1, step.name());
                let fs = step.fit(&values, site).map_err(|e| e.within(&f.name, &at()))?;
                values = fs.apply(values, site).map_err(|e| e.within(&f.name, &at()))?;
                steps.push(fs);
            }
            fitted.push(FittedFeature {
                name: f.name.clone(),
                source: f.source.clone(),
                steps,
                output: f.output,
            });
            done.push((f.name.clone(), values));
        }
        Ok(FittedFeatures { features: fitted })
    }
}

/// One fitted step of a feature's chain.
///
/// ```
/// use mlflow_ml::features::{FittedStep, Op};
/// let step = FittedStep::Op(Op::Floor);
/// assert_eq!(step.name(), "floor");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FittedStep {
    /// A fitted imputer.
    Impute(FittedImputer),
    /// A fitted encoder.
    Encode(FittedEncoder),
    /// A fitted binner.
    Bin(FittedBinner),
    /// A fitted scaler.
    Scale(FittedScaler),
    /// A stateless operation.
    Op(Op),
}

impl FittedStep {
    /// A short name for messages.
    ///
    /// ```
    /// use mlflow_ml::features::{FittedStep, Op};
    /// assert_eq!(FittedStep::Op(Op::FirstChar).name(), "first char");
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            FittedStep::Impute(_) => "impute",
            FittedStep::Encode(_) => "encode",
            FittedStep::Bin(_) => "bin",
            FittedStep::Scale(_) => "scale",
            FittedStep::Op(op) => op.step_name(),
        }
    }

    fn apply(&self, values: Values, site: Site<'_>) -> Result<Values, FeatureError> {
        let codes = |v: Vec<i64>| Values::Num(v.into_iter().map(|c| Some(c as f64)).collect());
        Ok(match self {
            FittedStep::Impute(i) => i.apply(values, site, "impute")?,
            FittedStep::Encode(e) => codes(e.encode(values, site)?),
            FittedStep::Bin(b) => codes(b.bin(values, site)?),
            FittedStep::Scale(s) => {
                Values::Num(s.scale_values(values, site)?.into_iter().map(Some).collect())
            }
            FittedStep::Op(op) => op.apply(values, site)?,
        })
    }
}

/// One fitted feature.
///
/// ```
/// use mlflow_ml::data::{Column, Table};
/// use mlflow_ml::features::{Feature, FeatureSpec, FittedStep, Imputer};
/// let t = Table::new(vec![("x".into(), Column::Float(vec![Some(2.0), None]))]).unwrap();
/// let fitted = FeatureSpec::new().with(Feature::column("x").then(Imputer::median())).fit(&t, &[0, 1])?;
/// let x = fitted.feature("x").unwrap();
/// assert!(matches!(&x.steps[0], FittedStep::Impute(i) if i.fill().as_num() == Some(2.0)));
/// # Ok::<(), mlflow_ml::features::FeatureError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedFeature {
    /// The feature's name.
    pub name: String,
    /// Where its values start.
    pub source: Source,
    /// Its fitted steps, in order.
    pub steps: Vec<FittedStep>,
    /// Whether it is a column of the output matrix.
    pub output: bool,
}

/// A fitted [`FeatureSpec`]: the artifact that turns any table with the input columns
/// (training, hold-out or serving rows) into the same features as at training time.
///
/// ```
/// use mlflow_core::codec::{decode, encode};
/// use mlflow_ml::data::{Column, Table};
/// use mlflow_ml::features::{Feature, FeatureSpec, FittedFeatures, Imputer};
/// let t = Table::new(vec![("x".into(), Column::Float(vec![Some(2.0), None]))]).unwrap();
/// let fitted = FeatureSpec::new().with(Feature::column("x").then(Imputer::median())).fit(&t, &[0, 1])?;
/// let back: FittedFeatures = decode(&encode(&fitted).unwrap(), 1 << 20).unwrap();
/// assert_eq!(back, fitted);
/// # Ok::<(), mlflow_ml::features::FeatureError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedFeatures {
    features: Vec<FittedFeature>,
}

impl FittedFeatures {
    /// All fitted features, hidden ones included, in spec order.
    ///
    /// ```
    /// use mlflow_ml::data::{Column, Table};
    /// use mlflow_ml::features::{Feature, FeatureSpec};
    /// let t = Table::new(vec![("x".into(), Column::Float(vec![Some(2.0)]))]).unwrap();
    /// let fitted = FeatureSpec::new().with(Feature::column("x")).fit(&t, &[0])?;
    /// assert_eq!(fitted.features().len(), 1);
    /// # Ok::<(), mlflow_ml::features::FeatureError>(())
    /// ```
    pub fn features(&self) -> &[FittedFeature] {
        &self.features
    }

    /// The fitted feature of this name.
    ///
    /// ```
    /// use mlflow_ml::data::{Column, Table};
    /// use mlflow_ml::features::{Feature, FeatureSpec};
    /// let t = Table::new(vec![("x".into(), Column::Float(vec![Some(2.0)]))]).unwrap();
    /// let fitted = FeatureSpec::new().with(Feature::column("x")).fit(&t, &[0])?;
    /// assert!(fitted.feature("x").is_some() && fitted.feature("y").is_none());
    /// # Ok::<(), mlflow_ml::features::FeatureError>(())
    /// ```
    pub fn feature(&self, name: &str) -> Option<&FittedFeature> {
        self.features.iter().find(|f| f.name == name)
    }

    /// The output column names, in order.
    ///
    /// ```
    /// use mlflow_ml::data::{Column, Table};
    /// use mlflow_ml::features::{Feature, FeatureSpec, Source};
    /// let t = Table::new(vec![("x".into(), Column::Float(vec![Some(2.0)]))]).unwrap();
    /// let spec = FeatureSpec::new()
    ///     .with(Feature::column("x").hidden())
    ///     .with(Feature::new("x2", Source::product([Source::feature("x"), Source::feature("x")])));
    /// assert_eq!(spec.fit(&t, &[0])?.names(), ["x2"]);
    /// # Ok::<(), mlflow_ml::features::FeatureError>(())
    /// ```
    pub fn names(&self) -> Vec<String> {
        self.features.iter().filter(|f| f.output).map(|f| f.name.clone()).collect()
    }

    /// The table columns a transform needs, sorted (the serving signature's inputs).
    ///
    /// ```
    /// use mlflow_ml::data::{Column, Table};
    /// use mlflow_ml::features::{Feature, FeatureSpec};
    /// let t = Table::new(vec![("x".into(), Column::Float(vec![Some(2.0)]))]).unwrap();
    /// assert_eq!(FeatureSpec::new().with(Feature::column("x")).fit(&t, &[0])?.input_columns(), ["x"]);
    /// # Ok::<(), mlflow_ml::features::FeatureError>(())
    /// ```
    pub fn input_columns(&self) -> Vec<String> {
        let mut out = BTreeSet::new();
        self.features.iter().for_each(|f| f.source.columns(&mut out));
        out.into_iter().map(str::to_owned).collect()
    }

    /// Builds the feature matrix of every row of `table`. A missing input column, a text value
    /// where a number is needed, a NaN or infinity, a missing value reaching a step that needs
    /// one (or the output), or an unknown category with an erroring encoder is an error naming
    /// the row, the column and the feature.
    ///
    /// ```
    /// use mlflow_ml::data::{Column, Table};
    /// use mlflow_ml::features::{Feature, FeatureError, FeatureSpec};
    /// let train = Table::new(vec![("x".into(), Column::Float(vec![Some(2.0)]))]).unwrap();
    /// let fitted = FeatureSpec::new().with(Feature::column("x")).fit(&train, &[0])?;
    /// let serving = Table::new(vec![("x".into(), Column::Float(vec![Some(1.0), None]))]).unwrap();
    /// let err = fitted.transform(&serving).unwrap_err();
    /// assert!(matches!(err, FeatureError::MissingValue { row: 1, .. }));
    /// # Ok::<(), FeatureError>(())
    /// ```
    pub fn transform(&self, table: &Table) -> Result<FeatureMatrix, FeatureError> {
        let n = table.rows();
        let rows = Rows::All(n);
        let mut done: Vec<(String, Values)> = Vec::with_capacity(self.features.len());
        for f in &self.features {
            let label = f.source.to_string();
            let site = Site { column: &label, rows };
            let mut values =
                f.source.eval(table, rows, &done, &f.name).map_err(|e| e.within(&f.name, "source"))?;
            for (i, step) in f.steps.iter().enumerate() {
                values = step
                    .apply(values, site)
                    .map_err(|e| e.within(&f.name, &format!("step {}: {}", i + 1, step.name())))?;
            }
            done.push((f.name.clone(), values));
        }
        let outputs: Vec<(&FittedFeature, Values)> =
            self.features.iter().zip(done.into_iter().map(|(_, v)| v)).filter(|(f, _)| f.output).collect();
        let mut x = Array2::zeros((n, outputs.len()));
        for (j, (f, values)) in outputs.into_iter().enumerate() {
            let label = f.source.to_string();
            let site = Site { column: &label, rows };
            // Text that parses as numbers is accepted; other text is a `NotNumeric` error.
            let nums = numbers(values, site).map_err(|e| e.within(&f.name, "output"))?;
            let nums =
                super::values::required(nums, site, "output").map_err(|e| e.within(&f.name, "output"))?;
            for (i, v) in nums.into_iter().enumerate() {
                x[[i, j]] = v;
            }
        }
        Ok(FeatureMatrix { names: self.names(), x })
    }
}

/// Named feature columns over rows: the input of every model.
///
/// ```
/// use mlflow_ml::features::FeatureMatrix;
/// use ndarray::array;
/// let m = FeatureMatrix { names: vec!["a".into(), "b".into()], x: array![[1.0, 2.0], [3.0, 4.0]] };
/// assert_eq!(m.rows(), 2);
/// assert_eq!(m.column("b").unwrap().to_vec(), [2.0, 4.0]);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureMatrix {
    /// Column names, one per column of `x`.
    pub names: Vec<String>,
    /// Values: one row per table row, one column per feature.
    pub x: Array2<f64>,
}

impl FeatureMatrix {
    /// Number of rows.
    ///
    /// ```
    /// use mlflow_ml::features::FeatureMatrix;
    /// let m = FeatureMatrix { names: vec!["a".into()], x: ndarray::Array2::zeros((3, 1)) };
    /// assert_eq!(m.rows(), 3);
    /// ```
    pub fn rows(&self) -> usize {
        self.x.nrows()
    }

    /// The column of this name.
    ///
    /// ```
    /// use mlflow_ml::features::FeatureMatrix;
    /// let m = FeatureMatrix { names: vec!["a".into()], x: ndarray::array![[5.0]] };
    /// assert_eq!(m.column("a").unwrap()[0], 5.0);
    /// assert!(m.column("z").is_none());
    /// ```
    pub fn column(&self, name: &str) -> Option<ArrayView1<'_, f64>> {
        self.names.iter().position(|n| n == name).map(|j| self.x.column(j))
    }

    /// The given rows, in the given order (e.g. a split's `train` or `test`).
    ///
    /// ```
    /// use mlflow_ml::features::FeatureMatrix;
    /// let m = FeatureMatrix { names: vec!["a".into()], x: ndarray::array![[1.0], [2.0], [3.0]] };
    /// assert_eq!(m.select_rows(&[2, 0])?.x, ndarray::array![[3.0], [1.0]]);
    /// assert!(m.select_rows(&[3]).is_err());
    /// # Ok::<(), mlflow_ml::features::FeatureError>(())
    /// ```
    pub fn select_rows(&self, rows: &[usize]) -> Result<FeatureMatrix, FeatureError> {
        if let Some(&row) = rows.iter().find(|&&r| r >= self.rows()) {
            return Err(FeatureError::RowOutOfRange { row, rows: self.rows() });
        }
        Ok(FeatureMatrix { names: self.names.clone(), x: self.x.select(Axis(0), rows) })
    }
}

impl StandardScaler {
    /// Fits one scaler per column of a feature matrix on its training rows (all values must be
    /// finite).
    ///
    /// ```
    /// use mlflow_ml::features::{FeatureMatrix, StandardScaler};
    /// let m = FeatureMatrix { names: vec!["a".into()], x: ndarray::array![[1.0], [3.0], [100.0]] };
    /// let scaled = StandardScaler.fit_matrix(&m, &[0, 1])?.transform(&m)?;
    /// assert_eq!(scaled.x, ndarray::array![[-1.0], [1.0], [98.0]]);
    /// # Ok::<(), mlflow_ml::features::FeatureError>(())
    /// ```
    pub fn fit_matrix(
        &self,
        m: &FeatureMatrix,
        train_rows: &[usize],
    ) -> Result<FittedMatrixScaler, FeatureError> {
        check_rows(train_rows, m.rows())?;
        check_matrix(m)?;
        let train = m.select_rows(train_rows)?;
        let columns = train.x.columns().into_iter().map(|c| FittedScaler::from_values(&c.to_vec())).collect();
        Ok(FittedMatrixScaler { names: m.names.clone(), columns })
    }
}

fn check_matrix(m: &FeatureMatrix) -> Result<(), FeatureError> {
    if m.names.len() != m.x.ncols() {
        return Err(FeatureError::FeatureMismatch {
            expected: format!("{} columns", m.x.ncols()),
            found: m.names.join(", "),
        });
    }
    for ((i, j), v) in m.x.indexed_iter() {
        if !v.is_finite() {
            return Err(FeatureError::NotFinite {
                column: m.names[j].clone(),
                row: i,
                value: *v,
                context: String::new(),
            });
        }
    }
    Ok(())
}

/// A [`StandardScaler`] fitted on every column of a feature matrix.
///
/// ```
/// use mlflow_ml::features::{FeatureMatrix, StandardScaler};
/// let m = FeatureMatrix { names: vec!["a".into(), "b".into()], x: ndarray::array![[1.0, 5.0], [3.0, 5.0]] };
/// let s = StandardScaler.fit_matrix(&m, &[0, 1])?;
/// assert_eq!(s.scalers()[1].scale(), 1.0); // constant column: divide by 1
/// # Ok::<(), mlflow_ml::features::FeatureError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedMatrixScaler {
    names: Vec<String>,
    columns: Vec<FittedScaler>,
}

impl FittedMatrixScaler {
    /// The column names it was fitted on.
    ///
    /// ```
    /// use mlflow_ml::features::{FeatureMatrix, StandardScaler};
    /// let m = FeatureMatrix { names: vec!["a".into()], x: ndarray::array![[1.0]] };
    /// assert_eq!(StandardScaler.fit_matrix(&m, &[0])?.names(), ["a"]);
    /// # Ok::<(), mlflow_ml::features::FeatureError>(())
    /// ```
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// One fitted scaler per column.
    ///
    /// ```
    /// use mlflow_ml::features::{FeatureMatrix, StandardScaler};
    /// let m = FeatureMatrix { names: vec!["a".into()], x: ndarray::array![[1.0], [3.0]] };
    /// assert_eq!(StandardScaler.fit_matrix(&m, &[0, 1])?.scalers()[0].mean(), 2.0);
    /// # Ok::<(), mlflow_ml::features::FeatureError>(())
    /// ```
    pub fn scalers(&self) -> &[FittedScaler] {
        &self.columns
    }

    /// Scales a matrix with the same column names.
    ///
    /// ```
    /// use mlflow_ml::features::{FeatureError, FeatureMatrix, StandardScaler};
    /// let m = FeatureMatrix { names: vec!["a".into()], x: ndarray::array![[1.0], [3.0]] };
    /// let s = StandardScaler.fit_matrix(&m, &[0, 1])?;
    /// let other = FeatureMatrix { names: vec!["b".into()], x: ndarray::array![[1.0]] };
    /// assert!(matches!(s.transform(&other), Err(FeatureError::FeatureMismatch { .. })));
    /// # Ok::<(), FeatureError>(())
    /// ```
    pub fn transform(&self, m: &FeatureMatrix) -> Result<FeatureMatrix, FeatureError> {
        if m.names != self.names {
            return Err(FeatureError::FeatureMismatch {
                expected: self.names.join(", "),
                found: m.names.join(", "),
            });
        }
        check_matrix(m)?;
        let mut x = m.x.clone();
        for (mut col, s) in x.columns_mut().into_iter().zip(&self.columns) {
            col.mapv_inplace(|v| s.apply_one(v));
        }
        Ok(FeatureMatrix { names: m.names.clone(), x })
    }
}
