//! Hyperparameter searches in the run report: each study's trials as a table, its optimization
//! history, parallel coordinates of the hyperparameters against the score, and how much each
//! hyperparameter explains of the score.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::fmt::{esc, num, truncate, value};
use crate::blocks::StudyResults;
use crate::tune::{ParamValue, param_importance};

/// Trials listed in a study's table (the best first); the charts draw every trial.
const MAX_ROWS: usize = 50;

/// One hyperparameter search of a run, as the report draws it.
///
/// ```
/// use mlflow_ml::report::{StudyView, TrialView, RunView, render_html};
/// use mlflow_ml::tune::ParamValue;
/// let trial = |depth: i64, mean: f64, rank: u32| TrialView {
///     name: format!("forest (max_depth={depth})"),
///     params: vec![Some(ParamValue::Int(depth))],
///     mean,
///     std: 0.01,
///     rank,
///     pruned: false,
/// };
/// let study = StudyView {
///     name: "rank_forest".into(),
///     metric: "accuracy".into(),
///     higher_is_better: true,
///     params: vec!["max_depth".into()],
///     trials: vec![trial(2, 0.78, 2), trial(6, 0.83, 1)],
///     importance: vec![("max_depth".into(), 1.0)],
/// };
/// let html = render_html(&RunView { studies: vec![study], ..RunView::default() });
/// assert!(html.contains(r#"id="studies""#) && html.contains("parallel coordinates"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StudyView {
    /// The step that ranked the trials.
    pub name: String,
    /// The metric the trials were ranked by.
    pub metric: String,
    /// Whether higher values of it are better.
    pub higher_is_better: bool,
    /// The hyperparameters searched (those that differ between trials), one axis each.
    pub params: Vec<String>,
    /// The trials, in the order searched.
    pub trials: Vec<TrialView>,
    /// Each searched hyperparameter's share of the variance of the trials' scores it explains
    /// alone ([`param_importance`]), most important first.
    pub importance: Vec<(String, f64)>,
}

/// One trial of a [`StudyView`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrialView {
    /// Its name.
    pub name: String,
    /// Its value of each of the study's `params` (`None`: it does not have it).
    pub params: Vec<Option<ParamValue>>,
    /// Its mean cross-validated score (NaN if a fold failed or it was pruned).
    pub mean: f64,
    /// The standard deviation of its fold scores.
    pub std: f64,
    /// Its rank (1 is the best).
    pub rank: u32,
    /// Whether the pruner stopped it.
    pub pruned: bool,
}

impl StudyView {
    /// The view of a finished study ranked by step `name`.
    ///
    /// ```
    /// use mlflow_ml::blocks::{Candidate, StudyResults};
    /// use mlflow_ml::eval::ClassMetric;
    /// use mlflow_ml::models::TreeParams;
    /// use mlflow_ml::report::StudyView;
    /// use mlflow_ml::tune::{CvResults, Params, ParamValue};
    /// let tree = |depth: usize| Candidate::new(format!("tree {depth}"), TreeParams { max_depth: Some(depth), ..Default::default() });
    /// let params = |depth: i64| Params::from([("max_depth".to_owned(), ParamValue::Int(depth)), ("criterion".to_owned(), ParamValue::Text("gini".into()))]);
    /// let results = StudyResults {
    ///     trials: vec![tree(2), tree(4)],
    ///     results: CvResults::new(vec![params(2), params(4)], vec![vec![0.7, 0.8], vec![0.9, 0.9]], true)?,
    ///     metric: ClassMetric::Accuracy.into(),
    ///     pruned: Vec::new(),
    /// };
    /// let view = StudyView::from_results("rank_tree", &results);
    /// assert_eq!(view.params, ["max_depth"]); // the criterion is the same in every trial
    /// assert_eq!((view.trials[1].rank, view.trials[1].params[0].clone()), (1, Some(ParamValue::Int(4))));
    /// # Ok::<(), mlflow_ml::tune::TuneError>(())
    /// ```
    pub fn from_results(name: impl Into<String>, results: &StudyResults) -> Self {
        let candidates = &results.results.candidates;
        let mut params: Vec<String> = Vec::new();
        for c in candidates {
            for key in c.params.keys() {
                let varies = candidates.iter().any(|other| other.params.get(key) != c.params.get(key));
                if varies && !params.contains(key) {
                    params.push(key.clone());
                }
            }
        }
        let trials = results
            .trials
            .iter()
            .zip(candidates)
            .enumerate()
            .map(|(i, (trial, c))| TrialView {
                name: trial.name.clone(),
                params: params.iter().map(|p| c.params.get(p).cloned()).collect(),
                mean: c.mean,
                std: c.std,
                rank: c.rank,
                pruned: results.pruned.get(i).copied().flatten().is_some(),
            })
            .collect();
        let importance = param_importance(&results.results)
            .into_iter()
            .filter(|p| params.contains(&p.name))
            .map(|p| (p.name, p.share))
            .collect();
        StudyView {
            name: name.into(),
            metric: results.metric.name().to_owned(),
            higher_is_better: results.results.higher_is_better,
            params,
            trials,
            importance,
        }
    }

