//! Random forest: bootstrapped CART trees with features sampled at every split.

use ndarray::{Array1, Array2, ArrayView2};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::tree::{Columns, GrowConfig, grow};
use super::{
    Classifier, DecisionTree, MaxFeatures, ModelError, TreeParams, check_input, check_training, invalid,
};

pub(super) const KIND: &str = "random forest";

/// Hyperparameters of a [`RandomForest`]; `Default` is scikit-learn's `RandomForestClassifier()`
/// (100 trees, `sqrt(n_features)` features per split, bootstrap samples, fully grown trees).
///
/// ```
/// use mlflow_ml::models::{ForestParams, MaxFeatures};
/// let p = ForestParams::default();
/// assert_eq!((p.n_trees, p.max_features, p.bootstrap), (100, MaxFeatures::Sqrt, true));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForestParams {
    /// Number of trees (at least 1).
    pub n_trees: usize,
    /// Maximum depth of each tree; `None` grows until leaves are pure or too small.
    pub max_depth: Option<usize>,
    /// A node with fewer samples than this is not split (at least 2). Bootstrap repetitions count.
    pub min_samples_split: usize,
    /// Each child of a split keeps at least this many samples (at least 1). Bootstrap repetitions count.
    pub min_samples_leaf: usize,
    /// Features drawn at **every split** (not once per tree).
    pub max_features: MaxFeatures,
    /// Train each tree on a bootstrap sample (`n` rows drawn with replacement); otherwise on all rows.
    pub bootstrap: bool,
    /// Seed; tree `i` draws from its own generator seeded from `(seed, i)`.
    pub seed: u64,
    /// Threads used to train the trees; `0` means all available cores. The fitted forest is the
    /// same for any value.
    pub threads: usize,
}

impl Default for ForestParams {
    fn default() -> Self {
        ForestParams {
            n_trees: 100,
            max_depth: None,
            min_samples_split: 2,
            min_samples_leaf: 1,
            max_features: MaxFeatures::Sqrt,
            bootstrap: true,
            seed: 0,
            threads: 0,
        }
    }
}

/// A fitted random forest of CART trees.
///
/// Each tree is grown on a bootstrap sample with a fresh random subset of features examined at
/// every split. Trees are trained in parallel on scoped threads; tree `i` uses a generator seeded
/// from `(seed, i)` only, so the forest is identical for a seed whatever the thread count.
/// `predict_proba` is the **mean over trees of the class-1 fraction of the leaf** each row falls
/// in (scikit-learn's way; with fully grown trees this is close to the fraction of trees voting 1).
///
/// ```
/// use mlflow_ml::models::{Classifier, ForestParams, RandomForest};
/// use ndarray::array;
/// let x = array![[0.0, 1.0], [1.0, 1.0], [2.0, 0.0], [3.0, 0.0]];
/// let forest = RandomForest::fit(x.view(), &[0, 0, 1, 1], &ForestParams { n_trees: 20, ..Default::default() })?;
/// assert_eq!(forest.trees().len(), 20);
/// let p = forest.predict_positive(array![[3.0, 0.0], [0.0, 1.0]].view())?;
/// assert!(p[0] > 0.5 && p[1] < 0.5);
/// # Ok::<(), mlflow_ml::models::ModelError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RandomForest {
    n_features: usize,
    trees: Vec<DecisionTree>,
}

