//! Search spaces: named hyperparameters, each a range of integers or floats (uniform, log or
//! stepped) or a list of choices, some of them present only for some values of another.

use std::collections::BTreeMap;
use std::fmt;

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::TuneError;

/// One hyperparameter value.
///
/// ```
/// use mlflow_ml::tune::ParamValue;
/// assert_eq!(ParamValue::from(3).to_string(), "3");
/// assert_eq!(ParamValue::from("rbf").to_string(), "rbf");
/// assert_eq!(ParamValue::from(0.5).as_f64(), Some(0.5));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ParamValue {
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A text choice.
    Text(String),
    /// A switch.
    Bool(bool),
}

impl ParamValue {
    /// The value as a float: integers and floats (for models that take numbers), else `None`.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            ParamValue::Int(v) => Some(*v as f64),
            ParamValue::Float(v) => Some(*v),
            _ => None,
        }
    }

    /// The value as an integer, for integers only.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            ParamValue::Int(v) => Some(*v),
            _ => None,
        }
    }

    /// The value as text, for text choices only.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            ParamValue::Text(v) => Some(v),
            _ => None,
        }
    }
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Int(v) => write!(f, "{v}"),
            ParamValue::Float(v) => write!(f, "{v}"),
            ParamValue::Text(v) => f.write_str(v),
            ParamValue::Bool(v) => write!(f, "{v}"),
        }
    }
}

impl From<i64> for ParamValue {
    fn from(v: i64) -> Self {
        ParamValue::Int(v)
    }
}

impl From<i32> for ParamValue {
    fn from(v: i32) -> Self {
        ParamValue::Int(v.into())
    }
}

impl From<f64> for ParamValue {
    fn from(v: f64) -> Self {
        ParamValue::Float(v)
    }
}

impl From<&str> for ParamValue {
    fn from(v: &str) -> Self {
        ParamValue::Text(v.to_owned())
    }
}

impl From<String> for ParamValue {
    fn from(v: String) -> Self {
        ParamValue::Text(v)
    }
}

impl From<bool> for ParamValue {
    fn from(v: bool) -> Self {
        ParamValue::Bool(v)
    }
}

/// One candidate's hyperparameters, by name (sorted, as scikit-learn's grid sorts them).
pub type Params = BTreeMap<String, ParamValue>;

/// Where a hyperparameter's values come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Dist {
    /// Integers from `low` to `high` (both included), every `step`; on a log scale if `log`
    /// (then `step` is 1).
    Int {
        /// Smallest value.
        low: i64,
        /// Largest value.
        high: i64,
        /// Distance between values.
        step: i64,
        /// Sample on a log scale.
        log: bool,
    },
    /// Floats from `low` to `high`; every `step` from `low` if given (then `high` is included
    /// when it falls on a step); on a log scale if `log`.
    Float {
        /// Smallest value.
        low: f64,
        /// Largest value.
        high: f64,
        /// Distance between values, for a stepped range.
        step: Option<f64>,
        /// Sample on a log scale.
        log: bool,
    },
    /// One of these values.
    Choice(Vec<ParamValue>),
}

/// A hyperparameter: its name, its values, and the condition for it to exist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dimension {
    /// The name the model's params know it by.
    pub name: String,
    /// Its values.
    pub dist: Dist,
    /// Present only when the choice `parent` (declared earlier) takes one of `values`.
    pub when: Option<(String, Vec<ParamValue>)>,
}

/// A search space: hyperparameters in the order declared. A space is a param of a pipeline: its
/// content is part of a study's identity.
///
/// ```
/// use mlflow_ml::tune::{ParamValue, Space};
/// let space = Space::new()
///     .choice("kernel", ["linear", "rbf"])
///     .choice("c", [1.0, 10.0])
///     .choice("gamma", [0.1, 1.0])
///     .when("kernel", ["rbf"]);
/// let grid = space.grid()?;
/// // scikit-learn's ParameterGrid([{"kernel": ["linear"], "c": [1, 10]},
/// //                               {"kernel": ["rbf"], "c": [1, 10], "gamma": [0.1, 1]}])
/// assert_eq!(grid.len(), 2 + 4);
/// assert_eq!(grid[0]["c"], ParamValue::Float(1.0));
/// assert!(!grid[0].contains_key("gamma"));
/// assert_eq!(grid[2]["gamma"], ParamValue::Float(0.1));
/// # Ok::<(), mlflow_ml::tune::TuneError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Space {
    /// The hyperparameters, in the order declared.
    pub dims: Vec<Dimension>,
}

impl Space {
    /// An empty space.
    pub fn new() -> Self {
        Space::default()
    }

    fn with(mut self, name: &str, dist: Dist) -> Self {
        self.dims.push(Dimension { name: name.to_owned(), dist, when: None });
        self
    }

    /// Integers from `low` to `high`, both included.
    pub fn int(self, name: &str, low: i64, high: i64) -> Self {
        self.with(name, Dist::Int { low, high, step: 1, log: false })
    }