    /// The view of a search known only by its trials' scores, in trial order: what a step of
    /// one's own logs as a series (no hyperparameters to draw). A trial's rank is 1 + the number
    /// of trials that scored better; a NaN score ranks last.
    ///
    /// ```
    /// use mlflow_ml::report::StudyView;
    /// let view = StudyView::from_scores("my_search", "rmse", false, &[0.5, 0.3, f64::NAN, 0.3]);
    /// let ranks: Vec<u32> = view.trials.iter().map(|t| t.rank).collect();
    /// assert_eq!(ranks, [3, 1, 4, 1]);
    /// assert_eq!(view.trials[1].name, "trial 1");
    /// assert!(view.params.is_empty());
    /// ```
    pub fn from_scores(
        name: impl Into<String>,
        metric: impl Into<String>,
        higher_is_better: bool,
        scores: &[f64],
    ) -> Self {
        let better = |a: f64, b: f64| if higher_is_better { a > b } else { a < b };
        let trials = scores
            .iter()
            .enumerate()
            .map(|(i, &score)| TrialView {
                name: format!("trial {i}"),
                params: Vec::new(),
                mean: score,
                std: f64::NAN,
                rank: if score.is_finite() {
                    1 + scores.iter().filter(|&&other| other.is_finite() && better(other, score)).count()
                        as u32
                } else {
                    scores.len() as u32
                },
                pruned: false,
            })
            .collect();
        StudyView {
            name: name.into(),
            metric: metric.into(),
            higher_is_better,
            params: Vec::new(),
            trials,
            importance: Vec::new(),
        }
    }

    /// The best finite score so far after each trial, in trial order.
    fn best_so_far(&self) -> Vec<f64> {
        let mut best = f64::NAN;
        self.trials
            .iter()
            .map(|t| {
                if t.mean.is_finite() && (best.is_nan() || self.better(t.mean, best)) {
                    best = t.mean;
                }
                best
            })
            .collect()
    }

    fn better(&self, a: f64, b: f64) -> bool {
        if self.higher_is_better { a > b } else { a < b }
    }
}

/// The studies section (nothing when the run searched no hyperparameters).
pub(super) fn section(out: &mut String, studies: &[StudyView]) {
    if studies.is_empty() {
        return;
    }
    out.push_str("<section id=\"studies\">\n<h2>Studies</h2>\n");
    for (k, study) in studies.iter().enumerate() {
        block(out, k, study, "h3");
    }
    out.push_str("</section>\n");
}

/// One study as an HTML fragment: its summary line, optimization history, hyperparameter
/// importance, parallel coordinates and trials table, with the classes of the report's studies
/// section (`study`, `muted`, `charts`, `chart`, `scroll`, `trials`, `num`, `note`) and no style
/// or script of its own, for a page that styles it (the web UI's study page).
///
/// ```
/// use mlflow_ml::report::{StudyView, TrialView, render_study_fragment};
/// use mlflow_ml::tune::ParamValue;
/// let study = StudyView {
///     name: "rank_tree".into(),
///     metric: "accuracy".into(),
///     higher_is_better: true,
///     params: vec!["max_depth".into()],
///     trials: vec![TrialView { name: "tree <3>".into(), params: vec![Some(ParamValue::Int(3))], mean: 0.8, std: 0.02, rank: 1, pruned: false }],
///     importance: Vec::new(),
/// };
/// let html = render_study_fragment(&study);
/// assert!(html.contains("optimization history") && html.contains("tree &lt;3&gt;"));
/// assert!(!html.contains("<style") && !html.contains("<script") && !html.contains("style="));
/// ```
pub fn render_study_fragment(study: &StudyView) -> String {
    let mut out = String::new();
    block(&mut out, 0, study, "h2");
    out
}

