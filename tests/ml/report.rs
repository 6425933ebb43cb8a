//! The HTML run report, checked for structure: sections, escaping, status colours, edges, the ROC
//! curve inside its plot, self-containment, and odd input (no steps, NaN, zero durations) that
//! must neither panic nor put a non-finite number into an SVG attribute.

use crate::report_common;

use mlflow::report::{
    ClassifierView, MetricView, NodeKind, NodeView, RunView, StudyView, TrialView, render_html,
};
use mlflow::tune::ParamValue;
use report_common::{EVIL, monitoring, realistic};

/// The page's escaping of a piece of text.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The value of attribute `name` in the first tag of `html` that contains `marker`.
fn attr<'a>(html: &'a str, marker: &str, name: &str) -> &'a str {
    let at = html.find(marker).unwrap_or_else(|| panic!("no {marker}"));
    let start = if html[at..].starts_with('<') { at } else { html[..at].rfind('<').unwrap_or(0) };
    let end = at + html[at..].find('>').unwrap_or(html.len() - at);
    let tag = &html[start..end];
    let key = format!(" {name}=\"");
    let from = tag.find(&key).unwrap_or_else(|| panic!("no {name} in {tag}")) + key.len();
    let len = tag[from..].find('"').unwrap_or(0);
    &tag[from..from + len]
}

/// Every `name="value"` attribute of every tag (text between tags is skipped).
fn attributes(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>') else { break };
        let tag = &rest[open + 1..open + close];
        // Skip the contents of <style> and <script>: not markup.
        if let Some(raw) = ["style", "script"].iter().find(|r| tag.starts_with(**r)) {
            let end = format!("</{raw}>");
            let Some(at) = rest[open..].find(&end) else { break };
            rest = &rest[open + at + end.len()..];
            continue;
        }
        let mut t = tag;
        while let Some(eq) = t.find("=\"") {
            let name = t[..eq].rsplit(|c: char| c.is_whitespace()).next().unwrap_or("").to_string();
            let Some(len) = t[eq + 2..].find('"') else { break };
            out.push((name, t[eq + 2..eq + 2 + len].to_string()));
            t = &t[eq + 2 + len + 1..];
        }
        rest = &rest[open + close + 1..];
    }
    out
}

/// Attributes that hold numbers (or SVG paths/point lists made of numbers).
const NUMERIC: [&str; 20] = [
    "x",
    "y",
    "x1",
    "y1",
    "x2",
    "y2",
    "cx",
    "cy",
    "r",
    "rx",
    "width",
    "height",
    "d",
    "points",
    "viewBox",
    "transform",
    "refX",
    "refY",
    "markerWidth",
    "stroke-width",
];

/// Panics unless every numeric attribute is made of finite numbers only, and no attribute at all
/// contains `NaN` or `inf`.
fn assert_svg_numbers_finite(html: &str) {
    let attrs = attributes(html);
    assert!(attrs.len() > 50, "too few attributes: {}", attrs.len());
    for (name, value) in &attrs {
        let lower = value.to_ascii_lowercase();
        assert!(!lower.contains("nan") && !lower.contains("inf"), "{name}=\"{value}\"");
        if NUMERIC.contains(&name.as_str()) {
            let cleaned: String = value
                .replace("translate", " ")
                .replace("rotate", " ")
                .chars()
                .map(|c| if "MCLzZ(),".contains(c) { ' ' } else { c })
                .collect();
            for token in cleaned.split_whitespace() {
                let n: f64 =
                    token.parse().unwrap_or_else(|_| panic!("{name}=\"{value}\": {token:?} is not a number"));
                assert!(n.is_finite() && n.abs() < 1e8, "{name}=\"{value}\"");
            }
        }
    }
}