    /// Integers from `low` to `high`, every `step`.
    pub fn int_step(self, name: &str, low: i64, high: i64, step: i64) -> Self {
        self.with(name, Dist::Int { low, high, step, log: false })
    }

    /// Integers from `low` to `high` on a log scale (`low` at least 1).
    pub fn int_log(self, name: &str, low: i64, high: i64) -> Self {
        self.with(name, Dist::Int { low, high, step: 1, log: true })
    }

    /// Floats from `low` to `high`, uniformly.
    pub fn float(self, name: &str, low: f64, high: f64) -> Self {
        self.with(name, Dist::Float { low, high, step: None, log: false })
    }

    /// Floats from `low` to `high` on a log scale (`low` above 0).
    pub fn float_log(self, name: &str, low: f64, high: f64) -> Self {
        self.with(name, Dist::Float { low, high, step: None, log: true })
    }

    /// Floats from `low`, every `step`, up to `high`.
    pub fn float_step(self, name: &str, low: f64, high: f64, step: f64) -> Self {
        self.with(name, Dist::Float { low, high, step: Some(step), log: false })
    }

    /// One of `values`.
    pub fn choice<V: Into<ParamValue>>(self, name: &str, values: impl IntoIterator<Item = V>) -> Self {
        self.with(name, Dist::Choice(values.into_iter().map(Into::into).collect()))
    }

    /// Makes the hyperparameter declared last exist only when the choice `parent` (declared
    /// before it) takes one of `values`.
    pub fn when<V: Into<ParamValue>>(mut self, parent: &str, values: impl IntoIterator<Item = V>) -> Self {
        if let Some(last) = self.dims.last_mut() {
            last.when = Some((parent.to_owned(), values.into_iter().map(Into::into).collect()));
        }
        self
    }

