//! `GET /studies` (every hyperparameter study in the store, newest run first, paged by run in
//! the database) and `GET /runs/ID/studies/NODE` (one study: its trials, optimization history,
//! hyperparameter importance and parallel coordinates, drawn by the report's renderer). A study
//! is a step that logged its trials' scores as the series `cv.<metric>`: the ranking steps of
//! `mlflow_ml::blocks::tune` do (their stored results give the hyperparameters too), and so can
//! a search of one's own (drawn from its scores alone).

use std::fmt::Write as _;
use std::str::FromStr;

use mlflow_core::registry::PromotionMetric;
use mlflow_core::store::Store;
use mlflow_core::track::RunRecord;
use mlflow_core::track::series::SeriesSummary;
use mlflow_ml::eval::TaskMetric;
use mlflow_ml::report::{StudyView, render_study_fragment};

use super::Answer;
use super::html::{Nav, Query, escape, layout, number, page_number, pager, short, time, url_encode};

/// The key prefix of the series a study logs (each trial's mean score).
const STUDY_SERIES: &str = mlflow_ml::blocks::TRIAL_SCORES_PREFIX;
/// Runs per page (with all their studies).
const PER_PAGE: usize = 50;

/// Whether higher values of a metric are better, when it is one of ours.
fn higher_is_better(metric: &str) -> Option<bool> {
    TaskMetric::from_str(metric).ok().map(|m| m.higher_is_better())
}

/// `GET /studies`.
pub(super) fn list(store: &Store, q: &Query) -> Answer {
    let page = page_number(q);
    let listed = store
        .count_series_runs(STUDY_SERIES)
        .and_then(|total| Ok((total, store.series(STUDY_SERIES, PER_PAGE, (page - 1) * PER_PAGE)?)));
    let (runs, lines) = match listed {
        Ok(listed) => listed,
        Err(e) => return Answer::error(500, "Cannot list the studies", &e.to_string()),
    };
    Answer::html(200, layout("Studies", Nav::Studies, &render_list(runs, page, &lines)))
}

fn render_list(runs: usize, page: usize, lines: &[SeriesSummary]) -> String {
    let mut out = String::from("<h1>Studies</h1>\n");
    let first = (page - 1) * PER_PAGE;
    let shown = lines.iter().map(|l| l.run_id.as_str()).collect::<std::collections::BTreeSet<_>>().len();
    let _ = writeln!(
        out,
        r#"<p class="count" id="study-count">{runs} run{} with studies{}</p>"#,
        if runs == 1 { "" } else { "s" },
        if lines.is_empty() {
            String::new()
        } else {
            format!(
                ", showing runs {} to {}: {} stud{}",
                first + 1,
                first + shown,
                lines.len(),
                if lines.len() == 1 { "y" } else { "ies" }
            )
        }
    );
    if lines.is_empty() {
        if runs > 0 {
            let _ = writeln!(
                out,
                r#"<p>No studies on page {page}: <a href="/studies">go to the first page</a>.</p>"#
            );
        } else {
            out.push_str("<p>No studies in this store yet: a pipeline searches hyperparameters with <code>blocks::tune</code>, and each search it ranks is listed here.</p>\n");
        }
        return out;
    }
    out.push_str("<div class=\"table-wrap\"><table id=\"studies\">\n<thead><tr><th scope=\"col\">study</th><th scope=\"col\">run</th><th scope=\"col\">pipeline</th><th scope=\"col\">started</th><th scope=\"col\">metric</th><th scope=\"col\" class=\"num\">trials scored</th><th scope=\"col\" class=\"num\">best</th></tr></thead>\n<tbody>\n");
    for line in lines {
        let metric = line.key.strip_prefix(STUDY_SERIES).unwrap_or(&line.key);
        // The direction is the metric's, when it is one of ours; otherwise the range is shown.
        let best = match higher_is_better(metric) {
            Some(true) => number(line.max),
            Some(false) => number(line.min),
            None => format!("{} to {}", number(line.min), number(line.max)),
        };
        let _ = writeln!(
            out,
            r#"<tr><th scope="row"><a href="/runs/{run_href}/studies/{node_href}">{node}</a></th><td><a href="/runs/{run_href}"><code>{run}</code></a></td><td>{pipeline}</td><td>{started}</td><td>{metric}</td><td class="num">{points}</td><td class="num">{best}</td></tr>"#,
            run_href = escape(&url_encode(&line.run_id)),
            node_href = escape(&url_encode(&line.node)),
            node = escape(&line.node),
            run = escape(short(&line.run_id)),
            pipeline = escape(&line.pipeline),
            started = escape(&time(line.started_ms)),
            metric = escape(metric),
            points = line.points,
            best = escape(&best),
        );
    }
    out.push_str("</tbody></table></div>\n");
    let pages = runs.div_ceil(PER_PAGE).max(1);
    out.push_str(&pager(page, pages, |n| {
        if n > 1 { format!("/studies?page={n}") } else { "/studies".to_owned() }
    }));
    out
}

