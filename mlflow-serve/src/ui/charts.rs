//! The compare page's overlaid charts: each metric series with one line per run, and the ROC
//! curves of each step that logged them (`roc.fpr` / `roc.tpr`). Plain SVG markup with
//! presentation attributes (no inline style or script), so it passes the strict policy.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use mlflow_core::track::RunRecord;

use super::html::escape;

/// Line colours by run (Okabe and Ito's palette, told apart by most colour-blind readers).
pub(super) const COLORS: [&str; 8] =
    ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000", "#999999"];
/// At most this many charts, and points per line (longer series are thinned evenly).
const MAX_CHARTS: usize = 12;
const MAX_POINTS: usize = 1000;
const ROC_FPR: &str = "roc.fpr";
const ROC_TPR: &str = "roc.tpr";

/// One chart: lines of `(run index, points)`.
pub(super) struct Chart {
    title: String,
    x_label: &'static str,
    y_label: String,
    /// A ROC chart: both axes 0 to 1, with the diagonal.
    roc: bool,
    lines: Vec<(usize, Vec<(f64, f64)>)>,
}

/// The charts of `runs`: ROC curves first, then every other metric series.
pub(super) fn charts(runs: &[RunRecord]) -> Vec<Chart> {
    // (node, key) → per run, step → value.
    let mut series: BTreeMap<(String, String), Vec<BTreeMap<u64, f64>>> = BTreeMap::new();
    for (i, run) in runs.iter().enumerate() {
        for (node, m) in &run.metrics {
            if let Some(step) = m.step
                && m.value.is_finite()
            {
                let per_run = series
                    .entry((node.clone(), m.key.clone()))
                    .or_insert_with(|| vec![BTreeMap::new(); runs.len()]);
                per_run[i].insert(step, m.value);
            }
        }
    }
    let mut out = Vec::new();
    let nodes: Vec<String> = series.keys().filter(|(_, k)| k == ROC_FPR).map(|(n, _)| n.clone()).collect();
    for node in nodes {
        let (Some(fpr), Some(tpr)) = (
            series.get(&(node.clone(), ROC_FPR.to_owned())),
            series.get(&(node.clone(), ROC_TPR.to_owned())),
        ) else {
            continue;
        };
        let lines = (0..runs.len())
            .map(|i| {
                (i, fpr[i].iter().filter_map(|(s, x)| tpr[i].get(s).map(|y| (*x, *y))).collect::<Vec<_>>())
            })
            .filter(|(_, points)| !points.is_empty())
            .collect();
        out.push(Chart {
            title: format!("ROC of {node}"),
            x_label: "false positive rate",
            y_label: "true positive rate".into(),
            roc: true,
            lines,
        });
    }
    for ((node, key), per_run) in &series {
        if key == ROC_FPR || key == ROC_TPR {
            continue;
        }
        let lines = per_run
            .iter()
            .enumerate()
            .filter(|(_, points)| !points.is_empty())
            .map(|(i, points)| (i, points.iter().map(|(s, v)| (*s as f64, *v)).collect()))
            .collect();
        out.push(Chart {
            title: format!("{node}.{key}"),
            x_label: "step",
            y_label: key.clone(),
            roc: false,
            lines,
        });
    }
    out.truncate(MAX_CHARTS);
    for chart in &mut out {
        for (_, points) in &mut chart.lines {
            if points.len() > MAX_POINTS {
                let stride = points.len().div_ceil(MAX_POINTS);
                let last = points[points.len() - 1];
                *points = points.iter().step_by(stride).copied().collect();
                points.push(last);
            }
        }
    }
    out
}

/// Draws `charts`, with a legend naming each run (`labels`, by run index).
pub(super) fn render(out: &mut String, charts: &[Chart], labels: &[String]) {
    if charts.is_empty() {
        out.push_str("<p>No metric series or ROC curves in these runs.</p>\n");
        return;
    }
    out.push_str("<p class=\"legend\">");
    for (i, label) in labels.iter().enumerate() {
        let _ = write!(
            out,
            r#"<span><svg width="14" height="14" aria-hidden="true"><rect width="14" height="14" fill="{}"/></svg> {}</span> "#,
            COLORS[i % COLORS.len()],
            escape(label)
        );
    }
    out.push_str("</p>\n<div class=\"charts\">\n");
    for chart in charts {
        render_chart(out, chart, labels);
    }
    out.push_str("</div>\n");
}

