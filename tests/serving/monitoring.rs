//! Monitoring over a logged prediction stream: the shifted input drifts and the others do not,
//! windows by count and by time split where they should, roles and versions are kept apart,
//! alerts fire on their rules, and the report round-trips through JSON.

use crate::monitored::{self, FEATURES, records};

use mlflow::monitor::{
    Alert, AlertRules, DriftTest, MonitorError, MonitorOptions, MonitorReport, Preset, RecordFilter,
    WindowSpec, monitor_log, monitor_window, scan_windows,
};
use mlflow::serve::{
    Lineage, LogEntry, LogOptions, ModelPackage, PredictionLog, PredictionRecord, RequestFailure, Role,
};

const T0: i64 = 1_700_000_000_000; // 2023-11-14 22:13:20 UTC

fn log_of(records: &[PredictionRecord]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let log = PredictionLog::open(dir.path(), LogOptions::default().max_segment_bytes(64 * 1024)).unwrap();
    for chunk in records.chunks(100) {
        log.append(chunk).unwrap();
    }
    dir
}

fn run(dir: &std::path::Path, spec: WindowSpec, filter: &RecordFilter, last: Option<usize>) -> MonitorReport {
    let (_, package) = monitored::package();
    monitor_log(dir, spec, filter, last, &MonitorOptions::default(), |_| Ok(package.clone())).unwrap()
}

#[test]
fn the_shifted_input_drifts_and_the_others_do_not() {
    let (model, _) = monitored::package();
    let mut all = records(&model, 11, 0, 1000, T0, 1, Role::Champion, 0.0);
    all.extend(records(&model, 12, 1000, 1000, T0 + 1_000_000, 1, Role::Champion, 15.0));
    let dir = log_of(&all);
    let report = run(dir.path(), WindowSpec::Count(1000), &RecordFilter::default(), None);
    assert_eq!(report.scan.matched, 2000);
    assert_eq!(report.windows.len(), 2);
    let (before, after) = (&report.windows[0], &report.windows[1]);
    assert!(before.window.complete && after.window.complete);
    let names: Vec<&str> = after.features.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, FEATURES);
    // 800 reference rows: KS for the continuous inputs, the z-test for the 0/1 one.
    let tests: Vec<DriftTest> = after.features.iter().map(|f| f.drift.as_ref().unwrap().test()).collect();
    assert_eq!(tests, [DriftTest::Ks, DriftTest::Ks, DriftTest::ZTest]);
    let drifted =
        |w: &mlflow::monitor::WindowReport| w.features.iter().map(|f| f.drifted()).collect::<Vec<_>>();
    assert_eq!(drifted(before), [false, false, false], "{:#?}", before.features);
    assert_eq!(drifted(after), [true, false, false], "{:#?}", after.features);
    let dataset = after.dataset.unwrap();
    assert_eq!((dataset.drifted_columns, dataset.columns, dataset.drifted), (1, 3, false));
    // The output is P(class 1) against the profile's P(1); the model leans on the age.
    let output = after.output.as_ref().unwrap();
    assert_eq!(output.name, "P(1)");
    assert!(!before.output.as_ref().unwrap().drifted());
    // Health: one request a second, one row each, latencies 200..299 µs.
    let h = before.health;
    assert_eq!((after.rows, after.requests, h.rows_per_request), (1000, 1000, Some(1.0)));
    assert!((h.requests_per_second.unwrap() - 1000.0 / 999.0).abs() < 1e-9, "{h:?}");
    assert!((h.latency_p50_ms.unwrap() - 0.2495).abs() < 1e-9, "{h:?}");
    assert_eq!(h.latency_max_ms, Some(0.299));
    assert_eq!((before.errors, before.timeouts, before.performance.as_ref()), (Some(0), Some(0), None));

    // Alerts: none by default (1 of 3 features), the watched feature and the share otherwise.
    assert!(report.alerts(&AlertRules::default()).is_empty());
    let rules = AlertRules { features: vec!["age".into(), "fare".into()], ..AlertRules::default() };
    let alerts = report.alerts(&rules);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(matches!(&alerts[0], (1, Alert::FeatureDrift { feature, .. }) if feature == "age"));
    let rules = AlertRules { dataset_drift_share: Some(0.3), ..AlertRules::default() };
    assert!(matches!(report.alerts(&rules)[..], [(1, Alert::DatasetDrift { .. })]));
    let rules =
        AlertRules { p99_latency_ms: Some(0.25), features: vec!["height".into()], ..AlertRules::default() };
    let alerts = report.alerts(&rules);
    assert!(alerts.iter().any(|(_, a)| matches!(a, Alert::UnknownFeature { .. })), "{alerts:?}");
    assert_eq!(alerts.iter().filter(|(_, a)| matches!(a, Alert::Latency { .. })).count(), 2);

    // The same window in memory gives the same report.
    let (_, package) = monitored::package();
    let again = monitor_window(&package, &all[1000..], &MonitorOptions::default()).unwrap();
    assert_eq!(again.features, after.features);
    assert_eq!(again.output, after.output);

    // TFDV's preset: Jensen-Shannon on the profile's deciles for every (numeric) input.
    let tfdv = MonitorOptions { preset: Preset::Tfdv, ..MonitorOptions::default() };
    let t =
        monitor_log(dir.path(), WindowSpec::Count(1000), &RecordFilter::default(), Some(1), &tfdv, |_| {
            Ok(package.clone())
        })
        .unwrap();
    assert_eq!(t.windows.len(), 1);
    assert!(
        t.windows[0].features.iter().all(|f| f.drift.as_ref().unwrap().test() == DriftTest::JensenShannon)
    );
    assert!(t.windows[0].features[0].drifted() && !t.windows[0].features[1].drifted());

    // JSON round trip.
    let json = serde_json::to_string(&report).unwrap();
    let back: MonitorReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back.windows.len(), report.windows.len());
    assert!(back.windows[1].features[0].drifted());
}

