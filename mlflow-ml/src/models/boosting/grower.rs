//! Growing one tree leaf-wise (best first), as scikit-learn's `TreeGrower` and `Splitter`.
//!
//! The splittable leaf with the largest gain is split next, until no leaf can be split or the tree
//! has `max_leaf_nodes` leaves. A split's gain is XGBoost's loss reduction: with a node's value
//! `-G / (H + l2)`, the gain is `G_l^2 / (H_l + l2) + G_r^2 / (H_r + l2)` less the parent's
//! (which is taken as 0 at the root, as scikit-learn does). Each feature is scanned left to right
//! with missing values going right, and, when the training data had missing values in it, right
//! to left with missing values going left. When a feature had no missing values in training, NaN
//! goes to the child that got more samples. The smaller child's histograms are built, the larger
//! child's are the parent's minus the smaller's.

use super::binning::Binned;
use super::histogram::{Bin, Histograms};
use super::predictor::{Node, Tree};

/// Splits leaving a child with a smaller hessian sum are not considered (scikit-learn's
/// `min_hessian_to_split`).
const MIN_HESSIAN_TO_SPLIT: f64 = 1e-3;

/// What every tree of a fit shares: the binned data and the growth settings.
pub(super) struct Grower<'a> {
    pub binned: &'a Binned,
    pub thresholds: &'a [Vec<f64>],
    /// Bins of non-missing values of each feature (`thresholds[f].len() + 1`).
    pub n_bins_non_missing: &'a [usize],
    /// Whether the training data had NaN in each feature.
    pub has_missing: &'a [bool],
    /// Histogram length (`max_bins + 1`); the last bin is NaN's.
    pub n_bins: usize,
    pub max_leaf_nodes: Option<usize>,
    pub max_depth: Option<usize>,
    pub min_samples_leaf: usize,
    pub l2: f64,
    pub shrinkage: f64,
    pub threads: usize,
}

/// A grown tree, and which training rows fell in each of its leaves.
pub(super) struct Grown {
    pub tree: Tree,
    /// Row indices, grouped by leaf.
    pub partition: Vec<u32>,
    /// `(start, stop, value)`: the rows `partition[start..stop]` get `value`.
    pub leaves: Vec<(usize, usize, f64)>,
}

#[derive(Debug, Clone, Copy)]
struct Split {
    gain: f64,
    feature: usize,
    bin: usize,
    missing_left: bool,
    g_left: f64,
    h_left: f64,
    g_right: f64,
    h_right: f64,
    n_left: usize,
    n_right: usize,
}

struct GrowNode {
    depth: usize,
    start: usize,
    stop: usize,
    sum_g: f64,
    sum_h: f64,
    value: f64,
    split: Option<Split>,
    hist: Option<Histograms>,
    children: Option<(usize, usize)>,
}

/// `-G / (H + l2)`, as scikit-learn's `compute_node_value` (no bounds).
fn node_value(g: f64, h: f64, l2: f64) -> f64 {
    -g / (h + l2 + 1e-15)
}

