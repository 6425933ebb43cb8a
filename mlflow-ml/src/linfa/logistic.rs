//! linfa-logistic's binary and multinomial logistic regressions as a [`Classifier`].

use linfa_logistic::{
    FittedLogisticRegression, LogisticRegression, MultiFittedLogisticRegression, MultiLogisticRegression,
};
use ndarray::{Array1, Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use super::{LOGISTIC, invalid, linfa_error};
use crate::models::{Classifier, ModelError, check_classes, check_input};

/// Hyperparameters of a [`LinfaLogistic`]; `Default` is linfa-logistic's (`alpha = 1`, an
/// intercept, at most 100 L-BFGS iterations, gradient tolerance `1e-4`).
///
/// linfa's `alpha` weighs `alpha / 2 * |w|^2` against the *summed* log loss: scikit-learn's
/// `C` is `1 / alpha`.
///
/// ```
/// use mlflow_ml::linfa::LinfaLogisticParams;
/// let p = LinfaLogisticParams::default();
/// assert_eq!((p.alpha, p.fit_intercept, p.max_iterations, p.multinomial), (1.0, true, 100, false));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinfaLogisticParams {
    /// L2 penalty (`>= 0`, finite).
    pub alpha: f64,
    /// Fit an intercept.
    pub fit_intercept: bool,
    /// The most L-BFGS iterations (`>= 1`).
    pub max_iterations: u64,
    /// Stop when the gradient's norm is below this (`> 0`, finite).
    pub gradient_tolerance: f64,
    /// Fit linfa's multinomial (softmax) model even for two classes; more than two classes always
    /// use it.
    pub multinomial: bool,
}

impl Default for LinfaLogisticParams {
    fn default() -> Self {
        LinfaLogisticParams {
            alpha: 1.0,
            fit_intercept: true,
            max_iterations: 100,
            gradient_tolerance: 1e-4,
            multinomial: false,
        }
    }
}

/// A fitted linfa logistic regression: binary (`FittedLogisticRegression<f64, usize>`) or
/// multinomial (`MultiFittedLogisticRegression<f64, usize>`), over class indices `0..k`.
///
/// Column `c` of `predict_proba` is always P(class `c`). For the binary model that means reading
/// which class linfa took as positive: its *more frequent* training class (the first seen on a
/// tie), not the larger label as its documentation says.
///
/// ```
/// use mlflow_ml::linfa::{LinfaLogistic, LinfaLogisticParams};
/// use mlflow_ml::models::Classifier;
/// use ndarray::array;
/// // Class 0 is the majority: linfa's probability is P(class 0), the adapter's column 1 P(class 1).
/// let x = array![[0.0], [0.5], [1.0], [1.5], [4.0], [5.0]];
/// let m = LinfaLogistic::fit(x.view(), &[0, 0, 0, 0, 1, 1], &LinfaLogisticParams::default())?;
/// let p = m.predict_proba(array![[5.0], [0.0]].view())?;
/// assert!(p[[0, 1]] > 0.5 && p[[1, 1]] < 0.5);
/// # Ok::<(), mlflow_ml::models::ModelError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinfaLogistic {
    model: Fitted,
    n_features: usize,
    n_classes: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Fitted {
    Binary(FittedLogisticRegression<f64, usize>),
    Multinomial(MultiFittedLogisticRegression<f64, usize>),
}

impl LinfaLogistic {
    /// Fits linfa's binary model for two classes (unless `params.multinomial`) and its
    /// multinomial model for more, on class indices `0..k` (every class present).
    pub fn fit(
        x: ArrayView2<'_, f64>,
        y: &[usize],
        params: &LinfaLogisticParams,
    ) -> Result<Self, ModelError> {
        let counts = check_classes(x, y)?;
        if !(params.alpha >= 0.0 && params.alpha.is_finite()) {
            return Err(invalid(LOGISTIC, "alpha", params.alpha, "a finite number >= 0"));
        }
        if !(params.gradient_tolerance > 0.0 && params.gradient_tolerance.is_finite()) {
            return Err(invalid(
                LOGISTIC,
                "gradient_tolerance",
                params.gradient_tolerance,
                "a finite number > 0",
            ));
        }
        if params.max_iterations == 0 {
            return Err(invalid(LOGISTIC, "max_iterations", 0, "at least 1"));
        }
        use ::linfa::prelude::*;
        let dataset = ::linfa::Dataset::new(x.to_owned(), Array1::from(y.to_vec()));
        if counts.len() == 2 && !params.multinomial {
            let model = LogisticRegression::<f64>::default()
                .alpha(params.alpha)
                .with_intercept(params.fit_intercept)
                .max_iterations(params.max_iterations)
                .gradient_tolerance(params.gradient_tolerance)
                .fit(&dataset)
                .map_err(|e| linfa_error(LOGISTIC, e))?;
            Self::from_binary(model)
        } else {
            let model = MultiLogisticRegression::<f64>::default()
                .alpha(params.alpha)
                .with_intercept(params.fit_intercept)
                .max_iterations(params.max_iterations)
                .gradient_tolerance(params.gradient_tolerance)
                .fit(&dataset)
                .map_err(|e| linfa_error(LOGISTIC, e))?;
            Self::from_multinomial(model)
        }
    }