#[test]
fn windows_by_count_and_by_time_and_roles_apart() {
    let (model, _) = monitored::package();
    // Champion v1: 2500 records a second apart from T0; shadow v2: 700, same times.
    let mut all = records(&model, 1, 0, 2500, T0, 1, Role::Champion, 0.0);
    all.extend(records(&model, 2, 0, 700, T0, 2, Role::Shadow, 0.0));
    let dir = log_of(&all);

    let (windows, summary) =
        scan_windows(dir.path(), WindowSpec::Count(1000), &RecordFilter::default(), None).unwrap();
    assert_eq!((summary.records, summary.matched), (3200, 3200));
    let shape: Vec<(u32, Role, i64, u64, bool)> = windows
        .iter()
        .map(|w| (w.version(), w.role(), w.bounds().index, w.rows(), w.bounds().complete))
        .collect();
    assert_eq!(
        shape,
        [
            (1, Role::Champion, 0, 1000, true),
            (1, Role::Champion, 1, 1000, true),
            (1, Role::Champion, 2, 500, false),
            (2, Role::Shadow, 0, 700, false),
        ]
    );

    // Hours aligned to the epoch: T0 is 22:13:20, so the 22:00-23:00 window has room for 2800
    // records a second apart: all 2500 of the champion's.
    let hour = 3_600_000;
    let first_end = (T0 / hour + 1) * hour;
    let in_first = ((first_end - T0 + 999) / 1000) as u64;
    let filter = RecordFilter { role: Some(Role::Champion), ..RecordFilter::default() };
    let (windows, _) = scan_windows(dir.path(), "1h".parse().unwrap(), &filter, None).unwrap();
    assert_eq!(in_first, 2800);
    assert_eq!(windows.len(), 1, "all 2500 champion records fall in 22:00-23:00");
    assert_eq!((windows[0].bounds().start_ms, windows[0].bounds().end_ms), (first_end - hour, first_end));
    let (windows, _) = scan_windows(dir.path(), "15m".parse().unwrap(), &filter, None).unwrap();
    let quarter = 900_000;
    let rows: Vec<u64> = windows.iter().map(|w| w.rows()).collect();
    let first_quarter_end = (T0 / quarter + 1) * quarter;
    let first = ((first_quarter_end - T0) / 1000) as u64;
    assert_eq!(rows, [first, 900, 900, 2500 - first - 1800]);
    assert!(windows[..3].iter().all(|w| w.bounds().complete) && !windows[3].bounds().complete);
    assert!(windows.iter().all(|w| w.bounds().start_ms % quarter == 0));
    // --last 2: only the two newest.
    let (windows, _) = scan_windows(dir.path(), WindowSpec::Time(quarter), &filter, Some(2)).unwrap();
    assert_eq!(windows.iter().map(|w| w.rows()).collect::<Vec<_>>(), rows[2..]);

    // The newest 600 of each version and role; the shadow has 700, and not 1000.
    let (windows, summary) =
        scan_windows(dir.path(), "last:600".parse().unwrap(), &RecordFilter::default(), None).unwrap();
    let shape: Vec<(Role, u64, i64, i64, bool)> = windows
        .iter()
        .map(|w| (w.role(), w.rows(), w.bounds().start_ms, w.bounds().end_ms, w.bounds().complete))
        .collect();
    assert_eq!(
        shape,
        [
            (Role::Champion, 600, T0 + 1_900_000, T0 + 2_499_000, true),
            (Role::Shadow, 600, T0 + 100_000, T0 + 699_000, true),
        ]
    );
    assert!(summary.segments > 1, "the log spans several segments: {summary:?}");
    let (windows, _) =
        scan_windows(dir.path(), WindowSpec::Last(1000), &RecordFilter::default(), None).unwrap();
    assert_eq!(
        windows.iter().map(|w| (w.rows(), w.bounds().complete)).collect::<Vec<_>>(),
        [(1000, true), (700, false)]
    );
    // One version and role: the newest segments only.
    let filter = RecordFilter { version: Some(1), role: Some(Role::Champion), ..RecordFilter::default() };
    let (windows, summary) = scan_windows(dir.path(), WindowSpec::Last(10), &filter, None).unwrap();
    assert_eq!((windows.len(), windows[0].rows(), windows[0].bounds().end_ms), (1, 10, T0 + 2_499_000));
    assert!(summary.records < 3200, "stopped early: {summary:?}");

    // One version: the shadow's only.
    let filter = RecordFilter { version: Some(2), ..RecordFilter::default() };
    let report = run(dir.path(), WindowSpec::All, &filter, None);
    assert_eq!(report.windows.len(), 1);
    assert_eq!(
        (report.windows[0].version, report.windows[0].role, report.windows[0].rows),
        (2, Role::Shadow, 700)
    );
}

