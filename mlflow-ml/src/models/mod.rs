//! Models: classifiers of any number of classes behind one face, regressors behind another.
//!
//! This room's one job is to turn a numeric feature matrix and class indices (or real values) into
//! a fitted model, and a fitted model plus new rows into class probabilities (or values). It knows
//! nothing of CSV files, encoders or metrics: features arrive already numeric (`x`, one row per
//! sample, `f64`), classes as `&[usize]` holding `0..k` with every class present (naming them is
//! [`ClassLabels`](crate::features::ClassLabels)' job), values as `&[f64]`.
//!
//! | model | type | params (defaults = scikit-learn's) |
//! |---|---|---|
//! | CART decision tree (gini, any number of classes) | [`DecisionTree`] | [`TreeParams`] |
//! | random forest (bootstrap, features sampled per split, trees trained in parallel; any number of classes) | [`RandomForest`] | [`ForestParams`] |
//! | L2 logistic regression (Newton's method; the multinomial softmax loss for more than two classes) | [`LogisticRegression`] | [`LogisticParams`] |
//! | Gaussian naive Bayes (any number of classes) | [`GaussianNb`] | [`NaiveBayesParams`] |
//! | RBF support vector machine (SMO) with Platt probabilities; one-vs-one with pairwise coupling for more than two classes | [`Svm`] | [`SvmParams`] |
//! | CART regression tree (squared error; a [`Regressor`]) | [`TreeRegressor`] | [`TreeParams`] |
//! | random forest of regression trees (a [`Regressor`]) | [`ForestRegressor`] | [`ForestParams::regression`] |
//! | histogram gradient-boosted trees (binary and multiclass; NaN as missing values; regression: [`GradientBoostingRegressor`]) | [`GradientBoosting`] | [`BoostingParams`] |
//!
//! Every classifier implements [`Classifier`]: [`Classifier::predict_proba`] gives one column per
//! class, [`Classifier::predict`] the column of the largest probability (the first on a tie, as
//! scikit-learn's argmax), and for two classes [`Classifier::predict_positive`] gives P(class 1).
//! The trait is object-safe (`Box<dyn Classifier>` works); because pipeline artifacts must be serde
//! types, the enum [`Model`] holds any classifier and implements the trait by delegation, and
//! [`ModelParams`] with [`Model::fit`] picks and fits one from a single pipeline param. Regressors
//! implement [`Regressor`] (one value per row) and are gathered the same way by
//! [`RegressionModel`] and [`RegressionParams`]; [`Estimator`] and [`EstimatorParams`] hold either.
//!
//! With the cargo feature `linfa`, [`Model::Linfa`] and [`RegressionModel::Linfa`] hold fitted
//! linfa models (see `mlflow_ml::linfa`). Apart from those, all of it is our own code: every fit is deterministic, so the same data, params and
//! seed give identical models and identical artifact bytes, whatever the number of threads. Bad
//! input (NaN or infinite values where the model refuses them, empty matrices, length mismatches,
//! a skipped class index, a single class, a non-finite target, a wrong feature count at
//! prediction time, invalid hyperparameters) is a [`ModelError`], never a panic.
//!
//! ```
//! use mlflow_ml::models::{Classifier, Model, ModelParams, ForestParams};
//! use ndarray::array;
//!
//! let x = array![[1.0, 0.0], [2.0, 0.0], [3.0, 1.0], [4.0, 1.0], [5.0, 1.0], [0.5, 0.0]];
//! let y = [0, 0, 1, 1, 1, 0];
//! let params = ModelParams::Forest(ForestParams { n_trees: 10, ..Default::default() });
//! let model = Model::fit(x.view(), &y, &params)?;
//! let p = model.predict_positive(array![[4.5, 1.0], [0.0, 0.0]].view())?;
//! assert!(p[0] > p[1]);
//! assert_eq!(model.predict(array![[4.5, 1.0]].view())?.to_vec(), [1]);
//! # Ok::<(), mlflow_ml::models::ModelError>(())
//! ```

use ndarray::{Array1, Array2, ArrayView2};
use serde::{Deserialize, Serialize};