#[test]
fn every_section_is_present() {
    let html = render_html(&realistic());
    assert!(html.starts_with("<!DOCTYPE html>"));
    for id in [
        "summary",
        "errors",
        "dag",
        "timeline",
        "roc",
        "studies",
        "metrics",
        "params",
        "steps",
        "environment",
    ] {
        assert_eq!(html.matches(&format!(r#"id="{id}""#)).count(), 1, "section {id}");
    }
    for svg in
        ["dag-svg", "timeline-svg", "roc-svg", "history-svg", "importance-svg", "parallel-svg", "series-svg"]
    {
        assert!(html.contains(&format!(r#"<svg class="{svg}""#)), "{svg}");
    }
    // Every SVG has a <title> right after it opens.
    let svgs = html.matches("<svg ").count();
    assert_eq!(svgs, 8, "DAG, timeline, ROC, the study's three charts and two series charts");
    for part in html.split("<svg ").skip(1) {
        let after_open = &part[part.find('>').expect("svg tag closes") + 1..];
        assert!(after_open.trim_start().starts_with("<title"), "{}", &after_open[..80.min(after_open.len())]);
    }
    // Summary figures.
    assert!(html.contains("<b>14</b><span>steps</span>"), "14 steps");
    assert!(html.contains(r#"<div class="card ran"><b>8</b><span>ran</span>"#));
    assert!(html.contains(r#"<div class="card cached"><b>2</b><span>cached</span>"#));
    assert!(html.contains(r#"<div class="card failed"><b>1</b><span>failed</span>"#));
    assert!(html.contains(r#"<div class="card skipped"><b>3</b><span>skipped</span>"#));
    assert!(html.contains("2024-05-01 12:51:30 UTC"));
    assert!(html.contains("42.3 ms"));
    for (k, v) in &realistic().environment {
        assert!(html.contains(&esc(k)) && html.contains(&esc(v)), "environment {k}");
    }
}

#[test]
fn every_name_is_escaped_and_the_only_script_is_the_page_own() {
    let view = realistic();
    let html = render_html(&view);
    for node in &view.nodes {
        assert!(html.contains(&esc(&node.name)), "{}", node.name);
    }
    for (name, value) in &view.params {
        assert!(html.contains(&format!("<td>{}</td><td><code>{}</code></td>", esc(name), esc(value))));
    }
    assert!(!html.contains(EVIL));
    assert!(!html.contains("<script>"));
    assert_eq!(html.matches("<script").count(), 1, "one script element: the page's own");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    // The failed step's error is shown, escaped, in the errors section.
    let errors = &html[html.find(r#"id="errors""#).unwrap()..html.find(r#"id="dag""#).unwrap()];
    assert!(errors.contains("train_svm") && errors.contains("after 3 attempts"));
    assert!(
        errors.contains("column 4 (&lt;NaN&gt;)\n  caused by: gamma = &quot;auto&quot; gave &#39;inf&#39;")
    );
    // The script may only run by nonce.
    let csp = attr(&html, "Content-Security-Policy", "content");
    assert!(csp.starts_with("default-src 'none';"), "{csp}");
    let nonce = attr(&html, "<script nonce=", "nonce");
    assert!(nonce.len() >= 16 && csp.contains(&format!("'nonce-{nonce}'")));
}

#[test]
fn steps_are_coloured_by_status_and_params_drawn_as_pills() {
    let view = realistic();
    let html = render_html(&view);
    let colours = [
        ("ran", "#2f9e55"),
        ("cached", "#3a73c8"),
        ("failed", "#d03b3b"),
        ("skipped", "#9aa0a6"),
        ("param", "#7b5cc4"),
    ];
    for (i, node) in view.nodes.iter().enumerate() {
        let (kind, class) = match node.kind {
            NodeKind::Param => ("param", "param"),
            NodeKind::Step => ("step", node.status.as_str()),
        };
        let open = format!(
            r#"<g class="node {kind} {class}" id="node-{i}" data-node="{i}"><title>{}"#,
            esc(&node.name)
        );
        assert!(html.contains(&open), "{open}");
        let group = &html[html.find(&open).unwrap()..];
        let rect = &group[group.find("<rect").unwrap()..];
        let expected = colours.iter().find(|(c, _)| *c == class).unwrap().1;
        assert_eq!(attr(rect, "<rect", "stroke"), expected, "{}", node.name);
        let rx: f64 = attr(rect, "<rect", "rx").parse().unwrap();
        assert_eq!(rx > 10.0, node.kind == NodeKind::Param, "params are pills: {}", node.name);
        // The step's timeline row and table row carry the same class.
        if node.kind == NodeKind::Step {
            assert!(
                html.contains(&format!(r#"<g class="bar {class}" data-node="{i}">"#)),
                "bar {}",
                node.name
            );
            assert!(html.contains(&format!(
                r#"<tr data-node="{i}"><td>{}</td><td><span class="pill {class}">"#,
                esc(&node.name)
            )));
        }
    }
    // Cached steps are thin bars in the timeline, steps that ran are thick.
    let cached = &html[html.find(r#"<g class="bar cached""#).unwrap()..];
    assert_eq!(attr(cached, "<rect", "height"), "6");
    let ran = &html[html.find(r#"<g class="bar ran""#).unwrap()..];
    assert_eq!(attr(ran, "<rect", "height"), "14");
    // Skipped steps have no bar.
    let skipped = &html[html.find(r#"<g class="bar skipped""#).unwrap()..];
    assert!(skipped[..skipped.find("</g>").unwrap()].contains("did not run"));
    assert!(!skipped[..skipped.find("</g>").unwrap()].contains("<rect"));
}

#[test]
fn one_curve_per_edge_and_steps_in_parallel_overlap_in_the_timeline() {
    let mut view = realistic();
    let html = render_html(&view);
    assert_eq!(html.matches(r#"<path class="edge"#).count(), view.edges.len());
    assert!(html.contains(&format!("{} edges", view.edges.len())));
    // Edges into skipped steps are dashed.
    assert_eq!(html.matches(r#"<path class="edge dead""#).count(), 2 + 4 + 2);
    // Duplicate, self and out-of-range edges are not drawn.
    let n = view.edges.len();
    view.edges.extend([(0, 1), (3, 3), (0, 999), (999, 0)]);
    assert_eq!(render_html(&view).matches(r#"<path class="edge"#).count(), n);

    // train_tree and train_forest both start at 9.1 ms: their bars start at the same x.
    let x_of = |name: &str| -> f64 {
        let i = view.nodes.iter().position(|n| n.name == name).unwrap();
        let bar = &html[html.find(&format!(r#"<g class="bar ran" data-node="{i}">"#)).unwrap()..];
        attr(bar, "<rect", "x").parse().unwrap()
    };
    assert_eq!(x_of("train_tree"), x_of("train_forest"));
    assert!(x_of("ingest") < x_of("split") && x_of("split") < x_of("train_tree"));
}

#[test]
fn roc_curves_lie_inside_the_plot_and_carry_their_auc() {
    let view = realistic();
    let html = render_html(&view);
    let roc = &html[html.find(r#"id="roc""#).unwrap()..html.find(r#"id="metrics""#).unwrap()];
    let num = |marker: &str, name: &str| -> f64 { attr(roc, marker, name).parse().unwrap() };
    let (x, y) = (num(r#"class="plot-area""#, "x"), num(r#"class="plot-area""#, "y"));
    let (w, h) = (num(r#"class="plot-area""#, "width"), num(r#"class="plot-area""#, "height"));
    assert!(w > 200.0 && h > 200.0);
    assert_eq!(roc.matches(r#"<polyline class="roc-curve""#).count(), view.classifiers.len());
    assert!(roc.contains(r#"<line class="chance""#));
    for (k, c) in view.classifiers.iter().enumerate() {
        let points = attr(roc, &format!(r#"class="roc-curve" data-classifier="{k}""#), "points");
        let pts: Vec<(f64, f64)> = points
            .split(' ')
            .map(|p| {
                let (a, b) = p.split_once(',').unwrap();
                (a.parse().unwrap(), b.parse().unwrap())
            })
            .collect();
        assert!(pts.len() >= c.roc.len() && pts.len() > 10, "{} points", pts.len());
        for &(px, py) in &pts {
            assert!(px >= x && px <= x + w && py >= y && py <= y + h, "({px}, {py}) outside the plot");
        }
        // Starts bottom-left, ends top-right.
        assert_eq!(pts[0], (x, y + h));
        assert_eq!(pts[pts.len() - 1], (x + w, y));
        let auc = format!("{:.4}", c.auc);
        let auc = auc.trim_end_matches('0');
        assert!(roc.contains(&format!("{} — {auc}", esc(&c.name))), "legend of {}", c.name);
        // The confusion matrix, with every count.
        let cm = &roc[roc.find(&format!(r#"<div class="cm" data-classifier="{k}">"#)).unwrap()..];
        let cm = &cm[..cm.find("</div>").unwrap()];
        let [[tn, fp], [fn_, tp]] = c.confusion;
        for (label, count) in [("TN", tn), ("FP", fp), ("FN", fn_), ("TP", tp)] {
            assert!(cm.contains(&format!("{label}<b>{count}</b>")), "{label} of {}", c.name);
        }
    }
}

#[test]
fn metrics_table_and_series_charts() {
    let view = realistic();
    let html = render_html(&view);
    let metrics = &html[html.find(r#"id="metrics""#).unwrap()..html.find(r#"id="params""#).unwrap()];
    // One row per evaluate step, one column per metric.
    for key in ["accuracy", "precision", "recall", "f1", "roc_auc"] {
        assert!(metrics.contains(&format!(r#"<th class="num">{key}</th>"#)), "{key}");
    }
    assert_eq!(metrics.matches("<tr><td>evaluate_").count(), 3);
    assert!(metrics.contains("train_forest · oob_error") && metrics.contains("train_logistic · cv_accuracy"));
    assert!(metrics.contains("10 points"));
    assert_eq!(metrics.matches(r#"<polyline class="series-line""#).count(), 2);
    // Ten dots of the oob_error series, each with its index and value.
    assert!(metrics.contains("<title>100: "));
}

#[test]
fn the_page_loads_nothing_from_anywhere() {
    let html = render_html(&realistic());
    for banned in ["http://", "https://", "src=", "<link", "@import", "<iframe", "<object", "<embed", "<img"]
    {
        assert!(!html.contains(banned), "{banned}");
    }
    for (at, _) in html.match_indices("url(") {
        assert!(html[at..].starts_with("url(#"), "only in-page references: {}", &html[at..at + 20]);
    }
    assert_svg_numbers_finite(&html);
}

#[test]
fn a_small_pipeline_is_drawn_left_to_right_and_a_deep_one_top_to_bottom() {
    let small = RunView {
        nodes: vec![
            NodeView::param("n"),
            NodeView::step("load", "ran", 0.0, 1.0),
            NodeView::step("sum", "ran", 1.0, 1.0),
        ],
        edges: vec![(0, 1), (1, 2)],
        ..RunView::default()
    };
    assert!(render_html(&small).contains(r#"<svg class="dag-svg" data-direction="right""#));
    let html = render_html(&realistic());
    assert!(html.contains(r#"<svg class="dag-svg" data-direction="down""#));
    let width: f64 = attr(&html, r#"<svg class="dag-svg""#, "width").parse().unwrap();
    assert!(width < 1400.0, "the DAG fits a page: {width}");
}

#[test]
fn rendering_is_deterministic() {
    assert_eq!(render_html(&realistic()), render_html(&realistic()));
}

fn degenerate() -> RunView {
    RunView {
        run_id: String::new(),
        pipeline: "odd & \"quoted\"".into(),
        status: "\u{0}weird\u{7}".into(),
        started_ms: i64::MIN,
        duration_ms: f64::NAN,
        nodes: vec![
            NodeView::step("zero", "ran", 0.0, 0.0),
            NodeView::step("nan", "failed", f64::NAN, f64::NAN),
            NodeView::step("infinite", "ran", f64::INFINITY, f64::NEG_INFINITY),
            NodeView::step("negative", "cached", -5.0, -1.0),
            NodeView::step("huge", "running", 1e300, 1e300),
            NodeView::step("", "who knows", 0.0, 0.0),
            NodeView { kind: NodeKind::Param, ..NodeView::step("param with inputs", "param", 0.0, 0.0) },
            NodeView::param("p".repeat(500)),
        ],
        edges: vec![(1, 0), (0, 0), (0, 6), (6, 7), (7, 2), (2, 2), (usize::MAX, 0), (0, usize::MAX)],
        params: vec![(String::new(), String::new())],
        metrics: vec![
            MetricView::scalar("zero", "nan", f64::NAN),
            MetricView::scalar("", "inf", f64::INFINITY),
            MetricView::scalar("zero", "big", 1e308),
            MetricView::series("zero", "flat", 3, 2.0),
            MetricView::series("zero", "flat", 3, 2.0),
            MetricView::series("zero", "all nan", 1, f64::NAN),
            MetricView::series("zero", "extreme", i64::MIN, f64::MAX),
            MetricView::series("zero", "extreme", i64::MAX, -f64::MAX),
        ],
        classifiers: vec![
            ClassifierView {
                name: "one point".into(),
                roc: vec![(0.5, 0.7)],
                auc: f64::NAN,
                confusion: [[0; 2]; 2],
            },
            ClassifierView { name: "none".into(), roc: vec![], auc: 0.5, confusion: [[u64::MAX; 2]; 2] },
            ClassifierView {
                name: "wild".into(),
                roc: vec![(f64::NAN, 0.1), (-3.0, 9.0), (f64::INFINITY, 0.5), (2.0, 2.0)],
                auc: f64::INFINITY,
                confusion: [[1, 0], [0, 0]],
            },
        ],
        studies: vec![
            StudyView {
                name: "<b>odd</b>".into(),
                metric: String::new(),
                params: vec!["c".into(), "kernel".into()],
                trials: vec![
                    TrialView {
                        name: "nan".into(),
                        params: vec![Some(ParamValue::Float(f64::NAN)), None],
                        mean: f64::NAN,
                        std: f64::NAN,
                        rank: 1,
                        pruned: false,
                    },
                    TrialView {
                        name: "huge".into(),
                        params: vec![Some(ParamValue::Float(1e300)), Some(ParamValue::Text("<rbf>".into()))],
                        mean: f64::MAX,
                        std: f64::INFINITY,
                        rank: 1,
                        pruned: false,
                    },
                    TrialView {
                        name: "tiny".into(),
                        params: vec![Some(ParamValue::Float(1e-300)), Some(ParamValue::Bool(true))],
                        mean: -f64::MAX,
                        std: 0.0,
                        rank: 2,
                        pruned: true,
                    },
                    TrialView { name: "short".into(), ..TrialView::default() },
                ],
                importance: vec![("c".into(), f64::NAN), ("kernel".into(), 7.0)],
                higher_is_better: false,
            },
            StudyView::default(),
        ],
        environment: vec![("".into(), "\n".into())],
    }
}

#[test]
fn a_study_is_drawn_as_history_parallel_coordinates_importance_and_a_table() {
    let view = realistic();
    let html = render_html(&view);
    let section = &html[html.find(r#"<section id="studies">"#).unwrap()..];
    let section = &section[..section.find("</section>").unwrap()];
    let study = &view.studies[0];
    let scored = study.trials.iter().filter(|t| t.mean.is_finite()).count();
    assert_eq!(scored, 11);
    assert_eq!(section.matches(r#"<circle class="trial-dot""#).count(), scored, "one dot per scored trial");
    assert_eq!(section.matches(r#"<polyline class="trial-line""#).count(), scored);
    assert_eq!(
        section.matches(r#"<g class="axis">"#).count(),
        study.params.len() + 1,
        "one axis per param and the score"
    );
    assert_eq!(section.matches(r#"<g class="importance-bar">"#).count(), 3);
    assert!(section.contains(r#"<polyline class="best-line""#));
    // The best trial is the widest line and the first row.
    let best = study.trials.iter().filter(|t| t.rank == 1).map(|t| t.name.as_str()).collect::<Vec<_>>();
    assert_eq!(best, ["forest #10 (max_depth=12, min_samples_leaf=5, criterion=gini)"]);
    assert!(section.contains(&format!(r#"stroke-width="3"><title>{}"#, best[0])));
    let rows = &section[section.find("<tbody>").unwrap()..];
    assert!(rows.find(best[0]).unwrap() < rows.find("forest #0 ").unwrap());
    assert!(section.contains(">pruned</td>") && section.contains("1 pruned"));
    // Categorical axes label their values; numeric ones their range.
    assert!(section.contains(">entropy</text>") && section.contains(">gini</text>"));
    assert!(html.contains(r##"<a href="#studies">Studies</a>"##));
    assert!(!render_html(&RunView::default()).contains(r#"id="studies""#), "no study, no section");
}

#[test]
fn odd_input_neither_panics_nor_writes_non_finite_numbers() {
    let html = render_html(&degenerate());
    assert_svg_numbers_finite(&html);
    assert!(html.contains("odd &amp; &quot;quoted&quot;"));
    assert!(!html.contains('\u{0}') && !html.contains('\u{7}'));
    // The one-point ROC is completed to (0,0) -> point -> (1,1); the point-less one is only named.
    assert_eq!(html.matches(r#"<polyline class="roc-curve""#).count(), 2);
    assert!(html.contains("none — 0.5 (no ROC points)"));
    assert!(html.contains("<td class=\"num\">NaN</td>"));
    assert!(html.contains("no finite values"));
    assert!(html.contains("&lt;b&gt;odd&lt;/b&gt;") && html.contains("&lt;rbf&gt;"));
    assert!(html.contains("too few scored trials"), "the empty study says why it has no bars");
    let polyline = attr(&html, r#"class="roc-curve" data-classifier="0""#, "points");
    assert_eq!(polyline.split(' ').count(), 3, "{polyline}");
}

#[test]
fn an_empty_run_still_has_every_section() {
    let html = render_html(&RunView::default());
    for id in ["summary", "dag", "timeline", "roc", "metrics", "params", "steps", "environment"] {
        assert!(html.contains(&format!(r#"id="{id}""#)), "section {id}");
    }
    assert!(!html.contains(r#"id="errors""#));
    assert!(html.contains("this run has no steps"));
    assert!(html.contains("no classifiers were evaluated"));
    assert_svg_numbers_finite(&html);
}

#[test]
fn a_large_pipeline_renders_quickly_with_finite_numbers() {
    // 400 steps, each fed by up to three earlier ones: a wide, deep DAG.
    let mut nodes = Vec::new();
    let mut edges = Vec::new();
    for i in 0..400usize {
        let status = ["ran", "cached", "failed", "skipped"][i % 4];
        nodes.push(NodeView::step(format!("step_{i}"), status, i as f64, 1.0 + (i % 7) as f64));
        for d in [1, 7, 31] {
            if i >= d && (i * d) % 3 != 0 {
                edges.push((i - d, i));
            }
        }
    }
    let view = RunView { nodes, edges: edges.clone(), duration_ms: 450.0, ..RunView::default() };
    let started = std::time::Instant::now();
    let html = render_html(&view);
    assert!(started.elapsed().as_secs_f64() < 5.0);
    assert_eq!(html.matches(r#"<path class="edge"#).count(), edges.len());
    assert_svg_numbers_finite(&html);
}

#[test]
fn a_mapped_step_shows_its_task_counts_in_the_steps_table() {
    use mlflow::prelude::*;

    #[step]
    fn halve(x: &u64) -> Result<u64, std::io::Error> {
        match x % 2 {
            0 => Ok(x / 2),
            _ => Err(std::io::Error::other(format!("{x} is odd"))),
        }
    }

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut p = Pipeline::new("mapped");
    let xs = p.param("xs", vec![2u64, 3, 4]);
    p.map(HalveStep, xs);
    let report = p.run(&store).unwrap();
    let view = RunView::from_run(&store, report.run_id()).unwrap();
    let node = view.nodes.iter().find(|n| n.name == "halve").unwrap();
    let tasks = node.tasks.as_ref().expect("recorded with the run");
    assert_eq!((tasks.total, tasks.ran, tasks.failed.len()), (3, 2, 1));
    assert_eq!(tasks.failed[0].index, 1);
    assert!(tasks.failed[0].error.contains("3 is odd"));
    let html = render_html(&view);
    assert!(html.contains(r#"<span class="muted">3 tasks: 2 ran, 0 cached, 1 failed</span>"#), "{html}");
}

#[test]
fn the_monitoring_report_draws_drift_features_performance_and_health() {
    use mlflow::report::{MonitoringView, render_monitoring_html};
    let view = monitoring();
    let html = render_monitoring_html(&view);
    for id in ["summary", "drift", "features", "performance", "health"] {
        assert_eq!(html.matches(&format!(r#"id="{id}""#)).count(), 1, "section {id}");
    }
    // Three drifting columns in three windows.
    assert_eq!(html.matches(r#"<td class="num drifted""#).count(), 9, "{html}");
    assert!(html.contains("<b>3</b><span>drifted</span>"), "three windows drifted");
    // Realized and estimated performance are separate series.
    for title in ["accuracy", "accuracy (estimated)", "f1", "f1 (estimated)"] {
        assert!(html.contains(&format!("<h3>{title}</h3>")), "{title}");
    }
    // The health table's failed column: count and rate per window.
    assert!(html.contains("<th class=\"num\">failed</th>"), "{html}");
    assert!(html.contains(r#"<td class="num">2 (0.1961%)</td>"#), "{html}");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !html.contains(EVIL));
    assert_svg_numbers_finite(&html);
    let empty = render_monitoring_html(&MonitoringView { model: "m".into(), ..MonitoringView::default() });
    assert!(empty.contains("no window had its drift measured") && empty.contains("no labels joined"));
}
