//! [`ModelPackage`]: the model, its scaler and transformers, signature, self-test rows and
//! lineage, in one versioned file.

use std::path::Path;

use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

mod file;

pub use file::{LEGACY_FORMAT_VERSION, PROFILELESS_FORMAT_VERSION};

use super::{ServeError, join};
use mlflow_core::codec;
use mlflow_ml::features::{ClassLabels, FittedFeatures, FittedMatrixScaler};
use mlflow_ml::models::{Estimator, Outputs, SELF_TEST_TOLERANCE, SelfTestedModel, Task};
use mlflow_ml::monitor::ReferenceProfile;

/// The first bytes of every package file.
pub const MAGIC: &[u8; 10] = b"MLFLOWPKG\0";

/// The package format version this library writes (it reads every earlier one too).
pub const FORMAT_VERSION: u32 = 3;
const BYTES: &str = "the input bytes";

/// The type of an input or output field.
///
/// ```
/// use mlflow_serve::FieldType;
/// assert_eq!(FieldType::Float.to_string(), "float");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FieldType {
    /// A finite 64-bit float.
    Float,
    /// A class label, 0 or 1.
    Label,
}

impl std::fmt::Display for FieldType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FieldType::Float => "float",
            FieldType::Label => "label",
        })
    }
}

/// One input feature of a [`Signature`].
///
/// ```
/// use mlflow_serve::{FieldType, InputField};
/// let f = InputField { name: "Pclass".into(), ty: FieldType::Float };
/// assert_eq!(f.name, "Pclass");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputField {
    /// The feature's name.
    pub name: String,
    /// Its type.
    pub ty: FieldType,
}

/// One output of a [`Signature`].
///
/// ```
/// use mlflow_serve::Signature;
/// let s = Signature::new(["x"]);
/// assert_eq!(s.outputs[0].name, "probability");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputField {
    /// The output's name.
    pub name: String,
    /// Its type.
    pub ty: FieldType,
    /// What it means.
    pub description: String,
}

/// What a package takes and gives: input features in order, and its outputs (the probability of
/// class 1 and the label).
///
/// ```
/// use mlflow_serve::Signature;
/// let s = Signature::new(["age", "fare"]);
/// assert_eq!(s.names(), ["age", "fare"]);
/// assert_eq!(s.position("fare"), Some(1));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    /// Input features, in the order the model takes them.
    pub inputs: Vec<InputField>,
    /// Outputs: `probability` then `label` (binary), `probability_<class>` per class then `label`
    /// (multiclass), or `value` (regression).
    pub outputs: Vec<OutputField>,
}

impl Signature {
    /// A signature of float inputs with these names, in this order, and the standard outputs.
    ///
    /// ```
    /// use mlflow_serve::{FieldType, Signature};
    /// let s = Signature::new(["a"]);
    /// assert_eq!((s.inputs.len(), s.outputs[1].ty), (1, FieldType::Label));
    /// ```
    pub fn new<S: Into<String>>(names: impl IntoIterator<Item = S>) -> Signature {
        Signature {
            inputs: names.into_iter().map(|n| InputField { name: n.into(), ty: FieldType::Float }).collect(),
            outputs: vec![
                OutputField {
                    name: "probability".into(),
                    ty: FieldType::Float,
                    description: "P(class 1), in [0, 1]".into(),
                },
                OutputField {
                    name: "label".into(),
                    ty: FieldType::Label,
                    description: "1 when the probability is above 0.5, else 0".into(),
                },
            ],
        }
    }

