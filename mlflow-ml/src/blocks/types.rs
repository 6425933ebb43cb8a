//! The values the blocks pass along: what to prepare and train, and what comes out.

use serde::{Deserialize, Serialize};

use crate::data::DataError;
use ndarray::{Array1, Array2};

use crate::eval::{self, EvalError, Evaluation};
use crate::features::{
    ClassLabels, FeatureError, FeatureMatrix, FeatureSpec, FittedFeatures, FittedMatrixScaler, Inference,
    Split,
};
use crate::models::{Classifier, Estimator, EstimatorParams, ModelError, Regressor};
use crate::validate::ValidationError;

/// Any error of a block: the room's own error, unchanged (match on it, or `downcast_ref` the
/// step error to the room's type).
///
/// ```
/// use mlflow_ml::blocks::BlockError;
/// use mlflow_ml::eval::EvalError;
/// let err = BlockError::from(EvalError::NoCandidates);
/// assert_eq!(err.to_string(), EvalError::NoCandidates.to_string());
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlockError {
    /// Reading the data.
    #[error(transparent)]
    Data(#[from] DataError),
    /// Validating it.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// Splitting it or fitting and applying features.
    #[error(transparent)]
    Features(#[from] FeatureError),
    /// Training or applying a model.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// Evaluating or selecting.
    #[error(transparent)]
    Eval(#[from] EvalError),
    /// A search space that cannot be searched.
    #[error(transparent)]
    Tune(#[from] crate::tune::TuneError),
    /// Analysing a model.
    #[error(transparent)]
    Analysis(#[from] crate::analysis::AnalysisError),
    /// Profiling the training rows.
    #[error(transparent)]
    Profile(#[from] crate::monitor::ProfileError),
    /// Measuring data drift.
    #[error(transparent)]
    Drift(#[from] crate::monitor::DriftError),
    /// A searched hyperparameter the model does not have, or a value it refuses.
    #[error("model `{model}` {detail}")]
    Hyperparameter {
        /// The model's kind.
        model: &'static str,
        /// What is wrong, and the fix.
        detail: String,
    },
    /// No trial of a study has a score on any fold.
    #[error(
        "no trial scored: all {trials} trials x {folds} folds failed or scored NaN; see the failed tasks of the study's cross-validation step for their errors"
    )]
    NoTrialScored {
        /// Trials in the study.
        trials: usize,
        /// Folds per trial.
        folds: usize,
    },
    /// Feature inference found no column to use.
    #[error(
        "no column can be a feature: {}; exclude fewer columns, raise `Inference::max_categories`, or give a feature spec with `Prepare::features`",
        describe_dropped(.dropped)
    )]
    NoFeatures {
        /// `(column, why it is not a feature)` for every column considered.
        dropped: Vec<(String, String)>,
    },
}

fn describe_dropped(dropped: &[(String, String)]) -> String {
    if dropped.is_empty() {
        return "every column but the label is excluded".to_owned();
    }
    let each: Vec<String> = dropped
        .iter()
        .map(|(column, why)| format!("`{}`: {why}", mlflow_core::text::escape_controls(column)))
        .collect();
    each.join("; ")
}

/// Where [`Prepare`] gets its features from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FeatureChoice {
    /// A spec of your own.
    Spec(FeatureSpec),
    /// Inferred from the training rows' columns ([`crate::features::infer_spec`]).
    Infer(Inference),
}

/// How [`PrepareStep`](super::PrepareStep) turns an ingested table into train and hold-out
/// features: the label column, a stratified split, and the features (inferred from the columns
/// unless you give a spec).
///
/// ```
/// use mlflow_ml::blocks::{FeatureChoice, Prepare};
/// let setup = Prepare::label("Survived").test_fraction(0.25).seed(7).exclude(["PassengerId"]);
/// assert_eq!((setup.test_fraction, setup.seed), (0.25, 7));
/// let FeatureChoice::Infer(rules) = &setup.features else { unreachable!() };
/// assert_eq!(rules.exclude, ["Survived", "PassengerId"]);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prepare {
    /// The label (target) column.
    pub label: String,
    /// Whether it holds class labels or values to regress.
    pub target: TargetKind,
    /// Fraction of rows held out (default 0.2).
    pub test_fraction: f64,
    /// Seed of the stratified shuffle (default 0).
    pub seed: u64,
    /// The features.
    pub features: FeatureChoice,
}

impl Prepare {
    /// Classify `label` (class labels as given: integers or text, two or more classes); hold out
    /// 20% (stratified, seed 0); infer the features from every other column.
    pub fn label(label: impl Into<String>) -> Self {
        let label = label.into();
        Prepare {
            features: FeatureChoice::Infer(Inference::excluding([label.clone()])),
            label,
            target: TargetKind::Classes,
            test_fraction: 0.2,
            seed: 0,
        }
    }

    /// Regress the numeric column `target`; hold out 20% (shuffled, seed 0); infer the features
    /// from every other column.
    ///
    /// ```
    /// use mlflow_ml::blocks::{Prepare, TargetKind};
    /// let setup = Prepare::regression("progression").test_fraction(0.25);
    /// assert_eq!((setup.label.as_str(), setup.target), ("progression", TargetKind::Values));
    /// ```
    pub fn regression(target: impl Into<String>) -> Self {
        Prepare { target: TargetKind::Values, ..Prepare::label(target) }
    }

    /// Sets the fraction of rows held out.
    pub fn test_fraction(mut self, fraction: f64) -> Self {
        self.test_fraction = fraction;
        self
    }

    /// Sets the seed of the split.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Uses this feature spec instead of inferring one.
    pub fn features(mut self, spec: FeatureSpec) -> Self {
        self.features = FeatureChoice::Spec(spec);
        self
    }

    /// Leaves these columns (ids, leaks) out of the inferred features. A spec given with
    /// [`Prepare::features`] names its own columns: there is nothing to exclude from it.
    pub fn exclude<S: Into<String>>(mut self, columns: impl IntoIterator<Item = S>) -> Self {
        if let FeatureChoice::Infer(rules) = &mut self.features {
            rules.exclude.extend(columns.into_iter().map(Into::into));
        }
        self
    }
}

/// What the label column of [`Prepare`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TargetKind {
    /// Class labels (classification), split stratified by class.
    Classes,
    /// Numbers (regression), split by a seeded shuffle.
    Values,
}