impl Grower<'_> {
    /// Grows one tree on these gradients and hessians (`None`: all hessians are 1).
    pub fn grow(&self, gradients: &[f32], hessians: Option<&[f32]>) -> Grown {
        let n = self.binned.rows;
        let mut partition: Vec<u32> = (0..n as u32).collect();
        let mut scratch: Vec<u32> = Vec::with_capacity(n);
        let hist = Histograms::build(self.binned, None, gradients, hessians, self.n_bins, self.threads);
        let first = hist.feature(0);
        let sum_g: f64 = first.iter().map(|b| b.g).sum();
        let sum_h = match hessians {
            Some(_) => first.iter().map(|b| b.h).sum(),
            None => n as f64,
        };
        let mut nodes = vec![GrowNode {
            depth: 0,
            start: 0,
            stop: n,
            sum_g,
            sum_h,
            value: 0.0,
            split: None,
            hist: Some(hist),
            children: None,
        }];
        let mut leaves: Vec<usize> = Vec::new();
        let mut splittable: Vec<usize> = Vec::new();
        if n < 2 * self.min_samples_leaf || sum_h < MIN_HESSIAN_TO_SPLIT {
            leaves.push(0);
        } else {
            self.find_split_and_push(&mut nodes, 0, hessians.is_none(), &mut leaves, &mut splittable);
        }
        while !splittable.is_empty() {
            // The largest gain; the earliest pushed on a tie.
            let mut best = 0;
            for (i, &id) in splittable.iter().enumerate() {
                if gain(&nodes[id]) > gain(&nodes[splittable[best]]) {
                    best = i;
                }
            }
            let id = splittable.remove(best);
            let Some(split) = nodes[id].split else { continue };
            let (start, stop, depth) = (nodes[id].start, nodes[id].stop, nodes[id].depth + 1);
            let left_stop = self.partition(&mut partition[start..stop], &mut scratch, &split) + start;
            let n_leaf_nodes = leaves.len() + splittable.len() + 2;
            let child = |start, stop, g, h| GrowNode {
                depth,
                start,
                stop,
                sum_g: g,
                sum_h: h,
                value: node_value(g, h, self.l2),
                split: None,
                hist: None,
                children: None,
            };
            let left = nodes.len();
            let right = left + 1;
            nodes.push(child(start, left_stop, split.g_left, split.h_left));
            nodes.push(child(left_stop, stop, split.g_right, split.h_right));
            nodes[id].children = Some((left, right));
            if !self.has_missing[split.feature]
                && let Some(s) = nodes[id].split.as_mut()
            {
                s.missing_left = split.n_left > split.n_right;
            }
            let parent_hist = nodes[id].hist.take();
            if self.max_leaf_nodes == Some(n_leaf_nodes) {
                leaves.extend([left, right]);
                leaves.append(&mut splittable);
                break;
            }
            if self.max_depth == Some(depth) {
                leaves.extend([left, right]);
                continue;
            }
            let mut split_left = true;
            let mut split_right = true;
            if nodes[left].stop - nodes[left].start < 2 * self.min_samples_leaf {
                leaves.push(left);
                split_left = false;
            }
            if nodes[right].stop - nodes[right].start < 2 * self.min_samples_leaf {
                leaves.push(right);
                split_right = false;
            }
            if !(split_left || split_right) {
                continue;
            }
            let Some(parent_hist) = parent_hist else { continue };
            let (small, large) =
                if left_stop - start < stop - left_stop { (left, right) } else { (right, left) };
            let rows = &partition[nodes[small].start..nodes[small].stop];
            let small_hist =
                Histograms::build(self.binned, Some(rows), gradients, hessians, self.n_bins, self.threads);
            nodes[large].hist = Some(Histograms::subtract(&parent_hist, &small_hist));
            nodes[small].hist = Some(small_hist);
            for (child, wanted) in [(left, split_left), (right, split_right)] {
                if wanted {
                    self.find_split_and_push(
                        &mut nodes,
                        child,
                        hessians.is_none(),
                        &mut leaves,
                        &mut splittable,
                    );
                }
                if !wanted || nodes[child].split.is_none() {
                    nodes[child].hist = None;
                }
            }
        }
        self.finish(nodes, leaves, partition)
    }

    /// Finds the node's best split; pushes the node if it has one, otherwise makes it a leaf.
    fn find_split_and_push(
        &self,
        nodes: &mut [GrowNode],
        id: usize,
        constant_hessian: bool,
        leaves: &mut Vec<usize>,
        splittable: &mut Vec<usize>,
    ) {
        let node = &nodes[id];
        let split = node.hist.as_ref().and_then(|hist| self.best_split(node, hist, constant_hessian));
        match split {
            Some(s) if s.gain > 0.0 => {
                nodes[id].split = Some(s);
                splittable.push(id);
            }
            _ => {
                nodes[id].hist = None;
                leaves.push(id);
            }
        }
    }

    /// The best split over all features (the first feature on a tie), if any satisfies the
    /// constraints.
    fn best_split(&self, node: &GrowNode, hist: &Histograms, constant_hessian: bool) -> Option<Split> {
        let n = node.stop - node.start;
        let mut best: Option<Split> = None;
        for f in 0..self.thresholds.len() {
            let mut split = Split {
                gain: -1.0,
                feature: f,
                bin: 0,
                missing_left: false,
                g_left: 0.0,
                h_left: 0.0,
                g_right: 0.0,
                h_right: 0.0,
                n_left: 0,
                n_right: 0,
            };
            let bins = hist.feature(f);
            self.scan_left_to_right(node, n, bins, constant_hessian, &mut split);
            if self.has_missing[f] {
                self.scan_right_to_left(node, n, bins, constant_hessian, &mut split);
            }
            if best.is_none_or(|b| split.gain > b.gain) {
                best = Some(split);
            }
        }
        best.filter(|b| b.gain > -1.0)
    }

    fn gain_of(&self, node: &GrowNode, g_left: f64, h_left: f64, g_right: f64, h_right: f64) -> f64 {
        let loss_node = node.sum_g * node.value;
        let value_left = node_value(g_left, h_left, self.l2);
        let value_right = node_value(g_right, h_right, self.l2);
        loss_node - g_left * value_left - g_right * value_right
    }

    /// Missing values (if any) go right; the last non-missing bin goes left only when there are
    /// missing values to go right.
    fn scan_left_to_right(&self, node: &GrowNode, n: usize, bins: &[Bin], constant: bool, best: &mut Split) {
        let f = best.feature;
        let end = self.n_bins_non_missing[f] - 1 + usize::from(self.has_missing[f]);
        let (mut g_left, mut h_left, mut n_left) = (0.0, 0.0, 0usize);
        for (bin, b) in bins.iter().enumerate().take(end) {
            n_left += b.count as usize;
            let n_right = n - n_left;
            h_left += if constant { f64::from(b.count) } else { b.h };
            let h_right = node.sum_h - h_left;
            g_left += b.g;
            let g_right = node.sum_g - g_left;
            if n_left < self.min_samples_leaf || h_left < MIN_HESSIAN_TO_SPLIT {
                continue;
            }
            if n_right < self.min_samples_leaf || h_right < MIN_HESSIAN_TO_SPLIT {
                break;
            }
            let gain = self.gain_of(node, g_left, h_left, g_right, h_right);
            if gain > best.gain && gain > 0.0 {
                *best = Split {
                    gain,
                    feature: f,
                    bin,
                    missing_left: false,
                    g_left,
                    h_left,
                    g_right,
                    h_right,
                    n_left,
                    n_right,
                };
            }
        }
    }

    /// Missing values go left; only scanned when the training data had missing values.
    fn scan_right_to_left(&self, node: &GrowNode, n: usize, bins: &[Bin], constant: bool, best: &mut Split) {
        let f = best.feature;
        let non_missing = self.n_bins_non_missing[f];
        let (mut g_right, mut h_right, mut n_right) = (0.0, 0.0, 0usize);
        for bin in (0..non_missing.saturating_sub(1)).rev() {
            let b = &bins[bin + 1];
            n_right += b.count as usize;
            let n_left = n - n_right;
            h_right += if constant { f64::from(b.count) } else { b.h };
            let h_left = node.sum_h - h_right;
            g_right += b.g;
            let g_left = node.sum_g - g_right;
            if n_right < self.min_samples_leaf || h_right < MIN_HESSIAN_TO_SPLIT {
                continue;
            }
            if n_left < self.min_samples_leaf || h_left < MIN_HESSIAN_TO_SPLIT {
                break;
            }
            let gain = self.gain_of(node, g_left, h_left, g_right, h_right);
            if gain > best.gain && gain > 0.0 {
                *best = Split {
                    gain,
                    feature: f,
                    bin,
                    missing_left: true,
                    g_left,
                    h_left,
                    g_right,
                    h_right,
                    n_left,
                    n_right,
                };
            }
        }
    }

    /// Stable in-place partition of a node's rows: left rows first, each side in its old order.
    /// Returns the number of left rows.
    fn partition(&self, rows: &mut [u32], scratch: &mut Vec<u32>, split: &Split) -> usize {
        let column = &self.binned.columns[split.feature];
        let missing_bin = self.n_bins - 1;
        scratch.clear();
        let mut n_left = 0;
        for i in 0..rows.len() {
            let r = rows[i];
            let b = column[r as usize] as usize;
            let goes_left = if b == missing_bin { split.missing_left } else { b <= split.bin };
            if goes_left {
                rows[n_left] = r;
                n_left += 1;
            } else {
                scratch.push(r);
            }
        }
        rows[n_left..].copy_from_slice(scratch);
        n_left
    }

    /// The fitted tree (leaf values times the learning rate) and the leaves' rows.
    fn finish(&self, nodes: Vec<GrowNode>, leaves: Vec<usize>, partition: Vec<u32>) -> Grown {
        let tree_nodes = nodes
            .iter()
            .map(|node| match (node.children, node.split) {
                (Some((left, right)), Some(s)) => {
                    let t = &self.thresholds[s.feature];
                    // A split of the non-missing values from the missing ones: all numbers go left.
                    let threshold =
                        if s.bin + 1 >= self.n_bins_non_missing[s.feature] { f64::MAX } else { t[s.bin] };
                    Node::Split { feature: s.feature, threshold, missing_left: s.missing_left, left, right }
                }
                _ => Node::Leaf(node.value * self.shrinkage),
            })
            .collect();
        let leaves = leaves
            .into_iter()
            .map(|id| {
                let node = &nodes[id];
                (node.start, node.stop, node.value * self.shrinkage)
            })
            .collect();
        Grown { tree: Tree { nodes: tree_nodes }, partition, leaves }
    }
}

