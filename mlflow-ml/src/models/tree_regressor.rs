//! CART regression tree (squared error), also the building block of the regression forest.

use ndarray::{Array1, ArrayView2};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

use super::regressor::{Regressor, check_regression_training};
use super::tree_grow::{Columns, GrowConfig, SquaredError, grow, leaf_of};
use super::{ModelError, TreeParams, check_input};

pub(super) const KIND: &str = "decision tree regressor";

/// One node of a fitted regression tree, stored in a flat vector; children always come after
/// their parent.
///
/// ```
/// use mlflow_ml::models::RegressionNode;
/// let leaf = RegressionNode::Leaf { value: 151.5, weight: 4.0 };
/// assert!(matches!(leaf, RegressionNode::Leaf { .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RegressionNode {
    /// An internal node: rows with `x[feature] <= threshold` go to `left`, the others to `right`.
    Split {
        /// Feature (column) index.
        feature: usize,
        /// Threshold: midway between two consecutive distinct training values.
        threshold: f64,
        /// Index of the left child in the node vector.
        left: usize,
        /// Index of the right child in the node vector.
        right: usize,
    },
    /// A leaf: the (weighted) mean target of its training samples.
    Leaf {
        /// The predicted value.
        value: f64,
        /// Number of training samples in the leaf (bootstrap repetitions included in a forest).
        weight: f64,
    },
}

/// A fitted CART regression tree (squared error, binary splits on `x[feature] <= threshold`), as
/// scikit-learn's `DecisionTreeRegressor`.
///
/// Grown by the same code as [`DecisionTree`](super::DecisionTree), with another criterion: a split
/// minimizes the children's summed squared error around their means, and a leaf predicts the
/// mean target of its training rows. A node becomes a leaf when its targets are all equal, when it
/// is too small or too deep ([`TreeParams`], whose defaults are scikit-learn's), or when no
/// threshold separates its rows. Ties are broken as in the classification tree (first examined
/// feature, lowest threshold), so the same data and params give the same tree, byte for byte.
/// Targets are brought near 1 by an exact power-of-two change of unit while growing, so sums of
/// squares do not overflow even for targets near `f64::MAX`.
///
/// ```
/// use mlflow_ml::models::{Regressor, TreeParams, TreeRegressor};
/// use ndarray::array;
/// let x = array![[0.0], [1.0], [2.0], [3.0], [10.0], [11.0]];
/// let y = [1.0, 1.0, 2.0, 2.0, 10.0, 12.0];
/// let tree = TreeRegressor::fit(x.view(), &y, &TreeParams { max_depth: Some(1), ..Default::default() })?;
/// assert_eq!(tree.predict(array![[1.5], [10.5]].view())?.to_vec(), [1.5, 11.0]);
/// let full = TreeRegressor::fit(x.view(), &y, &TreeParams::default())?;
/// assert_eq!(full.predict(x.view())?.to_vec(), [1.0, 1.0, 2.0, 2.0, 10.0, 12.0]);
/// # Ok::<(), mlflow_ml::models::ModelError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TreeRegressor {
    n_features: usize,
    nodes: Vec<RegressionNode>,
}

impl TreeRegressor {
    /// Fits a tree on `x` (rows = samples) and targets `y` (one per row).
    ///
    /// Fails with [`ModelError::InvalidParam`] on bad params, [`ModelError::Empty`] when `x` has no
    /// rows or no columns, [`ModelError::TargetCount`] when `y` has not one value per row, and
    /// [`ModelError::NonFinite`] or [`ModelError::NonFiniteTarget`] on NaN or infinite values.
    ///
    /// ```
    /// use mlflow_ml::models::{ModelError, TreeParams, TreeRegressor};
    /// use ndarray::array;
    /// let x = array![[1.0], [2.0]];
    /// let err = TreeRegressor::fit(x.view(), &[1.0, f64::NAN], &TreeParams::default()).unwrap_err();
    /// assert!(matches!(err, ModelError::NonFiniteTarget { row: 1, .. }));
    /// ```
    pub fn fit(x: ArrayView2<'_, f64>, y: &[f64], params: &TreeParams) -> Result<Self, ModelError> {
        let config = GrowConfig::new(params, KIND, x.ncols())?;
        check_regression_training(x, y)?;
        let columns = Columns::new(x);
        let weights = vec![1.0; y.len()];
        let mut rng = StdRng::seed_from_u64(params.seed);
        let nodes = grow(&columns, &SquaredError::new(y), &weights, &config, &mut rng);
        Ok(TreeRegressor { n_features: x.ncols(), nodes })
    }

    /// A tree from its nodes (as [`grow`] gives them), for `n_features` features.
    pub(super) fn from_nodes(n_features: usize, nodes: Vec<RegressionNode>) -> Self {
        TreeRegressor { n_features, nodes }
    }

