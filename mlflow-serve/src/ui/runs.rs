//! `GET /`: the runs table, one page at a time, filtered and sorted in the database.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use mlflow_core::store::Store;
use mlflow_core::track::query::{RunColumn, RunFilter, RunSummary};

use super::Answer;
use super::html::{
    Nav, Query, escape, layout, millis, number, page_number, pager, query_string, time, url_encode,
};

/// Runs per page unless `per_page` says otherwise, and the most it may say.
const PER_PAGE: usize = 50;
const MAX_PER_PAGE: usize = 500;
/// Metric and param columns shown when none are chosen: those of the page's runs, up to these.
const DEFAULT_METRICS: usize = 6;
const DEFAULT_PARAMS: usize = 4;

/// What the request asked for.
#[derive(Debug, Clone, Default)]
struct Request {
    filter_text: String,
    pipeline: String,
    status: String,
    sort: String,
    descending: bool,
    page: usize,
    per_page: usize,
    metrics: Vec<String>,
    params: Vec<String>,
    /// Whether the columns were chosen (else the page's own are shown).
    chosen_metrics: bool,
    chosen_params: bool,
}

impl Request {
    fn parse(q: &Query) -> Request {
        let list = |key: &str| -> Vec<String> {
            q.all(key)
                .iter()
                .flat_map(|v| v.split(','))
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        };
        let metrics = list("metrics");
        let params: Vec<String> =
            list("params").into_iter().map(|p| p.strip_prefix("param.").unwrap_or(&p).to_owned()).collect();
        Request {
            filter_text: q.all("where").join(" and "),
            pipeline: q.get("pipeline").unwrap_or("").to_owned(),
            status: q.get("status").unwrap_or("").to_owned(),
            sort: q.get("sort").unwrap_or("started").to_owned(),
            descending: q.get("order") != Some("asc"),
            page: page_number(q),
            per_page: q
                .get("per_page")
                .and_then(|p| p.parse().ok())
                .filter(|p| *p >= 1)
                .unwrap_or(PER_PAGE)
                .min(MAX_PER_PAGE),
            chosen_metrics: !metrics.is_empty(),
            chosen_params: !params.is_empty(),
            metrics,
            params,
        }
    }

    /// The filter for the database, or what is wrong with the request's `where`.
    fn filter(&self) -> Result<RunFilter, String> {
        let mut filter = RunFilter::new().parse_where_all(&self.filter_text).map_err(|e| e.to_string())?;
        if !self.pipeline.is_empty() {
            filter = filter.pipeline(&self.pipeline);
        }
        if !self.status.is_empty() {
            filter = filter.status(&self.status);
        }
        filter = match RunColumn::parse(&self.sort) {
            Some(column) => filter.order_by(column, self.descending),
            None => filter.sort_by(self.sort.strip_prefix("metric.").unwrap_or(&self.sort), self.descending),
        };
        Ok(filter.limit(self.per_page).offset((self.page - 1).saturating_mul(self.per_page)))
    }

    /// This request's query string with some keys replaced.
    fn link(&self, changes: &[(&str, String)]) -> String {
        let mut pairs: Vec<(&str, String)> = vec![
            ("where", self.filter_text.clone()),
            ("pipeline", self.pipeline.clone()),
            ("status", self.status.clone()),
            ("sort", self.sort.clone()),
            ("order", if self.descending { String::new() } else { "asc".into() }),
            ("page", if self.page > 1 { self.page.to_string() } else { String::new() }),
            ("per_page", if self.per_page != PER_PAGE { self.per_page.to_string() } else { String::new() }),
            ("metrics", if self.chosen_metrics { self.metrics.join(",") } else { String::new() }),
            ("params", if self.chosen_params { self.params.join(",") } else { String::new() }),
        ];
        for (key, value) in changes {
            if let Some(pair) = pairs.iter_mut().find(|(k, _)| k == key) {
                pair.1 = value.clone();
            }
        }
        let q = query_string(pairs);
        if q.is_empty() { "/".to_owned() } else { format!("/?{q}") }
    }
}

/// One row of the table.
struct Row {
    id: String,
    pipeline: String,
    status: String,
    started: String,
    duration: String,
    metrics: Vec<Option<f64>>,
    params: Vec<Option<String>>,
}

