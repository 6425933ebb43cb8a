//! The linfa ecosystem behind our faces (cargo feature `linfa`): fitted linfa models as
//! [`Classifier`]s and [`Regressor`]s, and fitted linfa transformers that append feature columns.
//!
//! Any linfa estimator can be trained inside a step: its fitted model is a serde type (the linfa
//! crates are built with their `serde` features), so it is an artifact as it is. The adapters
//! here wrap the fitted models this crate knows into [`Model::Linfa`] and
//! [`RegressionModel::Linfa`], so they go through evaluation, packaging, serving and batch
//! scoring like our own models, and [`LinfaClassifierParams`] / [`LinfaRegressorParams`] let a
//! [`Candidate`](crate::blocks::Candidate) of the blocks fit one from a pipeline param.
//!
//! | linfa crate | fitted model | adapter | face |
//! |---|---|---|---|
//! | `linfa-trees` | `DecisionTree<f64, usize>` | [`LinfaTree`] | [`Classifier`] (leaf class fractions) |
//! | `linfa-logistic` | `FittedLogisticRegression<f64, usize>`, `MultiFittedLogisticRegression<f64, usize>` | [`LinfaLogistic`] | [`Classifier`] |
//! | `linfa-linear` | `FittedLinearRegression<f64>` | [`LinfaLinear`] | [`Regressor`] |
//! | `linfa-elasticnet` | `ElasticNet<f64>` | [`LinfaElasticNet`] | [`Regressor`] |
//! | `linfa-clustering` | `KMeans<f64, L2Dist>` | [`LinfaKMeans`] | [`FittedTransformer`] |
//! | `linfa-reduction` | `Pca<f64>` | [`LinfaPca`] | [`FittedTransformer`] |
//!
//! The linfa crates are re-exported ([`linfa`], [`linfa_trees`], ...) so a step fits
//! with the very versions the adapters take. Linear algebra is linfa's pure-Rust default (no BLAS).
//!
//! # Where linfa differs, and what the adapters do
//!
//! Each point has a test that fails if linfa's behaviour changes.
//!
//! - **Binary logistic regression, which class the probability is of.** linfa's
//!   `predict_probabilities` is documented as the probability of "the larger of the two classes",
//!   but it is that of the *more frequent* class in the training labels (the first one seen on a
//!   tie), whatever the labels' order. [`LinfaLogistic`] reads linfa's recorded positive class
//!   and always gives P(class 1) in column 1. linfa predicts its positive class when the
//!   probability is `>=` its threshold; the adapter takes the argmax with the first class on a
//!   tie (P(class 1) `> 0.5`), as every [`Classifier`] does.
//! - **Decision tree probabilities and ties.** A linfa tree keeps one class per leaf, not the
//!   class counts, and on a tie it picks the class a `HashMap` iterates to last: not the same from
//!   one fit to the next. [`LinfaTree`] records the class counts of the training rows in each
//!   leaf, so `predict_proba` gives scikit-learn's leaf fractions and `predict` the first most
//!   frequent class. linfa sends a row left when its value is `<` the threshold (scikit-learn:
//!   `<=`), and it never splits between values closer than `1e-5`; the adapter routes rows as
//!   linfa does. linfa-trees takes only labels that are `Eq + Hash` (`usize` here, never floats),
//!   and its fit is not bit-for-bit reproducible: impurities are `f32` sums in `HashMap` order.
//!   linfa's `DecisionTree == DecisionTree` compares only the root's feature index; the adapter
//!   compares whole trees.
//! - **Elastic net intercept.** linfa centers the target but not the features, so with an
//!   intercept its model is not scikit-learn's `ElasticNet` unless every feature has mean 0.
//!   [`LinfaElasticNet::fit`] centers the features (and records their means), which makes it
//!   scikit-learn's model; [`LinfaElasticNet::from_fitted`] keeps a model fitted by hand as it is.
//! - **PCA signs and explained variance.** linfa's components come from a randomly started
//!   iterative SVD, with signs that can flip; [`LinfaPca`] flips each component so that its
//!   largest-magnitude loading is positive (scikit-learn's convention), and its
//!   [`LinfaPca::explained_variance`] divides by `n_samples - 1` as scikit-learn does (linfa's
//!   divides by the number of components minus one).
//! - **k-means labels and distances.** linfa numbers clusters in the order its random start
//!   found them and its transform is the *squared* distance to the nearest centroid.
//!   Its centroids are "m_k-means" estimates (each update counts the previous centroid as one
//!   more member), within its tolerance of their rows' mean. [`LinfaKMeans::fit`] finishes with
//!   Lloyd's steps (centroids the means of their rows, as scikit-learn's), numbers clusters in
//!   the order their first member appears in the training rows, and gives the Euclidean distance
//!   to every centroid (scikit-learn's `KMeans.transform`) or the cluster id.
//!
//! ```
//! use mlflow_ml::linfa::{LinfaClassifierParams, LinfaTreeParams};
//! use mlflow_ml::models::{Classifier, Model, ModelParams};
//! use ndarray::array;
//!
//! let x = array![[0.0, 1.0], [0.2, 1.0], [2.0, 0.0], [2.2, 0.0], [4.0, 1.0], [4.1, 1.0]];
//! let y = [0, 0, 1, 1, 2, 2];
//! let params = ModelParams::Linfa(LinfaClassifierParams::Tree(LinfaTreeParams::default()));
//! let model = Model::fit(x.view(), &y, &params)?;
//! assert_eq!(model.kind(), "linfa decision tree");
//! assert_eq!(model.predict(array![[4.05, 1.0]].view())?.to_vec(), [2]);
//! # Ok::<(), mlflow_ml::models::ModelError>(())
//! ```
//!
//! # A linfa fit of your own
//!
//! A step can fit any linfa estimator with linfa's own API and hand the result to the blocks: an
//! adapter turns the fitted model into an [`Estimator`](crate::models::Estimator), and a
//! [`Trained`](crate::blocks::Trained) of it goes through `evaluate`, `select` and packaging like
//! the blocks' own `train` output.
//!
//! ```
//! use mlflow_ml::blocks::Trained;
//! use mlflow_ml::features::FeatureMatrix;
//! use mlflow_ml::linfa::{LinfaClassifier, LinfaTree, linfa::prelude::*, linfa_trees::DecisionTree};
//! use mlflow_ml::models::Estimator;
//! use ndarray::{Array1, array};
//!
//! let train = FeatureMatrix { names: vec!["x".into()], x: array![[0.0], [1.0], [2.0], [3.0], [4.0], [5.0]] };
//! let y = [0, 0, 1, 1, 2, 2];
//! let tree = DecisionTree::params()
//!     .max_depth(Some(3))
//!     .fit(&Dataset::new(train.x.clone(), Array1::from(y.to_vec())))
//!     .map_err(|e| e.to_string())?;
//! let model: Estimator = LinfaClassifier::from(LinfaTree::from_fitted(tree, train.x.view(), &y)?).into();
//! let trained = Trained { name: "my linfa tree".into(), model, scaler: None };
//! assert_eq!(trained.predict_proba(&train)?.row(5).to_vec(), [0.0, 0.0, 1.0]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use ndarray::{Array1, Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::features::FeatureMatrix;
use crate::models::{Classifier, ModelError, Regressor};
#[cfg(doc)]
use crate::models::{Model, RegressionModel};

