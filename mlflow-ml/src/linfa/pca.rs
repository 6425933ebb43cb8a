//! linfa-reduction's PCA as a fitted feature transformer.

use linfa_reduction::Pca;
use ndarray::{Array1, Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use super::{FittedTransformer, PCA, check_training, invalid, linfa_error};
use crate::models::{ModelError, check_input};

/// Hyperparameters of a [`LinfaPca`].
///
/// ```
/// use mlflow_ml::linfa::LinfaPcaParams;
/// let p = LinfaPcaParams::new(2);
/// assert_eq!((p.n_components, p.whiten), (2, false));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinfaPcaParams {
    /// The number of components kept (`1..=min(rows, features)`).
    pub n_components: usize,
    /// Scale each component to unit variance (scikit-learn's `whiten=True`).
    pub whiten: bool,
}

impl LinfaPcaParams {
    /// `n_components` components, not whitened.
    pub fn new(n_components: usize) -> Self {
        LinfaPcaParams { n_components, whiten: false }
    }
}

/// A fitted linfa-reduction `Pca<f64>` as a feature transformer: `(x - mean) . components^T`,
/// output columns `pca_0`, `pca_1`, ...
///
/// linfa's components come from an iteratively computed truncated SVD whose signs are arbitrary;
/// the adapter flips each component (and its output column) so that the component's
/// largest-magnitude loading is positive, scikit-learn's convention, so the output does not flip
/// sign between linfa versions or starts. [`LinfaPca::explained_variance`] is scikit-learn's
/// (`sigma^2 / (n_samples - 1)`; linfa's own divides by the number of components minus one).
///
/// ```
/// use mlflow_ml::linfa::{FittedTransformer, LinfaPca, LinfaPcaParams};
/// use ndarray::array;
/// let x = array![[-1.0, -1.0], [1.0, 1.0], [2.0, 2.0], [-2.0, -2.0]];
/// let pca = LinfaPca::fit(x.view(), &LinfaPcaParams::new(1))?;
/// let c = pca.components();
/// assert!((c[[0, 0]] - 0.5f64.sqrt()).abs() < 1e-9 && (c[[0, 1]] - 0.5f64.sqrt()).abs() < 1e-9);
/// let out = pca.transform(array![[1.0, 1.0]].view())?;
/// assert!((out[[0, 0]] - 2f64.sqrt()).abs() < 1e-9);
/// # Ok::<(), mlflow_ml::models::ModelError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinfaPca {
    model: Pca<f64>,
    /// `+1` or `-1` per component: the sign flip applied to linfa's component.
    signs: Vec<f64>,
    /// Rows it was fitted on (for the explained variance); 0 when unknown.
    n_samples: usize,
    prefix: String,
}

impl LinfaPca {
    /// Fits linfa's PCA on finite `x`.
    pub fn fit(x: ArrayView2<'_, f64>, params: &LinfaPcaParams) -> Result<Self, ModelError> {
        check_training(x)?;
        let limit = x.nrows().min(x.ncols());
        if params.n_components == 0 || params.n_components > limit {
            return Err(invalid(
                PCA,
                "n_components",
                params.n_components,
                "between 1 and min(rows, features)",
            ));
        }
        use ::linfa::prelude::*;
        let dataset = ::linfa::DatasetBase::from(x.to_owned());
        let model = Pca::params(params.n_components)
            .whiten(params.whiten)
            .fit(&dataset)
            .map_err(|e| linfa_error(PCA, e))?;
        let mut pca = Self::from_fitted(model)?;
        pca.n_samples = x.nrows();
        Ok(pca)
    }

    /// Adapts a PCA fitted with linfa (its explained variance then unknown: NaN).
    ///
    /// ```
    /// use mlflow_ml::linfa::{FittedTransformer, LinfaPca, linfa::prelude::*, linfa_reduction::Pca};
    /// use ndarray::array;
    /// let x = array![[0.0, 0.0], [1.0, 2.0], [2.0, 4.1], [3.0, 5.9]];
    /// let fitted = Pca::params(1).fit(&DatasetBase::from(x.clone())).map_err(|e| e.to_string())?;
    /// let pca = LinfaPca::from_fitted(fitted)?;
    /// assert_eq!(pca.transform(x.view())?.ncols(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_fitted(model: Pca<f64>) -> Result<Self, ModelError> {
        let c = model.components();
        if c.nrows() == 0 || c.ncols() != model.mean().len() || c.iter().any(|v| !v.is_finite()) {
            return Err(ModelError::Corrupt {
                model: PCA,
                detail: format!(
                    "{} x {} components for {} feature means",
                    c.nrows(),
                    c.ncols(),
                    model.mean().len()
                ),
            });
        }
        let signs = c
            .rows()
            .into_iter()
            .map(|row| {
                let mut largest = 0.0f64;
                for &v in row {
                    if v.abs() > largest.abs() {
                        largest = v;
                    }
                }
                if largest < 0.0 { -1.0 } else { 1.0 }
            })
            .collect();
        Ok(LinfaPca { model, signs, n_samples: 0, prefix: "pca".into() })
    }

    /// The same model with output columns named `{prefix}_0`, `{prefix}_1`, ...
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The fitted linfa model (its components' signs are linfa's).
    pub fn fitted(&self) -> &Pca<f64> {
        &self.model
    }

    /// The number of components.
    pub fn n_components(&self) -> usize {
        self.signs.len()
    }

    /// The components, one row each, with the adapter's signs (largest-magnitude loading
    /// positive); scaled when whitened, as linfa stores them.
    pub fn components(&self) -> Array2<f64> {
        let mut c = self.model.components().clone();
        for (mut row, s) in c.rows_mut().into_iter().zip(&self.signs) {
            row *= *s;
        }
        c
    }

    /// The feature means subtracted first.
    pub fn mean(&self) -> &Array1<f64> {
        self.model.mean()
    }

    /// The variance along each component, `sigma^2 / (n_samples - 1)` (scikit-learn's
    /// `explained_variance_`); NaN for a model adapted by [`LinfaPca::from_fitted`] (whose number
    /// of training rows is unknown).
    pub fn explained_variance(&self) -> Array1<f64> {
        let n = self.n_samples as f64;
        self.model.singular_values().mapv(|s| if self.n_samples > 1 { s * s / (n - 1.0) } else { f64::NAN })
    }
}

impl FittedTransformer for LinfaPca {
    fn n_features(&self) -> usize {
        self.model.mean().len()
    }

    fn output_names(&self) -> Vec<String> {
        (0..self.n_components()).map(|i| format!("{}_{i}", self.prefix)).collect()
    }

    fn transform(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>, ModelError> {
        check_input(x, self.n_features())?;
        let c = self.components();
        if c.nrows() != self.signs.len() || c.ncols() != self.n_features() {
            return Err(ModelError::Corrupt {
                model: PCA,
                detail: "components and signs do not match".into(),
            });
        }
        Ok((&x - self.model.mean()).dot(&c.t()))
    }
}
