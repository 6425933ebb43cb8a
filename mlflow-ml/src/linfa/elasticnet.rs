//! linfa-elasticnet's elastic net as a [`Regressor`], fitted as scikit-learn's `ElasticNet`.

use linfa_elasticnet::ElasticNet;
use ndarray::{Array1, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use super::{ELASTIC_NET, invalid, linfa_error};
use crate::models::{ModelError, Regressor, check_input, check_regression_training};

/// Hyperparameters of a [`LinfaElasticNet`]; `Default` is linfa's and scikit-learn's
/// (`ElasticNet(alpha=1.0, l1_ratio=0.5, tol=1e-4, max_iter=1000)`).
///
/// The objective is scikit-learn's: `1 / (2 n) |y - Xw - b|^2 + penalty * l1_ratio * |w|_1 +
/// penalty * (1 - l1_ratio) / 2 * |w|^2`, so `penalty` is scikit-learn's `alpha`.
///
/// ```
/// use mlflow_ml::linfa::LinfaElasticNetParams;
/// let p = LinfaElasticNetParams::default();
/// assert_eq!((p.penalty, p.l1_ratio, p.tolerance, p.max_iterations), (1.0, 0.5, 1e-4, 1000));
/// let lasso = LinfaElasticNetParams { l1_ratio: 1.0, ..LinfaElasticNetParams::new(0.1) };
/// assert_eq!(lasso.penalty, 0.1);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinfaElasticNetParams {
    /// Overall penalty strength (`>= 0`, finite; scikit-learn's `alpha`).
    pub penalty: f64,
    /// The L1 share of the penalty, in `[0, 1]` (1: lasso, 0: ridge).
    pub l1_ratio: f64,
    /// Fit an intercept: the features are centered on their means (and the target on its mean)
    /// before linfa's coordinate descent, as scikit-learn does.
    pub fit_intercept: bool,
    /// Coordinate descent tolerance (`> 0`): stop when the duality gap is below `tolerance *
    /// |y|^2`.
    pub tolerance: f64,
    /// The most coordinate descent sweeps (`>= 2`).
    pub max_iterations: u32,
}

impl Default for LinfaElasticNetParams {
    fn default() -> Self {
        LinfaElasticNetParams {
            penalty: 1.0,
            l1_ratio: 0.5,
            fit_intercept: true,
            tolerance: 1e-4,
            max_iterations: 1000,
        }
    }
}

impl LinfaElasticNetParams {
    /// The defaults with another penalty.
    pub fn new(penalty: f64) -> Self {
        LinfaElasticNetParams { penalty, ..Default::default() }
    }
}

/// A fitted linfa-elasticnet `ElasticNet<f64>`, and the feature means it was centered on:
/// `y = w . (x - x_mean) + b`.
///
/// linfa centers the target for the intercept but not the features, which is scikit-learn's
/// model only for features of mean 0; [`LinfaElasticNet::fit`] centers the features first and
/// records their means, which gives scikit-learn's `ElasticNet` (to the coordinate descent's
/// tolerance). [`LinfaElasticNet::from_fitted`] adapts a model fitted by hand, means zero.
///
/// ```
/// use mlflow_ml::linfa::{LinfaElasticNet, LinfaElasticNetParams};
/// use mlflow_ml::models::Regressor;
/// use ndarray::array;
/// let x = array![[10.0], [11.0], [12.0], [13.0]];
/// let y = [1.0, 3.0, 5.0, 7.0];
/// let m = LinfaElasticNet::fit(x.view(), &y, &LinfaElasticNetParams::new(1e-6))?;
/// assert!((m.predict(array![[14.0]].view())?[0] - 9.0).abs() < 1e-3);
/// # Ok::<(), mlflow_ml::models::ModelError>(())
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LinfaElasticNet {
    model: ElasticNet<f64>,
    x_mean: Array1<f64>,
}