/// The prepared targets of the train and hold-out rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Targets {
    /// Class indices, with the classes they index.
    Classes {
        /// The classes, as the label column holds them, in class-index order.
        classes: ClassLabels,
        /// Training rows' class indices.
        train: Vec<usize>,
        /// Hold-out rows' class indices.
        test: Vec<usize>,
    },
    /// Real values.
    Values {
        /// Training rows' values.
        train: Vec<f64>,
        /// Hold-out rows' values.
        test: Vec<f64>,
    },
}

impl Targets {
    /// The targets of some rows: `train` positions among the training targets, `test` positions
    /// among the hold-out ones (a subsample of both sides).
    pub(super) fn subset(&self, train: &[usize], test: &[usize]) -> Targets {
        self.picked(train, test, false)
    }

    /// The targets of a fold of the training rows: `train` and `validation` both positions among
    /// the training targets.
    pub(super) fn fold(&self, train: &[usize], validation: &[usize]) -> Targets {
        self.picked(train, validation, true)
    }

    fn picked(&self, train: &[usize], test: &[usize], test_from_train: bool) -> Targets {
        fn pick<T: Clone>(values: &[T], rows: &[usize]) -> Vec<T> {
            rows.iter().map(|&i| values[i].clone()).collect()
        }
        match self {
            Targets::Classes { train: y, test: t, classes } => Targets::Classes {
                train: pick(y, train),
                test: pick(if test_from_train { y } else { t }, test),
                classes: classes.clone(),
            },
            Targets::Values { train: y, test: t } => Targets::Values {
                train: pick(y, train),
                test: pick(if test_from_train { y } else { t }, test),
            },
        }
    }
}

/// Train and hold-out features with their labels, and what produced them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prepared {
    /// The label column.
    pub label: String,
    /// Which rows are train and hold-out.
    pub split: Split,
    /// The feature transformers, fitted on the training rows only.
    pub features: FittedFeatures,
    /// Columns left out of inferred features, with the reason.
    pub dropped: Vec<(String, String)>,
    /// Training features.
    pub train: FeatureMatrix,
    /// Hold-out features.
    pub test: FeatureMatrix,
    /// Training and hold-out targets.
    pub targets: Targets,
}

impl Prepared {
    /// The training rows' class indices (`None` for a regression target).
    pub fn train_classes(&self) -> Option<&[usize]> {
        match &self.targets {
            Targets::Classes { train, .. } => Some(train),
            Targets::Values { .. } => None,
        }
    }

    /// The hold-out rows' class indices (`None` for a regression target).
    pub fn test_classes(&self) -> Option<&[usize]> {
        match &self.targets {
            Targets::Classes { test, .. } => Some(test),
            Targets::Values { .. } => None,
        }
    }

    /// The classes (`None` for a regression target).
    pub fn classes(&self) -> Option<&ClassLabels> {
        match &self.targets {
            Targets::Classes { classes, .. } => Some(classes),
            Targets::Values { .. } => None,
        }
    }
}

