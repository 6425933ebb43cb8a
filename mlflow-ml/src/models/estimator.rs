//! Regression models as one artifact type, and the task-level [`Estimator`]: a classifier or a
//! regressor chosen by one pipeline param.

use ndarray::{Array1, Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use super::{
    BoostingParams, Classifier, ForestParams, ForestRegressor, GradientBoostingRegressor, LinearParams,
    LinearRegression, LogisticParams, Model, ModelError, ModelParams, NaiveBayesParams, Regressor, SvmParams,
    TreeParams, TreeRegressor, boosting, forest, linear, tree_regressor,
};

/// Any fitted regression model, as one serde artifact type; implements [`Regressor`].
///
/// ```
/// use mlflow_ml::models::{LinearParams, RegressionModel, RegressionParams, Regressor};
/// use ndarray::array;
/// let x = array![[0.0], [1.0], [2.0]];
/// let m = RegressionModel::fit(x.view(), &[1.0, 3.0, 5.0], &RegressionParams::Linear(LinearParams::default()))?;
/// assert_eq!(m.kind(), "linear regression");
/// assert!((m.predict(array![[3.0]].view())?[0] - 7.0).abs() < 1e-12);
/// # Ok::<(), mlflow_ml::models::ModelError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum RegressionModel {
    /// Ordinary least squares or ridge.
    Linear(LinearRegression),
    /// A regression tree.
    Tree(TreeRegressor),
    /// A random forest of regression trees.
    Forest(ForestRegressor),
    /// Histogram gradient-boosted trees on the squared error.
    Boosting(GradientBoostingRegressor),
    /// A fitted linfa regressor (cargo feature `linfa`; last, so the others' bytes are unchanged).
    #[cfg(feature = "linfa")]
    Linfa(crate::linfa::LinfaRegressor),
    /// A fitted linfa regressor, which this build cannot hold: decoding one fails with a message
    /// naming the cargo feature `linfa` to enable.
    #[cfg(not(feature = "linfa"))]
    Linfa(super::LinfaUnavailable),
}

/// Hyperparameters of any regression model: one pipeline param chooses the kind and settings.
///
/// ```
/// use mlflow_ml::models::{LinearParams, RegressionParams};
/// assert_eq!(RegressionParams::from(LinearParams::ridge(1.0)).kind(), "linear regression");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum RegressionParams {
    /// Fit a [`LinearRegression`].
    Linear(LinearParams),
    /// Fit a [`TreeRegressor`].
    Tree(TreeParams),
    /// Fit a [`ForestRegressor`] (scikit-learn's regressor defaults: [`ForestParams::regression`]).
    Forest(ForestParams),
    /// Fit a [`GradientBoostingRegressor`].
    Boosting(BoostingParams),
    /// Fit a linfa regressor (cargo feature `linfa`).
    #[cfg(feature = "linfa")]
    Linfa(crate::linfa::LinfaRegressorParams),
    /// A linfa regressor's params, which this build cannot hold (decoding fails naming the cargo
    /// feature `linfa`).
    #[cfg(not(feature = "linfa"))]
    Linfa(super::LinfaUnavailable),
}

impl From<LinearParams> for RegressionParams {
    fn from(params: LinearParams) -> Self {
        RegressionParams::Linear(params)
    }
}

impl RegressionParams {
    /// A short human name of the model kind these params fit.
    pub fn kind(&self) -> &'static str {
        match self {
            RegressionParams::Linear(_) => linear::KIND,
            RegressionParams::Tree(_) => tree_regressor::KIND,
            RegressionParams::Forest(_) => forest::REGRESSOR_KIND,
            RegressionParams::Boosting(_) => boosting::REGRESSOR,
            #[cfg(feature = "linfa")]
            RegressionParams::Linfa(p) => p.kind(),
            #[cfg(not(feature = "linfa"))]
            RegressionParams::Linfa(never) => match *never {},
        }
    }
}

impl RegressionModel {
    /// Fits the regression model kind that `params` names.
    pub fn fit(x: ArrayView2<'_, f64>, y: &[f64], params: &RegressionParams) -> Result<Self, ModelError> {
        Ok(match params {
            RegressionParams::Linear(p) => RegressionModel::Linear(LinearRegression::fit(x, y, p)?),
            RegressionParams::Tree(p) => RegressionModel::Tree(TreeRegressor::fit(x, y, p)?),
            RegressionParams::Forest(p) => RegressionModel::Forest(ForestRegressor::fit(x, y, p)?),
            RegressionParams::Boosting(p) => {
                RegressionModel::Boosting(GradientBoostingRegressor::fit(x, y, p)?)
            }
            #[cfg(feature = "linfa")]
            RegressionParams::Linfa(p) => RegressionModel::Linfa(crate::linfa::LinfaRegressor::fit(x, y, p)?),
            #[cfg(not(feature = "linfa"))]
            RegressionParams::Linfa(never) => match *never {},
        })
    }

