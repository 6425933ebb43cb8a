//! `GET /models/NAME/monitoring`: a model's served predictions over time (per-window drift of
//! every feature and of the output, health, realized and estimated performance) and the
//! retraining loop's trigger decisions; `/models/NAME/monitoring/report` is the monitoring
//! report itself, self-contained under its own policy like a run's report.

use std::fmt::Write as _;

use mlflow_core::registry::Registry;
use mlflow_core::store::Store;
use mlflow_ml::report::render_monitoring_html;

use super::Answer;
use super::html::{Nav, Query, escape, layout, query_string, time, url_encode};
use super::run::report_policy;
use crate::monitoring::{MonitorError, MonitorOptions, RecordFilter, WindowSpec, monitor_registered};
use crate::watch::WatchStore;

/// Windows when the page names none: consecutive windows of this many predictions.
const DEFAULT_WINDOW: &str = "1000";
/// Labels a window needs for realized performance (as `monitor`'s default).
const MIN_LABELS: usize = 50;

/// The windowing asked for (`?window=all|N|30m|last:N`, as `monitor --window`), or the error
/// page for one that is not.
fn window(q: &Query) -> Result<(String, WindowSpec), Answer> {
    let text = q.get("window").filter(|w| !w.is_empty()).unwrap_or(DEFAULT_WINDOW).to_owned();
    match text.parse::<WindowSpec>() {
        Ok(spec) => Ok((text, spec)),
        Err(e) => Err(Answer::error(400, "Bad window", &e.to_string())),
    }
}

/// `GET /models/NAME/monitoring`.
pub(super) fn page(store: &Store, name: &str, q: &Query) -> Answer {
    let (text, _) = match window(q) {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    match Registry::new(store).and_then(|registry| registry.versions(name)) {
        Ok(versions) if !versions.is_empty() => {}
        Ok(_) => return Answer::not_found(&format!("no registered model `{name}`")),
        Err(e) => return super::models::registry_error(&e, name),
    }
    let decisions = match WatchStore::new(store).decisions(name) {
        Ok(decisions) => decisions,
        Err(e) => return Answer::error(500, "Cannot read the trigger decisions", &e.to_string()),
    };
    let href = url_encode(name);
    let shown = escape(name);
    let window_text = escape(&text);
    let mut out = format!(
        r#"<h1>Monitoring of <code>{shown}</code></h1>
<p><a href="/models/{href}">Back to the model</a></p>
<form method="get" action="/models/{href}/monitoring" class="inline">
<label for="window">Windows</label> <input id="window" name="window" value="{window_text}" aria-describedby="window-help">
<button type="submit">Show</button>
<p id="window-help" class="hint">A count of predictions (<code>1000</code>), a duration (<code>30m</code>, <code>1d</code>), the newest predictions (<code>last:5000</code>) or <code>all</code>.</p>
</form>
<h2 id="decisions">Trigger decisions</h2>
"#
    );
    if decisions.is_empty() {
        out.push_str("<p>No decisions: the retraining loop (<code>mlflow-pipelines watch</code>) has not judged this model.</p>\n");
    } else {
        out.push_str("<div class=\"table-wrap\"><table>\n<thead><tr><th scope=\"col\">when</th><th scope=\"col\">fired</th><th scope=\"col\">why</th><th scope=\"col\">action</th><th scope=\"col\">run</th><th scope=\"col\" class=\"num\">version</th><th scope=\"col\">detail</th></tr></thead><tbody>\n");
        for d in decisions.iter().rev() {
            let run = d.run_id.as_deref().map_or(String::new(), |id| {
                format!(r#"<a href="/runs/{}">{}</a>"#, url_encode(id), escape(super::html::short(id)))
            });
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{run}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                time(d.at_ms),
                if d.fired { "yes" } else { "no" },
                escape(&d.explanation),
                escape(d.action.as_str()),
                d.version.map(|v| v.to_string()).unwrap_or_default(),
                escape(&d.detail),
            );
        }
        out.push_str("</tbody></table></div>\n");
    }
    let report = format!("/models/{href}/monitoring/report?{}", query_string([("window", text)]));
    let _ = write!(
        out,
        r#"<h2 id="windows">Predictions over time</h2>
<p><a href="{report}">Open the monitoring report</a> (drift per feature and of the output, health, performance per window)</p>
<iframe class="report" src="{report}" title="monitoring report of {shown}"></iframe>
"#
    );
    Answer::html(200, layout(&format!("Monitoring of {name}"), Nav::Models, &out))
}

/// `GET /models/NAME/monitoring/report`: one monitoring pass over the model's prediction log,
/// its labels and its versions' packages, rendered as the monitoring report.
pub(super) fn report(store: &Store, name: &str, q: &Query) -> Answer {
    let (_, spec) = match window(q) {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let options = MonitorOptions::default();
    let pass = match monitor_registered(
        store,
        name,
        spec,
        &RecordFilter::default(),
        None,
        &options,
        MIN_LABELS,
    ) {
        Ok(pass) => pass,
        Err(MonitorError::NoLog { .. } | MonitorError::NoRecords) => {
            return Answer::not_found(&format!(
                "no logged predictions of model `{name}`: serve it (`mlflow-pipelines serve {name}@ALIAS`) to log them"
            ));
        }
        Err(MonitorError::Serve(crate::ServeError::Registry(e))) => {
            return super::models::registry_error(&e, name);
        }
        Err(e) => return Answer::error(500, "Cannot monitor the model", &e.to_string()),
    };
    let html = render_monitoring_html(&pass.report.view(name));
    Answer { csp: report_policy(&html), ..Answer::html(200, html) }
}