mod elasticnet;
mod kmeans;
mod linear;
mod logistic;
mod pca;
mod tree;

pub use elasticnet::{LinfaElasticNet, LinfaElasticNetParams};
pub use kmeans::{KMeansOutput, LinfaKMeans, LinfaKMeansParams};
pub use linear::{LinfaLinear, LinfaLinearParams};
pub use logistic::{LinfaLogistic, LinfaLogisticParams};
pub use pca::{LinfaPca, LinfaPcaParams};
pub use tree::{LinfaTree, LinfaTreeParams, SplitQuality};

/// linfa's core crate (traits `Fit`, `Predict`, `Dataset`), as the adapters use it.
pub use ::linfa;
pub use linfa_clustering;
pub use linfa_elasticnet;
pub use linfa_linear;
pub use linfa_logistic;
pub use linfa_nn;
pub use linfa_reduction;
pub use linfa_trees;

/// Any fitted linfa classifier this crate adapts, as one serde type ([`Model::Linfa`]).
///
/// ```
/// use mlflow_ml::linfa::{LinfaClassifier, LinfaLogistic, LinfaLogisticParams};
/// use mlflow_ml::models::Classifier;
/// use ndarray::array;
/// let x = array![[0.0], [1.0], [3.0], [4.0]];
/// let m = LinfaClassifier::from(LinfaLogistic::fit(x.view(), &[0, 0, 1, 1], &LinfaLogisticParams::default())?);
/// assert_eq!((m.kind(), m.n_classes()), ("linfa logistic regression", 2));
/// # Ok::<(), mlflow_ml::models::ModelError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum LinfaClassifier {
    /// A linfa-trees decision tree.
    Tree(LinfaTree),
    /// A linfa-logistic model, binary or multinomial.
    Logistic(LinfaLogistic),
}

