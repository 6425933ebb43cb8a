//! Categorical drift: chi-square, z-test, Jensen-Shannon, L-infinity and PSI on category
//! frequencies, with the categories the reference never saw.

use std::collections::BTreeMap;

use super::numeric::{jensen_shannon, psi};
use super::special::{chi2_sf, erfc};
use super::{DriftError, DriftTest, Side, Sizes, bad, check_weights, threshold};

/// A chi-square goodness-of-fit test.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ChiSquare {
    /// `Σ (o - e)² / e`; infinite when a category is observed but not expected.
    pub statistic: f64,
    /// The p-value, `chi2.sf(statistic, dof)`; 1 when there is a single category (scipy: NaN).
    pub p_value: f64,
    /// Degrees of freedom: categories - 1.
    pub dof: usize,
}

/// scipy's `chisquare(observed, expected)`: both of the same length, not negative, their sums
/// equal to 1e-8 relative (as scipy requires). An expected count of 0 where something was
/// observed gives an infinite statistic and p-value 0, as in scipy; `0` observed of `0` expected
/// adds nothing (scipy: NaN).
///
/// ```
/// use mlflow_ml::monitor::chi_square;
/// let t = chi_square(&[10.0, 20.0, 30.0], &[20.0, 20.0, 20.0]).unwrap();
/// assert_eq!((t.statistic, t.dof), (10.0, 2));
/// assert!((t.p_value - (-5.0f64).exp()).abs() < 1e-14); // chi2.sf(10, 2) = e^-5
/// ```
pub fn chi_square(observed: &[f64], expected: &[f64]) -> Result<ChiSquare, DriftError> {
    check_weights(observed, expected)?;
    let (so, se) = (observed.iter().sum::<f64>(), expected.iter().sum::<f64>());
    if (so - se).abs() / so.min(se) > 1e-8 {
        return bad(format!(
            "observed counts sum to {so} and expected to {se}: scale the expected counts to the observed total"
        ));
    }
    Ok(chi_square_unchecked(observed, expected))
}

/// A two-proportion z-test.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ZTest {
    /// `(p1 - p2) / sqrt(P (1 - P) (1/n1 + 1/n2))`, `P` the pooled proportion.
    pub statistic: f64,
    /// The two-sided p-value `2 (1 - Φ(|z|))`, computed as `erfc(|z| / √2)`.
    pub p_value: f64,
}

/// Evidently's two-proportion z-test (`z_stattest.py`): `k1` successes of `n1` against `k2` of
/// `n2`; p-value 1 when the pooled proportion is 0 or 1 (both samples all one value, where
/// Evidently answers 1 as well).
///
/// ```
/// use mlflow_ml::monitor::z_test;
/// let z = z_test(50, 100, 50, 100).unwrap();
/// assert_eq!((z.statistic, z.p_value), (0.0, 1.0));
/// ```
pub fn z_test(k1: usize, n1: usize, k2: usize, n2: usize) -> Result<ZTest, DriftError> {
    if n1 == 0 || n2 == 0 || k1 > n1 || k2 > n2 {
        return bad(format!(
            "{k1} of {n1} and {k2} of {n2}: give successes <= trials, at least one trial each"
        ));
    }
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let (p1, p2) = (k1 as f64 / n1f, k2 as f64 / n2f);
    let pooled = (p1 * n1f + p2 * n2f) / (n1f + n2f);
    let var = pooled * (1.0 - pooled) * (1.0 / n1f + 1.0 / n2f);
    if var <= 0.0 {
        return Ok(ZTest { statistic: 0.0, p_value: 1.0 });
    }
    let statistic = (p1 - p2) / var.sqrt();
    Ok(ZTest { statistic, p_value: erfc(statistic.abs() / std::f64::consts::SQRT_2).min(1.0) })
}

/// TFDV's L-infinity distance: the largest absolute difference between the two normalized
/// histograms (counts over the same categories).
///
/// ```
/// use mlflow_ml::monitor::l_infinity;
/// assert_eq!(l_infinity(&[1.0, 1.0], &[3.0, 1.0]).unwrap(), 0.25);
/// ```
pub fn l_infinity(p: &[f64], q: &[f64]) -> Result<f64, DriftError> {
    check_weights(p, q)?;
    let (sp, sq) = (p.iter().sum::<f64>(), q.iter().sum::<f64>());
    Ok(p.iter().zip(q).map(|(a, b)| (a / sp - b / sq).abs()).fold(0.0, f64::max))
}