    /// A signature of float inputs with these names and the outputs of `task`: for two classes
    /// `probability` (P of the second class) and `label`; for more, one `probability_<class>` per
    /// class and `label`; for regression `value`.
    ///
    /// ```
    /// use mlflow_ml::features::{ClassLabel, ClassLabels};
    /// use mlflow_ml::models::Task;
    /// use mlflow_serve::Signature;
    /// let classes = ClassLabels::new(["a", "b", "c"].map(|s| ClassLabel::Text(s.into())).to_vec());
    /// let s = Signature::for_task(["x"], Task::Classification { classes: 3 }, Some(&classes));
    /// let outputs: Vec<&str> = s.outputs.iter().map(|o| o.name.as_str()).collect();
    /// assert_eq!(outputs, ["probability_a", "probability_b", "probability_c", "label"]);
    /// assert_eq!(Signature::for_task(["x"], Task::Regression, None).outputs[0].name, "value");
    /// ```
    pub fn for_task<S: Into<String>>(
        names: impl IntoIterator<Item = S>,
        task: Task,
        classes: Option<&ClassLabels>,
    ) -> Signature {
        let mut signature = Signature::new(names);
        let label =
            |description: String| OutputField { name: "label".into(), ty: FieldType::Label, description };
        let name = |i: usize| classes.and_then(|c| c.label(i)).map_or(i.to_string(), ToString::to_string);
        match task {
            Task::Classification { classes: 2 } => {
                if classes.is_some() {
                    signature.outputs[0].description = format!("P(class `{}`), in [0, 1]", name(1));
                    signature.outputs[1] =
                        label(format!("`{}` when the probability is above 0.5, else `{}`", name(1), name(0)));
                }
            }
            Task::Classification { classes: n } => {
                signature.outputs = (0..n)
                    .map(|i| OutputField {
                        name: format!("probability_{}", name(i)),
                        ty: FieldType::Float,
                        description: format!("P(class `{}`), in [0, 1]", name(i)),
                    })
                    .collect();
                signature.outputs.push(label(
                    "the class of the largest probability (the first in class order on a tie)".into(),
                ));
            }
            Task::Regression => {
                signature.outputs = vec![OutputField {
                    name: "value".into(),
                    ty: FieldType::Float,
                    description: "the predicted value".into(),
                }];
            }
        }
        signature
    }

    /// The input feature names, in order.
    ///
    /// ```
    /// assert_eq!(mlflow_serve::Signature::new(["a", "b"]).names(), ["a", "b"]);
    /// ```
    pub fn names(&self) -> Vec<String> {
        self.inputs.iter().map(|f| f.name.clone()).collect()
    }

    /// The position of an input feature.
    ///
    /// ```
    /// assert_eq!(mlflow_serve::Signature::new(["a"]).position("b"), None);
    /// ```
    pub fn position(&self, name: &str) -> Option<usize> {
        self.inputs.iter().position(|f| f.name == name)
    }
}

/// Where a packaged model came from, as far as it is known.
///
/// ```
/// use mlflow_serve::Lineage;
/// let l = Lineage::default().run("a83e3110979f", "package").pipeline("titanic").model("titanic", 3);
/// assert_eq!(l.model_version, Some(3));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lineage {
    /// The run that produced the model.
    pub run_id: Option<String>,
    /// The node (step) of that run whose output the model is.
    pub node: Option<String>,
    /// The run's pipeline.
    pub pipeline: Option<String>,
    /// The registered model name.
    pub model_name: Option<String>,
    /// The registered model version.
    pub model_version: Option<u32>,
}

impl Lineage {
    /// Sets the run and node.
    ///
    /// ```
    /// assert_eq!(mlflow_serve::Lineage::default().run("r", "n").node.as_deref(), Some("n"));
    /// ```
    pub fn run(mut self, run_id: impl Into<String>, node: impl Into<String>) -> Self {
        self.run_id = Some(run_id.into());
        self.node = Some(node.into());
        self
    }

    /// Sets the pipeline name.
    ///
    /// ```
    /// assert_eq!(mlflow_serve::Lineage::default().pipeline("p").pipeline.as_deref(), Some("p"));
    /// ```
    pub fn pipeline(mut self, name: impl Into<String>) -> Self {
        self.pipeline = Some(name.into());
        self
    }

