//! The tree-structured Parzen estimator (TPE): the next trial's params from the trials so far.

use rand::Rng;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

use super::{Dimension, Dist, ParamValue, Params, Space, TuneError, trial_seed};

/// TPE's settings (Optuna's defaults: 10 random startup trials, 24 candidates per draw, the
/// best `min(ceil(0.1 n), 25)` trials are "good").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tpe {
    /// Trials drawn at random before the estimator is used.
    pub startup_trials: usize,
    /// Candidates drawn from the good trials' density, of which the most promising is asked.
    pub candidates: usize,
    /// The study's seed.
    pub seed: u64,
}

/// A finished trial: its params and its score (NaN for a failed trial, which TPE counts as the
/// worst).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observed {
    /// The trial's params.
    pub params: Params,
    /// Its score.
    pub score: f64,
}

impl Tpe {
    /// Optuna's defaults with `seed`.
    pub fn new(seed: u64) -> Self {
        Tpe { startup_trials: 10, candidates: 24, seed }
    }

    /// The params of trial number `history.len()`: drawn at random (seeded by the study's seed
    /// and the trial number) for the first `startup_trials`, then per hyperparameter the value
    /// among `candidates` draws from the density of the good trials that is likeliest under it
    /// relative to the density of the others (independent TPE; a conditional hyperparameter
    /// learns from the trials where it exists). Deterministic: the same history and seed ask the
    /// same params.
    ///
    /// ```
    /// use mlflow_ml::tune::{Observed, Space, Tpe};
    /// let space = Space::new().float("x", -5.0, 5.0);
    /// let tpe = Tpe::new(3);
    /// let mut history = Vec::new();
    /// for _ in 0..40 {
    ///     let params = tpe.ask(&space, &history, true)?;
    ///     let x = params["x"].as_f64().unwrap();
    ///     history.push(Observed { params, score: -(x - 2.0).powi(2) }); // best at x = 2
    /// }
    /// let best = history.iter().map(|t| t.score).fold(f64::NEG_INFINITY, f64::max);
    /// assert!(best > -0.05, "{best}");
    /// # Ok::<(), mlflow_ml::tune::TuneError>(())
    /// ```
    pub fn ask(
        &self,
        space: &Space,
        history: &[Observed],
        higher_is_better: bool,
    ) -> Result<Params, TuneError> {
        self.ask_at(space, history, history.len() as u64, higher_is_better)
    }

    /// [`Tpe::ask`] for trial number `trial` (at least `history.len()`): the trials of a batch,
    /// asked from the same history to run in parallel, differ by their numbers' seeds.
    pub fn ask_at(
        &self,
        space: &Space,
        history: &[Observed],
        trial: u64,
        higher_is_better: bool,
    ) -> Result<Params, TuneError> {
        space.check()?;
        let mut rng = StdRng::seed_from_u64(trial_seed(self.seed, trial));
        if history.len() < self.startup_trials {
            return space.sample(&mut rng);
        }
        // Losses: lower is better, NaN the worst.
        let loss = |t: &Observed| {
            let l = if higher_is_better { -t.score } else { t.score };
            if l.is_nan() { f64::INFINITY } else { l }
        };
        let mut order: Vec<usize> = (0..history.len()).collect();
        order.sort_by(|&a, &b| loss(&history[a]).total_cmp(&loss(&history[b])).then(a.cmp(&b)));
        let n_good = (history.len() as f64 * 0.1).ceil().min(25.0) as usize;
        let good: Vec<&Params> = order[..n_good.max(1)].iter().map(|&i| &history[i].params).collect();
        let bad: Vec<&Params> = order[n_good.max(1)..].iter().map(|&i| &history[i].params).collect();
        let mut params = Params::new();
        for dim in &space.dims {
            if let Some((parent, allowed)) = &dim.when
                && !params.get(parent).is_some_and(|v| allowed.contains(v))
            {
                continue;
            }
            let value = self.suggest(dim, &good, &bad, &mut rng);
            params.insert(dim.name.clone(), value);
        }
        Ok(params)
    }