    /// Every mistake of the space: none at all, a repeated name, an empty or reversed range, a
    /// non-positive step, a log scale reaching 0, an empty choice, a condition on a hyperparameter
    /// that is not a choice declared before.
    pub fn check(&self) -> Result<(), TuneError> {
        if self.dims.is_empty() {
            return Err(TuneError::EmptySpace);
        }
        for (i, dim) in self.dims.iter().enumerate() {
            let bad = |detail: String| TuneError::BadDimension { name: dim.name.clone(), detail };
            if self.dims[..i].iter().any(|d| d.name == dim.name) {
                return Err(bad("declared twice; give each hyperparameter one name".into()));
            }
            match &dim.dist {
                Dist::Int { low, high, step, log } => {
                    if low > high {
                        return Err(bad(format!("the range {low}..={high} is empty; give low <= high")));
                    }
                    if *step < 1 {
                        return Err(bad(format!("step {step} is not positive")));
                    }
                    if *log && *low < 1 {
                        return Err(bad(format!("a log scale needs low >= 1, not {low}")));
                    }
                }
                Dist::Float { low, high, step, log } => {
                    if !(low.is_finite() && high.is_finite() && low <= high) {
                        return Err(bad(format!(
                            "the range {low}..={high} is not a finite range with low <= high"
                        )));
                    }
                    if let Some(step) = step
                        && !(step.is_finite() && *step > 0.0)
                    {
                        return Err(bad(format!("step {step} is not a positive number")));
                    }
                    if *log && *low <= 0.0 {
                        return Err(bad(format!("a log scale needs low > 0, not {low}")));
                    }
                }
                Dist::Choice(values) if values.is_empty() => {
                    return Err(bad("has no values to choose from; give at least one".into()));
                }
                Dist::Choice(_) => {}
            }
            if let Some((parent, _)) = &dim.when {
                let declared = self.dims[..i].iter().find(|d| &d.name == parent);
                if !matches!(declared, Some(Dimension { dist: Dist::Choice(_), .. })) {
                    return Err(bad(format!(
                        "depends on `{parent}`, which is not a choice declared before it; declare `{parent}` first with `choice`"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Every candidate of the space, in scikit-learn's `ParameterGrid` order: one sub-grid per
    /// combination of the values of the choices others depend on (in their order), each the
    /// product of its hyperparameters' values by sorted name, the last name varying fastest.
    /// Integer ranges give every step, float ranges need a step.
    ///
    /// Errors: those of [`Space::check`], and a range that has no grid (a float range without a
    /// step, a log-scaled range): list its values with `choice`.
    pub fn grid(&self) -> Result<Vec<Params>, TuneError> {
        self.check()?;
        let values: Vec<Vec<ParamValue>> = self.dims.iter().map(grid_values).collect::<Result<_, _>>()?;
        let parents: Vec<usize> = (0..self.dims.len())
            .filter(|&i| {
                self.dims.iter().any(|d| d.when.as_ref().is_some_and(|(p, _)| *p == self.dims[i].name))
            })
            .collect();
        let mut candidates = Vec::new();
        for branch in product(&parents.iter().map(|&p| values[p].len()).collect::<Vec<_>>()) {
            let chosen: Vec<(usize, &ParamValue)> =
                parents.iter().zip(&branch).map(|(&p, &k)| (p, &values[p][k])).collect();
            // The dimensions present in this branch, sorted by name, with their values.
            let mut present: Vec<(&str, Vec<ParamValue>)> = Vec::new();
            for (i, dim) in self.dims.iter().enumerate() {
                if !self.is_present(dim, &chosen) {
                    continue;
                }
                let own = match chosen.iter().find(|(p, _)| *p == i) {
                    Some((_, value)) => vec![(*value).clone()],
                    None => values[i].clone(),
                };
                present.push((&dim.name, own));
            }
            present.sort_by(|a, b| a.0.cmp(b.0));
            for pick in product(&present.iter().map(|(_, v)| v.len()).collect::<Vec<_>>()) {
                candidates.push(
                    present
                        .iter()
                        .zip(&pick)
                        .map(|((name, v), &k)| ((*name).to_owned(), v[k].clone()))
                        .collect(),
                );
            }
        }
        dedup_keep_first(&mut candidates);
        Ok(candidates)
    }

    /// Whether `dim` exists when the parents take the values `chosen` (parent index, value); a
    /// dimension whose parent is itself absent is absent.
    fn is_present(&self, dim: &Dimension, chosen: &[(usize, &ParamValue)]) -> bool {
        let Some((parent, allowed)) = &dim.when else { return true };
        let Some(p) = self.dims.iter().position(|d| &d.name == parent) else { return false };
        let value_present = chosen.iter().find(|(i, _)| *i == p).is_some_and(|(_, v)| allowed.contains(v));
        value_present && self.is_present(&self.dims[p], chosen)
    }

    /// One candidate drawn with `rng`: each hyperparameter in the order declared, a conditional one
    /// only when its parent's value calls for it.
    pub fn sample(&self, rng: &mut impl Rng) -> Result<Params, TuneError> {
        self.check()?;
        let mut params = Params::new();
        for dim in &self.dims {
            if let Some((parent, allowed)) = &dim.when
                && !params.get(parent).is_some_and(|v| allowed.contains(v))
            {
                continue;
            }
            params.insert(dim.name.clone(), draw(&dim.dist, rng));
        }
        Ok(params)
    }
}

/// A branch whose parents are all absent repeats another: keep the first.
fn dedup_keep_first(candidates: &mut Vec<Params>) {
    let mut seen: Vec<Params> = Vec::with_capacity(candidates.len());
    candidates.retain(|c| {
        if seen.contains(c) {
            false
        } else {
            seen.push(c.clone());
            true
        }
    });
}

/// Every index combination of lists of these lengths, the last varying fastest (`product`).
fn product(lengths: &[usize]) -> Vec<Vec<usize>> {
    let mut out = vec![Vec::new()];
    for &n in lengths {
        out = out
            .into_iter()
            .flat_map(|prefix| (0..n).map(move |k| [prefix.clone(), vec![k]].concat()))
            .collect();
    }
    out
}

fn grid_values(dim: &Dimension) -> Result<Vec<ParamValue>, TuneError> {
    let no_grid = |why: &str| TuneError::NoGrid { name: dim.name.clone(), detail: why.to_owned() };
    match &dim.dist {
        Dist::Choice(values) => Ok(values.clone()),
        Dist::Int { log: true, .. } | Dist::Float { log: true, .. } => Err(no_grid("it is on a log scale")),
        Dist::Int { low, high, step, .. } => {
            Ok((0..).map(|k| low + k * step).take_while(|v| v <= high).map(ParamValue::Int).collect())
        }
        Dist::Float { step: None, .. } => Err(no_grid("it has no step")),
        Dist::Float { low, high, step: Some(step), .. } => {
            // Each value from its index, not by adding steps (no drift); a value within a
            // millionth of a step above `high` is `high` rounded.
            let n = ((high - low) / step + 1e-6).floor() as i64;
            Ok((0..=n).map(|k| ParamValue::Float(low + k as f64 * step)).collect())
        }
    }
}

fn draw(dist: &Dist, rng: &mut impl Rng) -> ParamValue {
    match dist {
        Dist::Choice(values) => values[rng.gen_range(0..values.len())].clone(),
        Dist::Int { low, high, log: true, .. } => {
            // Uniform in log space over [low - 0.5, high + 0.5], rounded (as Optuna's log ints).
            let x = rng.gen_range((*low as f64 - 0.5).ln()..=(*high as f64 + 0.5).ln()).exp();
            ParamValue::Int((x.round() as i64).clamp(*low, *high))
        }
        Dist::Int { low, high, step, .. } => {
            ParamValue::Int(low + step * rng.gen_range(0..=(high - low) / step))
        }
        Dist::Float { low, high, log: true, .. } => {
            ParamValue::Float(rng.gen_range(low.ln()..=high.ln()).exp().clamp(*low, *high))
        }
        Dist::Float { low, high, step: Some(step), .. } => {
            let n = ((high - low) / step + 1e-6).floor() as i64;
            ParamValue::Float(low + rng.gen_range(0..=n) as f64 * step)
        }
        Dist::Float { low, high, step: None, .. } => ParamValue::Float(rng.gen_range(*low..=*high)),
    }
}
