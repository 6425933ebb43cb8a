//! The tree-growing engine shared by every tree model: presorted columns, the depth-first growth
//! with stable partitions, the split search, and the traversal of a fitted tree.
//!
//! What a tree is grown *for* is a [`Criterion`]: the statistics of a set of rows, the score of a
//! split, and the node a leaf becomes. [`Gini`] grows classification trees over `k` classes
//! ([`DecisionTree`](super::DecisionTree), [`RandomForest`](super::RandomForest)),
//! [`SquaredError`] regression trees ([`TreeRegressor`](super::TreeRegressor),
//! [`ForestRegressor`](super::ForestRegressor)); [`grow`] is written once for both.

use ndarray::ArrayView2;
use rand::Rng;
use rand::rngs::StdRng;

use super::tree::TreeNode;
use super::tree_regressor::RegressionNode;
use super::{ModelError, TreeParams, invalid};
use crate::float::{binary_exponent, times_pow2};

/// Values closer than this are treated as equal when searching thresholds (as scikit-learn does).
const FEATURE_THRESHOLD: f64 = 1e-7;

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

    /// The number of training rows.
    pub(super) fn rows(&self) -> usize {
        self.rows
    }

    fn column(&self, f: usize) -> &[f64] {
        &self.data[f * self.rows..(f + 1) * self.rows]
    }

    fn order(&self, f: usize) -> &[u32] {
        &self.order[f * self.rows..(f + 1) * self.rows]
    }
}

/// What a tree is grown for: running statistics of a set of rows, the score of a split, and the
/// node a finished set of rows becomes.
///
/// Weights are whole numbers (bootstrap counts), so sums of weights are exact in any order.
pub(super) trait Criterion: Sync {
    /// Running sums over a set of rows.
    type Stats: Clone;
    /// The node type of the fitted tree.
    type Node: Send;

    /// Statistics of no rows.
    fn empty(&self) -> Self::Stats;
    /// Resets `stats` to no rows.
    fn clear(&self, stats: &mut Self::Stats);
    /// Adds row `row` with weight `w > 0`.
    fn add(&self, stats: &mut Self::Stats, row: usize, w: f64);
    /// The total weight of the rows.
    fn weight(&self, stats: &Self::Stats) -> f64;
    /// Whether nothing is left to separate (one class; one target value).
    fn is_pure(&self, stats: &Self::Stats) -> bool;
    /// The score of the split of `node` into `left` and the rest, larger is better: a quantity
    /// whose maximum is the minimum of the children's weighted impurity. Both sides have weight.
    fn score(&self, left: &Self::Stats, node: &Self::Stats) -> f64;
    /// The leaf a set of rows becomes.
    fn leaf(&self, stats: &Self::Stats) -> Self::Node;
    /// An internal node.
    fn split(feature: usize, threshold: f64, left: usize, right: usize) -> Self::Node;
}

/// Gini impurity over the classes `0..k` (labels checked to be below `k`).
///
/// Binary trees (`k == 2`) get [`TreeNode::Leaf`] leaves holding P(class 1), exactly as before
/// multiclass, so binary models keep their bytes; `k > 2` gets [`TreeNode::Classes`].
pub(super) struct Gini<'a> {
    pub(super) y: &'a [usize],
    pub(super) classes: usize,
}

/// Class weights of a set of rows, and their total.
#[derive(Clone)]
pub(super) struct ClassWeights {
    total: f64,
    per_class: Vec<f64>,
}

impl ClassWeights {
    /// `sum_c w_c^2`; `w_c - minus_c` per class when `minus` is given.
    fn sum_of_squares(&self, minus: Option<&ClassWeights>) -> f64 {
        match minus {
            None => self.per_class.iter().map(|w| w * w).sum(),
            Some(m) => self.per_class.iter().zip(&m.per_class).map(|(w, l)| (w - l) * (w - l)).sum(),
        }
    }
}

