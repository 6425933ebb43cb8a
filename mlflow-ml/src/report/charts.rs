//! The inline SVG pictures: DAG, timeline, ROC curves, metric series.
//!
//! Every number written into an attribute goes through [`num`] (finite, clamped); every piece of
//! text goes through [`esc`]. Every picture has a `<title>` for screen readers and tooltips.

use std::fmt::Write as _;

use super::fmt::{duration, esc, nice_step, num, tick, trimmed, truncate, value};
use super::layout::{Sizes, layout};
use super::{ClassifierView, MetricView, NodeKind, NodeView, RunView, look};

/// Colours of the classifiers' curves (Okabe-Ito, readable by colour-blind people), in turn.
pub(super) const PALETTE: [&str; 8] =
    ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#444444", "#a6761d"];

const NAME_CHARS: usize = 30;

/// What a node's second line says.
fn node_subtitle(view: &RunView, node: &NodeView) -> String {
    if node.kind == NodeKind::Param {
        return match view.params.iter().find(|(name, _)| *name == node.name) {
            Some((_, v)) => truncate(v, 24),
            None => "param".into(),
        };
    }
    let class = look(node.kind, &node.status).class;
    let status = truncate(node.status.trim(), 12);
    match class {
        "ran" | "failed" | "running" => {
            let mut s = format!("{status} · {}", duration(node.duration_ms));
            if node.attempts > 1 {
                let _ = write!(s, " · ×{}", node.attempts);
            }
            s
        }
        _ => status,
    }
}

/// The tooltip of a step or param: everything known about it, one fact a line.
fn node_tooltip(node: &NodeView) -> String {
    let mut t = node.name.clone();
    if node.kind == NodeKind::Param {
        t.push_str("\nparam");
        return t;
    }
    let _ = write!(t, "\nstatus: {}", node.status);
    let class = look(node.kind, &node.status).class;
    if matches!(class, "ran" | "failed" | "running" | "cached") {
        let _ = write!(t, "\nstarted +{}, took {}", duration(node.start_ms), duration(node.duration_ms));
    }
    if node.attempts > 0 {
        let _ = write!(t, "\nattempts: {}", node.attempts);
    }
    if let Some(reason) = &node.miss_reason {
        let _ = write!(t, "\ncache miss: {}", truncate(reason, 200));
    }
    if let Some(error) = &node.error {
        let _ = write!(t, "\nerror: {}", truncate(error, 300));
    }
    t
}

const NODE_H: f64 = 46.0;
const GAP_X: f64 = 64.0;
const GAP_Y: f64 = 16.0;
const MARGIN: f64 = 16.0;
/// Gaps between boxes when the DAG is drawn top to bottom.
const DOWN_GAP_X: f64 = 22.0;
const DOWN_GAP_Y: f64 = 40.0;
/// The widest a DAG is drawn left to right (the page's width); wider ones are turned top to
/// bottom when that is narrower.
const MAX_WIDTH: f64 = 1160.0;