#[test]
fn clear_errors_for_a_package_without_profile_a_missing_log_and_bad_windows() {
    let (model, with_profile) = monitored::package();
    let records = records(&model, 3, 0, 50, T0, 1, Role::Champion, 0.0);
    let rows = ndarray::Array2::from_shape_fn((2, 3), |(i, j)| records[i].inputs[j]);
    let bare =
        ModelPackage::new("naive_bayes", model.clone(), None, &FEATURES, rows.view(), Lineage::default())
            .unwrap();
    let err = monitor_window(&bare, &records, &MonitorOptions::default()).unwrap_err();
    assert!(matches!(err, MonitorError::NoProfile { .. }), "{err}");
    assert!(err.to_string().contains("repackage"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let err = monitor_log(
        &dir.path().join("nothing"),
        WindowSpec::All,
        &RecordFilter::default(),
        None,
        &MonitorOptions::default(),
        |_| Ok(with_profile.clone()),
    )
    .unwrap_err();
    assert!(matches!(err, MonitorError::NoLog { .. }) && err.to_string().contains("--no-log"), "{err}");
    assert!(matches!(
        monitor_window(&with_profile, &[], &MonitorOptions::default()),
        Err(MonitorError::NoRecords)
    ));
    let mut mixed = records.clone();
    mixed[1].role = Role::Shadow;
    assert!(matches!(
        monitor_window(&with_profile, &mixed, &MonitorOptions::default()),
        Err(MonitorError::MixedWindow { .. })
    ));
    let mut narrow = records.clone();
    narrow.iter_mut().for_each(|r| r.inputs.truncate(2));
    assert!(matches!(
        monitor_window(&with_profile, &narrow, &MonitorOptions::default()),
        Err(MonitorError::LogMismatch { .. })
    ));
    for bad in ["0", "0s", "1w", "", "-5", "1.5h", "last:0", "last:x"] {
        assert!(bad.parse::<WindowSpec>().is_err(), "{bad}");
    }
    // NaN inputs are counted as missing, not an error; an all-missing input is noted, not compared.
    let mut missing = records;
    missing.iter_mut().for_each(|r| r.inputs[1] = f64::NAN);
    let report = monitor_window(&with_profile, &missing, &MonitorOptions::default()).unwrap();
    assert_eq!(report.features[1].nulls, 50);
    assert!(report.features[1].drift.is_none() && report.features[1].note.is_some());
    assert_eq!(report.dataset.unwrap().columns, 2);
}

/// A Titanic tree's package, the raw hold-out passengers and their features by the package.
fn tree_on_hold_out() -> (ModelPackage, mlflow::data::Table, mlflow::features::FeatureMatrix) {
    let prepared = crate::titanic::dataset();
    let raw = crate::titanic::ingested("train.csv");
    let candidate = mlflow::blocks::Candidate::new("tree", mlflow::models::TreeParams::default());
    let trained = mlflow::blocks::train(&prepared, &candidate).unwrap();
    let package = mlflow::blocks::package_model(&trained, &prepared, &raw).unwrap();
    let rows = raw.table.take(&prepared.split.test);
    let features = package.features().unwrap().transform(&rows).unwrap();
    (package, rows, features)
}

#[test]
fn replaying_the_packaged_transformers_finds_a_client_that_featurizes_its_own_way() {
    use mlflow::serve::monitoring::replay_skew;
    // The hold-out passengers, featurized by the package itself: no skew.
    let (package, rows, features) = tree_on_hold_out();
    let logged = |x: &ndarray::Array2<f64>| -> Vec<PredictionRecord> {
        x.rows()
            .into_iter()
            .enumerate()
            .map(|(i, r)| PredictionRecord {
                request_id: format!("r{i}"),
                row: 0,
                time_ms: i as i64,
                model: "titanic".into(),
                version: 1,
                role: Role::Champion,
                inputs: r.to_vec(),
                label: 0,
                probability: 0.5,
                latency_us: 100,
            })
            .collect()
    };
    let clean = replay_skew(&package, &rows, &logged(&features.x)).unwrap();
    assert_eq!((clean.rows, clean.skewed_rows), (rows.rows(), 0));
    assert!(!clean.skewed());

    // A client that bins the fare one bin higher for the first 20 passengers.
    let fare = features.names.iter().position(|n| n == "Fare").unwrap();
    let mut skewed = features.x.clone();
    for i in 0..20 {
        skewed[[i, fare]] += 1.0;
    }
    let report = replay_skew(&package, &rows, &logged(&skewed)).unwrap();
    assert_eq!(report.skewed_rows, 20);
    let f = report.features.iter().find(|f| f.name == "Fare").unwrap();
    assert_eq!((f.mismatched_rows, f.max_abs_diff), (20, 1.0));
    assert_eq!(f.example.map(|e| e.0), Some(0));
    assert!(report.features.iter().filter(|f| f.name != "Fare").all(|f| f.mismatched_rows == 0));

    // Refused: raw rows that do not match the records, a package without transformers.
    let err = replay_skew(&package, &rows, &logged(&features.x)[..5]).unwrap_err().to_string();
    assert!(err.contains("raw rows for 5 logged records"), "{err}");
    let (_, bare) = monitored::package();
    let err = replay_skew(&bare, &rows, &logged(&features.x)).unwrap_err().to_string();
    assert!(err.contains("no feature transformers"), "{err}");
}

/// A failed request of `version` at `time_ms`; `timed_out` answers 408.
fn failure(version: u32, time_ms: i64, timed_out: bool) -> RequestFailure {
    RequestFailure {
        request_id: format!("f{time_ms}"),
        time_ms,
        model: "naive_bayes".into(),
        version,
        status: if timed_out { 408 } else { 400 },
        code: if timed_out { "request_timeout" } else { "feature_count" }.into(),
        latency_us: 50,
    }
}

#[test]
fn failed_requests_count_in_their_champion_windows_with_the_error_rate_and_its_alert() {
    let (model, _) = monitored::package();
    let dir = tempfile::tempdir().unwrap();
    let log = PredictionLog::open(dir.path(), LogOptions::default().max_segment_bytes(64 * 1024)).unwrap();
    // Champion v1: 300 answered requests a second apart, a failure after each 100th; its shadow
    // v2 answers the same requests. Version 3 only ever failed.
    let champion = records(&model, 1, 0, 300, T0, 1, Role::Champion, 0.0);
    let shadow = records(&model, 1, 0, 300, T0, 2, Role::Shadow, 0.0);
    for (i, (c, s)) in champion.iter().zip(&shadow).enumerate() {
        log.append(&[LogEntry::Prediction(c.clone()), LogEntry::Prediction(s.clone())]).unwrap();
        if i % 100 == 99 {
            log.append(&[failure(1, c.time_ms, i == 299)]).unwrap();
        }
    }
    log.append(&[failure(3, T0 + 400_000, false), failure(3, T0 + 401_000, true)]).unwrap();
    drop(log);

    let report = run(dir.path(), WindowSpec::All, &RecordFilter::default(), None);
    assert_eq!(report.scan.failures, 5);
    let shape: Vec<_> =
        report.windows.iter().map(|w| (w.version, w.role, w.rows, w.errors, w.timeouts)).collect();
    assert_eq!(
        shape,
        [
            (1, Role::Champion, 300, Some(3), Some(1)),
            (2, Role::Shadow, 300, Some(0), Some(0)),
            (3, Role::Champion, 0, Some(2), Some(1)),
        ]
    );
    assert_eq!(report.windows[0].health.error_rate, Some(3.0 / 303.0));
    assert_eq!(report.windows[1].health.error_rate, Some(0.0));
    // A window of failures only: nothing to compare, said so.
    let only_failed = &report.windows[2];
    assert!(only_failed.features.is_empty() && only_failed.dataset.is_none());
    assert_eq!(only_failed.health.error_rate, Some(1.0));
    assert!(
        only_failed.notes[0].contains("2 requests failed and none was answered"),
        "{:?}",
        only_failed.notes
    );

    // By count: each failure in the window of the version's newest record before it.
    let (windows, _) =
        scan_windows(dir.path(), WindowSpec::Count(100), &RecordFilter::default(), None).unwrap();
    let champion_errors: Vec<(i64, u64)> = windows
        .iter()
        .filter(|w| (w.version(), w.role()) == (1, Role::Champion))
        .map(|w| (w.bounds().index, w.errors()))
        .collect();
    assert_eq!(champion_errors, [(0, 1), (1, 1), (2, 1)]);
    // By time: in the window of its own time.
    let (windows, _) =
        scan_windows(dir.path(), "1m".parse().unwrap(), &RecordFilter::default(), None).unwrap();
    let minute = 60_000;
    for w in windows.iter().filter(|w| w.version() == 1) {
        let expected = [99, 199, 299]
            .iter()
            .filter(|&&i| {
                (T0 + i * 1000).div_euclid(minute) == w.bounds().index && w.role() == Role::Champion
            })
            .count() as u64;
        assert_eq!(w.errors(), expected, "window {:?} of {}", w.bounds(), w.role());
    }
    // The newest 150 of the champion: the two failures at or after its oldest record.
    let filter = RecordFilter { version: Some(1), role: Some(Role::Champion), ..RecordFilter::default() };
    let (windows, summary) = scan_windows(dir.path(), WindowSpec::Last(150), &filter, None).unwrap();
    assert_eq!((windows[0].rows(), windows[0].errors(), windows[0].timeouts()), (150, 2, 1));
    assert_eq!(summary.failures, 2);
    // Role filters: a shadow's windows count no failure.
    let filter = RecordFilter { role: Some(Role::Shadow), ..RecordFilter::default() };
    let (windows, summary) = scan_windows(dir.path(), WindowSpec::All, &filter, None).unwrap();
    assert_eq!((windows.len(), windows[0].errors(), summary.failures), (1, 0, 0));

    // The alert: above 1% fires on version 1 (0.99%) no, on version 3 (100%) yes.
    let rules = AlertRules { error_rate: Some(0.01), dataset_drift_share: None, ..AlertRules::default() };
    let alerts = report.alerts(&rules);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].0, 2);
    assert_eq!(alerts[0].1.to_string(), "2 requests failed: error rate 100.00% is above 1.00%");
    let rules = AlertRules { error_rate: Some(0.005), dataset_drift_share: None, ..AlertRules::default() };
    assert!(matches!(report.alerts(&rules)[0].1, Alert::ErrorRate { errors: 3, .. }));
    // Records alone (not a log) say nothing of failures.
    let window = monitor_window(&monitored::package().1, &champion, &MonitorOptions::default()).unwrap();
    assert_eq!((window.errors, window.timeouts, window.health.error_rate), (None, None, None));
}

