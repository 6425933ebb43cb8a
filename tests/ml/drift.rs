//! Drift statistics equal to scipy's (and to numpy's PSI, L-infinity and Evidently's z-test) on
//! the cases of tests/fixtures/drift (made by its generate.py), the presets' choices, and refused
//! inputs. Run with `--nocapture` to see the largest gaps to the reference values.

use mlflow::data::Column;
use mlflow::monitor::{
    Bins, CategoricalOptions, DriftError, DriftTest, KsMethod, NumericOptions, Preset, Side,
    categorical_drift, chi_square, dataset_drift, jensen_shannon, ks_2samp, l_infinity, numeric_drift, psi,
    wasserstein_distance, wasserstein_normed,
};

/// A sample: its values, or the recipe of a large one (see generate.py's `gen`).
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Sample {
    Values(Vec<f64>),
    Recipe { n: u64, a: u64, b: u64, c: u64, scale: f64, shift: f64, floor: bool },
}

impl Sample {
    fn values(&self) -> Vec<f64> {
        match self {
            Sample::Values(v) => v.clone(),
            Sample::Recipe { n, a, b, c, scale, shift, floor } => (0..*n)
                .map(|i| {
                    let u = ((a * i * i + b * i + c) % 1_000_003) as f64 / 1_000_003.0;
                    if *floor { (u * scale).floor() + shift } else { u * scale + shift }
                })
                .collect(),
        }
    }
}

#[derive(serde::Deserialize)]
struct Fixture {
    ks: Vec<KsCase>,
    wasserstein: Vec<WassersteinCase>,
    jensenshannon: Vec<JsCase>,
    chisquare: Vec<ChiCase>,
    numeric: Vec<NumericCase>,
    categorical: Vec<CategoricalCase>,
}

#[derive(serde::Deserialize)]
struct KsCase {
    name: String,
    reference: Sample,
    current: Sample,
    statistic: f64,
    p_value: f64,
    method: String,
}

#[derive(serde::Deserialize)]
struct WassersteinCase {
    name: String,
    u: Vec<f64>,
    v: Vec<f64>,
    distance: f64,
    normed: f64,
}

#[derive(serde::Deserialize)]
struct JsCase {
    p: Vec<f64>,
    q: Vec<f64>,
    distance: f64,
}

#[derive(serde::Deserialize)]
struct ChiCase {
    observed: Vec<f64>,
    expected: Vec<f64>,
    statistic: f64,
    p_value: f64,
}

#[derive(serde::Deserialize)]
struct NumericCase {
    name: String,
    n_bins: usize,
    reference: Vec<Option<f64>>,
    current: Vec<Option<f64>>,
    cuts: Vec<f64>,
    reference_counts: Vec<usize>,
    current_counts: Vec<usize>,
    psi: f64,
    jensenshannon: f64,
    ks_statistic: f64,
    ks_p_value: f64,
    wasserstein_normed: f64,
    reference_nulls: usize,
    current_nulls: usize,
}

#[derive(serde::Deserialize)]
struct CategoricalCase {
    name: String,
    reference: Vec<Option<String>>,
    current: Vec<Option<String>>,
    categories: Vec<String>,
    reference_counts: Vec<usize>,
    current_counts: Vec<usize>,
    /// `None` is an infinite statistic (a category only in the current sample).
    chi_statistic: Option<f64>,
    chi_p_value: Option<f64>,
    jensenshannon: f64,
    linf: f64,
    psi: f64,
    z_statistic: f64,
    z_p_value: f64,
    new_share: f64,
}

fn fixture() -> Fixture {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/drift/drift.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The largest absolute and relative gaps seen for one statistic; each gap must be within 1e-9.
struct Gaps {
    name: &'static str,
    abs: f64,
    rel: f64,
}

impl Gaps {
    fn new(name: &'static str) -> Gaps {
        Gaps { name, abs: 0.0, rel: 0.0 }
    }

    fn check(&mut self, label: &str, ours: f64, reference: f64) {
        let abs = (ours - reference).abs();
        let rel = if reference == 0.0 { abs } else { abs / reference.abs() };
        assert!(
            abs <= 1e-9 && (rel <= 1e-9 || abs <= 1e-300),
            "{} {label}: {ours:e} vs {reference:e}",
            self.name
        );
        self.abs = self.abs.max(abs);
        self.rel = self.rel.max(rel);
    }
}

impl Drop for Gaps {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            eprintln!("{}: max abs gap {:.3e}, max rel gap {:.3e}", self.name, self.abs, self.rel);
        }
    }
}