/// One study (number `k` on its page, for the charts' element ids) under a `heading` element.
fn block(out: &mut String, k: usize, study: &StudyView, heading: &str) {
    let scored = study.trials.iter().filter(|t| t.mean.is_finite()).count();
    let pruned = study.trials.iter().filter(|t| t.pruned).count();
    let best = study.trials.iter().filter(|t| t.mean.is_finite()).min_by_key(|t| t.rank);
    let _ = writeln!(
        out,
        r#"<div class="study" data-study="{k}"><{heading}>{} · {}</{heading}><p class="muted">{} trials, {scored} scored{}{}; best: {}</p>"#,
        esc(&study.name),
        esc(&study.metric),
        study.trials.len(),
        if pruned > 0 { format!(", {pruned} pruned") } else { String::new() },
        if study.higher_is_better { ", higher is better" } else { ", lower is better" },
        best.map(|t| format!("{} ({})", esc(&t.name), esc(&value(t.mean)))).unwrap_or_else(|| "none".into()),
    );
    out.push_str("<div class=\"charts\">\n");
    history(out, k, study);
    importance(out, k, study);
    out.push_str("</div>\n<div class=\"scroll\">\n");
    parallel(out, k, study);
    out.push_str("</div>\n");
    table(out, study);
    out.push_str("</div>\n");
}

const H_W: f64 = 420.0;
const H_H: f64 = 220.0;
const H_L: f64 = 58.0;
const H_R: f64 = 14.0;
const H_T: f64 = 12.0;
const H_B: f64 = 36.0;

/// A vertical scale over the finite values of `values`, halved so that differences of finite
/// values cannot overflow; a flat range sits in the middle.
fn scale(values: impl Iterator<Item = f64>, top: f64, height: f64) -> (f64, f64, impl Fn(f64) -> f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(v), h.max(v)));
    let y = move |v: f64| {
        let t = if hi > lo { (v / 2.0 - lo / 2.0) / (hi / 2.0 - lo / 2.0) } else { 0.5 };
        top + (1.0 - t.clamp(0.0, 1.0)) * height
    };
    (lo, hi, y)
}