mod boosting;
mod estimator;
mod forest;
mod linalg;
mod linear;
mod logistic;
mod naive_bayes;
mod regressor;
mod self_test;
mod softmax;
mod svm;
mod svm_multiclass;
mod svm_smo;
mod tree;
mod tree_grow;
mod tree_regressor;

pub use boosting::{BoostingParams, EarlyStopping, GradientBoosting, GradientBoostingRegressor};
pub use estimator::{Estimator, EstimatorParams, Outputs, RegressionModel, RegressionParams, Task};
pub use forest::{ForestParams, ForestRegressor, RandomForest};
pub use linear::{LinearParams, LinearRegression};
pub use logistic::{LogisticParams, LogisticRegression};
pub use naive_bayes::{GaussianNb, NaiveBayesParams};
pub use regressor::Regressor;
#[cfg(feature = "linfa")]
pub(crate) use regressor::check_regression_training;
pub use self_test::{SELF_TEST_TOLERANCE, SelfTestedModel};
pub use svm::{Gamma, Platt, Svm, SvmParams};
pub use svm_multiclass::pairwise_coupling;
pub use tree::{DecisionTree, MaxFeatures, TreeNode, TreeParams};
pub use tree_regressor::{RegressionNode, TreeRegressor};

/// What can go wrong when fitting a model or predicting with one.
///
/// Each message says what was wrong, where (row, column, label index, parameter) and what to do.
///
/// ```
/// use mlflow_ml::models::{GaussianNb, ModelError, NaiveBayesParams};
/// use ndarray::array;
/// let x = array![[1.0], [f64::NAN]];
/// let err = GaussianNb::fit(x.view(), &[0, 1], &NaiveBayesParams::default()).unwrap_err();
/// assert!(matches!(err, ModelError::NonFinite { row: 1, column: 0, .. }));
/// assert!(err.to_string().contains("row 1, column 0"));
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The feature matrix has no rows or no columns.
    #[error(
        "{what} is empty ({rows} rows x {columns} columns); a model needs at least one row and one feature column"
    )]
    Empty {
        /// Which matrix (`"training data"` or `"prediction input"`).
        what: &'static str,
        /// Its number of rows.
        rows: usize,
        /// Its number of columns.
        columns: usize,
    },
    /// A feature value is NaN or infinite.
    #[error(
        "{what} has a non-finite value {value} at row {row}, column {column}; impute or drop missing values and clip infinities before fitting or predicting"
    )]
    NonFinite {
        /// Which matrix (`"training data"` or `"prediction input"`).
        what: &'static str,
        /// Row index (0-based).
        row: usize,
        /// Column (feature) index (0-based).
        column: usize,
        /// The offending value.
        value: f64,
    },
    /// `x` and `y` have different lengths.
    #[error("x has {rows} rows but y has {labels} labels; pass one label per row")]
    LengthMismatch {
        /// Rows in `x`.
        rows: usize,
        /// Labels in `y`.
        labels: usize,
    },
    /// All labels are the same class.
    #[error(
        "y has only class {class} ({count} rows); a classifier needs at least two classes in its training data (check the filter or the split)"
    )]
    SingleClass {
        /// The only class present.
        class: usize,
        /// How many rows.
        count: usize,
    },
    /// Prediction input has a different number of features than the training data.
    #[error(
        "the model was fitted on {expected} features but the input has {found} columns; transform the input with the same feature pipeline as at training time"
    )]
    FeatureCount {
        /// Features at fit time.
        expected: usize,
        /// Columns in the input.
        found: usize,
    },
    /// A fitted model's parts do not fit together (a hand-edited or foreign artifact).
    #[error(
        "the fitted {model} is inconsistent: {detail}; refit the model or reload the artifact from the store"
    )]
    Corrupt {
        /// The model kind.
        model: &'static str,
        /// What does not fit.
        detail: String,
    },
    /// A hyperparameter is out of range.
    #[error("invalid {model} parameter `{param}` = {value}: {expected}")]
    InvalidParam {
        /// The model kind.
        model: &'static str,
        /// The parameter's field name.
        param: &'static str,
        /// The value given, as text.
        value: String,
        /// What is allowed.
        expected: &'static str,
    },
    /// A packaged model no longer reproduces the probabilities recorded for its self-test rows.
    #[error(
        "model `{model}` failed its self-test: row {row} gave probability {got}, but {expected} was recorded when it was packaged; the artifact or the code changed, retrain and repackage it"
    )]
    SelfTest {
        /// The packaged model's name.
        model: String,
        /// The self-test row (0-based).
        row: usize,
        /// The recorded probability.
        expected: f64,
        /// The probability now.
        got: f64,
    },
    /// A regression target value is NaN or infinite.
    #[error(
        "the target y has a non-finite value {value} at row {row}; drop or impute the rows with a missing or infinite target before fitting"
    )]
    NonFiniteTarget {
        /// Row index (0-based) in `x` and `y`.
        row: usize,
        /// The offending value.
        value: f64,
    },
    /// `x` and the regression target `y` have different lengths.
    #[error("x has {rows} rows but y has {targets} target values; pass one target value per row of x")]
    TargetCount {
        /// Rows in `x`.
        rows: usize,
        /// Values in `y`.
        targets: usize,
    },
    /// A fitted model's numbers do not fit in `f64` (features or targets of extreme magnitudes).
    #[error(
        "the fitted {model} overflows: {detail}; rescale the features or the target (for example with StandardScaler, or a change of unit) and refit"
    )]
    Overflow {
        /// The model kind.
        model: &'static str,
        /// What overflowed.
        detail: String,
    },
    /// A packaged model could not be encoded or decoded.
    #[error("cannot encode or decode the packaged model: {0}")]
    Encoding(String),
    /// The input scaler of a packaged model could not be applied.
    #[error("cannot standardize the input: {0}")]
    Scaling(String),
    /// Class indices skip a class: labels must be `0..k` with every class present.
    #[error(
        "class {class} has no rows, but the labels go up to {}; class indices must be 0..k with every class present: encode the label column with ClassLabels, which numbers the classes it sees",
        classes - 1
    )]
    MissingClass {
        /// The absent class index.
        class: usize,
        /// `max(label) + 1`.
        classes: usize,
    },
    /// Params of one task given for data of the other (a regressor's params with class labels,
    /// or a classifier's with a numeric target).
    #[error(
        "a {model} is not a {expected}, but the data have {found}; pick a {expected} for this target (or prepare the target for the other task)"
    )]
    WrongTask {
        /// The model kind the params name.
        model: &'static str,
        /// The kind of model the data need.
        expected: &'static str,
        /// What the data have.
        found: &'static str,
    },
    /// A linfa estimator failed to fit (cargo feature `linfa`): linfa's own message.
    #[error("linfa could not fit the {model}: {detail}")]
    Linfa {
        /// The model kind.
        model: &'static str,
        /// linfa's error message.
        detail: String,
    },
    /// A binary-only operation was asked of a model with more classes.
    #[error(
        "the model has {classes} classes, but P(class 1) is defined for binary models only; use predict_proba, which gives one column per class"
    )]
    NotBinary {
        /// The model's number of classes.
        classes: usize,
    },
}

