//! L2-regularized logistic regression, fitted by Newton's method: the binary logistic loss for two
//! classes, the multinomial (softmax) loss for more.

use ndarray::{Array1, Array2, ArrayView2};
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::softmax::{log_sum_exp, softmax_in_place};
use super::{Classifier, ModelError, check_classes, check_input, invalid, sigmoid, solve_spd};
use crate::float::{binary_exponent, times_pow2};

pub(super) const KIND: &str = "logistic regression";

/// Hyperparameters of a [`LogisticRegression`]; `Default` is scikit-learn's `LogisticRegression()`
/// (L2 penalty, `C = 1`, fitted intercept, at most 100 iterations).
///
/// ```
/// use mlflow_ml::models::LogisticParams;
/// let p = LogisticParams { c: 0.1, ..Default::default() };
/// assert!(p.fit_intercept);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticParams {
    /// Inverse regularization strength, finite and at least `f64::MIN_POSITIVE` (about 2.2e-308;
    /// smaller positive numbers are subnormal): smaller means a stronger L2 penalty.
    pub c: f64,
    /// Fit an (unpenalized) intercept.
    pub fit_intercept: bool,
    /// Maximum Newton iterations (at least 1). Newton's method usually converges in under 15.
    pub max_iter: usize,
}

impl Default for LogisticParams {
    fn default() -> Self {
        LogisticParams { c: 1.0, fit_intercept: true, max_iter: 100 }
    }
}

/// A fitted logistic regression: `P(class 1 | x) = 1 / (1 + exp(-(w . x + b)))` for two classes,
/// `P(class c | x) = softmax_c(W x + b)` (one weight row `w_c` and intercept `b_c` per class) for
/// more, as scikit-learn's `LogisticRegression` (lbfgs, L2) fits them.
///
/// Fitting minimizes scikit-learn's objective `0.5 * |w|^2 + C * sum_i logloss_i` (the intercept is
/// not penalized), divided by `C` (the same optimum, and finite for any `C`), with Newton's method
/// and a backtracking line search, solving each Newton system by Cholesky. The objective is
/// strictly convex, so the result is the unique optimum to machine precision (scikit-learn's
/// L-BFGS stops earlier, at its `tol`, so coefficients agree to a few digits).
///
/// **Features of any size.** Newton's method works on each column times the power of two that
/// brings its largest magnitude into `[1, 2)` (an exact change of unit; columns below 1 are left
/// as they are), so features around 1e154, whose squares overflow, or up to 1e308 fit as well as
/// standardized ones: weights around 1e-154 giving the same probabilities. On such features
/// scikit-learn's lbfgs stops after 0 iterations with all-zero weights and a `ConvergenceWarning`.
/// Scaling the features is still worth it for the penalty, which treats a feature in metres and
/// one in millimetres differently.
///
/// **More than two classes.** The multinomial loss `sum_i -log softmax_{y_i}(W x_i + b)` plus
/// `0.5 * |W|^2 / C` over all `k` weight rows, scikit-learn's parameterization (`coef_` of shape
/// `k x p`). The penalty makes the weights unique (their rows sum to zero at the optimum); the
/// intercepts are not penalized and the loss does not change when all of them move together, so
/// the fit picks the intercepts that sum to zero (as lbfgs started from zeros does too), adding
/// `0.5 * (sum_c b_c)^2` to the objective, which vanishes there. Newton's method then works as
/// for two classes on the `k * (p + 1)` parameters, converging in a dozen or so steps where
/// scikit-learn's lbfgs takes a few hundred on raw iris and stops within about 1e-6 (relative) of
/// the optimum at `tol = 1e-10` (`tests/ml/multiclass_linear.rs` checks both distances).
///
/// **Convergence.** [`LogisticRegression::converged`] is true only at the optimum: when every
/// gradient entry is below 1e-10 of the size of the terms it sums, when a step moves the
/// parameters by less than 1e-12 relative, or when no step can lower the objective because the
/// decrease Newton's method predicts is below the objective's rounding error. Stopping at
/// `max_iter`, or a line search that finds no lower objective while a real decrease is predicted,
/// leaves the last iterate and `converged() == false`, as scikit-learn warns with a
/// `ConvergenceWarning`: check it, and raise `max_iter` or standardize the features
/// ([`StandardScaler`](crate::features::StandardScaler)).
///
/// ```
/// use mlflow_ml::models::{Classifier, LogisticParams, LogisticRegression};
/// use ndarray::array;
/// let x = array![[0.0], [1.0], [2.0], [3.0]];
/// let m = LogisticRegression::fit(x.view(), &[0, 0, 1, 1], &LogisticParams::default())?;
/// assert!(m.coefficients()[0] > 0.0 && m.converged());
/// let p = m.predict_positive(array![[1.5]].view())?;
/// assert!((p[0] - 0.5).abs() < 1e-9);
///
/// // Three classes: one weight row and intercept per class, one probability column per class.
/// let x = array![[0.0], [0.5], [2.0], [2.5], [4.0], [4.5]];
/// let m = LogisticRegression::fit(x.view(), &[0, 0, 1, 1, 2, 2], &LogisticParams { c: 100.0, ..Default::default() })?;
/// assert_eq!((m.n_classes(), m.coefficients().len(), m.intercepts().len()), (3, 3, 3));
/// assert_eq!(m.predict(array![[0.2], [2.2], [4.2]].view())?.to_vec(), [0, 1, 2]);
/// assert!(m.coefficients().iter().sum::<f64>().abs() < 1e-9); // the rows sum to zero
/// # Ok::<(), mlflow_ml::models::ModelError>(())
/// ```
///
/// **Artifact shape.** A binary model is encoded field for field as the binary-only model was
/// (`coefficients`, `intercept`, `n_iter`, `converged`), so its bytes, and packages made before
/// multiclass support, are unchanged; a multiclass model as an empty `coefficients` (never a
/// fitted binary model's) followed by its body.
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticRegression {
    /// Row-major weights: one row (`w`) for a binary model, one row per class for a multiclass one.
    coefficients: Vec<f64>,
    /// One intercept per row of `coefficients`.
    intercepts: Vec<f64>,
    n_iter: usize,
    converged: bool,
}

