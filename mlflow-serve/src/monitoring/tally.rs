//! Value counts of a window's column, and drift measured from them.
//!
//! A window of a million predictions holds few distinct values per column (a model's inputs are
//! mostly indicators, small counts and binned numbers), so each column is kept as a count per
//! distinct value, streamed in one record at a time. The drift statistics are then computed on
//! the sorted distinct values with their counts, which gives exactly the numbers
//! [`Preset::numeric`] gives on the rows (the same test, the same breakpoints, the same sums in
//! the same order; `tally_matches_the_preset_on_rows` checks it), without sorting or formatting
//! a million values.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use mlflow_ml::monitor::{
    Bins, CategoricalDrift, CategoryCount, ColumnDrift, ColumnProfile, DriftError, DriftTest, NumericDrift,
    Preset, Sizes, categorical_drift_of_counts, jensen_shannon, ks_p_value, psi,
};

/// A fast hash of a float's bits: the keys are not chosen by an adversary (they are a model's
/// inputs, read from our own log), and SipHash would be most of the time spent.
#[derive(Default, Clone, Copy)]
pub(crate) struct BitsHasher(u64);

impl Hasher for BitsHasher {
    fn finish(&self) -> u64 {
        // murmur3's fmix64: every input bit reaches the low bits the table indexes by (a float's
        // low mantissa bits are often all zero).
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }

    fn write_u64(&mut self, x: u64) {
        self.0 = self.0.rotate_left(5) ^ x;
    }
}

/// Distinct values a tally counts in a hash map; beyond, it keeps every value and sorts them
/// once (a continuous column, e.g. a probability: counting a million distinct keys costs more
/// than one sort).
const MAX_DISTINCT: usize = 1 << 16;

/// The counts of one column's values in a window: each distinct finite value and how often it
/// came, and the rows without a finite value (NaN or an infinity: missing, as the reference
/// profile counts them).
#[derive(Debug, Clone, Default)]
pub(crate) struct Tally {
    counts: HashMap<u64, u64, BuildHasherDefault<BitsHasher>>,
    /// Every value, once there were more than [`MAX_DISTINCT`] distinct ones.
    spilled: Option<Vec<f64>>,
    nulls: u64,
}

impl Tally {
    /// Counts one value.
    #[inline]
    pub(crate) fn add(&mut self, value: f64) {
        if !value.is_finite() {
            self.nulls += 1;
            return;
        }
        // -0.0 and 0.0 are one value.
        let value = value + 0.0;
        if let Some(values) = &mut self.spilled {
            values.push(value);
            return;
        }
        *self.counts.entry(value.to_bits()).or_insert(0) += 1;
        if self.counts.len() > MAX_DISTINCT {
            let n = self.counts.values().sum::<u64>() as usize;
            let mut values = Vec::with_capacity(n.max(1 << 20));
            for (bits, count) in self.counts.drain() {
                values.extend(std::iter::repeat_n(f64::from_bits(bits), count as usize));
            }
            self.counts = HashMap::default();
            self.spilled = Some(values);
        }
    }

    /// Rows without a finite value.
    pub(crate) fn nulls(&self) -> u64 {
        self.nulls
    }

    /// Rows with a finite value.
    pub(crate) fn values(&self) -> u64 {
        self.counts.values().sum::<u64>() + self.spilled.as_ref().map_or(0, |v| v.len() as u64)
    }

    /// The distinct values, ascending, with their counts.
    pub(crate) fn sorted(&self) -> Vec<(f64, u64)> {
        if let Some(values) = &self.spilled {
            let mut values = values.clone();
            values.sort_unstable_by(f64::total_cmp);
            return run_lengths(&values);
        }
        let mut v: Vec<(f64, u64)> =
            self.counts.iter().map(|(&bits, &c)| (f64::from_bits(bits), c)).collect();
        v.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        v
    }
}

