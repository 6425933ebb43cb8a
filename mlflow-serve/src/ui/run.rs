//! `GET /runs/ID` (a run), `/runs/ID/report` (its report) and `/runs/ID/lineage/NODE`.

use std::fmt::Write as _;

use mlflow_core::registry::{ModelVersion, Registry};
use mlflow_core::store::Store;
use mlflow_core::track::RunRecord;
use mlflow_core::track::query::Lineage;
use mlflow_ml::report::{RunView, StudyView, render_html};

use super::Answer;
use super::html::{Nav, escape, layout, millis, number, short, time, url_encode};
use super::runs::status_class;

/// A step as the run page lists it.
struct StepRow {
    node: String,
    step: String,
    status: String,
    duration: String,
    attempts: u32,
    output: Option<String>,
    cache_key: Option<String>,
    source_run: Option<String>,
    note: Option<String>,
    /// Registered model versions whose artifact is this output (`NAME/VERSION`).
    models: Vec<(String, u32)>,
    /// Whether the output is a hyperparameter study's ranked trials.
    study: bool,
}

/// The run page's content.
struct View {
    run: RunRecord,
    steps: Vec<StepRow>,
}

fn unknown_run(id: &str) -> Answer {
    Answer::not_found(&format!("no run `{id}` in this store"))
}

/// `GET /runs/ID`.
pub(super) fn page(store: &Store, id: &str) -> Answer {
    let run = match store.run(id) {
        Ok(Some(run)) => run,
        Ok(None) => return unknown_run(id),
        Err(e) => return Answer::error(500, "Cannot read the run", &e.to_string()),
    };
    let registry = Registry::new(store).ok();
    let steps = run
        .steps
        .iter()
        .map(|s| {
            let models: Vec<ModelVersion> = match (&registry, s.output) {
                (Some(r), Some(hash)) => r.versions_with_artifact(hash).unwrap_or_default(),
                _ => Vec::new(),
            };
            StepRow {
                node: s.node.clone(),
                step: s.step.clone(),
                status: s.status.clone(),
                duration: millis(s.duration.as_millis() as i64),
                attempts: s.attempts,
                output: s.output.map(|h| h.to_hex()),
                cache_key: s.cache_key.map(|h| h.to_hex()),
                source_run: s.source_run.clone(),
                note: s
                    .error
                    .clone()
                    .or_else(|| s.miss_reason.clone())
                    .or_else(|| s.tasks.as_ref().map(|t| t.to_string())),
                models: models.into_iter().map(|v| (v.name, v.version)).collect(),
                study: s.output.is_some() && StudyView::is_study_step(&s.step),
            }
        })
        .collect();
    Answer::html(200, render(&View { run, steps }))
}

