//! Counters and latency histograms of the scoring service, rendered in the Prometheus text format.
//!
//! Counters are atomics on the request path; the label sets are fixed when a model version is
//! loaded, so a request never takes a lock to count itself.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::Role;

/// Upper bounds of the latency buckets, in microseconds.
const BUCKETS_US: [u64; 13] =
    [100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000];

const ROLES: [Role; 3] = [Role::Champion, Role::Challenger, Role::Shadow];

fn role_index(role: Role) -> usize {
    match role {
        Role::Champion => 0,
        Role::Challenger => 1,
        Role::Shadow => 2,
    }
}

/// Why a request was refused; each has a counter per served model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorCode {
    MalformedJson,
    BadRequest,
    EmptyInstances,
    FeatureCount,
    UnknownFeature,
    MissingFeature,
    NonNumeric,
    NonFinite,
    OutOfRange,
    BodyTooLarge,
    UnknownModel,
    NotFound,
    MethodNotAllowed,
    Internal,
    HeadersTooLarge,
    RequestTimeout,
    ShapeMismatch,
    WrongDatatype,
    UnknownOutput,
    BadLabel,
}

impl ErrorCode {
    const ALL: [ErrorCode; 20] = [
        ErrorCode::MalformedJson,
        ErrorCode::BadRequest,
        ErrorCode::EmptyInstances,
        ErrorCode::FeatureCount,
        ErrorCode::UnknownFeature,
        ErrorCode::MissingFeature,
        ErrorCode::NonNumeric,
        ErrorCode::NonFinite,
        ErrorCode::OutOfRange,
        ErrorCode::BodyTooLarge,
        ErrorCode::UnknownModel,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::Internal,
        ErrorCode::HeadersTooLarge,
        ErrorCode::RequestTimeout,
        ErrorCode::ShapeMismatch,
        ErrorCode::WrongDatatype,
        ErrorCode::UnknownOutput,
        ErrorCode::BadLabel,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MalformedJson => "malformed_json",
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::EmptyInstances => "empty_instances",
            ErrorCode::FeatureCount => "feature_count",
            ErrorCode::UnknownFeature => "unknown_feature",
            ErrorCode::MissingFeature => "missing_feature",
            ErrorCode::NonNumeric => "non_numeric",
            ErrorCode::NonFinite => "non_finite",
            ErrorCode::OutOfRange => "out_of_range",
            ErrorCode::BodyTooLarge => "body_too_large",
            ErrorCode::UnknownModel => "unknown_model",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::Internal => "internal",
            ErrorCode::HeadersTooLarge => "headers_too_large",
            ErrorCode::RequestTimeout => "request_timeout",
            ErrorCode::ShapeMismatch => "shape_mismatch",
            ErrorCode::WrongDatatype => "wrong_datatype",
            ErrorCode::UnknownOutput => "unknown_output",
            ErrorCode::BadLabel => "bad_label",
        }
    }

    /// Its position in [`ErrorCode::ALL`] (declaration order).
    fn index(self) -> usize {
        self as usize
    }
}

/// A latency histogram with fixed buckets.
#[derive(Debug, Default)]
struct Histogram {
    buckets: [AtomicU64; BUCKETS_US.len()],
    overflow: AtomicU64,
    sum_us: AtomicU64,
}

impl Histogram {
    fn observe(&self, elapsed: Duration) {
        let us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        match BUCKETS_US.iter().position(|&bound| us <= bound) {
            Some(i) => self.buckets[i].fetch_add(1, Ordering::Relaxed),
            None => self.overflow.fetch_add(1, Ordering::Relaxed),
        };
        self.sum_us.fetch_add(us, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (bound, count) in BUCKETS_US.iter().zip(&self.buckets) {
            cumulative += count.load(Ordering::Relaxed);
            let le = *bound as f64 / 1e6;
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{le}\"}} {cumulative}");
        }
        cumulative += self.overflow.load(Ordering::Relaxed);
        let sum = self.sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {cumulative}");
        let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
        let _ = writeln!(out, "{name}_count{{{labels}}} {cumulative}");
    }
}

/// The counters of one loaded model version.
#[derive(Debug)]
pub(crate) struct VersionMetrics {
    model: String,
    version: u32,
    requests: [AtomicU64; 3],
    predictions: [AtomicU64; 3],
    shadow_errors: AtomicU64,
    latency: [Histogram; 3],
}

impl VersionMetrics {
    /// Counts a request this version scored in `role`, with its rows and scoring time.
    pub(crate) fn scored(&self, role: Role, rows: usize, elapsed: Duration) {
        let i = role_index(role);
        self.requests[i].fetch_add(1, Ordering::Relaxed);
        self.predictions[i].fetch_add(rows as u64, Ordering::Relaxed);
        self.latency[i].observe(elapsed);
    }