fn gain(node: &GrowNode) -> f64 {
    node.split.map_or(f64::NEG_INFINITY, |s| s.gain)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grower<'a>(
        binned: &'a Binned,
        thresholds: &'a [Vec<f64>],
        nbnm: &'a [usize],
        missing: &'a [bool],
    ) -> Grower<'a> {
        Grower {
            binned,
            thresholds,
            n_bins_non_missing: nbnm,
            has_missing: missing,
            n_bins: 256,
            max_leaf_nodes: Some(31),
            max_depth: None,
            min_samples_leaf: 1,
            l2: 0.0,
            shrinkage: 1.0,
            threads: 1,
        }
    }

    #[test]
    fn splits_on_the_separating_bin() {
        let binned = Binned { columns: vec![vec![0, 0, 1, 1]], rows: 4 };
        let thresholds = [vec![0.5]];
        let g = grower(&binned, &thresholds, &[2], &[false]);
        let grown = g.grow(&[1.0, 1.0, -1.0, -1.0], None);
        assert_eq!(grown.tree.nodes.len(), 3);
        assert!(matches!(grown.tree.nodes[0], Node::Split { feature: 0, threshold: 0.5, .. }));
        let leaves: Vec<_> = grown.leaves.iter().map(|&(a, b, v)| (a, b, (v * 1e6).round() / 1e6)).collect();
        assert_eq!(leaves, [(0, 2, -1.0), (2, 4, 1.0)]);
    }

    #[test]
    fn learns_where_missing_values_go() {
        // Missing values (bin 255) share the gradient of bin 0: they should go left.
        let binned = Binned { columns: vec![vec![0, 255, 1, 1, 0, 255]], rows: 6 };
        let thresholds = [vec![0.5]];
        let g = grower(&binned, &thresholds, &[2], &[true]);
        let grown = g.grow(&[1.0, 1.0, -1.0, -1.0, 1.0, 1.0], None);
        assert!(matches!(grown.tree.nodes[0], Node::Split { missing_left: true, threshold: 0.5, .. }));
        // Only missing versus non-missing separates: a split "on NaN", all numbers left.
        let binned = Binned { columns: vec![vec![0, 255, 0, 255]], rows: 4 };
        let thresholds = [vec![]];
        let g = grower(&binned, &thresholds, &[1], &[true]);
        let grown = g.grow(&[1.0, -1.0, 1.0, -1.0], None);
        assert!(matches!(grown.tree.nodes[0], Node::Split { missing_left: false, threshold: f64::MAX, .. }));
    }
}