impl LogisticRegression {
    /// Fits the model on `x` (rows = samples) and class labels `y` (`0..k`, every class present:
    /// two classes fit the binary model, more the multinomial one).
    ///
    /// Stopping before the optimum (at `max_iter`, or when the line search can lower the objective
    /// no further although a decrease is predicted) is not an error: the model is the last iterate
    /// and [`LogisticRegression::converged`] is false.
    ///
    /// ```
    /// use mlflow_ml::models::{LogisticParams, LogisticRegression, ModelError};
    /// use ndarray::array;
    /// let bad = LogisticParams { c: 0.0, ..Default::default() };
    /// let err = LogisticRegression::fit(array![[0.0], [1.0]].view(), &[0, 1], &bad).unwrap_err();
    /// assert!(matches!(err, ModelError::InvalidParam { param: "c", .. }));
    /// // Features around 1e154 (squares overflow) fit like features around 1.
    /// let x = array![[0.0], [1.0], [2.0], [3.0], [1.5], [2.5]];
    /// let y = [0, 0, 1, 1, 1, 0];
    /// // The penalty on weights of 1e-154 is nil: the same as an (almost) unpenalized fit on x.
    /// let small = LogisticRegression::fit(x.view(), &y, &LogisticParams { c: 1e12, ..Default::default() })?;
    /// let huge = LogisticRegression::fit((&x * 1e154).view(), &y, &LogisticParams::default())?;
    /// assert!(huge.converged());
    /// assert!((huge.coefficients()[0] * 1e154 - small.coefficients()[0]).abs() < 1e-6);
    /// # Ok::<(), ModelError>(())
    /// ```
    pub fn fit(x: ArrayView2<'_, f64>, y: &[usize], params: &LogisticParams) -> Result<Self, ModelError> {
        if !(params.c >= f64::MIN_POSITIVE && params.c.is_finite()) {
            return Err(invalid(
                KIND,
                "c",
                params.c,
                "a finite number >= 2.2250738585072014e-308 (f64::MIN_POSITIVE)",
            ));
        }
        if params.max_iter == 0 {
            return Err(invalid(KIND, "max_iter", 0, "at least 1"));
        }
        let counts = check_classes(x, y)?;
        let unit = units(x);
        if counts.len() > 2 {
            return Ok(fit_multinomial(x, y, counts.len(), &unit, params));
        }
        let (n, p) = x.dim();
        // Parameters: p weights, then the intercept (kept at 0 without fit_intercept).
        let dim = if params.fit_intercept { p + 1 } else { p };
        // Row-major copy in the new units.
        let data: Vec<f64> =
            x.rows().into_iter().flat_map(|r| r.into_iter().zip(&unit).map(|(v, u)| v * u)).collect();
        let row = |i: usize| &data[i * p..(i + 1) * p];
        let target: Vec<f64> = y.iter().map(|&l| l as f64).collect();
        // The objective divided by C: `sum_i logloss_i + 0.5 * sum_j rho_j * v_j^2` with
        // `rho_j = unit_j^2 / C`, the penalty `0.5 * |w|^2 / C` on the original weights. Every term
        // stays finite for any valid C (scikit-learn's form times C overflows for C near 1e308).
        let rho: Vec<f64> = unit.iter().map(|u| u * (u / params.c)).collect();
        let objective = |theta: &[f64]| -> f64 {
            let (w, b) = theta.split_at(p);
            let b = b.first().copied().unwrap_or(0.0);
            let mut loss = 0.0;
            for (i, t) in target.iter().enumerate() {
                let z = dot(row(i), w) + b;
                // log(1 + exp(z)) - t * z, computed without overflow
                loss += z.max(0.0) + (-z.abs()).exp().ln_1p() - t * z;
            }
            loss + 0.5 * w.iter().zip(&rho).map(|(v, r)| r * v * v).sum::<f64>()
        };

        let mut theta = vec![0.0; dim];
        let mut f = objective(&theta);
        let mut grad = vec![0.0; dim];
        let mut hess = vec![0.0; dim * dim];
        let mut n_iter = 0;
        let mut converged = false;
        while n_iter < params.max_iter {
            n_iter += 1;
            grad.iter_mut().for_each(|g| *g = 0.0);
            hess.iter_mut().for_each(|h| *h = 0.0);
            let (w, b) = theta.split_at(p);
            let b = b.first().copied().unwrap_or(0.0);
            for (i, t) in target.iter().enumerate() {
                let xi = row(i);
                let prob = sigmoid(dot(xi, w) + b);
                let r = prob - t;
                let d = prob * (1.0 - prob);
                for a in 0..dim {
                    let xa = if a < p { xi[a] } else { 1.0 };
                    grad[a] += r * xa;
                    let dxa = d * xa;
                    for bcol in 0..=a {
                        let xb = if bcol < p { xi[bcol] } else { 1.0 };
                        hess[a * dim + bcol] += dxa * xb;
                    }
                }
            }
            for a in 0..dim {
                for bcol in 0..a {
                    hess[bcol * dim + a] = hess[a * dim + bcol];
                }
            }
            for a in 0..p {
                grad[a] += rho[a] * theta[a];
                hess[a * dim + a] += rho[a];
            }
            // Converged when every gradient entry is below 1e-10 of the size of the terms it sums:
            // the n losses' (each below 2 in the new units) and the penalty's.
            let small = |a: usize| {
                let penalty = if a < p { (rho[a] * theta[a]).abs() } else { 0.0 };
                grad[a].abs() <= 1e-10 * (n as f64 + penalty)
            };
            if (0..dim).all(small) {
                converged = true;
                break;
            }
            let (step, newton) = match solve_spd(&hess, &grad, dim) {
                Some(s) => (s, true),
                // Numerically singular (e.g. an unpenalized intercept with perfectly separated
                // classes): fall back to a gradient step, which the line search scales.
                None => (grad.clone(), false),
            };
            // Backtracking line search on the objective (Armijo condition).
            let slope: f64 = grad.iter().zip(&step).map(|(g, s)| g * s).sum();
            let mut alpha = 1.0;
            let mut accepted = false;
            let mut candidate = vec![0.0; dim];
            for _ in 0..60 {
                for a in 0..dim {
                    candidate[a] = theta[a] - alpha * step[a];
                }
                let fc = objective(&candidate);
                if fc <= f - 1e-4 * alpha * slope {
                    accepted = true;
                    let moved = (0..dim).fold(0.0f64, |m, a| m.max((candidate[a] - theta[a]).abs()));
                    let scale = theta.iter().fold(1.0f64, |m, t| m.max(t.abs()));
                    theta.copy_from_slice(&candidate);
                    f = fc;
                    if moved <= 1e-12 * scale {
                        converged = true;
                    }
                    break;
                }
                alpha *= 0.5;
            }
            if !accepted {
                // No trial point lowered the objective. That is the optimum only when the
                // decrease the Newton step predicts is already below the objective's rounding
                // error; otherwise the search failed and the model is not at the optimum.
                converged = newton && at_rounding_floor(0.5 * slope, f, n);
                break;
            }
            if converged {
                break;
            }
        }
        let intercept = if params.fit_intercept { theta[p] } else { 0.0 };
        theta.truncate(p);
        let coefficients = theta.iter().zip(&unit).map(|(v, u)| v * u).collect();
        Ok(LogisticRegression { coefficients, intercepts: vec![intercept], n_iter, converged })
    }

