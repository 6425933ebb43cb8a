//! Our runs as MLflow takes them: names, values, statuses and `runs/log-batch` requests within
//! MLflow's limits.

use std::collections::BTreeMap;

use mlflow_core::track::RunRecord;
use serde_json::{Value, json};

use crate::RUN_ID_TAG;
use crate::names::{MAX_PARAM_VALUE_LENGTH, MAX_TAG_VALUE_LENGTH, key_problem};
use crate::report::{SyncOptions, Unmapped};
use crate::rest::{MAX_METRICS_PER_BATCH, MAX_PARAMS_TAGS_PER_BATCH};

/// One metric point as MLflow takes it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Point {
    pub(crate) key: String,
    pub(crate) value: f64,
    pub(crate) step: u64,
    pub(crate) timestamp: i64,
}

/// A run as MLflow takes it.
#[derive(Debug, Default)]
pub(crate) struct MappedRun {
    pub(crate) params: Vec<(String, String)>,
    pub(crate) metrics: Vec<Point>,
    pub(crate) tags: Vec<(String, String)>,
    pub(crate) unmapped: Vec<Unmapped>,
}

/// A param's value as MLflow shows it: a JSON string without its quotes, anything else as our
/// store renders it.
pub(crate) fn param_value(json: &str) -> String {
    match serde_json::from_str::<Value>(json) {
        Ok(Value::String(s)) => s,
        _ => json.to_owned(),
    }
}

pub(crate) fn mlflow_status(status: &str) -> &'static str {
    match status {
        "succeeded" => "FINISHED",
        "failed" => "FAILED",
        _ => "KILLED",
    }
}

pub(crate) fn map_run(run: &RunRecord, options: &SyncOptions) -> MappedRun {
    let item = format!("run {}", run.id);
    let mut out = MappedRun::default();
    let mut unmapped = |what: String, reason: String| {
        out.unmapped.push(Unmapped { item: item.clone(), what, reason });
    };
    let mut params = Vec::new();
    for (name, json) in &run.param_values {
        let value = param_value(json);
        if let Some(problem) = key_problem(name) {
            unmapped(format!("param {name}"), problem);
        } else if value.chars().count() > MAX_PARAM_VALUE_LENGTH {
            unmapped(
                format!("param {name}"),
                format!("its value is longer than MLflow's {MAX_PARAM_VALUE_LENGTH} characters for a param"),
            );
        } else {
            params.push((name.clone(), value));
        }
    }
    let timestamp = run.ended_ms.unwrap_or(run.started_ms);
    let mut metrics = Vec::new();
    for (node, m) in &run.metrics {
        let key = format!("{node}.{}", m.key);
        if let Some(problem) = key_problem(&key) {
            unmapped(format!("metric {key}"), problem);
        } else if !m.value.is_finite() {
            unmapped(format!("metric {key}"), format!("the value {} is not a finite number", m.value));
        } else {
            metrics.push(Point { key, value: m.value, step: m.step.unwrap_or(0), timestamp });
        }
    }
    let mut tags = vec![
        (RUN_ID_TAG.to_owned(), run.id.clone()),
        ("mlflow-pipelines.pipeline".to_owned(), run.pipeline.clone()),
        ("mlflow-pipelines.status".to_owned(), run.status.clone()),
    ];
    let mut ours = |key: String, value: String, tags: &mut Vec<(String, String)>| {
        if let Some(problem) = key_problem(&key) {
            unmapped(format!("tag {key}"), problem);
        } else if value.chars().count() > MAX_TAG_VALUE_LENGTH {
            unmapped(
                format!("tag {key}"),
                format!("its value is longer than MLflow's {MAX_TAG_VALUE_LENGTH} characters for a tag"),
            );
        } else {
            tags.push((key, value));
        }
    };
    for (node, key, value) in &run.tags {
        ours(format!("{node}.{key}"), value.clone(), &mut tags);
    }
    for step in &run.steps {
        if let Some(output) = step.output {
            ours(format!("mlflow-pipelines.output.{}", step.node), output.to_hex(), &mut tags);
        }
    }
    let mut data: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (node, input) in &run.data {
        data.entry(node).or_default().push(format!("{} {}", input.version.to_hex(), input.name));
    }
    for (node, lines) in data {
        ours(format!("mlflow-pipelines.data.{node}"), lines.join("\n"), &mut tags);
    }
    if let Some(env) = &run.environment {
        if let Some(commit) = &env.git_commit {
            tags.push(("mlflow.source.git.commit".to_owned(), commit.clone()));
        }
        tags.push((
            "mlflow-pipelines.environment".to_owned(),
            format!("mlflow-pipelines {}, {}, {} on {}", env.library, env.rustc, env.os, env.host),
        ));
    }
    if let Some(label) = &options.store_label {
        tags.push(("mlflow-pipelines.store".to_owned(), label.clone()));
    }
    out.params = params;
    out.metrics = metrics;
    out.tags = tags;
    out
}