    /// Counts a shadow request this version could not score.
    pub(crate) fn shadow_failed(&self) {
        self.shadow_errors.fetch_add(1, Ordering::Relaxed);
    }
}

/// The counters of one served model name (errors before a version is chosen, shadow drops, reloads).
#[derive(Debug)]
pub(crate) struct ModelMetrics {
    model: String,
    errors: [AtomicU64; ErrorCode::ALL.len()],
    shadow_dropped: AtomicU64,
    reloads: AtomicU64,
    reload_errors: AtomicU64,
}

impl ModelMetrics {
    pub(crate) fn error(&self, code: ErrorCode) {
        self.errors[code.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn shadow_dropped(&self) {
        self.shadow_dropped.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn reloaded(&self) {
        self.reloads.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn reload_failed(&self) {
        self.reload_errors.fetch_add(1, Ordering::Relaxed);
    }
}

/// Every counter of a server. Versions that stopped serving keep their counters, so totals never
/// go backwards across a promotion.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    versions: Mutex<BTreeMap<(String, u32), Arc<VersionMetrics>>>,
    models: Mutex<BTreeMap<String, Arc<ModelMetrics>>>,
    /// What each served model runs now.
    serving: Mutex<BTreeMap<String, Vec<Serving>>>,
    in_flight: AtomicU64,
}

impl Metrics {
    /// The counters of a model version, created on first use.
    pub(crate) fn version(&self, model: &str, version: u32) -> Arc<VersionMetrics> {
        let mut versions = self.versions.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(versions.entry((model.to_owned(), version)).or_insert_with(|| {
            Arc::new(VersionMetrics {
                model: model.to_owned(),
                version,
                requests: Default::default(),
                predictions: Default::default(),
                shadow_errors: AtomicU64::new(0),
                latency: Default::default(),
            })
        }))
    }

    /// The counters of a served model name (or `""` for requests that named no served model).
    pub(crate) fn model(&self, model: &str) -> Arc<ModelMetrics> {
        let mut models = self.models.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(models.entry(model.to_owned()).or_insert_with(|| {
            Arc::new(ModelMetrics {
                model: model.to_owned(),
                errors: Default::default(),
                shadow_dropped: AtomicU64::new(0),
                reloads: AtomicU64::new(0),
                reload_errors: AtomicU64::new(0),
            })
        }))
    }

    /// Records what a served model runs now.
    pub(crate) fn set_serving(&self, model: &str, serving: Vec<Serving>) {
        self.serving.lock().unwrap_or_else(|e| e.into_inner()).insert(model.to_owned(), serving);
    }

    /// A guard counting one request in flight.
    pub(crate) fn in_flight(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(&self.in_flight)
    }

    /// The Prometheus text exposition of every counter.
    pub(crate) fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        let versions: Vec<_> =
            self.versions.lock().unwrap_or_else(|e| e.into_inner()).values().cloned().collect();
        let models: Vec<_> =
            self.models.lock().unwrap_or_else(|e| e.into_inner()).values().cloned().collect();

        let counters: [(&str, &str, RoleCounts); 2] = [
            (
                "mlflow_requests_total",
                "Prediction requests scored, by model version and role (shadow: scored beside the champion, not returned).",
                |v| &v.requests,
            ),
            ("mlflow_predictions_total", "Rows scored, by model version and role.", |v| &v.predictions),
        ];
        for (name, help, counts) in counters {
            header(&mut out, name, "counter", help);
            for_roles(&versions, |v, role, i| {
                let _ =
                    writeln!(out, "{name}{{{}}} {}", labels(v, role), counts(v)[i].load(Ordering::Relaxed));
            });
        }
        header(
            &mut out,
            "mlflow_request_duration_seconds",
            "histogram",
            "Time from the request's arrival to its answer (champion, challenger) or to the end of its shadow scoring (shadow).",
        );
        for_roles(&versions, |v, role, i| {
            v.latency[i].render(&mut out, "mlflow_request_duration_seconds", &labels(v, role))
        });
        header(
            &mut out,
            "mlflow_request_errors_total",
            "counter",
            "Requests refused, by served model (empty: no served model named) and error code.",
        );
        for m in &models {
            for code in ErrorCode::ALL {
                let n = m.errors[code.index()].load(Ordering::Relaxed);
                if n > 0 || !m.model.is_empty() {
                    let _ = writeln!(
                        out,
                        "mlflow_request_errors_total{{model=\"{}\",code=\"{}\"}} {n}",
                        escape(&m.model),
                        code.as_str()
                    );
                }
            }
        }
        header(
            &mut out,
            "mlflow_shadow_errors_total",
            "counter",
            "Shadow scorings that failed (e.g. the request does not fit the challenger's signature).",
        );
        for v in &versions {
            let _ = writeln!(
                out,
                "mlflow_shadow_errors_total{{model=\"{}\",version=\"{}\"}} {}",
                escape(&v.model),
                v.version,
                v.shadow_errors.load(Ordering::Relaxed)
            );
        }
        let per_model: [(&str, &str, ModelCount); 3] = [
            (
                "mlflow_shadow_dropped_total",
                "Shadow scorings skipped because the shadow queue was full.",
                |m| &m.shadow_dropped,
            ),
            (
                "mlflow_model_reloads_total",
                "Times a served model switched to another registered version.",
                |m| &m.reloads,
            ),
            (
                "mlflow_model_reload_errors_total",
                "Newly registered versions that failed to load, once per distinct failure (the old version keeps serving; the load is retried every reload interval).",
                |m| &m.reload_errors,
            ),
        ];
        for (name, help, count) in per_model {
            header(&mut out, name, "counter", help);
            for m in models.iter().filter(|m| !m.model.is_empty()) {
                let _ = writeln!(
                    out,
                    "{name}{{model=\"{}\"}} {}",
                    escape(&m.model),
                    count(m).load(Ordering::Relaxed)
                );
            }
        }
        header(
            &mut out,
            "mlflow_model_serving",
            "gauge",
            "1 for each model version serving now, with its role (champion, challenger, shadow), its mode (champion, shadow, canary, ab) and registry reference.",
        );
        for (model, serving) in self.serving.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            for Serving { role, mode, reference, version } in serving {
                let _ = writeln!(
                    out,
                    "mlflow_model_serving{{model=\"{}\",version=\"{version}\",role=\"{}\",mode=\"{mode}\",reference=\"{}\"}} 1",
                    escape(model),
                    role.as_str(),
                    escape(reference)
                );
            }
        }
        header(&mut out, "mlflow_requests_in_flight", "gauge", "Requests being handled now.");
        let _ = writeln!(out, "mlflow_requests_in_flight {}", self.in_flight.load(Ordering::Relaxed));
        out
    }
}

/// A model version serving now, in a role and a mode (`champion`, `shadow`, `canary`, `ab`), by
/// reference.
#[derive(Debug)]
pub(crate) struct Serving {
    pub(crate) role: Role,
    pub(crate) mode: &'static str,
    pub(crate) reference: String,
    pub(crate) version: u32,
}

/// Decrements the in-flight gauge when dropped.
pub(crate) struct InFlight<'a>(&'a AtomicU64);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Picks one counter of a served model.
type ModelCount = fn(&ModelMetrics) -> &AtomicU64;

