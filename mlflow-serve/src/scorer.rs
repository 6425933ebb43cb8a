//! [`Scorer`]: in-process scoring with a loaded [`ModelPackage`].

use std::collections::BTreeMap;
use std::path::Path;

use ndarray::{ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use super::{Lineage, MAGIC, ModelPackage, ServeError, join};
use mlflow_core::codec;
use mlflow_core::registry::Registry;
use mlflow_ml::data::Table;
use mlflow_ml::models::{ModelError, Outputs, SelfTestedModel, argmax_rows};

/// Up to this many features, a single row is scaled on the stack.
const STACK_FEATURES: usize = 64;

/// One row's prediction, in the form the prediction log keeps: the class index and a probability
/// for a classifier, the value for a regressor.
///
/// - Binary classifier: `label` is 1 when P(class 1) `> 0.5`, else 0, and `probability` is
///   P(class 1).
/// - Multiclass classifier: `label` is the class of the largest probability (the first on a
///   tie) and `probability` is that class's probability.
/// - Regressor: `label` is 0 and `probability` holds the **predicted value**.
///
/// The class index points into the package's [`classes`](crate::ModelPackage::classes); every
/// class probability is in [`Scorer::predict`]'s outputs.
///
/// ```
/// use mlflow_serve::Prediction;
/// let p = Prediction { label: 1, probability: 0.93 };
/// assert_eq!(serde_json::to_string(&p).unwrap(), r#"{"label":1,"probability":0.93}"#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// The predicted class index (0 for a regressor).
    pub label: u32,
    /// P(class 1) (binary), P(label) (multiclass) or the predicted value (regressor).
    pub probability: f64,
}

impl Prediction {
    /// One prediction per row of `outputs` (see [`Prediction`] for what each field holds).
    ///
    /// ```
    /// use mlflow_ml::models::Outputs;
    /// use mlflow_serve::Prediction;
    /// use ndarray::array;
    /// let p = Prediction::summarize(&Outputs::Probabilities(array![[0.2, 0.5, 0.3], [0.6, 0.4, 0.0]]));
    /// assert_eq!(p, [Prediction { label: 1, probability: 0.5 }, Prediction { label: 0, probability: 0.6 }]);
    /// let p = Prediction::summarize(&Outputs::Probabilities(array![[0.5, 0.5]]));
    /// assert_eq!(p, [Prediction { label: 0, probability: 0.5 }]);
    /// ```
    pub fn summarize(outputs: &Outputs) -> Vec<Prediction> {
        match outputs {
            Outputs::Probabilities(p) if p.ncols() == 2 => p
                .rows()
                .into_iter()
                .map(|row| Prediction { label: u32::from(row[1] > 0.5), probability: row[1] })
                .collect(),
            Outputs::Probabilities(p) => argmax_rows(p.view())
                .iter()
                .zip(p.rows())
                .map(|(&class, row)| Prediction { label: class as u32, probability: row[class] })
                .collect(),
            Outputs::Values(v) => {
                v.iter().map(|&value| Prediction { label: 0, probability: value }).collect()
            }
        }
    }
}

/// Scores rows with a [`ModelPackage`], checking each input against the package's signature:
/// a wrong number of values, a NaN or infinity, an unknown or missing feature name is an error
/// naming the row and the feature.
///
/// ```
/// use mlflow_ml::models::{Model, ModelParams, NaiveBayesParams};
/// use mlflow_serve::{Lineage, ModelPackage, Scorer, ServeError};
/// use ndarray::array;
/// use std::collections::BTreeMap;
/// let x = array![[0.0, 1.0], [0.2, 1.0], [2.0, 0.0], [2.2, 0.0]];
/// let model = Model::fit(x.view(), &[0, 0, 1, 1], &ModelParams::NaiveBayes(NaiveBayesParams::default()))?;
/// let scorer = Scorer::new(ModelPackage::new("nb", model, None, &["a", "b"], x.view(), Lineage::default())?);
/// let p = scorer.score_row(&[2.1, 0.0])?;
/// assert_eq!(p.label, 1);
/// let named = BTreeMap::from([("b".to_owned(), 0.0), ("a".to_owned(), 2.1)]);
/// assert_eq!(scorer.score_named(&named)?, p);
/// assert_eq!(scorer.score_batch(x.view())?.iter().map(|p| p.label).collect::<Vec<_>>(), [0, 0, 1, 1]);
/// assert!(matches!(scorer.score_row(&[1.0]), Err(ServeError::FeatureCount { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Scorer {
    package: ModelPackage,
    names: Vec<String>,
}