/// The drift of a window's column (counted in `current`) against a numeric reference profile,
/// by `preset`'s rules, as [`Preset::numeric`] measures it on the rows: the reference is the
/// profile's sample (every training value up to [`mlflow_ml::monitor::SAMPLE_MAX`]), and the
/// bins are the profile's (its bin counts over all training rows).
pub(crate) fn tally_drift(
    preset: &Preset,
    reference: &ColumnProfile,
    current: &Tally,
) -> Result<ColumnDrift, DriftError> {
    let Some(summary) = reference.numeric.as_ref() else {
        return Err(DriftError::BadInput {
            detail: format!(
                "the reference profile of `{}` has no numbers (no finite training value): nothing to compare with",
                reference.name
            ),
        });
    };
    let r: Vec<(f64, u64)> = run_lengths(&summary.sample);
    let c = current.sorted();
    if r.is_empty() {
        return Err(DriftError::AllNull {
            side: mlflow_ml::monitor::Side::Reference,
            nulls: reference.nulls,
        });
    }
    if c.is_empty() {
        let nulls = current.nulls() as usize;
        return Err(match nulls {
            0 => DriftError::Empty { side: mlflow_ml::monitor::Side::Current },
            nulls => DriftError::AllNull { side: mlflow_ml::monitor::Side::Current, nulls },
        });
    }
    let n_reference = summary.sample.len();
    let distinct = merged(&r, &c).len();
    let test = preset.numeric_test(n_reference, distinct);
    let threshold = preset.threshold(test);
    let sizes = Sizes {
        reference: n_reference,
        current: current.values() as usize,
        reference_nulls: 0,
        current_nulls: current.nulls() as usize,
    };
    if matches!(test, DriftTest::ChiSquare | DriftTest::ZTest)
        || (test == DriftTest::JensenShannon && matches!(preset, Preset::Evidently { .. }))
    {
        return categorical(&r, &c, test, threshold, sizes).map(ColumnDrift::Categorical);
    }
    let bins = summary.bins.clone();
    let reference_counts = if summary.bin_counts.len() == bins.len() {
        summary.bin_counts.clone()
    } else {
        bin_counts(&bins, &r)
    };
    let current_counts = bin_counts(&bins, &c);
    let as_f64 = |v: &[usize]| v.iter().map(|&x| x as f64).collect::<Vec<_>>();
    let (rc, cc) = (as_f64(&reference_counts), as_f64(&current_counts));
    let (statistic, p_value, ks_method) = match test {
        DriftTest::Ks => {
            let ks = ks_p_value(ks_statistic(&r, &c), sizes.reference, sizes.current);
            (ks.statistic, Some(ks.p_value), Some(ks.method))
        }
        DriftTest::Wasserstein => (wasserstein_normed(&summary.sample, &r, &c), None, None),
        DriftTest::Psi => (psi(&rc, &cc)?, None, None),
        DriftTest::JensenShannon => (jensen_shannon(&rc, &cc)?, None, None),
        other => {
            return Err(DriftError::BadInput { detail: format!("{other:?} is not a numeric test") });
        }
    };
    let drifted = test.drifted(p_value.unwrap_or(statistic), threshold);
    Ok(ColumnDrift::Numeric(NumericDrift {
        test,
        statistic,
        p_value,
        ks_method,
        threshold,
        drifted,
        bins,
        reference_counts,
        current_counts,
        sizes,
    }))
}

/// Sorted values as (value, count) runs.
fn run_lengths(sorted: &[f64]) -> Vec<(f64, u64)> {
    let mut out: Vec<(f64, u64)> = Vec::new();
    for &v in sorted.iter().filter(|v| v.is_finite()) {
        match out.last_mut() {
            Some((last, n)) if *last == v => *n += 1,
            _ => out.push((v, 1)),
        }
    }
    out
}

/// The distinct values of both sides, ascending.
fn merged(r: &[(f64, u64)], c: &[(f64, u64)]) -> Vec<f64> {
    let mut all: Vec<f64> = r.iter().chain(c).map(|(v, _)| v + 0.0).collect();
    all.sort_unstable_by(f64::total_cmp);
    all.dedup();
    all
}

fn bin_counts(bins: &Bins, values: &[(f64, u64)]) -> Vec<usize> {
    let mut counts = vec![0usize; bins.len()];
    for &(v, n) in values {
        counts[bins.cuts().partition_point(|c| *c < v)] += n as usize;
    }
    counts
}

