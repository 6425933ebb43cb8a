//! The SVM's solver: LIBSVM's C-SVC dual by SMO (second-order working-set selection, no
//! shrinking) on an RBF kernel whose rows are computed on demand and cached, and the decision
//! function.

use super::svm::SvmParams;

/// Memory for cached kernel rows during training (scikit-learn's default `cache_size`).
pub(super) const CACHE_BYTES: usize = 200 << 20;
/// Floor of the second-order coefficient in SMO steps (LIBSVM's `TAU`).
const TAU: f64 = 1e-12;

/// Squared distances from `point` to `out.len()` points stored column-major in `columns`
/// (`columns[d * out.len() + t]`). Each distance is summed over features in order, so it is the
/// same number a per-pair loop gives, while the loop over points vectorizes.
pub(super) fn squared_distances(point: &[f64], columns: &[f64], out: &mut [f64]) {
    let count = out.len();
    out.fill(0.0);
    for (d, &v) in point.iter().enumerate() {
        for (o, &c) in out.iter_mut().zip(&columns[d * count..(d + 1) * count]) {
            let diff = v - c;
            *o += diff * diff;
        }
    }
}

/// Row-major `count x p` points to column-major.
pub(super) fn transpose(points: &[f64], count: usize, p: usize) -> Vec<f64> {
    let mut columns = vec![0.0; count * p];
    for (t, point) in points.chunks_exact(p.max(1)).enumerate() {
        for (d, &v) in point.iter().enumerate() {
            columns[d * count + t] = v;
        }
    }
    columns
}

/// Decision values `sum_s coef_s exp(-gamma |sv_s - x|^2) + intercept` for each point.
pub(super) fn decisions<'p>(
    sv: &[f64],
    coef: &[f64],
    intercept: f64,
    gamma: f64,
    points: impl Iterator<Item = &'p [f64]>,
) -> Vec<f64> {
    let n_sv = coef.len();
    let p = sv.len() / n_sv.max(1);
    let columns = transpose(sv, n_sv, p);
    let mut dist = vec![0.0; n_sv];
    points
        .map(|x| {
            squared_distances(x, &columns, &mut dist);
            coef.iter().zip(&dist).map(|(c, d)| c * (-gamma * d).exp()).sum::<f64>() + intercept
        })
        .collect()
}

/// Kernel rows computed on demand, kept within a memory budget (oldest evicted first).
struct KernelCache<'a> {
    data: &'a [f64],
    p: usize,
    rows: &'a [usize],
    /// The points `rows` of `data`, column-major.
    columns: Vec<f64>,
    dist: Vec<f64>,
    gamma: f64,
    cached: Vec<Option<Vec<f64>>>,
    order: std::collections::VecDeque<usize>,
    capacity: usize,
}

impl<'a> KernelCache<'a> {
    fn new(data: &'a [f64], p: usize, rows: &'a [usize], gamma: f64, bytes: usize) -> Self {
        let l = rows.len();
        let capacity = (bytes / (8 * l.max(1))).max(2);
        let mut columns = vec![0.0; l * p];
        for (t, &r) in rows.iter().enumerate() {
            for d in 0..p {
                columns[d * l + t] = data[r * p + d];
            }
        }
        KernelCache {
            data,
            p,
            rows,
            columns,
            dist: vec![0.0; l],
            gamma,
            cached: vec![None; l],
            order: std::collections::VecDeque::new(),
            capacity,
        }
    }

    fn point(&self, i: usize) -> &[f64] {
        let r = self.rows[i];
        &self.data[r * self.p..(r + 1) * self.p]
    }

    /// Makes row `i` available, never evicting row `keep`.
    fn ensure(&mut self, i: usize, keep: usize) {
        if self.cached[i].is_some() {
            return;
        }
        if self.order.len() >= self.capacity
            && let Some(pos) = self.order.iter().position(|&r| r != keep)
            && let Some(old) = self.order.remove(pos)
        {
            self.cached[old] = None;
        }
        let r = self.rows[i];
        squared_distances(&self.data[r * self.p..(r + 1) * self.p], &self.columns, &mut self.dist);
        let row: Vec<f64> = (0..self.rows.len())
            .map(|t| match &self.cached[t] {
                Some(other) => other[i], // the kernel is symmetric, bit for bit
                None => (-self.gamma * self.dist[t]).exp(),
            })
            .collect();
        self.cached[i] = Some(row);
        self.order.push_back(i);
    }