fn render(view: &View) -> String {
    let run = &view.run;
    let id = escape(&run.id);
    let href = escape(&url_encode(&run.id));
    let mut out = String::with_capacity(16_384);
    let _ = write!(
        out,
        r#"<h1>Run <code>{id}</code></h1>
<dl class="summary">
<dt>pipeline</dt><dd>{pipeline}</dd>
<dt>status</dt><dd><span class="status status-{sc}">{status}</span></dd>
<dt>started</dt><dd>{started}</dd>
<dt>duration</dt><dd>{duration}</dd>
</dl>
<p><a href="/runs/{href}/report">Open the full report</a> (DAG, timeline, metrics, ROC curves, studies, environment)</p>
"#,
        pipeline = escape(&run.pipeline),
        sc = status_class(&run.status),
        status = escape(&run.status),
        started = escape(&time(run.started_ms)),
        duration = run.ended_ms.map(|e| millis(e - run.started_ms)).unwrap_or_else(|| "-".into()),
    );
    out.push_str("<h2 id=\"steps\">Steps</h2>\n<div class=\"table-wrap\"><table>\n<thead><tr><th scope=\"col\">node</th><th scope=\"col\">step</th><th scope=\"col\">status</th><th scope=\"col\" class=\"num\">time</th><th scope=\"col\" class=\"num\">attempts</th><th scope=\"col\">stored output</th><th scope=\"col\">cache key</th><th scope=\"col\">lineage</th><th scope=\"col\">notes</th></tr></thead>\n<tbody>\n");
    for s in &view.steps {
        let node_href = escape(&url_encode(&s.node));
        let mut notes = Vec::new();
        if let Some(source) = &s.source_run {
            notes.push(format!(
                r#"computed in run <a href="/runs/{}">{}</a>"#,
                escape(&url_encode(source)),
                escape(short(source))
            ));
        }
        if s.study {
            notes.push(format!(r#"ranked a <a href="/runs/{href}/studies/{node_href}">study</a>"#));
        }
        for (name, version) in &s.models {
            notes.push(format!(
                r#"registered as <a href="/models/{}">{}/{version}</a>"#,
                escape(&url_encode(name)),
                escape(name)
            ));
        }
        if let Some(note) = &s.note {
            notes.push(escape(note));
        }
        let _ = writeln!(
            out,
            r#"<tr><td>{node}</td><td>{step}</td><td><span class="status status-{sc}">{status}</span></td><td class="num">{duration}</td><td class="num">{attempts}</td><td>{output}</td><td>{key}</td><td><a href="/runs/{href}/lineage/{node_href}">lineage</a></td><td>{notes}</td></tr>"#,
            node = escape(&s.node),
            step = escape(&s.step),
            sc = status_class(&s.status),
            status = escape(&s.status),
            duration = escape(&s.duration),
            attempts = s.attempts,
            output = s
                .output
                .as_deref()
                .map(|h| format!(r#"<code title="{h}">{}</code>"#, short(h)))
                .unwrap_or_else(|| "none".into()),
            key = s
                .cache_key
                .as_deref()
                .map(|h| format!(r#"<code title="{h}">{}</code>"#, short(h)))
                .unwrap_or_else(|| "-".into()),
            notes = notes.join("; "),
        );
    }
    out.push_str("</tbody></table></div>\n");
    out.push_str("<h2 id=\"params\">Params</h2>\n");
    if run.param_values.is_empty() {
        out.push_str("<p>No params.</p>\n");
    } else {
        out.push_str("<table><thead><tr><th scope=\"col\">param</th><th scope=\"col\">value</th></tr></thead><tbody>\n");
        for (name, value) in &run.param_values {
            let _ =
                writeln!(out, "<tr><td>{}</td><td><code>{}</code></td></tr>", escape(name), escape(value));
        }
        out.push_str("</tbody></table>\n");
    }
    out.push_str("<h2 id=\"metrics\">Metrics</h2>\n");
    let scalars: Vec<_> = run.metrics.iter().filter(|(_, m)| m.step.is_none()).collect();
    if scalars.is_empty() {
        out.push_str("<p>No single-value metrics (series are drawn in the report).</p>\n");
    } else {
        out.push_str("<table><thead><tr><th scope=\"col\">step</th><th scope=\"col\">metric</th><th scope=\"col\" class=\"num\">value</th></tr></thead><tbody>\n");
        for (node, m) in scalars {
            let _ = writeln!(
                out,
                r#"<tr><td>{}</td><td>{}</td><td class="num">{}</td></tr>"#,
                escape(node),
                escape(&m.key),
                number(m.value)
            );
        }
        out.push_str("</tbody></table>\n");
    }
    if !run.data.is_empty() {
        out.push_str("<h2 id=\"data\">Data</h2>\n<ul>\n");
        for (node, d) in &run.data {
            let _ = writeln!(
                out,
                r#"<li>{} (version <code title="{}">{}</code>) read by {}</li>"#,
                escape(&d.name),
                d.version.to_hex(),
                d.version.short(),
                escape(node)
            );
        }
        out.push_str("</ul>\n");
    }
    let _ = write!(
        out,
        r#"<h2 id="report">Report</h2>
<iframe class="report" src="/runs/{href}/report" title="run report of {id}"></iframe>
"#
    );
    layout(&format!("Run {}", short(&run.id)), Nav::Runs, &out)
}

/// `GET /runs/ID/report`: the report, self-contained, with its own policy (see the module docs
/// of [`ui`](super)).
pub(super) fn report(store: &Store, id: &str) -> Answer {
    match store.run(id) {
        Ok(Some(_)) => {}
        Ok(None) => return unknown_run(id),
        Err(e) => return Answer::error(500, "Cannot read the run", &e.to_string()),
    }
    let view = match RunView::from_run(store, id) {
        Ok(view) => view,
        Err(e) => return Answer::error(500, "Cannot build the report", &e.to_string()),
    };
    let html = render_html(&view);
    Answer { csp: report_policy(&html), ..Answer::html(200, html) }
}

/// The report's own policy, sent as a header too: its inline styles, its one script by the
/// nonce it was written with, nothing from the network; shown in a frame of this server only.
pub(super) fn report_policy(html: &str) -> String {
    let nonce = html
        .split_once("script-src 'nonce-")
        .and_then(|(_, rest)| rest.split_once('\''))
        .map(|(nonce, _)| nonce)
        .filter(|n| n.chars().all(|c| c.is_ascii_alphanumeric()))
        .unwrap_or("none");
    format!(
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'nonce-{nonce}'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
    )
}

/// `GET /runs/ID/lineage/NODE`.
pub(super) fn lineage(store: &Store, id: &str, node: &str) -> Answer {
    let run = match store.run(id) {
        Ok(Some(run)) => run,
        Ok(None) => return unknown_run(id),
        Err(e) => return Answer::error(500, "Cannot read the run", &e.to_string()),
    };
    if !run.steps.iter().any(|s| s.node == node) {
        return Answer::not_found(&format!("run `{id}` has no step `{node}`"));
    }
    let lineage = match store.lineage(id, node) {
        Ok(lineage) => lineage,
        Err(e) => return Answer::error(500, "Cannot follow the lineage", &e.to_string()),
    };
    let mut out = format!(
        "<h1>Lineage of <code>{}</code></h1>\n<p>in run <a href=\"/runs/{}\">{}</a> of pipeline {}</p>\n<ul class=\"lineage\">\n",
        escape(node),
        escape(&url_encode(id)),
        escape(id),
        escape(&run.pipeline)
    );
    render_lineage(&mut out, &lineage);
    out.push_str("</ul>\n");
    Answer::html(200, layout(&format!("Lineage of {node}"), Nav::Runs, &out))
}

fn render_lineage(out: &mut String, l: &Lineage) {
    let _ = write!(
        out,
        r#"<li><strong>{}</strong> [{}] <span class="status status-{}">{}</span>"#,
        escape(&l.node),
        escape(&l.step),
        status_class(&l.status),
        escape(&l.status)
    );
    if let Some(source) = &l.source_run {
        let _ = write!(
            out,
            r#", computed in run <a href="/runs/{}">{}</a>"#,
            escape(&url_encode(source)),
            escape(short(source))
        );
    }
    out.push_str("<ul>");
    if let Some(code) = &l.code {
        let _ = write!(
            out,
            "<li>code <code>{}</code> version {} deps <code>{}</code> crate {}</li>",
            code.code.short(),
            code.version,
            code.deps.short(),
            escape(&code.krate)
        );
    }
    if let Some(output) = l.output {
        let _ = write!(out, r#"<li>output <code title="{}">{}</code></li>"#, output.to_hex(), output.short());
    }
    for d in &l.data {
        let _ = write!(
            out,
            r#"<li>data {} version <code title="{}">{}</code></li>"#,
            escape(&d.name),
            d.version.to_hex(),
            d.version.short()
        );
    }
    for (name, hash, value) in &l.params {
        let _ = write!(
            out,
            "<li>param {} = <code>{}</code> ({})</li>",
            escape(name),
            escape(value),
            hash.short()
        );
    }
    for up in &l.upstream {
        render_lineage(out, up);
    }
    out.push_str("</ul></li>\n");
}
