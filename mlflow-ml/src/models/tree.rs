//! CART decision tree (gini impurity), also the building block of the random forest.

use ndarray::{Array1, Array2, ArrayView2};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::{Classifier, ModelError, check_input, check_training, invalid};

pub(super) const KIND: &str = "decision tree";

/// Values closer than this are treated as equal when searching thresholds (as scikit-learn does).
const FEATURE_THRESHOLD: f64 = 1e-7;

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

    fn check(&self, model: &'static str) -> Result<(), ModelError> {
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

/// Hyperparameters of a [`DecisionTree`]; `Default` is scikit-learn's `DecisionTreeClassifier()`.
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

/// One node of a fitted tree, stored in a flat vector; children always come after their parent.
///
/// ```
/// use mlflow_ml::models::TreeNode;
/// let leaf = TreeNode::Leaf { p1: 0.25, weight: 4.0 };
/// assert!(matches!(leaf, TreeNode::Leaf { .. }));
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
    /// A leaf: the fraction of its training samples that are class 1.
    Leaf {
        /// P(class 1) in this leaf.
        p1: f64,
        /// Number of training samples in the leaf (bootstrap repetitions included in a forest).
        weight: f64,
    },
}

/// A fitted CART classification tree (gini impurity, binary splits on `x[feature] <= threshold`).
///
/// Each feature's rows are sorted once per fit and kept in order as nodes split; a split search
/// scans every threshold between consecutive distinct values of each examined feature. Ties are
/// broken deterministically: among equally good splits the first examined feature wins (the
/// lowest column index when all features are examined), and within a feature the lowest
/// threshold. So the same data and params give the same tree, byte for byte. `predict_proba` is the class-1 fraction of
/// the leaf a row falls in (scikit-learn's way).
///
/// ```
/// use mlflow_ml::models::{Classifier, DecisionTree, TreeParams};
/// use ndarray::array;
/// let x = array![[1.0, 5.0], [2.0, 5.0], [3.0, 1.0], [4.0, 1.0]];
/// let tree = DecisionTree::fit(x.view(), &[0, 0, 1, 1], &TreeParams::default())?;
/// assert_eq!(tree.depth(), 1);
/// assert_eq!(tree.predict_positive(array![[3.5, 1.0]].view())?.to_vec(), [1.0]);
/// # Ok::<(), mlflow_ml::models::ModelError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionTree {
    n_features: usize,
    nodes: Vec<TreeNode>,
}

impl DecisionTree {
    /// Fits a tree on `x` (rows = samples) and 0/1 labels `y`.
    ///
    /// ```
    /// use mlflow_ml::models::{DecisionTree, ModelError, TreeParams};
    /// use ndarray::array;
    /// let x = array![[1.0], [2.0]];
    /// let bad = TreeParams { min_samples_leaf: 0, ..Default::default() };
    /// assert!(matches!(DecisionTree::fit(x.view(), &[0, 1], &bad), Err(ModelError::InvalidParam { .. })));
    /// ```
    pub fn fit(x: ArrayView2<'_, f64>, y: &[usize], params: &TreeParams) -> Result<Self, ModelError> {
        let config = GrowConfig::new(params, KIND, x.ncols())?;
        check_training(x, y)?;
        let columns = Columns::new(x);
        let weights = vec![1.0; y.len()];
        let mut rng = StdRng::seed_from_u64(params.seed);
        Ok(grow(&columns, y, &weights, &config, &mut rng))
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
        self.nodes.iter().filter(|n| matches!(n, TreeNode::Leaf { .. })).count()
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
        let mut depth = vec![0usize; self.nodes.len()];
        let mut max = 0;
        for (i, node) in self.nodes.iter().enumerate() {
            if let TreeNode::Split { left, right, .. } = *node {
                let below = depth[i] + 1;
                for child in [left, right] {
                    if let Some(d) = depth.get_mut(child) {
                        *d = below;
                        max = max.max(below);
                    }
                }
            }
        }
        max
    }

    /// P(class 1) for one row whose length has been checked.
    pub(super) fn proba_row(&self, row: &[f64], model: &'static str) -> Result<f64, ModelError> {
        let mut i = 0;
        loop {
            match self.nodes.get(i) {
                Some(TreeNode::Leaf { p1, .. }) => return Ok(*p1),
                Some(&TreeNode::Split { feature, threshold, left, right }) => {
                    let value = row.get(feature).ok_or_else(|| ModelError::Corrupt {
                        model,
                        detail: format!("node {i} splits on feature {feature} of {}", row.len()),
                    })?;
                    let next = if *value <= threshold { left } else { right };
                    if next <= i {
                        return Err(ModelError::Corrupt {
                            model,
                            detail: format!("node {i} points back to node {next}"),
                        });
                    }
                    i = next;
                }
                None => {
                    return Err(ModelError::Corrupt {
                        model,
                        detail: format!("node {i} missing ({} nodes)", self.nodes.len()),
                    });
                }
            }
        }
    }
}

