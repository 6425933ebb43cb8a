//! Cross-validation folds: k-fold and stratified k-fold, with scikit-learn's fold indices when
//! unshuffled, a documented seeded shuffle otherwise, and repetitions.

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::{FeatureError, Split};

/// How to cut rows into cross-validation folds: `n_splits` folds, each row in exactly one test
/// fold per repetition, optionally stratified by class, shuffled and repeated.
///
/// Unshuffled, the folds are exactly scikit-learn's: [`CrossValidation::k_fold`] as `KFold`
/// (contiguous test folds, the first `n % k` one row longer) and [`CrossValidation::stratified`] as
/// `StratifiedKFold` (classes numbered in order of first appearance, each class's rows dealt to the
/// folds so that every fold gets a near-equal share of each class). Shuffled
/// ([`CrossValidation::shuffled`]), the same rules apply to rows put in a seeded order: `KFold`'s
/// row indices, or `StratifiedKFold`'s per-class fold assignments, are shuffled by one `StdRng`
/// seeded with the seed (with the pinned `rand` 0.8), so the same seed gives the same folds; they
/// are not numpy's. [`CrossValidation::repeated`] repeats a shuffled cross-validation, each
/// repetition drawing from the same generator, as scikit-learn's `RepeatedKFold` does with its
/// `random_state`.
///
/// Both sides of every [`Split`] are sorted ascending.
///
/// ```
/// use mlflow_ml::features::CrossValidation;
/// let folds = CrossValidation::k_fold(3).splits_of(7)?;
/// let tests: Vec<Vec<usize>> = folds.iter().map(|s| s.test.clone()).collect();
/// assert_eq!(tests, [vec![0, 1, 2], vec![3, 4], vec![5, 6]]); // scikit-learn's KFold(3)
///
/// let labels = [0, 0, 0, 1, 1, 1];
/// let folds = CrossValidation::stratified(3).splits(&labels)?;
/// assert!(folds.iter().all(|s| s.test.len() == 2 && labels[s.test[0]] != labels[s.test[1]]));
/// # Ok::<(), mlflow_ml::features::FeatureError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CrossValidation {
    /// The number of folds (at least 2).
    pub n_splits: usize,
    /// Whether each fold keeps the class proportions of the whole.
    pub stratified: bool,
    /// The seed of the shuffle; `None` keeps the rows in order.
    pub shuffle: Option<u64>,
    /// How many times the whole cross-validation is done (at least 1; more needs a shuffle).
    pub repeats: usize,
}

impl CrossValidation {
    /// `n_splits` folds of consecutive rows (scikit-learn's `KFold(n_splits)`).
    pub fn k_fold(n_splits: usize) -> Self {
        CrossValidation { n_splits, stratified: false, shuffle: None, repeats: 1 }
    }

    /// `n_splits` folds that keep each class's share (scikit-learn's `StratifiedKFold(n_splits)`).
    pub fn stratified(n_splits: usize) -> Self {
        CrossValidation { stratified: true, ..Self::k_fold(n_splits) }
    }

    /// Shuffles the rows with `seed` before cutting them into folds.
    pub fn shuffled(self, seed: u64) -> Self {
        CrossValidation { shuffle: Some(seed), ..self }
    }

    /// Does the cross-validation `repeats` times, shuffled with `seed` (scikit-learn's
    /// `RepeatedKFold` / `RepeatedStratifiedKFold`).
    pub fn repeated(self, repeats: usize, seed: u64) -> Self {
        CrossValidation { repeats, shuffle: Some(seed), ..self }
    }

    /// The number of splits: `n_splits * repeats`.
    pub fn len(&self) -> usize {
        self.n_splits * self.repeats
    }

