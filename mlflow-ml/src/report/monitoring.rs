//! The monitoring report: one self-contained HTML page per monitoring pass, for a person with a
//! browser: the dataset's drift over time, each feature's drift window by window, the model's
//! performance over time (realized on labels, or estimated), and health. Like the run report,
//! it draws a plain view ([`MonitoringView`]) that the serving side fills from a monitoring pass,
//! loads nothing from anywhere, and escapes every name.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::MetricView;
use super::charts;
use super::fmt::{esc, value};
use super::page::page;

/// What the monitoring report shows: one model's windows, oldest first.
///
/// ```
/// use mlflow_ml::report::{render_monitoring_html, ColumnView, MonitoringView, WindowView};
/// let window = |share: f64, drifted: bool| WindowView {
///     label: "window".into(),
///     rows: 1000,
///     dataset_share: Some(share),
///     columns: vec![ColumnView { name: "Age".into(), test: "ks".into(), statistic: Some(0.2), p_value: Some(0.001), drifted, nulls: 0 }],
///     performance: vec![("accuracy".into(), 0.81)],
///     ..WindowView::default()
/// };
/// let view = MonitoringView { model: "titanic".into(), windows: vec![window(0.0, false), window(1.0, true)], ..MonitoringView::default() };
/// let html = render_monitoring_html(&view);
/// assert!(html.contains(r#"id="drift""#) && html.contains(r#"id="features""#) && html.contains(r#"id="performance""#));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MonitoringView {
    /// The model's name.
    pub model: String,
    /// What was monitored: versions, roles, windowing, preset.
    pub subtitle: String,
    /// The windows, oldest first.
    pub windows: Vec<WindowView>,
    /// What could not be measured, and why.
    pub notes: Vec<String>,
}

/// One window of a [`MonitoringView`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WindowView {
    /// How the window is named on the page (its version, role and time range).
    pub label: String,
    /// Predictions in it.
    pub rows: u64,
    /// The share of drifted input features, when measured.
    pub dataset_share: Option<f64>,
    /// Whether that share reached the dataset-drift threshold.
    pub dataset_drifted: bool,
    /// Each input feature, then the output.
    pub columns: Vec<ColumnView>,
    /// Performance by metric name, realized or estimated.
    pub performance: Vec<(String, f64)>,
    /// Whether `performance` is an estimate (too few labels).
    pub performance_estimated: bool,
    /// Labeled predictions, once labels were joined.
    pub labeled: Option<u64>,
    /// Requests per second.
    pub requests_per_second: Option<f64>,
    /// Latency p99 in milliseconds.
    pub latency_p99_ms: Option<f64>,
    /// Failed requests, when the log records them.
    #[serde(default)]
    pub errors: Option<u64>,
    /// Failed requests / all requests.
    #[serde(default)]
    pub error_rate: Option<f64>,
}

/// One column's drift in a window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ColumnView {
    /// The feature (or output) name.
    pub name: String,
    /// The test (`ks`, `wasserstein`, `chi-square`, ...), empty when not measured.
    pub test: String,
    /// Its statistic.
    pub statistic: Option<f64>,
    /// Its p-value, for a p-value test.
    pub p_value: Option<f64>,
    /// Whether it drifted.
    pub drifted: bool,
    /// Missing values in the window.
    pub nulls: u64,
}

/// Renders the monitoring report: one self-contained HTML page (no network, no external files),
/// with sections `summary`, `drift` (dataset drift over time), `features` (a feature x window
/// table, drifted cells marked), `performance` (each metric over time; estimates apart) and
/// `health`.
pub fn render_monitoring_html(view: &MonitoringView) -> String {
    let mut body = String::with_capacity(16_384);
    body.push_str("<main>\n");
    summary(&mut body, view);
    drift(&mut body, view);
    features(&mut body, view);
    performance(&mut body, view);
    health(&mut body, view);
    body.push_str("</main>\n");
    page(&format!("{} · monitoring · mlflow-pipelines", view.model), &body, SCRIPT)
}

/// Marks the body once the page's script ran, so a browser test can tell it ran without errors.
const SCRIPT: &str = "document.body.setAttribute('data-ok', '1');\n";

fn summary(out: &mut String, view: &MonitoringView) {
    let drifted = view.windows.iter().filter(|w| w.dataset_drifted).count();
    let last = view.windows.last().and_then(|w| w.dataset_share);
    let _ = write!(
        out,
        r##"<header id="summary">
<h1><span>{model}</span> <span class="badge {class}">{status}</span></h1>
<div class="subtitle">monitoring · {subtitle}</div>
<nav><a href="#drift">Drift</a><a href="#features">Features</a><a href="#performance">Performance</a><a href="#health">Health</a></nav>
<div class="cards">
<div class="card"><b>{windows}</b><span>windows</span></div>
<div class="card {class}"><b>{drifted}</b><span>drifted</span></div>
<div class="card"><b>{last}</b><span>latest drift share</span></div>
</div>
</header>
"##,
        model = esc(&view.model),
        class = if drifted > 0 { "failed" } else { "ran" },
        status = if drifted > 0 { "drift" } else { "no drift" },
        subtitle = esc(&view.subtitle),
        windows = view.windows.len(),
        last = last.map_or_else(|| "–".to_owned(), |s| format!("{:.0}%", s * 100.0)),
    );
    for note in &view.notes {
        let _ = writeln!(out, "<p class=\"note\">{}</p>", esc(note));
    }
}

