//! Cron schedules equal to croniter's (tests/fixtures/monitor, made by its cron.py), and
//! retraining triggers on observed figures.

use mlflow::monitor::{Cron, FeatureDriftFigure, Observations, Trigger, TriggerState};

#[derive(serde::Deserialize)]
struct CronCase {
    expression: String,
    after_ms: i64,
    next_ms: Vec<i64>,
}

#[test]
fn next_fire_times_are_croniters() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/monitor/cron.json");
    let fixture: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cases: Vec<CronCase> = serde_json::from_value(fixture["cases"].clone()).unwrap();
    assert!(cases.len() >= 150);
    for case in &cases {
        let cron = Cron::parse(&case.expression).unwrap();
        let mut t = case.after_ms;
        for (k, want) in case.next_ms.iter().enumerate() {
            let got = cron.next_after(t).unwrap();
            assert_eq!(got, *want, "`{}` after {t} (#{k})", case.expression);
            t = got;
        }
        // The last time due in (start, last] is the last of them.
        assert_eq!(
            cron.due_between(case.after_ms, *case.next_ms.last().unwrap()),
            case.next_ms.last().copied()
        );
    }
}

#[test]
fn schedules_survive_a_round_trip_through_json_and_refuse_bad_text() {
    let trigger = Trigger::schedule("*/15 9-17 * * mon-fri").unwrap().named("office hours");
    let json = serde_json::to_string(&trigger).unwrap();
    assert_eq!(serde_json::from_str::<Trigger>(&json).unwrap(), trigger);
    let bad = json.replace("*/15", "*/0");
    let err = serde_json::from_str::<Trigger>(&bad).unwrap_err().to_string();
    assert!(err.contains("step `0`"), "{err}");
}

#[test]
fn a_drift_trigger_explains_itself_with_the_figures() {
    let rule = Trigger::any([
        Trigger::dataset_drift(0.5).named("dataset"),
        Trigger::feature_drift("Sex").named("sex"),
        Trigger::feature_drift("Age").threshold(0.05).named("age"),
    ]);
    let mut observed = Observations { dataset_drift_share: Some(0.25), ..Observations::default() };
    observed
        .feature_drift
        .insert("Sex".into(), FeatureDriftFigure { statistic: 0.02, p_value: None, drifted: false });
    observed
        .feature_drift
        .insert("Age".into(), FeatureDriftFigure { statistic: 0.31, p_value: Some(0.001), drifted: true });
    let decision = rule.evaluate(&observed, &TriggerState::default());
    assert!(decision.fired);
    assert_eq!(decision.fired_by(), ["age"]);
    let text = decision.explain();
    for needle in [
        "any [fires]: 1 of 3 fire",
        "dataset [quiet]: 0.250 of the features drifted, threshold 0.5",
        "sex [quiet]: statistic 0.0200: no drift",
        "age [fires]: p-value 0.0010 against 0.05",
    ] {
        assert!(text.contains(needle), "{needle}\n{text}");
    }
    let unknown = Trigger::feature_drift("Cabin").evaluate(&observed, &TriggerState::default());
    assert!(!unknown.fired && unknown.explain().contains("no drift figure"), "{}", unknown.explain());
}
