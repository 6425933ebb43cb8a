//! CART classification tree (gini impurity over any number of classes), also the building block
//! of the random forest; the parameters shared with the regression trees.

use ndarray::{Array2, ArrayView2};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

use super::tree_grow::{Columns, Gini, GrowConfig, grow, leaf_of};
use super::{Classifier, ModelError, check_classes, check_input, invalid};

pub(super) const KIND: &str = "decision tree";

/// How many features a split looks at.
///
/// Features are drawn without replacement in a seeded random order, and every drawn feature
/// counts, even one that is constant within the node. If none of the drawn features gives a valid
/// split the search goes on with further features (as scikit-learn does), so a split is found
/// whenever one exists.
///
/// ```
/// use mlflow_ml::models::MaxFeatures;
/// assert_eq!(MaxFeatures::Sqrt.resolve(13), 3);
/// assert_eq!(MaxFeatures::All.resolve(13), 13);
/// assert_eq!(MaxFeatures::Fraction(0.5).resolve(13), 6);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum MaxFeatures {
    /// Every feature (the decision tree's default).
    All,
    /// `max(1, floor(sqrt(n_features)))` (the random forest's default).
    Sqrt,
    /// `max(1, floor(log2(n_features)))`.
    Log2,
    /// A fixed number, at most `n_features`; must be at least 1.
    Count(usize),
    /// `max(1, floor(fraction * n_features))`; the fraction must be in `(0, 1]`.
    Fraction(f64),
}

impl MaxFeatures {
    /// The number of features per split for `n_features` features (between 1 and `n_features`).
    ///
    /// ```
    /// use mlflow_ml::models::MaxFeatures;
    /// assert_eq!(MaxFeatures::Log2.resolve(8), 3);
    /// assert_eq!(MaxFeatures::Count(20).resolve(8), 8);
    /// ```
    pub fn resolve(&self, n_features: usize) -> usize {
        let n = match *self {
            MaxFeatures::All => n_features,
            MaxFeatures::Sqrt => (n_features as f64).sqrt().floor() as usize,
            MaxFeatures::Log2 => (n_features as f64).log2().floor() as usize,
            MaxFeatures::Count(k) => k,
            MaxFeatures::Fraction(f) => (f * n_features as f64).floor() as usize,
        };
        n.clamp(1, n_features.max(1))
    }

    pub(super) fn check(&self, model: &'static str) -> Result<(), ModelError> {
        match *self {
            MaxFeatures::Count(0) => {
                Err(invalid(model, "max_features", "Count(0)", "a count of at least 1 feature"))
            }
            MaxFeatures::Fraction(f) if !(f > 0.0 && f <= 1.0) => {
                Err(invalid(model, "max_features", format!("Fraction({f})"), "a fraction in (0, 1]"))
            }
            _ => Ok(()),
        }
    }
}

/// Hyperparameters of a [`DecisionTree`] or a [`TreeRegressor`](super::TreeRegressor); `Default`
/// is scikit-learn's `DecisionTreeClassifier()`, which is also its `DecisionTreeRegressor()` (fully
/// grown, every feature examined, `min_samples_split = 2`, `min_samples_leaf = 1`).
///
/// ```
/// use mlflow_ml::models::{MaxFeatures, TreeParams};
/// let p = TreeParams { max_depth: Some(5), ..Default::default() };
/// assert_eq!(p.min_samples_split, 2);
/// assert_eq!(p.max_features, MaxFeatures::All);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TreeParams {
    /// Maximum depth (the root is depth 0); `None` grows until leaves are pure or too small.
    pub max_depth: Option<usize>,
    /// A node with fewer samples than this is not split (at least 2).
    pub min_samples_split: usize,
    /// Each child of a split must keep at least this many samples (at least 1).
    pub min_samples_leaf: usize,
    /// Features examined per split.
    pub max_features: MaxFeatures,
    /// Seed of the random order in which features are examined when `max_features` is below the
    /// feature count (it then decides which features a split sees). With every feature examined
    /// they are taken in column order and the seed plays no part.
    pub seed: u64,
}

impl Default for TreeParams {
    fn default() -> Self {
        TreeParams {
            max_depth: None,
            min_samples_split: 2,
            min_samples_leaf: 1,
            max_features: MaxFeatures::All,
            seed: 0,
        }
    }
}