/// The page's content, before rendering.
struct View {
    request: Request,
    total: usize,
    rows: Vec<Row>,
    error: Option<String>,
}

/// `GET /`.
pub(super) fn page(store: &Store, q: &Query) -> Answer {
    match view(store, q) {
        Ok(view) => Answer::html(if view.error.is_some() { 400 } else { 200 }, render(&view)),
        Err(e) => Answer::error(500, "Cannot list runs", &e),
    }
}

fn view(store: &Store, q: &Query) -> Result<View, String> {
    let mut request = Request::parse(q);
    let filter = match request.filter() {
        Ok(filter) => filter,
        Err(error) => return Ok(View { request, total: 0, rows: Vec::new(), error: Some(error) }),
    };
    let total = store.count_runs(&filter).map_err(|e| e.to_string())?;
    let runs = store.runs(&filter).map_err(|e| e.to_string())?;
    if !request.chosen_metrics {
        let names: BTreeSet<&String> = runs.iter().flat_map(|r| r.metrics.keys()).collect();
        request.metrics = names.into_iter().take(DEFAULT_METRICS).cloned().collect();
    }
    let ids: Vec<&str> = runs.iter().map(|r| r.id.as_str()).collect();
    let params = store.run_params(&ids).map_err(|e| e.to_string())?;
    if !request.chosen_params {
        let names: BTreeSet<&String> = params.values().flat_map(|p| p.keys()).collect();
        request.params = names.into_iter().take(DEFAULT_PARAMS).cloned().collect();
    }
    let rows = runs
        .iter()
        .map(|r| Row {
            id: r.id.clone(),
            pipeline: r.pipeline.clone(),
            status: r.status.clone(),
            started: time(r.started_ms),
            duration: r.ended_ms.map(|e| millis(e - r.started_ms)).unwrap_or_else(|| "-".into()),
            metrics: request.metrics.iter().map(|m| metric(r, m)).collect(),
            params: request
                .params
                .iter()
                .map(|p| params.get(&r.id).and_then(|ps| ps.get(p)).cloned())
                .collect(),
        })
        .collect();
    Ok(View { request, total, rows, error: None })
}

/// A run's value of a metric column: `node.key` exactly, or `key` logged by any step (the
/// first, in node order).
fn metric(run: &RunSummary, name: &str) -> Option<f64> {
    let name = name.strip_prefix("metric.").unwrap_or(name);
    run.metrics.get(name).copied().or_else(|| {
        let suffix = format!(".{name}");
        run.metrics.iter().find(|(k, _)| k.ends_with(&suffix)).map(|(_, v)| *v)
    })
}

