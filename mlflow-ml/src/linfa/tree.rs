//! linfa-trees' decision tree as a [`Classifier`], with the class fractions of its leaves.

use std::collections::HashMap;

use linfa_trees::{DecisionTree, TreeNode};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

use super::{TREE, invalid, linfa_error};
use crate::models::{Classifier, ModelError, check_classes, check_input};

/// The impurity a linfa tree minimizes at each split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum SplitQuality {
    /// Gini impurity (linfa's and scikit-learn's default).
    #[default]
    Gini,
    /// Entropy (information gain).
    Entropy,
}

/// Hyperparameters of a [`LinfaTree`]; `Default` is linfa-trees' `DecisionTree::params()`.
///
/// ```
/// use mlflow_ml::linfa::LinfaTreeParams;
/// let p = LinfaTreeParams::default();
/// assert_eq!((p.max_depth, p.min_weight_split, p.min_weight_leaf), (None, 2.0, 1.0));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinfaTreeParams {
    /// The impurity measure.
    pub split_quality: SplitQuality,
    /// The deepest a leaf may be (the root is at depth 0); `None` grows until pure.
    pub max_depth: Option<usize>,
    /// The fewest rows a node needs to be split (`>= 1`).
    pub min_weight_split: f32,
    /// The fewest rows each side of a split must keep (`>= 1`).
    pub min_weight_leaf: f32,
    /// The least impurity decrease a split must bring (`>= 0`; linfa's default `1e-5`).
    pub min_impurity_decrease: f64,
}

impl Default for LinfaTreeParams {
    fn default() -> Self {
        LinfaTreeParams {
            split_quality: SplitQuality::Gini,
            max_depth: None,
            min_weight_split: 2.0,
            min_weight_leaf: 1.0,
            min_impurity_decrease: 1e-5,
        }
    }
}

/// A fitted linfa-trees `DecisionTree<f64, usize>` and the class counts of the training rows in
/// each of its leaves.
///
/// linfa keeps one class per leaf; the adapter routes the training rows through the fitted tree
/// (as linfa's `predict` does: left when the value is `<` the threshold) and records how many
/// of each class reach each leaf, so `predict_proba` gives the leaf's class fractions (as
/// scikit-learn's tree) and `predict` the first most frequent class. A tree adapted with
/// [`LinfaTree::from_fitted_one_hot`] (no training data at hand) has probability 1 for linfa's
/// class of each leaf.
///
/// ```
/// use mlflow_ml::linfa::{LinfaTree, LinfaTreeParams};
/// use mlflow_ml::models::Classifier;
/// use ndarray::array;
/// let x = array![[0.0], [0.0], [0.0], [1.0], [1.0]];
/// let depth0 = LinfaTreeParams { max_depth: Some(0), ..Default::default() };
/// let stump = LinfaTree::fit(x.view(), &[0, 1, 1, 1, 0], &depth0)?;
/// assert_eq!(stump.predict_proba(array![[0.0]].view())?, array![[0.4, 0.6]]);
/// # Ok::<(), mlflow_ml::models::ModelError>(())
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LinfaTree {
    tree: DecisionTree<f64, usize>,
    n_features: usize,
    n_classes: usize,
    /// Class counts of each leaf, leaves in depth-first order (left first).
    leaf_counts: Vec<Vec<f64>>,
}

impl PartialEq for LinfaTree {
    /// Whole trees (linfa's own `==` compares only the roots' feature indices).
    fn eq(&self, other: &Self) -> bool {
        self.n_features == other.n_features
            && self.n_classes == other.n_classes
            && self.leaf_counts == other.leaf_counts
            && same_node(self.tree.root_node(), other.tree.root_node())
    }
}

fn same_node(a: &TreeNode<f64, usize>, b: &TreeNode<f64, usize>) -> bool {
    if a.is_leaf() != b.is_leaf() || a.prediction() != b.prediction() || a.depth() != b.depth() {
        return false;
    }
    if a.is_leaf() {
        return true;
    }
    let (fa, ta, _) = a.split();
    let (fb, tb, _) = b.split();
    fa == fb
        && ta.to_bits() == tb.to_bits()
        && a.children().iter().zip(b.children()).all(|(ca, cb)| match (ca, cb) {
            (Some(ca), Some(cb)) => same_node(ca, cb),
            (None, None) => true,
            _ => false,
        })
}

