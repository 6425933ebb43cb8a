//! Numeric drift: Kolmogorov-Smirnov, Wasserstein, PSI and Jensen-Shannon on recorded bins.

use super::special::{kolmogn_sf, ks_outer_prob_inside, ks_prob_outside_square};
use super::{DriftError, DriftTest, Side, Sizes, bad, check_weights, threshold};
use crate::features::quantile;

/// The share PSI gives an empty bin (or category) on either side instead of 0, whose logarithm
/// is infinite; the other shares are left as they are (not renormalized). Common PSI code and
/// Evidently use the same floor (Evidently goes lower when a non-empty share is itself below
/// it).
pub const PSI_EMPTY_BIN: f64 = 1e-4;

/// Numeric bins: `k - 1` increasing cut points make `k` bins `(-inf, c0], (c0, c1], ...,
/// (c_{k-2}, +inf)`, so current values outside the reference's range still land in a bin.
///
/// ```
/// use mlflow_ml::monitor::Bins;
/// let bins = Bins::quantiles(&[1.0, 2.0, 3.0, 4.0, 5.0], 4).unwrap();
/// assert_eq!(bins.cuts(), &[2.0, 3.0, 4.0]);
/// assert_eq!(bins.counts(&[0.0, 2.0, 2.5, 9.0]), vec![2, 1, 0, 1]);
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Bins {
    cuts: Vec<f64>,
}

impl Bins {
    /// Cuts at the reference's `i / n_bins` quantiles (`i = 1 .. n_bins - 1`, numpy's default
    /// linear interpolation), repeated cuts (ties) kept once: fewer bins, never an empty bin
    /// between two equal cuts. Needs `n_bins >= 2` and a non-empty, finite reference.
    pub fn quantiles(reference: &[f64], n_bins: usize) -> Result<Bins, DriftError> {
        if n_bins < 2 {
            return Err(DriftError::TooFewBins { bins: n_bins });
        }
        let sorted = sorted_finite(reference, Side::Reference)?;
        Ok(Bins::of_sorted(&sorted, n_bins))
    }

    /// [`Bins::quantiles`] of values already sorted, finite and not empty, `n_bins` at least 2.
    pub(super) fn of_sorted(sorted: &[f64], n_bins: usize) -> Bins {
        let mut cuts: Vec<f64> = (1..n_bins).map(|i| quantile(sorted, i as f64 / n_bins as f64)).collect();
        cuts.dedup();
        Bins { cuts }
    }

    /// Bins from recorded cut points (e.g. a previous result's [`Bins::cuts`]): at least one, finite,
    /// strictly increasing.
    pub fn from_cuts(cuts: Vec<f64>) -> Result<Bins, DriftError> {
        if cuts.is_empty() {
            return Err(DriftError::TooFewBins { bins: 1 });
        }
        if let Some(i) = cuts.iter().position(|c| !c.is_finite()) {
            return bad(format!("cut {i} is {}: cuts are finite", cuts[i]));
        }
        if let Some(i) = cuts.windows(2).position(|w| w[0] >= w[1]) {
            return bad(format!(
                "cuts {} and {} are not increasing: sort them, each once",
                cuts[i],
                cuts[i + 1]
            ));
        }
        Ok(Bins { cuts })
    }

    /// The cut points.
    pub fn cuts(&self) -> &[f64] {
        &self.cuts
    }

    /// The number of bins (cuts + 1).
    pub fn len(&self) -> usize {
        self.cuts.len() + 1
    }

    /// Always false: there are at least two bins.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// How many of `values` fall in each bin (a value equal to a cut goes to the bin below it).
    pub fn counts(&self, values: &[f64]) -> Vec<usize> {
        let mut counts = vec![0; self.len()];
        for v in values {
            counts[self.cuts.partition_point(|c| c < v)] += 1;
        }
        counts
    }
}