fn render_chart(out: &mut String, chart: &Chart, labels: &[String]) {
    const W: f64 = 420.0;
    const H: f64 = 260.0;
    const LEFT: f64 = 48.0;
    const BOTTOM: f64 = 36.0;
    const PAD: f64 = 10.0;
    let points = chart.lines.iter().flat_map(|(_, p)| p.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (x, y) in points {
        (x0, x1, y0, y1) = (x0.min(*x), x1.max(*x), y0.min(*y), y1.max(*y));
    }
    if chart.roc {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    if x0 > x1 {
        return;
    }
    if x1 - x0 < 1e-12 {
        (x0, x1) = (x0 - 0.5, x1 + 0.5);
    }
    if y1 - y0 < 1e-12 {
        (y0, y1) = (y0 - 0.5, y1 + 0.5);
    }
    let sx = |x: f64| LEFT + (x - x0) / (x1 - x0) * (W - LEFT - PAD);
    let sy = |y: f64| H - BOTTOM - (y - y0) / (y1 - y0) * (H - BOTTOM - PAD);
    let runs: Vec<&str> =
        chart.lines.iter().map(|(i, _)| labels.get(*i).map(String::as_str).unwrap_or("")).collect();
    let _ = write!(
        out,
        r##"<figure class="chart"><figcaption>{title}</figcaption>
<svg viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-label="{title}: {runs}">
<line x1="{LEFT}" y1="{yb}" x2="{xr}" y2="{yb}" stroke="#57606a"/><line x1="{LEFT}" y1="{PAD}" x2="{LEFT}" y2="{yb}" stroke="#57606a"/>
<text x="{LEFT}" y="{ylab}" font-size="11" fill="#24292f">{x0t}</text><text x="{xr}" y="{ylab}" font-size="11" text-anchor="end" fill="#24292f">{x1t}</text>
<text x="{xmid}" y="{ylab}" font-size="11" text-anchor="middle" fill="#57606a">{xl}</text>
<text x="{yt}" y="{yb}" font-size="11" text-anchor="end" fill="#24292f">{y0t}</text><text x="{yt}" y="{ytop}" font-size="11" text-anchor="end" fill="#24292f">{y1t}</text>
<text x="12" y="{ymid}" font-size="11" text-anchor="middle" fill="#57606a" transform="rotate(-90 12 {ymid})">{yl}</text>
"##,
        title = escape(&chart.title),
        runs = escape(&runs.join(", ")),
        yb = H - BOTTOM,
        xr = W - PAD,
        ylab = H - BOTTOM + 16.0,
        xmid = (LEFT + W - PAD) / 2.0,
        yt = LEFT - 4.0,
        ytop = PAD + 8.0,
        ymid = (H - BOTTOM + PAD) / 2.0,
        x0t = super::html::number(x0),
        x1t = super::html::number(x1),
        y0t = super::html::number(y0),
        y1t = super::html::number(y1),
        xl = chart.x_label,
        yl = escape(&chart.y_label),
    );
    if chart.roc {
        let _ = writeln!(
            out,
            r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#8c959f" stroke-dasharray="4 3"/>"##,
            sx(0.0),
            sy(0.0),
            sx(1.0),
            sy(1.0)
        );
    }
    for (i, points) in &chart.lines {
        let path: Vec<String> = points.iter().map(|(x, y)| format!("{:.1},{:.1}", sx(*x), sy(*y))).collect();
        let _ = writeln!(
            out,
            r#"<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>"#,
            COLORS[i % COLORS.len()],
            path.join(" ")
        );
    }
    out.push_str("</svg></figure>\n");
}
