//! Random forests: bootstrapped CART trees with features sampled at every split, for
//! classification ([`RandomForest`]) and regression ([`ForestRegressor`]), trained in parallel by
//! one routine.

use ndarray::{Array1, Array2, ArrayView2};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::regressor::{Regressor, check_regression_training};
use super::tree::mean_proba;
use super::tree_grow::{Columns, Criterion, Gini, GrowConfig, SquaredError, grow};
use super::tree_regressor::predict_rows;
use super::{
    Classifier, DecisionTree, MaxFeatures, ModelError, TreeParams, TreeRegressor, check_classes, check_input,
    invalid,
};

pub(super) const KIND: &str = "random forest";
pub(super) const REGRESSOR_KIND: &str = "random forest regressor";

/// Hyperparameters of a [`RandomForest`] or a [`ForestRegressor`]; `Default` is scikit-learn's
/// `RandomForestClassifier()` (100 trees, `sqrt(n_features)` features per split, bootstrap
/// samples, fully grown trees), and [`ForestParams::regression`] its `RandomForestRegressor()`
/// (the same but every feature examined at every split).
///
/// ```
/// use mlflow_ml::models::{ForestParams, MaxFeatures};
/// let p = ForestParams::default();
/// assert_eq!((p.n_trees, p.max_features, p.bootstrap), (100, MaxFeatures::Sqrt, true));
/// assert_eq!(ForestParams::regression().max_features, MaxFeatures::All);
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

impl ForestParams {
    /// scikit-learn's `RandomForestRegressor()` defaults: as [`ForestParams::default`] but with
    /// [`MaxFeatures::All`] (its `max_features=1.0`), the defaults to give a [`ForestRegressor`].
    ///
    /// ```
    /// use mlflow_ml::models::{ForestParams, MaxFeatures};
    /// let p = ForestParams { n_trees: 50, ..ForestParams::regression() };
    /// assert_eq!((p.n_trees, p.max_features, p.bootstrap), (50, MaxFeatures::All, true));
    /// ```
    pub fn regression() -> ForestParams {
        ForestParams { max_features: MaxFeatures::All, ..ForestParams::default() }
    }

    /// The settings of each tree.
    fn tree_params(&self) -> TreeParams {
        TreeParams {
            max_depth: self.max_depth,
            min_samples_split: self.min_samples_split,
            min_samples_leaf: self.min_samples_leaf,
            max_features: self.max_features,
            seed: self.seed,
        }
    }
}

/// Grows `params.n_trees` trees for `criterion` on parallel scoped threads: tree `i` on its own
/// bootstrap sample (or all rows), drawn from a generator seeded from `(seed, i)` only, so the
/// trees are the same whatever the thread count.
fn grow_forest<C: Criterion>(
    columns: &Columns,
    criterion: &C,
    params: &ForestParams,
    config: &GrowConfig,
) -> Vec<Vec<C::Node>> {
    let n = columns.rows();
    let threads = match params.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        t => t,
    }
    .min(params.n_trees);
    let fit_range = |range: std::ops::Range<usize>| -> Vec<Vec<C::Node>> {
        let mut weights = vec![0.0; n];
        range
            .map(|i| {
                let mut rng = StdRng::seed_from_u64(tree_seed(params.seed, i));
                if params.bootstrap {
                    weights.iter_mut().for_each(|w| *w = 0.0);
                    for _ in 0..n {
                        weights[rng.gen_range(0..n)] += 1.0;
                    }
                } else {
                    weights.iter_mut().for_each(|w| *w = 1.0);
                }
                grow(columns, criterion, &weights, config, &mut rng)
            })
            .collect()
    };
    let per = params.n_trees.div_ceil(threads);
    let ranges: Vec<_> = (0..threads)
        .map(|t| t * per..((t + 1) * per).min(params.n_trees))
        .filter(|r| !r.is_empty())
        .collect();
    std::thread::scope(|scope| {
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
    })
}

