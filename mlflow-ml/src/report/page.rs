//! The HTML page around the pictures: head, styles, sections, tables and the small script.

use std::fmt::Write as _;

use super::fmt::{duration, esc, timestamp, truncate, value};
use super::{ClassifierView, MetricView, NodeKind, NodeView, RunView, look};
use super::{charts, study};
use mlflow_core::codec::Hasher;

/// The statuses a step can have, in the order the summary lists them.
const STATUSES: [&str; 4] = ["ran", "cached", "failed", "skipped"];

/// Most distinct metric keys shown as columns of one table (more: one row per value).
const PIVOT_MAX_KEYS: usize = 12;

/// Renders the run report: one self-contained HTML page (no network, no external files).
///
/// Sections carry stable ids: `summary`, `errors` (only when a step failed), `dag`, `timeline`,
/// `roc` (classifiers), `studies` (only when the run tuned hyperparameters), `metrics`, `params`, `steps`, `environment`. The page reads fully without
/// script; its few lines of script only highlight a step everywhere while the pointer is over
/// it, and mark `<body data-ok="1">` once they have run. Rendering never fails and never panics:
/// any [`RunView`], however odd, gives a page (same view, same bytes).
///
/// ```
/// use mlflow_ml::report::{render_html, NodeView, RunView};
///
/// let view = RunView {
///     pipeline: "titanic".into(),
///     run_id: "cf5471393c8d".into(),
///     status: "failed".into(),
///     nodes: vec![
///         NodeView::param("path"),
///         NodeView { error: Some("no such file".into()), ..NodeView::step("<load>", "failed", 0.0, 2.0) },
///     ],
///     edges: vec![(0, 1)],
///     ..RunView::default()
/// };
/// let html = render_html(&view);
/// assert!(html.contains("&lt;load&gt;") && !html.contains("<load>"));
/// assert!(html.contains(r#"id="errors""#) && html.contains("no such file"));
/// ```
pub fn render_html(view: &RunView) -> String {
    let title = format!("{} · run {} · mlflow-pipelines report", view.pipeline, view.run_id);
    page(&title, &body(view), SCRIPT)
}

/// A whole self-contained page around `body`: the strict Content-Security-Policy, the styles,
/// and `script` allowed by a nonce derived from the body.
pub(super) fn page(title: &str, body: &str, script: &str) -> String {
    let nonce = Hasher::new("mlflow/report/nonce/v1").part(body.as_bytes()).finish().to_hex();
    let nonce = &nonce[..nonce.len().min(32)];
    let mut out = String::with_capacity(body.len() + 8_192);
    let _ = write!(
        out,
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'nonce-{nonce}'">
<meta name="generator" content="mlflow {version}">
<title>{title}</title>
<style>
{css}</style>
</head>
<body>
{body}<script nonce="{nonce}">
{script}</script>
</body>
</html>
"#,
        version = env!("CARGO_PKG_VERSION"),
        title = esc(title),
        css = css(),
    );
    out
}

/// Highlights every element of the hovered step (DAG box, timeline bar, table row); then marks
/// the body so a test can tell that the script ran without errors.
const SCRIPT: &str = r#"(function () {
  var all = document.querySelectorAll('[data-node]');
  function mark(id, on) {
    var same = document.querySelectorAll('[data-node="' + id + '"]');
    for (var j = 0; j < same.length; j++) { same[j].classList.toggle('hl', on); }
  }
  for (var i = 0; i < all.length; i++) {
    (function (el) {
      var id = el.getAttribute('data-node');
      el.addEventListener('mouseenter', function () { mark(id, true); });
      el.addEventListener('mouseleave', function () { mark(id, false); });
    })(all[i]);
  }
  document.body.setAttribute('data-ok', '1');
})();
"#;