impl Scorer {
    /// A scorer over a package (already verified if it was loaded; see [`ModelPackage::verify`]).
    ///
    /// See [`Scorer`] for an example.
    pub fn new(package: ModelPackage) -> Scorer {
        let names = package.signature().names();
        Scorer { package, names }
    }

    /// Loads a package file.
    ///
    /// ```
    /// assert!(mlflow_serve::Scorer::load("/no/such/package").is_err());
    /// ```
    pub fn load(path: impl AsRef<Path>) -> Result<Scorer, ServeError> {
        Ok(Scorer::new(ModelPackage::load(path)?))
    }

    /// Reads a package from bytes in the file format.
    ///
    /// See the [module docs](super) for an example.
    pub fn from_bytes(bytes: &[u8]) -> Result<Scorer, ServeError> {
        Ok(Scorer::new(ModelPackage::from_bytes(bytes)?))
    }

    /// Loads a registered model by reference (`NAME`, `NAME/VERSION` or `NAME@ALIAS`).
    ///
    /// The registered artifact may be a package file's bytes, a [`ModelPackage`] step output, or
    /// a [`SelfTestedModel`] step output; the last is packaged on the fly with the scaler's
    /// feature names (or `x0`, `x1`, ... without a scaler), and its self-test is re-run. The
    /// package's lineage is set from the registry (run, node, pipeline, name and version).
    ///
    /// ```
    /// # use mlflow_core::prelude::*;
    /// use mlflow_core::registry::Registry;
    /// use mlflow_serve::{Scorer, ServeError};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = Store::open(dir.path()).unwrap();
    /// let registry = Registry::new(&store)?;
    /// assert!(matches!(Scorer::from_registry(&registry, "titanic@production"), Err(ServeError::Registry(_))));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_registry(registry: &Registry<'_>, reference: &str) -> Result<Scorer, ServeError> {
        let version = registry.resolve(reference)?;
        let bytes = registry.load_bytes(&version.reference())?;
        let lineage = Lineage::default()
            .run(&version.run_id, &version.node)
            .pipeline(&version.pipeline)
            .model(&version.name, version.version);
        let package = if bytes.starts_with(MAGIC) {
            ModelPackage::from_bytes(&bytes)?
        } else if let Ok(package) = codec::decode::<ModelPackage>(&bytes, u64::MAX) {
            ModelPackage::from_bytes(&package.to_bytes()?)?
        } else {
            match SelfTestedModel::from_bytes(&bytes) {
                Ok(model) => ModelPackage::from_self_tested_unnamed(&model, Lineage::default())?,
                Err(ModelError::Encoding(detail)) => {
                    return Err(ServeError::NotAModel { reference: version.reference(), detail });
                }
                Err(e) => return Err(e.into()),
            }
        };
        Ok(Scorer::new(package.with_lineage(lineage)))
    }

    /// The package.
    ///
    /// ```
    /// # use mlflow_ml::models::{Model, ModelParams, NaiveBayesParams};
    /// # use mlflow_serve::{Lineage, ModelPackage, Scorer};
    /// # let x = ndarray::array![[0.0], [0.2], [2.0], [2.2]];
    /// # let model = Model::fit(x.view(), &[0, 0, 1, 1], &ModelParams::NaiveBayes(NaiveBayesParams::default()))?;
    /// let scorer = Scorer::new(ModelPackage::new("nb", model, None, &["x"], x.view(), Lineage::default())?);
    /// assert_eq!(scorer.package().name(), "nb");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn package(&self) -> &ModelPackage {
        &self.package
    }

    /// The input feature names, in signature order.
    ///
    /// ```
    /// # use mlflow_ml::models::{Model, ModelParams, NaiveBayesParams};
    /// # use mlflow_serve::{Lineage, ModelPackage, Scorer};
    /// # let x = ndarray::array![[0.0], [0.2], [2.0], [2.2]];
    /// # let model = Model::fit(x.view(), &[0, 0, 1, 1], &ModelParams::NaiveBayes(NaiveBayesParams::default()))?;
    /// let scorer = Scorer::new(ModelPackage::new("nb", model, None, &["x"], x.view(), Lineage::default())?);
    /// assert_eq!(scorer.names(), ["x"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Scores one row of model inputs, in signature order.
    ///
    /// See [`Scorer`] for an example.
    pub fn score_row(&self, row: &[f64]) -> Result<Prediction, ServeError> {
        self.check_row(0, row)?;
        let n = row.len();
        match self.package.scaler() {
            None => self.model_row(row),
            Some(scaler) => {
                let mut stack = [0.0; STACK_FEATURES];
                let mut heap = Vec::new();
                let buf: &mut [f64] = if n <= STACK_FEATURES {
                    &mut stack[..n]
                } else {
                    heap.resize(n, 0.0);
                    &mut heap
                };
                for ((out, &v), s) in buf.iter_mut().zip(row).zip(scaler.scalers()) {
                    *out = s.apply_one(v);
                }
                if let Some(column) = buf.iter().position(|v| !v.is_finite()) {
                    let detail = format!(
                        "feature `{}` (column {column}) = {} overflows when scaled",
                        self.names[column], row[column]
                    );
                    return Err(self.package.out_of_range(0, &detail));
                }
                self.model_row(buf)
            }
        }
    }

    fn model_row(&self, row: &[f64]) -> Result<Prediction, ServeError> {
        let view = ArrayView2::from_shape((1, row.len()), row)
            .map_err(|e| ServeError::Build(format!("cannot view the row as a matrix: {e}")))?;
        let outputs = self.package.model().predict_outputs(view)?;
        if let Some((_, value)) = outputs.first_non_finite() {
            return Err(self.package.out_of_range(0, &format!("the model's output is {value}")));
        }
        Prediction::summarize(&outputs).pop().ok_or_else(|| {
            ServeError::Build("the model returned no output for one row; repackage the model".into())
        })
    }

    /// Scores rows of model inputs, one row per input, columns in signature order.
    ///
    /// See [`Scorer`] for an example.
    pub fn score_batch(&self, rows: ArrayView2<'_, f64>) -> Result<Vec<Prediction>, ServeError> {
        Ok(Prediction::summarize(&self.predict(rows)?))
    }

    /// Every output of the model for rows of engineered features (checked as
    /// [`Scorer::score_batch`] checks them): one probability per class for a classifier, the value
    /// for a regressor.
    ///
    /// ```
    /// use mlflow_ml::models::{Model, ModelParams, NaiveBayesParams, Outputs};
    /// use mlflow_serve::{Lineage, ModelPackage, Scorer};
    /// use ndarray::array;
    /// let x = array![[0.0], [0.2], [2.0], [2.2], [4.0], [4.2]];
    /// let model = Model::fit(x.view(), &[0, 0, 1, 1, 2, 2], &ModelParams::NaiveBayes(NaiveBayesParams::default()))?;
    /// let scorer = Scorer::new(ModelPackage::new("nb", model, None, &["x"], x.view(), Lineage::default())?);
    /// let Outputs::Probabilities(p) = scorer.predict(array![[4.1]].view())? else { unreachable!() };
    /// assert_eq!(p.ncols(), 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn predict(&self, rows: ArrayView2<'_, f64>) -> Result<Outputs, ServeError> {
        if rows.ncols() != self.names.len() {
            return Err(self.count_error(0, rows.ncols()));
        }
        for (i, row) in rows.axis_iter(Axis(0)).enumerate() {
            for (j, &v) in row.iter().enumerate() {
                if !v.is_finite() {
                    return Err(self.non_finite(i, j, v));
                }
            }
        }
        self.package.predict_outputs(rows)
    }

    /// Scores one row given as feature name to value; every feature of the signature must be
    /// present and no other.
    ///
    /// See [`Scorer`] for an example.
    pub fn score_named(&self, row: &BTreeMap<String, f64>) -> Result<Prediction, ServeError> {
        let ordered = self.ordered(0, row)?;
        self.score_row(&ordered)
    }

    /// Scores rows given as feature name to value; errors name the row.
    ///
    /// ```
    /// # use mlflow_ml::models::{Model, ModelParams, NaiveBayesParams};
    /// # use mlflow_serve::{Lineage, ModelPackage, Scorer, ServeError};
    /// # use std::collections::BTreeMap;
    /// # let x = ndarray::array![[0.0], [0.2], [2.0], [2.2]];
    /// # let model = Model::fit(x.view(), &[0, 0, 1, 1], &ModelParams::NaiveBayes(NaiveBayesParams::default()))?;
    /// let scorer = Scorer::new(ModelPackage::new("nb", model, None, &["x"], x.view(), Lineage::default())?);
    /// let rows = [BTreeMap::from([("x".to_owned(), 0.1)]), BTreeMap::from([("y".to_owned(), 2.0)])];
    /// let err = scorer.score_named_batch(&rows).unwrap_err();
    /// assert!(matches!(err, ServeError::UnknownFeature { row: 1, .. }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn score_named_batch(&self, rows: &[BTreeMap<String, f64>]) -> Result<Vec<Prediction>, ServeError> {
        let n = self.names.len();
        let mut x = ndarray::Array2::zeros((rows.len(), n));
        for (i, row) in rows.iter().enumerate() {
            let ordered = self.ordered(i, row)?;
            x.row_mut(i).assign(&ndarray::ArrayView1::from(&ordered));
        }
        self.score_batch(x.view())
    }

    /// Scores raw table rows through the package's feature transformers (see
    /// [`ModelPackage::with_features`]); a package without them is an error.
    ///
    /// ```
    /// use mlflow_ml::data::{Column, Table};
    /// use mlflow_ml::features::{Feature, FeatureSpec, Imputer};
    /// use mlflow_ml::models::{Model, ModelParams, NaiveBayesParams};
    /// use mlflow_serve::{Lineage, ModelPackage, Scorer};
    /// let t = Table::new(vec![("x".into(), Column::Float(vec![Some(0.0), Some(2.0)]))]).unwrap();
    /// let fitted = FeatureSpec::new().with(Feature::column("x").then(Imputer::median())).fit(&t, &[0, 1])?;
    /// let x = ndarray::array![[0.0], [0.2], [2.0], [2.2]];
    /// let model = Model::fit(x.view(), &[0, 0, 1, 1], &ModelParams::NaiveBayes(NaiveBayesParams::default()))?;
    /// let package = ModelPackage::new("nb", model, None, &["x"], x.view(), Lineage::default())?;
    /// let scorer = Scorer::new(package.with_features(fitted)?);
    /// let serving = Table::new(vec![("x".into(), Column::Float(vec![Some(2.1), None]))]).unwrap();
    /// let labels: Vec<u32> = scorer.score_table(&serving)?.iter().map(|p| p.label).collect();
    /// assert_eq!(labels, [1, 0]); // the missing value is imputed with the training median, 1.0
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn score_table(&self, table: &Table) -> Result<Vec<Prediction>, ServeError> {
        Ok(Prediction::summarize(&self.predict_table(table)?))
    }

    /// Every output of the model for raw table rows (see [`Scorer::score_table`] and
    /// [`Scorer::predict`]).
    pub fn predict_table(&self, table: &Table) -> Result<Outputs, ServeError> {
        let features = self.package.features().ok_or_else(|| {
            ServeError::Build(format!(
                "package `{}` has no feature transformers, so it scores only engineered features ({}); use `score_batch`, or package it with `ModelPackage::with_features`",
                self.package.name(),
                join(&self.names)
            ))
        })?;
        let matrix = features.transform(table)?;
        self.predict(matrix.x.view())
    }

    pub(crate) fn ordered(&self, row: usize, named: &BTreeMap<String, f64>) -> Result<Vec<f64>, ServeError> {
        if let Some(name) = named.keys().find(|k| self.package.signature().position(k).is_none()) {
            return Err(ServeError::UnknownFeature { row, name: name.clone(), names: join(&self.names) });
        }
        self.names
            .iter()
            .map(|name| {
                named.get(name).copied().ok_or_else(|| ServeError::MissingFeature {
                    row,
                    name: name.clone(),
                    names: join(&self.names),
                })
            })
            .collect::<Result<Vec<f64>, ServeError>>()
            .and_then(|values| {
                self.check_row(row, &values)?;
                Ok(values)
            })
    }

    pub(crate) fn check_row(&self, row: usize, values: &[f64]) -> Result<(), ServeError> {
        if values.len() != self.names.len() {
            return Err(self.count_error(row, values.len()));
        }
        match values.iter().position(|v| !v.is_finite()) {
            Some(j) => Err(self.non_finite(row, j, values[j])),
            None => Ok(()),
        }
    }

    fn count_error(&self, row: usize, found: usize) -> ServeError {
        ServeError::FeatureCount { row, expected: self.names.len(), found, names: join(&self.names) }
    }

    fn non_finite(&self, row: usize, column: usize, value: f64) -> ServeError {
        ServeError::NonFinite { row, feature: self.names[column].clone(), column, value }
    }
}