/// A fitted random forest of CART classification trees, as scikit-learn's
/// `RandomForestClassifier`, for any number of classes.
///
/// Each tree is grown on a bootstrap sample with a fresh random subset of features examined at
/// every split. Trees are trained in parallel on scoped threads; tree `i` uses a generator seeded
/// from `(seed, i)` only, so the forest is identical for a seed whatever the thread count.
/// `predict_proba` is the **mean over trees of the class fractions of the leaf** each row falls in
/// (scikit-learn's way; with fully grown trees this is close to the fraction of trees voting for
/// each class). A tree whose bootstrap sample misses a class still gives every class a column
/// (probability 0), so every tree has the forest's `k` classes.
///
/// ```
/// use mlflow_ml::models::{Classifier, ForestParams, RandomForest};
/// use ndarray::array;
/// let x = array![[0.0, 1.0], [1.0, 1.0], [2.0, 0.0], [3.0, 0.0]];
/// let forest = RandomForest::fit(x.view(), &[0, 0, 1, 1], &ForestParams { n_trees: 20, ..Default::default() })?;
/// assert_eq!(forest.trees().len(), 20);
/// let p = forest.predict_positive(array![[3.0, 0.0], [0.0, 1.0]].view())?;
/// assert!(p[0] > 0.5 && p[1] < 0.5);
/// // Three classes: one probability column each.
/// let x = array![[0.0], [0.5], [1.0], [5.0], [5.5], [6.0], [10.0], [10.5], [11.0]];
/// let y = [0, 0, 0, 1, 1, 1, 2, 2, 2];
/// let forest = RandomForest::fit(x.view(), &y, &ForestParams { n_trees: 20, ..Default::default() })?;
/// assert_eq!(forest.n_classes(), 3);
/// assert_eq!(forest.predict(array![[0.2], [5.2], [10.8]].view())?.to_vec(), [0, 1, 2]);
/// assert_eq!(forest.predict_proba(array![[5.2]].view())?.ncols(), 3);
/// # Ok::<(), mlflow_ml::models::ModelError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RandomForest {
    n_features: usize,
    trees: Vec<DecisionTree>,
}

impl RandomForest {
    /// Fits a forest on `x` (rows = samples) and class indices `y` (`0..k`, every class present,
    /// `k >= 2`); fails as [`DecisionTree::fit`] does, and on `n_trees == 0`.
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
        let config = GrowConfig::new(&params.tree_params(), KIND, x.ncols())?;
        let counts = check_classes(x, y)?;
        let columns = Columns::new(x);
        let gini = Gini { y, classes: counts.len() };
        let trees = grow_forest(&columns, &gini, params, &config)
            .into_iter()
            .map(|nodes| DecisionTree::from_nodes(x.ncols(), nodes))
            .collect();
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

    /// The number of classes, read from the first tree: 2 for a binary forest.
    fn n_classes(&self) -> usize {
        self.trees.first().map_or(2, |t| t.n_classes())
    }

    fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>, ModelError> {
        check_input(x, self.n_features)?;
        if self.trees.is_empty() {
            return Err(ModelError::Corrupt { model: KIND, detail: "the forest has no trees".into() });
        }
        mean_proba(x, self.n_classes(), self.trees.len(), |row, sums| {
            self.trees.iter().try_for_each(|tree| tree.add_leaf_proba(row, sums, KIND))
        })
    }
}

/// A fitted random forest of CART regression trees, as scikit-learn's `RandomForestRegressor`.
///
/// Trained as [`RandomForest`] is (bootstrap samples, features drawn at every split, parallel
/// scoped threads, the same forest for a seed whatever the thread count), with
/// [`TreeRegressor`]'s squared-error trees; a prediction is the **mean over trees of the leaf
/// value** (each leaf's weighted mean target; summed, then divided by the number of trees, as
/// scikit-learn does, unless the sum overflows). Give it [`ForestParams::regression`] for
/// scikit-learn's defaults (every feature examined at every split).
///
/// ```
/// use mlflow_ml::models::{ForestParams, ForestRegressor, Regressor};
/// use ndarray::array;
/// let x = array![[0.0], [1.0], [2.0], [3.0], [10.0], [11.0], [12.0], [13.0]];
/// let y = [1.0, 1.5, 1.0, 1.5, 10.0, 10.5, 10.0, 10.5];
/// let params = ForestParams { n_trees: 20, ..ForestParams::regression() };
/// let forest = ForestRegressor::fit(x.view(), &y, &params)?;
/// assert_eq!(forest.trees().len(), 20);
/// let p = forest.predict(array![[1.5], [11.5]].view())?;
/// assert!(p[0] < 3.0 && p[1] > 8.0);
/// # Ok::<(), mlflow_ml::models::ModelError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForestRegressor {
    n_features: usize,
    trees: Vec<TreeRegressor>,
}