fn sorted_finite(values: &[f64], side: Side) -> Result<Vec<f64>, DriftError> {
    if values.is_empty() {
        return Err(DriftError::Empty { side });
    }
    if let Some(row) = values.iter().position(|v| !v.is_finite()) {
        return Err(DriftError::NotFinite { side, row, value: values[row] });
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    Ok(sorted)
}

/// The values of a column with nulls (`None`) taken out and counted.
fn values_of(column: &[Option<f64>], side: Side) -> Result<(Vec<f64>, usize), DriftError> {
    if column.is_empty() {
        return Err(DriftError::Empty { side });
    }
    let mut values = Vec::with_capacity(column.len());
    for (row, v) in column.iter().enumerate() {
        match v {
            Some(x) if !x.is_finite() => return Err(DriftError::NotFinite { side, row, value: *x }),
            Some(x) => values.push(*x),
            None => {}
        }
    }
    let nulls = column.len() - values.len();
    if values.is_empty() {
        return Err(DriftError::AllNull { side, nulls });
    }
    Ok((values, nulls))
}

/// How [`ks_2samp`] computed its p-value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum KsMethod {
    /// Lattice-path count: both samples at most 10 000 values, and the count gave a probability
    /// (scipy, and we, fall back to the asymptotic form when rounding puts it above 1).
    Exact,
    /// The Kolmogorov distribution `kstwo` at `n = round(m n / (m + n))`.
    Asymptotic,
}

/// A two-sample Kolmogorov-Smirnov test.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct KsTest {
    /// The largest gap between the two empirical distribution functions.
    pub statistic: f64,
    /// The two-sided p-value.
    pub p_value: f64,
    /// Exact or asymptotic.
    pub method: KsMethod,
}

/// scipy's `ks_2samp(reference, current)` (two-sided, `method="auto"`): exact when neither sample
/// has more than 10 000 values (falling back to asymptotic if the count fails), else
/// `kstwo.sf(d, round(m n / (m + n)))`. As scipy, the exact method reports `d` rounded to the
/// lattice, `h / lcm(m, n)`.
///
/// ```
/// use mlflow_ml::monitor::{ks_2samp, KsMethod};
/// let ks = ks_2samp(&[1.0, 2.0, 3.0, 4.0], &[5.0, 6.0, 7.0, 8.0]).unwrap();
/// assert_eq!((ks.statistic, ks.method), (1.0, KsMethod::Exact));
/// assert!((ks.p_value - 2.0 / 70.0).abs() < 1e-15);
/// ```
pub fn ks_2samp(reference: &[f64], current: &[f64]) -> Result<KsTest, DriftError> {
    let a = sorted_finite(reference, Side::Reference)?;
    let b = sorted_finite(current, Side::Current)?;
    let (n1, n2) = (a.len(), b.len());
    let (mut max_s, mut min_diff) = (f64::NEG_INFINITY, f64::INFINITY);
    let (mut i, mut j) = (0, 0);
    while i < n1 || j < n2 {
        let v = match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) => x.min(y),
            (Some(&x), None) => x,
            (None, Some(&y)) => y,
            (None, None) => break,
        };
        while i < n1 && a[i] <= v {
            i += 1;
        }
        while j < n2 && b[j] <= v {
            j += 1;
        }
        let diff = i as f64 / n1 as f64 - j as f64 / n2 as f64;
        max_s = max_s.max(diff);
        min_diff = min_diff.min(diff);
    }
    let min_s = (-min_diff).clamp(0.0, 1.0);
    let d = if min_s > max_s { min_s } else { max_s };
    Ok(ks_p_value(d, n1, n2))
}