/// Hyperparameters of a linfa classifier: a pipeline param for [`ModelParams::Linfa`](crate::models::ModelParams::Linfa).
///
/// ```
/// use mlflow_ml::linfa::{LinfaClassifierParams, LinfaLogisticParams};
/// assert_eq!(LinfaClassifierParams::from(LinfaLogisticParams::default()).kind(), "linfa logistic regression");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum LinfaClassifierParams {
    /// Fit a [`LinfaTree`].
    Tree(LinfaTreeParams),
    /// Fit a [`LinfaLogistic`].
    Logistic(LinfaLogisticParams),
}

/// Any fitted linfa regressor this crate adapts, as one serde type ([`RegressionModel::Linfa`]).
///
/// ```
/// use mlflow_ml::linfa::{LinfaLinear, LinfaLinearParams, LinfaRegressor};
/// use mlflow_ml::models::Regressor;
/// use ndarray::array;
/// let x = array![[0.0], [1.0], [2.0]];
/// let m = LinfaRegressor::from(LinfaLinear::fit(x.view(), &[1.0, 3.0, 5.0], &LinfaLinearParams::default())?);
/// assert!((m.predict(array![[3.0]].view())?[0] - 7.0).abs() < 1e-9);
/// # Ok::<(), mlflow_ml::models::ModelError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum LinfaRegressor {
    /// A linfa-linear ordinary least squares model.
    Linear(LinfaLinear),
    /// A linfa-elasticnet model.
    ElasticNet(LinfaElasticNet),
}

/// Hyperparameters of a linfa regressor: a pipeline param for
/// [`RegressionParams::Linfa`](crate::models::RegressionParams::Linfa).
///
/// ```
/// use mlflow_ml::linfa::{LinfaElasticNetParams, LinfaRegressorParams};
/// assert_eq!(LinfaRegressorParams::from(LinfaElasticNetParams::default()).kind(), "linfa elastic net");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum LinfaRegressorParams {
    /// Fit a [`LinfaLinear`].
    Linear(LinfaLinearParams),
    /// Fit a [`LinfaElasticNet`].
    ElasticNet(LinfaElasticNetParams),
}

impl From<LinfaTree> for LinfaClassifier {
    fn from(m: LinfaTree) -> Self {
        LinfaClassifier::Tree(m)
    }
}

impl From<LinfaLogistic> for LinfaClassifier {
    fn from(m: LinfaLogistic) -> Self {
        LinfaClassifier::Logistic(m)
    }
}

impl From<LinfaLinear> for LinfaRegressor {
    fn from(m: LinfaLinear) -> Self {
        LinfaRegressor::Linear(m)
    }
}

impl From<LinfaElasticNet> for LinfaRegressor {
    fn from(m: LinfaElasticNet) -> Self {
        LinfaRegressor::ElasticNet(m)
    }
}

impl From<LinfaTreeParams> for LinfaClassifierParams {
    fn from(p: LinfaTreeParams) -> Self {
        LinfaClassifierParams::Tree(p)
    }
}

impl From<LinfaLogisticParams> for LinfaClassifierParams {
    fn from(p: LinfaLogisticParams) -> Self {
        LinfaClassifierParams::Logistic(p)
    }
}