#[test]
fn kolmogorov_smirnov_is_scipys_ks_2samp() {
    let (mut stat, mut p) = (Gaps::new("ks statistic"), Gaps::new("ks p-value"));
    for case in fixture().ks {
        let ks = ks_2samp(&case.reference.values(), &case.current.values()).unwrap();
        let method = if case.method == "exact" { KsMethod::Exact } else { KsMethod::Asymptotic };
        assert_eq!(ks.method, method, "{}", case.name);
        stat.check(&case.name, ks.statistic, case.statistic);
        p.check(&case.name, ks.p_value, case.p_value);
    }
}

#[test]
fn wasserstein_is_scipys() {
    let (mut raw, mut normed) = (Gaps::new("wasserstein"), Gaps::new("wasserstein normed"));
    for case in fixture().wasserstein {
        raw.check(&case.name, wasserstein_distance(&case.u, &case.v).unwrap(), case.distance);
        normed.check(&case.name, wasserstein_normed(&case.u, &case.v).unwrap(), case.normed);
    }
}

#[test]
fn jensen_shannon_is_scipys_on_counts() {
    let mut gaps = Gaps::new("jensen-shannon (counts)");
    for case in fixture().jensenshannon {
        gaps.check(
            &format!("{:?} {:?}", case.p, case.q),
            jensen_shannon(&case.p, &case.q).unwrap(),
            case.distance,
        );
    }
}

#[test]
fn chi_square_is_scipys_chisquare() {
    let (mut stat, mut p) = (Gaps::new("chisquare statistic"), Gaps::new("chisquare p-value"));
    for case in fixture().chisquare {
        let t = chi_square(&case.observed, &case.expected).unwrap();
        let label = format!("{:?}", case.observed);
        stat.check(&label, t.statistic, case.statistic);
        p.check(&label, t.p_value, case.p_value);
        assert_eq!(t.dof, case.observed.len() - 1);
    }
}

#[test]
fn numeric_drift_records_the_bins_and_matches_numpy_and_scipy() {
    let mut gaps =
        [Gaps::new("psi (bins)"), Gaps::new("jensen-shannon (bins)"), Gaps::new("ks via numeric_drift")];
    let mut wn = Gaps::new("wasserstein normed via numeric_drift");
    for case in fixture().numeric {
        let options = NumericOptions { n_bins: case.n_bins, ..NumericOptions::default() };
        let run = |test| numeric_drift(&case.reference, &case.current, test, &options).unwrap();
        let psi_run = run(DriftTest::Psi);
        assert_eq!(psi_run.bins.cuts(), case.cuts.as_slice(), "{}", case.name);
        assert_eq!(psi_run.reference_counts, case.reference_counts, "{}", case.name);
        assert_eq!(psi_run.current_counts, case.current_counts, "{}", case.name);
        assert_eq!(
            (psi_run.sizes.reference_nulls, psi_run.sizes.current_nulls),
            (case.reference_nulls, case.current_nulls)
        );
        assert_eq!(psi_run.sizes.reference + case.reference_nulls, case.reference.len());
        gaps[0].check(&case.name, psi_run.statistic, case.psi);
        gaps[1].check(&case.name, run(DriftTest::JensenShannon).statistic, case.jensenshannon);
        let ks = run(DriftTest::Ks);
        gaps[2].check(&case.name, ks.p_value.unwrap(), case.ks_p_value);
        assert!((ks.statistic - case.ks_statistic).abs() <= 1e-12);
        let w = run(DriftTest::Wasserstein);
        wn.check(&case.name, w.statistic, case.wasserstein_normed);
        assert_eq!(w.drifted, w.statistic >= 0.1);
        // The recorded bins, reused, give the same histogram.
        let again = NumericOptions { bins: Some(psi_run.bins.clone()), ..NumericOptions::default() };
        let reused = numeric_drift(&case.reference, &case.current, DriftTest::Psi, &again).unwrap();
        assert_eq!(reused.statistic, psi_run.statistic);
    }
}