/// The one face of every classifier: one probability column per class, and argmax labels.
///
/// Classes are indices `0..n_classes()`; the mapping from a label column's values (integers or
/// strings) to indices is [`ClassLabels`](crate::features::ClassLabels)' job, recorded with the
/// model. Binary models are the case `n_classes() == 2`, where
/// [`Classifier::predict_positive`] gives P(class 1) as one array.
///
/// Object-safe, so a pipeline can hold `Box<dyn Classifier>`; for an artifact (serde) type use
/// [`Model`].
///
/// ```
/// use mlflow_ml::models::{Classifier, GaussianNb, LogisticRegression, LogisticParams, NaiveBayesParams};
/// use ndarray::array;
/// let x = array![[0.0], [1.0], [2.0], [3.0]];
/// let y = [0, 0, 1, 1];
/// let models: Vec<Box<dyn Classifier>> = vec![
///     Box::new(LogisticRegression::fit(x.view(), &y, &LogisticParams::default())?),
///     Box::new(GaussianNb::fit(x.view(), &y, &NaiveBayesParams::default())?),
/// ];
/// for m in &models {
///     assert_eq!((m.n_features(), m.n_classes()), (1, 2));
///     assert_eq!(m.predict(array![[-1.0], [4.0]].view())?.to_vec(), [0, 1]);
///     let p = m.predict_proba(array![[4.0]].view())?;
///     assert!((p[[0, 0]] + p[[0, 1]] - 1.0).abs() < 1e-12);
///     assert_eq!(m.predict_positive(array![[4.0]].view())?[0], p[[0, 1]]);
/// }
/// # Ok::<(), mlflow_ml::models::ModelError>(())
/// ```
pub trait Classifier {
    /// The number of feature columns the model was fitted on (and expects at prediction time).
    fn n_features(&self) -> usize;