/// A search a step of one's own logged as a series of trial scores (`cv.<metric>`, the first such
/// key by name), drawn from its scores alone; `None` when the step logged none.
fn logged_study(run: &RunRecord, node: &str) -> Option<StudyView> {
    let key = run
        .metrics
        .iter()
        .filter(|(n, m)| n == node && m.step.is_some() && m.key.starts_with(STUDY_SERIES))
        .map(|(_, m)| m.key.as_str())
        .min()?;
    let mut points: Vec<(u64, f64)> = run
        .metrics
        .iter()
        .filter(|(n, m)| n == node && m.key == key)
        .filter_map(|(_, m)| Some((m.step?, m.value)))
        .collect();
    points.sort_by_key(|(step, _)| *step);
    let metric = key.strip_prefix(STUDY_SERIES).unwrap_or(key);
    let scores: Vec<f64> = points.into_iter().map(|(_, v)| v).collect();
    // A metric of the user's own is taken as higher is better.
    Some(StudyView::from_scores(node, metric, higher_is_better(metric).unwrap_or(true), &scores))
}

/// `GET /runs/ID/studies/NODE`.
pub(super) fn page(store: &Store, run_id: &str, node: &str) -> Answer {
    let run = match store.run(run_id) {
        Ok(Some(run)) => run,
        Ok(None) => return Answer::not_found(&format!("no run `{run_id}` in this store")),
        Err(e) => return Answer::error(500, "Cannot read the run", &e.to_string()),
    };
    let Some(step) = run.steps.iter().find(|s| s.node == node) else {
        return Answer::not_found(&format!("run `{run_id}` has no step `{node}`"));
    };
    let study = match StudyView::from_step(store, step) {
        Ok(Some(study)) => study,
        Ok(None) if StudyView::is_study_step(&step.step) => {
            return Answer::not_found(&format!(
                "step `{node}` of run `{run_id}` stored no study ({}): the ranking did not finish",
                step.status
            ));
        }
        Ok(None) => match logged_study(&run, node) {
            Some(study) => study,
            None => {
                return Answer::not_found(&format!(
                    "step `{node}` of run `{run_id}` is `{}`, which ranks no hyperparameter study",
                    step.step
                ));
            }
        },
        Err(e) => return Answer::error(500, "Cannot read the study", &e.to_string()),
    };
    let run_href = escape(&url_encode(run_id));
    let mut out = format!(
        r#"<h1>Study <code>{node}</code></h1>
<p>Ranked in run <a href="/runs/{run_href}"><code>{run}</code></a> of <strong>{pipeline}</strong>, {started} · <a href="/runs/{run_href}/lineage/{node_href}">lineage</a> · <a href="/studies">all studies</a></p>
"#,
        node = escape(node),
        run = escape(short(run_id)),
        pipeline = escape(&run.pipeline),
        started = escape(&time(run.started_ms)),
        node_href = escape(&url_encode(node)),
    );
    out.push_str(&render_study_fragment(&study));
    Answer::html(200, layout(&format!("Study {node}"), Nav::Studies, &out))
}