impl LinfaTree {
    /// Fits a linfa-trees decision tree on class indices `0..k` (every class present, `k >= 2`)
    /// and records its leaves' class counts.
    pub fn fit(x: ArrayView2<'_, f64>, y: &[usize], params: &LinfaTreeParams) -> Result<Self, ModelError> {
        check_classes(x, y)?;
        if !(params.min_weight_split >= 1.0 && params.min_weight_split.is_finite()) {
            return Err(invalid(TREE, "min_weight_split", params.min_weight_split, "a finite number >= 1"));
        }
        if !(params.min_weight_leaf >= 1.0 && params.min_weight_leaf.is_finite()) {
            return Err(invalid(TREE, "min_weight_leaf", params.min_weight_leaf, "a finite number >= 1"));
        }
        if !(params.min_impurity_decrease >= 0.0 && params.min_impurity_decrease.is_finite()) {
            return Err(invalid(
                TREE,
                "min_impurity_decrease",
                params.min_impurity_decrease,
                "a finite number >= 0",
            ));
        }
        use ::linfa::prelude::*;
        let quality = match params.split_quality {
            SplitQuality::Gini => linfa_trees::SplitQuality::Gini,
            SplitQuality::Entropy => linfa_trees::SplitQuality::Entropy,
        };
        let dataset = ::linfa::Dataset::new(x.to_owned(), Array1::from(y.to_vec()));
        let tree = DecisionTree::<f64, usize>::params()
            .split_quality(quality)
            .max_depth(params.max_depth)
            .min_weight_split(params.min_weight_split)
            .min_weight_leaf(params.min_weight_leaf)
            .min_impurity_decrease(params.min_impurity_decrease)
            .fit(&dataset)
            .map_err(|e| linfa_error(TREE, e))?;
        Self::from_fitted(tree, x, y)
    }

    /// Adapts a tree fitted with linfa on `x` and class indices `y` (`0..k`, every class
    /// present): the rows are routed through the tree to count each leaf's classes. Pass the
    /// training data the tree was fitted on.
    ///
    /// ```
    /// use mlflow_ml::linfa::{LinfaTree, linfa::prelude::*, linfa_trees::DecisionTree};
    /// use mlflow_ml::models::Classifier;
    /// use ndarray::{array, Array1};
    /// let x = array![[0.0], [1.0], [2.0], [3.0]];
    /// let y = [0, 0, 1, 1];
    /// let tree = DecisionTree::params().fit(&Dataset::new(x.clone(), Array1::from(y.to_vec())))
    ///     .map_err(|e| e.to_string())?;
    /// let m = LinfaTree::from_fitted(tree, x.view(), &y)?;
    /// assert_eq!(m.predict(array![[2.5]].view())?.to_vec(), [1]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_fitted(
        tree: DecisionTree<f64, usize>,
        x: ArrayView2<'_, f64>,
        y: &[usize],
    ) -> Result<Self, ModelError> {
        let counts = check_classes(x, y)?;
        let n_classes = counts.len();
        let n_features = x.ncols();
        check_tree(&tree, n_features, n_classes)?;
        let leaves = Leaves::of(&tree);
        let mut leaf_counts = vec![vec![0.0; n_classes]; leaves.len()];
        for (row, &class) in x.rows().into_iter().zip(y) {
            leaf_counts[leaves.find(&tree, row)][class] += 1.0;
        }
        // A leaf no training row reaches (a tree fitted on other data) falls back on its class.
        for (counts, node) in leaf_counts.iter_mut().zip(&leaves.nodes) {
            if counts.iter().all(|&c| c == 0.0) {
                counts[leaf_class(node)] = 1.0;
            }
        }
        Ok(LinfaTree { tree, n_features, n_classes, leaf_counts })
    }

    /// Adapts a fitted tree without its training data: each leaf gives probability 1 to linfa's
    /// class for it (one-hot probabilities, so ROC and log loss see only hard decisions).
    /// `n_features` and `n_classes` are those of the training data (classes `0..n_classes`).
    ///
    /// ```
    /// use mlflow_ml::linfa::{LinfaTree, linfa::prelude::*, linfa_trees::DecisionTree};
    /// use mlflow_ml::models::Classifier;
    /// use ndarray::{array, Array1};
    /// let x = array![[0.0], [1.0], [2.0], [3.0]];
    /// let tree = DecisionTree::params().fit(&Dataset::new(x, Array1::from(vec![0usize, 0, 1, 2])))
    ///     .map_err(|e| e.to_string())?;
    /// let m = LinfaTree::from_fitted_one_hot(tree, 1, 3)?;
    /// assert_eq!(m.predict_proba(array![[3.0]].view())?, array![[0.0, 0.0, 1.0]]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_fitted_one_hot(
        tree: DecisionTree<f64, usize>,
        n_features: usize,
        n_classes: usize,
    ) -> Result<Self, ModelError> {
        if n_classes < 2 {
            return Err(invalid(TREE, "n_classes", n_classes, "at least 2"));
        }
        check_tree(&tree, n_features, n_classes)?;
        let leaves = Leaves::of(&tree);
        let leaf_counts = leaves
            .nodes
            .iter()
            .map(|node| {
                let mut counts = vec![0.0; n_classes];
                counts[leaf_class(node)] = 1.0;
                counts
            })
            .collect();
        Ok(LinfaTree { tree, n_features, n_classes, leaf_counts })
    }

    /// The fitted linfa tree.
    pub fn fitted(&self) -> &DecisionTree<f64, usize> {
        &self.tree
    }

    /// The class counts of each leaf (leaves in depth-first order, left first).
    pub fn leaf_counts(&self) -> &[Vec<f64>] {
        &self.leaf_counts
    }
}