/// The two-sided p-value of a two-sample Kolmogorov-Smirnov statistic `d` (the largest gap
/// between the empirical distribution functions of `n1` and `n2` values), as [`ks_2samp`]
/// computes it: for callers that have `d` without both samples at hand (e.g. from value
/// counts). `n1` and `n2` must be at least 1.
///
/// ```
/// use mlflow_ml::monitor::{ks_2samp, ks_p_value};
/// let ks = ks_2samp(&[1.0, 2.0, 3.0, 4.0], &[3.5, 6.0, 7.0, 8.0]).unwrap();
/// assert_eq!(ks_p_value(0.75, 4, 4), ks);
/// ```
pub fn ks_p_value(d: f64, n1: usize, n2: usize) -> KsTest {
    let mut d = d;
    let (m, n) = (n1.max(1) as u64, n2.max(1) as u64);
    let g = gcd(m, n);
    if n1.max(n2) <= 10_000 {
        let lcm = (m / g) * n;
        let h = (d * lcm as f64).round_ties_even() as u64;
        d = h as f64 / lcm as f64;
        if h == 0 {
            return KsTest { statistic: d, p_value: 1.0, method: KsMethod::Exact };
        }
        let p = if m == n { ks_prob_outside_square(m, h) } else { ks_outer_prob_inside(m, n, g, h) };
        if (0.0..=1.0).contains(&p) {
            return KsTest { statistic: d, p_value: p, method: KsMethod::Exact };
        }
    }
    let (mf, nf) = (m.max(n) as f64, m.min(n) as f64);
    let en = mf * nf / (mf + nf);
    let p = kolmogn_sf(en.round_ties_even() as u64, d).clamp(0.0, 1.0);
    KsTest { statistic: d, p_value: p, method: KsMethod::Asymptotic }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// scipy's `wasserstein_distance(u, v)`: the area between the two empirical distribution
/// functions, in the values' unit.
///
/// ```
/// use mlflow_ml::monitor::wasserstein_distance;
/// assert_eq!(wasserstein_distance(&[0.0, 1.0, 3.0], &[5.0, 6.0, 8.0]).unwrap(), 5.0);
/// ```
pub fn wasserstein_distance(u: &[f64], v: &[f64]) -> Result<f64, DriftError> {
    let u = sorted_finite(u, Side::Reference)?;
    let v = sorted_finite(v, Side::Current)?;
    let mut all: Vec<f64> = u.iter().chain(&v).copied().collect();
    all.sort_by(f64::total_cmp);
    let (nu, nv) = (u.len() as f64, v.len() as f64);
    let (mut i, mut j, mut sum) = (0, 0, 0.0);
    for w in all.windows(2) {
        while i < u.len() && u[i] <= w[0] {
            i += 1;
        }
        while j < v.len() && v[j] <= w[0] {
            j += 1;
        }
        sum += (i as f64 / nu - j as f64 / nv).abs() * (w[1] - w[0]);
    }
    Ok(sum)
}

/// [`wasserstein_distance`] divided by the reference's standard deviation (`ddof = 0`, numpy's
/// `np.std`), floored at 0.001 as Evidently's `wasserstein_distance_norm` does so a constant
/// reference does not divide by zero.
///
/// ```
/// use mlflow_ml::monitor::wasserstein_normed;
/// let w = wasserstein_normed(&[0.0, 2.0], &[1.0, 3.0]).unwrap();
/// assert!((w - 1.0).abs() < 1e-15); // distance 1, reference std 1
/// ```
pub fn wasserstein_normed(reference: &[f64], current: &[f64]) -> Result<f64, DriftError> {
    let distance = wasserstein_distance(reference, current)?;
    let n = reference.len() as f64;
    let mean = reference.iter().sum::<f64>() / n;
    let std = (reference.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n).sqrt();
    Ok(distance / std.max(0.001))
}

/// The population stability index of two histograms (counts over the same bins or categories):
/// `Σ (c - r) ln(c / r)` over the shares `r` (reference) and `c` (current), an empty share taken
/// as [`PSI_EMPTY_BIN`].
///
/// ```
/// use mlflow_ml::monitor::psi;
/// assert_eq!(psi(&[5.0, 5.0], &[5.0, 5.0]).unwrap(), 0.0);
/// let v = psi(&[50.0, 50.0], &[25.0, 75.0]).unwrap();
/// assert!((v - 0.25 * 3f64.ln()).abs() < 1e-15);
/// ```
pub fn psi(reference_counts: &[f64], current_counts: &[f64]) -> Result<f64, DriftError> {
    check_weights(reference_counts, current_counts)?;
    let (tr, tc) = (reference_counts.iter().sum::<f64>(), current_counts.iter().sum::<f64>());
    let floor = |x: f64| if x == 0.0 { PSI_EMPTY_BIN } else { x };
    Ok(reference_counts
        .iter()
        .zip(current_counts)
        .map(|(r, c)| {
            let (r, c) = (floor(r / tr), floor(c / tc));
            (c - r) * (c / r).ln()
        })
        .sum())
}

/// scipy's `jensenshannon(p, q)` (natural log): the square root of the Jensen-Shannon divergence
/// of two histograms, each normalized to sum to 1. An empty bin needs no epsilon: its term is
/// `0 ln 0 = 0`, and the mixture is never empty where either side is not. 0 for equal
/// histograms, at most `sqrt(ln 2)`.
///
/// ```
/// use mlflow_ml::monitor::jensen_shannon;
/// assert_eq!(jensen_shannon(&[1.0, 1.0], &[3.0, 3.0]).unwrap(), 0.0);
/// let disjoint = jensen_shannon(&[1.0, 0.0], &[0.0, 1.0]).unwrap();
/// assert!((disjoint - 2f64.ln().sqrt()).abs() < 1e-15);
/// ```
pub fn jensen_shannon(p: &[f64], q: &[f64]) -> Result<f64, DriftError> {
    check_weights(p, q)?;
    let (sp, sq) = (p.iter().sum::<f64>(), q.iter().sum::<f64>());
    let rel_entr = |x: f64, y: f64| if x > 0.0 { x * (x / y).ln() } else { 0.0 };
    let (mut left, mut right) = (0.0, 0.0);
    for (a, b) in p.iter().zip(q) {
        let (a, b) = (a / sp, b / sq);
        let m = (a + b) / 2.0;
        left += rel_entr(a, m);
        right += rel_entr(b, m);
    }
    Ok(((left + right) / 2.0).max(0.0).sqrt())
}

/// Options of [`numeric_drift`].
///
/// ```
/// use mlflow_ml::monitor::{numeric_drift, DriftTest, NumericOptions};
/// let train: Vec<Option<f64>> = (0..500).map(|i| Some((i % 100) as f64)).collect();
/// let week1: Vec<Option<f64>> = (0..300).map(|i| Some((i % 90) as f64)).collect();
/// let first = numeric_drift(&train, &week1, DriftTest::Psi, &NumericOptions::default()).unwrap();
/// // Later runs reuse the recorded bins (the reference need not be at hand to cut them again).
/// let options = NumericOptions { bins: Some(first.bins.clone()), threshold: Some(0.2), ..Default::default() };
/// let again = numeric_drift(&train, &week1, DriftTest::Psi, &options).unwrap();
/// assert_eq!((again.statistic, again.threshold), (first.statistic, 0.2));
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NumericOptions {
    /// The threshold; `None` takes [`DriftTest::default_threshold`].
    pub threshold: Option<f64>,
    /// Bins to reuse (a previous result's); `None` makes [`Bins::quantiles`] of the reference.
    pub bins: Option<Bins>,
    /// How many reference-quantile bins when `bins` is `None` (default 10).
    pub n_bins: usize,
}

impl Default for NumericOptions {
    fn default() -> Self {
        NumericOptions { threshold: None, bins: None, n_bins: 10 }
    }
}

/// The drift of a numeric column.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NumericDrift {
    /// The test that ran.
    pub test: DriftTest,
    /// The distance, or the test statistic of a p-value test (the KS `D`).
    pub statistic: f64,
    /// The p-value of a p-value test.
    pub p_value: Option<f64>,
    /// How the KS p-value was computed (for [`DriftTest::Ks`]).
    pub ks_method: Option<KsMethod>,
    /// The threshold applied.
    pub threshold: f64,
    /// Whether the column drifted.
    pub drifted: bool,
    /// The bins (recorded whichever the test, to reuse with [`NumericOptions::bins`]).
    pub bins: Bins,
    /// Reference values per bin.
    pub reference_counts: Vec<usize>,
    /// Current values per bin.
    pub current_counts: Vec<usize>,
    /// Values compared and nulls, per side.
    pub sizes: Sizes,
}

