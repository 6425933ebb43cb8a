//! Dense least squares and ridge without LAPACK: Householder QR, then a one-sided Jacobi SVD of
//! the triangular factor.
//!
//! For an `n x p` matrix `A` the solver factors `B = A` (when `n >= p`) or `B = A^T` (when
//! `p > n`) as `B = Q R` with Householder reflections (backward stable), and `R` (`k x k`,
//! `k = min(n, p)`) as `R V = W` by one-sided (Hestenes) Jacobi rotations until every pair of
//! columns of `W` is orthogonal to `sqrt(k) * EPSILON` relative. The columns of `W` are
//! `sigma_j u_j`, so `A = U S V^T` is known without ever forming `A^T A` (whose condition number is
//! the square of `A`'s). Jacobi rotations compute the singular values of `R` to high relative
//! accuracy.
//!
//! With the SVD, the minimum-norm least-squares solution is `sum_j v_j (u_j . b) / sigma_j` over
//! the singular values above `rank_tol * sigma_max` (LAPACK's `gelsd`, which `scipy.linalg.lstsq`
//! calls, drops the singular values `<= rcond * sigma_max` in the same way), and the ridge solution
//! is `sum_j v_j sigma_j (u_j . b) / (sigma_j^2 + alpha)` over all of them.
//!
//! Everything runs in a fixed order on one thread: the same input gives the same bits.

/// At most this many Jacobi sweeps. Convergence is quadratic: well under 20 sweeps in practice
/// (LAPACK's `dgesvj` allows 30); stopping here leaves columns orthogonal to a looser tolerance,
/// never a wrong answer by more than that.
const MAX_SWEEPS: usize = 64;

/// What the solver returns: the coefficients, the singular values and how many are above the
/// rank tolerance.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Solution {
    /// `p` coefficients.
    pub coef: Vec<f64>,
    /// The number of singular values `> rank_tol * sigma_max`.
    pub rank: usize,
}

/// A dense matrix stored column by column.
#[derive(Debug, Clone)]
pub(super) struct Columns {
    rows: usize,
    cols: usize,
    data: Vec<f64>,
}

impl Columns {
    /// A `rows x cols` matrix from a column-major buffer (`data.len() == rows * cols`).
    pub fn new(rows: usize, cols: usize, data: Vec<f64>) -> Columns {
        debug_assert_eq!(data.len(), rows * cols);
        Columns { rows, cols, data }
    }

    fn col(&self, j: usize) -> &[f64] {
        &self.data[j * self.rows..(j + 1) * self.rows]
    }

    fn col_mut(&mut self, j: usize) -> &mut [f64] {
        &mut self.data[j * self.rows..(j + 1) * self.rows]
    }

    /// Two distinct columns `i < j`, both mutable.
    fn two_cols_mut(&mut self, i: usize, j: usize) -> (&mut [f64], &mut [f64]) {
        debug_assert!(i < j);
        let (left, right) = self.data.split_at_mut(j * self.rows);
        (&mut left[i * self.rows..(i + 1) * self.rows], &mut right[..self.rows])
    }