/// A model to train: a name (also its node names: `train_<name>`, `evaluate_<name>`), its
/// hyperparameters, and whether its inputs are standardized first.
///
/// ```
/// use mlflow_ml::blocks::Candidate;
/// use mlflow_ml::models::SvmParams;
/// let svm = Candidate::new("svm", SvmParams::default()).scaled();
/// assert!(svm.scaled);
/// assert_eq!(svm.params.kind(), "SVM");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// Name in the comparison and in node names.
    pub name: String,
    /// Hyperparameters (a classifier's or a regressor's).
    pub params: EstimatorParams,
    /// Standardize the features (fitted on the training rows) before the model.
    pub scaled: bool,
}

impl Candidate {
    /// A candidate fitted on the features as they are.
    pub fn new(name: impl Into<String>, params: impl Into<EstimatorParams>) -> Self {
        Candidate { name: name.into(), params: params.into(), scaled: false }
    }

    /// Standardizes the features first (for distance- and gradient-based models: SVM, logistic
    /// regression).
    pub fn scaled(mut self) -> Self {
        self.scaled = true;
        self
    }
}

/// A fitted candidate with the scaler its inputs go through.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trained {
    /// The candidate's name.
    pub name: String,
    /// The fitted model.
    pub model: Estimator,
    /// Standardization before the model, fitted on the training rows.
    pub scaler: Option<FittedMatrixScaler>,
}

impl Trained {
    /// Class probabilities for each row of `features`, one column per class (scaled first if
    /// the candidate is); a regressor is [`ModelError::WrongTask`].
    ///
    /// ```
    /// use mlflow_ml::blocks::{Candidate, Prepare, train};
    /// # use mlflow_ml::blocks::prepare;
    /// # use mlflow_ml::data::{Column, Table, Ingested};
    /// # let table = Table::new(vec![
    /// #     ("x".into(), Column::Float((0..20).map(|i| Some(i as f64)).collect())),
    /// #     ("y".into(), Column::Int((0..20).map(|i| Some((i >= 10) as i64)).collect())),
    /// # ])?;
    /// # let raw = Ingested { version: mlflow_core::codec::ContentHash::of(b""), rows: 20, schema: table.schema(), table };
    /// let prepared = prepare(&raw, &Prepare::label("y"))?;
    /// let trained = train(&prepared, &Candidate::new("logistic", mlflow_ml::models::LogisticParams::default()).scaled())?;
    /// let p = trained.predict_proba(&prepared.test)?;
    /// assert_eq!(p.dim(), (prepared.test.rows(), 2));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn predict_proba(&self, features: &FeatureMatrix) -> Result<Array2<f64>, BlockError> {
        let x = self.scaled(features)?;
        match &self.model {
            Estimator::Classifier(m) => Ok(m.predict_proba(x.x.view())?),
            Estimator::Regressor(m) => Err(ModelError::WrongTask {
                model: m.kind(),
                expected: "classifier",
                found: "a request for class probabilities",
            }
            .into()),
        }
    }

    /// Predicted values for each row of `features` (scaled first if the candidate is); a
    /// classifier is [`ModelError::WrongTask`].
    pub fn predict_values(&self, features: &FeatureMatrix) -> Result<Array1<f64>, BlockError> {
        let x = self.scaled(features)?;
        match &self.model {
            Estimator::Regressor(m) => Ok(m.predict(x.x.view())?),
            Estimator::Classifier(m) => Err(ModelError::WrongTask {
                model: m.kind(),
                expected: "regressor",
                found: "a request for values",
            }
            .into()),
        }
    }

    fn scaled<'a>(
        &self,
        features: &'a FeatureMatrix,
    ) -> Result<std::borrow::Cow<'a, FeatureMatrix>, BlockError> {
        Ok(match &self.scaler {
            Some(scaler) => std::borrow::Cow::Owned(scaler.transform(features)?),
            None => std::borrow::Cow::Borrowed(features),
        })
    }
}

/// A candidate's hold-out metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scored {
    /// The candidate's name.
    pub name: String,
    /// Hold-out metrics.
    pub metrics: Evaluation,
}

/// A plain-text table comparing scored candidates, one row each ([`eval::evaluation_table`]).
///
/// ```
/// use mlflow_ml::blocks::{Scored, comparison_table};
/// use mlflow_ml::eval::Evaluation;
/// let metrics = Evaluation::of_values(&[1.0, 2.0, 3.0], &[1.1, 2.0, 2.7]).unwrap();
/// let table = comparison_table(&[Scored { name: "ridge".into(), metrics }]);
/// assert!(table.contains("ridge") && table.contains("rmse"));
/// ```
pub fn comparison_table(scored: &[Scored]) -> String {
    let rows: Vec<(String, Evaluation)> =
        scored.iter().map(|s| (s.name.clone(), s.metrics.clone())).collect();
    eval::evaluation_table(&rows)
}
