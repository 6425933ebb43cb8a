//! `GET /compare?run=A&run=B…`: params and metrics side by side, differences marked, the steps
//! whose cache keys differ with the reasons, and the runs' metric series and ROC curves overlaid.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use mlflow_core::codec::ContentHash;
use mlflow_core::store::{KeyParts, Store};
use mlflow_core::track::RunRecord;

use super::Answer;
use super::html::{Nav, Query, escape, layout, number, short, url_encode};

/// At most this many runs side by side.
const MAX_RUNS: usize = 20;

/// One row of a side-by-side table.
struct Line {
    name: String,
    values: Vec<Option<String>>,
    differs: bool,
}

/// A step whose cache key is not the same in every run.
struct KeyDifference {
    node: String,
    keys: Vec<Option<String>>,
    reasons: Vec<String>,
}

/// The page's content.
struct View {
    runs: Vec<RunRecord>,
    params: Vec<Line>,
    metrics: Vec<Line>,
    keys: Vec<KeyDifference>,
    charts: Vec<super::charts::Chart>,
}

/// `GET /compare`.
pub(super) fn page(store: &Store, q: &Query) -> Answer {
    let mut ids: Vec<&str> = q.all("run");
    let mut seen = BTreeSet::new();
    ids.retain(|id| seen.insert(*id));
    if ids.len() < 2 {
        return Answer::error(
            400,
            "Pick two runs",
            "select at least two runs on the runs page to compare them",
        );
    }
    if ids.len() > MAX_RUNS {
        return Answer::error(400, "Too many runs", &format!("compare at most {MAX_RUNS} runs at once"));
    }
    let mut runs = Vec::new();
    for id in ids {
        match store.run(id) {
            Ok(Some(run)) => runs.push(run),
            Ok(None) => return Answer::not_found(&format!("no run `{id}` in this store")),
            Err(e) => return Answer::error(500, "Cannot read a run", &e.to_string()),
        }
    }
    let params = lines(runs.iter().map(|r| r.param_values.iter().cloned().collect()).collect());
    let metrics = lines(
        runs.iter()
            .map(|r| {
                r.metrics
                    .iter()
                    .filter(|(_, m)| m.step.is_none())
                    .map(|(node, m)| (format!("{node}.{}", m.key), number(m.value)))
                    .collect()
            })
            .collect(),
    );
    let keys = key_differences(store, &runs);
    let charts = super::charts::charts(&runs);
    Answer::html(200, render(&View { runs, params, metrics, keys, charts }))
}

/// Every name of any run, with each run's value; `differs` when they are not all equal (a value
/// missing in one run differs too).
fn lines(maps: Vec<BTreeMap<String, String>>) -> Vec<Line> {
    let names: BTreeSet<&String> = maps.iter().flat_map(|m| m.keys()).collect();
    names
        .into_iter()
        .map(|name| {
            let values: Vec<Option<String>> = maps.iter().map(|m| m.get(name).cloned()).collect();
            let differs = values.iter().any(|v| *v != values[0]);
            Line { name: name.clone(), values, differs }
        })
        .collect()
}

/// The steps whose cache keys differ, with why: the parts of the key (code, version,
/// dependencies, inputs) that are not the same, compared with the first run.
fn key_differences(store: &Store, runs: &[RunRecord]) -> Vec<KeyDifference> {
    let mut nodes: Vec<&str> = Vec::new();
    for run in runs {
        for s in &run.steps {
            if !nodes.contains(&s.node.as_str()) {
                nodes.push(&s.node);
            }
        }
    }
    let mut parts_cache: BTreeMap<ContentHash, Option<KeyParts>> = BTreeMap::new();
    let mut parts = |key: ContentHash| -> Option<KeyParts> {
        parts_cache.entry(key).or_insert_with(|| store.key_parts(key).ok().flatten()).clone()
    };
    let mut out = Vec::new();
    for node in nodes {
        let keys: Vec<Option<ContentHash>> =
            runs.iter().map(|r| r.steps.iter().find(|s| s.node == node).and_then(|s| s.cache_key)).collect();
        if keys.iter().all(|k| *k == keys[0]) {
            continue;
        }
        let mut reasons = Vec::new();
        let base = keys[0].and_then(&mut parts);
        for (i, key) in keys.iter().enumerate().skip(1) {
            let run = short(&runs[i].id);
            match (keys[0], key) {
                (_, None) => {
                    reasons.push(format!("run {run}: no cache key (the step did not get its inputs)"))
                }
                (None, Some(_)) => reasons.push(format!("run {run}: the first run has no cache key for it")),
                (Some(a), Some(b)) if a == *b => {}
                (Some(_), Some(b)) => match (&base, parts(*b)) {
                    (Some(x), Some(y)) => {
                        let why = why_keys_differ(x, &y);
                        reasons.push(format!(
                            "run {run}: {}",
                            if why.is_empty() { "the key differs".into() } else { why.join(", ") }
                        ));
                    }
                    _ => reasons.push(format!("run {run}: the key differs (its parts are not recorded)")),
                },
            }
        }
        out.push(KeyDifference {
            node: node.to_owned(),
            keys: keys.iter().map(|k| k.map(|k| k.to_hex())).collect(),
            reasons,
        });
    }
    out
}