    /// A short human name of the model kind.
    pub fn kind(&self) -> &'static str {
        match self {
            RegressionModel::Linear(_) => linear::KIND,
            RegressionModel::Tree(_) => tree_regressor::KIND,
            RegressionModel::Forest(_) => forest::REGRESSOR_KIND,
            RegressionModel::Boosting(_) => boosting::REGRESSOR,
            #[cfg(feature = "linfa")]
            RegressionModel::Linfa(m) => m.kind(),
            #[cfg(not(feature = "linfa"))]
            RegressionModel::Linfa(never) => match *never {},
        }
    }

    fn inner(&self) -> &dyn Regressor {
        match self {
            RegressionModel::Linear(m) => m,
            RegressionModel::Tree(m) => m,
            RegressionModel::Forest(m) => m,
            RegressionModel::Boosting(m) => m,
            #[cfg(feature = "linfa")]
            RegressionModel::Linfa(m) => m,
            #[cfg(not(feature = "linfa"))]
            RegressionModel::Linfa(never) => match *never {},
        }
    }
}

impl Regressor for RegressionModel {
    fn n_features(&self) -> usize {
        self.inner().n_features()
    }

    fn predict(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>, ModelError> {
        self.inner().predict(x)
    }
}

/// What a model learns: classes (with their number) or values.
///
/// ```
/// use mlflow_ml::models::Task;
/// assert_eq!(Task::Classification { classes: 3 }.to_string(), "classification (3 classes)");
/// assert_eq!(Task::Regression.to_string(), "regression");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Task {
    /// Class probabilities over `classes` classes (2: binary).
    Classification {
        /// The number of classes.
        classes: usize,
    },
    /// One real value per row.
    Regression,
}

impl std::fmt::Display for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Task::Classification { classes } => write!(f, "classification ({classes} classes)"),
            Task::Regression => f.write_str("regression"),
        }
    }
}

/// A fitted classifier or regressor: what a training step of either task produces.
///
/// ```
/// use mlflow_ml::models::{Estimator, EstimatorParams, LinearParams, Task, TreeParams};
/// use ndarray::array;
/// let x = array![[0.0], [1.0], [2.0], [3.0]];
/// let tree = Estimator::fit_classes(x.view(), &[0, 0, 1, 1], &EstimatorParams::from(TreeParams::default()))?;
/// assert_eq!(tree.task(), Task::Classification { classes: 2 });
/// let line = Estimator::fit_values(x.view(), &[0.0, 1.0, 2.0, 3.0], &EstimatorParams::from(LinearParams::default()))?;
/// assert_eq!(line.task(), Task::Regression);
/// # Ok::<(), mlflow_ml::models::ModelError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Estimator {
    /// A classifier.
    Classifier(Model),
    /// A regressor.
    Regressor(RegressionModel),
}

/// Hyperparameters of a classifier or a regressor (see [`Estimator`]).
///
/// `From` each classifier's params gives a classifier (`TreeParams` is a classification tree);
/// `From<LinearParams>` and `From<RegressionParams>` give a regressor.
///
/// ```
/// use mlflow_ml::models::{EstimatorParams, LinearParams, SvmParams};
/// assert!(EstimatorParams::from(SvmParams::default()).is_classifier());
/// assert!(!EstimatorParams::from(LinearParams::default()).is_classifier());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EstimatorParams {
    /// A classifier's params.
    Classifier(ModelParams),
    /// A regressor's params.
    Regressor(RegressionParams),
}

macro_rules! classifier_params_from {
    ($($params:ty),* $(,)?) => {
        $(
            impl From<$params> for EstimatorParams {
                fn from(params: $params) -> Self {
                    EstimatorParams::Classifier(params.into())
                }
            }
        )*
    };
}

classifier_params_from!(
    ModelParams,
    TreeParams,
    ForestParams,
    LogisticParams,
    NaiveBayesParams,
    SvmParams,
    BoostingParams
);

impl From<RegressionParams> for EstimatorParams {
    fn from(params: RegressionParams) -> Self {
        EstimatorParams::Regressor(params)
    }
}