/// Each trial's score by trial number, and the best so far as a step line.
fn history(out: &mut String, k: usize, study: &StudyView) {
    let (pw, ph) = (H_W - H_L - H_R, H_H - H_T - H_B);
    let n = study.trials.len();
    let (lo, hi, py) = scale(study.trials.iter().map(|t| t.mean), H_T, ph);
    let px = |i: usize| if n > 1 { H_L + i as f64 / (n - 1) as f64 * pw } else { H_L + pw / 2.0 };
    let _ = writeln!(
        out,
        r##"<div class="chart"><h3>optimization history</h3><svg class="history-svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-labelledby="history-title-{k}">
<title id="history-title-{k}">{t}: score of each trial and the best so far</title>
<rect x="{l}" y="{tp}" width="{pw}" height="{phs}" fill="#ffffff" stroke="#8c959f"/>
<text x="{lx}" y="{hy}" text-anchor="end" font-size="10.5" fill="#57606a">{hi}</text><text x="{lx}" y="{ly}" text-anchor="end" font-size="10.5" fill="#57606a">{lo}</text>
<text x="{cx}" y="{by}" text-anchor="middle" font-size="10.5" fill="#57606a">trial</text>
<text x="{l}" y="{ty}" text-anchor="start" font-size="10.5" fill="#57606a">0</text><text x="{rx}" y="{ty}" text-anchor="end" font-size="10.5" fill="#57606a">{last}</text>"##,
        w = num(H_W),
        h = num(H_H),
        t = esc(&study.name),
        l = num(H_L),
        tp = num(H_T),
        pw = num(pw),
        phs = num(ph),
        lx = num(H_L - 5.0),
        hy = num(H_T + 9.0),
        ly = num(H_T + ph),
        hi = if hi.is_finite() { esc(&value(hi)) } else { String::new() },
        lo = if lo.is_finite() { esc(&value(lo)) } else { String::new() },
        cx = num(H_L + pw / 2.0),
        by = num(H_T + ph + 28.0),
        ty = num(H_T + ph + 14.0),
        rx = num(H_L + pw),
        last = n.saturating_sub(1),
    );
    let best = study.best_so_far();
    let steps: Vec<String> = best
        .iter()
        .enumerate()
        .filter(|(_, b)| b.is_finite())
        .flat_map(|(i, &b)| {
            let next = if i + 1 < n { px(i + 1) } else { px(i) };
            [format!("{},{}", num(px(i)), num(py(b))), format!("{},{}", num(next), num(py(b)))]
        })
        .collect();
    if !steps.is_empty() {
        let _ = writeln!(
            out,
            r##"<polyline class="best-line" points="{}" fill="none" stroke="#d55e00" stroke-width="2"/>"##,
            steps.join(" ")
        );
    }
    for (i, t) in study.trials.iter().enumerate().filter(|(_, t)| t.mean.is_finite()) {
        let _ = writeln!(
            out,
            r##"<circle class="trial-dot" cx="{}" cy="{}" r="3.5" fill="#0072b2"><title>{}: {}</title></circle>"##,
            num(px(i)),
            num(py(t.mean)),
            esc(&t.name),
            esc(&value(t.mean)),
        );
    }
    out.push_str("</svg></div>\n");
}

const I_W: f64 = 380.0;
const I_LABEL: f64 = 140.0;
const I_ROW: f64 = 24.0;