    fn row(&self, i: usize) -> &[f64] {
        self.cached[i].as_deref().unwrap_or(&[])
    }
}

/// The solution of the dual.
#[derive(Debug, PartialEq)]
pub(super) struct Solution {
    /// Support vectors, row-major.
    pub(super) support_vectors: Vec<f64>,
    /// `alpha_i * y_i` per support vector.
    pub(super) coef: Vec<f64>,
    /// The position in `rows` of each support vector.
    pub(super) support: Vec<usize>,
    /// The intercept `b = -rho`.
    pub(super) intercept: f64,
    /// The decision value of every training row, read off the final gradient:
    /// `sum_j alpha_j y_j K_ij = y_i (grad_i + 1)`.
    pub(super) train_decision: Vec<f64>,
}

/// Solves the C-SVC dual on the rows `rows` of `data` (row-major, `p` columns).
pub(super) fn smo(
    data: &[f64],
    p: usize,
    labels: &[usize],
    rows: &[usize],
    gamma: f64,
    params: &SvmParams,
    cache_bytes: usize,
) -> Solution {
    let l = rows.len();
    let c = params.c;
    let eps = params.tol;
    let y: Vec<f64> = rows.iter().map(|&r| if labels[r] == 1 { 1.0 } else { -1.0 }).collect();
    let mut alpha = vec![0.0; l];
    // yg_t = y_t * grad_t, where grad = Q alpha - 1 and Q_it = y_i y_t K_it (so yg starts at -y).
    let mut yg: Vec<f64> = y.iter().map(|v| -v).collect();
    let mut cache = KernelCache::new(data, p, rows, gamma, cache_bytes);
    let upper = |a: f64| a >= c;
    let lower = |a: f64| a <= 0.0;
    // I_up: alpha_t can move so that y_t alpha_t grows; I_low: so that it shrinks.
    let in_up = |t: usize, a: f64| if y[t] > 0.0 { !upper(a) } else { !lower(a) };
    let in_low = |t: usize, a: f64| if y[t] > 0.0 { !lower(a) } else { !upper(a) };
    let mut up: Vec<bool> = (0..l).map(|t| in_up(t, 0.0)).collect();
    let mut low: Vec<bool> = (0..l).map(|t| in_low(t, 0.0)).collect();
    let max_iter = 10_000_000usize.max(100usize.saturating_mul(l));
    // Working set selection (WSS3, Fan, Chen and Lin 2005), ties to the last index. The first
    // index maximizes -yg over I_up; it is found during the gradient update of the previous step.
    let mut gmax = f64::NEG_INFINITY;
    let mut i = usize::MAX;
    for t in 0..l {
        if up[t] && -yg[t] >= gmax {
            gmax = -yg[t];
            i = t;
        }
    }
    for _ in 0..max_iter {
        if i == usize::MAX {
            break;
        }
        cache.ensure(i, i);
        let ki = cache.row(i);
        let mut gmax2 = f64::NEG_INFINITY;
        let mut j = usize::MAX;
        let mut best = f64::INFINITY;
        for t in 0..l {
            if !low[t] {
                continue;
            }
            let v = yg[t];
            gmax2 = gmax2.max(v);
            let diff = gmax + v;
            if diff > 0.0 {
                let quad = 2.0 - 2.0 * ki[t];
                let obj = -(diff * diff) / if quad > 0.0 { quad } else { TAU };
                if obj <= best {
                    best = obj;
                    j = t;
                }
            }
        }
        if gmax + gmax2 < eps || j == usize::MAX {
            break;
        }
        cache.ensure(j, i);
        let (ki, kj) = (cache.row(i), cache.row(j));
        let (old_i, old_j) = (alpha[i], alpha[j]);
        let (gi, gj) = (y[i] * yg[i], y[j] * yg[j]);
        let quad = {
            let q = 2.0 - 2.0 * ki[j];
            if q > 0.0 { q } else { TAU }
        };
        let (mut ai, mut aj) = (old_i, old_j);
        if y[i] != y[j] {
            let delta = (-gi - gj) / quad;
            let diff = ai - aj;
            ai += delta;
            aj += delta;
            if diff > 0.0 {
                if aj < 0.0 {
                    aj = 0.0;
                    ai = diff;
                }
            } else if ai < 0.0 {
                ai = 0.0;
                aj = -diff;
            }
            if diff > 0.0 {
                if ai > c {
                    ai = c;
                    aj = c - diff;
                }
            } else if aj > c {
                aj = c;
                ai = c + diff;
            }
        } else {
            let delta = (gi - gj) / quad;
            let sum = ai + aj;
            ai -= delta;
            aj += delta;
            if sum > c {
                if ai > c {
                    ai = c;
                    aj = sum - c;
                }
            } else if aj < 0.0 {
                aj = 0.0;
                ai = sum;
            }
            if sum > c {
                if aj > c {
                    aj = c;
                    ai = sum - c;
                }
            } else if ai < 0.0 {
                ai = 0.0;
                aj = sum;
            }
        }
        alpha[i] = ai;
        alpha[j] = aj;
        (up[i], low[i], up[j], low[j]) = (in_up(i, ai), in_low(i, ai), in_up(j, aj), in_low(j, aj));
        // grad_t += y_t (y_i dA_i K_it + y_j dA_j K_jt), so yg_t += y_i dA_i K_it + y_j dA_j K_jt.
        let (di, dj) = ((ai - old_i) * y[i], (aj - old_j) * y[j]);
        gmax = f64::NEG_INFINITY;
        i = usize::MAX;
        for (t, ((g, a), b)) in yg.iter_mut().zip(ki).zip(kj).enumerate() {
            *g += di * a + dj * b;
            if up[t] && -*g >= gmax {
                gmax = -*g;
                i = t;
            }
        }
    }
    let grad: Vec<f64> = yg.iter().zip(&y).map(|(g, v)| g * v).collect();
    // Intercept: average over free variables of -y_t grad_t, else the middle of the feasible range.
    let (mut ub, mut lb, mut sum, mut free) = (f64::INFINITY, f64::NEG_INFINITY, 0.0, 0usize);
    for t in 0..l {
        let yg = y[t] * grad[t];
        if upper(alpha[t]) {
            if y[t] < 0.0 {
                ub = ub.min(yg);
            } else {
                lb = lb.max(yg);
            }
        } else if lower(alpha[t]) {
            if y[t] > 0.0 {
                ub = ub.min(yg);
            } else {
                lb = lb.max(yg);
            }
        } else {
            free += 1;
            sum += yg;
        }
    }
    let rho = if free > 0 { sum / free as f64 } else { (ub + lb) / 2.0 };
    let mut sv = Vec::new();
    let mut coef = Vec::new();
    let mut support = Vec::new();
    for t in 0..l {
        if alpha[t] > 0.0 {
            sv.extend_from_slice(cache.point(t));
            coef.push(alpha[t] * y[t]);
            support.push(t);
        }
    }
    let train_decision = (0..l).map(|t| y[t] * (grad[t] + 1.0) - rho).collect();
    Solution { support_vectors: sv, coef, support, intercept: -rho, train_decision }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiny_cache_gives_the_same_model() {
        let data: Vec<f64> = (0..40).map(|i| ((i * 37) % 11) as f64 / 3.0).collect();
        let y: Vec<usize> = (0..20).map(|i| usize::from((i * 7) % 5 > 1)).collect();
        let rows: Vec<usize> = (0..20).collect();
        let full = smo(&data, 2, &y, &rows, 0.7, &SvmParams::default(), CACHE_BYTES);
        let tiny = smo(&data, 2, &y, &rows, 0.7, &SvmParams::default(), 1);
        assert_eq!(full, tiny);
        assert!(full.coef.len() >= 2);
        // The decision values read off the gradient agree with the decision function.
        let direct = decisions(&full.support_vectors, &full.coef, full.intercept, 0.7, data.chunks_exact(2));
        for (f, d) in full.train_decision.iter().zip(direct) {
            assert!((f - d).abs() < 1e-9, "{f} vs {d}");
        }
    }
}