/// One node of a fitted classification tree, stored in a flat vector; children always come after
/// their parent.
///
/// A binary tree's leaves are [`TreeNode::Leaf`] (P(class 1)), a tree of three or more classes'
/// are [`TreeNode::Classes`] (one fraction per class); binary trees fitted before multiclass
/// trees existed are [`TreeNode::Leaf`] too, and load unchanged.
///
/// ```
/// use mlflow_ml::models::TreeNode;
/// let leaf = TreeNode::Leaf { p1: 0.25, weight: 4.0 };
/// assert!(matches!(leaf, TreeNode::Leaf { .. }));
/// let leaf = TreeNode::Classes { proba: vec![0.5, 0.25, 0.25], weight: 4.0 };
/// assert!(matches!(leaf, TreeNode::Classes { .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TreeNode {
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
    /// A leaf of a binary tree: the fraction of its training samples that are class 1.
    Leaf {
        /// P(class 1) in this leaf.
        p1: f64,
        /// Number of training samples in the leaf (bootstrap repetitions included in a forest).
        weight: f64,
    },
    /// A leaf of a tree of three or more classes: the fraction of its training samples in each
    /// class.
    Classes {
        /// P(class c) in this leaf, for every class `c` (zero for a class absent from the leaf,
        /// or from a forest tree's whole bootstrap sample).
        proba: Vec<f64>,
        /// Number of training samples in the leaf (bootstrap repetitions included in a forest).
        weight: f64,
    },
}

/// A fitted CART classification tree (gini impurity over `k` classes, binary splits on
/// `x[feature] <= threshold`), as scikit-learn's `DecisionTreeClassifier`.
///
/// Labels are class indices `0..k` with every class present (the training rows of each class
/// are counted, and a skipped index is [`ModelError::MissingClass`]). Each feature's rows are
/// sorted once per fit and kept in order as nodes split; a split search scans every threshold
/// between consecutive distinct values of each examined feature and keeps the one of least
/// weighted gini impurity `sum_children w (1 - sum_c p_c^2)`. A node becomes a leaf when it holds
/// a single class, when it is too small or too deep, or when no threshold separates its rows.
/// Ties are broken deterministically: among equally good splits the first examined feature wins
/// (the lowest column index when all features are examined), and within a feature the lowest
/// threshold. So the same data and params give the same tree, byte for byte.
/// [`Classifier::predict_proba`] gives the class fractions of the leaf a row falls in
/// (scikit-learn's way), and [`Classifier::predict`] the most frequent class of that leaf (the
/// lowest class index on a tie).
///
/// ```
/// use mlflow_ml::models::{Classifier, DecisionTree, TreeParams};
/// use ndarray::array;
/// let x = array![[1.0, 5.0], [2.0, 5.0], [3.0, 1.0], [4.0, 1.0]];
/// let tree = DecisionTree::fit(x.view(), &[0, 0, 1, 1], &TreeParams::default())?;
/// assert_eq!((tree.depth(), tree.n_classes()), (1, 2));
/// assert_eq!(tree.predict_positive(array![[3.5, 1.0]].view())?.to_vec(), [1.0]);
/// // Three classes.
/// let x = array![[0.0], [1.0], [2.0], [3.0], [4.0], [5.0]];
/// let tree = DecisionTree::fit(x.view(), &[0, 0, 1, 1, 2, 2], &TreeParams::default())?;
/// assert_eq!(tree.n_classes(), 3);
/// assert_eq!(tree.predict(array![[0.2], [2.6], [4.9]].view())?.to_vec(), [0, 1, 2]);
/// assert_eq!(tree.predict_proba(array![[4.9]].view())?.row(0).to_vec(), [0.0, 0.0, 1.0]);
/// # Ok::<(), mlflow_ml::models::ModelError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionTree {
    n_features: usize,
    nodes: Vec<TreeNode>,
}

impl DecisionTree {
    /// Fits a tree on `x` (rows = samples) and class indices `y` (`0..k`, every class present,
    /// `k >= 2`).
    ///
    /// Fails with [`ModelError::InvalidParam`] on bad params, and on bad data as
    /// [`Classifier`] models do: [`ModelError::Empty`], [`ModelError::LengthMismatch`],
    /// [`ModelError::NonFinite`], [`ModelError::MissingClass`] (a class index with no rows) and
    /// [`ModelError::SingleClass`].
    ///
    /// ```
    /// use mlflow_ml::models::{DecisionTree, ModelError, TreeParams};
    /// use ndarray::array;
    /// let x = array![[1.0], [2.0]];
    /// let bad = TreeParams { min_samples_leaf: 0, ..Default::default() };
    /// assert!(matches!(DecisionTree::fit(x.view(), &[0, 1], &bad), Err(ModelError::InvalidParam { .. })));
    /// let err = DecisionTree::fit(x.view(), &[0, 2], &TreeParams::default()).unwrap_err();
    /// assert_eq!(err, ModelError::MissingClass { class: 1, classes: 3 });
    /// ```
    pub fn fit(x: ArrayView2<'_, f64>, y: &[usize], params: &TreeParams) -> Result<Self, ModelError> {
        let config = GrowConfig::new(params, KIND, x.ncols())?;
        let counts = check_classes(x, y)?;
        let columns = Columns::new(x);
        let weights = vec![1.0; y.len()];
        let mut rng = StdRng::seed_from_u64(params.seed);
        let gini = Gini { y, classes: counts.len() };
        Ok(DecisionTree { n_features: x.ncols(), nodes: grow(&columns, &gini, &weights, &config, &mut rng) })
    }