    /// The weights: `w`, one per feature, for a binary model; for `k > 2` classes the `k x p`
    /// matrix `W` row-major (class `c`'s weights at `c * p..(c + 1) * p`), which is scikit-learn's
    /// `coef_.ravel()`.
    ///
    /// ```
    /// use mlflow_ml::models::{LogisticParams, LogisticRegression};
    /// use ndarray::array;
    /// let m = LogisticRegression::fit(array![[0.0, 1.0], [1.0, 0.0]].view(), &[0, 1], &LogisticParams::default())?;
    /// assert_eq!(m.coefficients().len(), 2);
    /// let m = LogisticRegression::fit(array![[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]].view(), &[0, 1, 2], &LogisticParams::default())?;
    /// assert_eq!(m.coefficients().len(), 3 * 2);
    /// # Ok::<(), mlflow_ml::models::ModelError>(())
    /// ```
    pub fn coefficients(&self) -> &[f64] {
        &self.coefficients
    }

    /// The intercept `b` of a binary model (0 when fitted without one); for a multiclass model
    /// class 0's, see [`LogisticRegression::intercepts`].
    ///
    /// ```
    /// use mlflow_ml::models::{LogisticParams, LogisticRegression};
    /// use ndarray::array;
    /// let p = LogisticParams { fit_intercept: false, ..Default::default() };
    /// let m = LogisticRegression::fit(array![[-1.0], [1.0]].view(), &[0, 1], &p)?;
    /// assert_eq!(m.intercept(), 0.0);
    /// # Ok::<(), mlflow_ml::models::ModelError>(())
    /// ```
    pub fn intercept(&self) -> f64 {
        self.intercepts.first().copied().unwrap_or(0.0)
    }