    fn suggest(&self, dim: &Dimension, good: &[&Params], bad: &[&Params], rng: &mut StdRng) -> ParamValue {
        let seen = |trials: &[&Params]| -> Vec<ParamValue> {
            trials.iter().filter_map(|p| p.get(&dim.name).cloned()).collect()
        };
        let (good, bad) = (seen(good), seen(bad));
        match &dim.dist {
            Dist::Choice(values) => {
                let weights = |seen: &[ParamValue]| -> Vec<f64> {
                    // One prior observation spread over the choices, as Optuna's prior weight 1.
                    values
                        .iter()
                        .map(|v| seen.iter().filter(|s| *s == v).count() as f64 + 1.0 / values.len() as f64)
                        .collect()
                };
                let (l, g) = (weights(&good), weights(&bad));
                let (l_sum, g_sum): (f64, f64) = (l.iter().sum(), g.iter().sum());
                let mut best = (f64::NEG_INFINITY, 0);
                for _ in 0..self.candidates {
                    let mut pick = rng.gen_range(0.0..l_sum);
                    let k = l.iter().position(|w| {
                        pick -= w;
                        pick < 0.0
                    });
                    let k = k.unwrap_or(values.len() - 1);
                    let ratio = (l[k] / l_sum).ln() - (g[k] / g_sum).ln();
                    if ratio > best.0 {
                        best = (ratio, k);
                    }
                }
                values[best.1].clone()
            }
            Dist::Int { low, high, step, log } => {
                let (lo, hi) = (*low as f64 - 0.5 * *step as f64, *high as f64 + 0.5 * *step as f64);
                let x = self.numeric(&good, &bad, lo, hi, *log, rng);
                let k = ((x - *low as f64) / *step as f64).round() as i64;
                ParamValue::Int((low + k * step).clamp(*low, *high))
            }
            Dist::Float { low, high, step, log } => {
                let x = self.numeric(&good, &bad, *low, *high, *log, rng);
                match step {
                    Some(step) => {
                        let n = ((high - low) / step + 1e-6).floor();
                        ParamValue::Float(low + ((x - low) / step).round().clamp(0.0, n) * step)
                    }
                    None => ParamValue::Float(x.clamp(*low, *high)),
                }
            }
        }
    }

    /// A value in `[low, high]` (on a log scale if `log`) maximizing l(x) / g(x) among draws
    /// from l.
    fn numeric(
        &self,
        good: &[ParamValue],
        bad: &[ParamValue],
        low: f64,
        high: f64,
        log: bool,
        rng: &mut StdRng,
    ) -> f64 {
        let to = |x: f64| if log { x.max(f64::MIN_POSITIVE).ln() } else { x };
        let (lo, hi) = (to(low), to(high));
        let points = |seen: &[ParamValue]| -> Vec<f64> {
            seen.iter().filter_map(ParamValue::as_f64).map(to).collect()
        };
        let l = Parzen::new(&points(good), lo, hi);
        let g = Parzen::new(&points(bad), lo, hi);
        let mut best = (f64::NEG_INFINITY, (lo + hi) / 2.0);
        for _ in 0..self.candidates {
            let x = l.sample(rng);
            let ratio = l.log_density(x) - g.log_density(x);
            if ratio > best.0 {
                best = (ratio, x);
            }
        }
        if log { best.1.exp() } else { best.1 }
    }
}

/// A mixture of Gaussians, one per observation plus a wide prior, truncated to `[low, high]`.
struct Parzen {
    means: Vec<f64>,
    sigmas: Vec<f64>,
    low: f64,
    high: f64,
}

impl Parzen {
    fn new(points: &[f64], low: f64, high: f64) -> Parzen {
        let width = (high - low).max(f64::MIN_POSITIVE);
        let mut means: Vec<f64> = points.to_vec();
        means.push((low + high) / 2.0);
        let mut sorted = means.clone();
        sorted.sort_by(f64::total_cmp);
        // Each observation's bandwidth: the larger gap to its neighbours (hyperopt's rule),
        // between width / min(100, n + 1) and the width.
        let floor = width / (100.0f64).min(means.len() as f64 + 1.0);
        let sigmas = means
            .iter()
            .enumerate()
            .map(|(i, &m)| {
                if i == means.len() - 1 {
                    return width; // the prior
                }
                let at = sorted.partition_point(|&s| s < m);
                let left = if at > 0 { m - sorted[at - 1] } else { m - low };
                let right = sorted.get(at + 1).map_or(high - m, |&s| s - m);
                left.max(right).clamp(floor, width)
            })
            .collect();
        Parzen { means, sigmas, low, high }
    }

    fn sample(&self, rng: &mut StdRng) -> f64 {
        let k = rng.gen_range(0..self.means.len());
        // Truncation by redrawing, a bounded number of times, then clamping.
        for _ in 0..16 {
            let x = self.means[k] + self.sigmas[k] * standard_normal(rng);
            if (self.low..=self.high).contains(&x) {
                return x;
            }
        }
        self.means[k].clamp(self.low, self.high)
    }

    fn log_density(&self, x: f64) -> f64 {
        let n = self.means.len() as f64;
        let density: f64 = self
            .means
            .iter()
            .zip(&self.sigmas)
            .map(|(m, s)| (-0.5 * ((x - m) / s).powi(2)).exp() / (s * (2.0 * std::f64::consts::PI).sqrt()))
            .sum::<f64>()
            / n;
        density.max(f64::MIN_POSITIVE).ln()
    }
}

/// A standard normal draw (Box-Muller).
fn standard_normal(rng: &mut StdRng) -> f64 {
    let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
    let u2: f64 = rng.gen_range(0.0..1.0);
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}