/// The class of a leaf (always set by linfa; 0 if not).
fn leaf_class(node: &TreeNode<f64, usize>) -> usize {
    node.prediction().unwrap_or(0)
}

/// Checks a tree's splits and classes against the data's shape (a foreign tree must not make the
/// adapter index out of bounds).
fn check_tree(
    tree: &DecisionTree<f64, usize>,
    n_features: usize,
    n_classes: usize,
) -> Result<(), ModelError> {
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        if node.is_leaf() {
            if let Some(class) = node.prediction().filter(|&c| c >= n_classes) {
                return Err(ModelError::Corrupt {
                    model: TREE,
                    detail: format!("a leaf predicts class {class}, but there are {n_classes} classes"),
                });
            }
            continue;
        }
        let (feature, threshold, _) = node.split();
        if feature >= n_features || threshold.is_nan() {
            return Err(ModelError::Corrupt {
                model: TREE,
                detail: format!(
                    "a split on feature {feature} at {threshold}, but there are {n_features} features"
                ),
            });
        }
        for child in node.children() {
            match child {
                Some(child) => stack.push(child),
                None => {
                    return Err(ModelError::Corrupt {
                        model: TREE,
                        detail: "an inner node lacks a child".into(),
                    });
                }
            }
        }
    }
    Ok(())
}

/// The leaves of a tree in depth-first order, found by address.
struct Leaves<'a> {
    nodes: Vec<&'a TreeNode<f64, usize>>,
    index: HashMap<*const TreeNode<f64, usize>, usize>,
}

impl<'a> Leaves<'a> {
    fn of(tree: &'a DecisionTree<f64, usize>) -> Self {
        let mut nodes = Vec::new();
        let mut stack = vec![tree.root_node()];
        while let Some(node) = stack.pop() {
            if node.is_leaf() {
                nodes.push(node);
            } else {
                // Right pushed first, so the left subtree's leaves come first.
                for child in node.children().into_iter().rev().flatten() {
                    stack.push(child);
                }
            }
        }
        let index = nodes.iter().enumerate().map(|(i, n)| (*n as *const _, i)).collect();
        Leaves { nodes, index }
    }

    fn len(&self) -> usize {
        self.nodes.len()
    }

    /// The leaf a row reaches, as linfa's `predict` routes it.
    fn find(&self, tree: &DecisionTree<f64, usize>, row: ArrayView1<'_, f64>) -> usize {
        let mut node = tree.root_node();
        loop {
            if node.is_leaf() {
                return self.index.get(&(node as *const _)).copied().unwrap_or(0);
            }
            let (feature, threshold, _) = node.split();
            let children = node.children();
            let next = if row[feature] < threshold { children[0] } else { children[1] };
            match next {
                Some(child) => node = child,
                // Checked by `check_tree`: inner nodes have both children.
                None => return 0,
            }
        }
    }
}

impl Classifier for LinfaTree {
    fn n_features(&self) -> usize {
        self.n_features
    }

    fn n_classes(&self) -> usize {
        self.n_classes
    }

    fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>, ModelError> {
        check_input(x, self.n_features)?;
        check_tree(&self.tree, self.n_features, self.n_classes)?;
        let leaves = Leaves::of(&self.tree);
        if leaves.len() != self.leaf_counts.len()
            || self.leaf_counts.iter().any(|c| c.len() != self.n_classes)
        {
            return Err(ModelError::Corrupt {
                model: TREE,
                detail: format!(
                    "the tree has {} leaves but {} leaf class counts are recorded",
                    leaves.len(),
                    self.leaf_counts.len()
                ),
            });
        }
        let mut out = Array2::zeros((x.nrows(), self.n_classes));
        for (row, mut p) in x.rows().into_iter().zip(out.rows_mut()) {
            let counts = &self.leaf_counts[leaves.find(&self.tree, row)];
            let total: f64 = counts.iter().sum();
            for (p, c) in p.iter_mut().zip(counts) {
                *p = c / total;
            }
        }
        Ok(out)
    }
}