impl Classifier for DecisionTree {
    fn n_features(&self) -> usize {
        self.n_features
    }

    fn n_classes(&self) -> usize {
        2
    }

    fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>, ModelError> {
        Ok(super::two_columns(self.positive_proba(x)?))
    }
}

impl DecisionTree {
    /// P(class 1) for every row of `x`.
    fn positive_proba(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>, ModelError> {
        check_input(x, self.n_features)?;
        let mut row = vec![0.0; self.n_features];
        let mut out = Array1::zeros(x.nrows());
        for (o, values) in out.iter_mut().zip(x.rows()) {
            row.iter_mut().zip(values.iter()).for_each(|(r, v)| *r = *v);
            *o = self.proba_row(&row, KIND)?;
        }
        Ok(out)
    }
}

/// Validated growth settings.
pub(super) struct GrowConfig {
    max_depth: usize,
    min_split: f64,
    min_leaf: f64,
    mtry: usize,
}

impl GrowConfig {
    pub(super) fn new(p: &TreeParams, model: &'static str, n_features: usize) -> Result<Self, ModelError> {
        if p.max_depth == Some(0) {
            return Err(invalid(model, "max_depth", "Some(0)", "None or a depth of at least 1"));
        }
        if p.min_samples_split < 2 {
            return Err(invalid(model, "min_samples_split", p.min_samples_split, "at least 2"));
        }
        if p.min_samples_leaf < 1 {
            return Err(invalid(model, "min_samples_leaf", p.min_samples_leaf, "at least 1"));
        }
        p.max_features.check(model)?;
        Ok(GrowConfig {
            max_depth: p.max_depth.unwrap_or(usize::MAX),
            min_split: p.min_samples_split as f64,
            min_leaf: p.min_samples_leaf as f64,
            mtry: p.max_features.resolve(n_features),
        })
    }
}

/// The training matrix stored column by column, with each column's row order sorted by value.
pub(super) struct Columns {
    data: Vec<f64>,
    order: Vec<u32>,
    rows: usize,
    cols: usize,
}

impl Columns {
    pub(super) fn new(x: ArrayView2<'_, f64>) -> Self {
        let (rows, cols) = x.dim();
        let mut data = Vec::with_capacity(rows * cols);
        for column in x.columns() {
            data.extend(column.iter().copied());
        }
        let mut order = Vec::with_capacity(rows * cols);
        for f in 0..cols {
            let column = &data[f * rows..(f + 1) * rows];
            let mut idx: Vec<u32> = (0..rows as u32).collect();
            idx.sort_by(|&a, &b| column[a as usize].total_cmp(&column[b as usize]));
            order.extend(idx);
        }
        Columns { data, order, rows, cols }
    }

    fn column(&self, f: usize) -> &[f64] {
        &self.data[f * self.rows..(f + 1) * self.rows]
    }