    /// The number of classes (at least 2); probabilities have one column per class.
    fn n_classes(&self) -> usize;

    /// Class probabilities: one row per row of `x`, one column per class, each row summing to 1.
    ///
    /// Fails with [`ModelError::FeatureCount`] when `x` has the wrong number of columns and with
    /// [`ModelError::NonFinite`] on NaN or infinite values. Zero rows give an empty matrix.
    fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>, ModelError>;

    /// Predicted class indices: the column of the largest probability, the first (lowest class
    /// index) on a tie, as scikit-learn's `argmax` does. For a binary model that is `1` exactly
    /// where P(class 1) `> 0.5`.
    fn predict(&self, x: ArrayView2<'_, f64>) -> Result<Array1<usize>, ModelError> {
        Ok(argmax_rows(self.predict_proba(x)?.view()))
    }

    /// P(class 1) for every row of `x`, for a binary model (scikit-learn's `predict_proba(X)[:, 1]`).
    ///
    /// Fails with [`ModelError::NotBinary`] when the model has more than two classes.
    fn predict_positive(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>, ModelError> {
        let proba = self.predict_proba(x)?;
        if proba.ncols() != 2 {
            return Err(ModelError::NotBinary { classes: proba.ncols() });
        }
        Ok(proba.column(1).to_owned())
    }
}

/// The index of each row's largest value, the first one on a tie (NaN never wins).
///
/// ```
/// use mlflow_ml::models::argmax_rows;
/// use ndarray::array;
/// let p = array![[0.2, 0.5, 0.3], [0.4, 0.2, 0.4], [0.5, 0.5, 0.0]];
/// assert_eq!(argmax_rows(p.view()).to_vec(), [1, 0, 0]);
/// ```
pub fn argmax_rows(proba: ArrayView2<'_, f64>) -> Array1<usize> {
    proba
        .rows()
        .into_iter()
        .map(|row| {
            let mut best = 0;
            for (class, &p) in row.iter().enumerate() {
                if p > row[best] || row[best].is_nan() && !p.is_nan() {
                    best = class;
                }
            }
            best
        })
        .collect()
}

/// Binary probabilities as a two-column matrix `[1 - p, p]`.
fn two_columns(positive: Array1<f64>) -> Array2<f64> {
    let mut out = Array2::zeros((positive.len(), 2));
    for (mut row, p) in out.rows_mut().into_iter().zip(positive) {
        row[0] = 1.0 - p;
        row[1] = p;
    }
    out
}

/// Any fitted classifier, as one serde artifact type; implements [`Classifier`].
///
/// ```
/// use mlflow_ml::models::{Classifier, Model, ModelParams, TreeParams};
/// use ndarray::array;
/// let x = array![[0.0], [1.0], [2.0], [3.0]];
/// let model = Model::fit(x.view(), &[0, 0, 1, 1], &ModelParams::Tree(TreeParams::default()))?;
/// assert_eq!(model.kind(), "decision tree");
/// let bytes = mlflow_core::codec::encode(&model).unwrap();
/// let back: Model = mlflow_core::codec::decode(&bytes, 1 << 20).unwrap();
/// assert_eq!(back, model);
/// # Ok::<(), mlflow_ml::models::ModelError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Model {
    /// A CART decision tree.
    Tree(DecisionTree),
    /// A random forest.
    Forest(RandomForest),
    /// An L2 logistic regression.
    Logistic(LogisticRegression),
    /// A Gaussian naive Bayes model.
    NaiveBayes(GaussianNb),
    /// An RBF support vector machine.
    Svm(Svm),
    /// Histogram gradient-boosted trees (after the first five, so their packages still decode).
    Boosting(GradientBoosting),
    /// A fitted linfa classifier (cargo feature `linfa`; last, so the others' bytes are
    /// unchanged).
    #[cfg(feature = "linfa")]
    Linfa(crate::linfa::LinfaClassifier),
    /// A fitted linfa classifier, which this build cannot hold: decoding one fails with a message
    /// naming the cargo feature `linfa` to enable.
    #[cfg(not(feature = "linfa"))]
    Linfa(LinfaUnavailable),
}