impl From<LinfaLinearParams> for LinfaRegressorParams {
    fn from(p: LinfaLinearParams) -> Self {
        LinfaRegressorParams::Linear(p)
    }
}

impl From<LinfaElasticNetParams> for LinfaRegressorParams {
    fn from(p: LinfaElasticNetParams) -> Self {
        LinfaRegressorParams::ElasticNet(p)
    }
}

pub(crate) const TREE: &str = "linfa decision tree";
pub(crate) const LOGISTIC: &str = "linfa logistic regression";
pub(crate) const LINEAR: &str = "linfa linear regression";
pub(crate) const ELASTIC_NET: &str = "linfa elastic net";
pub(crate) const KMEANS: &str = "linfa k-means";
pub(crate) const PCA: &str = "linfa PCA";

impl LinfaClassifierParams {
    /// A short human name of the model kind these params fit.
    pub fn kind(&self) -> &'static str {
        match self {
            LinfaClassifierParams::Tree(_) => TREE,
            LinfaClassifierParams::Logistic(_) => LOGISTIC,
        }
    }
}

impl LinfaRegressorParams {
    /// A short human name of the model kind these params fit.
    pub fn kind(&self) -> &'static str {
        match self {
            LinfaRegressorParams::Linear(_) => LINEAR,
            LinfaRegressorParams::ElasticNet(_) => ELASTIC_NET,
        }
    }
}

impl LinfaClassifier {
    /// Fits the linfa classifier that `params` name on class indices `0..k` (every class present).
    ///
    /// ```
    /// use mlflow_ml::linfa::{LinfaClassifier, LinfaTreeParams};
    /// use ndarray::array;
    /// let m = LinfaClassifier::fit(array![[0.0], [1.0]].view(), &[0, 1], &LinfaTreeParams::default().into())?;
    /// assert_eq!(m.kind(), "linfa decision tree");
    /// # Ok::<(), mlflow_ml::models::ModelError>(())
    /// ```
    pub fn fit(
        x: ArrayView2<'_, f64>,
        y: &[usize],
        params: &LinfaClassifierParams,
    ) -> Result<Self, ModelError> {
        Ok(match params {
            LinfaClassifierParams::Tree(p) => LinfaClassifier::Tree(LinfaTree::fit(x, y, p)?),
            LinfaClassifierParams::Logistic(p) => LinfaClassifier::Logistic(LinfaLogistic::fit(x, y, p)?),
        })
    }

    /// A short human name of the model kind.
    pub fn kind(&self) -> &'static str {
        match self {
            LinfaClassifier::Tree(_) => TREE,
            LinfaClassifier::Logistic(_) => LOGISTIC,
        }
    }

    fn inner(&self) -> &dyn Classifier {
        match self {
            LinfaClassifier::Tree(m) => m,
            LinfaClassifier::Logistic(m) => m,
        }
    }
}

impl Classifier for LinfaClassifier {
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

impl LinfaRegressor {
    /// Fits the linfa regressor that `params` name.
    ///
    /// ```
    /// use mlflow_ml::linfa::{LinfaLinearParams, LinfaRegressor};
    /// use ndarray::array;
    /// let m = LinfaRegressor::fit(array![[0.0], [1.0]].view(), &[0.0, 1.0], &LinfaLinearParams::default().into())?;
    /// assert_eq!(m.kind(), "linfa linear regression");
    /// # Ok::<(), mlflow_ml::models::ModelError>(())
    /// ```
    pub fn fit(x: ArrayView2<'_, f64>, y: &[f64], params: &LinfaRegressorParams) -> Result<Self, ModelError> {
        Ok(match params {
            LinfaRegressorParams::Linear(p) => LinfaRegressor::Linear(LinfaLinear::fit(x, y, p)?),
            LinfaRegressorParams::ElasticNet(p) => LinfaRegressor::ElasticNet(LinfaElasticNet::fit(x, y, p)?),
        })
    }

    /// A short human name of the model kind.
    pub fn kind(&self) -> &'static str {
        match self {
            LinfaRegressor::Linear(_) => LINEAR,
            LinfaRegressor::ElasticNet(_) => ELASTIC_NET,
        }
    }