fn css() -> String {
    let mut css = String::from(
        r#":root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #f3f4f6; color: #1f2328;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1260px; margin: 0 auto; padding: 22px 24px 48px; }
header h1 { font-size: 25px; margin: 0 0 4px; display: flex; align-items: center; gap: 12px; flex-wrap: wrap; }
.subtitle { color: #57606a; }
.subtitle.env { font-size: 12.5px; margin-top: 2px; }
.subtitle.env b { font-weight: 500; color: #1f2328; }
nav { margin: 12px 0 0; display: flex; gap: 16px; flex-wrap: wrap; font-size: 13px; }
nav a { color: #0969da; text-decoration: none; }
nav a:hover { text-decoration: underline; }
.cards { display: flex; gap: 12px; flex-wrap: wrap; margin: 16px 0 0; }
.card { background: #fff; border: 1px solid #d0d7de; border-left: 5px solid #8c959f; border-radius: 8px;
  padding: 6px 16px 8px; min-width: 112px; }
.card b { display: block; font-size: 22px; line-height: 1.3; }
.card span { color: #57606a; font-size: 12.5px; }
section { background: #fff; border: 1px solid #d0d7de; border-radius: 10px; padding: 16px 20px; margin: 18px 0; }
section h2 { font-size: 17px; margin: 0 0 10px; }
section h3 { font-size: 14px; margin: 14px 0 6px; }
.scroll { overflow-x: auto; }
.keys { display: flex; gap: 16px; flex-wrap: wrap; font-size: 12.5px; color: #57606a; margin: 0 0 10px; }
.swatch { display: inline-block; width: 14px; height: 14px; border-radius: 3px; border: 2px solid;
  vertical-align: -2px; margin-right: 5px; }
.swatch.thin { height: 6px; border-width: 0; vertical-align: 2px; }
table { border-collapse: collapse; font-size: 13px; }
th, td { padding: 5px 12px; border-bottom: 1px solid #eaeef2; text-align: left; vertical-align: top; }
thead th { background: #f6f8fa; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 12.5px; }
td code { word-break: break-all; }
pre.error { background: #fff5f5; border: 1px solid #f3c2c2; border-radius: 6px; padding: 10px 12px;
  white-space: pre-wrap; word-break: break-word; margin: 4px 0 12px; max-height: 320px; overflow: auto; }
.muted { color: #57606a; }
.note { color: #57606a; font-style: italic; margin: 4px 0; }
.pill { display: inline-block; padding: 0 8px; border-radius: 999px; font-size: 12px; font-weight: 600; border: 1px solid; }
.charts { display: flex; flex-wrap: wrap; gap: 14px 24px; }
.chart h3 { margin: 4px 0 2px; font-weight: 600; }
.chart .muted { font-size: 12px; margin: 0 0 4px; }
.matrices { display: flex; flex-wrap: wrap; gap: 16px; margin-top: 12px; }
.cm { border: 1px solid #d0d7de; border-radius: 8px; padding: 8px 14px 10px; }
.cm h3 { margin: 2px 0 8px; }
.cm table { font-size: 12px; }
.cm th { background: none; color: #57606a; font-weight: 500; border: 0; padding: 3px 6px; text-align: center; }
.cm td { width: 92px; height: 50px; text-align: center; vertical-align: middle; border: 2px solid #fff; }
.cm td b { display: block; font-size: 16px; }
.cm .muted { font-size: 12px; margin: 8px 0 0; }
svg { display: block; }
svg text { font-family: inherit; }
.node.hl rect { stroke-width: 3.4; }
.bar.hl text { font-weight: 700; }
tr.hl td { background: #fff8c5; }
td.drifted { background: #fde3e3; color: #b42318; font-weight: 600; }
td.steady { background: #eef8f1; }
"#,
    );
    for status in ["ran", "cached", "failed", "skipped", "running", "param", "other"] {
        let kind = if status == "param" { NodeKind::Param } else { NodeKind::Step };
        let lk = look(kind, status);
        let _ = writeln!(
            css,
            ".pill.{c}, .badge.{c} {{ color: {s}; background: {f}; border-color: {s}; }} .card.{c} {{ border-left-color: {s}; }}",
            c = lk.class,
            s = lk.stroke,
            f = lk.fill
        );
    }
    css.push_str(".badge { display: inline-block; padding: 1px 12px; border-radius: 999px; font-size: 14px; font-weight: 600; border: 1.5px solid; }\n");
    css
}

/// The look of the run's status (`succeeded` looks like a step that ran).
fn run_class(status: &str) -> &'static str {
    match status.trim().to_ascii_lowercase().as_str() {
        "succeeded" | "success" | "ok" => "ran",
        "failed" => "failed",
        "running" => "running",
        _ => "other",
    }
}

fn body(view: &RunView) -> String {
    let mut out = String::with_capacity(32_768);
    out.push_str("<main>\n");
    summary(&mut out, view);
    errors(&mut out, view);
    dag(&mut out, view);
    timeline(&mut out, view);
    classifiers(&mut out, &view.classifiers);
    study::section(&mut out, &view.studies);
    metrics(&mut out, &view.metrics);
    params(&mut out, view);
    steps(&mut out, view);
    environment(&mut out, &view.environment);
    out.push_str("</main>\n");
    out
}

fn summary(out: &mut String, view: &RunView) {
    let steps: Vec<&NodeView> = view.nodes.iter().filter(|n| n.kind == NodeKind::Step).collect();
    let count = |class: &str| steps.iter().filter(|n| look(n.kind, &n.status).class == class).count();
    let status = if view.status.trim().is_empty() { "unknown" } else { view.status.trim() };
    let _ = write!(
        out,
        r##"<header id="summary">
<h1><span>{pipeline}</span> <span class="badge {class}">{status}</span></h1>
<div class="subtitle">run <code>{run}</code> · started {started} · total {total}</div>
{env}<nav><a href="#dag">DAG</a><a href="#timeline">Timeline</a><a href="#roc">Classifiers</a>{studies}<a href="#metrics">Metrics</a><a href="#params">Params</a><a href="#steps">Steps</a><a href="#environment">Environment</a></nav>
<div class="cards">
<div class="card"><b>{n}</b><span>steps</span></div>
"##,
        pipeline = esc(&view.pipeline),
        class = run_class(status),
        status = esc(&truncate(status, 40)),
        run = esc(&view.run_id),
        started = timestamp(view.started_ms),
        total = duration(view.duration_ms),
        n = steps.len(),
        env = environment_line(&view.environment),
        studies = if view.studies.is_empty() { "" } else { r##"<a href="#studies">Studies</a>"## },
    );
    for status in STATUSES {
        let _ = writeln!(
            out,
            r#"<div class="card {status}"><b>{}</b><span>{status}</span></div>"#,
            count(status)
        );
    }
    let running = count("running");
    if running > 0 {
        let _ = writeln!(out, r#"<div class="card running"><b>{running}</b><span>running</span></div>"#);
    }
    let _ = writeln!(
        out,
        r#"<div class="card param"><b>{}</b><span>params</span></div>
<div class="card"><b>{}</b><span>total time</span></div>
</div>
</header>"#,
        view.nodes.len() - steps.len(),
        duration(view.duration_ms),
    );
}

/// The environment in one line under the title (the full table is at the end of the page).
fn environment_line(env: &[(String, String)]) -> String {
    if env.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = env
        .iter()
        .take(8)
        .map(|(k, v)| format!("{} <b>{}</b>", esc(&truncate(k, 24)), esc(&truncate(v, 48))))
        .collect();
    format!("<div class=\"subtitle env\">{}</div>\n", parts.join(" · "))
}

fn errors(out: &mut String, view: &RunView) {
    let failed: Vec<(usize, &NodeView)> = view
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| {
            n.kind == NodeKind::Step && (look(n.kind, &n.status).class == "failed" || n.error.is_some())
        })
        .collect();
    if failed.is_empty() {
        return;
    }
    let _ = writeln!(out, "<section id=\"errors\">\n<h2>Errors ({})</h2>", failed.len());
    for (i, node) in failed {
        let attempts = match node.attempts {
            0 | 1 => String::new(),
            n => format!(" after {n} attempts"),
        };
        let _ = writeln!(
            out,
            r#"<h3 data-node="{i}">{} <span class="pill {}">{}</span><span class="muted">{attempts}</span></h3>"#,
            esc(&node.name),
            look(node.kind, &node.status).class,
            esc(&truncate(&node.status, 20)),
        );
        match &node.error {
            Some(e) => {
                let _ = writeln!(out, r#"<pre class="error">{}</pre>"#, esc(e));
            }
            None => out.push_str("<p class=\"note\">no error message was recorded</p>\n"),
        }
    }
    out.push_str("</section>\n");
}

fn dag(out: &mut String, view: &RunView) {
    out.push_str("<section id=\"dag\">\n<h2>Pipeline</h2>\n<div class=\"keys\">");
    for (kind, status, label) in [
        (NodeKind::Step, "ran", "ran"),
        (NodeKind::Step, "cached", "cached"),
        (NodeKind::Step, "failed", "failed"),
        (NodeKind::Step, "skipped", "skipped (upstream failed)"),
        (NodeKind::Param, "param", "param"),
    ] {
        let lk = look(kind, status);
        let radius = if kind == NodeKind::Param { "7px" } else { "3px" };
        let _ = write!(
            out,
            r#"<span><i class="swatch" style="background:{};border-color:{};border-radius:{radius}"></i>{label}</span>"#,
            lk.fill, lk.stroke
        );
    }
    out.push_str("</div>\n");
    if view.nodes.is_empty() {
        out.push_str("<p class=\"note\">this run has no steps</p>\n");
    }
    out.push_str("<div class=\"scroll\">\n");
    charts::dag(out, view);
    out.push_str("</div>\n</section>\n");
}

fn timeline(out: &mut String, view: &RunView) {
    out.push_str("<section id=\"timeline\">\n<h2>Timeline</h2>\n<div class=\"keys\">");
    for status in ["ran", "cached", "failed"] {
        let lk = look(NodeKind::Step, status);
        let thin = if status == "cached" { " thin" } else { "" };
        let _ = write!(
            out,
            r#"<span><i class="swatch{thin}" style="background:{0};border-color:{0}"></i>{status}</span>"#,
            lk.stroke
        );
    }
    out.push_str("<span>bars side by side ran in parallel; times are offsets from the run's start</span></div>\n<div class=\"scroll\">\n");
    charts::timeline(out, view);
    out.push_str("</div>\n</section>\n");
}

fn classifiers(out: &mut String, classifiers: &[ClassifierView]) {
    out.push_str("<section id=\"roc\">\n<h2>Classifiers</h2>\n");
    if classifiers.is_empty() {
        out.push_str("<p class=\"note\">no classifiers were evaluated in this run</p>\n</section>\n");
        return;
    }
    out.push_str("<div class=\"scroll\">\n");
    charts::roc(out, classifiers);
    out.push_str("</div>\n<div class=\"matrices\">\n");
    for (k, c) in classifiers.iter().enumerate() {
        confusion(out, k, c);
    }
    out.push_str("</div>\n</section>\n");
}

/// A 2x2 confusion matrix as a table whose cells are shaded by count.
fn confusion(out: &mut String, k: usize, c: &ClassifierView) {
    let [[tn, fp], [fn_, tp]] = c.confusion;
    let max = tn.max(fp).max(fn_).max(tp);
    let total = tn.saturating_add(fp).saturating_add(fn_).saturating_add(tp);
    let ratio =
        |a: u64, b: u64| if b == 0 { "–".to_string() } else { format!("{:.3}", a as f64 / b as f64) };
    let cell = |label: &str, n: u64| {
        let share = if max == 0 { 0.0 } else { n as f64 / max as f64 };
        let alpha = 0.06 + 0.74 * share;
        let ink = if alpha > 0.5 { "#ffffff" } else { "#1f2328" };
        format!(
            r#"<td style="background:rgba(0,114,178,{alpha:.2});color:{ink}" title="{label}: {n}">{label}<b>{n}</b></td>"#
        )
    };
    let _ = writeln!(
        out,
        r#"<div class="cm" data-classifier="{k}"><h3><i class="swatch" style="background:{color};border-color:{color}"></i>{name}</h3>
<table class="confusion">
<tr><th></th><th>predicted 0</th><th>predicted 1</th></tr>
<tr><th>actual 0</th>{c00}{c01}</tr>
<tr><th>actual 1</th>{c10}{c11}</tr>
</table>
<p class="muted">AUC {auc} · accuracy {acc}<br>precision {prec} · recall {rec}</p></div>"#,
        color = charts::PALETTE[k % charts::PALETTE.len()],
        name = esc(&c.name),
        c00 = cell("TN", tn),
        c01 = cell("FP", fp),
        c10 = cell("FN", fn_),
        c11 = cell("TP", tp),
        auc = esc(&value(c.auc)),
        acc = ratio(tn.saturating_add(tp), total),
        prec = ratio(tp, tp.saturating_add(fp)),
        rec = ratio(tp, tp.saturating_add(fn_)),
    );
}

/// Distinct values of `key(m)` in first-seen order.
fn distinct<'a>(metrics: &[&'a MetricView], key: impl Fn(&'a MetricView) -> &'a str) -> Vec<&'a str> {
    let mut seen: Vec<&str> = Vec::new();
    for m in metrics {
        let k = key(m);
        if !seen.contains(&k) {
            seen.push(k);
        }
    }
    seen
}

fn step_label(step: &str) -> String {
    if step.is_empty() { "<span class=\"muted\">(run)</span>".into() } else { esc(step) }
}

fn metrics(out: &mut String, metrics: &[MetricView]) {
    out.push_str("<section id=\"metrics\">\n<h2>Metrics</h2>\n");
    let scalars: Vec<&MetricView> = metrics.iter().filter(|m| m.index.is_none()).collect();
    let series: Vec<&MetricView> = metrics.iter().filter(|m| m.index.is_some()).collect();
    if metrics.is_empty() {
        out.push_str("<p class=\"note\">no metrics were logged in this run</p>\n");
    }
    if !scalars.is_empty() {
        let steps = distinct(&scalars, |m| m.step.as_str());
        let keys = distinct(&scalars, |m| m.key.as_str());
        out.push_str("<div class=\"scroll\">\n<table class=\"metrics\">\n<thead><tr><th>step</th>");
        if keys.len() <= PIVOT_MAX_KEYS {
            // One row per step, one column per metric (the last value logged wins).
            for k in &keys {
                let _ = write!(out, r#"<th class="num">{}</th>"#, esc(k));
            }
            out.push_str("</tr></thead>\n<tbody>\n");
            for s in &steps {
                let _ = write!(out, "<tr><td>{}</td>", step_label(s));
                for k in &keys {
                    let v = scalars.iter().rev().find(|m| m.step == *s && m.key == *k);
                    let _ = write!(
                        out,
                        r#"<td class="num">{}</td>"#,
                        v.map(|m| value(m.value)).unwrap_or_default()
                    );
                }
                out.push_str("</tr>\n");
            }
        } else {
            out.push_str("<th>metric</th><th class=\"num\">value</th></tr></thead>\n<tbody>\n");
            for m in &scalars {
                let _ = writeln!(
                    out,
                    r#"<tr><td>{}</td><td>{}</td><td class="num">{}</td></tr>"#,
                    step_label(&m.step),
                    esc(&m.key),
                    value(m.value)
                );
            }
        }
        out.push_str("</tbody>\n</table>\n</div>\n");
    }
    if !series.is_empty() {
        out.push_str("<h3>Series</h3>\n<div class=\"charts\">\n");
        let mut groups: Vec<(&str, &str)> = Vec::new();
        for m in &series {
            if !groups.contains(&(m.step.as_str(), m.key.as_str())) {
                groups.push((m.step.as_str(), m.key.as_str()));
            }
        }
        for (id, (step, key)) in groups.into_iter().enumerate() {
            let points: Vec<&MetricView> =
                series.iter().copied().filter(|m| m.step == step && m.key == key).collect();
            let finite: Vec<f64> = points.iter().map(|m| m.value).filter(|v| v.is_finite()).collect();
            let title = if step.is_empty() { key.to_string() } else { format!("{step} · {key}") };
            let stats = match (finite.first(), finite.last()) {
                (Some(_), Some(last)) => {
                    let lo = finite.iter().copied().fold(f64::INFINITY, f64::min);
                    let hi = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let mean = finite.iter().sum::<f64>() / finite.len() as f64;
                    format!(
                        "{} points · last {} · mean {} · min {} · max {}",
                        points.len(),
                        value(*last),
                        value(mean),
                        value(lo),
                        value(hi)
                    )
                }
                _ => format!("{} points, none finite", points.len()),
            };
            let skipped = points.len() - finite.len();
            let skipped = if skipped > 0 { format!(" · {skipped} not finite") } else { String::new() };
            let _ = writeln!(
                out,
                r#"<div class="chart"><h3>{}</h3><p class="muted">{}{}</p>"#,
                esc(&title),
                esc(&stats),
                skipped
            );
            charts::series(out, id, &title, &points);
            out.push_str("</div>\n");
        }
        out.push_str("</div>\n");
    }
    out.push_str("</section>\n");
}

fn params(out: &mut String, view: &RunView) {
    out.push_str("<section id=\"params\">\n<h2>Params</h2>\n");
    if view.params.is_empty() {
        out.push_str("<p class=\"note\">this run has no params</p>\n</section>\n");
        return;
    }
    out.push_str("<table class=\"params\">\n<thead><tr><th>name</th><th>value</th></tr></thead>\n<tbody>\n");
    for (name, v) in &view.params {
        let node = view.nodes.iter().position(|n| n.kind == NodeKind::Param && n.name == *name);
        let attr = node.map(|i| format!(r#" data-node="{i}""#)).unwrap_or_default();
        let _ = writeln!(out, r#"<tr{attr}><td>{}</td><td><code>{}</code></td></tr>"#, esc(name), esc(v));
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

fn steps(out: &mut String, view: &RunView) {
    out.push_str("<section id=\"steps\">\n<h2>Steps</h2>\n");
    if !view.nodes.iter().any(|n| n.kind == NodeKind::Step) {
        out.push_str("<p class=\"note\">this run has no steps</p>\n</section>\n");
        return;
    }
    out.push_str(
        "<div class=\"scroll\">\n<table class=\"steps\">\n<thead><tr><th>step</th><th>status</th><th class=\"num\">start</th><th class=\"num\">duration</th><th class=\"num\">attempts</th><th>cache</th></tr></thead>\n<tbody>\n",
    );
    for (i, n) in view.nodes.iter().enumerate().filter(|(_, n)| n.kind == NodeKind::Step) {
        let class = look(n.kind, &n.status).class;
        let ran = matches!(class, "ran" | "failed" | "running" | "cached");
        let cache = match (&n.miss_reason, class) {
            (Some(reason), _) => format!("miss: {}", esc(reason)),
            (None, "cached") => "hit".into(),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            r#"<tr data-node="{i}"><td>{}</td><td><span class="pill {class}">{}</span>{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td>{cache}</td></tr>"#,
            esc(&n.name),
            esc(&truncate(&n.status, 20)),
            n.tasks
                .as_ref()
                .map(|t| format!(r#" <span class="muted">{}</span>"#, esc(&t.to_string())))
                .unwrap_or_default(),
            if ran { format!("+{}", duration(n.start_ms)) } else { String::new() },
            if ran { duration(n.duration_ms) } else { String::new() },
            n.attempts,
        );
    }
    out.push_str("</tbody>\n</table>\n</div>\n</section>\n");
}

fn environment(out: &mut String, env: &[(String, String)]) {
    out.push_str("<section id=\"environment\">\n<h2>Environment</h2>\n");
    if env.is_empty() {
        out.push_str("<p class=\"note\">no environment was recorded</p>\n</section>\n");
        return;
    }
    out.push_str("<table class=\"environment\">\n<tbody>\n");
    for (k, v) in env {
        let _ = writeln!(out, r#"<tr><th>{}</th><td><code>{}</code></td></tr>"#, esc(k), esc(v));
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}