    /// A tree from its nodes (as [`grow`] gives them), for `n_features` features.
    pub(super) fn from_nodes(n_features: usize, nodes: Vec<TreeNode>) -> Self {
        DecisionTree { n_features, nodes }
    }

    /// The nodes, root first; children always have larger indices than their parent.
    ///
    /// ```
    /// use mlflow_ml::models::{DecisionTree, TreeNode, TreeParams};
    /// use ndarray::array;
    /// let tree = DecisionTree::fit(array![[0.0], [1.0]].view(), &[0, 1], &TreeParams::default())?;
    /// assert!(matches!(tree.nodes()[0], TreeNode::Split { feature: 0, threshold: 0.5, left: 1, right: 2 }));
    /// # Ok::<(), mlflow_ml::models::ModelError>(())
    /// ```
    pub fn nodes(&self) -> &[TreeNode] {
        &self.nodes
    }

    /// The number of leaves.
    ///
    /// ```
    /// use mlflow_ml::models::{DecisionTree, TreeParams};
    /// use ndarray::array;
    /// let tree = DecisionTree::fit(array![[0.0], [1.0], [2.0]].view(), &[0, 1, 0], &TreeParams::default())?;
    /// assert_eq!(tree.n_leaves(), 3);
    /// # Ok::<(), mlflow_ml::models::ModelError>(())
    /// ```
    pub fn n_leaves(&self) -> usize {
        super::tree_grow::n_leaves(&self.nodes)
    }

    /// The depth of the deepest leaf (a single leaf has depth 0).
    ///
    /// ```
    /// use mlflow_ml::models::{DecisionTree, TreeParams};
    /// use ndarray::array;
    /// let p = TreeParams { max_depth: Some(1), ..Default::default() };
    /// let tree = DecisionTree::fit(array![[0.0], [1.0], [2.0]].view(), &[0, 1, 0], &p)?;
    /// assert_eq!(tree.depth(), 1);
    /// # Ok::<(), mlflow_ml::models::ModelError>(())
    /// ```
    pub fn depth(&self) -> usize {
        super::tree_grow::depth(&self.nodes)
    }

    /// Adds the class fractions of the leaf `row` (of checked length) falls in to `sums` (one
    /// entry per class); a binary leaf adds P(class 1) to `sums[1]` only.
    pub(super) fn add_leaf_proba(
        &self,
        row: &[f64],
        sums: &mut [f64],
        model: &'static str,
    ) -> Result<(), ModelError> {
        let mismatch = |found: usize| ModelError::Corrupt {
            model,
            detail: format!(
                "a leaf has {found} class probabilities where the model has {} classes",
                sums.len()
            ),
        };
        match leaf_of(&self.nodes, row, model)? {
            TreeNode::Leaf { p1, .. } => {
                if sums.len() != 2 {
                    return Err(mismatch(2));
                }
                sums[1] += p1;
            }
            TreeNode::Classes { proba, .. } => {
                if proba.len() != sums.len() {
                    return Err(mismatch(proba.len()));
                }
                sums.iter_mut().zip(proba).for_each(|(s, p)| *s += p);
            }
            TreeNode::Split { .. } => {
                return Err(ModelError::Corrupt { model, detail: "a split was taken for a leaf".into() });
            }
        }
        Ok(())
    }
}

/// Class probabilities of every row of `x`, from the sums of `per_row` leaf fractions over
/// `count` trees: the means, and for two classes `[1 - p, p]` with `p` the mean P(class 1).
pub(super) fn mean_proba(
    x: ArrayView2<'_, f64>,
    classes: usize,
    count: usize,
    mut per_row: impl FnMut(&[f64], &mut [f64]) -> Result<(), ModelError>,
) -> Result<Array2<f64>, ModelError> {
    let mut row = vec![0.0; x.ncols()];
    let mut sums = vec![0.0; classes];
    let mut out = Array2::zeros((x.nrows(), classes));
    for (mut o, values) in out.rows_mut().into_iter().zip(x.rows()) {
        row.iter_mut().zip(values.iter()).for_each(|(r, v)| *r = *v);
        sums.iter_mut().for_each(|s| *s = 0.0);
        per_row(&row, &mut sums)?;
        if classes == 2 {
            let p = sums[1] / count as f64;
            o[0] = 1.0 - p;
            o[1] = p;
        } else {
            o.iter_mut().zip(&sums).for_each(|(o, s)| *o = s / count as f64);
        }
    }
    Ok(out)
}

