//! L2-regularized logistic regression, fitted by Newton's method.

use ndarray::{Array1, ArrayView2};
use serde::{Deserialize, Serialize};

use super::{Classifier, ModelError, check_input, check_training, invalid, sigmoid, solve_spd};

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
    /// Inverse regularization strength (> 0): smaller means a stronger L2 penalty.
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

/// A fitted logistic regression: `P(class 1 | x) = 1 / (1 + exp(-(w . x + b)))`.
///
/// Fitting minimizes scikit-learn's objective `0.5 * |w|^2 + C * sum_i logloss_i` (the intercept is
/// not penalized) with Newton's method and a backtracking line search, solving each Newton system
/// by Cholesky. The objective is strictly convex, so the result is the unique optimum to machine
/// precision (scikit-learn's L-BFGS stops earlier, at its `tol`, so coefficients agree to a few
/// digits). Features need not be scaled, but scaling keeps the penalty fair between features.
///
/// ```
/// use mlflow_ml::models::{Classifier, LogisticParams, LogisticRegression};
/// use ndarray::array;
/// let x = array![[0.0], [1.0], [2.0], [3.0]];
/// let m = LogisticRegression::fit(x.view(), &[0, 0, 1, 1], &LogisticParams::default())?;
/// assert!(m.coefficients()[0] > 0.0 && m.converged());
/// let p = m.predict_proba(array![[1.5]].view())?;
/// assert!((p[0] - 0.5).abs() < 1e-9);
/// # Ok::<(), mlflow_ml::models::ModelError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticRegression {
    coefficients: Vec<f64>,
    intercept: f64,
    n_iter: usize,
    converged: bool,
}

impl LogisticRegression {
    /// Fits the model on `x` (rows = samples) and 0/1 labels `y`.
    ///
    /// Stopping at `max_iter` before convergence is not an error; [`LogisticRegression::converged`]
    /// tells.
    ///
    /// ```
    /// use mlflow_ml::models::{LogisticParams, LogisticRegression, ModelError};
    /// use ndarray::array;
    /// let bad = LogisticParams { c: 0.0, ..Default::default() };
    /// let err = LogisticRegression::fit(array![[0.0], [1.0]].view(), &[0, 1], &bad).unwrap_err();
    /// assert!(matches!(err, ModelError::InvalidParam { param: "c", .. }));
    /// ```
    pub fn fit(x: ArrayView2<'_, f64>, y: &[usize], params: &LogisticParams) -> Result<Self, ModelError> {
        if !(params.c > 0.0 && params.c.is_finite()) {
            return Err(invalid(KIND, "c", params.c, "a finite number > 0"));
        }
        if params.max_iter == 0 {
            return Err(invalid(KIND, "max_iter", 0, "at least 1"));
        }
        check_training(x, y)?;
        let (n, p) = x.dim();
        // Parameters: p weights, then the intercept (kept at 0 without fit_intercept).
        let dim = if params.fit_intercept { p + 1 } else { p };
        let c = params.c;
        let data: Vec<f64> = x.iter().copied().collect(); // row-major copy
        let row = |i: usize| &data[i * p..(i + 1) * p];
        let target: Vec<f64> = y.iter().map(|&l| l as f64).collect();
        let objective = |theta: &[f64]| -> f64 {
            let (w, b) = theta.split_at(p);
            let b = b.first().copied().unwrap_or(0.0);
            let mut loss = 0.0;
            for (i, t) in target.iter().enumerate() {
                let z = dot(row(i), w) + b;
                // log(1 + exp(z)) - t * z, computed without overflow
                loss += z.max(0.0) + (-z.abs()).exp().ln_1p() - t * z;
            }
            0.5 * dot(w, w) + c * loss
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
                let r = c * (prob - t);
                let d = c * prob * (1.0 - prob);
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
                grad[a] += theta[a];
                hess[a * dim + a] += 1.0;
            }
            let gmax = grad.iter().fold(0.0f64, |m, g| m.max(g.abs()));
            if gmax <= 1e-10 * (1.0 + c * n as f64) {
                converged = true;
                break;
            }
            let step = match solve_spd(&hess, &grad, dim) {
                Some(s) => s,
                None => {
                    // Numerically singular (e.g. an unpenalized intercept with perfectly separated
                    // classes): fall back to a gradient step, which the line search scales.
                    grad.clone()
                }
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
            if !accepted || converged {
                // No further decrease is possible in floating point: we are at the optimum.
                converged = true;
                break;
            }
        }
        let intercept = if params.fit_intercept { theta[p] } else { 0.0 };
        theta.truncate(p);
        Ok(LogisticRegression { coefficients: theta, intercept, n_iter, converged })
    }

    /// The weights `w`, one per feature.
    ///
    /// ```
    /// use mlflow_ml::models::{LogisticParams, LogisticRegression};
    /// use ndarray::array;
    /// let m = LogisticRegression::fit(array![[0.0, 1.0], [1.0, 0.0]].view(), &[0, 1], &LogisticParams::default())?;
    /// assert_eq!(m.coefficients().len(), 2);
    /// # Ok::<(), mlflow_ml::models::ModelError>(())
    /// ```
    pub fn coefficients(&self) -> &[f64] {
        &self.coefficients
    }

    /// The intercept `b` (0 when fitted without one).
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
        self.intercept
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

    /// Whether the optimum was reached within `max_iter` iterations.
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
        self.coefficients.len()
    }

    fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>, ModelError> {
        check_input(x, self.coefficients.len())?;
        Ok(x.rows()
            .into_iter()
            .map(|r| {
                sigmoid(r.iter().zip(&self.coefficients).map(|(a, b)| a * b).sum::<f64>() + self.intercept)
            })
            .collect())
    }
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
        let p = m.predict_proba(x.view()).unwrap();
        for j in 0..2 {
            let g: f64 = (0..6).map(|i| (p[i] - y[i] as f64) * x[[i, j]]).sum::<f64>() + m.coefficients[j];
            assert!(g.abs() < 1e-8, "gradient {g}");
        }
        let gb: f64 = (0..6).map(|i| p[i] - y[i] as f64).sum();
        assert!(gb.abs() < 1e-8);
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
        assert!(m.coefficients[0].is_finite() && m.intercept.is_finite());
    }
}