impl Criterion for Gini<'_> {
    type Stats = ClassWeights;
    type Node = TreeNode;

    fn empty(&self) -> ClassWeights {
        ClassWeights { total: 0.0, per_class: vec![0.0; self.classes] }
    }

    fn clear(&self, stats: &mut ClassWeights) {
        stats.total = 0.0;
        stats.per_class.iter_mut().for_each(|w| *w = 0.0);
    }

    fn add(&self, stats: &mut ClassWeights, row: usize, w: f64) {
        stats.per_class[self.y[row]] += w;
        stats.total += w;
    }

    fn weight(&self, stats: &ClassWeights) -> f64 {
        stats.total
    }

    fn is_pure(&self, stats: &ClassWeights) -> bool {
        stats.per_class.iter().filter(|&&w| w > 0.0).count() <= 1
    }

    fn score(&self, left: &ClassWeights, node: &ClassWeights) -> f64 {
        let (wl, wr) = (left.total, node.total - left.total);
        // Maximizing this is minimizing the weighted gini impurity of the children:
        // sum over children of w (1 - sum_c p_c^2) = w_node - sum over children of sum_c w_c^2 / w.
        left.sum_of_squares(None) / wl + node.sum_of_squares(Some(left)) / wr
    }

    fn leaf(&self, stats: &ClassWeights) -> TreeNode {
        let weight = stats.total;
        if self.classes == 2 {
            TreeNode::Leaf { p1: stats.per_class[1] / weight, weight }
        } else {
            TreeNode::Classes { proba: stats.per_class.iter().map(|w| w / weight).collect(), weight }
        }
    }

    fn split(feature: usize, threshold: f64, left: usize, right: usize) -> TreeNode {
        TreeNode::Split { feature, threshold, left, right }
    }
}

/// Squared error (variance reduction); a leaf predicts the weighted mean of its targets.
///
/// `y` is the target times `2^-exponent` (see [`SquaredError::new`]): an exact change of unit that
/// keeps sums and squares far from overflow, undone in the leaves.
pub(super) struct SquaredError {
    y: Vec<f64>,
    exponent: i32,
}

impl SquaredError {
    /// The criterion for finite targets `y`, brought to a largest magnitude in `[1, 2)`.
    pub(super) fn new(y: &[f64]) -> Self {
        let max = y.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let exponent = if max > 0.0 { binary_exponent(max) } else { 0 };
        SquaredError { y: y.iter().map(|&v| times_pow2(v, -exponent)).collect(), exponent }
    }
}

/// Weighted sums of a set of rows' targets, and their range.
#[derive(Clone)]
pub(super) struct TargetSums {
    weight: f64,
    sum: f64,
    min: f64,
    max: f64,
}

impl Criterion for SquaredError {
    type Stats = TargetSums;
    type Node = RegressionNode;

    fn empty(&self) -> TargetSums {
        TargetSums { weight: 0.0, sum: 0.0, min: f64::INFINITY, max: f64::NEG_INFINITY }
    }

    fn clear(&self, stats: &mut TargetSums) {
        *stats = self.empty();
    }

    fn add(&self, stats: &mut TargetSums, row: usize, w: f64) {
        let v = self.y[row];
        stats.weight += w;
        stats.sum += w * v;
        stats.min = stats.min.min(v);
        stats.max = stats.max.max(v);
    }

    fn weight(&self, stats: &TargetSums) -> f64 {
        stats.weight
    }

    fn is_pure(&self, stats: &TargetSums) -> bool {
        stats.min >= stats.max
    }

    fn score(&self, left: &TargetSums, node: &TargetSums) -> f64 {
        // The children's summed squared error is sum(w y^2) - (S_l^2 / w_l + S_r^2 / w_r), with
        // S the weighted target sums: maximize the bracket (scikit-learn's proxy).
        let (wl, wr) = (left.weight, node.weight - left.weight);
        let (sl, sr) = (left.sum, node.sum - left.sum);
        sl * sl / wl + sr * sr / wr
    }