    /// Adapts a binary model fitted with linfa on labels `0` and `1`.
    ///
    /// ```
    /// use mlflow_ml::linfa::{LinfaLogistic, linfa::prelude::*, linfa_logistic::LogisticRegression};
    /// use mlflow_ml::models::Classifier;
    /// use ndarray::{array, Array1};
    /// let x = array![[0.0], [1.0], [3.0], [4.0]];
    /// let fitted = LogisticRegression::default().fit(&Dataset::new(x, Array1::from(vec![0usize, 0, 1, 1])))
    ///     .map_err(|e| e.to_string())?;
    /// let m = LinfaLogistic::from_binary(fitted)?;
    /// assert_eq!(m.predict(array![[4.0]].view())?.to_vec(), [1]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_binary(model: FittedLogisticRegression<f64, usize>) -> Result<Self, ModelError> {
        let labels = model.labels();
        let mut classes = [labels.pos.class, labels.neg.class];
        classes.sort_unstable();
        if classes != [0, 1] {
            return Err(ModelError::Corrupt {
                model: LOGISTIC,
                detail: format!(
                    "the binary model's classes are {} and {}, but class indices must be 0 and 1",
                    classes[0], classes[1]
                ),
            });
        }
        let n_features = model.params().len();
        Ok(LinfaLogistic { model: Fitted::Binary(model), n_features, n_classes: 2 })
    }

    /// Adapts a multinomial model fitted with linfa on class indices `0..k` (every class present).
    ///
    /// ```
    /// use mlflow_ml::linfa::{LinfaLogistic, linfa::prelude::*, linfa_logistic::MultiLogisticRegression};
    /// use mlflow_ml::models::Classifier;
    /// use ndarray::{array, Array1};
    /// let x = array![[0.0], [1.0], [5.0], [6.0], [10.0], [11.0]];
    /// let fitted = MultiLogisticRegression::default().fit(&Dataset::new(x, Array1::from(vec![0usize, 0, 1, 1, 2, 2])))
    ///     .map_err(|e| e.to_string())?;
    /// let m = LinfaLogistic::from_multinomial(fitted)?;
    /// assert_eq!(m.n_classes(), 3);
    /// assert_eq!(m.predict(array![[11.0]].view())?.to_vec(), [2]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_multinomial(model: MultiFittedLogisticRegression<f64, usize>) -> Result<Self, ModelError> {
        let classes = model.classes();
        if classes.len() < 2 || classes.iter().enumerate().any(|(i, &c)| i != c) {
            return Err(ModelError::Corrupt {
                model: LOGISTIC,
                detail: format!("the model's classes are {classes:?}, but they must be 0..k with k >= 2"),
            });
        }
        let (n_features, n_classes) = model.params().dim();
        if n_classes != classes.len() || model.intercept().len() != n_classes {
            return Err(ModelError::Corrupt {
                model: LOGISTIC,
                detail: format!("{} classes but {n_classes} coefficient columns", classes.len()),
            });
        }
        Ok(LinfaLogistic { model: Fitted::Multinomial(model), n_features, n_classes })
    }

    /// Whether this is linfa's multinomial (softmax) model.
    pub fn is_multinomial(&self) -> bool {
        matches!(self.model, Fitted::Multinomial(_))
    }

    /// The binary linfa model, if it is one.
    pub fn binary(&self) -> Option<&FittedLogisticRegression<f64, usize>> {
        match &self.model {
            Fitted::Binary(m) => Some(m),
            Fitted::Multinomial(_) => None,
        }
    }

    /// The multinomial linfa model, if it is one.
    pub fn multinomial(&self) -> Option<&MultiFittedLogisticRegression<f64, usize>> {
        match &self.model {
            Fitted::Multinomial(m) => Some(m),
            Fitted::Binary(_) => None,
        }
    }
}

impl Classifier for LinfaLogistic {
    fn n_features(&self) -> usize {
        self.n_features
    }

    fn n_classes(&self) -> usize {
        self.n_classes
    }

    fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>, ModelError> {
        check_input(x, self.n_features)?;
        match &self.model {
            Fitted::Binary(m) => {
                let p = m.predict_probabilities(&x);
                // linfa's probability is of its positive class: its majority training class.
                let positive_is_one = m.labels().pos.class == 1;
                let mut out = Array2::zeros((x.nrows(), 2));
                for (mut row, p) in out.rows_mut().into_iter().zip(p) {
                    let (p0, p1) = if positive_is_one { (1.0 - p, p) } else { (p, 1.0 - p) };
                    row[0] = p0;
                    row[1] = p1;
                }
                Ok(out)
            }
            Fitted::Multinomial(m) => Ok(m.predict_probabilities(&x)),
        }
    }
}
