//! `GET /models` (every registered model), `GET /models/NAME` (versions, aliases, the alias
//! history as a timeline) and `POST /models/NAME/aliases` (a guarded promotion).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use mlflow_core::registry::{AliasMove, ModelSummary, ModelVersion, Promotion, Registry, RegistryError};
use mlflow_core::store::Store;

use super::Answer;
use super::html::{Nav, Query, escape, layout, number, parse_time, short, time, url_encode};

pub(super) fn registry_error(e: &RegistryError, name: &str) -> Answer {
    match e {
        RegistryError::UnknownModel { .. } => Answer::not_found(&format!("no registered model `{name}`")),
        RegistryError::InvalidName { .. } => Answer::not_found(&format!("no registered model `{name}`: {e}")),
        _ => Answer::error(500, "Registry error", &e.to_string()),
    }
}

/// `GET /models`.
pub(super) fn list(store: &Store) -> Answer {
    let models = match Registry::new(store).and_then(|r| r.models()) {
        Ok(models) => models,
        Err(e) => return Answer::error(500, "Cannot read the registry", &e.to_string()),
    };
    Answer::html(200, render_list(&models))
}

fn render_list(models: &[ModelSummary]) -> String {
    let mut out = String::from("<h1>Models</h1>\n");
    if models.is_empty() {
        out.push_str("<p>No registered models.</p>\n");
        return layout("Models", Nav::Models, &out);
    }
    out.push_str("<table><thead><tr><th scope=\"col\">model</th><th scope=\"col\" class=\"num\">latest</th><th scope=\"col\">aliases</th><th scope=\"col\">updated</th></tr></thead><tbody>\n");
    for m in models {
        let aliases: Vec<String> = m
            .aliases
            .iter()
            .map(|(a, v)| format!("<span class=\"alias\">{}</span>={v}", escape(a)))
            .collect();
        let _ = writeln!(
            out,
            r#"<tr><td><a href="/models/{}">{}</a></td><td class="num">{}</td><td>{}</td><td>{}</td></tr>"#,
            escape(&url_encode(&m.name)),
            escape(&m.name),
            m.latest_version,
            aliases.join(" "),
            escape(&time(m.updated_ms))
        );
    }
    out.push_str("</tbody></table>\n");
    layout("Models", Nav::Models, &out)
}

/// One stretch of time an alias pointed at a version.
struct Span {
    version: u32,
    from_ms: i64,
    until_ms: Option<i64>,
    reason: String,
    forced: bool,
}

/// The model page's content.
struct View {
    name: String,
    versions: Vec<ModelVersion>,
    history: Vec<AliasMove>,
    timelines: BTreeMap<String, Vec<Span>>,
    /// `(alias, time text, answer)` for `?alias=A&at=T`.
    at: Option<(String, String, Result<Option<u32>, String>)>,
    csrf: Option<String>,
}

/// `GET /models/NAME`.
pub(super) fn page(store: &Store, name: &str, q: &Query, csrf: Option<&str>) -> Answer {
    let registry = match Registry::new(store) {
        Ok(r) => r,
        Err(e) => return Answer::error(500, "Cannot read the registry", &e.to_string()),
    };
    let (versions, history) = match registry.versions(name).and_then(|v| Ok((v, registry.history(name)?))) {
        Ok(found) => found,
        Err(e) => return registry_error(&e, name),
    };
    if versions.is_empty() {
        return Answer::not_found(&format!("no registered model `{name}`"));
    }
    let at = q.get("alias").map(|alias| {
        let text = q.get("at").unwrap_or("").to_owned();
        let answer = match parse_time(&text) {
            Some(ms) => registry.alias_at(name, alias, ms).map_err(|e| e.to_string()),
            None => Err(format!("`{text}` is not a time: use YYYY-MM-DD HH:MM:SS (UTC) or milliseconds")),
        };
        (alias.to_owned(), text, answer)
    });
    let status = if matches!(&at, Some((_, _, Err(_)))) { 400 } else { 200 };
    let view = View {
        name: name.to_owned(),
        timelines: timelines(&history),
        versions,
        history,
        at,
        csrf: csrf.map(str::to_owned),
    };
    Answer::html(status, render(&view))
}

/// Each alias's history as stretches of time: from one move to the next.
fn timelines(history: &[AliasMove]) -> BTreeMap<String, Vec<Span>> {
    let mut out: BTreeMap<String, Vec<Span>> = BTreeMap::new();
    for m in history {
        let spans = out.entry(m.alias.clone()).or_default();
        if let Some(last) = spans.last_mut()
            && last.until_ms.is_none()
        {
            last.until_ms = Some(m.at_ms);
        }
        if let Some(version) = m.version {
            spans.push(Span {
                version,
                from_ms: m.at_ms,
                until_ms: None,
                reason: m.reason.clone(),
                forced: m.forced,
            });
        }
    }
    out
}