#[test]
fn replaying_the_logged_raw_rows_finds_skew_without_asking_the_client() {
    use mlflow::serve::RawRowsRef;
    use mlflow::serve::monitoring::replay_logged_skew;
    let (package, rows, features) = tree_on_hold_out();
    let fare = features.names.iter().position(|n| n == "Fare").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log = PredictionLog::open(dir.path(), LogOptions::default()).unwrap();
    // Requests of 10 rows: the first 5 carry their raw rows, and the client bins the fare one
    // bin higher in request 2; the rest carry no raw rows. Each is shadowed by version 2.
    let requests = rows.rows() / 10;
    for r in 0..requests {
        let request_id = format!("req-{r}");
        let range: Vec<usize> = (r * 10..r * 10 + 10).collect();
        if r < 5 {
            let table = rows.take(&range);
            log.append(&[RawRowsRef {
                request_id: &request_id,
                time_ms: 0,
                model: "titanic",
                table: &table,
            }])
            .unwrap();
        }
        let records: Vec<PredictionRecord> = range
            .iter()
            .enumerate()
            .flat_map(|(row, &i)| {
                let mut inputs = features.x.row(i).to_vec();
                if r == 2 {
                    inputs[fare] += 1.0;
                }
                [(1, Role::Champion), (2, Role::Shadow)].map(|(version, role)| PredictionRecord {
                    request_id: request_id.clone(),
                    row: row as u32,
                    time_ms: 0,
                    model: "titanic".into(),
                    version,
                    role,
                    inputs: inputs.clone(),
                    label: 0,
                    probability: 0.5,
                    latency_us: 10,
                })
            })
            .collect();
        log.append(&records).unwrap();
    }
    drop(log);
    let version = |v| RecordFilter { version: Some(v), ..RecordFilter::default() };
    let skew = replay_logged_skew(&package, dir.path(), &version(1)).unwrap();
    assert_eq!((skew.rows, skew.skewed_rows, skew.rows_without_raw), (50, 10, (requests - 5) * 10));
    let f = skew.features.iter().find(|f| f.name == "Fare").unwrap();
    assert_eq!((f.mismatched_rows, f.max_abs_diff, f.example.map(|e| e.0)), (10, 1.0, Some(20)));
    assert!(skew.features.iter().filter(|f| f.name != "Fare").all(|f| f.mismatched_rows == 0));
    // Without a filter, the shadow's records are compared too (the raw rows are transformed once).
    let both = replay_logged_skew(&package, dir.path(), &RecordFilter::default()).unwrap();
    assert_eq!((both.rows, both.skewed_rows), (100, 20));

    // Raw rows the transformers refuse (the Sex column is gone) are counted, with the refusal.
    let log = PredictionLog::open(dir.path(), LogOptions::default()).unwrap();
    let without_sex = mlflow::data::Table::new(
        rows.take(&[0])
            .iter()
            .filter(|(name, _)| *name != "Sex")
            .map(|(n, c)| (n.to_owned(), c.clone()))
            .collect(),
    )
    .unwrap();
    log.append(&[RawRowsRef { request_id: "bad", time_ms: 0, model: "titanic", table: &without_sex }])
        .unwrap();
    let record = PredictionRecord {
        request_id: "bad".into(),
        row: 0,
        time_ms: 0,
        model: "titanic".into(),
        version: 1,
        role: Role::Champion,
        inputs: features.x.row(0).to_vec(),
        label: 0,
        probability: 0.5,
        latency_us: 10,
    };
    log.append(&[record]).unwrap();
    let skew = replay_logged_skew(&package, dir.path(), &version(1)).unwrap();
    assert_eq!((skew.rows, skew.refused_rows), (50, 1));
    assert!(
        skew.refusal.as_deref().is_some_and(|r| r.contains("`bad`") && r.contains("Sex")),
        "{:?}",
        skew.refusal
    );

    // No log; a package without transformers.
    let err = replay_logged_skew(&package, &dir.path().join("none"), &version(1)).unwrap_err();
    assert!(matches!(err, MonitorError::NoLog { .. }), "{err}");
    let (_, bare) = monitored::package();
    let err = replay_logged_skew(&bare, dir.path(), &version(1)).unwrap_err().to_string();
    assert!(err.contains("no feature transformers"), "{err}");
}