    /// Sets the registered model name and version.
    ///
    /// ```
    /// assert_eq!(mlflow_serve::Lineage::default().model("m", 2).model_name.as_deref(), Some("m"));
    /// ```
    pub fn model(mut self, name: impl Into<String>, version: u32) -> Self {
        self.model_name = Some(name.into());
        self.model_version = Some(version);
        self
    }
}

/// A fitted model ready to serve without the pipeline's code: the optional feature transformers,
/// the optional input scaler, the model, its [`Signature`], self-test rows with their expected
/// probabilities, the library and format versions, and [`Lineage`].
///
/// Written and read as one versioned, self-describing file (see the [module docs](super)).
///
/// ```
/// use mlflow_ml::models::{Model, ModelParams, NaiveBayesParams, SelfTestedModel};
/// use mlflow_serve::{Lineage, ModelPackage};
/// use ndarray::array;
/// let x = array![[0.0], [0.2], [2.0], [2.2]];
/// let model = Model::fit(x.view(), &[0, 0, 1, 1], &ModelParams::NaiveBayes(NaiveBayesParams::default()))?;
/// let tested = SelfTestedModel::new("nb", model, None, x.view())?;
/// let package = ModelPackage::from_self_tested(&tested, &["x"], Lineage::default().pipeline("demo"))?;
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("nb.mlpkg");
/// package.save(&path)?;
/// let back = ModelPackage::load(&path)?;
/// assert_eq!(back, package);
/// assert_eq!(back.lineage().pipeline.as_deref(), Some("demo"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelPackage {
    name: String,
    library_version: String,
    format_version: u32,
    signature: Signature,
    features: Option<FittedFeatures>,
    scaler: Option<FittedMatrixScaler>,
    model: Estimator,
    classes: Option<ClassLabels>,
    self_test_rows: Array2<f64>,
    expected: Vec<f64>,
    lineage: Lineage,
    profile: Option<ReferenceProfile>,
}