#[cfg(feature = "linfa")]
impl From<crate::linfa::LinfaClassifierParams> for ModelParams {
    fn from(params: crate::linfa::LinfaClassifierParams) -> Self {
        ModelParams::Linfa(params)
    }
}

#[cfg(feature = "linfa")]
impl From<crate::linfa::LinfaRegressorParams> for RegressionParams {
    fn from(params: crate::linfa::LinfaRegressorParams) -> Self {
        RegressionParams::Linfa(params)
    }
}

#[cfg(feature = "linfa")]
macro_rules! linfa_model_params_from {
    ($($params:ty => $target:ty),* $(,)?) => {
        $(
            impl From<$params> for $target {
                fn from(params: $params) -> Self {
                    <$target>::Linfa(params.into())
                }
            }
        )*
    };
}

#[cfg(feature = "linfa")]
linfa_model_params_from!(
    crate::linfa::LinfaTreeParams => ModelParams,
    crate::linfa::LinfaLogisticParams => ModelParams,
    crate::linfa::LinfaLinearParams => RegressionParams,
    crate::linfa::LinfaElasticNetParams => RegressionParams,
);

/// `EstimatorParams::from(LinfaTreeParams::default())` and the like: a linfa classifier's params.
#[cfg(feature = "linfa")]
macro_rules! linfa_params_from {
    ($($params:ty => $task:ident($wrap:ty)),* $(,)?) => {
        $(
            impl From<$params> for EstimatorParams {
                fn from(params: $params) -> Self {
                    EstimatorParams::$task(<$wrap>::from(params).into())
                }
            }
        )*
    };
}

#[cfg(feature = "linfa")]
linfa_params_from!(
    crate::linfa::LinfaClassifierParams => Classifier(crate::linfa::LinfaClassifierParams),
    crate::linfa::LinfaTreeParams => Classifier(crate::linfa::LinfaClassifierParams),
    crate::linfa::LinfaLogisticParams => Classifier(crate::linfa::LinfaClassifierParams),
    crate::linfa::LinfaRegressorParams => Regressor(crate::linfa::LinfaRegressorParams),
    crate::linfa::LinfaLinearParams => Regressor(crate::linfa::LinfaRegressorParams),
    crate::linfa::LinfaElasticNetParams => Regressor(crate::linfa::LinfaRegressorParams),
);

#[cfg(feature = "linfa")]
impl From<crate::linfa::LinfaClassifier> for Estimator {
    fn from(model: crate::linfa::LinfaClassifier) -> Self {
        Estimator::Classifier(Model::Linfa(model))
    }
}

#[cfg(feature = "linfa")]
impl From<crate::linfa::LinfaRegressor> for Estimator {
    fn from(model: crate::linfa::LinfaRegressor) -> Self {
        Estimator::Regressor(RegressionModel::Linfa(model))
    }
}

impl From<LinearParams> for EstimatorParams {
    fn from(params: LinearParams) -> Self {
        EstimatorParams::Regressor(params.into())
    }
}

impl EstimatorParams {
    /// A short human name of the model kind.
    pub fn kind(&self) -> &'static str {
        match self {
            EstimatorParams::Classifier(p) => p.kind(),
            EstimatorParams::Regressor(p) => p.kind(),
        }
    }

    /// Whether these params fit a classifier.
    pub fn is_classifier(&self) -> bool {
        matches!(self, EstimatorParams::Classifier(_))
    }
}

impl Estimator {
    /// Fits a classifier on class indices; regressor params are [`ModelError::WrongTask`].
    pub fn fit_classes(
        x: ArrayView2<'_, f64>,
        y: &[usize],
        params: &EstimatorParams,
    ) -> Result<Self, ModelError> {
        match params {
            EstimatorParams::Classifier(p) => Ok(Estimator::Classifier(Model::fit(x, y, p)?)),
            EstimatorParams::Regressor(p) => {
                Err(ModelError::WrongTask { model: p.kind(), expected: "classifier", found: "class labels" })
            }
        }
    }

    /// Fits a regressor on real values; classifier params are [`ModelError::WrongTask`].
    pub fn fit_values(
        x: ArrayView2<'_, f64>,
        y: &[f64],
        params: &EstimatorParams,
    ) -> Result<Self, ModelError> {
        match params {
            EstimatorParams::Regressor(p) => Ok(Estimator::Regressor(RegressionModel::fit(x, y, p)?)),
            EstimatorParams::Classifier(p) => Err(ModelError::WrongTask {
                model: p.kind(),
                expected: "regressor",
                found: "a numeric target",
            }),
        }
    }

