//! Layered layout of the DAG (a small Sugiyama). Layers follow the data (left to right or top to
//! bottom, the drawing's choice); within a layer, nodes sit side by side "along" the layer.
//!
//! 1. **Edges**: only edges between existing, distinct nodes count; duplicates are dropped.
//! 2. **Layers**: nodes come in a topological order, so one pass gives each node
//!    `layer = 1 + max(layer of its inputs)` (0 without inputs). An edge that points backwards in
//!    that order (invalid input) is drawn but does not constrain the layers.
//! 3. **Params move on**: a param with no inputs is placed in the layer just before its earliest
//!    user, so a param used late does not stretch an edge across the whole picture.
//! 4. **Lanes for long edges**: an edge that spans several layers passes through a thin virtual
//!    node in each layer in between, so it gets its own lane instead of crossing boxes. All long
//!    edges from one node share its lane (drawn as a bundle that splits at the end). Past a budget
//!    of lanes (pathological DAGs), further long edges are drawn straight.
//! 5. **Order within a layer**: start in pipeline order, then a few sweeps forward and back that
//!    sort each layer by the mean rank of its neighbours in the layer just placed (a node without
//!    such neighbours keeps its rank), ending with a forward sweep. The sort is stable, so ties
//!    keep pipeline order, and the result is deterministic.
//! 6. **Positions along a layer**: a few sweeps that put each node as close as possible to the
//!    mean position of its neighbours in the adjacent layer, keeping the order and a minimum gap
//!    (an isotonic regression, solved exactly by pool-adjacent-violators), so edges run straight
//!    where they can.

use std::collections::{BTreeMap, BTreeSet};

use super::{NodeKind, NodeView};

/// One drawn edge and the lane it follows.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Edge {
    pub from: usize,
    pub to: usize,
    /// `(layer, position along the layer)` of each virtual node it passes, in order.
    pub via: Vec<(usize, f64)>,
}

/// Where each node goes.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Layout {
    /// Layer of each node.
    pub layer: Vec<usize>,
    /// Centre of each node along its layer, from 0 (where the first box or lane starts).
    pub along: Vec<f64>,
    /// Number of layers.
    pub layers: usize,
    /// Extent of the widest layer along the layers, boxes and lanes included.
    pub extent: f64,
    /// The edges to draw: valid, without duplicates, in input order.
    pub edges: Vec<Edge>,
}

/// Sizes along a layer, in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Sizes {
    /// A node's extent along its layer.
    pub node: f64,
    /// A lane's (virtual node's) extent.
    pub lane: f64,
    /// The gap between neighbours in a layer.
    pub gap: f64,
}

/// Rounds of each heuristic (each one sweep forward, then one back).
const SWEEPS: usize = 4;

/// Most virtual nodes (lanes) in one layout: a pathological DAG (thousands of nodes, each feeding
/// a distant one) needs quadratically many; past this budget, long edges are drawn straight.
const MAX_LANES: usize = 20_000;