    /// The intercepts, scikit-learn's `intercept_`: `[b]` for a binary model, one per class (summing
    /// to zero) for more classes; zeros when fitted without an intercept.
    ///
    /// ```
    /// use mlflow_ml::models::{LogisticParams, LogisticRegression};
    /// use ndarray::array;
    /// let x = array![[0.0], [1.0], [2.0], [3.0]];
    /// let m = LogisticRegression::fit(x.view(), &[0, 1, 2, 2], &LogisticParams::default())?;
    /// assert_eq!(m.intercepts().len(), 3);
    /// assert!(m.intercepts().iter().sum::<f64>().abs() < 1e-9);
    /// # Ok::<(), mlflow_ml::models::ModelError>(())
    /// ```
    pub fn intercepts(&self) -> &[f64] {
        &self.intercepts
    }

    /// Newton iterations used.
    ///
    /// ```
    /// use mlflow_ml::models::{LogisticParams, LogisticRegression};
    /// use ndarray::array;
    /// let m = LogisticRegression::fit(array![[0.0], [1.0]].view(), &[0, 1], &LogisticParams::default())?;
    /// assert!(m.n_iter() <= 100);
    /// # Ok::<(), mlflow_ml::models::ModelError>(())
    /// ```
    pub fn n_iter(&self) -> usize {
        self.n_iter
    }

    /// Whether the optimum was reached within `max_iter` iterations (see [`LogisticRegression`]
    /// for what counts); never true for a model left short of it.
    ///
    /// ```
    /// use mlflow_ml::models::{LogisticParams, LogisticRegression};
    /// use ndarray::array;
    /// let m = LogisticRegression::fit(array![[0.0], [1.0]].view(), &[0, 1], &LogisticParams::default())?;
    /// assert!(m.converged());
    /// # Ok::<(), mlflow_ml::models::ModelError>(())
    /// ```
    pub fn converged(&self) -> bool {
        self.converged
    }
}

impl Classifier for LogisticRegression {
    fn n_features(&self) -> usize {
        self.coefficients.len() / self.intercepts.len().max(1)
    }

    fn n_classes(&self) -> usize {
        if self.intercepts.len() == 1 { 2 } else { self.intercepts.len() }
    }

    fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>, ModelError> {
        let rows = self.intercepts.len();
        if rows == 0 || rows == 2 || !self.coefficients.len().is_multiple_of(rows) {
            return Err(ModelError::Corrupt {
                model: KIND,
                detail: format!(
                    "{} weights and {rows} intercepts (expected one intercept for two classes, or k >= 3 intercepts and k weights per feature)",
                    self.coefficients.len()
                ),
            });
        }
        if rows == 1 {
            return Ok(super::two_columns(self.positive_proba(x)?));
        }
        let p = self.coefficients.len() / rows;
        check_input(x, p)?;
        let mut out = Array2::zeros((x.nrows(), rows));
        for (xi, mut out_row) in x.rows().into_iter().zip(out.rows_mut()) {
            let mut scores: Vec<f64> = self
                .coefficients
                .chunks_exact(p)
                .zip(&self.intercepts)
                .map(|(w, b)| xi.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() + b)
                .collect();
            softmax_in_place(&mut scores);
            out_row.iter_mut().zip(scores).for_each(|(o, s)| *o = s);
        }
        Ok(out)
    }
}

