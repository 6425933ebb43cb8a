//! Self-tested models: a fitted model saved with a few input rows and the probabilities it gave
//! for them, re-checked whenever it is loaded.

use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use super::{Classifier, Model, ModelError, Outputs};
use crate::features::{FeatureMatrix, FittedMatrixScaler};

/// How far a reproduced probability may drift from the recorded one (floating-point noise only:
/// the same code on the same rows gives the same bits).
pub const SELF_TEST_TOLERANCE: f64 = 1e-9;

/// A fitted model with its input scaler (if any) and self-test rows with their expected
/// probabilities. [`SelfTestedModel::from_bytes`] refuses a model that no longer reproduces them.
///
/// ```
/// use mlflow_ml::models::{Classifier, Model, ModelParams, NaiveBayesParams, SelfTestedModel};
/// use ndarray::array;
/// let x = array![[0.0], [0.2], [2.0], [2.2]];
/// let model = Model::fit(x.view(), &[0, 0, 1, 1], &ModelParams::NaiveBayes(NaiveBayesParams::default()))?;
/// let checked = SelfTestedModel::new("nb", model, None, x.view())?;
/// let bytes = checked.to_bytes()?;
/// let loaded = SelfTestedModel::from_bytes(&bytes)?;
/// assert_eq!(loaded.predict(array![[2.1]].view())?.to_vec(), [1]);
/// # Ok::<(), mlflow_ml::models::ModelError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelfTestedModel {
    name: String,
    model: Model,
    scaler: Option<FittedMatrixScaler>,
    rows: Array2<f64>,
    expected: Vec<f64>,
}

impl SelfTestedModel {
    /// Wraps a model, recording its probabilities for `rows` (raw features, before the scaler).
    pub fn new(
        name: impl Into<String>,
        model: Model,
        scaler: Option<FittedMatrixScaler>,
        rows: ArrayView2<'_, f64>,
    ) -> Result<SelfTestedModel, ModelError> {
        let mut checked =
            SelfTestedModel { name: name.into(), model, scaler, rows: rows.to_owned(), expected: Vec::new() };
        checked.expected = checked.recorded_probabilities(rows)?;
        Ok(checked)
    }

    /// The name the model was packaged under.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The standardization applied before the model, if any.
    pub fn scaler(&self) -> Option<&FittedMatrixScaler> {
        self.scaler.as_ref()
    }

    /// The self-test rows and their expected probabilities.
    pub fn self_test(&self) -> (ArrayView2<'_, f64>, &[f64]) {
        (self.rows.view(), &self.expected)
    }

    /// Re-scores the self-test rows; an error names the first row that differs.
    pub fn verify(&self) -> Result<(), ModelError> {
        let got = self.recorded_probabilities(self.rows.view())?;
        if got.len() != self.expected.len() {
            return Err(ModelError::Corrupt {
                model: self.model.kind(),
                detail: format!(
                    "{} self-test probabilities are recorded but the model gives {}",
                    self.expected.len(),
                    got.len()
                ),
            });
        }
        let per_row = self.expected.len() / self.rows.nrows().max(1);
        for (at, (&want, &got)) in self.expected.iter().zip(got.iter()).enumerate() {
            if (want - got).abs() > SELF_TEST_TOLERANCE || !got.is_finite() {
                let row = at / per_row.max(1);
                return Err(ModelError::SelfTest { model: self.name.clone(), row, expected: want, got });
            }
        }
        Ok(())
    }

    /// What the self-test records ([`Outputs::recorded`]): P(class 1) per row for a binary
    /// model (the format of packages from before multiclass models, which still load), else every
    /// class's probability, row by row.
    fn recorded_probabilities(&self, rows: ArrayView2<'_, f64>) -> Result<Vec<f64>, ModelError> {
        Ok(Outputs::Probabilities(self.predict_proba(rows)?).recorded())
    }

    /// Encodes the model with the library's artifact codec.
    pub fn to_bytes(&self) -> Result<Vec<u8>, ModelError> {
        mlflow_core::codec::encode(self).map_err(|e| ModelError::Encoding(e.to_string()))
    }

    /// Decodes a model and runs its self-test: a model that does not reproduce its recorded
    /// probabilities is refused.
    pub fn from_bytes(bytes: &[u8]) -> Result<SelfTestedModel, ModelError> {
        let model: SelfTestedModel =
            mlflow_core::codec::decode(bytes, mlflow_core::codec::DEFAULT_DECODE_LIMIT)
                .map_err(|e| ModelError::Encoding(e.to_string()))?;
        model.verify()?;
        Ok(model)
    }
}

impl Classifier for SelfTestedModel {
    fn n_features(&self) -> usize {
        self.model.n_features()
    }

    fn n_classes(&self) -> usize {
        self.model.n_classes()
    }

    fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>, ModelError> {
        match &self.scaler {
            None => self.model.predict_proba(x),
            Some(scaler) => {
                let matrix = FeatureMatrix { names: scaler.names().to_vec(), x: x.to_owned() };
                let scaled = scaler.transform(&matrix).map_err(|e| ModelError::Scaling(e.to_string()))?;
                self.model.predict_proba(scaled.x.view())
            }
        }
    }
}