/// Each hyperparameter's share of the variance of the scores, as horizontal bars.
fn importance(out: &mut String, k: usize, study: &StudyView) {
    let _ = writeln!(out, r#"<div class="chart"><h3>hyperparameter importance</h3>"#);
    if study.importance.is_empty() {
        out.push_str("<p class=\"note\">too few scored trials, or all scored alike</p></div>\n");
        return;
    }
    let h = 12.0 + I_ROW * study.importance.len() as f64 + 20.0;
    let bar_w = I_W - I_LABEL - 60.0;
    let _ = writeln!(
        out,
        r##"<svg class="importance-svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-labelledby="importance-title-{k}">
<title id="importance-title-{k}">share of the variance of the scores each hyperparameter explains alone</title>"##,
        w = num(I_W),
        h = num(h),
    );
    for (i, (name, share)) in study.importance.iter().enumerate() {
        let y = 8.0 + I_ROW * i as f64;
        let width = if share.is_finite() { share.clamp(0.0, 1.0) * bar_w } else { 0.0 };
        let _ = writeln!(
            out,
            r##"<g class="importance-bar"><text x="{lx}" y="{ty}" text-anchor="end" font-size="12" fill="#1f2328">{name}</text><rect x="{x}" y="{y}" width="{bw}" height="16" fill="#009e73"/><text x="{vx}" y="{ty}" font-size="11" fill="#57606a">{share}</text></g>"##,
            lx = num(I_LABEL - 8.0),
            ty = num(y + 12.5),
            name = esc(&truncate(name, 22)),
            x = num(I_LABEL),
            y = num(y),
            bw = num(width),
            vx = num(I_LABEL + width + 6.0),
            share = esc(&value(*share)),
        );
    }
    let _ = writeln!(
        out,
        r##"<text x="{}" y="{}" font-size="10.5" fill="#57606a">share of the scores' variance each explains alone</text></svg></div>"##,
        num(8.0),
        num(h - 6.0)
    );
}

const P_AXIS_GAP: f64 = 150.0;
const P_T: f64 = 30.0;
const P_H: f64 = 200.0;
const P_L: f64 = 70.0;

/// One axis of the parallel coordinates: where each trial's value sits (0 at the bottom, 1 at
/// the top; `None` if it has none) and the labels at the ends.
struct Axis {
    name: String,
    positions: Vec<Option<f64>>,
    low: String,
    high: String,
    ticks: Vec<(f64, String)>,
}

fn param_axis(study: &StudyView, p: usize) -> Axis {
    let values: Vec<Option<&ParamValue>> =
        study.trials.iter().map(|t| t.params.get(p).and_then(Option::as_ref)).collect();
    let numbers: Vec<Option<f64>> = values
        .iter()
        .map(|v| match v {
            Some(ParamValue::Int(i)) => Some(*i as f64),
            Some(ParamValue::Float(f)) if f.is_finite() => Some(*f),
            _ => None,
        })
        .collect();
    let name = study.params[p].clone();
    let numeric = values.iter().zip(&numbers).all(|(v, n)| v.is_none() || n.is_some())
        && numbers.iter().any(Option::is_some);
    if numeric {
        let (lo, hi) = numbers
            .iter()
            .flatten()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| (l.min(v), h.max(v)));
        // A range over two orders of magnitude (a log-uniform `c`) is drawn on a log axis.
        let log = lo > 0.0 && hi / lo >= 100.0;
        let at = |v: f64| {
            let (v, lo, hi) = if log { (v.ln(), lo.ln(), hi.ln()) } else { (v, lo, hi) };
            if hi > lo { (v / 2.0 - lo / 2.0) / (hi / 2.0 - lo / 2.0) } else { 0.5 }
        };
        return Axis {
            name: if log { format!("{name} (log)") } else { name },
            positions: numbers.iter().map(|n| n.map(at)).collect(),
            low: value(lo),
            high: value(hi),
            ticks: Vec::new(),
        };
    }
    let mut distinct: Vec<String> = Vec::new();
    let labels: Vec<Option<String>> = values.iter().map(|v| v.map(ToString::to_string)).collect();
    for label in labels.iter().flatten() {
        if !distinct.contains(label) {
            distinct.push(label.clone());
        }
    }
    distinct.sort();
    let at = |label: &String| {
        let i = distinct.iter().position(|d| d == label).unwrap_or(0);
        if distinct.len() > 1 { i as f64 / (distinct.len() - 1) as f64 } else { 0.5 }
    };
    Axis {
        name,
        positions: labels.iter().map(|l| l.as_ref().map(at)).collect(),
        low: String::new(),
        high: String::new(),
        ticks: distinct.iter().map(|d| (at(d), d.clone())).collect(),
    }
}