/// Compares a numeric column's reference and current values (`None` is a null) with `test`:
/// [`DriftTest::Ks`], [`DriftTest::Wasserstein`], [`DriftTest::Psi`] or
/// [`DriftTest::JensenShannon`] (the last two on the bins).
///
/// ```
/// use mlflow_ml::monitor::{numeric_drift, DriftTest, NumericOptions};
/// let reference: Vec<Option<f64>> = (0..100).map(|i| Some(i as f64)).collect();
/// let mut current: Vec<Option<f64>> = (0..100).map(|i| Some(i as f64 + 50.0)).collect();
/// current.push(None);
/// let drift = numeric_drift(&reference, &current, DriftTest::Psi, &NumericOptions::default()).unwrap();
/// assert!(drift.drifted);
/// assert_eq!((drift.bins.len(), drift.sizes.current_nulls), (10, 1));
/// assert_eq!(drift.current_counts[9], 60); // 90..149, above the reference's top decile 89.1
/// ```
pub fn numeric_drift(
    reference: &[Option<f64>],
    current: &[Option<f64>],
    test: DriftTest,
    options: &NumericOptions,
) -> Result<NumericDrift, DriftError> {
    let (r, reference_nulls) = values_of(reference, Side::Reference)?;
    let (c, current_nulls) = values_of(current, Side::Current)?;
    let threshold = threshold(test, options.threshold)?;
    let bins = match &options.bins {
        Some(bins) => bins.clone(),
        None => Bins::quantiles(&r, options.n_bins)?,
    };
    let (reference_counts, current_counts) = (bins.counts(&r), bins.counts(&c));
    let as_f64 = |v: &[usize]| v.iter().map(|&x| x as f64).collect::<Vec<_>>();
    let (rc, cc) = (as_f64(&reference_counts), as_f64(&current_counts));
    let (statistic, p_value, ks_method) = match test {
        DriftTest::Ks => {
            let ks = ks_2samp(&r, &c)?;
            (ks.statistic, Some(ks.p_value), Some(ks.method))
        }
        DriftTest::Wasserstein => (wasserstein_normed(&r, &c)?, None, None),
        DriftTest::Psi => (psi(&rc, &cc)?, None, None),
        DriftTest::JensenShannon => (jensen_shannon(&rc, &cc)?, None, None),
        _ => {
            return Err(DriftError::WrongTest {
                test,
                kind: "numeric",
                hint: "use Ks, Wasserstein, Psi or JensenShannon, or compare the values as categories with categorical_drift",
            });
        }
    };
    let drifted = test.drifted(p_value.unwrap_or(statistic), threshold);
    Ok(NumericDrift {
        test,
        statistic,
        p_value,
        ks_method,
        threshold,
        drifted,
        bins,
        reference_counts,
        current_counts,
        sizes: Sizes { reference: r.len(), current: c.len(), reference_nulls, current_nulls },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_as_numpy() {
        // np.quantile([1, 2, 4, 8], [1/3, 2/3]) = [2.0, 4.0]; 0.5 of [1, 2] is 1.5.
        assert_eq!(quantile(&[1.0, 2.0, 4.0, 8.0], 1.0 / 3.0), 2.0);
        assert_eq!(quantile(&[1.0, 2.0], 0.5), 1.5);
        assert_eq!(Bins::quantiles(&[3.0; 5], 10).unwrap().cuts(), &[3.0]);
    }

    #[test]
    fn bad_bins_are_refused() {
        assert_eq!(Bins::quantiles(&[1.0], 1), Err(DriftError::TooFewBins { bins: 1 }));
        assert!(Bins::from_cuts(vec![2.0, 1.0]).is_err());
        assert!(Bins::from_cuts(vec![f64::NAN]).is_err());
    }
}