/// Hyperparameters of any classifier: one pipeline param chooses the kind and its settings.
///
/// ```
/// use mlflow_ml::models::{ModelParams, SvmParams};
/// let p = ModelParams::Svm(SvmParams { c: 10.0, ..Default::default() });
/// assert_eq!(p.kind(), "SVM");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ModelParams {
    /// Fit a [`DecisionTree`].
    Tree(TreeParams),
    /// Fit a [`RandomForest`].
    Forest(ForestParams),
    /// Fit a [`LogisticRegression`].
    Logistic(LogisticParams),
    /// Fit a [`GaussianNb`].
    NaiveBayes(NaiveBayesParams),
    /// Fit an [`Svm`].
    Svm(SvmParams),
    /// Fit a [`GradientBoosting`] classifier.
    Boosting(BoostingParams),
    /// Fit a linfa classifier (cargo feature `linfa`).
    #[cfg(feature = "linfa")]
    Linfa(crate::linfa::LinfaClassifierParams),
    /// A linfa classifier's params, which this build cannot hold (decoding fails naming the
    /// cargo feature `linfa`).
    #[cfg(not(feature = "linfa"))]
    Linfa(LinfaUnavailable),
}

/// What a build without the cargo feature `linfa` holds in place of a linfa model: nothing.
///
/// The type has no values; decoding one (a package or artifact holding a linfa model, made by a
/// build with the feature) fails with an error that names the feature to enable.
///
/// ```
/// # #[cfg(not(feature = "linfa"))] {
/// use mlflow_ml::models::LinfaUnavailable;
/// let err = serde_json::from_str::<LinfaUnavailable>("{}").unwrap_err();
/// assert!(err.to_string().contains("`linfa` cargo feature"));
/// # }
/// ```
#[cfg(not(feature = "linfa"))]
#[derive(Debug, Clone, PartialEq)]
pub enum LinfaUnavailable {}

#[cfg(not(feature = "linfa"))]
impl LinfaUnavailable {
    /// The message of a failed decode ([`LINFA_NEEDED`]).
    pub const MESSAGE: &'static str = LINFA_NEEDED;
}

/// What decoding a linfa model says in a build without the `linfa` feature, in every build, so
/// that callers (a package loader) can tell that failure from damage.
///
/// ```
/// assert!(mlflow_ml::models::LINFA_NEEDED.contains("`linfa` cargo feature"));
/// ```
pub const LINFA_NEEDED: &str = "this model was fitted with linfa, which this build leaves out: enable the `linfa` cargo feature (of mlflow-pipelines, mlflow-ml or mlflow-pipelines-cli) to load it";

#[cfg(not(feature = "linfa"))]
impl Serialize for LinfaUnavailable {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        match *self {}
    }
}

#[cfg(not(feature = "linfa"))]
impl<'de> Deserialize<'de> for LinfaUnavailable {
    fn deserialize<D: serde::Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        Err(serde::de::Error::custom(Self::MESSAGE))
    }
}

/// `ModelParams::from(TreeParams::default())` and the like: each model's params as the one enum.
///
/// ```
/// use mlflow_ml::models::{ForestParams, ModelParams};
/// assert_eq!(ModelParams::from(ForestParams::default()).kind(), "random forest");
/// ```
macro_rules! model_params_from {
    ($($variant:ident($params:ty)),* $(,)?) => {
        $(
            impl From<$params> for ModelParams {
                fn from(params: $params) -> Self {
                    ModelParams::$variant(params)
                }
            }
        )*
    };
}