impl LogisticRegression {
    /// P(class 1) for every row of `x` (a binary model).
    fn positive_proba(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>, ModelError> {
        check_input(x, self.coefficients.len())?;
        let intercept = self.intercept();
        Ok(x.rows()
            .into_iter()
            .map(|r| sigmoid(r.iter().zip(&self.coefficients).map(|(a, b)| a * b).sum::<f64>() + intercept))
            .collect())
    }
}

/// The power of two each column is multiplied by while fitting: Newton's method runs on the
/// columns times powers of two, which bring each column's largest magnitude above 1 into [1, 2):
/// an exact change of unit (`w_j = v_j * unit_j` for the weights `v` it finds) that keeps the
/// Hessian's squares from overflowing on features around 1e154 and the steps well scaled.
/// Columns below 1 stay as they are.
fn units(x: ArrayView2<'_, f64>) -> Vec<f64> {
    x.columns()
        .into_iter()
        .map(|c| {
            let largest = c.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            if largest >= 2.0 { times_pow2(1.0, -binary_exponent(largest)) } else { 1.0 }
        })
        .collect()
}

/// Fits the multinomial model for `k >= 3` classes on checked data (see [`LogisticRegression`]):
/// Newton's method on the parameters `[v_c, b_c]` of each class in the units of [`units`], with
/// the same line search and stopping rules as the binary fit.
fn fit_multinomial(
    x: ArrayView2<'_, f64>,
    y: &[usize],
    k: usize,
    unit: &[f64],
    params: &LogisticParams,
) -> LogisticRegression {
    let (n, p) = x.dim();
    // Per class: p weights, then the intercept (absent without fit_intercept).
    let q = if params.fit_intercept { p + 1 } else { p };
    let dim = k * q;
    // Row-major copy in the new units, with a trailing 1 for the intercept.
    let mut data = Vec::with_capacity(n * q);
    for r in x.rows() {
        data.extend(r.iter().zip(unit).map(|(v, u)| v * u));
        if params.fit_intercept {
            data.push(1.0);
        }
    }
    let row = |i: usize| &data[i * q..(i + 1) * q];
    // The objective divided by C, as for two classes: `sum_i CE_i + 0.5 * sum_cj rho_j * v_cj^2`
    // with `rho_j = unit_j^2 / C`, plus `0.5 * (sum_c b_c)^2`, which fixes the intercepts' free
    // common shift at a zero sum and vanishes at the optimum.
    let rho: Vec<f64> = unit.iter().map(|u| u * (u / params.c)).collect();
    let intercept_sum = |theta: &[f64]| -> f64 {
        if params.fit_intercept { (0..k).map(|c| theta[c * q + p]).sum() } else { 0.0 }
    };
    let mut scores = vec![0.0; k];
    let logits = |theta: &[f64], i: usize, out: &mut Vec<f64>| {
        let xi = row(i);
        out.clear();
        out.extend(theta.chunks_exact(q).map(|t| dot(xi, t)));
    };
    let objective = |theta: &[f64], scores: &mut Vec<f64>| {
        let mut loss = 0.0;
        for (i, &label) in y.iter().enumerate() {
            logits(theta, i, scores);
            loss += log_sum_exp(scores) - scores[label];
        }
        let mut penalty = 0.0;
        for t in theta.chunks_exact(q) {
            penalty += t[..p].iter().zip(&rho).map(|(v, r)| r * v * v).sum::<f64>();
        }
        let s = intercept_sum(theta);
        loss + 0.5 * penalty + 0.5 * s * s
    };

    let mut theta = vec![0.0; dim];
    let mut f = objective(&theta, &mut scores);
    let mut grad = vec![0.0; dim];
    let mut hess = vec![0.0; dim * dim];
    let mut n_iter = 0;
    let mut converged = false;
    while n_iter < params.max_iter {
        n_iter += 1;
        grad.iter_mut().for_each(|g| *g = 0.0);
        hess.iter_mut().for_each(|h| *h = 0.0);
        for (i, &label) in y.iter().enumerate() {
            logits(&theta, i, &mut scores);
            softmax_in_place(&mut scores);
            let xi = row(i);
            for c in 0..k {
                let r = scores[c] - if c == label { 1.0 } else { 0.0 };
                for (g, xa) in grad[c * q..(c + 1) * q].iter_mut().zip(xi) {
                    *g += r * xa;
                }
                // Lower triangle: blocks (c, d) with d <= c, weight p_c * (delta_cd - p_d).
                for d in 0..=c {
                    let w = scores[c] * (if c == d { 1.0 } else { 0.0 } - scores[d]);
                    for a in 0..q {
                        let wxa = w * xi[a];
                        let base = (c * q + a) * dim + d * q;
                        let last = if c == d { a + 1 } else { q };
                        for (h, xb) in hess[base..base + last].iter_mut().zip(xi) {
                            *h += wxa * xb;
                        }
                    }
                }
            }
        }
        for a in 0..dim {
            for b in 0..a {
                hess[b * dim + a] = hess[a * dim + b];
            }
        }
        for c in 0..k {
            for (j, r) in rho.iter().enumerate() {
                let a = c * q + j;
                grad[a] += r * theta[a];
                hess[a * dim + a] += r;
            }
        }
        if params.fit_intercept {
            let s = intercept_sum(&theta);
            for c in 0..k {
                grad[c * q + p] += s;
                for d in 0..k {
                    hess[(c * q + p) * dim + d * q + p] += 1.0;
                }
            }
        }
        // Converged when every gradient entry is below 1e-10 of the size of the terms it sums:
        // the n losses' (each below 2 in the new units) and the penalty's.
        let small = |a: usize| {
            let j = a % q;
            let penalty = if j < p { (rho[j] * theta[a]).abs() } else { 0.0 };
            grad[a].abs() <= 1e-10 * (n as f64 + penalty)
        };
        let at_tolerance = (0..dim).all(small);
        let (step, newton) = match solve_spd(&hess, &grad, dim) {
            Some(s) => (s, true),
            None => (grad.clone(), false),
        };
        let slope: f64 = grad.iter().zip(&step).map(|(g, s)| g * s).sum();
        if at_tolerance || newton && at_rounding_floor(0.5 * slope, f, n) {
            // One last full Newton step: convergence is quadratic, so it takes the coefficients
            // from a gradient of 1e-10 n (or a decrease below what f can show, where a line
            // search would only halve the step on rounding noise) to the optimum's last digits,
            // unless it raises the objective by more than its rounding error.
            if newton {
                let candidate: Vec<f64> = theta.iter().zip(&step).map(|(t, s)| t - s).collect();
                if objective(&candidate, &mut scores) <= f + 4.0 * (n as f64 + 1.0) * f64::EPSILON * f.abs() {
                    theta = candidate;
                }
            }
            converged = true;
            break;
        }
        let mut alpha = 1.0;
        let mut accepted = false;
        let mut candidate = vec![0.0; dim];
        for _ in 0..60 {
            for a in 0..dim {
                candidate[a] = theta[a] - alpha * step[a];
            }
            let fc = objective(&candidate, &mut scores);
            if fc <= f - 1e-4 * alpha * slope {
                accepted = true;
                let moved = (0..dim).fold(0.0f64, |m, a| m.max((candidate[a] - theta[a]).abs()));
                let scale = theta.iter().fold(1.0f64, |m, t| m.max(t.abs()));
                theta.copy_from_slice(&candidate);
                f = fc;
                if moved <= 1e-12 * scale {
                    converged = true;
                }
                break;
            }
            alpha *= 0.5;
        }
        if !accepted {
            converged = newton && at_rounding_floor(0.5 * slope, f, n);
            break;
        }
        if converged {
            break;
        }
    }
    let mut coefficients = Vec::with_capacity(k * p);
    let mut intercepts = Vec::with_capacity(k);
    for t in theta.chunks_exact(q) {
        coefficients.extend(t[..p].iter().zip(unit).map(|(v, u)| v * u));
        intercepts.push(if params.fit_intercept { t[p] } else { 0.0 });
    }
    LogisticRegression { coefficients, intercepts, n_iter, converged }
}

// ---------- the artifact shape ----------

/// The fields of either shape, for formats that name them.
const FIELDS: &[&str] = &["coefficients", "intercept", "n_iter", "converged", "multiclass"];

/// A multiclass model's body, after the mark (an empty `coefficients`).
#[derive(Serialize)]
struct MulticlassRef<'a> {
    coefficients: &'a [f64],
    intercepts: &'a [f64],
    n_iter: usize,
    converged: bool,
}