impl ForestRegressor {
    /// Fits a forest on `x` (rows = samples) and targets `y` (one per row); fails as
    /// [`TreeRegressor::fit`] does, and on `n_trees == 0`.
    ///
    /// ```
    /// use mlflow_ml::models::{ForestParams, ForestRegressor, ModelError};
    /// use ndarray::array;
    /// let x = array![[0.0], [1.0]];
    /// let err = ForestRegressor::fit(x.view(), &[f64::INFINITY, 1.0], &ForestParams::regression()).unwrap_err();
    /// assert!(matches!(err, ModelError::NonFiniteTarget { row: 0, .. }));
    /// ```
    pub fn fit(x: ArrayView2<'_, f64>, y: &[f64], params: &ForestParams) -> Result<Self, ModelError> {
        if params.n_trees == 0 {
            return Err(invalid(REGRESSOR_KIND, "n_trees", 0, "at least 1 tree"));
        }
        let config = GrowConfig::new(&params.tree_params(), REGRESSOR_KIND, x.ncols())?;
        check_regression_training(x, y)?;
        let columns = Columns::new(x);
        let trees = grow_forest(&columns, &SquaredError::new(y), params, &config)
            .into_iter()
            .map(|nodes| TreeRegressor::from_nodes(x.ncols(), nodes))
            .collect();
        Ok(ForestRegressor { n_features: x.ncols(), trees })
    }

    /// The fitted trees, in order of their index.
    ///
    /// ```
    /// use mlflow_ml::models::{ForestParams, ForestRegressor};
    /// use ndarray::array;
    /// let params = ForestParams { n_trees: 3, ..ForestParams::regression() };
    /// let f = ForestRegressor::fit(array![[0.0], [1.0]].view(), &[0.0, 1.0], &params)?;
    /// assert_eq!(f.trees().len(), 3);
    /// # Ok::<(), mlflow_ml::models::ModelError>(())
    /// ```
    pub fn trees(&self) -> &[TreeRegressor] {
        &self.trees
    }
}

impl Regressor for ForestRegressor {
    fn n_features(&self) -> usize {
        self.n_features
    }

    fn predict(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>, ModelError> {
        check_input(x, self.n_features)?;
        if self.trees.is_empty() {
            return Err(ModelError::Corrupt {
                model: REGRESSOR_KIND,
                detail: "the forest has no trees".into(),
            });
        }
        let n = self.trees.len() as f64;
        predict_rows(x, |row| {
            let sum =
                self.trees.iter().try_fold(0.0, |sum, tree| Ok(sum + tree.value(row, REGRESSOR_KIND)?))?;
            if sum.is_finite() {
                return Ok(sum / n);
            }
            // Leaf values near f64::MAX: their sum overflows, the sum of their n-ths does not.
            self.trees.iter().try_fold(0.0, |sum, tree| Ok(sum + tree.value(row, REGRESSOR_KIND)? / n))
        })
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

    #[test]
    fn a_bootstrap_sample_missing_a_class_still_gives_every_column() {
        // Class 2 is a single row of 40: about a third of the bootstrap samples miss it.
        let x = Array2::from_shape_fn((40, 2), |(i, j)| (i * (j + 1)) as f64);
        let mut y: Vec<usize> = (0..40).map(|i| usize::from(i >= 20)).collect();
        y[39] = 2;
        let f = RandomForest::fit(x.view(), &y, &ForestParams { n_trees: 12, ..Default::default() }).unwrap();
        let missing = f
            .trees
            .iter()
            .filter(|t| {
                t.nodes().iter().all(|n| match n {
                    crate::models::TreeNode::Classes { proba, .. } => proba[2] == 0.0,
                    _ => true,
                })
            })
            .count();
        assert!(missing > 0, "no tree missed class 2; pick another seed");
        assert!(f.trees.iter().all(|t| t.n_classes() == 3));
        let p = f.predict_proba(x.view()).unwrap();
        assert_eq!(p.ncols(), 3);
        for row in p.rows() {
            assert!((row.sum() - 1.0).abs() < 1e-12, "{row}");
        }
    }

    #[test]
    fn regression_forest_is_the_same_for_any_thread_count() {
        let (x, y) = data();
        let y: Vec<f64> = y.iter().enumerate().map(|(i, &c)| c as f64 * 3.0 + (i % 5) as f64).collect();
        let fit = |threads| {
            let p = ForestParams { n_trees: 7, threads, ..ForestParams::regression() };
            ForestRegressor::fit(x.view(), &y, &p).unwrap()
        };
        let one = fit(1);
        assert_eq!(one, fit(2));
        assert_eq!(one, fit(16));
        assert_ne!(one.trees[0], one.trees[1]);
    }
}
