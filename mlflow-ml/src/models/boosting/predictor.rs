//! A fitted boosted tree: nodes with raw-value thresholds, evaluated row by row.

use ndarray::ArrayView1;
use serde::{Deserialize, Serialize};

use crate::models::ModelError;

/// One node of a fitted tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) enum Node {
    /// A leaf: its value (already multiplied by the learning rate).
    Leaf(f64),
    /// A split: `x[feature] <= threshold` goes left, NaN goes left when `missing_left`.
    Split {
        /// Feature index.
        feature: usize,
        /// The bin threshold (`f64::MAX` for a split of non-missing from missing values).
        threshold: f64,
        /// Where NaN goes.
        missing_left: bool,
        /// Index of the left child.
        left: usize,
        /// Index of the right child.
        right: usize,
    },
}

/// A fitted tree; node 0 is the root.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Tree {
    pub nodes: Vec<Node>,
}

impl Tree {
    /// The value of the leaf `row` falls in. A hand-edited tree whose links go astray (out of
    /// range, or in a cycle) is a [`ModelError::Corrupt`].
    pub fn predict_row(&self, row: ArrayView1<'_, f64>, kind: &'static str) -> Result<f64, ModelError> {
        let mut at = 0;
        for _ in 0..=self.nodes.len() {
            match self.nodes.get(at) {
                Some(Node::Leaf(value)) => return Ok(*value),
                Some(&Node::Split { feature, threshold, missing_left, left, right }) => {
                    let Some(&v) = row.get(feature) else {
                        return Err(corrupt(kind, format!("a split uses feature {feature}")));
                    };
                    let go_left = if v.is_nan() { missing_left } else { v <= threshold };
                    at = if go_left { left } else { right };
                }
                None => return Err(corrupt(kind, format!("a link points to node {at}"))),
            }
        }
        Err(corrupt(kind, "the links of a tree form a cycle".into()))
    }

    /// Number of leaves.
    pub fn n_leaves(&self) -> usize {
        self.nodes.iter().filter(|n| matches!(n, Node::Leaf(_))).count()
    }
}

fn corrupt(model: &'static str, detail: String) -> ModelError {
    ModelError::Corrupt { model, detail: format!("{detail}, outside the tree or the features") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn rows_follow_thresholds_and_missing_side() {
        let tree = Tree {
            nodes: vec![
                Node::Split { feature: 1, threshold: 0.5, missing_left: true, left: 1, right: 2 },
                Node::Leaf(-1.0),
                Node::Leaf(1.0),
            ],
        };
        assert_eq!(tree.predict_row(array![9.0, 0.5].view(), "t"), Ok(-1.0));
        assert_eq!(tree.predict_row(array![9.0, 0.6].view(), "t"), Ok(1.0));
        assert_eq!(tree.predict_row(array![9.0, f64::NAN].view(), "t"), Ok(-1.0));
        assert!(tree.predict_row(array![9.0].view(), "t").is_err());
        let cycle = Tree {
            nodes: vec![Node::Split { feature: 0, threshold: 0.5, missing_left: true, left: 0, right: 0 }],
        };
        assert!(matches!(cycle.predict_row(array![1.0].view(), "t"), Err(ModelError::Corrupt { .. })));
    }
}