#[derive(Deserialize)]
struct Multiclass {
    coefficients: Vec<f64>,
    intercepts: Vec<f64>,
    n_iter: usize,
    converged: bool,
}

impl From<Multiclass> for LogisticRegression {
    fn from(m: Multiclass) -> LogisticRegression {
        LogisticRegression {
            coefficients: m.coefficients,
            intercepts: m.intercepts,
            n_iter: m.n_iter,
            converged: m.converged,
        }
    }
}

impl Serialize for LogisticRegression {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if let [intercept] = self.intercepts[..] {
            let mut s = serializer.serialize_struct("LogisticRegression", 4)?;
            s.serialize_field("coefficients", &self.coefficients)?;
            s.serialize_field("intercept", &intercept)?;
            s.serialize_field("n_iter", &self.n_iter)?;
            s.serialize_field("converged", &self.converged)?;
            s.end()
        } else {
            let mut s = serializer.serialize_struct("LogisticRegression", 2)?;
            s.serialize_field("coefficients", &[0.0f64; 0][..])?;
            let body = MulticlassRef {
                coefficients: &self.coefficients,
                intercepts: &self.intercepts,
                n_iter: self.n_iter,
                converged: self.converged,
            };
            s.serialize_field("multiclass", &body)?;
            s.end()
        }
    }
}