/// The DAG: one box per node in its layer, edges as curves with arrowheads (see [`layout`] for
/// how boxes are placed). Layers go left to right, or top to bottom when a deep pipeline would
/// not fit the page's width that way.
pub(super) fn dag(out: &mut String, view: &RunView) {
    let nodes = &view.nodes;
    let subtitles: Vec<String> = nodes.iter().map(|n| node_subtitle(view, n)).collect();
    let widest = nodes
        .iter()
        .zip(&subtitles)
        .map(|(n, s)| {
            let name = truncate(&n.name, NAME_CHARS).chars().count() as f64 * 7.4;
            let sub = s.chars().count() as f64 * 6.4;
            name.max(sub)
        })
        .fold(80.0, f64::max);
    let w = widest + 24.0;

    // Left to right when that fits the page; otherwise top to bottom when that is narrower.
    let right = layout(nodes, &view.edges, Sizes { node: NODE_H, lane: 6.0, gap: GAP_Y });
    let layers = right.layers.max(1) as f64;
    let right_width = 2.0 * MARGIN + layers * w + (layers - 1.0) * GAP_X;
    let mut down = false;
    let mut lay = right;
    if right_width > MAX_WIDTH {
        let turned = layout(nodes, &view.edges, Sizes { node: w, lane: 10.0, gap: DOWN_GAP_X });
        if 2.0 * MARGIN + turned.extent < right_width {
            (lay, down) = (turned, true);
        }
    }
    // u: across layers; v: along a layer. depth: a box's size in u, breadth in v.
    let (depth, breadth, layer_gap) = if down { (NODE_H, w, DOWN_GAP_Y) } else { (w, NODE_H, GAP_X) };
    let u0 = |l: usize| MARGIN + l as f64 * (depth + layer_gap);
    let xy = |u: f64, v: f64| if down { (v, u) } else { (u, v) };
    let pt = |u: f64, v: f64| {
        let (x, y) = xy(u, v);
        format!("{} {}", num(x), num(y))
    };
    let backward = lay.edges.iter().any(|e| lay.layer[e.from] >= lay.layer[e.to]);
    let loops = if backward { 40.0 } else { 0.0 };
    let span_u = 2.0 * MARGIN + layers * depth + (layers - 1.0) * layer_gap;
    let span_v = 2.0 * MARGIN + lay.extent + loops;
    let (width, height) = xy(span_u, span_v);
    let centre = |i: usize| MARGIN + lay.along[i];

    let steps = nodes.iter().filter(|n| n.kind == NodeKind::Step).count();
    let _ = write!(
        out,
        r##"<svg class="dag-svg" data-direction="{dir}" width="{w_}" height="{h_}" viewBox="0 0 {w_} {h_}"{fit} role="img" aria-labelledby="dag-title">
<title id="dag-title">Pipeline DAG: {steps} steps, {params} params, {edges} edges</title>
<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#8a94a6"/></marker></defs>
<g class="edges">
"##,
        dir = if down { "down" } else { "right" },
        // A little too wide: shrink to the page (a lot too wide: the page scrolls sideways).
        fit = if width > MAX_WIDTH && width * 0.75 <= MAX_WIDTH {
            r#" style="max-width:100%;height:auto""#
        } else {
            ""
        },
        w_ = num(width),
        h_ = num(height),
        params = nodes.len() - steps,
        edges = lay.edges.len(),
    );
    for edge in &lay.edges {
        let (a, b) = (edge.from, edge.to);
        let (la, lb) = (lay.layer[a], lay.layer[b]);
        let path = if la < lb {
            // Out of a, through its lane in each layer in between (straight), into b; curves between.
            let mut points = vec![(u0(la) + depth, centre(a))];
            for &(l, v) in &edge.via {
                points.push((u0(l), MARGIN + v));
                points.push((u0(l) + depth, MARGIN + v));
            }
            points.push((u0(lb) - 1.5, centre(b)));
            let mut d = format!("M{}", pt(points[0].0, points[0].1));
            for (k, pair) in points.windows(2).enumerate() {
                let ((u1, v1), (u2, v2)) = (pair[0], pair[1]);
                if k % 2 == 0 {
                    let du = (u2 - u1) / 2.0;
                    let _ = write!(d, " C{} {} {}", pt(u1 + du, v1), pt(u2 - du, v2), pt(u2, v2));
                } else {
                    let _ = write!(d, " L{}", pt(u2, v2));
                }
            }
            d
        } else {
            // An edge against the layer order (only with invalid input): a loop beside the boxes.
            let (u1, v1) = (u0(la) + depth / 2.0, centre(a) + breadth / 2.0);
            let (u2, v2) = (u0(lb) + depth / 2.0 + 6.0, centre(b) + breadth / 2.0 + 1.5);
            let side = v1.max(v2) + 36.0;
            format!("M{} C{} {} {}", pt(u1, v1), pt(u1, side), pt(u2, side), pt(u2, v2))
        };
        let dead = matches!(look(nodes[b].kind, &nodes[b].status).class, "skipped");
        let _ = writeln!(
            out,
            r##"<path class="edge{}" d="{path}" fill="none" stroke="#8a94a6" stroke-width="1.4"{} marker-end="url(#arrow)"><title>{} → {}</title></path>"##,
            if dead { " dead" } else { "" },
            if dead { r#" stroke-dasharray="4 3""# } else { "" },
            esc(&nodes[a].name),
            esc(&nodes[b].name),
        );
    }
    let at = |i: usize| xy(u0(lay.layer[i]), centre(i) - breadth / 2.0);
    out.push_str("</g>\n<g class=\"nodes\">\n");
    for (i, node) in nodes.iter().enumerate() {
        let lk = look(node.kind, &node.status);
        let kind = if node.kind == NodeKind::Param { "param" } else { "step" };
        let rx = if node.kind == NodeKind::Param { NODE_H / 2.0 } else { 7.0 };
        let dash = match lk.class {
            "skipped" | "param" => r#" stroke-dasharray="5 3""#,
            _ => "",
        };
        let (bx, by) = at(i);
        let name_weight = if node.kind == NodeKind::Param { "500" } else { "600" };
        let _ = writeln!(
            out,
            r##"<g class="node {kind} {class}" id="node-{i}" data-node="{i}"><title>{tip}</title><rect x="{x_}" y="{y_}" width="{w_}" height="{h_}" rx="{rx}" fill="{fill}" stroke="{stroke}" stroke-width="1.6"{dash}/><text x="{cx}" y="{ty1}" text-anchor="middle" font-size="12.5" font-weight="{name_weight}" fill="#1f2328">{name}</text><text x="{cx}" y="{ty2}" text-anchor="middle" font-size="11" fill="{stroke}">{sub}</text></g>"##,
            class = lk.class,
            tip = esc(&node_tooltip(node)),
            x_ = num(bx),
            y_ = num(by),
            w_ = num(w),
            h_ = num(NODE_H),
            rx = num(rx),
            fill = lk.fill,
            stroke = lk.stroke,
            cx = num(bx + w / 2.0),
            ty1 = num(by + 19.0),
            ty2 = num(by + 35.0),
            name = esc(&truncate(&node.name, NAME_CHARS)),
            sub = esc(&subtitles[i]),
        );
    }
    out.push_str("</g>\n</svg>\n");
}

const LABEL_W: f64 = 220.0;
const PLOT_W: f64 = 820.0;
const ROW_H: f64 = 24.0;
const AXIS_H: f64 = 26.0;
const RIGHT: f64 = 110.0;

/// The timeline: one row per step, a bar from its start offset for its duration.
pub(super) fn timeline(out: &mut String, view: &RunView) {
    let mut steps: Vec<(usize, &NodeView)> =
        view.nodes.iter().enumerate().filter(|(_, n)| n.kind == NodeKind::Step).collect();
    let start = |n: &NodeView| if n.start_ms.is_finite() { n.start_ms.max(0.0) } else { 0.0 };
    let dur = |n: &NodeView| if n.duration_ms.is_finite() { n.duration_ms.max(0.0) } else { 0.0 };
    let ran = |n: &NodeView| !matches!(look(n.kind, &n.status).class, "skipped");
    // Steps that never ran go last, keeping pipeline order.
    steps.sort_by(|a, b| (!ran(a.1)).cmp(&!ran(b.1)).then(start(a.1).total_cmp(&start(b.1))));
    let end = steps.iter().filter(|(_, n)| ran(n)).map(|(_, n)| start(n) + dur(n)).fold(0.0, f64::max);
    let mut total = if view.duration_ms.is_finite() { view.duration_ms.max(end) } else { end };
    if !total.is_finite() || total <= 0.0 {
        total = 1.0;
    }
    let width = LABEL_W + PLOT_W + RIGHT;
    let height = AXIS_H + steps.len().max(1) as f64 * ROW_H + 8.0;
    let xt = |t: f64| LABEL_W + (t / total).clamp(0.0, 1.0) * PLOT_W;
    let _ = writeln!(
        out,
        r#"<svg class="timeline-svg" width="{w_}" height="{h_}" viewBox="0 0 {w_} {h_}" role="img" aria-labelledby="timeline-title">
<title id="timeline-title">Timeline: {n} steps over {total_}</title>"#,
        w_ = num(width),
        h_ = num(height),
        n = steps.len(),
        total_ = esc(&duration(total)),
    );
    for r in (0..steps.len()).step_by(2) {
        let _ = writeln!(
            out,
            r##"<rect x="0" y="{}" width="{}" height="{}" fill="#f6f8fa"/>"##,
            num(AXIS_H + r as f64 * ROW_H),
            num(width),
            num(ROW_H)
        );
    }
    let step = nice_step(total / 8.0);
    out.push_str("<g class=\"axis\">\n");
    for k in 0..=40u32 {
        let t = f64::from(k) * step;
        if t > total * 1.0001 {
            break;
        }
        let xx = xt(t);
        let _ = writeln!(
            out,
            r##"<line x1="{x_}" y1="{y1}" x2="{x_}" y2="{y2}" stroke="#d0d7de" stroke-width="1"/><text x="{x_}" y="16" text-anchor="middle" font-size="11" fill="#57606a">{label}</text>"##,
            x_ = num(xx),
            y1 = num(AXIS_H - 4.0),
            y2 = num(height - 4.0),
            label = esc(&tick(t, total)),
        );
    }
    out.push_str("</g>\n");
    if steps.is_empty() {
        let _ = writeln!(
            out,
            r##"<text x="{}" y="{}" font-size="12" fill="#57606a">no steps</text>"##,
            num(LABEL_W + 8.0),
            num(AXIS_H + 16.0)
        );
    }
    for (r, &(i, node)) in steps.iter().enumerate() {
        let lk = look(node.kind, &node.status);
        let top = AXIS_H + r as f64 * ROW_H;
        let mid = top + ROW_H / 2.0;
        let _ = write!(
            out,
            r##"<g class="bar {class}" data-node="{i}"><title>{tip}</title><text x="{lx}" y="{ty}" text-anchor="end" font-size="12" fill="#1f2328">{name}</text>"##,
            class = lk.class,
            tip = esc(&node_tooltip(node)),
            lx = num(LABEL_W - 10.0),
            ty = num(mid + 4.0),
            name = esc(&truncate(&node.name, 30)),
        );
        if ran(node) {
            let bar_h = if lk.class == "cached" { 6.0 } else { 14.0 };
            let x0 = xt(start(node));
            let x1 = xt(start(node) + dur(node)).max(x0 + 2.0);
            let mut label = if lk.class == "cached" { "cached".to_string() } else { duration(dur(node)) };
            if node.attempts > 1 {
                let _ = write!(label, " · ×{}", node.attempts);
            }
            let _ = write!(
                out,
                r##"<rect x="{x_}" y="{y_}" width="{w_}" height="{h_}" rx="2" fill="{fill}"/><text x="{tx}" y="{ty}" font-size="11" fill="#57606a">{label}</text>"##,
                x_ = num(x0),
                y_ = num(mid - bar_h / 2.0),
                w_ = num(x1 - x0),
                h_ = num(bar_h),
                fill = lk.stroke,
                tx = num(x1 + 5.0),
                ty = num(mid + 4.0),
                label = esc(&label),
            );
        } else {
            let _ = write!(
                out,
                r##"<text x="{}" y="{}" font-size="11" font-style="italic" fill="#8c959f">{} (did not run)</text>"##,
                num(LABEL_W + 6.0),
                num(mid + 4.0),
                esc(&truncate(node.status.trim(), 12)),
            );
        }
        out.push_str("</g>\n");
    }
    out.push_str("</svg>\n");
}

const ROC_L: f64 = 56.0;
const ROC_T: f64 = 14.0;
const ROC_P: f64 = 360.0;
const ROC_B: f64 = 48.0;
const LEGEND_W: f64 = 300.0;

/// The ROC curve points of one classifier as plot coordinates: non-finite points dropped, values
/// clamped to [0, 1], and the curve's ends (0, 0) and (1, 1) added when missing.
fn roc_points(c: &ClassifierView) -> Vec<(f64, f64)> {
    let mut pts: Vec<(f64, f64)> = c
        .roc
        .iter()
        .filter(|(f, t)| f.is_finite() && t.is_finite())
        .map(|&(f, t)| (f.clamp(0.0, 1.0), t.clamp(0.0, 1.0)))
        .collect();
    if pts.is_empty() {
        return pts;
    }
    if pts.first() != Some(&(0.0, 0.0)) {
        pts.insert(0, (0.0, 0.0));
    }
    if pts.last() != Some(&(1.0, 1.0)) {
        pts.push((1.0, 1.0));
    }
    pts
}

/// Every classifier's ROC curve on one chart, with the chance diagonal and a legend with AUCs.
pub(super) fn roc(out: &mut String, classifiers: &[ClassifierView]) {
    let legend_h = ROC_T + 24.0 * (classifiers.len() + 1) as f64 + 16.0;
    let width = ROC_L + ROC_P + 28.0 + LEGEND_W;
    let height = (ROC_T + ROC_P + ROC_B).max(legend_h);
    let px = |f: f64| ROC_L + f * ROC_P;
    let py = |t: f64| ROC_T + (1.0 - t) * ROC_P;
    let _ = writeln!(
        out,
        r##"<svg class="roc-svg" width="{w_}" height="{h_}" viewBox="0 0 {w_} {h_}" role="img" aria-labelledby="roc-title">
<title id="roc-title">ROC curves of {n} classifiers</title>
<rect class="plot-area" x="{x_}" y="{y_}" width="{p_}" height="{p_}" fill="#ffffff" stroke="#8c959f" stroke-width="1"/>"##,
        w_ = num(width),
        h_ = num(height),
        n = classifiers.len(),
        x_ = num(ROC_L),
        y_ = num(ROC_T),
        p_ = num(ROC_P),
    );
    for k in 0..=5u32 {
        let v = f64::from(k) / 5.0;
        let label = trimmed(v, 1);
        if k > 0 && k < 5 {
            let _ = writeln!(
                out,
                r##"<line x1="{a}" y1="{t}" x2="{a}" y2="{b}" stroke="#eaeef2"/><line x1="{l}" y1="{c}" x2="{r}" y2="{c}" stroke="#eaeef2"/>"##,
                a = num(px(v)),
                t = num(ROC_T),
                b = num(ROC_T + ROC_P),
                l = num(ROC_L),
                r = num(ROC_L + ROC_P),
                c = num(py(v)),
            );
        }
        let _ = writeln!(
            out,
            r##"<text x="{}" y="{}" text-anchor="middle" font-size="11" fill="#57606a">{label}</text><text x="{}" y="{}" text-anchor="end" font-size="11" fill="#57606a">{label}</text>"##,
            num(px(v)),
            num(ROC_T + ROC_P + 16.0),
            num(ROC_L - 6.0),
            num(py(v) + 4.0),
        );
    }
    let _ = writeln!(
        out,
        r##"<text x="{}" y="{}" text-anchor="middle" font-size="12" fill="#1f2328">False positive rate</text><text transform="translate({} {}) rotate(-90)" text-anchor="middle" font-size="12" fill="#1f2328">True positive rate</text>
<line class="chance" x1="{}" y1="{}" x2="{}" y2="{}" stroke="#8c959f" stroke-width="1.2" stroke-dasharray="5 4"><title>chance (AUC 0.5)</title></line>"##,
        num(px(0.5)),
        num(ROC_T + ROC_P + 38.0),
        num(16.0),
        num(py(0.5)),
        num(px(0.0)),
        num(py(0.0)),
        num(px(1.0)),
        num(py(1.0)),
    );
    for (k, c) in classifiers.iter().enumerate() {
        let pts = roc_points(c);
        if pts.is_empty() {
            continue;
        }
        let points: Vec<String> =
            pts.iter().map(|&(f, t)| format!("{},{}", num(px(f)), num(py(t)))).collect();
        let _ = writeln!(
            out,
            r#"<polyline class="roc-curve" data-classifier="{k}" points="{}" fill="none" stroke="{}" stroke-width="2.2" stroke-linejoin="round"><title>{}: AUC {}</title></polyline>"#,
            points.join(" "),
            PALETTE[k % PALETTE.len()],
            esc(&c.name),
            esc(&value(c.auc)),
        );
    }
    let lx = ROC_L + ROC_P + 28.0;
    let _ = writeln!(
        out,
        r##"<g class="legend"><text x="{}" y="{}" font-size="12" font-weight="600" fill="#1f2328">classifier — AUC</text>"##,
        num(lx),
        num(ROC_T + 10.0)
    );
    for (k, c) in classifiers.iter().enumerate() {
        let yy = ROC_T + 10.0 + 24.0 * (k + 1) as f64;
        let missing = if roc_points(c).is_empty() { " (no ROC points)" } else { "" };
        let _ = writeln!(
            out,
            r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="3"/><text x="{}" y="{}" font-size="12" fill="#1f2328">{} — {}{}</text>"##,
            num(lx),
            num(yy - 4.0),
            num(lx + 22.0),
            num(yy - 4.0),
            PALETTE[k % PALETTE.len()],
            num(lx + 30.0),
            num(yy),
            esc(&truncate(&c.name, 26)),
            esc(&value(c.auc)),
            missing,
        );
    }
    let yy = ROC_T + 10.0 + 24.0 * (classifiers.len() + 1) as f64;
    let _ = writeln!(
        out,
        r##"<line x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="#8c959f" stroke-width="1.2" stroke-dasharray="5 4"/><text x="{}" y="{}" font-size="12" fill="#57606a">chance — 0.5</text></g>"##,
        num(lx),
        num(lx + 22.0),
        num(lx + 30.0),
        num(yy),
        y = num(yy - 4.0),
    );
    out.push_str("</svg>\n");
}

const SER_W: f64 = 340.0;
const SER_H: f64 = 190.0;
const SER_L: f64 = 58.0;
const SER_R: f64 = 14.0;
const SER_T: f64 = 12.0;
const SER_B: f64 = 34.0;
/// Points drawn as dots (the line always has every point).
const MAX_DOTS: usize = 200;

/// A small line chart of one metric series (points sorted by index; non-finite values left out).
pub(super) fn series(out: &mut String, id: usize, title: &str, points: &[&MetricView]) {
    let mut pts: Vec<(i64, f64)> =
        points.iter().filter_map(|m| Some((m.index?, m.value))).filter(|(_, v)| v.is_finite()).collect();
    pts.sort_by_key(|&(i, _)| i);
    let _ = writeln!(
        out,
        r##"<svg class="series-svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-labelledby="series-title-{id}">
<title id="series-title-{id}">{t}: {n} points</title>
<rect x="{l}" y="{tp}" width="{pw}" height="{ph}" fill="#ffffff" stroke="#8c959f"/>"##,
        w = num(SER_W),
        h = num(SER_H),
        t = esc(title),
        n = pts.len(),
        l = num(SER_L),
        tp = num(SER_T),
        pw = num(SER_W - SER_L - SER_R),
        ph = num(SER_H - SER_T - SER_B),
    );
    let (Some(&(i0, _)), Some(&(i1, _))) = (pts.first(), pts.last()) else {
        let _ = writeln!(
            out,
            r##"<text x="{}" y="{}" text-anchor="middle" font-size="12" fill="#57606a">no finite values</text></svg>"##,
            num(SER_W / 2.0),
            num(SER_H / 2.0)
        );
        return;
    };
    let (lo, hi) =
        pts.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &(_, v)| (l.min(v), h.max(v)));
    let (x_lo, x_hi) = (i0 as f64, i1 as f64);
    let span_x = if x_hi > x_lo { x_hi - x_lo } else { 0.0 };
    let pw = SER_W - SER_L - SER_R;
    let ph = SER_H - SER_T - SER_B;
    let px = |i: i64| if span_x > 0.0 { SER_L + (i as f64 - x_lo) / span_x * pw } else { SER_L + pw / 2.0 };
    // Halved, so that the differences of finite values cannot overflow; a flat series sits in the middle.
    let py = |v: f64| {
        let t = if hi > lo { (v / 2.0 - lo / 2.0) / (hi / 2.0 - lo / 2.0) } else { 0.5 };
        SER_T + (1.0 - t.clamp(0.0, 1.0)) * ph
    };
    let coords: Vec<String> = pts.iter().map(|&(i, v)| format!("{},{}", num(px(i)), num(py(v)))).collect();
    let _ = writeln!(
        out,
        r##"<text x="{}" y="{}" text-anchor="end" font-size="10.5" fill="#57606a">{}</text><text x="{}" y="{}" text-anchor="end" font-size="10.5" fill="#57606a">{}</text>
<text x="{}" y="{}" text-anchor="start" font-size="10.5" fill="#57606a">{}</text><text x="{}" y="{}" text-anchor="end" font-size="10.5" fill="#57606a">{}</text>
<text x="{}" y="{}" text-anchor="middle" font-size="10.5" fill="#57606a">index</text>
<polyline class="series-line" points="{}" fill="none" stroke="#0072b2" stroke-width="2"/>"##,
        num(SER_L - 5.0),
        num(SER_T + 9.0),
        esc(&value(hi)),
        num(SER_L - 5.0),
        num(SER_T + ph),
        esc(&value(lo)),
        num(SER_L),
        num(SER_T + ph + 14.0),
        i0,
        num(SER_L + pw),
        num(SER_T + ph + 14.0),
        i1,
        num(SER_L + pw / 2.0),
        num(SER_T + ph + 28.0),
        coords.join(" "),
    );
    for &(i, v) in pts.iter().take(MAX_DOTS) {
        let _ = writeln!(
            out,
            r##"<circle cx="{}" cy="{}" r="3" fill="#0072b2"><title>{i}: {}</title></circle>"##,
            num(px(i)),
            num(py(v)),
            esc(&value(v)),
        );
    }
    out.push_str("</svg>\n");
}