    fn leaf(&self, stats: &TargetSums) -> RegressionNode {
        // Rounding may put the mean an ulp outside the targets' range: clamp it back.
        let value = (stats.sum / stats.weight).clamp(stats.min, stats.max);
        RegressionNode::Leaf { value: times_pow2(value, self.exponent), weight: stats.weight }
    }

    fn split(feature: usize, threshold: f64, left: usize, right: usize) -> RegressionNode {
        RegressionNode::Split { feature, threshold, left, right }
    }
}

/// The best split found so far at a node.
struct Best {
    score: f64,
    feature: usize,
    threshold: f64,
}

/// A node being split: its range of every feature's sorted segment.
struct Node<'a> {
    sorted: &'a [u32],
    m: usize,
    start: usize,
    end: usize,
}

/// Grows one tree and returns its nodes, root first. `weights[r]` is how many times row `r` is in
/// the sample (0 = left out); `placeholder` fills node slots until they are grown.
///
/// Every feature keeps its in-sample rows in value order (`sorted`, one segment of `m` rows per
/// feature); a node owns the same range `start..end` of every segment, and splitting a node
/// partitions each segment's range stably, so no node ever sorts. Nodes are grown depth first,
/// left child first; children always come after their parent.
pub(super) fn grow<C: Criterion>(
    columns: &Columns,
    criterion: &C,
    weights: &[f64],
    config: &GrowConfig,
    rng: &mut StdRng,
) -> Vec<C::Node> {
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
    let mut stats = criterion.empty();
    let mut scratch = criterion.empty();
    // Slots are filled when their node is grown; `None` only until then.
    let mut nodes: Vec<Option<C::Node>> = vec![None];
    // (node id, start, end, depth) of nodes still to grow; popped depth first, left child first.
    let mut stack = vec![(0usize, 0usize, m, 0usize)];
    while let Some((id, start, end, depth)) = stack.pop() {
        criterion.clear(&mut stats);
        for &r in &sorted[start..end] {
            criterion.add(&mut stats, r as usize, weights[r as usize]);
        }
        let total = criterion.weight(&stats);
        if depth >= config.max_depth
            || total < config.min_split
            || total < 2.0 * config.min_leaf
            || criterion.is_pure(&stats)
        {
            nodes[id] = Some(criterion.leaf(&stats));
            continue;
        }
        let node = Node { sorted: &sorted, m, start, end };
        let best =
            best_split(columns, criterion, weights, &node, &stats, &mut scratch, config, rng, &mut features);
        let Some(best) = best else {
            nodes[id] = Some(criterion.leaf(&stats));
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
        nodes.push(None);
        nodes.push(None);
        nodes[id] = Some(C::split(best.feature, best.threshold, left, right));
        stack.push((right, start + n_left, end, depth + 1));
        stack.push((left, start, start + n_left, depth + 1));
    }
    // Every slot pushed is grown before the stack empties.
    nodes.into_iter().flatten().collect()
}

/// Searches the node's rows for the best split, examining features in a seeded random order.
#[allow(clippy::too_many_arguments)]
fn best_split<C: Criterion>(
    columns: &Columns,
    criterion: &C,
    weights: &[f64],
    node: &Node<'_>,
    stats: &C::Stats,
    left_stats: &mut C::Stats,
    config: &GrowConfig,
    rng: &mut StdRng,
    features: &mut [usize],
) -> Option<Best> {
    let n = features.len();
    let total = criterion.weight(stats);
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
        criterion.clear(left_stats);
        for i in 0..rows.len() - 1 {
            let r = rows[i] as usize;
            criterion.add(left_stats, r, weights[r]);
            let (v, next) = (column[r], column[rows[i + 1] as usize]);
            if next <= v + FEATURE_THRESHOLD {
                continue;
            }
            let wl = criterion.weight(left_stats);
            let wr = total - wl;
            if wl < config.min_leaf || wr < config.min_leaf {
                continue;
            }
            let score = criterion.score(left_stats, stats);
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

/// The shape of a fitted node: where an internal node sends a row.
pub(super) trait Shape {
    /// `(feature, threshold, left, right)` of an internal node, `None` for a leaf.
    fn split(&self) -> Option<(usize, f64, usize, usize)>;
}

impl Shape for TreeNode {
    fn split(&self) -> Option<(usize, f64, usize, usize)> {
        match *self {
            TreeNode::Split { feature, threshold, left, right } => Some((feature, threshold, left, right)),
            _ => None,
        }
    }
}

impl Shape for RegressionNode {
    fn split(&self) -> Option<(usize, f64, usize, usize)> {
        match *self {
            RegressionNode::Split { feature, threshold, left, right } => {
                Some((feature, threshold, left, right))
            }
            RegressionNode::Leaf { .. } => None,
        }
    }
}

/// The leaf `row` (of checked length) falls in; a malformed tree is [`ModelError::Corrupt`].
pub(super) fn leaf_of<'a, N: Shape>(
    nodes: &'a [N],
    row: &[f64],
    model: &'static str,
) -> Result<&'a N, ModelError> {
    let mut i = 0;
    loop {
        let Some(node) = nodes.get(i) else {
            return Err(ModelError::Corrupt {
                model,
                detail: format!("node {i} missing ({} nodes)", nodes.len()),
            });
        };
        let Some((feature, threshold, left, right)) = node.split() else {
            return Ok(node);
        };
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
}

/// The number of leaves.
pub(super) fn n_leaves<N: Shape>(nodes: &[N]) -> usize {
    nodes.iter().filter(|n| n.split().is_none()).count()
}

/// The depth of the deepest leaf (a single leaf has depth 0).
pub(super) fn depth<N: Shape>(nodes: &[N]) -> usize {
    let mut depth = vec![0usize; nodes.len()];
    let mut max = 0;
    for (i, node) in nodes.iter().enumerate() {
        if let Some((_, _, left, right)) = node.split() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gini_score_is_the_negated_weighted_impurity_up_to_a_constant() {
        let y = [0, 1, 2, 2, 1, 0];
        let g = Gini { y: &y, classes: 3 };
        let mut node = g.empty();
        (0..6).for_each(|r| g.add(&mut node, r, 1.0));
        let mut left = g.empty();
        g.add(&mut left, 0, 1.0);
        g.add(&mut left, 5, 2.0);
        // Left: 3 of class 0 (weight 3); right: 1 + 1 of class 1, 2 of class 2 (weight 3, with
        // row 5 counted twice the node total is 7, the right side 4).
        let mut node7 = node.clone();
        g.add(&mut node7, 5, 1.0);
        assert_eq!(g.score(&left, &node7), 9.0 / 3.0 + (0.0 + 4.0 + 4.0) / 4.0);
        assert!(!g.is_pure(&node) && g.is_pure(&left));
        assert_eq!(g.leaf(&left), TreeNode::Classes { proba: vec![1.0, 0.0, 0.0], weight: 3.0 });
    }

    #[test]
    fn squared_error_leaf_is_the_weighted_mean() {
        let s = SquaredError::new(&[1.0, 2.0, 4.0]);
        let mut st = s.empty();
        s.add(&mut st, 0, 1.0);
        s.add(&mut st, 2, 2.0);
        assert_eq!(s.leaf(&st), RegressionNode::Leaf { value: 3.0, weight: 3.0 });
        assert!(!s.is_pure(&st));
        // Sums of targets near f64::MAX would overflow in the original unit.
        let s = SquaredError::new(&[f64::MAX, f64::MAX, -f64::MAX]);
        let mut st = s.empty();
        s.add(&mut st, 0, 1.0);
        s.add(&mut st, 1, 1.0);
        assert_eq!(s.leaf(&st), RegressionNode::Leaf { value: f64::MAX, weight: 2.0 });
        assert!(s.is_pure(&st));
        s.add(&mut st, 2, 1.0);
        let mut left = s.empty();
        s.add(&mut left, 2, 1.0);
        assert!(s.score(&left, &st).is_finite());
    }
}
