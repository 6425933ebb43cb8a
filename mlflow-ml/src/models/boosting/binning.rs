//! Feature binning, as scikit-learn's `_BinMapper`: each feature's non-missing values are cut into
//! at most `max_bins` bins by increasing thresholds, and NaN gets a bin of its own.
//!
//! A feature with at most `max_bins` distinct values gets the midpoints of consecutive distinct
//! values as thresholds; otherwise the `max_bins - 1` interior quantiles of its values (numpy's
//! `percentile(..., method="averaged_inverted_cdf")` at `linspace(0, 100, max_bins + 1)[1:-1]`,
//! duplicates dropped), computed on a seeded sample of 200,000 rows when there are more. A value
//! `v` falls in bin `i` when `thresholds[i - 1] < v <= thresholds[i]`; NaN in bin `max_bins`.

use ndarray::ArrayView2;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::parallel::map_ranges;

/// Thresholds are clipped to this, as scikit-learn's `ALMOST_INF`.
const ALMOST_INF: f64 = 1e300;
/// Rows used to find the thresholds when there are more (scikit-learn's `subsample`).
pub(super) const SUBSAMPLE: usize = 200_000;

/// Feature values mapped to bins, column by column (`columns[f][row]`).
#[derive(Debug)]
pub(super) struct Binned {
    /// One bin index per row, for each feature.
    pub columns: Vec<Vec<u8>>,
    /// Number of rows.
    pub rows: usize,
}

/// The thresholds of every feature of `x`: at most `max_bins - 1` increasing finite values each.
/// NaN values are ignored; `x` must hold no infinities.
pub(super) fn fit_thresholds(
    x: ArrayView2<'_, f64>,
    max_bins: usize,
    seed: u64,
    threads: usize,
) -> Vec<Vec<f64>> {
    let rows = x.nrows();
    let sample: Option<Vec<usize>> = (rows > SUBSAMPLE).then(|| {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..SUBSAMPLE).map(|_| rng.gen_range(0..rows)).collect()
    });
    map_ranges(x.ncols(), threads, |features| {
        features
            .map(|f| {
                let column = x.column(f);
                let mut values: Vec<f64> = match &sample {
                    Some(rows) => rows.iter().map(|&r| column[r]).filter(|v| !v.is_nan()).collect(),
                    None => column.iter().copied().filter(|v| !v.is_nan()).collect(),
                };
                feature_thresholds(&mut values, max_bins)
            })
            .collect::<Vec<_>>()
    })
    .concat()
}

/// The thresholds of one feature from its non-missing values (reordered in place).
pub(super) fn feature_thresholds(values: &mut [f64], max_bins: usize) -> Vec<f64> {
    values.sort_unstable_by(f64::total_cmp);
    let mut distinct: Vec<f64> = Vec::new();
    for &v in values.iter() {
        // -0.0 and 0.0 are one value, as numpy's unique has them.
        if distinct.last() != Some(&v) {
            distinct.push(v);
        }
    }
    if distinct.len() <= 1 {
        return Vec::new();
    }
    let mut thresholds: Vec<f64> = if distinct.len() <= max_bins {
        distinct.windows(2).map(|w| (w[0] + w[1]) / 2.0).collect()
    } else {
        quantiles(values, max_bins)
    };
    thresholds.dedup();
    for t in &mut thresholds {
        *t = t.min(ALMOST_INF);
    }
    thresholds
}

/// numpy's `percentile(sorted, linspace(0, 100, max_bins + 1)[1:-1], method="averaged_inverted_cdf")`,
/// operation for operation.
fn quantiles(sorted: &[f64], max_bins: usize) -> Vec<f64> {
    let n = sorted.len();
    let step = 100.0 / max_bins as f64;
    (1..max_bins)
        .map(|i| {
            let q = (i as f64 * step) / 100.0;
            let virtual_index = n as f64 * q - 1.0;
            let below = virtual_index.floor();
            let gamma = if virtual_index - below == 0.0 { 0.5 } else { 1.0 };
            let (lo, hi) = if virtual_index >= (n - 1) as f64 {
                (n - 1, n - 1)
            } else if virtual_index < 0.0 {
                (0, 0)
            } else {
                (below as usize, below as usize + 1)
            };
            let (a, b) = (sorted[lo], sorted[hi]);
            b - (b - a) * (1.0 - gamma)
        })
        .collect()
}

/// Maps every value of `x` to its bin: the number of thresholds below it, or `missing_bin` for NaN.
pub(super) fn bin_matrix(
    x: ArrayView2<'_, f64>,
    thresholds: &[Vec<f64>],
    missing_bin: u8,
    threads: usize,
) -> Binned {
    let columns = map_ranges(x.ncols(), threads, |features| {
        features
            .map(|f| {
                let t = &thresholds[f];
                x.column(f)
                    .iter()
                    .map(|&v| if v.is_nan() { missing_bin } else { t.partition_point(|&s| s < v) as u8 })
                    .collect::<Vec<u8>>()
            })
            .collect::<Vec<_>>()
    })
    .concat();
    Binned { columns, rows: x.nrows() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn few_values_give_midpoints() {
        let mut v = vec![3.0, 1.0, 2.0, 1.0, 3.0];
        assert_eq!(feature_thresholds(&mut v, 255), [1.5, 2.5]);
        assert!(feature_thresholds(&mut [4.0, 4.0], 255).is_empty());
        assert!(feature_thresholds(&mut [], 255).is_empty());
    }

    #[test]
    fn many_values_give_quantiles() {
        let mut v: Vec<f64> = (0..100).map(f64::from).collect();
        // numpy: percentile(arange(100), [25, 50, 75], method="averaged_inverted_cdf")
        assert_eq!(feature_thresholds(&mut v, 4), [24.5, 49.5, 74.5]);
        let mut w: Vec<f64> = (0..10).map(f64::from).collect();
        // n * q - 1 = 2.333.., 5.666..: the next value up.
        assert_eq!(feature_thresholds(&mut w, 3), [3.0, 6.0]);
    }

    #[test]
    fn bins_follow_thresholds_and_nan_gets_its_own() {
        let x = array![[1.0], [1.5], [2.0], [f64::NAN], [9.0]];
        let b = bin_matrix(x.view(), &[vec![1.5, 2.5]], 255, 1);
        assert_eq!(b.columns[0], [0, 0, 1, 255, 2]);
    }
}
