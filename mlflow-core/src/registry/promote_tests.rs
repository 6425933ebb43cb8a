//! [`Registry::promote`] with several thresholds, on versions written straight into the tables
//! (no pipeline needs to run for the gate to be tested against a store).

use super::*;
use crate::codec::ContentHash;
use crate::store::StoreError;
use crate::store::temp_store;

/// Registers versions 1, 2, ... of model `m` with these metrics.
pub(super) fn seed(store: &Store, versions: &[&[(&str, f64)]]) {
    store
        .with_meta(&REGISTRY, Mode::Write, |tx| {
            for (i, metrics) in versions.iter().enumerate() {
                let version = i as u32 + 1;
                let artifact = ContentHash::of(&version.to_le_bytes());
                tx.execute(
                    "INSERT INTO registry_versions (name, version, artifact, size, run_id, pipeline, node,
                         step, description, created_ms)
                     VALUES ('m', ?1, ?2, 1, 'r', 'p', 'n', 's', '', ?1)",
                    params![version, artifact],
                )?;
                for (metric, value) in metrics.iter() {
                    tx.execute(
                        "INSERT INTO registry_metrics (name, version, metric, value) VALUES ('m', ?1, ?2, ?3)",
                        params![version, *metric, *value],
                    )?;
                }
            }
            Ok::<_, StoreError>(())
        })
        .unwrap();
}

/// Version 1 holds `production` with auc 0.85 and loss 0.30; version 2 is worse on both; version
/// 3 is better on both but lacks `f1`, which version 1 has.
fn fixture(store: &Store) -> Registry<'_> {
    seed(
        store,
        &[
            &[("auc", 0.85), ("loss", 0.30), ("f1", 0.7)],
            &[("auc", 0.80), ("loss", 0.40), ("f1", 0.6)],
            &[("auc", 0.90), ("loss", 0.25)],
        ],
    );
    let registry = Registry::new(store).unwrap().with_clock(|| 1_000);
    registry.promote("m", 1, "production", Promotion::new("auc")).unwrap();
    registry
}

fn strict() -> Promotion {
    Promotion::new("auc")
        .at_least(0.82)
        .and(MetricThreshold::new("loss").lower_is_better().absolute_change(0.05))
        .and(MetricThreshold::new("auc").relative_change(-0.01))
        .and(MetricThreshold::new("f1").at_least(0.5))
}