/// The KS statistic of `ks_2samp`, from the runs of both sides.
fn ks_statistic(a: &[(f64, u64)], b: &[(f64, u64)]) -> f64 {
    let n1 = a.iter().map(|x| x.1).sum::<u64>() as f64;
    let n2 = b.iter().map(|x| x.1).sum::<u64>() as f64;
    let (mut i, mut j, mut ci, mut cj) = (0, 0, 0u64, 0u64);
    let (mut max_s, mut min_diff) = (f64::NEG_INFINITY, f64::INFINITY);
    while i < a.len() || j < b.len() {
        let v = match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) => x.0.min(y.0),
            (Some(x), None) => x.0,
            (None, Some(y)) => y.0,
            (None, None) => break,
        };
        while i < a.len() && a[i].0 <= v {
            ci += a[i].1;
            i += 1;
        }
        while j < b.len() && b[j].0 <= v {
            cj += b[j].1;
            j += 1;
        }
        let diff = ci as f64 / n1 - cj as f64 / n2;
        max_s = max_s.max(diff);
        min_diff = min_diff.min(diff);
    }
    let min_s = (-min_diff).clamp(0.0, 1.0);
    if min_s > max_s { min_s } else { max_s }
}

/// scipy's `wasserstein_distance` over the runs, divided by the reference's standard deviation
/// (floored at 0.001), as `wasserstein_normed` on the rows.
fn wasserstein_normed(reference: &[f64], u: &[(f64, u64)], v: &[(f64, u64)]) -> f64 {
    let nu = u.iter().map(|x| x.1).sum::<u64>() as f64;
    let nv = v.iter().map(|x| x.1).sum::<u64>() as f64;
    let points = merged(u, v);
    let (mut i, mut j, mut ci, mut cj, mut sum) = (0, 0, 0u64, 0u64, 0.0);
    for w in points.windows(2) {
        while i < u.len() && u[i].0 <= w[0] {
            ci += u[i].1;
            i += 1;
        }
        while j < v.len() && v[j].0 <= w[0] {
            cj += v[j].1;
            j += 1;
        }
        sum += (ci as f64 / nu - cj as f64 / nv).abs() * (w[1] - w[0]);
    }
    let n = reference.len() as f64;
    let mean = reference.iter().sum::<f64>() / n;
    let std = (reference.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n).sqrt();
    sum / std.max(0.001)
}