/// Options of [`categorical_drift`].
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CategoricalOptions {
    /// The threshold; `None` takes [`DriftTest::default_threshold`].
    pub threshold: Option<f64>,
}

/// One category's counts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CategoryCount {
    /// The category.
    pub category: String,
    /// Rows in the reference.
    pub reference: usize,
    /// Rows in the current sample.
    pub current: usize,
}

/// The drift of a categorical column.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CategoricalDrift {
    /// The test that ran.
    pub test: DriftTest,
    /// The distance, or the test statistic of a p-value test (chi-square, z).
    pub statistic: f64,
    /// The p-value of a p-value test.
    pub p_value: Option<f64>,
    /// The threshold applied.
    pub threshold: f64,
    /// Whether the column drifted.
    pub drifted: bool,
    /// Every category of either side, sorted, with both counts.
    pub categories: Vec<CategoryCount>,
    /// Categories of the current sample the reference never had.
    pub new_categories: Vec<String>,
    /// The share of current (non-null) rows in those categories.
    pub new_category_share: f64,
    /// Categories of the reference absent from the current sample.
    pub missing_categories: Vec<String>,
    /// Values compared and nulls, per side.
    pub sizes: Sizes,
}

/// Compares a categorical column's reference and current values (`None` is a null) with `test`:
/// [`DriftTest::ChiSquare`] (current counts against reference frequencies scaled to the current
/// total, as Evidently does), [`DriftTest::ZTest`] (the first category against the rest),
/// [`DriftTest::JensenShannon`], [`DriftTest::LInfinity`] or [`DriftTest::Psi`], over every
/// category of either side. A category new in the current sample makes the chi-square statistic
/// infinite (p-value 0): it is drift, and listed in [`CategoricalDrift::new_categories`].
///
/// ```
/// use mlflow_ml::monitor::{categorical_drift, CategoricalOptions, DriftTest};
/// let reference = [Some("a"), Some("a"), Some("b"), None];
/// let current = [Some("a"), Some("b"), Some("c"), Some("c")];
/// let d = categorical_drift(&reference, &current, DriftTest::LInfinity, &CategoricalOptions::default()).unwrap();
/// assert!((d.statistic - 0.5).abs() < 1e-15); // c: 0 -> 1/2
/// assert_eq!((d.new_categories.as_slice(), d.new_category_share), (&["c".to_string()][..], 0.5));
/// assert_eq!((d.sizes.reference, d.sizes.reference_nulls), (3, 1));
/// assert!(d.drifted);
/// ```
pub fn categorical_drift<R: AsRef<str>, C: AsRef<str>>(
    reference: &[Option<R>],
    current: &[Option<C>],
    test: DriftTest,
    options: &CategoricalOptions,
) -> Result<CategoricalDrift, DriftError> {
    let threshold = threshold(test, options.threshold)?;
    let mut counts: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut sizes = Sizes::default();
    let r: Vec<Option<&str>> = reference.iter().map(|v| v.as_ref().map(AsRef::as_ref)).collect();
    let c: Vec<Option<&str>> = current.iter().map(|v| v.as_ref().map(AsRef::as_ref)).collect();
    let (rn, cn) = (r.len(), c.len());
    sizes.reference_nulls = tally(&mut counts, Side::Reference, &r)?;
    sizes.current_nulls = tally(&mut counts, Side::Current, &c)?;
    sizes.reference = rn - sizes.reference_nulls;
    sizes.current = cn - sizes.current_nulls;

    let categories: Vec<CategoryCount> = counts
        .iter()
        .map(|(k, &(reference, current))| CategoryCount { category: k.to_string(), reference, current })
        .collect();
    categorical_drift_of_counts(categories, sizes, test, threshold)
}