    /// What the model predicts.
    pub fn task(&self) -> Task {
        match self {
            Estimator::Classifier(m) => Task::Classification { classes: m.n_classes() },
            Estimator::Regressor(_) => Task::Regression,
        }
    }

    /// A short human name of the model kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Estimator::Classifier(m) => m.kind(),
            Estimator::Regressor(m) => m.kind(),
        }
    }

    /// The number of feature columns the model expects.
    pub fn n_features(&self) -> usize {
        match self {
            Estimator::Classifier(m) => m.n_features(),
            Estimator::Regressor(m) => m.n_features(),
        }
    }

    /// The classifier, if it is one.
    pub fn classifier(&self) -> Option<&Model> {
        match self {
            Estimator::Classifier(m) => Some(m),
            Estimator::Regressor(_) => None,
        }
    }

    /// The regressor, if it is one.
    pub fn regressor(&self) -> Option<&RegressionModel> {
        match self {
            Estimator::Regressor(m) => Some(m),
            Estimator::Classifier(_) => None,
        }
    }
}

impl From<Model> for Estimator {
    fn from(model: Model) -> Self {
        Estimator::Classifier(model)
    }
}

impl From<RegressionModel> for Estimator {
    fn from(model: RegressionModel) -> Self {
        Estimator::Regressor(model)
    }
}

impl Estimator {
    /// What the model gives for the rows of `x`: class probabilities or values.
    ///
    /// ```
    /// use mlflow_ml::models::{Estimator, LinearParams, Outputs};
    /// use ndarray::array;
    /// let x = array![[0.0], [1.0]];
    /// let m = Estimator::fit_values(x.view(), &[1.0, 2.0], &LinearParams::default().into())?;
    /// let Outputs::Values(v) = m.predict_outputs(x.view())? else { unreachable!() };
    /// assert!((v[1] - 2.0).abs() < 1e-12);
    /// # Ok::<(), mlflow_ml::models::ModelError>(())
    /// ```
    pub fn predict_outputs(&self, x: ArrayView2<'_, f64>) -> Result<Outputs, ModelError> {
        Ok(match self {
            Estimator::Classifier(m) => Outputs::Probabilities(m.predict_proba(x)?),
            Estimator::Regressor(m) => Outputs::Values(m.predict(x)?),
        })
    }
}

/// A model's outputs for a batch of rows.
#[derive(Debug, Clone, PartialEq)]
pub enum Outputs {
    /// One row per input row, one column per class.
    Probabilities(Array2<f64>),
    /// One value per input row.
    Values(Array1<f64>),
}

impl Outputs {
    /// The number of rows.
    pub fn rows(&self) -> usize {
        match self {
            Outputs::Probabilities(p) => p.nrows(),
            Outputs::Values(v) => v.len(),
        }
    }

    /// The figures recorded per row for a self-test, row by row: P(class 1) for two classes (the
    /// format of binary packages from before multiclass models), every class's probability for
    /// more, the value for a regressor.
    ///
    /// ```
    /// use mlflow_ml::models::Outputs;
    /// use ndarray::array;
    /// assert_eq!(Outputs::Probabilities(array![[0.25, 0.75]]).recorded(), [0.75]);
    /// assert_eq!(Outputs::Probabilities(array![[0.2, 0.3, 0.5]]).recorded(), [0.2, 0.3, 0.5]);
    /// ```
    pub fn recorded(&self) -> Vec<f64> {
        match self {
            Outputs::Probabilities(p) if p.ncols() == 2 => p.column(1).to_vec(),
            Outputs::Probabilities(p) => p.iter().copied().collect(),
            Outputs::Values(v) => v.to_vec(),
        }
    }

    /// The first row and column of a value that is NaN or infinite.
    pub fn first_non_finite(&self) -> Option<(usize, f64)> {
        match self {
            Outputs::Probabilities(p) => {
                p.indexed_iter().find(|(_, v)| !v.is_finite()).map(|((r, _), v)| (r, *v))
            }
            Outputs::Values(v) => v.iter().position(|v| !v.is_finite()).map(|r| (r, v[r])),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn params_of_the_other_task_are_refused() {
        let x = array![[0.0], [1.0]];
        let err = Estimator::fit_values(x.view(), &[0.0, 1.0], &TreeParams::default().into()).unwrap_err();
        assert!(err.to_string().contains("regressor"), "{err}");
        let err = Estimator::fit_classes(x.view(), &[0, 1], &LinearParams::default().into()).unwrap_err();
        assert!(matches!(err, ModelError::WrongTask { expected: "classifier", .. }), "{err}");
    }
}