fn drift(out: &mut String, view: &MonitoringView) {
    out.push_str("<section id=\"drift\">\n<h2>Dataset drift over time</h2>\n");
    let points: Vec<MetricView> = view
        .windows
        .iter()
        .enumerate()
        .filter_map(|(i, w)| Some(MetricView::series("", "drift share", i as i64, w.dataset_share?)))
        .collect();
    if points.is_empty() {
        out.push_str("<p class=\"note\">no window had its drift measured</p>\n</section>\n");
        return;
    }
    out.push_str(
        "<p class=\"muted\">the share of input features that drifted, window by window (x: window)</p>\n",
    );
    let refs: Vec<&MetricView> = points.iter().collect();
    charts::series(out, 0, "dataset drift share", &refs);
    out.push_str("</section>\n");
}

fn features(out: &mut String, view: &MonitoringView) {
    out.push_str("<section id=\"features\">\n<h2>Features</h2>\n");
    let mut names: Vec<&str> = Vec::new();
    for w in &view.windows {
        for c in &w.columns {
            if !names.contains(&c.name.as_str()) {
                names.push(&c.name);
            }
        }
    }
    if names.is_empty() {
        out.push_str("<p class=\"note\">no column was measured</p>\n</section>\n");
        return;
    }
    out.push_str("<p class=\"muted\">each cell: the test's p-value (p) or distance (d); marked where the column drifted</p>\n");
    out.push_str("<div class=\"scroll\">\n<table class=\"drift\">\n<thead><tr><th>column</th>");
    for (i, w) in view.windows.iter().enumerate() {
        let _ = write!(out, r#"<th class="num" title="{}">{i}</th>"#, esc(&w.label));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for name in names {
        let _ = write!(out, "<tr><td>{}</td>", esc(name));
        for w in &view.windows {
            match w.columns.iter().find(|c| c.name == name) {
                Some(c) => {
                    let figure = match (c.p_value, c.statistic) {
                        (Some(p), _) => format!("p {}", value(p)),
                        (None, Some(d)) => format!("d {}", value(d)),
                        (None, None) => "–".to_owned(),
                    };
                    let (class, mark) = if c.drifted { ("drifted", " ▲") } else { ("steady", "") };
                    let _ = write!(
                        out,
                        r#"<td class="num {class}" title="{test}, {nulls} nulls">{figure}{mark}</td>"#,
                        test = esc(&c.test),
                        nulls = c.nulls,
                        figure = esc(&figure),
                    );
                }
                None => out.push_str("<td></td>"),
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n</div>\n</section>\n");
}

fn performance(out: &mut String, view: &MonitoringView) {
    out.push_str("<section id=\"performance\">\n<h2>Performance over time</h2>\n");
    let mut series: Vec<(String, Vec<MetricView>)> = Vec::new();
    for (i, w) in view.windows.iter().enumerate() {
        for (metric, v) in &w.performance {
            let key = if w.performance_estimated { format!("{metric} (estimated)") } else { metric.clone() };
            let point = MetricView::series("", &key, i as i64, *v);
            match series.iter_mut().find(|(k, _)| *k == key) {
                Some((_, points)) => points.push(point),
                None => series.push((key, vec![point])),
            }
        }
    }
    if series.is_empty() {
        out.push_str("<p class=\"note\">no labels joined: performance needs delayed labels (`:feedback`, `labels ingest`)</p>\n</section>\n");
        return;
    }
    out.push_str("<p class=\"muted\">realized on the windows' labels; estimated (from the probabilities, assuming calibration) where too few labels came back</p>\n<div class=\"charts\">\n");
    for (k, (key, points)) in series.iter().enumerate() {
        let refs: Vec<&MetricView> = points.iter().collect();
        let _ = writeln!(out, "<div class=\"chart\"><h3>{}</h3>", esc(key));
        charts::series(out, k + 1, key, &refs);
        out.push_str("</div>\n");
    }
    out.push_str("</div>\n</section>\n");
}

fn health(out: &mut String, view: &MonitoringView) {
    out.push_str("<section id=\"health\">\n<h2>Health</h2>\n<div class=\"scroll\">\n<table class=\"health\">\n<thead><tr><th>window</th><th class=\"num\">rows</th><th class=\"num\">requests/s</th><th class=\"num\">latency p99</th><th class=\"num\">failed</th><th class=\"num\">labels</th></tr></thead>\n<tbody>\n");
    let text =
        |v: Option<f64>, unit: &str| v.map_or_else(|| "–".to_owned(), |v| format!("{}{unit}", value(v)));
    for (i, w) in view.windows.iter().enumerate() {
        let _ = writeln!(
            out,
            r#"<tr><td>{i} · {label}</td><td class="num">{rows}</td><td class="num">{rate}</td><td class="num">{p99}</td><td class="num">{failed}</td><td class="num">{labels}</td></tr>"#,
            label = esc(&w.label),
            rows = w.rows,
            rate = esc(&text(w.requests_per_second, "")),
            p99 = esc(&text(w.latency_p99_ms, " ms")),
            failed = match (w.errors, w.error_rate) {
                (Some(n), Some(rate)) => format!("{n} ({})", esc(&value(rate * 100.0)) + "%"),
                (Some(n), None) => n.to_string(),
                _ => "–".to_owned(),
            },
            labels = w.labeled.map_or_else(|| "–".to_owned(), |n| n.to_string()),
        );
    }
    out.push_str("</tbody>\n</table>\n</div>\n</section>\n");
}