model_params_from!(
    Tree(TreeParams),
    Forest(ForestParams),
    Logistic(LogisticParams),
    NaiveBayes(NaiveBayesParams),
    Svm(SvmParams),
    Boosting(BoostingParams),
);

impl ModelParams {
    /// A short human name of the model kind these params fit.
    ///
    /// ```
    /// use mlflow_ml::models::{ModelParams, TreeParams};
    /// assert_eq!(ModelParams::Tree(TreeParams::default()).kind(), "decision tree");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            ModelParams::Tree(_) => tree::KIND,
            ModelParams::Forest(_) => forest::KIND,
            ModelParams::Logistic(_) => logistic::KIND,
            ModelParams::NaiveBayes(_) => naive_bayes::KIND,
            ModelParams::Svm(_) => svm::KIND,
            ModelParams::Boosting(_) => boosting::CLASSIFIER,
            #[cfg(feature = "linfa")]
            ModelParams::Linfa(p) => p.kind(),
            #[cfg(not(feature = "linfa"))]
            ModelParams::Linfa(never) => match *never {},
        }
    }
}

impl Model {
    /// Fits the model kind that `params` names.
    ///
    /// ```
    /// use mlflow_ml::models::{Classifier, Model, ModelParams, NaiveBayesParams};
    /// use ndarray::array;
    /// let x = array![[0.0], [0.2], [2.0], [2.2]];
    /// let m = Model::fit(x.view(), &[0, 0, 1, 1], &ModelParams::NaiveBayes(NaiveBayesParams::default()))?;
    /// assert_eq!(m.predict(array![[2.1]].view())?.to_vec(), [1]);
    /// # Ok::<(), mlflow_ml::models::ModelError>(())
    /// ```
    pub fn fit(x: ArrayView2<'_, f64>, y: &[usize], params: &ModelParams) -> Result<Model, ModelError> {
        Ok(match params {
            ModelParams::Tree(p) => Model::Tree(DecisionTree::fit(x, y, p)?),
            ModelParams::Forest(p) => Model::Forest(RandomForest::fit(x, y, p)?),
            ModelParams::Logistic(p) => Model::Logistic(LogisticRegression::fit(x, y, p)?),
            ModelParams::NaiveBayes(p) => Model::NaiveBayes(GaussianNb::fit(x, y, p)?),
            ModelParams::Svm(p) => Model::Svm(Svm::fit(x, y, p)?),
            ModelParams::Boosting(p) => Model::Boosting(GradientBoosting::fit(x, y, p)?),
            #[cfg(feature = "linfa")]
            ModelParams::Linfa(p) => Model::Linfa(crate::linfa::LinfaClassifier::fit(x, y, p)?),
            #[cfg(not(feature = "linfa"))]
            ModelParams::Linfa(never) => match *never {},
        })
    }

    /// A short human name of the model kind.
    ///
    /// ```
    /// use mlflow_ml::models::{Model, ModelParams, LogisticParams};
    /// use ndarray::array;
    /// let m = Model::fit(array![[0.0], [1.0]].view(), &[0, 1], &ModelParams::Logistic(LogisticParams::default()))?;
    /// assert_eq!(m.kind(), "logistic regression");
    /// # Ok::<(), mlflow_ml::models::ModelError>(())
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            Model::Tree(_) => tree::KIND,
            Model::Forest(_) => forest::KIND,
            Model::Logistic(_) => logistic::KIND,
            Model::NaiveBayes(_) => naive_bayes::KIND,
            Model::Svm(_) => svm::KIND,
            Model::Boosting(_) => boosting::CLASSIFIER,
            #[cfg(feature = "linfa")]
            Model::Linfa(m) => m.kind(),
            #[cfg(not(feature = "linfa"))]
            Model::Linfa(never) => match *never {},
        }
    }

    fn inner(&self) -> &dyn Classifier {
        match self {
            Model::Tree(m) => m,
            Model::Forest(m) => m,
            Model::Logistic(m) => m,
            Model::NaiveBayes(m) => m,
            Model::Svm(m) => m,
            Model::Boosting(m) => m,
            #[cfg(feature = "linfa")]
            Model::Linfa(m) => m,
            #[cfg(not(feature = "linfa"))]
            Model::Linfa(never) => match *never {},
        }
    }
}