fn render(view: &View) -> String {
    let name = escape(&view.name);
    let href = escape(&url_encode(&view.name));
    let mut out = format!(
        "<h1>Model <code>{name}</code></h1>\n<p><a href=\"/models/{}/monitoring\">Monitoring</a>: its served predictions over time and the retraining loop's decisions</p>\n",
        url_encode(&view.name)
    );
    out.push_str("<h2 id=\"versions\">Versions</h2>\n<div class=\"table-wrap\"><table>\n<thead><tr><th scope=\"col\" class=\"num\">version</th><th scope=\"col\">aliases</th><th scope=\"col\">registered</th><th scope=\"col\">metrics</th><th scope=\"col\">from run</th><th scope=\"col\">lineage</th><th scope=\"col\">description</th></tr></thead><tbody>\n");
    for v in view.versions.iter().rev() {
        let metrics: Vec<String> =
            v.metrics.iter().map(|(k, x)| format!("{}={}", escape(k), number(*x))).collect();
        let aliases: Vec<String> =
            v.aliases.iter().map(|a| format!("<span class=\"alias\">{}</span>", escape(a))).collect();
        let run = escape(&url_encode(&v.run_id));
        let _ = writeln!(
            out,
            r#"<tr><td class="num">{}</td><td>{}</td><td>{}</td><td>{}</td><td><a href="/runs/{run}">{}</a> ({})</td><td><a href="/runs/{run}/lineage/{}">{} output</a> <code title="{}">{}</code></td><td>{}</td></tr>"#,
            v.version,
            aliases.join(" "),
            escape(&time(v.created_ms)),
            metrics.join(", "),
            escape(short(&v.run_id)),
            escape(&v.pipeline),
            escape(&url_encode(&v.node)),
            escape(&v.node),
            v.artifact.to_hex(),
            v.artifact.short(),
            escape(&v.description)
        );
    }
    out.push_str("</tbody></table></div>\n");

    out.push_str("<h2 id=\"timeline\">Alias timeline</h2>\n");
    if view.timelines.is_empty() {
        out.push_str("<p>No alias has pointed at a version of this model yet.</p>\n");
    }
    for (alias, spans) in &view.timelines {
        let _ =
            writeln!(out, "<h3><span class=\"alias\">{}</span></h3>\n<ol class=\"timeline\">", escape(alias));
        for s in spans {
            let until = s.until_ms.map(time).unwrap_or_else(|| "now".into());
            let _ = writeln!(
                out,
                r#"<li{}><span class="when">{} → {}</span> version <strong>{}</strong>: {}{}</li>"#,
                if s.until_ms.is_none() { r#" class="current""# } else { "" },
                escape(&time(s.from_ms)),
                escape(&until),
                s.version,
                escape(&s.reason),
                if s.forced { " (forced past the guard)" } else { "" }
            );
        }
        out.push_str("</ol>\n");
    }
    let (alias, at_text) =
        view.at.as_ref().map(|(a, t, _)| (a.as_str(), t.as_str())).unwrap_or(("production", ""));
    let _ = write!(
        out,
        r#"<form class="at" method="get" action="/models/{href}">
<label>Who was <input type="text" name="alias" value="{}" size="12"></label>
<label>at <input type="text" name="at" value="{}" size="22" placeholder="2026-01-31 12:00:00"></label> (UTC)
<button type="submit">Ask</button>
</form>
"#,
        escape(alias),
        escape(at_text)
    );
    if let Some((alias, text, answer)) = &view.at {
        let line = match answer {
            Ok(Some(v)) => format!("{name}@{} was version {v} at {}.", escape(alias), escape(text)),
            Ok(None) => format!("{name}@{} pointed at no version at {}.", escape(alias), escape(text)),
            Err(e) => format!("<span class=\"error\">{}</span>", escape(e)),
        };
        let _ = writeln!(out, "<p id=\"alias-at\" role=\"status\">{line}</p>");
    }

    out.push_str("<h2 id=\"history\">Alias history</h2>\n");
    if view.history.is_empty() {
        out.push_str("<p>No moves.</p>\n");
    } else {
        out.push_str("<table class=\"history\"><thead><tr><th scope=\"col\">time</th><th scope=\"col\">alias</th><th scope=\"col\">version</th><th scope=\"col\">previous</th><th scope=\"col\">reason</th><th scope=\"col\">guard</th></tr></thead><tbody>\n");
        for m in &view.history {
            let guard = m
                .guard
                .as_ref()
                .map(|g| {
                    g.thresholds
                        .iter()
                        .map(|t| {
                            format!(
                                "{}: {}",
                                if t.passed { "passed" } else { "FAILED" },
                                escape(&t.to_string())
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("<br>")
                })
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td></tr>",
                escape(&time(m.at_ms)),
                escape(&m.alias),
                m.version.map(|v| v.to_string()).unwrap_or_else(|| "removed".into()),
                m.previous.map(|v| v.to_string()).unwrap_or_else(|| "-".into()),
                escape(&m.reason),
                if m.forced { " (forced)" } else { "" },
                guard
            );
        }
        out.push_str("</tbody></table>\n");
    }

    out.push_str("<h2 id=\"promote\">Promote</h2>\n");
    match &view.csrf {
        None => out.push_str(
            "<p>This UI is read-only. Start it with <code>mlflow-pipelines ui --allow-writes</code> to move aliases here, or use <code>mlflow-pipelines model promote</code>.</p>\n",
        ),
        Some(token) => {
            let _ = write!(
                out,
                r#"<form class="promote" method="post" action="/models/{href}/aliases">
<input type="hidden" name="csrf" value="{token}">
<label>Alias <input type="text" name="alias" required value="production" size="12"></label>
<label>Version <input type="number" name="version" required min="1" value="{latest}"></label>
<label>Metric <input type="text" name="metric" size="12" placeholder="the alias's last one"></label>
<label><input type="checkbox" name="lower_is_better" value="1"> lower is better</label>
<label>Margin <input type="text" name="margin" value="0" size="5"></label>
<label>Who <input type="text" name="who" required size="12"></label>
<label>Why <input type="text" name="reason" required size="30"></label>
<label><input type="checkbox" name="force" value="1"> force past the guard</label>
<button type="submit">Move alias</button>
</form>
"#,
                token = escape(token),
                latest = view.versions.last().map(|v| v.version).unwrap_or(1),
            );
        }
    }
    layout(&format!("Model {}", view.name), Nav::Models, &out)
}

/// `POST /models/NAME/aliases` (writes allowed and the CSRF token checked by the caller): the
/// promotion of `model promote`, its reason recording who asked.
pub(super) fn promote(store: &Store, name: &str, form: &Query) -> Answer {
    let bad = |message: &str| Answer::error(400, "Cannot promote", message);
    let Some(alias) = form.get("alias") else { return bad("give the alias to move") };
    let Some(version) = form.get("version").and_then(|v| v.parse::<u32>().ok()) else {
        return bad("give the version to move the alias to, as a number");
    };
    let Some(who) = form.get("who") else { return bad("say who you are (the `who` field): it is recorded") };
    let Some(why) = form.get("reason") else { return bad("say why (the `reason` field): it is recorded") };
    let margin = match form.get("margin").map(str::parse::<f64>) {
        None => 0.0,
        Some(Ok(m)) => m,
        Some(Err(_)) => return bad("the margin is not a number"),
    };
    let registry = match Registry::new(store) {
        Ok(r) => r,
        Err(e) => return Answer::error(500, "Cannot read the registry", &e.to_string()),
    };
    if let Err(e) = registry.model(name) {
        return registry_error(&e, name);
    }
    let metric = match form.get("metric") {
        Some(metric) => metric.to_owned(),
        None => match registry
            .alias_history(name, alias)
            .ok()
            .and_then(|moves| moves.into_iter().rev().find_map(|m| m.guard.map(|g| g.metric)))
        {
            Some(metric) => metric,
            None => {
                return bad(&format!(
                    "give the metric: `{name}@{alias}` has no earlier guarded promotion to take it from"
                ));
            }
        },
    };
    let reason = format!("{why} (by {who}, from the web UI)");
    let mut promotion =
        Promotion::new(metric).margin(margin).reason(reason).force(form.get("force").is_some());
    if form.get("lower_is_better").is_some() {
        promotion = promotion.lower_is_better();
    }
    match registry.promote(name, version, alias, promotion) {
        Ok(_) => Answer::redirect(format!("/models/{}#history", url_encode(name))),
        Err(e @ RegistryError::UnknownModel { .. }) => registry_error(&e, name),
        Err(
            e @ (RegistryError::PromotionRefused { .. }
            | RegistryError::MissingMetric { .. }
            | RegistryError::UnknownVersion { .. }
            | RegistryError::InvalidName { .. }
            | RegistryError::InvalidMetric { .. }
            | RegistryError::InvalidMargin { .. }
            | RegistryError::InvalidThreshold { .. }),
        ) => Answer::error(409, "Promotion refused", &e.to_string()),
        Err(e) => Answer::error(500, "Cannot promote", &e.to_string()),
    }
}