impl<'de> Deserialize<'de> for LogisticRegression {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<LogisticRegression, D::Error> {
        deserializer.deserialize_struct("LogisticRegression", FIELDS, LogisticVisitor)
    }
}

struct LogisticVisitor;

/// The element at `index` of a sequence, which must be there.
fn element<'de, A: SeqAccess<'de>, T: Deserialize<'de>>(seq: &mut A, index: usize) -> Result<T, A::Error> {
    seq.next_element()?.ok_or_else(|| de::Error::invalid_length(index, &LogisticVisitor))
}

impl<'de> Visitor<'de> for LogisticVisitor {
    type Value = LogisticRegression;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a fitted logistic regression")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<LogisticRegression, A::Error> {
        let coefficients: Vec<f64> = element(&mut seq, 0)?;
        if coefficients.is_empty() {
            let body: Multiclass = element(&mut seq, 1)?;
            return Ok(body.into());
        }
        let intercept = element(&mut seq, 1)?;
        let n_iter = element(&mut seq, 2)?;
        let converged = element(&mut seq, 3)?;
        Ok(LogisticRegression { coefficients, intercepts: vec![intercept], n_iter, converged })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LogisticRegression, A::Error> {
        let (mut coefficients, mut intercept, mut n_iter, mut converged) = (None, None, None, None);
        let mut multiclass: Option<Multiclass> = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "coefficients" => coefficients = Some(map.next_value::<Vec<f64>>()?),
                "intercept" => intercept = Some(map.next_value::<f64>()?),
                "n_iter" => n_iter = Some(map.next_value::<usize>()?),
                "converged" => converged = Some(map.next_value::<bool>()?),
                "multiclass" => multiclass = Some(map.next_value()?),
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        if let Some(body) = multiclass {
            return Ok(body.into());
        }
        Ok(LogisticRegression {
            coefficients: coefficients.ok_or_else(|| de::Error::missing_field("coefficients"))?,
            intercepts: vec![intercept.ok_or_else(|| de::Error::missing_field("intercept"))?],
            n_iter: n_iter.ok_or_else(|| de::Error::missing_field("n_iter"))?,
            converged: converged.ok_or_else(|| de::Error::missing_field("converged"))?,
        })
    }
}