impl PartialEq for LinfaElasticNet {
    /// The fitted numbers (linfa's `ElasticNet` has no `==`).
    fn eq(&self, other: &Self) -> bool {
        self.x_mean == other.x_mean
            && self.model.hyperplane() == other.model.hyperplane()
            && self.model.intercept().to_bits() == other.model.intercept().to_bits()
            && self.model.n_steps() == other.model.n_steps()
            && self.model.duality_gap().to_bits() == other.model.duality_gap().to_bits()
    }
}

impl LinfaElasticNet {
    /// Fits linfa's elastic net on finite `x` and `y`, the features centered first when
    /// `params.fit_intercept`.
    pub fn fit(
        x: ArrayView2<'_, f64>,
        y: &[f64],
        params: &LinfaElasticNetParams,
    ) -> Result<Self, ModelError> {
        check_regression_training(x, y)?;
        if !(params.penalty >= 0.0 && params.penalty.is_finite()) {
            return Err(invalid(ELASTIC_NET, "penalty", params.penalty, "a finite number >= 0"));
        }
        if !(0.0..=1.0).contains(&params.l1_ratio) {
            return Err(invalid(ELASTIC_NET, "l1_ratio", params.l1_ratio, "a number in [0, 1]"));
        }
        if !(params.tolerance > 0.0 && params.tolerance.is_finite()) {
            return Err(invalid(ELASTIC_NET, "tolerance", params.tolerance, "a finite number > 0"));
        }
        if params.max_iterations < 2 {
            return Err(invalid(ELASTIC_NET, "max_iterations", params.max_iterations, "at least 2"));
        }
        let x_mean = match params.fit_intercept {
            true => x.mean_axis(Axis(0)).unwrap_or_else(|| Array1::zeros(x.ncols())),
            false => Array1::zeros(x.ncols()),
        };
        let centered = &x - &x_mean;
        use ::linfa::prelude::*;
        let dataset = ::linfa::Dataset::new(centered, Array1::from(y.to_vec()));
        let model = ElasticNet::<f64>::params()
            .penalty(params.penalty)
            .l1_ratio(params.l1_ratio)
            .with_intercept(params.fit_intercept)
            .tolerance(params.tolerance)
            .max_iterations(params.max_iterations)
            .fit(&dataset)
            .map_err(|e| linfa_error(ELASTIC_NET, e))?;
        if model.hyperplane().iter().chain([&model.intercept()]).any(|v| !v.is_finite()) {
            return Err(ModelError::Overflow {
                model: ELASTIC_NET,
                detail: "the coefficients are not finite".into(),
            });
        }
        Ok(LinfaElasticNet { model, x_mean })
    }

    /// Adapts a model fitted with linfa as it is (`y = w . x + b`, no centering).
    pub fn from_fitted(model: ElasticNet<f64>) -> Self {
        let x_mean = Array1::zeros(model.hyperplane().len());
        LinfaElasticNet { model, x_mean }
    }

    /// The fitted linfa model (fitted on features minus [`LinfaElasticNet::x_mean`]).
    pub fn fitted(&self) -> &ElasticNet<f64> {
        &self.model
    }

    /// The coefficients `w`, one per feature.
    pub fn coef(&self) -> &Array1<f64> {
        self.model.hyperplane()
    }

    /// The intercept on the original features, `b - w . x_mean` (scikit-learn's `intercept_`).
    pub fn intercept(&self) -> f64 {
        self.model.intercept() - self.model.hyperplane().dot(&self.x_mean)
    }

    /// The feature means subtracted before the linfa model (zeros without centering).
    pub fn x_mean(&self) -> &Array1<f64> {
        &self.x_mean
    }
}

impl Regressor for LinfaElasticNet {
    fn n_features(&self) -> usize {
        self.model.hyperplane().len()
    }

    fn predict(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>, ModelError> {
        check_input(x, self.n_features())?;
        if self.x_mean.len() != self.n_features() {
            return Err(ModelError::Corrupt {
                model: ELASTIC_NET,
                detail: format!("{} feature means for {} coefficients", self.x_mean.len(), self.n_features()),
            });
        }
        Ok((&x - &self.x_mean).dot(self.model.hyperplane()) + self.model.intercept())
    }
}