#[test]
fn categorical_drift_matches_scipy_numpy_and_evidently() {
    let mut gaps = [
        Gaps::new("chisquare (categories)"),
        Gaps::new("chisquare p-value (categories)"),
        Gaps::new("jensen-shannon (categories)"),
        Gaps::new("l-infinity"),
        Gaps::new("psi (categories)"),
        Gaps::new("z statistic"),
        Gaps::new("z p-value"),
    ];
    let options = CategoricalOptions::default();
    for case in fixture().categorical {
        let run = |test| categorical_drift(&case.reference, &case.current, test, &options).unwrap();
        let chi = run(DriftTest::ChiSquare);
        let names: Vec<&str> = chi.categories.iter().map(|c| c.category.as_str()).collect();
        assert_eq!(names, case.categories.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(chi.categories.iter().map(|c| c.reference).collect::<Vec<_>>(), case.reference_counts);
        assert_eq!(chi.categories.iter().map(|c| c.current).collect::<Vec<_>>(), case.current_counts);
        match (case.chi_statistic, case.chi_p_value) {
            (Some(s), Some(p)) => {
                gaps[0].check(&case.name, chi.statistic, s);
                gaps[1].check(&case.name, chi.p_value.unwrap(), p);
            }
            _ => {
                assert!(chi.statistic.is_infinite() && chi.p_value == Some(0.0), "{}", case.name);
                assert!(chi.drifted && !chi.new_categories.is_empty());
            }
        }
        gaps[2].check(&case.name, run(DriftTest::JensenShannon).statistic, case.jensenshannon);
        gaps[3].check(&case.name, run(DriftTest::LInfinity).statistic, case.linf);
        gaps[4].check(&case.name, run(DriftTest::Psi).statistic, case.psi);
        let z = run(DriftTest::ZTest);
        gaps[5].check(&case.name, z.statistic, case.z_statistic);
        gaps[6].check(&case.name, z.p_value.unwrap(), case.z_p_value);
        assert!((chi.new_category_share - case.new_share).abs() <= 1e-15);
        let nulls = case.reference.iter().filter(|v| v.is_none()).count();
        assert_eq!(chi.sizes.reference_nulls, nulls);
    }
}

#[test]
fn the_counts_functions_agree_with_the_column_functions() {
    let r = [Some("a"), Some("b"), Some("b")];
    let c = [Some("b"), Some("b"), Some("c")];
    let d = categorical_drift(&r, &c, DriftTest::LInfinity, &CategoricalOptions::default()).unwrap();
    assert_eq!(d.statistic, l_infinity(&[1.0, 2.0, 0.0], &[0.0, 2.0, 1.0]).unwrap());
    assert_eq!(d.missing_categories, vec!["a".to_string()]);
    let p = categorical_drift(&r, &c, DriftTest::Psi, &CategoricalOptions::default()).unwrap();
    assert_eq!(p.statistic, psi(&[1.0, 2.0, 0.0], &[0.0, 2.0, 1.0]).unwrap());
}

#[test]
fn evidently_preset_follows_its_rules() {
    let preset = Preset::evidently();
    let small: Vec<Option<f64>> = (0..500).map(|i| Some((i % 97) as f64)).collect();
    let big: Vec<Option<f64>> = (0..5000).map(|i| Some((i % 97) as f64)).collect();
    assert_eq!(preset.numeric(&small, &small).unwrap().test(), DriftTest::Ks);
    let w = preset.numeric(&big, &small).unwrap();
    assert_eq!((w.test(), w.p_value(), w.drifted()), (DriftTest::Wasserstein, None, false));
    // Few distinct values: compared as categories (chi-square, z-test, Jensen-Shannon when large).
    let three: Vec<Option<f64>> = (0..300).map(|i| Some((i % 3) as f64)).collect();
    let two: Vec<Option<f64>> = (0..300).map(|i| Some((i % 2) as f64)).collect();
    assert_eq!(preset.numeric(&three, &three).unwrap().test(), DriftTest::ChiSquare);
    assert_eq!(preset.numeric(&two, &two).unwrap().test(), DriftTest::ZTest);
    let three_big: Vec<Option<f64>> = (0..3000).map(|i| Some((i % 3) as f64)).collect();
    assert_eq!(preset.numeric(&three_big, &three).unwrap().test(), DriftTest::JensenShannon);
    // The large-sample switch is configurable.
    let late = Preset::Evidently { large_sample: 10_000 };
    assert_eq!(late.numeric(&big, &small).unwrap().test(), DriftTest::Ks);
    let cats: Vec<Option<String>> = (0..2000).map(|i| Some(format!("c{}", i % 4))).collect();
    assert_eq!(preset.categorical(&cats, &cats).unwrap().test(), DriftTest::JensenShannon);
    assert_eq!(preset.categorical(&cats[..800], &cats).unwrap().test(), DriftTest::ChiSquare);
}

#[test]
fn tfdv_preset_uses_l_infinity_and_jensen_shannon_at_0_3() {
    let r = Column::Str((0..100).map(|i| Some(if i % 2 == 0 { "x" } else { "y" }.to_string())).collect());
    let c = Column::Str((0..100).map(|i| Some(if i % 5 == 0 { "y" } else { "x" }.to_string())).collect());
    let d = Preset::Tfdv.column(&r, &c).unwrap();
    assert_eq!(d.test(), DriftTest::LInfinity);
    assert!((d.statistic() - 0.3).abs() < 1e-15 && d.drifted());
    let n = Column::Float((0..100).map(|i| Some(i as f64)).collect());
    let shifted = Column::Float((0..100).map(|i| Some(i as f64 + 80.0)).collect());
    let numeric = Preset::Tfdv.column(&n, &shifted).unwrap();
    assert_eq!((numeric.test(), numeric.drifted()), (DriftTest::JensenShannon, true));
    assert!(Preset::Tfdv.column(&n, &r).is_err());
    let all = dataset_drift(&[d, numeric], 0.5).unwrap();
    assert_eq!((all.drifted_columns, all.drifted), (2, true));
}

#[test]
fn refused_inputs_say_what_and_what_to_do() {
    let o = NumericOptions::default();
    let some = [Some(1.0), Some(2.0)];
    let err = |r: &[Option<f64>], c: &[Option<f64>]| numeric_drift(r, c, DriftTest::Ks, &o).unwrap_err();
    assert_eq!(err(&[], &some), DriftError::Empty { side: Side::Reference });
    assert_eq!(err(&some, &[]), DriftError::Empty { side: Side::Current });
    assert_eq!(err(&[None, None], &some), DriftError::AllNull { side: Side::Reference, nulls: 2 });
    let nan = err(&some, &[Some(1.0), Some(f64::NAN)]);
    assert!(matches!(nan, DriftError::NotFinite { side: Side::Current, row: 1, .. }), "{nan}");
    assert!(nan.to_string().contains("None (not NaN) for a null"));
    let inf = err(&[Some(f64::INFINITY)], &some);
    assert!(matches!(inf, DriftError::NotFinite { side: Side::Reference, row: 0, .. }));
    let one_bin = NumericOptions { n_bins: 1, ..NumericOptions::default() };
    assert_eq!(
        numeric_drift(&some, &some, DriftTest::Psi, &one_bin),
        Err(DriftError::TooFewBins { bins: 1 })
    );
    assert_eq!(Bins::from_cuts(vec![]), Err(DriftError::TooFewBins { bins: 1 }));
    let wrong = numeric_drift(&some, &some, DriftTest::ChiSquare, &o).unwrap_err();
    assert!(matches!(wrong, DriftError::WrongTest { .. }) && wrong.to_string().contains("categorical_drift"));
    let bad_threshold = NumericOptions { threshold: Some(-1.0), ..NumericOptions::default() };
    assert!(matches!(
        numeric_drift(&some, &some, DriftTest::Ks, &bad_threshold),
        Err(DriftError::BadInput { .. })
    ));
    let text: [Option<&str>; 1] = [None];
    let c = categorical_drift(&[Some("a")], &text, DriftTest::ChiSquare, &CategoricalOptions::default());
    assert_eq!(c.unwrap_err(), DriftError::AllNull { side: Side::Current, nulls: 1 });
    let ks = categorical_drift(&[Some("a")], &[Some("a")], DriftTest::Ks, &CategoricalOptions::default());
    assert!(matches!(ks, Err(DriftError::WrongTest { .. })));
    assert!(ks_2samp(&[], &[1.0]).is_err() && wasserstein_distance(&[1.0], &[f64::NAN]).is_err());
    assert!(psi(&[1.0], &[1.0, 2.0]).is_err() && jensen_shannon(&[0.0, 0.0], &[1.0, 1.0]).is_err());
    assert!(chi_square(&[1.0, 2.0], &[1.0, 1.0]).unwrap_err().to_string().contains("scale the expected"));
    assert!(dataset_drift(&[], 0.5).is_err());
}

#[test]
fn kolmogorov_smirnov_gives_probabilities_on_every_small_sample() {
    for m in 1..=25usize {
        for n in 1..=25usize {
            for pattern in 0..3 {
                let a: Vec<f64> = (0..m).map(|i| i as f64).collect();
                let b: Vec<f64> = (0..n)
                    .map(|i| match pattern {
                        0 => i as f64 * 0.5,
                        1 => (i % 3) as f64 + 100.0 * (i % 2) as f64,
                        _ => m as f64 - i as f64 * 1.5,
                    })
                    .collect();
                let ks = ks_2samp(&a, &b).unwrap();
                assert!((0.0..=1.0).contains(&ks.p_value) && (0.0..=1.0).contains(&ks.statistic), "{m} {n}");
            }
        }
    }
}

#[test]
fn drift_errors_reach_the_facade_error() {
    let err: mlflow::Error = DriftError::TooFewBins { bins: 1 }.into();
    assert!(err.to_string().contains("at least 2"), "{err}");
}