impl RandomForest {
    /// Fits a forest on `x` (rows = samples) and 0/1 labels `y`.
    ///
    /// ```
    /// use mlflow_ml::models::{ForestParams, ModelError, RandomForest};
    /// use ndarray::array;
    /// let bad = ForestParams { n_trees: 0, ..Default::default() };
    /// let err = RandomForest::fit(array![[0.0], [1.0]].view(), &[0, 1], &bad).unwrap_err();
    /// assert!(matches!(err, ModelError::InvalidParam { param: "n_trees", .. }));
    /// ```
    pub fn fit(x: ArrayView2<'_, f64>, y: &[usize], params: &ForestParams) -> Result<Self, ModelError> {
        if params.n_trees == 0 {
            return Err(invalid(KIND, "n_trees", 0, "at least 1 tree"));
        }
        let tree_params = TreeParams {
            max_depth: params.max_depth,
            min_samples_split: params.min_samples_split,
            min_samples_leaf: params.min_samples_leaf,
            max_features: params.max_features,
            seed: params.seed,
        };
        let config = GrowConfig::new(&tree_params, KIND, x.ncols())?;
        check_training(x, y)?;
        let columns = Columns::new(x);
        let threads = match params.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            t => t,
        }
        .min(params.n_trees);
        let fit_range = |range: std::ops::Range<usize>| -> Vec<DecisionTree> {
            let mut weights = vec![0.0; y.len()];
            range
                .map(|i| {
                    let mut rng = StdRng::seed_from_u64(tree_seed(params.seed, i));
                    if params.bootstrap {
                        weights.iter_mut().for_each(|w| *w = 0.0);
                        for _ in 0..y.len() {
                            weights[rng.gen_range(0..y.len())] += 1.0;
                        }
                    } else {
                        weights.iter_mut().for_each(|w| *w = 1.0);
                    }
                    grow(&columns, y, &weights, &config, &mut rng)
                })
                .collect()
        };
        let per = params.n_trees.div_ceil(threads);
        let ranges: Vec<_> = (0..threads)
            .map(|t| t * per..((t + 1) * per).min(params.n_trees))
            .filter(|r| !r.is_empty())
            .collect();
        let trees = std::thread::scope(|scope| {
            // A chunk whose thread cannot be started (resource limits) is trained on this thread.
            let chunks: Vec<_> = ranges
                .iter()
                .skip(1)
                .map(|r| {
                    let job = r.clone();
                    std::thread::Builder::new()
                        .name("mlflow-forest".into())
                        .spawn_scoped(scope, move || fit_range(job))
                        .map_err(|_| r.clone())
                })
                .collect();
            let mut trees = ranges.first().map_or_else(Vec::new, |r| fit_range(r.clone()));
            for chunk in chunks {
                trees.extend(match chunk {
                    Ok(handle) => handle.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
                    Err(r) => fit_range(r),
                });
            }
            trees
        });
        Ok(RandomForest { n_features: x.ncols(), trees })
    }

    /// The fitted trees, in order of their index.
    ///
    /// ```
    /// use mlflow_ml::models::{ForestParams, RandomForest};
    /// use ndarray::array;
    /// let f = RandomForest::fit(array![[0.0], [1.0]].view(), &[0, 1], &ForestParams { n_trees: 3, ..Default::default() })?;
    /// assert_eq!(f.trees().len(), 3);
    /// # Ok::<(), mlflow_ml::models::ModelError>(())
    /// ```
    pub fn trees(&self) -> &[DecisionTree] {
        &self.trees
    }
}

impl Classifier for RandomForest {
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

impl RandomForest {
    /// P(class 1) for every row of `x`.
    fn positive_proba(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>, ModelError> {
        check_input(x, self.n_features)?;
        if self.trees.is_empty() {
            return Err(ModelError::Corrupt { model: KIND, detail: "the forest has no trees".into() });
        }
        let mut row = vec![0.0; self.n_features];
        let mut out = Array1::zeros(x.nrows());
        for (o, values) in out.iter_mut().zip(x.rows()) {
            row.iter_mut().zip(values.iter()).for_each(|(r, v)| *r = *v);
            let mut sum = 0.0;
            for tree in &self.trees {
                sum += tree.proba_row(&row, KIND)?;
            }
            *o = sum / self.trees.len() as f64;
        }
        Ok(out)
    }
}

/// The seed of tree `index`: a SplitMix64 mix of the forest seed and the index.
fn tree_seed(seed: u64, index: usize) -> u64 {
    let mut z = seed ^ (index as u64).wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    fn data() -> (Array2<f64>, Vec<usize>) {
        let x = Array2::from_shape_fn((60, 4), |(i, j)| ((i * 7 + j * 13) % 17) as f64 + (i % 3) as f64);
        let y = (0..60).map(|i| usize::from((i * 7) % 17 > 8)).collect();
        (x, y)
    }

    #[test]
    fn same_forest_for_any_thread_count() {
        let (x, y) = data();
        let fit = |threads| {
            RandomForest::fit(x.view(), &y, &ForestParams { n_trees: 7, threads, ..Default::default() })
                .unwrap()
        };
        let one = fit(1);
        assert_eq!(one, fit(2));
        assert_eq!(one, fit(3));
        assert_eq!(one, fit(16));
    }

    #[test]
    fn different_seeds_differ_and_trees_differ() {
        let (x, y) = data();
        let a = RandomForest::fit(x.view(), &y, &ForestParams { n_trees: 5, ..Default::default() }).unwrap();
        let b = RandomForest::fit(x.view(), &y, &ForestParams { n_trees: 5, seed: 1, ..Default::default() })
            .unwrap();
        assert_ne!(a, b);
        assert_ne!(a.trees[0], a.trees[1]);
    }
}