fn render(view: &View) -> String {
    let r = &view.request;
    let mut out = String::with_capacity(16_384 + view.rows.len() * 512);
    out.push_str("<h1>Runs</h1>\n");
    let _ = write!(
        out,
        r#"<form class="filter" method="get" action="/" role="search">
<label>Filter <input type="text" name="where" value="{w}" size="40" placeholder="param.seed=42 and roc_auc>=0.8"></label>
<label>Pipeline <input type="text" name="pipeline" value="{p}" size="12"></label>
<label>Status <input type="text" name="status" value="{s}" size="10"></label>
<label>Metrics <input type="text" name="metrics" value="{m}" size="16" placeholder="auc,loss"></label>
<label>Params <input type="text" name="params" value="{pa}" size="12"></label>
<input type="hidden" name="sort" value="{sort}"><input type="hidden" name="order" value="{order}">
<button type="submit">Apply</button> <a href="/">Clear</a>
</form>
"#,
        w = escape(&r.filter_text),
        p = escape(&r.pipeline),
        s = escape(&r.status),
        m = escape(&if r.chosen_metrics { r.metrics.join(",") } else { String::new() }),
        pa = escape(&if r.chosen_params { r.params.join(",") } else { String::new() }),
        sort = escape(&r.sort),
        order = if r.descending { "desc" } else { "asc" },
    );
    if let Some(error) = &view.error {
        let _ = writeln!(
            out,
            r#"<p class="error" role="alert" id="filter-error">Bad filter: {}</p>"#,
            escape(error)
        );
        return layout("Runs", Nav::Runs, &out);
    }
    let pages = view.total.div_ceil(r.per_page).max(1);
    let first = (r.page - 1) * r.per_page;
    let _ = writeln!(
        out,
        r#"<p class="count" id="run-count">{} run{}{}</p>"#,
        view.total,
        if view.total == 1 { "" } else { "s" },
        if view.rows.is_empty() {
            String::new()
        } else {
            format!(", showing {} to {}", first + 1, first + view.rows.len())
        }
    );
    if view.rows.is_empty() && view.total > 0 {
        let _ = writeln!(
            out,
            r#"<p>No runs on page {}: <a href="{}">go to the first page</a>.</p>"#,
            r.page,
            escape(&r.link(&[("page", String::new())]))
        );
        return layout("Runs", Nav::Runs, &out);
    }
    if view.rows.is_empty() {
        out.push_str("<p>No runs match.</p>\n");
        if view.total == 0 && r.filter_text.is_empty() {
            out.push_str("<p>No runs in this store yet: run a pipeline first.</p>\n");
        }
        return layout("Runs", Nav::Runs, &out);
    }
    out.push_str(
        "<form method=\"get\" action=\"/compare\" id=\"compare-form\">\n<div class=\"table-wrap\"><table class=\"runs\">\n<thead><tr><th scope=\"col\"><span class=\"sr-only\">Select</span></th>",
    );
    let header = |out: &mut String, label: &str, key: &str, class: &str| {
        let active = r.sort == key;
        let next_desc = if active { !r.descending } else { true };
        let href = r.link(&[
            ("sort", key.to_owned()),
            ("order", if next_desc { String::new() } else { "asc".into() }),
            ("page", String::new()),
        ]);
        let aria = match (active, r.descending) {
            (false, _) => "",
            (true, true) => r#" aria-sort="descending""#,
            (true, false) => r#" aria-sort="ascending""#,
        };
        let arrow = match (active, r.descending) {
            (false, _) => "",
            (true, true) => " ▼",
            (true, false) => " ▲",
        };
        let _ = write!(
            out,
            r#"<th scope="col" class="{class}"{aria}><a href="{}">{}{arrow}</a></th>"#,
            escape(&href),
            escape(label)
        );
    };
    header(&mut out, "run", "id", "");
    header(&mut out, "pipeline", "pipeline", "");
    header(&mut out, "status", "status", "");
    header(&mut out, "started", "started", "");
    header(&mut out, "duration", "duration", "num");
    for m in &r.metrics {
        header(&mut out, m, &format!("metric.{m}"), "num");
    }
    for p in &r.params {
        header(&mut out, &format!("param {p}"), &format!("param.{p}"), "");
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &view.rows {
        let id = escape(&row.id);
        let _ = write!(
            out,
            r#"<tr><td><input type="checkbox" name="run" value="{id}" aria-label="select run {id}"></td><td><a href="/runs/{href}">{short}</a></td><td>{pipeline}</td><td><span class="status status-{sc}">{status}</span></td><td>{started}</td><td class="num">{duration}</td>"#,
            href = escape(&url_encode(&row.id)),
            short = escape(super::html::short(&row.id)),
            pipeline = escape(&row.pipeline),
            sc = status_class(&row.status),
            status = escape(&row.status),
            started = escape(&row.started),
            duration = escape(&row.duration),
        );
        for v in &row.metrics {
            let _ = write!(out, r#"<td class="num">{}</td>"#, v.map(number).unwrap_or_else(|| "-".into()));
        }
        for v in &row.params {
            let _ = write!(out, "<td>{}</td>", v.as_deref().map(escape).unwrap_or_else(|| "-".into()));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table></div>\n<p class=\"actions\"><button type=\"submit\" id=\"compare\">Compare selected</button> <span id=\"selected\" aria-live=\"polite\"></span></p>\n</form>\n");
    out.push_str(&pager(r.page, pages, |n| {
        r.link(&[("page", if n > 1 { n.to_string() } else { String::new() })])
    }));
    layout("Runs", Nav::Runs, &out)
}

/// A CSS class suffix for a status (anything unknown is `other`).
pub(super) fn status_class(status: &str) -> &'static str {
    match status {
        "succeeded" | "ran" => "ok",
        "cached" => "cached",
        "failed" | "abandoned" => "failed",
        "running" => "running",
        "skipped" => "skipped",
        _ => "other",
    }
}