    fn inner(&self) -> &dyn Regressor {
        match self {
            LinfaRegressor::Linear(m) => m,
            LinfaRegressor::ElasticNet(m) => m,
        }
    }
}

impl Regressor for LinfaRegressor {
    fn n_features(&self) -> usize {
        self.inner().n_features()
    }

    fn predict(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>, ModelError> {
        self.inner().predict(x)
    }
}

/// A fitted feature transformer: new columns computed from the feature columns it was fitted on.
///
/// [`FittedTransformer::append_to`] adds its columns to a [`FeatureMatrix`], named by
/// [`FittedTransformer::output_names`] (`kmeans_dist_0`, `pca_0`, ...).
///
/// ```
/// use mlflow_ml::features::FeatureMatrix;
/// use mlflow_ml::linfa::{FittedTransformer, LinfaPca, LinfaPcaParams};
/// use ndarray::array;
/// let m = FeatureMatrix { names: vec!["a".into(), "b".into()], x: array![[0.0, 0.0], [1.0, 1.1], [2.0, 1.9], [3.0, 3.2]] };
/// let pca = LinfaPca::fit(m.x.view(), &LinfaPcaParams::new(1))?;
/// let out = pca.append_to(&m)?;
/// assert_eq!(out.names, ["a", "b", "pca_0"]);
/// assert_eq!(out.x.dim(), (4, 3));
/// # Ok::<(), mlflow_ml::models::ModelError>(())
/// ```
pub trait FittedTransformer {
    /// The number of feature columns it was fitted on (and expects).
    fn n_features(&self) -> usize;

    /// The names of its output columns, one per column of [`FittedTransformer::transform`].
    fn output_names(&self) -> Vec<String>;

    /// Its output for each row of `x`: one row per row, one column per output name.
    ///
    /// Fails with [`ModelError::FeatureCount`] when `x` has the wrong number of columns and with
    /// [`ModelError::NonFinite`] on NaN or infinite values.
    fn transform(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>, ModelError>;

    /// `m` with the transformer's output columns appended (computed from all of `m`'s columns).
    ///
    /// Fails as [`FittedTransformer::transform`] does, and with [`ModelError::InvalidParam`]
    /// (`prefix`) when an output name is already a column of `m` (give the transformer another
    /// prefix).
    fn append_to(&self, m: &FeatureMatrix) -> Result<FeatureMatrix, ModelError> {
        let names = self.output_names();
        if names.iter().any(|n| m.names.contains(n)) {
            return Err(ModelError::InvalidParam {
                model: "feature transformer",
                param: "prefix",
                value: names.join(", "),
                expected: "output names that are not columns of the matrix yet (set another prefix with with_prefix)",
            });
        }
        let out = self.transform(m.x.view())?;
        let x = ndarray::concatenate(ndarray::Axis(1), &[m.x.view(), out.view()])
            .map_err(|e| ModelError::Corrupt { model: "feature transformer", detail: e.to_string() })?;
        let mut all = m.names.clone();
        all.extend(names);
        Ok(FeatureMatrix { names: all, x })
    }
}

/// A linfa fit that failed: linfa's own message, under our error type.
pub(crate) fn linfa_error(model: &'static str, err: impl std::fmt::Display) -> ModelError {
    ModelError::Linfa { model, detail: err.to_string() }
}

/// Checks an unlabelled training matrix: non-empty and finite.
pub(crate) fn check_training(x: ArrayView2<'_, f64>) -> Result<(), ModelError> {
    let (rows, columns) = x.dim();
    if rows == 0 || columns == 0 {
        return Err(ModelError::Empty { what: crate::models::TRAINING, rows, columns });
    }
    crate::models::check_finite(x, crate::models::TRAINING)
}

/// An out-of-range hyperparameter.
pub(crate) fn invalid(
    model: &'static str,
    param: &'static str,
    value: impl ToString,
    expected: &'static str,
) -> ModelError {
    ModelError::InvalidParam { model, param, value: value.to_string(), expected }
}

#[cfg(test)]
mod tests;