impl Classifier for Model {
    fn n_features(&self) -> usize {
        self.inner().n_features()
    }

    fn n_classes(&self) -> usize {
        self.inner().n_classes()
    }

    fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>, ModelError> {
        self.inner().predict_proba(x)
    }
}

pub(crate) const TRAINING: &str = "training data";
pub(crate) const INPUT: &str = "prediction input";

/// Checks multiclass training data: non-empty, finite, one label per row, labels `0..k` with every
/// class `0..k` present and `k >= 2`. Returns the number of rows of each class.
pub(crate) fn check_classes(x: ArrayView2<'_, f64>, y: &[usize]) -> Result<Vec<usize>, ModelError> {
    check_classes_with(x, y, check_finite)
}

/// [`check_classes`] with another check of the feature values (a model that takes NaN as
/// missing refuses only infinities).
fn check_classes_with(
    x: ArrayView2<'_, f64>,
    y: &[usize],
    check_values: fn(ArrayView2<'_, f64>, &'static str) -> Result<(), ModelError>,
) -> Result<Vec<usize>, ModelError> {
    let (rows, columns) = x.dim();
    if rows == 0 || columns == 0 {
        return Err(ModelError::Empty { what: TRAINING, rows, columns });
    }
    if y.len() != rows {
        return Err(ModelError::LengthMismatch { rows, labels: y.len() });
    }
    check_values(x, TRAINING)?;
    let classes = y.iter().max().map_or(0, |&m| m + 1);
    let mut counts = vec![0usize; classes];
    for &label in y {
        counts[label] += 1;
    }
    if let Some(class) = counts.iter().position(|&c| c == 0) {
        return Err(ModelError::MissingClass { class, classes });
    }
    if classes < 2 {
        return Err(ModelError::SingleClass { class: y[0], count: rows });
    }
    Ok(counts)
}

/// Checks prediction input: the fitted feature count and finite values.
pub(crate) fn check_input(x: ArrayView2<'_, f64>, expected: usize) -> Result<(), ModelError> {
    if x.ncols() != expected {
        return Err(ModelError::FeatureCount { expected, found: x.ncols() });
    }
    check_finite(x, INPUT)
}

pub(crate) fn check_finite(x: ArrayView2<'_, f64>, what: &'static str) -> Result<(), ModelError> {
    for (row, values) in x.rows().into_iter().enumerate() {
        for (column, &value) in values.iter().enumerate() {
            if !value.is_finite() {
                return Err(ModelError::NonFinite { what, row, column, value });
            }
        }
    }
    Ok(())
}

/// `1 / (1 + exp(-z))` without overflow.
fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Solves `a * x = b` for a symmetric positive definite `a` (row-major, `n x n`) by Cholesky.
/// Returns `None` if `a` is not (numerically) positive definite.
fn solve_spd(a: &[f64], b: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    let mut z = b.to_vec();
    for i in 0..n {
        let mut s = z[i];
        for k in 0..i {
            s -= l[i * n + k] * z[k];
        }
        z[i] = s / l[i * n + i];
    }
    for i in (0..n).rev() {
        let mut s = z[i];
        for k in i + 1..n {
            s -= l[k * n + i] * z[k];
        }
        z[i] = s / l[i * n + i];
    }
    Some(z)
}