    /// The nodes, root first; children always have larger indices than their parent.
    ///
    /// ```
    /// use mlflow_ml::models::{RegressionNode, TreeParams, TreeRegressor};
    /// use ndarray::array;
    /// let tree = TreeRegressor::fit(array![[0.0], [1.0]].view(), &[3.0, 5.0], &TreeParams::default())?;
    /// assert!(matches!(tree.nodes()[0], RegressionNode::Split { feature: 0, threshold: 0.5, left: 1, right: 2 }));
    /// assert_eq!(tree.nodes()[2], RegressionNode::Leaf { value: 5.0, weight: 1.0 });
    /// # Ok::<(), mlflow_ml::models::ModelError>(())
    /// ```
    pub fn nodes(&self) -> &[RegressionNode] {
        &self.nodes
    }

    /// The number of leaves.
    ///
    /// ```
    /// use mlflow_ml::models::{TreeParams, TreeRegressor};
    /// use ndarray::array;
    /// let x = array![[0.0], [1.0], [2.0]];
    /// let tree = TreeRegressor::fit(x.view(), &[1.0, 2.0, 2.0], &TreeParams::default())?;
    /// assert_eq!(tree.n_leaves(), 2);
    /// # Ok::<(), mlflow_ml::models::ModelError>(())
    /// ```
    pub fn n_leaves(&self) -> usize {
        super::tree_grow::n_leaves(&self.nodes)
    }

    /// The depth of the deepest leaf (a single leaf has depth 0).
    ///
    /// ```
    /// use mlflow_ml::models::{TreeParams, TreeRegressor};
    /// use ndarray::array;
    /// let x = array![[0.0], [1.0], [2.0]];
    /// let tree = TreeRegressor::fit(x.view(), &[0.0, 1.0, 0.0], &TreeParams::default())?;
    /// assert_eq!(tree.depth(), 2);
    /// # Ok::<(), mlflow_ml::models::ModelError>(())
    /// ```
    pub fn depth(&self) -> usize {
        super::tree_grow::depth(&self.nodes)
    }

    /// The value of the leaf `row` (of checked length) falls in.
    pub(super) fn value(&self, row: &[f64], model: &'static str) -> Result<f64, ModelError> {
        match leaf_of(&self.nodes, row, model)? {
            RegressionNode::Leaf { value, .. } => Ok(*value),
            RegressionNode::Split { .. } => {
                Err(ModelError::Corrupt { model, detail: "a split was taken for a leaf".into() })
            }
        }
    }
}

/// `predict(row)` for every row of `x`.
pub(super) fn predict_rows(
    x: ArrayView2<'_, f64>,
    mut predict: impl FnMut(&[f64]) -> Result<f64, ModelError>,
) -> Result<Array1<f64>, ModelError> {
    let mut row = vec![0.0; x.ncols()];
    let mut out = Array1::zeros(x.nrows());
    for (o, values) in out.iter_mut().zip(x.rows()) {
        row.iter_mut().zip(values.iter()).for_each(|(r, v)| *r = *v);
        *o = predict(&row)?;
    }
    Ok(out)
}

impl Regressor for TreeRegressor {
    fn n_features(&self) -> usize {
        self.n_features
    }

    fn predict(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>, ModelError> {
        check_input(x, self.n_features)?;
        predict_rows(x, |row| self.value(row, KIND))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn equal_targets_make_a_leaf_and_min_samples_leaf_holds() {
        let x = array![[0.0], [1.0], [2.0], [3.0], [4.0]];
        let t = TreeRegressor::fit(x.view(), &[2.0; 5], &TreeParams::default()).unwrap();
        assert_eq!(t.nodes, vec![RegressionNode::Leaf { value: 2.0, weight: 5.0 }]);
        let p = TreeParams { min_samples_leaf: 2, ..Default::default() };
        let t = TreeRegressor::fit(x.view(), &[0.0, 10.0, 0.0, 0.0, 0.0], &p).unwrap();
        for n in t.nodes() {
            if let RegressionNode::Leaf { weight, .. } = n {
                assert!(*weight >= 2.0);
            }
        }
    }

    #[test]
    fn the_split_minimizes_squared_error() {
        // Splitting after the third row leaves errors only on the right (8 vs 9, 10): the best.
        let x = array![[0.0], [1.0], [2.0], [3.0], [4.0], [5.0]];
        let y = [1.0, 1.0, 1.0, 8.0, 9.0, 10.0];
        let t = TreeRegressor::fit(x.view(), &y, &TreeParams { max_depth: Some(1), ..Default::default() })
            .unwrap();
        assert!(matches!(t.nodes[0], RegressionNode::Split { threshold: 2.5, .. }));
        assert_eq!(t.predict(array![[0.0], [5.0]].view()).unwrap().to_vec(), [1.0, 9.0]);
    }

    #[test]
    fn corrupt_tree_is_an_error() {
        let t = TreeRegressor {
            n_features: 1,
            nodes: vec![RegressionNode::Split { feature: 3, threshold: 0.0, left: 1, right: 2 }],
        };
        assert!(matches!(t.predict(array![[1.0]].view()), Err(ModelError::Corrupt { .. })));
    }
}