impl ModelPackage {
    /// Packages a model: records its probabilities for `self_test_rows` (model inputs, before the
    /// scaler). The feature names are the signature's inputs, in order; there must be one per
    /// model feature, unique, and they must equal the scaler's names when there is a scaler.
    ///
    /// ```
    /// use mlflow_ml::models::{Model, ModelParams, NaiveBayesParams};
    /// use mlflow_serve::{Lineage, ModelPackage, ServeError};
    /// use ndarray::array;
    /// let x = array![[0.0], [0.2], [2.0], [2.2]];
    /// let model = Model::fit(x.view(), &[0, 0, 1, 1], &ModelParams::NaiveBayes(NaiveBayesParams::default()))?;
    /// let err = ModelPackage::new("nb", model, None, &["a", "b"], x.view(), Lineage::default()).unwrap_err();
    /// assert!(matches!(err, ServeError::Build(_)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new<S: AsRef<str>>(
        name: impl Into<String>,
        model: impl Into<Estimator>,
        scaler: Option<FittedMatrixScaler>,
        feature_names: &[S],
        self_test_rows: ArrayView2<'_, f64>,
        lineage: Lineage,
    ) -> Result<ModelPackage, ServeError> {
        let model = model.into();
        let task = model.task();
        let classes = match task {
            Task::Classification { classes } => Some(ClassLabels::numbered(classes)),
            Task::Regression => None,
        };
        let names = feature_names.iter().map(|n| n.as_ref().to_owned());
        let mut package = ModelPackage {
            name: name.into(),
            library_version: env!("CARGO_PKG_VERSION").to_owned(),
            format_version: FORMAT_VERSION,
            signature: Signature::for_task(names, task, classes.as_ref()),
            features: None,
            scaler,
            model,
            classes,
            self_test_rows: self_test_rows.to_owned(),
            expected: Vec::new(),
            lineage,
            profile: None,
        };
        package.check().map_err(ServeError::Build)?;
        package.expected = package.predict_outputs(self_test_rows)?.recorded();
        Ok(package)
    }

    /// Names the classes as the label column held them (class index `i` is `classes.labels()[i]`),
    /// for the answers and the signature; a classifier is packaged with classes `0, 1, ...` until
    /// then. The number of classes must be the model's.
    ///
    /// ```
    /// use mlflow_ml::features::{ClassLabel, ClassLabels};
    /// use mlflow_ml::models::{Model, ModelParams, NaiveBayesParams};
    /// use mlflow_serve::{Lineage, ModelPackage};
    /// use ndarray::array;
    /// let x = array![[0.0], [0.2], [2.0], [2.2]];
    /// let model = Model::fit(x.view(), &[0, 0, 1, 1], &ModelParams::NaiveBayes(NaiveBayesParams::default()))?;
    /// let classes = ClassLabels::new(vec![ClassLabel::Text("died".into()), ClassLabel::Text("survived".into())]);
    /// let p = ModelPackage::new("nb", model, None, &["x"], x.view(), Lineage::default())?.with_classes(classes)?;
    /// assert_eq!(p.classes().unwrap().describe(), "died, survived");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_classes(mut self, classes: ClassLabels) -> Result<ModelPackage, ServeError> {
        let task = self.model.task();
        match task {
            Task::Classification { classes: n } if n == classes.len() => {}
            _ => {
                return Err(ServeError::Build(format!(
                    "{} class labels ({}) for a model of task {task}; pass the classes the model was trained on",
                    classes.len(),
                    classes.describe()
                )));
            }
        }
        self.signature = Signature::for_task(self.signature.names(), task, Some(&classes));
        self.classes = Some(classes);
        Ok(self)
    }

    /// Packages what the pipeline produced: the [`SelfTestedModel`]'s model, scaler and self-test
    /// rows, with the names of its input features in order. The package's own scoring path must
    /// reproduce the probabilities the self-tested model recorded.
    ///
    /// See [`ModelPackage`] for an example.
    pub fn from_self_tested<S: AsRef<str>>(
        model: &SelfTestedModel,
        feature_names: &[S],
        lineage: Lineage,
    ) -> Result<ModelPackage, ServeError> {
        let (rows, expected) = model.self_test();
        let package = ModelPackage::new(
            model.name(),
            Estimator::Classifier(model.model().clone()),
            model.scaler().cloned(),
            feature_names,
            rows,
            lineage,
        )?;
        package.agrees_with(expected)?;
        Ok(package)
    }

    /// Packages a [`SelfTestedModel`] whose feature names are not known: the scaler's names when
    /// it has one, else `x0`, `x1`, ...
    ///
    /// ```
    /// use mlflow_ml::models::{Model, ModelParams, NaiveBayesParams, SelfTestedModel};
    /// use mlflow_serve::{Lineage, ModelPackage};
    /// use ndarray::array;
    /// let x = array![[0.0], [0.2], [2.0], [2.2]];
    /// let model = Model::fit(x.view(), &[0, 0, 1, 1], &ModelParams::NaiveBayes(NaiveBayesParams::default()))?;
    /// let tested = SelfTestedModel::new("nb", model, None, x.view())?;
    /// let package = ModelPackage::from_self_tested_unnamed(&tested, Lineage::default())?;
    /// assert_eq!(package.signature().names(), ["x0"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_self_tested_unnamed(
        model: &SelfTestedModel,
        lineage: Lineage,
    ) -> Result<ModelPackage, ServeError> {
        let names: Vec<String> = match model.scaler() {
            Some(scaler) => scaler.names().to_vec(),
            None => (0..mlflow_ml::models::Classifier::n_features(model.model()))
                .map(|i| format!("x{i}"))
                .collect(),
        };
        ModelPackage::from_self_tested(model, &names, lineage)
    }

    /// Checks that the package's scoring path reproduces the probabilities the self-tested model
    /// recorded for the same rows.
    fn agrees_with(&self, recorded: &[f64]) -> Result<(), ServeError> {
        if recorded.len() != self.expected.len() {
            return Err(ServeError::Build(format!(
                "{} self-test outputs are compared with the {} recorded; reload the model from the store",
                recorded.len(),
                self.expected.len()
            )));
        }
        let per_row = self.recorded_per_row();
        for (at, (&got, &want)) in recorded.iter().zip(&self.expected).enumerate() {
            if (want - got).abs() > SELF_TEST_TOLERANCE {
                let row = at / per_row;
                return Err(ServeError::SelfTest { model: self.name.clone(), row, expected: want, got });
            }
        }
        Ok(())
    }

    /// Adds the fitted feature transformers that turn raw table rows into the model's inputs;
    /// their output names must be the signature's names, in order.
    ///
    /// ```
    /// use mlflow_ml::data::{Column, Table};
    /// use mlflow_ml::features::{Feature, FeatureSpec};
    /// use mlflow_ml::models::{Model, ModelParams, NaiveBayesParams};
    /// use mlflow_serve::{Lineage, ModelPackage};
    /// use ndarray::array;
    /// let t = Table::new(vec![("x".into(), mlflow_ml::data::Column::Float(vec![Some(0.0), Some(2.0)]))]).unwrap();
    /// let fitted = FeatureSpec::new().with(Feature::column("x")).fit(&t, &[0, 1])?;
    /// let x = array![[0.0], [0.2], [2.0], [2.2]];
    /// let model = Model::fit(x.view(), &[0, 0, 1, 1], &ModelParams::NaiveBayes(NaiveBayesParams::default()))?;
    /// let package = ModelPackage::new("nb", model, None, &["x"], x.view(), Lineage::default())?
    ///     .with_features(fitted)?;
    /// assert!(package.features().is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_features(mut self, features: FittedFeatures) -> Result<ModelPackage, ServeError> {
        let names = features.names();
        if names != self.signature.names() {
            return Err(ServeError::Build(format!(
                "the feature transformers output {} but the model takes {}; pass the transformers fitted by the same pipeline run",
                join(&names),
                join(&self.signature.names())
            )));
        }
        self.features = Some(features);
        Ok(self)
    }

    /// The packaged model's name.
    ///
    /// See [`ModelPackage::signature`] for an example.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The inputs and outputs.
    ///
    /// ```
    /// use mlflow_ml::models::{Model, ModelParams, NaiveBayesParams};
    /// use mlflow_serve::{Lineage, ModelPackage, FORMAT_VERSION};
    /// use ndarray::array;
    /// let x = array![[0.0], [0.2], [2.0], [2.2]];
    /// let model = Model::fit(x.view(), &[0, 0, 1, 1], &ModelParams::NaiveBayes(NaiveBayesParams::default()))?;
    /// let p = ModelPackage::new("nb", model, None, &["x"], x.view(), Lineage::default())?;
    /// assert_eq!((p.name(), p.signature().names()), ("nb", vec!["x".to_owned()]));
    /// assert_eq!((p.format_version(), p.library_version()), (FORMAT_VERSION, env!("CARGO_PKG_VERSION")));
    /// assert_eq!(p.self_test().0.nrows(), 4);
    /// assert!(p.scaler().is_none() && p.features().is_none() && matches!(p.model().classifier(), Some(Model::NaiveBayes(_))));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// The library version that wrote the package.
    ///
    /// See [`ModelPackage::signature`] for an example.
    pub fn library_version(&self) -> &str {
        &self.library_version
    }

    /// The format version the package was written in.
    ///
    /// See [`ModelPackage::signature`] for an example.
    pub fn format_version(&self) -> u32 {
        self.format_version
    }

    /// The fitted feature transformers, if packaged.
    ///
    /// See [`ModelPackage::signature`] for an example.
    pub fn features(&self) -> Option<&FittedFeatures> {
        self.features.as_ref()
    }

    /// The input scaler, if any.
    ///
    /// See [`ModelPackage::signature`] for an example.
    pub fn scaler(&self) -> Option<&FittedMatrixScaler> {
        self.scaler.as_ref()
    }

    /// The model.
    ///
    /// See [`ModelPackage::signature`] for an example.
    pub fn model(&self) -> &Estimator {
        &self.model
    }

    /// What the model predicts: classes (how many) or values.
    pub fn task(&self) -> Task {
        self.model.task()
    }

    /// The classes as the label column held them, in class-index order (`None` for a regressor).
    pub fn classes(&self) -> Option<&ClassLabels> {
        self.classes.as_ref()
    }

    /// The self-test rows (model inputs, before the scaler) and their expected probabilities.
    ///
    /// See [`ModelPackage::signature`] for an example.
    pub fn self_test(&self) -> (ArrayView2<'_, f64>, &[f64]) {
        (self.self_test_rows.view(), &self.expected)
    }

    /// Where the model came from.
    ///
    /// See [`ModelPackage`] for an example.
    pub fn lineage(&self) -> &Lineage {
        &self.lineage
    }

    /// Replaces the lineage (e.g. once the model is registered). The self-test is unaffected.
    ///
    /// ```
    /// # use mlflow_ml::models::{Model, ModelParams, NaiveBayesParams};
    /// # use mlflow_serve::{Lineage, ModelPackage};
    /// # let x = ndarray::array![[0.0], [0.2], [2.0], [2.2]];
    /// # let model = Model::fit(x.view(), &[0, 0, 1, 1], &ModelParams::NaiveBayes(NaiveBayesParams::default()))?;
    /// let p = ModelPackage::new("nb", model, None, &["x"], x.view(), Lineage::default())?
    ///     .with_lineage(Lineage::default().model("nb", 1));
    /// assert_eq!(p.lineage().model_version, Some(1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_lineage(mut self, lineage: Lineage) -> ModelPackage {
        self.lineage = lineage;
        self
    }

    /// The reference profile of the training rows (raw columns, features, outputs, label), for
    /// monitoring; `None` for a package made without one or written before format 3.
    ///
    /// See [`ModelPackage::with_profile`] for an example.
    pub fn profile(&self) -> Option<&ReferenceProfile> {
        self.profile.as_ref()
    }

    /// Adds the reference profile of the rows the model was trained on. Its engineered features
    /// must be the model's inputs, by name and in order.
    ///
    /// ```
    /// use mlflow_ml::data::{Column, Table};
    /// use mlflow_ml::features::FeatureMatrix;
    /// use mlflow_ml::models::{Model, ModelParams, NaiveBayesParams};
    /// use mlflow_ml::monitor::ReferenceProfile;
    /// use mlflow_serve::{Lineage, ModelPackage, ServeError};
    /// use ndarray::array;
    /// let x = array![[0.0], [0.2], [2.0], [2.2]];
    /// let model = Model::fit(x.view(), &[0, 0, 1, 1], &ModelParams::NaiveBayes(NaiveBayesParams::default()))?;
    /// let p = ModelPackage::new("nb", model, None, &["x"], x.view(), Lineage::default())?;
    /// let raw = Table::new(vec![("x".into(), Column::Float(vec![Some(0.0), Some(0.2), Some(2.0), Some(2.2)]))])?;
    /// let outputs = FeatureMatrix { names: vec!["p1".into()], x: array![[0.1], [0.2], [0.8], [0.9]] };
    /// let features = FeatureMatrix { names: vec!["x".into()], x: x.clone() };
    /// let profile = ReferenceProfile::new(&raw, None, &features, &outputs)?;
    /// let p = p.with_profile(profile)?;
    /// assert_eq!(p.profile().unwrap().rows, 4);
    /// assert_eq!(ModelPackage::from_bytes(&p.to_bytes()?)?, p);
    /// let other = FeatureMatrix { names: vec!["y".into()], x };
    /// let wrong = ReferenceProfile::new(&raw, None, &other, &outputs)?;
    /// assert!(matches!(p.with_profile(wrong), Err(ServeError::Build(_))));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_profile(mut self, profile: ReferenceProfile) -> Result<ModelPackage, ServeError> {
        let names = self.signature.names();
        let profiled: Vec<String> = profile.features.iter().map(|f| f.name.clone()).collect();
        if profiled != names {
            return Err(ServeError::Build(format!(
                "the profile's features are {} but the model takes {}; profile the matrix the model was trained on",
                join(&profiled),
                join(&names)
            )));
        }
        self.profile = Some(profile);
        Ok(self)
    }

    /// P(class 1) for rows of model inputs (before the scaler), without input checks beyond the
    /// model's own. The scorer's path; also used for the self-test.
    pub(crate) fn predict_outputs(&self, x: ArrayView2<'_, f64>) -> Result<Outputs, ServeError> {
        let outputs = match &self.scaler {
            None => self.model.predict_outputs(x)?,
            Some(scaler) => {
                let mut scaled = x.to_owned();
                for (mut col, s) in scaled.columns_mut().into_iter().zip(scaler.scalers()) {
                    col.mapv_inplace(|v| s.apply_one(v));
                }
                if let Some(((row, column), _)) = scaled.indexed_iter().find(|(_, v)| !v.is_finite()) {
                    return Err(self.out_of_range(
                        row,
                        &format!(
                            "feature `{}` (column {column}) = {} overflows when scaled",
                            self.signature.inputs[column].name,
                            x[[row, column]]
                        ),
                    ));
                }
                self.model.predict_outputs(scaled.view())?
            }
        };
        if outputs.rows() != x.nrows() {
            return Err(ServeError::Build(format!(
                "the model returned {} outputs for {} rows; repackage the model",
                outputs.rows(),
                x.nrows()
            )));
        }
        if let Some((row, value)) = outputs.first_non_finite() {
            return Err(self.out_of_range(row, &format!("the model's output is {value}")));
        }
        Ok(outputs)
    }

    pub(crate) fn out_of_range(&self, row: usize, detail: &str) -> ServeError {
        ServeError::OutOfRange { row, detail: detail.to_owned() }
    }

    /// Re-scores the self-test rows; an error names the first row that differs.
    ///
    /// ```
    /// # use mlflow_ml::models::{Model, ModelParams, NaiveBayesParams};
    /// # use mlflow_serve::{Lineage, ModelPackage};
    /// # let x = ndarray::array![[0.0], [0.2], [2.0], [2.2]];
    /// # let model = Model::fit(x.view(), &[0, 0, 1, 1], &ModelParams::NaiveBayes(NaiveBayesParams::default()))?;
    /// let p = ModelPackage::new("nb", model, None, &["x"], x.view(), Lineage::default())?;
    /// p.verify()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify(&self) -> Result<(), ServeError> {
        let got = self.predict_outputs(self.self_test_rows.view())?.recorded();
        // `predict_outputs` already refused an output that is not finite.
        self.agrees_with(&got)
    }

    /// How many figures the self-test records per row ([`Outputs::recorded`]).
    fn recorded_per_row(&self) -> usize {
        match self.model.task() {
            Task::Classification { classes } if classes > 2 => classes,
            _ => 1,
        }
    }

    /// Checks that the parts fit together; the error text says what does not.
    fn check(&self) -> Result<(), String> {
        let names = self.signature.names();
        let n = self.model.n_features();
        if names.len() != n {
            return Err(format!(
                "{} feature names ({}) for a model of {n} features; give one name per model feature, in order",
                names.len(),
                join(&names)
            ));
        }
        for (i, name) in names.iter().enumerate() {
            if name.is_empty() || names[..i].contains(name) {
                return Err(format!(
                    "feature name {name:?} at position {i} is empty or repeated; names must be unique"
                ));
            }
        }
        if let Some(scaler) = &self.scaler
            && (scaler.names() != names.as_slice() || scaler.scalers().len() != n)
        {
            return Err(format!(
                "the scaler was fitted on {} but the feature names are {}",
                join(scaler.names()),
                join(&names)
            ));
        }
        if let Some(features) = &self.features
            && features.names() != names
        {
            return Err(format!(
                "the feature transformers output {} but the model takes {}",
                join(&features.names()),
                join(&names)
            ));
        }
        if self.self_test_rows.ncols() != n {
            return Err(format!(
                "the self-test rows have {} columns for {n} features",
                self.self_test_rows.ncols()
            ));
        }
        let per_row = self.recorded_per_row();
        if !self.expected.is_empty() && self.expected.len() != self.self_test_rows.nrows() * per_row {
            return Err(format!(
                "{} expected outputs for {} self-test rows ({per_row} per row)",
                self.expected.len(),
                self.self_test_rows.nrows()
            ));
        }
        if let (Task::Classification { classes }, Some(labels)) = (self.model.task(), &self.classes)
            && labels.len() != classes
        {
            return Err(format!("{} class labels for a model of {classes} classes", labels.len()));
        }
        Ok(())
    }

    /// Encodes the package in the file format (see the [module docs](super)).
    ///
    /// See [`ModelPackage::from_bytes`] for an example.
    pub fn to_bytes(&self) -> Result<Vec<u8>, ServeError> {
        let body = codec::encode(self).map_err(|e| ServeError::Build(e.to_string()))?;
        Ok(file::write(&body))
    }

    /// Reads a package from bytes in the file format, refusing anything that is not a whole,
    /// intact package of a known format version whose self-test passes.
    ///
    /// ```
    /// # use mlflow_ml::models::{Model, ModelParams, NaiveBayesParams};
    /// # use mlflow_serve::{Lineage, ModelPackage, ServeError};
    /// # let x = ndarray::array![[0.0], [0.2], [2.0], [2.2]];
    /// # let model = Model::fit(x.view(), &[0, 0, 1, 1], &ModelParams::NaiveBayes(NaiveBayesParams::default()))?;
    /// let p = ModelPackage::new("nb", model, None, &["x"], x.view(), Lineage::default())?;
    /// let bytes = p.to_bytes()?;
    /// assert_eq!(ModelPackage::from_bytes(&bytes)?, p);
    /// let cut = &bytes[..bytes.len() - 1];
    /// assert!(matches!(ModelPackage::from_bytes(cut), Err(ServeError::Truncated { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<ModelPackage, ServeError> {
        file::read(bytes, BYTES)
    }

    /// Writes the package file: to a temporary file in the same folder, then renamed, so a crash
    /// leaves either the old file or the whole new one.
    ///
    /// See [`ModelPackage`] for an example.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), ServeError> {
        let path = path.as_ref();
        let bytes = self.to_bytes()?;
        let io = |source| ServeError::Io { action: "write", path: path.to_owned(), source };
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(format!(".tmp{}", std::process::id()));
        let tmp = std::path::PathBuf::from(tmp);
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
            std::fs::rename(&tmp, path)
        };
        write().map_err(|e| {
            std::fs::remove_file(&tmp).ok();
            io(e)
        })
    }

    /// Reads a package file (see [`ModelPackage::from_bytes`] for what is refused).
    ///
    /// ```
    /// use mlflow_serve::{ModelPackage, ServeError};
    /// let err = ModelPackage::load("/no/such/file.mlpkg").unwrap_err();
    /// assert!(matches!(err, ServeError::Io { .. }));
    /// ```
    pub fn load(path: impl AsRef<Path>) -> Result<ModelPackage, ServeError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| ServeError::Io {
            action: "read",
            path: path.to_owned(),
            source,
        })?;
        file::read(&bytes, &format!("file {}", path.display()))
    }
}

#[cfg(test)]
mod tests;