/// Splits a run's data into `runs/log-batch` requests within MLflow's limits.
pub(crate) fn batches(
    params: &[(String, String)],
    tags: &[(String, String)],
    metrics: &[Point],
) -> Vec<Value> {
    let (mut p, mut t, mut m) = (params, tags, metrics);
    let mut out = Vec::new();
    while !(p.is_empty() && t.is_empty() && m.is_empty()) {
        let np = p.len().min(MAX_PARAMS_TAGS_PER_BATCH);
        let nt = t.len().min(MAX_PARAMS_TAGS_PER_BATCH);
        let nm = m.len().min(MAX_METRICS_PER_BATCH - np - nt);
        let kv = |items: &[(String, String)]| -> Vec<Value> {
            items.iter().map(|(k, v)| json!({ "key": k, "value": v })).collect()
        };
        let points: Vec<Value> = m[..nm]
            .iter()
            .map(|x| json!({ "key": x.key, "value": x.value, "step": x.step, "timestamp": x.timestamp }))
            .collect();
        out.push(json!({ "params": kv(&p[..np]), "tags": kv(&t[..nt]), "metrics": points }));
        (p, t, m) = (&p[np..], &t[nt..], &m[nm..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_lose_their_json_quotes_only_when_strings() {
        assert_eq!(param_value("\"accuracy\""), "accuracy");
        assert_eq!(param_value("0.5"), "0.5");
        assert_eq!(param_value("[1,2]"), "[1,2]");
        assert_eq!(param_value("\"cut…"), "\"cut…");
    }

    #[test]
    fn batches_respect_mlflows_limits() {
        let kv = |n: usize| (0..n).map(|i| (format!("k{i}"), "v".to_owned())).collect::<Vec<_>>();
        let points = (0..2500)
            .map(|i| Point { key: "m".into(), value: i as f64, step: i, timestamp: 0 })
            .collect::<Vec<_>>();
        let out = batches(&kv(150), &kv(30), &points);
        let len = |b: &Value, k: &str| b[k].as_array().unwrap().len();
        for b in &out {
            assert!(len(b, "params") <= 100 && len(b, "tags") <= 100 && len(b, "metrics") <= 1000);
            assert!(len(b, "params") + len(b, "tags") + len(b, "metrics") <= 1000);
        }
        assert_eq!(out.iter().map(|b| len(b, "params")).sum::<usize>(), 150);
        assert_eq!(out.iter().map(|b| len(b, "tags")).sum::<usize>(), 30);
        assert_eq!(out.iter().map(|b| len(b, "metrics")).sum::<usize>(), 2500);
        assert!(batches(&[], &[], &[]).is_empty());
    }

    #[test]
    fn what_mlflow_cannot_hold_is_listed_and_left_out() {
        use mlflow_core::codec::ContentHash;
        use mlflow_core::track::{DataInput, MetricPoint};
        let point = |key: &str, step, value| MetricPoint { key: key.into(), step, value };
        let run = RunRecord {
            id: "r1".into(),
            pipeline: "p".into(),
            status: "succeeded".into(),
            started_ms: 1_000,
            ended_ms: Some(2_000),
            params: Vec::new(),
            param_values: vec![
                ("lr".into(), "0.1".into()),
                ("name".into(), "\"x\"".into()),
                ("bad:name".into(), "1".into()),
                ("long".into(), format!("\"{}\"", "v".repeat(6001))),
            ],
            steps: Vec::new(),
            metrics: vec![
                ("fit".into(), point("loss", Some(3), 0.5)),
                ("fit".into(), point("auc", None, 0.9)),
                ("fit".into(), point("gap", None, f64::NAN)),
                ("fit".into(), point("f1%", None, 0.1)),
            ],
            tags: vec![
                ("fit".into(), "kind".into(), "svm".into()),
                ("fit".into(), "big".into(), "t".repeat(8001)),
                ("fit".into(), "é".into(), "x".into()),
            ],
            data: vec![(
                "load".into(),
                DataInput { name: "train.csv".into(), version: ContentHash::of(b"rows") },
            )],
            environment: None,
        };
        let mapped = map_run(&run, &SyncOptions::new("http://x"));
        assert_eq!(mapped.params, [("lr".to_owned(), "0.1".to_owned()), ("name".to_owned(), "x".to_owned())]);
        let points: Vec<(&str, u64, i64)> =
            mapped.metrics.iter().map(|p| (p.key.as_str(), p.step, p.timestamp)).collect();
        assert_eq!(points, [("fit.loss", 3, 2_000), ("fit.auc", 0, 2_000)]);
        let tags: BTreeMap<&str, &str> = mapped.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(tags["fit.kind"], "svm");
        assert_eq!(tags[RUN_ID_TAG], "r1");
        assert_eq!(
            tags["mlflow-pipelines.data.load"],
            format!("{} train.csv", ContentHash::of(b"rows").to_hex())
        );
        let what: Vec<&str> = mapped.unmapped.iter().map(|u| u.what.as_str()).collect();
        assert_eq!(
            what,
            ["param bad:name", "param long", "metric fit.gap", "metric fit.f1%", "tag fit.big", "tag fit.é"]
        );
        assert!(mapped.unmapped.iter().all(|u| u.item == "run r1"));
        assert!(mapped.unmapped[1].reason.contains("6000"), "{:?}", mapped.unmapped[1]);
        assert!(mapped.unmapped[2].reason.contains("NaN"), "{:?}", mapped.unmapped[2]);
    }

    #[test]
    fn statuses_map_to_mlflows() {
        assert_eq!(mlflow_status("succeeded"), "FINISHED");
        assert_eq!(mlflow_status("failed"), "FAILED");
        assert_eq!(mlflow_status("abandoned"), "KILLED");
    }
}