/// Picks one per-role counter array of a version.
type RoleCounts = fn(&VersionMetrics) -> &[AtomicU64; 3];

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// Calls `f` for each version and each role it was used in.
fn for_roles(versions: &[Arc<VersionMetrics>], mut f: impl FnMut(&VersionMetrics, Role, usize)) {
    for v in versions {
        for (i, role) in ROLES.into_iter().enumerate() {
            if v.requests[i].load(Ordering::Relaxed) > 0 || i == 0 {
                f(v, role, i);
            }
        }
    }
}

fn labels(v: &VersionMetrics, role: Role) -> String {
    format!("model=\"{}\",version=\"{}\",role=\"{}\"", escape(&v.model), v.version, role.as_str())
}

/// Escapes a label value (backslash, quote, newline).
pub(crate) fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_counted() {
        let metrics = Metrics::default();
        let v = metrics.version("titanic", 3);
        v.scored(Role::Champion, 1, Duration::from_micros(80));
        v.scored(Role::Champion, 100, Duration::from_micros(700));
        v.scored(Role::Champion, 1, Duration::from_secs(3));
        let text = metrics.render();
        let line = |needle: &str| text.lines().find(|l| l.starts_with(needle)).unwrap_or("").to_owned();
        assert!(line("mlflow_request_duration_seconds_bucket{model=\"titanic\",version=\"3\",role=\"champion\",le=\"0.0001\"}").ends_with(" 1"), "{text}");
        assert!(line("mlflow_request_duration_seconds_bucket{model=\"titanic\",version=\"3\",role=\"champion\",le=\"0.001\"}").ends_with(" 2"), "{text}");
        assert!(line("mlflow_request_duration_seconds_bucket{model=\"titanic\",version=\"3\",role=\"champion\",le=\"+Inf\"}").ends_with(" 3"), "{text}");
        assert!(
            line("mlflow_predictions_total{model=\"titanic\",version=\"3\",role=\"champion\"}")
                .ends_with(" 102"),
            "{text}"
        );
    }

    #[test]
    fn error_codes_index_their_counters_in_order() {
        for (i, code) in ErrorCode::ALL.into_iter().enumerate() {
            assert_eq!(code.index(), i, "{}", code.as_str());
        }
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