pub(super) fn layout(nodes: &[NodeView], edges: &[(usize, usize)], sizes: Sizes) -> Layout {
    let n = nodes.len();
    let mut seen = BTreeSet::new();
    let edges: Vec<(usize, usize)> =
        edges.iter().copied().filter(|&(a, b)| a < n && b < n && a != b && seen.insert((a, b))).collect();

    // Layers.
    let mut inputs = vec![Vec::new(); n];
    let mut users = vec![Vec::new(); n];
    for &(a, b) in &edges {
        if a < b {
            inputs[b].push(a);
            users[a].push(b);
        }
    }
    let mut layer = vec![0usize; n];
    for (i, ins) in inputs.iter().enumerate() {
        layer[i] = ins.iter().map(|&a| layer[a].saturating_add(1)).max().unwrap_or(0);
    }
    for (i, node) in nodes.iter().enumerate() {
        if node.kind == NodeKind::Param
            && inputs[i].is_empty()
            && let Some(first) = users[i].iter().map(|&b| layer[b]).min()
        {
            layer[i] = first.saturating_sub(1);
        }
    }
    let layers = layer.iter().max().map_or(0, |&m| m + 1);

    // Items: the nodes, then one virtual node per (source, layer) a long edge passes.
    let mut item_layer = layer.clone();
    let mut item_key: Vec<usize> = (0..n).collect();
    let mut lane: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    let mut up: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
    let mut down: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
    let link = |a: usize, b: usize, up: &mut Vec<BTreeSet<usize>>, down: &mut Vec<BTreeSet<usize>>| {
        down[a].insert(b);
        up[b].insert(a);
    };
    let mut laned = vec![false; edges.len()];
    for (e, &(a, b)) in edges.iter().enumerate() {
        if layer[a] >= layer[b] {
            continue;
        }
        let missing = (layer[a] + 1..layer[b]).filter(|&l| !lane.contains_key(&(a, l))).count();
        if lane.len() + missing > MAX_LANES {
            // Over budget: this edge is drawn straight from a to b.
            link(a, b, &mut up, &mut down);
            continue;
        }
        laned[e] = true;
        let mut prev = a;
        for l in layer[a] + 1..layer[b] {
            let id = *lane.entry((a, l)).or_insert_with(|| {
                item_layer.push(l);
                item_key.push(a);
                up.push(BTreeSet::new());
                down.push(BTreeSet::new());
                item_layer.len() - 1
            });
            link(prev, id, &mut up, &mut down);
            prev = id;
        }
        link(prev, b, &mut up, &mut down);
    }
    let items = item_layer.len();
    let size: Vec<f64> = (0..items).map(|i| if i < n { sizes.node } else { sizes.lane }).collect();
    let up: Vec<Vec<usize>> = up.into_iter().map(|s| s.into_iter().collect()).collect();
    let down: Vec<Vec<usize>> = down.into_iter().map(|s| s.into_iter().collect()).collect();

    // Order within layers.
    let mut columns: Vec<Vec<usize>> = vec![Vec::new(); layers];
    for (i, &l) in item_layer.iter().enumerate() {
        columns[l].push(i);
    }
    for column in &mut columns {
        column.sort_by_key(|&i| (item_key[i], i));
    }
    let mut rank = vec![0.0f64; items];
    let set_rank = |column: &[usize], rank: &mut [f64]| {
        for (r, &i) in column.iter().enumerate() {
            rank[i] = r as f64;
        }
    };
    for column in &columns {
        set_rank(column, &mut rank);
    }
    let mean = |of: &[usize], at: &[f64]| -> Option<f64> {
        (!of.is_empty()).then(|| of.iter().map(|&j| at[j]).sum::<f64>() / of.len() as f64)
    };
    let sweeps = || std::iter::repeat_n([false, true], SWEEPS).flatten().chain([false]);
    for backwards in sweeps() {
        let side = if backwards { &down } else { &up };
        for l in order(layers, backwards) {
            let mut keyed: Vec<(usize, f64)> =
                columns[l].iter().map(|&i| (i, mean(&side[i], &rank).unwrap_or(rank[i]))).collect();
            keyed.sort_by(|a, b| a.1.total_cmp(&b.1));
            columns[l] = keyed.into_iter().map(|(i, _)| i).collect();
            set_rank(&columns[l], &mut rank);
        }
    }

    // Positions along layers: packed and centred, then pulled towards neighbours, every layer
    // staying within the span of the widest one packed (so the picture is no wider than that).
    let mut at = vec![0.0f64; items];
    let packed = |column: &[usize]| -> f64 {
        column.iter().map(|&i| size[i]).sum::<f64>() + sizes.gap * column.len().saturating_sub(1) as f64
    };
    let half = columns.iter().map(|c| packed(c)).fold(0.0, f64::max) / 2.0;
    for column in &columns {
        let mut cursor = -packed(column) / 2.0;
        for &i in column {
            at[i] = cursor + size[i] / 2.0;
            cursor += size[i] + sizes.gap;
        }
    }
    for backwards in sweeps() {
        let side = if backwards { &down } else { &up };
        for l in order(layers, backwards) {
            let column = &columns[l];
            let (Some(&first), Some(&last)) = (column.first(), column.last()) else { continue };
            let wanted: Vec<f64> = column.iter().map(|&i| mean(&side[i], &at).unwrap_or(at[i])).collect();
            let seps: Vec<f64> =
                column.windows(2).map(|w| (size[w[0]] + size[w[1]]) / 2.0 + sizes.gap).collect();
            let bounds = (-half + size[first] / 2.0, half - size[last] / 2.0);
            for (&i, x) in column.iter().zip(place(&wanted, &seps, bounds)) {
                at[i] = x;
            }
        }
    }
    let low = (0..items).map(|i| at[i] - size[i] / 2.0).fold(f64::INFINITY, f64::min);
    let high = (0..items).map(|i| at[i] + size[i] / 2.0).fold(f64::NEG_INFINITY, f64::max);
    let (low, extent) = if low.is_finite() && high.is_finite() { (low, high - low) } else { (0.0, 0.0) };

    let edges = edges
        .into_iter()
        .zip(laned)
        .map(|((a, b), laned)| {
            let via = if laned {
                (layer[a] + 1..layer[b])
                    .filter_map(|l| lane.get(&(a, l)).map(|&d| (l, at[d] - low)))
                    .collect()
            } else {
                Vec::new()
            };
            Edge { from: a, to: b, via }
        })
        .collect();
    Layout { layer, along: at[..n].iter().map(|x| x - low).collect(), layers, extent, edges }
}

