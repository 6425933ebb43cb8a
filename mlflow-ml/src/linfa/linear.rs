//! linfa-linear's ordinary least squares as a [`Regressor`].

use linfa_linear::{FittedLinearRegression, LinearRegression};
use ndarray::{Array1, ArrayView2};
use serde::{Deserialize, Serialize};

use super::{LINEAR, linfa_error};
use crate::models::{ModelError, Regressor, check_input, check_regression_training};

/// Hyperparameters of a [`LinfaLinear`]: linfa-linear's `LinearRegression` (ordinary least
/// squares by QR).
///
/// ```
/// use mlflow_ml::linfa::LinfaLinearParams;
/// assert!(LinfaLinearParams::default().fit_intercept);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinfaLinearParams {
    /// Fit an intercept (a column of ones beside the features).
    pub fit_intercept: bool,
}

impl Default for LinfaLinearParams {
    fn default() -> Self {
        LinfaLinearParams { fit_intercept: true }
    }
}

/// A fitted linfa-linear `FittedLinearRegression<f64>`: `y = w . x + b`.
///
/// linfa solves least squares by a QR decomposition of `x` with a column of ones: on
/// full-rank data it agrees with our [`LinearRegression`](crate::models::LinearRegression) and
/// scikit-learn's to rounding; it has no rank tolerance, so on rank-deficient data it fails or
/// returns one of the many solutions (ours and scikit-learn's return the minimum-norm one).
///
/// ```
/// use mlflow_ml::linfa::{LinfaLinear, LinfaLinearParams};
/// use mlflow_ml::models::Regressor;
/// use ndarray::array;
/// let x = array![[0.0, 1.0], [1.0, 0.0], [2.0, 2.0], [3.0, 1.0]];
/// let y = [1.0, 3.0, 9.0, 9.0]; // 2 x0 + 3 x1 + 1 ... nearly
/// let m = LinfaLinear::fit(x.view(), &y, &LinfaLinearParams::default())?;
/// assert_eq!(m.n_features(), 2);
/// # Ok::<(), mlflow_ml::models::ModelError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinfaLinear {
    model: FittedLinearRegression<f64>,
}

impl LinfaLinear {
    /// Fits linfa's ordinary least squares on finite `x` and `y`.
    pub fn fit(x: ArrayView2<'_, f64>, y: &[f64], params: &LinfaLinearParams) -> Result<Self, ModelError> {
        check_regression_training(x, y)?;
        use ::linfa::prelude::*;
        let dataset = ::linfa::Dataset::new(x.to_owned(), Array1::from(y.to_vec()));
        let model = LinearRegression::new()
            .with_intercept(params.fit_intercept)
            .fit(&dataset)
            .map_err(|e| linfa_error(LINEAR, e))?;
        if model.params().iter().chain([&model.intercept()]).any(|v| !v.is_finite()) {
            return Err(ModelError::Linfa {
                model: LINEAR,
                detail: "the least squares solution is not finite (are some features collinear or constant?)"
                    .into(),
            });
        }
        Ok(LinfaLinear { model })
    }

    /// Adapts a model fitted with linfa.
    pub fn from_fitted(model: FittedLinearRegression<f64>) -> Self {
        LinfaLinear { model }
    }

    /// The fitted linfa model.
    pub fn fitted(&self) -> &FittedLinearRegression<f64> {
        &self.model
    }

    /// The coefficients `w`, one per feature.
    pub fn coef(&self) -> &Array1<f64> {
        self.model.params()
    }

    /// The intercept `b` (0 without one).
    pub fn intercept(&self) -> f64 {
        self.model.intercept()
    }
}

impl Regressor for LinfaLinear {
    fn n_features(&self) -> usize {
        self.model.params().len()
    }

    fn predict(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>, ModelError> {
        check_input(x, self.n_features())?;
        Ok(x.dot(self.model.params()) + self.model.intercept())
    }
}