/// [`categorical_drift`] from counts already made: every category of either side, sorted by
/// name, with both counts, the sizes they add up to, and the threshold to apply (a test's
/// [`DriftTest::default_threshold`], or your own). For callers that count while streaming.
///
/// ```
/// use mlflow_ml::monitor::{categorical_drift_of_counts, CategoryCount, DriftTest, Sizes};
/// let categories = vec![
///     CategoryCount { category: "a".into(), reference: 2, current: 1 },
///     CategoryCount { category: "b".into(), reference: 1, current: 1 },
///     CategoryCount { category: "c".into(), reference: 0, current: 2 },
/// ];
/// let sizes = Sizes { reference: 3, current: 4, ..Sizes::default() };
/// let d = categorical_drift_of_counts(categories, sizes, DriftTest::LInfinity, 0.3)?;
/// assert!((d.statistic - 0.5).abs() < 1e-15 && d.drifted);
/// # Ok::<(), mlflow_ml::monitor::DriftError>(())
/// ```
pub fn categorical_drift_of_counts(
    categories: Vec<CategoryCount>,
    sizes: Sizes,
    test: DriftTest,
    threshold: f64,
) -> Result<CategoricalDrift, DriftError> {
    if categories.is_empty() || sizes.reference == 0 || sizes.current == 0 {
        let (side, nulls) = if sizes.reference == 0 {
            (Side::Reference, sizes.reference_nulls)
        } else {
            (Side::Current, sizes.current_nulls)
        };
        return Err(DriftError::AllNull { side, nulls });
    }
    let new_categories: Vec<String> =
        categories.iter().filter(|c| c.reference == 0).map(|c| c.category.clone()).collect();
    let new_rows: usize = categories.iter().filter(|c| c.reference == 0).map(|c| c.current).sum();
    let missing_categories =
        categories.iter().filter(|c| c.current == 0).map(|c| c.category.clone()).collect();
    let rc: Vec<f64> = categories.iter().map(|c| c.reference as f64).collect();
    let cc: Vec<f64> = categories.iter().map(|c| c.current as f64).collect();
    let (statistic, p_value) = match test {
        DriftTest::ChiSquare => {
            let scale = sizes.current as f64 / sizes.reference as f64;
            let expected: Vec<f64> = rc.iter().map(|r| r * scale).collect();
            let t = chi_square_unchecked(&cc, &expected);
            (t.statistic, Some(t.p_value))
        }
        DriftTest::ZTest => {
            // Evidently: the first category (sorted) is 0, every other is 1; both sides all one
            // and the same value is p = 1.
            let first = &categories[0];
            let z = z_test(
                sizes.reference - first.reference,
                sizes.reference,
                sizes.current - first.current,
                sizes.current,
            )?;
            (z.statistic, Some(z.p_value))
        }
        DriftTest::JensenShannon => (jensen_shannon(&rc, &cc)?, None),
        DriftTest::LInfinity => (l_infinity(&rc, &cc)?, None),
        DriftTest::Psi => (psi(&rc, &cc)?, None),
        _ => {
            return Err(DriftError::WrongTest {
                test,
                kind: "categorical",
                hint: "use ChiSquare, ZTest, JensenShannon, LInfinity or Psi (Ks and Wasserstein need numbers)",
            });
        }
    };
    let drifted = test.drifted(p_value.unwrap_or(statistic), threshold);
    Ok(CategoricalDrift {
        test,
        statistic,
        p_value,
        threshold,
        drifted,
        categories,
        new_categories,
        new_category_share: new_rows as f64 / sizes.current as f64,
        missing_categories,
        sizes,
    })
}

/// Adds a side's values to the counts; its nulls, or an error when it has no value.
fn tally<'a>(
    counts: &mut BTreeMap<&'a str, (usize, usize)>,
    side: Side,
    values: &[Option<&'a str>],
) -> Result<usize, DriftError> {
    if values.is_empty() {
        return Err(DriftError::Empty { side });
    }
    let nulls = values.iter().filter(|v| v.is_none()).count();
    if nulls == values.len() {
        return Err(DriftError::AllNull { side, nulls });
    }
    for v in values.iter().flatten() {
        let e = counts.entry(v).or_default();
        if side == Side::Reference { e.0 += 1 } else { e.1 += 1 }
    }
    Ok(nulls)
}

/// [`chi_square`] without the checks (the expected counts are scaled here, their sum equal to
/// the observed one up to rounding).
fn chi_square_unchecked(observed: &[f64], expected: &[f64]) -> ChiSquare {
    let statistic = observed
        .iter()
        .zip(expected)
        .map(|(o, e)| if *o == 0.0 && *e == 0.0 { 0.0 } else { (o - e) * (o - e) / e })
        .sum::<f64>();
    let dof = observed.len() - 1;
    let p_value = if dof == 0 { 1.0 } else { chi2_sf(statistic, dof as f64) };
    ChiSquare { statistic, p_value, dof }
}
