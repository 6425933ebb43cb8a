//! Explanations: how much each feature moved a prediction, by occlusion against reference rows.

use mlflow_ml::models::Outputs;
use ndarray::{Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use crate::{Scorer, ServeError};

/// Per-feature contributions to the predictions of some rows (see [`Scorer::explain`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// The features, in signature order.
    pub names: Vec<String>,
    /// Per row, the output explained: the probability of the predicted class (a classifier) or
    /// the value (a regressor).
    pub outputs: Vec<f64>,
    /// Per row, the predicted class index (a classifier; `None` for a regressor).
    pub classes: Vec<Option<usize>>,
    /// `contributions[[row, feature]]`: the output minus its mean over the reference rows with
    /// that feature set to each reference row's value.
    pub contributions: Array2<f64>,
}

impl Scorer {
    /// Explains the predictions for `rows` by occlusion: for each row and feature, the explained
    /// output (the predicted class's probability, or the value) minus its mean when the feature
    /// takes, in turn, each reference row's value, the others kept. The reference rows are the
    /// package's self-test rows (hold-out rows packaged with the model). A feature the model never
    /// reads contributes exactly 0; a feature whose value matches every reference row's, too.
    ///
    /// ```
    /// use mlflow_ml::models::{Model, ModelParams, TreeParams};
    /// use mlflow_serve::{Lineage, ModelPackage, Scorer};
    /// use ndarray::array;
    /// // Column 0 decides the class, column 1 is noise the tree never splits on.
    /// let x = array![[0.0, 7.0], [0.1, 3.0], [1.0, 5.0], [1.1, 9.0]];
    /// let model = Model::fit(x.view(), &[0, 0, 1, 1], &ModelParams::Tree(TreeParams::default()))?;
    /// let scorer = Scorer::new(ModelPackage::new("tree", model, None, &["signal", "noise"], x.view(), Lineage::default())?);
    /// let e = scorer.explain(array![[1.05, 4.0]].view())?;
    /// assert_eq!(e.classes, [Some(1)]);
    /// assert_eq!(e.contributions[[0, 1]], 0.0);
    /// assert!(e.contributions[[0, 0]] > 0.0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// Errors: those of [`Scorer::predict`] (a wrong feature count, a non-finite value).
    pub fn explain(&self, rows: ArrayView2<'_, f64>) -> Result<Explanation, ServeError> {
        let (reference, _) = self.package().self_test();
        let explained = |outputs: &Outputs, picks: &[Option<usize>]| -> Vec<f64> {
            match outputs {
                Outputs::Probabilities(p) => {
                    picks.iter().enumerate().map(|(i, k)| p[[i, k.unwrap_or(0)]]).collect()
                }
                Outputs::Values(v) => v.to_vec(),
            }
        };
        let base = self.predict(rows)?;
        let classes: Vec<Option<usize>> = match &base {
            Outputs::Probabilities(p) => {
                mlflow_ml::models::argmax_rows(p.view()).into_iter().map(Some).collect()
            }
            Outputs::Values(v) => vec![None; v.len()],
        };
        let outputs = explained(&base, &classes);
        let (n, m, r) = (rows.nrows(), rows.ncols(), reference.nrows());
        let mut contributions = Array2::zeros((n, m));
        if r == 0 {
            return Ok(Explanation { names: self.names().to_vec(), outputs, classes, contributions });
        }
        for j in 0..m {
            // Every row with feature j set to every reference row's value: n x r rows at once.
            let mut occluded = Array2::zeros((n * r, m));
            for (i, row) in rows.axis_iter(Axis(0)).enumerate() {
                for k in 0..r {
                    let mut target = occluded.row_mut(i * r + k);
                    target.assign(&row);
                    target[j] = reference[[k, j]];
                }
            }
            let picks: Vec<Option<usize>> = (0..n * r).map(|t| classes[t / r]).collect();
            let occluded_outputs = explained(&self.predict(occluded.view())?, &picks);
            for i in 0..n {
                // The mean of the differences: exactly 0 when the feature changes nothing.
                let shifts = occluded_outputs[i * r..(i + 1) * r].iter().map(|o| outputs[i] - o);
                contributions[[i, j]] = shifts.sum::<f64>() / r as f64;
            }
        }
        Ok(Explanation { names: self.names().to_vec(), outputs, classes, contributions })
    }
}
