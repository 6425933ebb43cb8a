//! The boosting loop shared by the classifier and the regressor: bin the features, start from the
//! baseline, grow one tree per class per round on the loss's gradients, and stop early on the
//! validation loss (scikit-learn's `scoring="loss"`).

use ndarray::{Array2, ArrayView2, Axis};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::binning::{bin_matrix, fit_thresholds};
use super::grower::Grower;
use super::loss::Loss;
use super::parallel::resolve_threads;
use super::predictor::Tree;
use super::{BoostingParams, EarlyStopping};
use crate::models::ModelError;

/// Early stopping is on for `EarlyStopping::Auto` above this many rows (scikit-learn's rule).
pub(super) const AUTO_EARLY_STOPPING_ROWS: usize = 10_000;

/// A fitted sequence of boosting rounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Ensemble {
    /// The raw prediction before any tree, one per tree of a round.
    pub baseline: Vec<f64>,
    /// `rounds[i][k]`: the tree of round `i` for raw column `k`.
    pub rounds: Vec<Vec<Tree>>,
    /// Each feature's bin thresholds.
    pub thresholds: Vec<Vec<f64>>,
    /// Mean validation loss at the baseline and after each round, when early stopping was on.
    pub validation_loss: Vec<f64>,
}

impl Ensemble {
    /// Fits the rounds; `y` holds targets, or class indices as `f64` for the classifiers. The
    /// caller has checked the data and the params.
    pub fn fit(x: ArrayView2<'_, f64>, y: &[f64], loss: Loss, params: &BoostingParams) -> Ensemble {
        let threads = resolve_threads(params.threads);
        let n = x.nrows();
        let early_stopping = match params.early_stopping {
            EarlyStopping::Auto => n > AUTO_EARLY_STOPPING_ROWS,
            EarlyStopping::On => true,
            EarlyStopping::Off => false,
        };
        let split =
            early_stopping.then(|| validation_split(y, loss, params.validation_fraction, params.seed));
        let (x_train, y_train, x_val, y_val) = match &split {
            Some((train, val)) if !train.is_empty() && !val.is_empty() => (
                x.select(Axis(0), train),
                train.iter().map(|&i| y[i]).collect(),
                Some(x.select(Axis(0), val)),
                val.iter().map(|&i| y[i]).collect(),
            ),
            _ => (x.to_owned(), y.to_vec(), None, Vec::new()),
        };
        let n_train = x_train.nrows();
        let thresholds = fit_thresholds(x_train.view(), params.max_bins, params.seed, threads);
        let missing_bin = params.max_bins as u8;
        let binned = bin_matrix(x_train.view(), &thresholds, missing_bin, threads);
        let has_missing: Vec<bool> = binned.columns.iter().map(|c| c.contains(&missing_bin)).collect();
        let n_bins_non_missing: Vec<usize> = thresholds.iter().map(|t| t.len() + 1).collect();
        let grower = Grower {
            binned: &binned,
            thresholds: &thresholds,
            n_bins_non_missing: &n_bins_non_missing,
            has_missing: &has_missing,
            n_bins: params.max_bins + 1,
            max_leaf_nodes: params.max_leaf_nodes,
            max_depth: params.max_depth,
            min_samples_leaf: params.min_samples_leaf,
            l2: params.l2_regularization,
            shrinkage: params.learning_rate,
            threads,
        };
        let k = loss.trees_per_round();
        let baseline = loss.baseline(&y_train);
        let mut raw: Vec<Vec<f64>> = baseline.iter().map(|&b| vec![b; n_train]).collect();
        let mut g = vec![vec![0.0f32; n_train]; k];
        let mut h = vec![vec![if loss.constant_hessian() { 1.0f32 } else { 0.0 }; n_train]; k];
        let mut raw_val: Vec<Vec<f64>> = baseline.iter().map(|&b| vec![b; y_val.len()]).collect();
        let mut validation_loss = Vec::new();
        let mut scores = Vec::new();
        if x_val.is_some() {
            let l = loss.mean_loss(&y_val, &raw_val);
            validation_loss.push(l);
            scores.push(-l);
        }
        let mut rounds = Vec::with_capacity(params.max_iter);
        for _ in 0..params.max_iter {
            loss.gradients(&y_train, &raw, &mut g, &mut h);
            let mut round = Vec::with_capacity(k);
            for class in 0..k {
                let hessians = (!loss.constant_hessian()).then_some(h[class].as_slice());
                let grown = grower.grow(&g[class], hessians);
                let column = &mut raw[class];
                for &(start, stop, value) in &grown.leaves {
                    for &row in &grown.partition[start..stop] {
                        column[row as usize] += value;
                    }
                }
                if let Some(xv) = &x_val {
                    for (r, row) in raw_val[class].iter_mut().zip(xv.rows()) {
                        // The tree was just grown on these features: every link is valid.
                        *r += grown.tree.predict_row(row, "").unwrap_or(0.0);
                    }
                }
                round.push(grown.tree);
            }
            rounds.push(round);
            if x_val.is_some() {
                let l = loss.mean_loss(&y_val, &raw_val);
                validation_loss.push(l);
                scores.push(-l);
                if should_stop(&scores, params.n_iter_no_change, params.tol) {
                    break;
                }
            }
        }
        Ensemble { baseline, rounds, thresholds, validation_loss }
    }