#[test]
fn several_failures_are_collected_in_one_refusal() {
    let (_dir, store) = temp_store();
    let registry = fixture(&store);
    let err = registry.promote("m", 2, "production", strict()).unwrap_err();
    let RegistryError::PromotionRefused { failures, candidate, current_version, current, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!((*candidate, *current_version, *current), (0.80, 1, 0.85));
    let metrics: Vec<&str> = failures.iter().map(|f| f.threshold.metric.as_str()).collect();
    assert_eq!(metrics, ["auc", "loss", "auc"], "f1 passed");
    let text = err.to_string();
    for part in [
        "`m` version 2 to `production`: 4 requirements failed: (1) its auc is 0.8, but it must be at least 0.82;",
        "(2) its auc is 0.8, but it must be at least 0.85 (the current `production`, version 1, has auc 0.85; \
         higher is better; the change is -0.05);",
        "(3) its loss is 0.4, but it must be at most 0.35 (the current `production`, version 1, has loss 0.3, \
         plus an allowed loss of 0.05; lower is better; the change is 0.1);",
        "(4) its auc is 0.8, a relative change of -0.058824 (the current `production`, version 1, has auc \
         0.85), but the relative change must be at least -0.01 (higher is better); promote a better version, \
         or force it",
    ] {
        assert!(text.contains(part), "{part:?} missing from: {text}");
    }
    assert_eq!(registry.alias_history("m", "production").unwrap().len(), 1, "nothing recorded");
}

#[test]
fn a_forced_promotion_records_every_threshold_and_its_failures() {
    let (_dir, store) = temp_store();
    let registry = fixture(&store);
    let moved =
        registry.promote("m", 2, "production", strict().force(true).reason("hotfix")).unwrap().unwrap();
    assert!(moved.forced);
    let guard = moved.guard.as_ref().unwrap();
    assert!(!guard.passed);
    let passed: Vec<bool> = guard.thresholds.iter().map(|t| t.passed).collect();
    assert_eq!(passed, [false, false, false, true]);
    let loss = &guard.thresholds[1];
    assert_eq!((loss.candidate, loss.baseline_version, loss.baseline), (Some(0.40), Some(1), Some(0.30)));
    assert_eq!(loss.threshold.absolute_change, Some(0.05));
    assert_eq!(registry.alias_history("m", "production").unwrap().pop().unwrap(), moved, "read back as made");
}

#[test]
fn a_passing_promotion_records_why_each_threshold_passed() {
    let (_dir, store) = temp_store();
    let registry = fixture(&store);
    let gate = Promotion::new("auc")
        .margin(0.01)
        .at_most(1.0)
        .relative_change(0.05)
        .and(MetricThreshold::new("loss").lower_is_better().at_most(0.3).relative_change(-0.1));
    let moved = registry.promote("m", 3, "production", gate).unwrap().unwrap();
    let guard = moved.guard.as_ref().unwrap();
    assert!(guard.passed && !moved.forced);
    assert_eq!((guard.metric.as_str(), guard.margin, guard.current_version), ("auc", 0.01, Some(1)));
    assert_eq!(guard.thresholds.len(), 2);
    assert!(guard.thresholds.iter().all(|t| t.passed), "{guard:?}");
    let auc = &guard.thresholds[0];
    assert_eq!((auc.threshold.at_most, auc.threshold.relative_change), (Some(1.0), Some(0.05)));
    assert!((auc.relative.unwrap() - 0.05 / 0.85).abs() < 1e-12);
    let history = registry.history("m").unwrap();
    assert_eq!(history.last(), Some(&moved));
    // The first promotion, with no holder, records its check as not needing a baseline.
    let first = history[0].guard.as_ref().unwrap();
    assert_eq!(first.thresholds.len(), 1);
    assert!(first.thresholds[0].to_string().contains("not checked (no baseline)"), "{first:?}");
}

#[test]
fn with_no_holder_value_bounds_still_refuse() {
    let (_dir, store) = temp_store();
    seed(&store, &[&[("auc", 0.85)]]);
    let registry = Registry::new(&store).unwrap();
    let err = registry.promote("m", 1, "staging", Promotion::new("auc").at_least(0.9)).unwrap_err();
    assert!(
        matches!(&err, RegistryError::PromotionRefused { current_version: 0, failures, .. } if failures.len() == 1)
    );
    assert!(err.to_string().contains("its auc is 0.85, but it must be at least 0.9; promote"), "{err}");
    let moved = registry.promote("m", 1, "staging", Promotion::new("auc").at_least(0.8)).unwrap().unwrap();
    assert!(moved.guard.unwrap().passed);
}

#[test]
fn the_holder_needs_a_metric_only_for_change_bounds() {
    let (_dir, store) = temp_store();
    seed(&store, &[&[("auc", 0.85)], &[("auc", 0.9), ("f1", 0.7)]]);
    let registry = Registry::new(&store).unwrap();
    registry.promote("m", 1, "production", Promotion::new("auc")).unwrap();
    let needs_f1 = |gate: MetricThreshold| Promotion::new("auc").and(gate);
    let err = registry
        .promote("m", 2, "production", needs_f1(MetricThreshold::new("f1").absolute_change(0.0)))
        .unwrap_err();
    assert!(
        matches!(&err, RegistryError::MissingMetric { version: 1, candidate_version: 2, metric, available, .. }
            if metric == "f1" && available == &["auc"]),
        "{err:?}"
    );
    let moved =
        registry.promote("m", 2, "production", needs_f1(MetricThreshold::new("f1").at_least(0.5))).unwrap();
    assert!(moved.unwrap().guard.unwrap().passed);
}

#[test]
fn invalid_thresholds_are_refused_before_the_store_is_read() {
    let (_dir, store) = temp_store();
    let registry = Registry::new(&store).unwrap();
    let bad = Promotion::new("auc").at_least(0.9).at_most(0.8);
    let err = registry.promote("nothing-registered", 1, "production", bad).unwrap_err();
    assert!(matches!(&err, RegistryError::InvalidThreshold { position: 1, .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("invalid promotion threshold 1 (on `auc`): at_least 0.9 is above at_most 0.8")
    );
    let bad = Promotion::new("auc").relative_change(f64::NAN);
    assert!(matches!(
        registry.promote("m", 1, "production", bad),
        Err(RegistryError::InvalidThreshold { position: 1, .. })
    ));
}