/// A numeric column with few values compared as categories (its values written as Rust writes
/// them), as `categorical_drift` compares them.
fn categorical(
    r: &[(f64, u64)],
    c: &[(f64, u64)],
    test: DriftTest,
    threshold: f64,
    sizes: Sizes,
) -> Result<CategoricalDrift, DriftError> {
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for &(v, n) in r {
        counts.entry(format!("{}", v + 0.0)).or_default().0 += n as usize;
    }
    for &(v, n) in c {
        counts.entry(format!("{}", v + 0.0)).or_default().1 += n as usize;
    }
    let categories: Vec<CategoryCount> = counts
        .into_iter()
        .map(|(category, (reference, current))| CategoryCount { category, reference, current })
        .collect();
    categorical_drift_of_counts(categories, sizes, test, threshold)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlflow_ml::monitor::profile_column;

    fn profile(values: &[f64]) -> ColumnProfile {
        profile_column("x", &mlflow_ml::data::Column::Float(values.iter().map(|v| Some(*v)).collect()))
    }

    fn tally(values: &[f64]) -> Tally {
        let mut t = Tally::default();
        values.iter().for_each(|v| t.add(*v));
        t
    }

    fn check(preset: Preset, reference: &[f64], current: &[f64]) -> ColumnDrift {
        let p = profile(reference);
        let got = tally_drift(&preset, &p, &tally(current)).unwrap();
        // The profile's sample is sorted: the reference's standard deviation sums in that order.
        let mut sorted = reference.to_vec();
        sorted.sort_by(f64::total_cmp);
        let r: Vec<Option<f64>> = sorted.iter().map(|v| Some(*v)).collect();
        let c: Vec<Option<f64>> = current.iter().map(|v| v.is_finite().then_some(*v)).collect();
        let want = preset.numeric(&r, &c).unwrap();
        match (&got, &want) {
            // The preset's numeric path cuts bins from the rows; the profile's are the same cuts.
            (ColumnDrift::Numeric(g), ColumnDrift::Numeric(w)) => {
                assert_eq!(g.bins, w.bins);
                assert_eq!(
                    (g.test, g.statistic, g.p_value, g.drifted),
                    (w.test, w.statistic, w.p_value, w.drifted)
                );
                assert_eq!(
                    (&g.reference_counts, &g.current_counts),
                    (&w.reference_counts, &w.current_counts)
                );
                assert_eq!(g.sizes, w.sizes);
            }
            _ => assert_eq!(got, want),
        }
        got
    }

    #[test]
    fn tally_matches_the_preset_on_rows() {
        let reference: Vec<f64> = (0..700).map(|i| ((i * 37) % 101) as f64 / 3.0).collect();
        let same: Vec<f64> = (0..5000).map(|i| ((i * 53) % 101) as f64 / 3.0).collect();
        let shifted: Vec<f64> = same.iter().map(|v| v + 4.0).collect();
        let d = check(Preset::evidently(), &reference, &same);
        assert_eq!((d.test(), d.drifted()), (DriftTest::Ks, false));
        let d = check(Preset::evidently(), &reference, &shifted);
        assert_eq!((d.test(), d.drifted()), (DriftTest::Ks, true));
        check(Preset::Tfdv, &reference, &shifted);
        // Above 1000 reference values: Wasserstein.
        let big: Vec<f64> = (0..3000).map(|i| ((i * 7) % 997) as f64).collect();
        let cur: Vec<f64> = (0..4000).map(|i| ((i * 11) % 997) as f64 * 1.1).collect();
        assert_eq!(check(Preset::evidently(), &big, &cur).test(), DriftTest::Wasserstein);
        // Few values: chi-square, z-test, Jensen-Shannon (large), with a new category and NaN.
        let three: Vec<f64> = (0..600).map(|i| (i % 3) as f64).collect();
        let mut cur3: Vec<f64> = (0..900).map(|i| (i % 4) as f64).collect();
        cur3.push(f64::NAN);
        assert_eq!(check(Preset::evidently(), &three, &cur3).test(), DriftTest::ChiSquare);
        let two: Vec<f64> = (0..600).map(|i| (i % 2) as f64).collect();
        let cur2: Vec<f64> = (0..900).map(|i| ((i % 5) == 0) as u8 as f64).collect();
        assert_eq!(check(Preset::evidently(), &two, &cur2).test(), DriftTest::ZTest);
        let two_big: Vec<f64> = (0..3000).map(|i| (i % 2) as f64).collect();
        assert_eq!(check(Preset::evidently(), &two_big, &cur2).test(), DriftTest::JensenShannon);
    }

    #[test]
    fn many_distinct_values_are_sorted_instead_of_counted() {
        let distinct = MAX_DISTINCT + 1000;
        let values: Vec<f64> = (0..2 * distinct).map(|i| ((i * 7919) % distinct) as f64 / 8.0).collect();
        let t = tally(&values);
        assert!(t.spilled.is_some());
        assert_eq!(t.values(), values.len() as u64);
        let sorted = t.sorted();
        assert_eq!(sorted.len(), distinct);
        assert!(sorted.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(sorted.iter().all(|x| x.1 == 2));
    }

    #[test]
    fn non_finite_values_are_nulls_and_zero_has_one_sign() {
        let t = tally(&[0.0, -0.0, f64::NAN, f64::INFINITY, 1.5]);
        assert_eq!((t.values(), t.nulls()), (3, 2));
        assert_eq!(t.sorted(), vec![(0.0, 2), (1.5, 1)]);
    }

    #[test]
    fn an_all_null_window_is_an_error_not_a_panic() {
        let p = profile(&[1.0, 2.0, 3.0]);
        let err = tally_drift(&Preset::evidently(), &p, &tally(&[f64::NAN])).unwrap_err();
        assert!(matches!(err, DriftError::AllNull { nulls: 1, .. }), "{err:?}");
    }
}