/// Whether a predicted `decrease` of the objective `f` (a sum of `n` losses) is below the rounding
/// error of evaluating it, so that no step can show it.
fn at_rounding_floor(decrease: f64, f: f64, n: usize) -> bool {
    decrease <= 4.0 * (n as f64 + 1.0) * f64::EPSILON * f.abs()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn gradient_is_zero_at_the_optimum() {
        let x = array![[0.0, 1.0], [1.0, 3.0], [2.0, 0.5], [3.0, 2.0], [4.0, 1.0], [1.5, 2.5]];
        let y = [0, 0, 1, 1, 1, 0];
        let m = LogisticRegression::fit(x.view(), &y, &LogisticParams::default()).unwrap();
        assert!(m.converged());
        let p = m.predict_positive(x.view()).unwrap();
        for j in 0..2 {
            let g: f64 = (0..6).map(|i| (p[i] - y[i] as f64) * x[[i, j]]).sum::<f64>() + m.coefficients[j];
            assert!(g.abs() < 1e-8, "gradient {g}");
        }
        let gb: f64 = (0..6).map(|i| p[i] - y[i] as f64).sum();
        assert!(gb.abs() < 1e-8);
    }

    /// The optimality conditions at any scale: each weight's gradient `sum_i (p_i - y_i) x_ij +
    /// w_j / C` in units of `1 / largest |x_j|` (for columns above 1, as the solver works), and the
    /// intercept's, are below 1e-8 n.
    fn assert_optimal(x: ndarray::ArrayView2<'_, f64>, y: &[usize], c: f64, m: &LogisticRegression) {
        let p = m.predict_positive(x).unwrap();
        let n = y.len() as f64;
        let r: Vec<f64> = p.iter().zip(y).map(|(p, &t)| p - t as f64).collect();
        for (j, col) in x.columns().into_iter().enumerate() {
            let largest = col.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let unit = if largest > 1.0 { 1.0 / largest } else { 1.0 };
            let g =
                col.iter().zip(&r).map(|(v, r)| r * (v * unit)).sum::<f64>() + (m.coefficients[j] * unit) / c;
            assert!(g.abs() <= 1e-8 * n, "C {c:e}, column {j} (up to {largest:e}): gradient {g:e}");
        }
        let gb: f64 = r.iter().sum();
        assert!(gb.abs() <= 1e-8 * n, "C {c:e}: intercept gradient {gb:e}");
    }

    #[test]
    fn converged_fits_are_optimal_at_any_scale_and_any_c() {
        let base = array![[0.0, 1.0], [1.0, 3.0], [2.0, 0.5], [3.0, 2.0], [4.0, 1.0], [1.5, 2.5], [2.5, 0.0]];
        let y = [0, 0, 1, 1, 1, 0, 1];
        for factor in [1e-150, 1.0, 1e154, 1e300] {
            let x = base.mapv(|v| v * factor);
            // C from the smallest normal number to the largest: the objective is divided by C, so
            // neither end overflows (scikit-learn's form, C * losses, is inf at C = 1e308).
            for c in [f64::MIN_POSITIVE, 1e-12, 1.0, 1e12, 1e308, f64::MAX] {
                let m = LogisticRegression::fit(x.view(), &y, &LogisticParams { c, ..Default::default() })
                    .unwrap();
                assert!(m.converged(), "factor {factor:e}, C {c:e}: {} iterations", m.n_iter);
                assert_optimal(x.view(), &y, c, &m);
            }
        }
    }

    #[test]
    fn tiny_c_still_fits_the_intercept() {
        // With C = 1e-12 the weights are ~0 and the intercept is log(3 / 1), scikit-learn's
        // 1.0986123 (the gradient criterion used to stop at b = 0, tolerance 1e-10 > C * n).
        let x = array![[0.0], [1.0], [2.0], [3.0]];
        let m = LogisticRegression::fit(
            x.view(),
            &[0, 1, 1, 1],
            &LogisticParams { c: 1e-12, ..Default::default() },
        )
        .unwrap();
        assert!((m.intercept() - 3f64.ln()).abs() < 1e-9, "{}", m.intercept());
        assert!(m.coefficients[0].abs() < 1e-11);
    }

    #[test]
    fn a_stalled_search_is_converged_only_at_the_rounding_floor() {
        // Near the optimum the predicted decrease is below what f can show.
        assert!(at_rounding_floor(1e-18, 100.0, 1000));
        // Far from it (a first step on features around 1e154 predicted ~1e300) it is a failure.
        assert!(!at_rounding_floor(1e300, 100.0, 1000));
        assert!(!at_rounding_floor(1e-6, 100.0, 1000));
    }

    /// The binary-only model's shape, as it was serialized before multiclass support.
    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct BinaryOnly {
        coefficients: Vec<f64>,
        intercept: f64,
        n_iter: usize,
        converged: bool,
    }

    #[test]
    fn binary_bytes_are_those_of_the_binary_only_model() {
        use mlflow_core::codec::{decode, encode};
        let x = array![[0.0, 1.0], [1.0, 3.0], [2.0, 0.5], [3.0, 2.0], [4.0, 1.0], [1.5, 2.5]];
        let m = LogisticRegression::fit(x.view(), &[0, 0, 1, 1, 1, 0], &LogisticParams::default()).unwrap();
        let old = BinaryOnly {
            coefficients: m.coefficients.clone(),
            intercept: m.intercept(),
            n_iter: m.n_iter,
            converged: m.converged,
        };
        let bytes = encode(&old).unwrap();
        assert_eq!(encode(&m).unwrap(), bytes);
        assert_eq!(decode::<LogisticRegression>(&bytes, 1 << 20).unwrap(), m);
        // JSON names the fields: both shapes round-trip, and the binary one is the old JSON.
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, serde_json::to_string(&old).unwrap());
        assert_eq!(serde_json::from_str::<LogisticRegression>(&json).unwrap(), m);
        let multi =
            LogisticRegression::fit(x.view(), &[0, 1, 2, 2, 1, 0], &LogisticParams::default()).unwrap();
        let bytes = encode(&multi).unwrap();
        assert_eq!(bytes[0], 0, "the multiclass mark: an empty coefficient vector");
        assert_eq!(decode::<LogisticRegression>(&bytes, 1 << 20).unwrap(), multi);
        let json = serde_json::to_string(&multi).unwrap();
        assert_eq!(serde_json::from_str::<LogisticRegression>(&json).unwrap(), multi);
        assert!(decode::<LogisticRegression>(&bytes[..bytes.len() - 1], 1 << 20).is_err());
    }

    #[test]
    fn separable_data_stays_finite() {
        let x = array![[0.0], [1.0], [10.0], [11.0]];
        let m = LogisticRegression::fit(
            x.view(),
            &[0, 0, 1, 1],
            &LogisticParams { c: 1e6, ..Default::default() },
        )
        .unwrap();
        assert!(m.coefficients[0].is_finite() && m.intercept().is_finite());
    }
}