    fn transpose(&self) -> Columns {
        let mut data = vec![0.0; self.data.len()];
        for j in 0..self.cols {
            for (i, &v) in self.col(j).iter().enumerate() {
                data[i * self.cols + j] = v;
            }
        }
        Columns { rows: self.cols, cols: self.rows, data }
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The Householder reflections of a QR factorization: `H_j = I - tau_j v_j v_j^T`, `v_j` acting on
/// rows `j..m`.
struct Reflectors {
    vs: Vec<Vec<f64>>,
    taus: Vec<f64>,
}

impl Reflectors {
    /// `Q^T b`, i.e. `H_{k-1} ... H_0 b`.
    fn apply_qt(&self, b: &mut [f64]) {
        for (j, (v, &tau)) in self.vs.iter().zip(&self.taus).enumerate() {
            reflect(&mut b[j..], v, tau);
        }
    }

    /// `Q b`, i.e. `H_0 ... H_{k-1} b`.
    fn apply_q(&self, b: &mut [f64]) {
        for (j, (v, &tau)) in self.vs.iter().zip(&self.taus).enumerate().rev() {
            reflect(&mut b[j..], v, tau);
        }
    }
}

fn reflect(c: &mut [f64], v: &[f64], tau: f64) {
    if tau == 0.0 {
        return;
    }
    let s = tau * dot(v, c);
    for (ci, vi) in c.iter_mut().zip(v) {
        *ci -= s * vi;
    }
}

/// Householder QR of `b` (`m x k`, `m >= k`): returns the reflectors and the upper triangular
/// `R` (`k x k`, column-major).
fn householder_qr(mut b: Columns) -> (Reflectors, Columns) {
    let (m, k) = (b.rows, b.cols);
    let mut vs = Vec::with_capacity(k);
    let mut taus = Vec::with_capacity(k);
    for j in 0..k {
        let x = &b.col(j)[j..];
        let norm = dot(x, x).sqrt();
        let (v, tau) = if norm == 0.0 {
            (vec![0.0; m - j], 0.0)
        } else {
            let alpha = if x[0] >= 0.0 { -norm } else { norm };
            let mut v = x.to_vec();
            v[0] -= alpha;
            // 2 / (v . v) = -1 / (alpha * v0): alpha and v0 have opposite signs.
            (v, -1.0 / (alpha * (x[0] - alpha)))
        };
        for c in j..k {
            reflect(&mut b.col_mut(c)[j..], &v, tau);
        }
        vs.push(v);
        taus.push(tau);
    }
    let mut r = vec![0.0; k * k];
    for c in 0..k {
        for i in 0..=c {
            r[c * k + i] = b.col(c)[i];
        }
    }
    (Reflectors { vs, taus }, Columns::new(k, k, r))
}

/// One-sided Jacobi: rotates the columns of `w` (`k x k`) until they are mutually orthogonal,
/// applying the same rotations to `V` (from the identity). Returns `V`.
fn jacobi(w: &mut Columns) -> Columns {
    let k = w.cols;
    let mut v = Columns::new(k, k, (0..k * k).map(|i| if i % (k + 1) == 0 { 1.0 } else { 0.0 }).collect());
    let tol = f64::EPSILON * (w.rows as f64).sqrt();
    for _ in 0..MAX_SWEEPS {
        let mut rotated = false;
        for i in 0..k {
            for j in i + 1..k {
                let (wi, wj) = w.two_cols_mut(i, j);
                let a = dot(wi, wi);
                let b = dot(wj, wj);
                let g = dot(wi, wj);
                if g == 0.0 || g.abs() <= tol * a.sqrt() * b.sqrt() {
                    continue;
                }
                rotated = true;
                // The rotation that diagonalizes [[a, g], [g, b]] (Golub and Van Loan, 8.5.2).
                let zeta = (b - a) / (2.0 * g);
                let t = zeta.signum() / (zeta.abs() + 1.0f64.hypot(zeta));
                let c = 1.0 / 1.0f64.hypot(t);
                let s = c * t;
                rotate(wi, wj, c, s);
                let (vi, vj) = v.two_cols_mut(i, j);
                rotate(vi, vj, c, s);
            }
        }
        if !rotated {
            break;
        }
    }
    v
}

fn rotate(x: &mut [f64], y: &mut [f64], c: f64, s: f64) {
    for (xi, yi) in x.iter_mut().zip(y.iter_mut()) {
        let (a, b) = (*xi, *yi);
        *xi = c * a - s * b;
        *yi = s * a + c * b;
    }
}

/// Minimizes `|A w - b|^2 + alpha |w|^2` for `a` (`n x p`, `n, p >= 1`) and `b` (`n`).
///
/// `alpha == 0`: the minimum-norm least-squares solution, singular values `<= rank_tol *
/// sigma_max` taken as zero (as `scipy.linalg.lstsq(cond=rank_tol)`). `alpha > 0`: ridge, every
/// singular value kept. The caller scales the data so that squares neither overflow nor underflow
/// (entries of magnitude below 4).
pub(super) fn solve(a: &Columns, b: &[f64], alpha: f64, rank_tol: f64) -> Solution {
    let (n, p) = (a.rows, a.cols);
    let wide = p > n;
    let (reflectors, mut w) = if wide { householder_qr(a.transpose()) } else { householder_qr(a.clone()) };
    let v = jacobi(&mut w);
    let k = w.cols;
    let sigma: Vec<f64> = (0..k).map(|j| dot(w.col(j), w.col(j)).sqrt()).collect();
    let sigma_max = sigma.iter().fold(0.0f64, |m, &s| m.max(s));
    let kept = |s: f64| s > 0.0 && s > rank_tol * sigma_max;
    let rank = sigma.iter().filter(|&&s| kept(s)).count();
    // g_j = f(sigma_j) / sigma_j, where f is 1 / sigma (least squares) or sigma / (sigma^2 +
    // alpha) (ridge): the columns of W are sigma_j u_j, so this folds in the 1 / sigma_j of u_j.
    let g: Vec<f64> = sigma
        .iter()
        .map(|&s| {
            if alpha == 0.0 {
                if kept(s) { 1.0 / (s * s) } else { 0.0 }
            } else {
                let d = s * s + alpha;
                if d > 0.0 && d.is_finite() { 1.0 / d } else { 0.0 }
            }
        })
        .collect();
    let coef = if wide {
        // A^T = Q [U S V^T; 0], so A = V S [U; 0]^T Q^T and w = Q [sum_j u_j f(s_j) (v_j . b); 0].
        let mut z = vec![0.0; p];
        for (j, &gj) in g.iter().enumerate() {
            let t = gj * dot(v.col(j), b);
            if t != 0.0 {
                for (zi, wi) in z.iter_mut().zip(w.col(j)) {
                    *zi += t * wi;
                }
            }
        }
        reflectors.apply_q(&mut z);
        z
    } else {
        // A = Q [U S V^T; 0]: w = sum_j v_j f(s_j) (u_j . (Q^T b)[..k]).
        let mut c = b.to_vec();
        reflectors.apply_qt(&mut c);
        let c = &c[..k];
        let mut coef = vec![0.0; p];
        for (j, &gj) in g.iter().enumerate() {
            let t = gj * dot(w.col(j), c);
            if t != 0.0 {
                for (ci, vi) in coef.iter_mut().zip(v.col(j)) {
                    *ci += t * vi;
                }
            }
        }
        coef
    };
    Solution { coef, rank }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(rows: &[&[f64]]) -> Columns {
        let (n, p) = (rows.len(), rows[0].len());
        let mut data = Vec::with_capacity(n * p);
        for j in 0..p {
            for r in rows {
                data.push(r[j]);
            }
        }
        Columns::new(n, p, data)
    }

    fn close(a: &[f64], b: &[f64], tol: f64) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol * (1.0 + y.abs()))
    }