impl Classifier for DecisionTree {
    fn n_features(&self) -> usize {
        self.n_features
    }

    /// The number of classes, read from the leaves: 2 for a binary tree.
    fn n_classes(&self) -> usize {
        self.nodes
            .iter()
            .find_map(|n| match n {
                TreeNode::Classes { proba, .. } => Some(proba.len()),
                TreeNode::Leaf { .. } => Some(2),
                TreeNode::Split { .. } => None,
            })
            .unwrap_or(2)
    }

    fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>, ModelError> {
        check_input(x, self.n_features)?;
        mean_proba(x, self.n_classes(), 1, |row, sums| self.add_leaf_proba(row, sums, KIND))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn pure_data_gives_a_stump() {
        let x = array![[0.0, 1.0], [0.0, 2.0], [1.0, 1.0], [1.0, 2.0]];
        let t = DecisionTree::fit(x.view(), &[0, 0, 1, 1], &TreeParams::default()).unwrap();
        assert_eq!(t.nodes.len(), 3);
        assert!(matches!(t.nodes[0], TreeNode::Split { feature: 0, threshold: 0.5, .. }));
    }

    #[test]
    fn min_samples_leaf_is_respected() {
        let x = array![[0.0], [1.0], [2.0], [3.0], [4.0]];
        let p = TreeParams { min_samples_leaf: 2, ..Default::default() };
        let t = DecisionTree::fit(x.view(), &[1, 0, 0, 0, 0], &p).unwrap();
        for n in t.nodes() {
            if let TreeNode::Leaf { weight, .. } = n {
                assert!(*weight >= 2.0);
            }
        }
    }

    #[test]
    fn identical_rows_with_both_labels_make_a_mixed_leaf() {
        let x = array![[1.0], [1.0], [1.0]];
        let t = DecisionTree::fit(x.view(), &[0, 1, 1], &TreeParams::default()).unwrap();
        assert_eq!(t.nodes, vec![TreeNode::Leaf { p1: 2.0 / 3.0, weight: 3.0 }]);
    }

    #[test]
    fn corrupt_tree_is_an_error() {
        let t = DecisionTree {
            n_features: 1,
            nodes: vec![TreeNode::Split { feature: 0, threshold: 0.0, left: 0, right: 0 }],
        };
        assert!(matches!(t.predict_positive(array![[1.0]].view()), Err(ModelError::Corrupt { .. })));
    }

    #[test]
    fn three_classes_get_class_fraction_leaves() {
        let x = array![[0.0], [1.0], [2.0], [3.0], [4.0], [4.0]];
        let t = DecisionTree::fit(x.view(), &[0, 0, 1, 1, 2, 1], &TreeParams::default()).unwrap();
        assert_eq!(t.n_classes(), 3);
        assert!(t.nodes().iter().all(|n| !matches!(n, TreeNode::Leaf { .. })));
        // The two rows at 4.0 cannot be separated: a mixed leaf, half class 1, half class 2.
        let p = t.predict_proba(array![[4.0], [0.5]].view()).unwrap();
        assert_eq!(p.row(0).to_vec(), [0.0, 0.5, 0.5]);
        assert_eq!(p.row(1).to_vec(), [1.0, 0.0, 0.0]);
        // A tie goes to the lower class index.
        assert_eq!(t.predict(array![[4.0]].view()).unwrap().to_vec(), [1]);
        assert_eq!(t.predict_positive(array![[4.0]].view()), Err(ModelError::NotBinary { classes: 3 }));
    }

    #[test]
    fn inconsistent_leaves_are_an_error() {
        let t = DecisionTree {
            n_features: 1,
            nodes: vec![
                TreeNode::Split { feature: 0, threshold: 0.0, left: 1, right: 2 },
                TreeNode::Classes { proba: vec![0.5, 0.25, 0.25], weight: 4.0 },
                TreeNode::Classes { proba: vec![0.5, 0.5], weight: 2.0 },
            ],
        };
        assert_eq!(t.predict_proba(array![[-1.0]].view()).unwrap().ncols(), 3);
        assert!(matches!(t.predict_proba(array![[1.0]].view()), Err(ModelError::Corrupt { .. })));
    }
}