/// Layer indices in sweep order.
fn order(layers: usize, backwards: bool) -> Vec<usize> {
    if backwards { (0..layers).rev().collect() } else { (0..layers).collect() }
}

/// Positions closest (least squares) to `wanted`, in the same order, consecutive ones at least
/// `seps[k]` apart, the first at least `bounds.0` and the last at most `bounds.1`. With
/// `y_k = x_k - (seps[0] + ... + seps[k-1])` this is an isotonic regression of
/// `wanted_k - offset_k`, solved by pool-adjacent-violators; as `y` is non-decreasing, the bounds
/// hold for every `y_k`, and clamping the unbounded solution to them is optimal.
fn place(wanted: &[f64], seps: &[f64], bounds: (f64, f64)) -> Vec<f64> {
    let mut offsets = Vec::with_capacity(wanted.len());
    let mut sum = 0.0;
    for k in 0..wanted.len() {
        if k > 0 {
            sum += seps.get(k - 1).copied().unwrap_or(0.0);
        }
        offsets.push(sum);
    }
    // Blocks of (sum of targets, count), means non-decreasing.
    let mut blocks: Vec<(f64, usize)> = Vec::new();
    for (w, o) in wanted.iter().zip(&offsets) {
        blocks.push((w - o, 1));
        while blocks.len() >= 2 {
            let (s2, c2) = blocks[blocks.len() - 1];
            let (s1, c1) = blocks[blocks.len() - 2];
            if s1 / c1 as f64 <= s2 / c2 as f64 {
                break;
            }
            blocks.pop();
            if let Some(last) = blocks.last_mut() {
                *last = (s1 + s2, c1 + c2);
            }
        }
    }
    let (low, high) = (bounds.0, bounds.1 - offsets.last().copied().unwrap_or(0.0));
    let mut out = Vec::with_capacity(wanted.len());
    for (s, c) in blocks {
        let y = s / c as f64;
        let y = if low <= high { y.clamp(low, high) } else { y };
        out.extend(std::iter::repeat_n(y, c));
    }
    out.iter().zip(&offsets).map(|(y, o)| y + o).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIZES: Sizes = Sizes { node: 40.0, lane: 10.0, gap: 20.0 };

    fn step(name: &str) -> NodeView {
        NodeView::step(name, "ran", 0.0, 1.0)
    }

    /// No two items of a layer overlap.
    fn assert_separated(l: &Layout) {
        for a in 0..l.layer.len() {
            for b in a + 1..l.layer.len() {
                if l.layer[a] == l.layer[b] {
                    assert!(
                        (l.along[a] - l.along[b]).abs() >= SIZES.node + SIZES.gap - 1e-9,
                        "{a} and {b}: {l:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn layers_follow_longest_path_and_params_sit_before_their_first_user() {
        // 0 load -> 1 a, 2 b -> 4 join; param 3 feeds join only.
        let nodes = vec![step("load"), step("a"), step("b"), NodeView::param("p"), step("join")];
        let l = layout(&nodes, &[(0, 1), (0, 2), (1, 4), (2, 4), (3, 4), (3, 4), (9, 1), (2, 2)], SIZES);
        assert_eq!(l.layer, vec![0, 1, 1, 1, 2]);
        assert_eq!(l.edges.len(), 5);
        assert_eq!(l.layers, 3);
        assert!(l.extent >= 3.0 * 40.0 + 2.0 * 20.0);
        assert_separated(&l);
        assert!(l.edges.iter().all(|e| e.via.is_empty()));
    }

    #[test]
    fn long_edges_get_a_lane_shared_by_their_source() {
        // 0 -> 1 -> 2 -> 3, and 0 -> 3, 0 -> 2: lanes for 0 in layers 1 and 2.
        let nodes = vec![step("a"), step("b"), step("c"), step("d")];
        let l = layout(&nodes, &[(0, 1), (1, 2), (2, 3), (0, 3), (0, 2)], SIZES);
        let long = l.edges.iter().find(|e| (e.from, e.to) == (0, 3)).unwrap();
        assert_eq!(long.via.iter().map(|v| v.0).collect::<Vec<_>>(), vec![1, 2]);
        let shorter = l.edges.iter().find(|e| (e.from, e.to) == (0, 2)).unwrap();
        assert_eq!(shorter.via, long.via[..1]);
        // The lane does not overlap the boxes of its layer.
        for &(layer, at) in &long.via {
            let box_at = l.along[layer];
            assert!((box_at - at).abs() >= (SIZES.node + SIZES.lane) / 2.0 + SIZES.gap - 1e-9);
        }
    }

    #[test]
    fn lanes_have_a_budget() {
        // A chain of 400 where every node also feeds the last one: 400 * 400 / 2 lanes wanted.
        let nodes: Vec<NodeView> = (0..400).map(|i| step(&format!("s{i}"))).collect();
        let mut edges: Vec<(usize, usize)> = (1..400).map(|i| (i - 1, i)).collect();
        edges.extend((0..398).map(|i| (i, 399)));
        let l = layout(&nodes, &edges, SIZES);
        let lanes: usize = l.edges.iter().map(|e| e.via.len()).sum();
        assert!(lanes > 0 && lanes <= MAX_LANES, "{lanes}");
        assert!(l.edges.iter().any(|e| e.via.is_empty() && l.layer[e.to] - l.layer[e.from] > 1));
    }

    #[test]
    fn degenerate_inputs_do_not_panic() {
        let empty = layout(&[], &[(0, 1)], SIZES);
        assert_eq!((empty.layers, empty.extent), (0, 0.0));
        let nodes = vec![step("a"), step("b")];
        let l = layout(&nodes, &[(1, 0), (0, 1)], SIZES);
        assert_eq!(l.layer, vec![0, 1]);
        assert_eq!(l.edges.len(), 2);
        assert!(l.along.iter().all(|r| r.is_finite()));
    }

    #[test]
    fn ordering_untangles_a_crossing_and_chains_run_straight() {
        // a0 -> d, a1 -> c: c and d swap so the edges do not cross, and line up with their input.
        let nodes = vec![step("a0"), step("a1"), step("c"), step("d")];
        let l = layout(&nodes, &[(0, 3), (1, 2)], SIZES);
        assert!(l.along[3] < l.along[2], "{:?}", l.along);
        assert_eq!(l.along[0], l.along[3]);
        assert_eq!(l.along[1], l.along[2]);
        assert_separated(&l);
    }

    #[test]
    fn placement_keeps_order_and_gaps() {
        let free = (-1e9, 1e9);
        assert_eq!(place(&[0.0, 0.0, 0.0], &[10.0, 10.0], free), vec![-10.0, 0.0, 10.0]);
        assert_eq!(place(&[0.0, 50.0], &[10.0], free), vec![0.0, 50.0]);
        assert_eq!(place(&[0.0, 50.0], &[10.0], (5.0, 30.0)), vec![5.0, 30.0]);
        assert_eq!(place(&[0.0, 0.0], &[10.0], (-100.0, -50.0)), vec![-60.0, -50.0]);
        assert_eq!(place(&[], &[], free), Vec::<f64>::new());
    }
}