fn invalid(
    model: &'static str,
    param: &'static str,
    value: impl ToString,
    expected: &'static str,
) -> ModelError {
    ModelError::InvalidParam { model, param, value: value.to_string(), expected }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn cholesky_solves() {
        let a = [4.0, 2.0, 2.0, 3.0];
        let x = solve_spd(&a, &[2.0, 1.0], 2).unwrap();
        assert!((4.0 * x[0] + 2.0 * x[1] - 2.0).abs() < 1e-12);
        assert!((2.0 * x[0] + 3.0 * x[1] - 1.0).abs() < 1e-12);
        assert!(solve_spd(&[0.0], &[1.0], 1).is_none());
    }

    #[test]
    fn sigmoid_is_stable() {
        assert_eq!(sigmoid(0.0), 0.5);
        assert!(sigmoid(-1000.0) >= 0.0 && sigmoid(1000.0) <= 1.0);
    }

    #[test]
    fn training_checks_report_where() {
        let x = array![[1.0, 2.0], [3.0, f64::INFINITY]];
        assert_eq!(
            check_classes(x.view(), &[0, 1]),
            Err(ModelError::NonFinite { what: TRAINING, row: 1, column: 1, value: f64::INFINITY })
        );
        let x = array![[1.0], [2.0]];
        assert_eq!(check_classes(x.view(), &[0, 1]), Ok(vec![1, 1]));
        assert_eq!(check_classes(x.view(), &[2, 0]), Err(ModelError::MissingClass { class: 1, classes: 3 }));
        assert_eq!(check_classes(x.view(), &[1, 1]), Err(ModelError::MissingClass { class: 0, classes: 2 }));
        assert_eq!(check_classes(x.view(), &[0, 0]), Err(ModelError::SingleClass { class: 0, count: 2 }));
        assert_eq!(check_classes(array![[1.0], [2.0], [3.0]].view(), &[0, 2, 1]), Ok(vec![1, 1, 1]));
    }
}

/// A committed artifact holding a linfa model: a build without the `linfa` feature refuses it by
/// name, a build with it loads it.
#[cfg(test)]
mod linfa_artifacts {
    use super::*;
    use ndarray::array;

    /// `Estimator::Classifier(Model::Linfa(..))`: a binary linfa logistic regression on one
    /// feature, encoded with the codec. Rewrite with `cargo test -p mlflow-ml --features linfa
    /// write_linfa_fixture -- --ignored`.
    const FIXTURE: &[u8] = include_bytes!("linfa_estimator.bin");

    #[cfg(feature = "linfa")]
    fn fixture_model() -> Estimator {
        let x = array![[0.0], [1.0], [2.0], [3.0], [4.0], [5.0]];
        let params = crate::linfa::LinfaLogisticParams::default();
        Estimator::fit_classes(x.view(), &[0, 0, 0, 1, 1, 1], &params.into()).unwrap()
    }

    #[cfg(feature = "linfa")]
    #[test]
    #[ignore = "writes the fixture"]
    fn write_linfa_fixture() {
        let bytes = mlflow_core::codec::encode(&fixture_model()).unwrap();
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/models/linfa_estimator.bin");
        std::fs::write(path, bytes).unwrap();
    }

    #[cfg(feature = "linfa")]
    #[test]
    fn a_linfa_artifact_loads_with_the_feature() {
        let back: Estimator = mlflow_core::codec::decode(FIXTURE, 1 << 20).unwrap();
        assert_eq!(back.kind(), "linfa logistic regression");
        let model = fixture_model();
        let x = array![[0.5], [4.5]];
        assert_eq!(back.predict_outputs(x.view()).unwrap(), model.predict_outputs(x.view()).unwrap());
        assert_eq!(back.classifier().unwrap().predict(x.view()).unwrap().to_vec(), [0, 1]);
    }

    #[cfg(not(feature = "linfa"))]
    #[test]
    fn a_linfa_artifact_names_the_feature_without_it() {
        let err = mlflow_core::codec::decode::<Estimator>(FIXTURE, 1 << 20).unwrap_err().to_string();
        assert!(err.contains("`linfa` cargo feature"), "{err}");
        let err = mlflow_core::codec::decode::<Model>(&FIXTURE[1..], 1 << 20).unwrap_err().to_string();
        assert!(err.contains("`linfa` cargo feature"), "{err}");
        // The variants before it still decode as before.
        let model =
            Model::fit(array![[0.0], [1.0]].view(), &[0, 1], &ModelParams::Tree(TreeParams::default()))
                .unwrap();
        let bytes = mlflow_core::codec::encode(&model).unwrap();
        assert_eq!(mlflow_core::codec::decode::<Model>(&bytes, 1 << 20).unwrap(), model);
    }
}