/// What differs between two cache keys' parts.
fn why_keys_differ(a: &KeyParts, b: &KeyParts) -> Vec<String> {
    let mut why = Vec::new();
    if a.code != b.code {
        why.push("the step's code changed".to_owned());
    }
    if a.version != b.version {
        why.push(format!("the step's version changed ({} → {})", a.version, b.version));
    }
    if a.deps != b.deps {
        why.push("its dependencies changed".to_owned());
    }
    if a.helpers != b.helpers {
        why.push("a helper's code changed".to_owned());
    }
    if a.krate != b.krate {
        why.push(format!("the crate changed ({} → {})", a.krate, b.krate));
    }
    for input in &b.inputs {
        match a.inputs.iter().find(|i| i.node == input.node) {
            Some(old) if old.hash == input.hash => {}
            Some(_) if input.is_param => why.push(format!("param `{}` changed", input.node)),
            Some(_) => why.push(format!("the output of `{}` changed", input.node)),
            None => why.push(format!("new input `{}`", input.node)),
        }
    }
    for old in &a.inputs {
        if !b.inputs.iter().any(|i| i.node == old.node) {
            why.push(format!("input `{}` is gone", old.node));
        }
    }
    why
}

fn render(view: &View) -> String {
    let mut out = String::with_capacity(16_384);
    out.push_str("<h1>Compare runs</h1>\n<p>Rows that differ are marked <span class=\"diff legend\">like this</span>.</p>\n");
    let head = |out: &mut String, first: &str| {
        let _ = write!(
            out,
            "<div class=\"table-wrap\"><table class=\"compare\"><thead><tr><th scope=\"col\">{first}</th>"
        );
        for run in &view.runs {
            let _ = write!(
                out,
                r#"<th scope="col"><a href="/runs/{}">{}</a><br><span class="muted">{}</span></th>"#,
                escape(&url_encode(&run.id)),
                escape(short(&run.id)),
                escape(&run.pipeline)
            );
        }
        out.push_str("</tr></thead><tbody>\n");
    };
    for (title, id, lines, kind) in
        [("Params", "params", &view.params, "param"), ("Metrics", "metrics", &view.metrics, "metric")]
    {
        let differing = lines.iter().filter(|l| l.differs).count();
        let _ = writeln!(out, "<h2 id=\"{id}\">{title}</h2>\n<p>{differing} of {} differ.</p>", lines.len());
        if lines.is_empty() {
            continue;
        }
        head(&mut out, kind);
        for line in lines.iter() {
            let _ = write!(
                out,
                r#"<tr{}><th scope="row">{}</th>"#,
                if line.differs { r#" class="diff""# } else { "" },
                escape(&line.name)
            );
            for v in &line.values {
                let _ = write!(
                    out,
                    "<td><code>{}</code></td>",
                    v.as_deref().map(escape).unwrap_or_else(|| "-".into())
                );
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody></table></div>\n");
    }
    out.push_str("<h2 id=\"cache-keys\">Steps with different cache keys</h2>\n");
    if view.keys.is_empty() {
        out.push_str(
            "<p>Every step has the same cache key in these runs: they computed the same things.</p>\n",
        );
    } else {
        head(&mut out, "step");
        for k in &view.keys {
            let _ = write!(out, r#"<tr class="diff"><th scope="row">{}</th>"#, escape(&k.node));
            for key in &k.keys {
                let _ = write!(
                    out,
                    "<td>{}</td>",
                    key.as_deref()
                        .map(|h| format!(r#"<code title="{h}">{}</code>"#, short(h)))
                        .unwrap_or_else(|| "-".into())
                );
            }
            out.push_str("</tr>\n");
            let _ = writeln!(
                out,
                r#"<tr class="why"><td colspan="{}">{}</td></tr>"#,
                view.runs.len() + 1,
                k.reasons.iter().map(|r| escape(r)).collect::<Vec<_>>().join("; ")
            );
        }
        out.push_str("</tbody></table></div>\n");
    }
    out.push_str("<h2 id=\"charts\">Metric series and ROC curves</h2>\n");
    let labels: Vec<String> =
        view.runs.iter().map(|r| format!("{} ({})", short(&r.id), r.pipeline)).collect();
    super::charts::render(&mut out, &view.charts, &labels);
    layout("Compare runs", Nav::Runs, &out)
}