    fn order(&self, f: usize) -> &[u32] {
        &self.order[f * self.rows..(f + 1) * self.rows]
    }
}

/// The best split found so far at a node.
struct Best {
    score: f64,
    feature: usize,
    threshold: f64,
}

/// Grows one tree. `weights[r]` is how many times row `r` is in the sample (0 = left out).
///
/// Every feature keeps its in-sample rows in value order (`sorted`, one segment of `m` rows per
/// feature); a node owns the same range `start..end` of every segment, and splitting a node
/// partitions each segment's range stably, so no node ever sorts. Weights are whole numbers, so
/// class sums are exact whatever the order of rows with equal values.
pub(super) fn grow(
    columns: &Columns,
    y: &[usize],
    weights: &[f64],
    config: &GrowConfig,
    rng: &mut StdRng,
) -> DecisionTree {
    let cols = columns.cols;
    let m = weights.iter().filter(|&&w| w > 0.0).count();
    let mut sorted = vec![0u32; m * cols + 1];
    for f in 0..cols {
        // Branch-free filter of the in-sample rows, keeping the presorted order.
        let mut at = f * m;
        for &r in columns.order(f) {
            sorted[at] = r;
            at += usize::from(weights[r as usize] > 0.0);
        }
    }
    sorted.truncate(m * cols);
    let mut tmp = vec![0u32; m];
    let mut goes_left = vec![false; columns.rows];
    let mut features: Vec<usize> = (0..cols).collect();
    let mut nodes = vec![TreeNode::Leaf { p1: 0.0, weight: 0.0 }];
    // (node id, start, end, depth) of nodes still to grow; popped depth first, left child first.
    let mut stack = vec![(0usize, 0usize, m, 0usize)];
    while let Some((id, start, end, depth)) = stack.pop() {
        let (mut w0, mut w1) = (0.0, 0.0);
        for &r in &sorted[start..end] {
            if y[r as usize] == 1 {
                w1 += weights[r as usize];
            } else {
                w0 += weights[r as usize];
            }
        }
        let total = w0 + w1;
        nodes[id] = TreeNode::Leaf { p1: w1 / total, weight: total };
        if depth >= config.max_depth
            || total < config.min_split
            || total < 2.0 * config.min_leaf
            || w0 == 0.0
            || w1 == 0.0
        {
            continue;
        }
        let node = Node { sorted: &sorted, m, start, end, w0, w1 };
        let Some(best) = best_split(columns, y, weights, &node, config, rng, &mut features) else {
            continue;
        };
        let column = columns.column(best.feature);
        let mut n_left = 0;
        for &r in &sorted[start..end] {
            let left = column[r as usize] <= best.threshold;
            goes_left[r as usize] = left;
            n_left += usize::from(left);
        }
        for f in 0..cols {
            let segment = &mut sorted[f * m + start..f * m + end];
            let (mut l, mut r) = (0, n_left);
            for &row in segment.iter() {
                // Branch-free stable partition: the direction is unpredictable.
                let left = usize::from(goes_left[row as usize]);
                let at = if left == 1 { l } else { r };
                tmp[at] = row;
                l += left;
                r += 1 - left;
            }
            segment.copy_from_slice(&tmp[..end - start]);
        }
        let left = nodes.len();
        let right = left + 1;
        nodes.push(TreeNode::Leaf { p1: 0.0, weight: 0.0 });
        nodes.push(TreeNode::Leaf { p1: 0.0, weight: 0.0 });
        nodes[id] = TreeNode::Split { feature: best.feature, threshold: best.threshold, left, right };
        stack.push((right, start + n_left, end, depth + 1));
        stack.push((left, start, start + n_left, depth + 1));
    }
    DecisionTree { n_features: cols, nodes }
}

/// A node being split: its range of every feature's sorted segment and its class weights.
struct Node<'a> {
    sorted: &'a [u32],
    m: usize,
    start: usize,
    end: usize,
    w0: f64,
    w1: f64,
}

/// Searches the node's rows for the best gini split, examining features in a seeded random order.
fn best_split(
    columns: &Columns,
    y: &[usize],
    weights: &[f64],
    node: &Node<'_>,
    config: &GrowConfig,
    rng: &mut StdRng,
    features: &mut [usize],
) -> Option<Best> {
    let n = features.len();
    let (w0, w1) = (node.w0, node.w1);
    let total = w0 + w1;
    let mut best: Option<Best> = None;
    for k in 0..n {
        // Every drawn feature counts, constant or not; past the budget, draw on only while no
        // valid split has been found.
        if k >= config.mtry && best.is_some() {
            break;
        }
        if config.mtry < n {
            let j = rng.gen_range(k..n);
            features.swap(k, j);
        }
        let f = features[k];
        let column = columns.column(f);
        let rows = &node.sorted[f * node.m + node.start..f * node.m + node.end];
        let (lo, hi) = (column[rows[0] as usize], column[rows[rows.len() - 1] as usize]);
        if hi <= lo + FEATURE_THRESHOLD {
            continue; // constant in this node
        }
        let (mut l0, mut l1) = (0.0, 0.0);
        for i in 0..rows.len() - 1 {
            let r = rows[i] as usize;
            if y[r] == 1 {
                l1 += weights[r];
            } else {
                l0 += weights[r];
            }
            let (v, next) = (column[r], column[rows[i + 1] as usize]);
            if next <= v + FEATURE_THRESHOLD {
                continue;
            }
            let wl = l0 + l1;
            let wr = total - wl;
            if wl < config.min_leaf || wr < config.min_leaf {
                continue;
            }
            let (r0, r1) = (w0 - l0, w1 - l1);
            // Maximizing this is minimizing the weighted gini impurity of the children.
            let score = (l0 * l0 + l1 * l1) / wl + (r0 * r0 + r1 * r1) / wr;
            if best.as_ref().is_none_or(|b| score > b.score) {
                let mut threshold = v / 2.0 + next / 2.0;
                if threshold >= next || !threshold.is_finite() {
                    threshold = v;
                }
                best = Some(Best { score, feature: f, threshold });
            }
        }
    }
    best
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
}