/// One vertical axis per hyperparameter and one for the score; each trial a line across them,
/// darker the better it scored.
fn parallel(out: &mut String, k: usize, study: &StudyView) {
    let mut axes: Vec<Axis> = (0..study.params.len()).map(|p| param_axis(study, p)).collect();
    let (lo, hi, _) = scale(study.trials.iter().map(|t| t.mean), 0.0, 1.0);
    let score_at = |v: f64| if hi > lo { (v / 2.0 - lo / 2.0) / (hi / 2.0 - lo / 2.0) } else { 0.5 };
    axes.push(Axis {
        name: study.metric.clone(),
        positions: study.trials.iter().map(|t| t.mean.is_finite().then(|| score_at(t.mean))).collect(),
        low: if lo.is_finite() { value(lo) } else { String::new() },
        high: if hi.is_finite() { value(hi) } else { String::new() },
        ticks: Vec::new(),
    });
    let w = P_L * 2.0 + P_AXIS_GAP * (axes.len() - 1) as f64;
    let h = P_T + P_H + 40.0;
    let x = |a: usize| P_L + P_AXIS_GAP * a as f64;
    let y = |t: f64| P_T + (1.0 - t) * P_H;
    let _ = writeln!(
        out,
        r##"<h3>parallel coordinates</h3><svg class="parallel-svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-labelledby="parallel-title-{k}">
<title id="parallel-title-{k}">{t}: each trial's hyperparameters and score</title>"##,
        w = num(w),
        h = num(h),
        t = esc(&study.name),
    );
    // Worst first, so that the best trials are drawn on top.
    let score_axis = axes.len() - 1;
    let mut order: Vec<usize> =
        (0..study.trials.len()).filter(|&i| axes[score_axis].positions[i].is_some()).collect();
    order.sort_by(|&a, &b| {
        let (sa, sb) =
            (axes[score_axis].positions[a].unwrap_or(0.0), axes[score_axis].positions[b].unwrap_or(0.0));
        let (sa, sb) = if study.higher_is_better { (sa, sb) } else { (-sa, -sb) };
        sa.total_cmp(&sb)
    });
    for &i in &order {
        let goodness = axes[score_axis].positions[i].unwrap_or(0.0);
        let goodness = if study.higher_is_better { goodness } else { 1.0 - goodness };
        let points: Vec<String> = axes
            .iter()
            .enumerate()
            .filter_map(|(a, axis)| axis.positions[i].map(|p| format!("{},{}", num(x(a)), num(y(p)))))
            .collect();
        let _ = writeln!(
            out,
            r##"<polyline class="trial-line" points="{}" fill="none" stroke="#0072b2" stroke-opacity="{:.2}" stroke-width="{}"><title>{}: {}</title></polyline>"##,
            points.join(" "),
            0.15 + 0.8 * goodness,
            if study.trials[i].rank == 1 { "3" } else { "1.5" },
            esc(&study.trials[i].name),
            esc(&value(study.trials[i].mean)),
        );
    }
    for (a, axis) in axes.iter().enumerate() {
        let _ = writeln!(
            out,
            r##"<g class="axis"><line x1="{x}" y1="{t}" x2="{x}" y2="{b}" stroke="#57606a"/><text x="{x}" y="{ny}" text-anchor="middle" font-size="11.5" font-weight="600" fill="#1f2328">{name}</text><text x="{lx}" y="{hy}" text-anchor="end" font-size="10.5" fill="#57606a">{high}</text><text x="{lx}" y="{ly}" text-anchor="end" font-size="10.5" fill="#57606a">{low}</text>"##,
            x = num(x(a)),
            t = num(P_T),
            b = num(P_T + P_H),
            ny = num(P_T + P_H + 22.0),
            name = esc(&truncate(&axis.name, 24)),
            lx = num(x(a) - 5.0),
            hy = num(P_T + 4.0),
            ly = num(P_T + P_H),
            high = esc(&axis.high),
            low = esc(&axis.low),
        );
        for (at, label) in &axis.ticks {
            let _ = write!(
                out,
                r##"<text x="{}" y="{}" text-anchor="end" font-size="10.5" fill="#57606a">{}</text>"##,
                num(x(a) - 5.0),
                num(y(*at) + 3.5),
                esc(&truncate(label, 16)),
            );
        }
        out.push_str("</g>\n");
    }
    out.push_str("</svg>\n");
}

/// The trials, best first (at most [`MAX_ROWS`]).
fn table(out: &mut String, study: &StudyView) {
    let mut order: Vec<usize> = (0..study.trials.len()).collect();
    order.sort_by_key(|&i| (study.trials[i].rank, i));
    out.push_str("<div class=\"scroll\">\n<table class=\"trials\">\n<thead><tr><th class=\"num\">rank</th><th>trial</th>");
    for p in &study.params {
        let _ = write!(out, "<th>{}</th>", esc(p));
    }
    let _ =
        writeln!(out, r#"<th class="num">{}</th><th class="num">std</th></tr></thead>"#, esc(&study.metric));
    out.push_str("<tbody>\n");
    for &i in order.iter().take(MAX_ROWS) {
        let t = &study.trials[i];
        let _ = write!(out, r#"<tr><td class="num">{}</td><td>{}</td>"#, t.rank, esc(&t.name));
        for v in &t.params {
            let _ = write!(
                out,
                "<td>{}</td>",
                v.as_ref().map(|v| esc(&v.to_string())).unwrap_or_else(|| "–".into())
            );
        }
        let mean = if t.pruned { "pruned".to_owned() } else { esc(&value(t.mean)) };
        let _ =
            writeln!(out, r#"<td class="num">{mean}</td><td class="num">{}</td></tr>"#, esc(&value(t.std)));
    }
    out.push_str("</tbody>\n</table>\n</div>\n");
    if order.len() > MAX_ROWS {
        let _ = writeln!(out, "<p class=\"note\">the best {MAX_ROWS} of {} trials</p>", order.len());
    }
}
