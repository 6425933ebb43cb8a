//! The three losses, as scikit-learn's `HalfSquaredError`, `HalfBinomialLoss` and
//! `HalfMultinomialLoss`: the baseline (intercept-only) prediction, the gradients and hessians of
//! each round (in `f32`, as scikit-learn stores them), and the mean loss that early stopping scores.

/// A boosting loss. Raw predictions are stored one column per tree of a round: `raw[k][row]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Loss {
    /// `(y - raw)^2 / 2`: regression; the hessian is constant (1).
    Squared,
    /// `log(1 + exp(raw)) - y raw`: binary classification, one tree per round.
    Binary,
    /// `logsumexp(raw) - raw[y]`: `k` classes, `k` trees per round.
    Multinomial(usize),
}

impl Loss {
    /// Trees per boosting round.
    pub fn trees_per_round(self) -> usize {
        match self {
            Loss::Multinomial(k) => k,
            _ => 1,
        }
    }

    /// Whether every hessian is 1 (the histograms then count samples instead of summing hessians).
    pub fn constant_hessian(self) -> bool {
        self == Loss::Squared
    }

    /// The intercept-only raw prediction: the mean of `y`; the log-odds of the class-1 rate; the
    /// logs of the class rates less their mean (scikit-learn's symmetric multinomial logit).
    pub fn baseline(self, y: &[f64]) -> Vec<f64> {
        let n = y.len() as f64;
        match self {
            Loss::Squared => vec![y.iter().sum::<f64>() / n],
            Loss::Binary => {
                let eps = 10.0 * f64::EPSILON;
                let p = (y.iter().sum::<f64>() / n).clamp(eps, 1.0 - eps);
                vec![(p / (1.0 - p)).ln()]
            }
            Loss::Multinomial(k) => {
                let mut counts = vec![0usize; k];
                for &label in y {
                    counts[label as usize] += 1;
                }
                let p: Vec<f64> =
                    counts.iter().map(|&c| (c as f64 / n).clamp(f64::EPSILON, 1.0 - f64::EPSILON)).collect();
                let geometric_mean = (p.iter().map(|p| p.ln()).sum::<f64>() / k as f64).exp();
                p.iter().map(|p| (p / geometric_mean).ln()).collect()
            }
        }
    }

    /// Fills the gradients (and hessians, unless constant) of every tree of the round.
    pub fn gradients(self, y: &[f64], raw: &[Vec<f64>], g: &mut [Vec<f32>], h: &mut [Vec<f32>]) {
        match self {
            Loss::Squared => {
                for ((g, &r), &y) in g[0].iter_mut().zip(&raw[0]).zip(y) {
                    *g = (r - y) as f32;
                }
            }
            Loss::Binary => {
                for (((g, h), &r), &y) in g[0].iter_mut().zip(h[0].iter_mut()).zip(&raw[0]).zip(y) {
                    let (grad, hess) = if r > -37.0 {
                        let e = (-r).exp();
                        (((1.0 - y) - y * e) / (1.0 + e), e / ((1.0 + e) * (1.0 + e)))
                    } else {
                        let e = r.exp();
                        (e - y, e)
                    };
                    *g = grad as f32;
                    *h = hess as f32;
                }
            }
            Loss::Multinomial(k) => {
                let mut p = vec![0.0; k];
                for (row, &y) in y.iter().enumerate() {
                    softmax_into(raw.iter().map(|col| col[row]), &mut p);
                    for class in 0..k {
                        let target = if y as usize == class { 1.0 } else { 0.0 };
                        g[class][row] = (p[class] - target) as f32;
                        h[class][row] = (p[class] * (1.0 - p[class])) as f32;
                    }
                }
            }
        }
    }

    /// The mean loss of the raw predictions.
    pub fn mean_loss(self, y: &[f64], raw: &[Vec<f64>]) -> f64 {
        let total: f64 = match self {
            Loss::Squared => y.iter().zip(&raw[0]).map(|(&y, &r)| 0.5 * (r - y) * (r - y)).sum(),
            Loss::Binary => y
                .iter()
                .zip(&raw[0])
                .map(|(&y, &r)| if r <= 0.0 { log1p_exp(r) - y * r } else { log1p_exp(-r) + (1.0 - y) * r })
                .sum(),
            Loss::Multinomial(_) => y
                .iter()
                .enumerate()
                .map(|(row, &y)| {
                    let max = raw.iter().map(|c| c[row]).fold(f64::NEG_INFINITY, f64::max);
                    let sum: f64 = raw.iter().map(|c| (c[row] - max).exp()).sum();
                    max + sum.ln() - raw[y as usize][row]
                })
                .sum(),
        };
        total / y.len() as f64
    }
}

/// `log(1 + exp(x))` without overflow.
fn log1p_exp(x: f64) -> f64 {
    if x <= -37.0 {
        x.exp()
    } else if x <= 18.0 {
        x.exp().ln_1p()
    } else if x <= 33.3 {
        x + (-x).exp()
    } else {
        x
    }
}

/// The softmax of `raw` into `out` (the largest value subtracted first).
pub(super) fn softmax_into(raw: impl Iterator<Item = f64> + Clone, out: &mut [f64]) {
    let max = raw.clone().fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for (o, r) in out.iter_mut().zip(raw) {
        *o = (r - max).exp();
        sum += *o;
    }
    for o in out.iter_mut() {
        *o /= sum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baselines() {
        assert_eq!(Loss::Squared.baseline(&[1.0, 2.0, 6.0]), [3.0]);
        let b = Loss::Binary.baseline(&[0.0, 1.0, 1.0, 1.0]);
        assert!((b[0] - 3f64.ln()).abs() < 1e-15);
        let m = Loss::Multinomial(3).baseline(&[0.0, 1.0, 1.0, 2.0]);
        assert!((m[1] - m[0] - 2f64.ln()).abs() < 1e-15);
        assert!(m.iter().sum::<f64>().abs() < 1e-15);
    }

    #[test]
    fn gradients_match_the_formulas() {
        let y = [0.0, 1.0];
        let raw = vec![vec![0.0, 2.0]];
        let (mut g, mut h) = (vec![vec![0.0f32; 2]], vec![vec![0.0f32; 2]]);
        Loss::Binary.gradients(&y, &raw, &mut g, &mut h);
        let p = 1.0 / (1.0 + (-2.0f64).exp());
        assert_eq!(g[0], [0.5, (p - 1.0) as f32]);
        assert_eq!(h[0], [0.25, (p * (1.0 - p)) as f32]);
        Loss::Squared.gradients(&[1.0, 1.0], &raw, &mut g, &mut h);
        assert_eq!(g[0], [-1.0, 1.0]);
        assert!(
            (Loss::Binary.mean_loss(&y, &raw) - (2f64.ln() + (1.0 + (-2f64).exp()).ln()) / 2.0).abs() < 1e-15
        );
        let raw3 = vec![vec![0.0], vec![0.0], vec![0.0]];
        assert!((Loss::Multinomial(3).mean_loss(&[2.0], &raw3) - 3f64.ln()).abs() < 1e-15);
    }
}