    #[test]
    fn square_system_is_solved_exactly() {
        // [[2, 1], [1, 3]] w = [3, 5] -> w = [0.8, 1.4]
        let a = columns(&[&[2.0, 1.0], &[1.0, 3.0]]);
        let s = solve(&a, &[3.0, 5.0], 0.0, 1e-6);
        assert!(close(&s.coef, &[0.8, 1.4], 1e-14), "{:?}", s.coef);
        assert_eq!(s.rank, 2);
    }

    #[test]
    fn overdetermined_matches_normal_equations() {
        // Fit y = 1 + 2 t on t = 0..4 with the intercept as a column of ones: exact data.
        let rows: Vec<Vec<f64>> = (0..5).map(|t| vec![1.0, t as f64]).collect();
        let refs: Vec<&[f64]> = rows.iter().map(Vec::as_slice).collect();
        let y: Vec<f64> = (0..5).map(|t| 1.0 + 2.0 * t as f64).collect();
        let s = solve(&columns(&refs), &y, 0.0, 1e-6);
        assert!(close(&s.coef, &[1.0, 2.0], 1e-14), "{:?}", s.coef);
    }

    #[test]
    fn duplicate_columns_get_the_minimum_norm_split() {
        let a = columns(&[&[1.0, 1.0], &[2.0, 2.0], &[3.0, 3.0]]);
        let s = solve(&a, &[2.0, 4.0, 6.0], 0.0, 1e-6);
        assert!(close(&s.coef, &[1.0, 1.0], 1e-14), "{:?}", s.coef);
        assert_eq!(s.rank, 1);
    }

    #[test]
    fn wide_systems_give_the_minimum_norm_interpolant() {
        // One equation x1 + 2 x2 + 2 x3 = 9: minimum norm is (1, 2, 2).
        let a = columns(&[&[1.0, 2.0, 2.0]]);
        let s = solve(&a, &[9.0], 0.0, 1e-6);
        assert!(close(&s.coef, &[1.0, 2.0, 2.0], 1e-14), "{:?}", s.coef);
        // Ridge: w = a^T b / (|a|^2 + alpha) = (1, 2, 2) * 9 / 10.
        let s = solve(&a, &[9.0], 1.0, 1e-6);
        assert!(close(&s.coef, &[0.9, 1.8, 1.8], 1e-14), "{:?}", s.coef);
    }

    #[test]
    fn ridge_matches_the_closed_form() {
        // (A^T A + I) w = A^T b with A = [[1, 0], [0, 2], [1, 1]], b = [1, 2, 3].
        // A^T A + I = [[3, 1], [1, 6]], A^T b = [4, 7]: w = [17/17, 17/17] = [1, 1].
        let a = columns(&[&[1.0, 0.0], &[0.0, 2.0], &[1.0, 1.0]]);
        let s = solve(&a, &[1.0, 2.0, 3.0], 1.0, 1e-6);
        assert!(close(&s.coef, &[1.0, 1.0], 1e-14), "{:?}", s.coef);
    }

    #[test]
    fn zero_matrix_gives_zero() {
        let a = columns(&[&[0.0, 0.0], &[0.0, 0.0]]);
        assert_eq!(solve(&a, &[1.0, 2.0], 0.0, 1e-6), Solution { coef: vec![0.0, 0.0], rank: 0 });
        assert_eq!(solve(&a, &[1.0, 2.0], 1.0, 1e-6).coef, [0.0, 0.0]);
    }

    #[test]
    fn jacobi_orthogonalizes() {
        let a = columns(&[&[4.0, 1.0, 2.0], &[1.0, 3.0, 0.5], &[2.0, 0.5, 5.0], &[1.0, 1.0, 1.0]]);
        let (_, mut w) = householder_qr(a);
        let v = jacobi(&mut w);
        for i in 0..3 {
            for j in i + 1..3 {
                let g = dot(w.col(i), w.col(j));
                assert!(g.abs() < 1e-14 * dot(w.col(i), w.col(i)).max(dot(w.col(j), w.col(j))));
                assert!(dot(v.col(i), v.col(j)).abs() < 1e-15);
            }
            assert!((dot(v.col(i), v.col(i)) - 1.0).abs() < 1e-15);
        }
    }
}