    /// Never true for a valid cross-validation (`n_splits >= 2`, `repeats >= 1`).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The splits of rows labelled `labels` (class indices), repetition after repetition, fold
    /// after fold. A k-fold that is not stratified only uses the number of labels.
    ///
    /// Errors: fewer than 2 folds, no repetition, repetitions without a shuffle, more folds than
    /// rows, and, stratified, a class with fewer rows than folds (scikit-learn only warns unless
    /// every class is that small; a fold without a class would score it on nothing).
    pub fn splits(&self, labels: &[usize]) -> Result<Vec<Split>, FeatureError> {
        self.check(labels.len())?;
        if !self.stratified {
            return self.splits_of(labels.len());
        }
        let rows_by_class = rows_by_first_appearance(labels);
        if let Some(rows) = rows_by_class.iter().find(|rows| rows.len() < self.n_splits) {
            return Err(FeatureError::ClassTooSmallForFolds {
                class: labels[rows[0]],
                count: rows.len(),
                n_splits: self.n_splits,
            });
        }
        let counts: Vec<usize> = rows_by_class.iter().map(Vec::len).collect();
        let allocation = self.allocation(&counts);
        let mut rng = self.shuffle.map(StdRng::seed_from_u64);
        let mut splits = Vec::with_capacity(self.len());
        for _ in 0..self.repeats {
            let mut test_fold = vec![0usize; labels.len()];
            for (class, rows) in rows_by_class.iter().enumerate() {
                let mut folds: Vec<usize> = (0..self.n_splits)
                    .flat_map(|fold| std::iter::repeat_n(fold, allocation[fold][class]))
                    .collect();
                if let Some(rng) = rng.as_mut() {
                    folds.shuffle(rng);
                }
                for (&row, fold) in rows.iter().zip(folds) {
                    test_fold[row] = fold;
                }
            }
            splits.extend((0..self.n_splits).map(|fold| split_by(&test_fold, fold)));
        }
        Ok(splits)
    }

    /// The splits of `rows` rows without strata (for regression targets), repetition after
    /// repetition, fold after fold.
    ///
    /// Errors: those of [`CrossValidation::splits`], and a stratified cross-validation, which
    /// needs the labels.
    pub fn splits_of(&self, rows: usize) -> Result<Vec<Split>, FeatureError> {
        self.check(rows)?;
        if self.stratified {
            return Err(FeatureError::FoldsNeedLabels { n_splits: self.n_splits });
        }
        let mut rng = self.shuffle.map(StdRng::seed_from_u64);
        let mut splits = Vec::with_capacity(self.len());
        for _ in 0..self.repeats {
            let mut order: Vec<usize> = (0..rows).collect();
            if let Some(rng) = rng.as_mut() {
                order.shuffle(rng);
            }
            let mut test_fold = vec![0usize; rows];
            let mut start = 0;
            for fold in 0..self.n_splits {
                let size = rows / self.n_splits + usize::from(fold < rows % self.n_splits);
                for &row in &order[start..start + size] {
                    test_fold[row] = fold;
                }
                start += size;
            }
            splits.extend((0..self.n_splits).map(|fold| split_by(&test_fold, fold)));
        }
        Ok(splits)
    }

    fn check(&self, rows: usize) -> Result<(), FeatureError> {
        if self.n_splits < 2 || self.repeats == 0 || (self.repeats > 1 && self.shuffle.is_none()) {
            return Err(FeatureError::BadFolds {
                n_splits: self.n_splits,
                repeats: self.repeats,
                shuffled: self.shuffle.is_some(),
            });
        }
        if rows < self.n_splits {
            return Err(FeatureError::TooFewRowsForFolds { rows, n_splits: self.n_splits });
        }
        Ok(())
    }

    /// `allocation[fold][class]`: how many rows of each class go to each test fold, as
    /// scikit-learn deals them: rows sorted by class, then every `n_splits`-th row to a fold.
    fn allocation(&self, counts: &[usize]) -> Vec<Vec<usize>> {
        let sorted: Vec<usize> =
            counts.iter().enumerate().flat_map(|(class, &n)| std::iter::repeat_n(class, n)).collect();
        (0..self.n_splits)
            .map(|fold| {
                let mut per_class = vec![0; counts.len()];
                for &class in sorted.iter().skip(fold).step_by(self.n_splits) {
                    per_class[class] += 1;
                }
                per_class
            })
            .collect()
    }
}

/// The rows of each class, classes in order of first appearance (scikit-learn's encoding in
/// `StratifiedKFold`, which decides how the folds are dealt), rows ascending.
fn rows_by_first_appearance(labels: &[usize]) -> Vec<Vec<usize>> {
    let mut code: BTreeMap<usize, usize> = BTreeMap::new();
    let mut rows: Vec<Vec<usize>> = Vec::new();
    for (row, label) in labels.iter().enumerate() {
        let class = *code.entry(*label).or_insert_with(|| {
            rows.push(Vec::new());
            rows.len() - 1
        });
        rows[class].push(row);
    }
    rows
}

/// The split whose test side is the rows assigned to `fold`.
fn split_by(test_fold: &[usize], fold: usize) -> Split {
    let (test, train): (Vec<usize>, Vec<usize>) =
        (0..test_fold.len()).partition(|&row| test_fold[row] == fold);
    Split { train, test }
}