    /// Raw predictions: one row per row of `x`, one column per tree of a round.
    pub fn raw_predict(&self, x: ArrayView2<'_, f64>, kind: &'static str) -> Result<Array2<f64>, ModelError> {
        let k = self.baseline.len();
        if self.rounds.iter().any(|r| r.len() != k) {
            return Err(ModelError::Corrupt {
                model: kind,
                detail: format!("a round does not have {k} trees, one per baseline value"),
            });
        }
        let mut out = Array2::zeros((x.nrows(), k));
        for (mut o, row) in out.rows_mut().into_iter().zip(x.rows()) {
            for (class, o) in o.iter_mut().enumerate() {
                let mut sum = self.baseline[class];
                for round in &self.rounds {
                    sum += round[class].predict_row(row, kind)?;
                }
                *o = sum;
            }
        }
        Ok(out)
    }
}

/// scikit-learn's `_should_stop`: stop when none of the last `n_iter_no_change` scores beats the
/// one before them by more than `tol`.
fn should_stop(scores: &[f64], n_iter_no_change: usize, tol: f64) -> bool {
    let reference = n_iter_no_change + 1;
    if scores.len() < reference {
        return false;
    }
    let reference_score = scores[scores.len() - reference] + tol;
    !scores[scores.len() - reference + 1..].iter().any(|&s| s > reference_score)
}

/// Training and validation rows (each in increasing order): `ceil(fraction * n)` validation rows
/// drawn with a generator seeded from `seed`, stratified by class for the classifiers (each
/// class's share by largest remainder).
fn validation_split(y: &[f64], loss: Loss, fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let n = y.len();
    let n_val = ((fraction * n as f64).ceil() as usize).min(n);
    let mut rng = StdRng::seed_from_u64(seed);
    let groups: Vec<Vec<usize>> = match loss {
        Loss::Squared => vec![(0..n).collect()],
        _ => {
            let k = y.iter().fold(0usize, |m, &c| m.max(c as usize + 1));
            let mut groups = vec![Vec::new(); k];
            for (i, &c) in y.iter().enumerate() {
                groups[c as usize].push(i);
            }
            groups
        }
    };
    // Largest remainder: each group's floor share, then one more to the largest remainders.
    let mut shares: Vec<usize> = groups.iter().map(|g| g.len() * n_val / n).collect();
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by_key(|&c| std::cmp::Reverse((groups[c].len() * n_val) % n));
    let mut left = n_val - shares.iter().sum::<usize>();
    for &c in &order {
        if left == 0 {
            break;
        }
        if shares[c] < groups[c].len() {
            shares[c] += 1;
            left -= 1;
        }
    }
    let mut val = Vec::with_capacity(n_val);
    for (mut group, share) in groups.into_iter().zip(shares) {
        group.shuffle(&mut rng);
        val.extend_from_slice(&group[..share]);
    }
    val.sort_unstable();
    let mut is_val = vec![false; n];
    val.iter().for_each(|&i| is_val[i] = true);
    let train = (0..n).filter(|&i| !is_val[i]).collect();
    (train, val)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_after_n_rounds_without_improvement() {
        assert!(!should_stop(&[-3.0, -2.0], 1, 0.0));
        assert!(!should_stop(&[-3.0, -2.0, -1.0], 2, 0.0));
        assert!(should_stop(&[-3.0, -2.0, -2.0, -2.5], 2, 0.0));
        assert!(should_stop(&[-3.0, -2.0, -1.99, -1.995], 2, 0.1));
    }

    #[test]
    fn split_is_stratified_and_seeded() {
        let y: Vec<f64> = (0..100).map(|i| if i < 70 { 0.0 } else { 1.0 }).collect();
        let (train, val) = validation_split(&y, Loss::Binary, 0.1, 3);
        assert_eq!((train.len(), val.len()), (90, 10));
        assert_eq!(val.iter().filter(|&&i| i >= 70).count(), 3);
        assert_eq!(validation_split(&y, Loss::Binary, 0.1, 3), (train, val.clone()));
        assert_ne!(validation_split(&y, Loss::Binary, 0.1, 4).1, val);
        let (train, val) = validation_split(&y, Loss::Squared, 0.25, 0);
        assert_eq!((train.len(), val.len()), (75, 25));
    }
}
