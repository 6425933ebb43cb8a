//! Gaussian naive Bayes.

use ndarray::{Array1, Array2, ArrayView2};
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::softmax::softmax_in_place;
use super::{Classifier, ModelError, check_classes, check_input, invalid};

pub(super) const KIND: &str = "naive Bayes";

/// Hyperparameters of a [`GaussianNb`]; `Default` is scikit-learn's `GaussianNB()`.
///
/// ```
/// use mlflow_ml::models::NaiveBayesParams;
/// assert_eq!(NaiveBayesParams::default().var_smoothing, 1e-9);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NaiveBayesParams {
    /// Added to every variance, as a fraction of the largest feature variance (finite, > 0).
    pub var_smoothing: f64,
}

impl Default for NaiveBayesParams {
    fn default() -> Self {
        NaiveBayesParams { var_smoothing: 1e-9 }
    }
}

/// A fitted Gaussian naive Bayes model: per class, each feature is an independent normal.
///
/// Means and variances (population variances, `ddof = 0`) are per class; class priors are the class
/// frequencies; `epsilon = var_smoothing * max_j var(x_j)` is added to every variance, exactly as
/// scikit-learn does (if every feature is constant, `epsilon = var_smoothing`).
/// `predict_proba` gives the posterior of every class, computed from the joint log-likelihoods
/// without overflow: for two classes `1 / (1 + exp(jll_0 - jll_1))`, for more a softmax
/// (scikit-learn's `exp(jll - logsumexp(jll))`).
///
/// ```
/// use mlflow_ml::models::{Classifier, GaussianNb, NaiveBayesParams};
/// use ndarray::array;
/// let x = array![[1.0], [2.0], [3.0], [7.0], [8.0], [9.0]];
/// let m = GaussianNb::fit(x.view(), &[0, 0, 0, 1, 1, 1], &NaiveBayesParams::default())?;
/// assert_eq!(m.means(), &[vec![2.0], vec![8.0]]);
/// assert!(m.predict_positive(array![[8.5]].view())?[0] > 0.99);
///
/// // Three classes: one mean and variance per class and feature, one probability column per class.
/// let m = GaussianNb::fit(x.view(), &[0, 0, 1, 1, 2, 2], &NaiveBayesParams::default())?;
/// assert_eq!((m.n_classes(), m.priors().len()), (3, 3));
/// assert_eq!(m.predict(array![[1.2], [3.2], [8.7]].view())?.to_vec(), [0, 1, 2]);
/// # Ok::<(), mlflow_ml::models::ModelError>(())
/// ```
///
/// **Artifact shape.** A two-class model is encoded field for field as the binary-only model was
/// (`priors`, `means`, `variances` as pairs, then `epsilon`), so its bytes, and packages made
/// before multiclass support, are unchanged; a multiclass model as the priors `[-1, -1]` (never a
/// fitted model's: priors are class frequencies) followed by its body.
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianNb {
    /// One per class.
    priors: Vec<f64>,
    /// One row of `p` means per class.
    means: Vec<Vec<f64>>,
    /// One row of `p` variances (smoothing included) per class.
    variances: Vec<Vec<f64>>,
    epsilon: f64,
}

impl GaussianNb {
    /// Fits the model on `x` (rows = samples) and class labels `y` (`0..k`, every class present).
    ///
    /// ```
    /// use mlflow_ml::models::{GaussianNb, ModelError, NaiveBayesParams};
    /// use ndarray::array;
    /// let err = GaussianNb::fit(array![[0.0], [1.0]].view(), &[0, 0], &NaiveBayesParams::default()).unwrap_err();
    /// assert!(matches!(err, ModelError::SingleClass { class: 0, count: 2 }));
    /// let err = GaussianNb::fit(array![[0.0], [1.0]].view(), &[0, 2], &NaiveBayesParams::default()).unwrap_err();
    /// assert!(matches!(err, ModelError::MissingClass { class: 1, classes: 3 }));
    /// ```
    pub fn fit(x: ArrayView2<'_, f64>, y: &[usize], params: &NaiveBayesParams) -> Result<Self, ModelError> {
        let s = params.var_smoothing;
        if !(s > 0.0 && s.is_finite()) {
            return Err(invalid(KIND, "var_smoothing", s, "a finite number > 0"));
        }
        let counts = check_classes(x, y)?;
        let (n, p) = x.dim();
        let k = counts.len();
        let counts: Vec<f64> = counts.iter().map(|&c| c as f64).collect();
        let mut means = vec![vec![0.0; p]; k];
        for (row, &label) in x.rows().into_iter().zip(y) {
            for (m, v) in means[label].iter_mut().zip(row) {
                *m += v;
            }
        }
        for (class, m) in means.iter_mut().enumerate() {
            m.iter_mut().for_each(|v| *v /= counts[class]);
        }
        let mut variances = vec![vec![0.0; p]; k];
        for (row, &label) in x.rows().into_iter().zip(y) {
            for ((s, v), m) in variances[label].iter_mut().zip(row).zip(&means[label]) {
                *s += (v - m) * (v - m);
            }
        }
        for (class, var) in variances.iter_mut().enumerate() {
            var.iter_mut().for_each(|v| *v /= counts[class]);
        }
        let mut max_var = 0.0f64;
        for column in x.columns() {
            let mean = column.sum() / n as f64;
            let var = column.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64;
            max_var = max_var.max(var);
        }
        let epsilon = if max_var > 0.0 { s * max_var } else { s };
        for var in &mut variances {
            var.iter_mut().for_each(|v| *v += epsilon);
        }
        let priors = counts.iter().map(|c| c / n as f64).collect();
        Ok(GaussianNb { priors, means, variances, epsilon })
    }

    /// Class priors (the class frequencies), `[P(0), P(1), ...]`.
    ///
    /// ```
    /// use mlflow_ml::models::{GaussianNb, NaiveBayesParams};
    /// use ndarray::array;
    /// let m = GaussianNb::fit(array![[0.0], [1.0], [2.0], [3.0]].view(), &[0, 1, 1, 1], &NaiveBayesParams::default())?;
    /// assert_eq!(m.priors(), [0.25, 0.75]);
    /// # Ok::<(), mlflow_ml::models::ModelError>(())
    /// ```
    pub fn priors(&self) -> &[f64] {
        &self.priors
    }

    /// Per-class feature means, one row per class: `[class 0, class 1, ...]`.
    ///
    /// ```
    /// use mlflow_ml::models::{GaussianNb, NaiveBayesParams};
    /// use ndarray::array;
    /// let m = GaussianNb::fit(array![[0.0], [4.0]].view(), &[0, 1], &NaiveBayesParams::default())?;
    /// assert_eq!(m.means()[1], vec![4.0]);
    /// # Ok::<(), mlflow_ml::models::ModelError>(())
    /// ```
    pub fn means(&self) -> &[Vec<f64>] {
        &self.means
    }

    /// Per-class feature variances, smoothing included, one row per class: `[class 0, class 1, ...]`.
    ///
    /// ```
    /// use mlflow_ml::models::{GaussianNb, NaiveBayesParams};
    /// use ndarray::array;
    /// let m = GaussianNb::fit(array![[0.0], [4.0]].view(), &[0, 1], &NaiveBayesParams::default())?;
    /// assert!((m.variances()[0][0] - 4e-9).abs() < 1e-20); // 0 + 1e-9 * var(x) = 1e-9 * 4
    /// # Ok::<(), mlflow_ml::models::ModelError>(())
    /// ```
    pub fn variances(&self) -> &[Vec<f64>] {
        &self.variances
    }

    /// The smoothing term added to every variance.
    ///
    /// ```
    /// use mlflow_ml::models::{GaussianNb, NaiveBayesParams};
    /// use ndarray::array;
    /// let m = GaussianNb::fit(array![[0.0], [2.0]].view(), &[0, 1], &NaiveBayesParams { var_smoothing: 0.5 })?;
    /// assert_eq!(m.epsilon(), 0.5);
    /// # Ok::<(), mlflow_ml::models::ModelError>(())
    /// ```
    pub fn epsilon(&self) -> f64 {
        self.epsilon
    }
}

impl Classifier for GaussianNb {
    fn n_features(&self) -> usize {
        self.means.first().map_or(0, Vec::len)
    }

    fn n_classes(&self) -> usize {
        self.priors.len()
    }

    fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>, ModelError> {
        let jll = self.joint_log_likelihood(x)?;
        if jll.ncols() == 2 {
            // Two classes: the logistic form the binary model always used (the same bits).
            let positive: Array1<f64> = jll
                .rows()
                .into_iter()
                .map(|r| {
                    let (j0, j1) = (r[0], r[1]);
                    if j0 == j1 || (j0.is_nan() || j1.is_nan()) { 0.5 } else { 1.0 / (1.0 + (j0 - j1).exp()) }
                })
                .collect();
            return Ok(super::two_columns(positive));
        }
        let mut proba = jll;
        for mut row in proba.rows_mut() {
            if let Some(scores) = row.as_slice_mut() {
                softmax_in_place(scores);
            }
        }
        Ok(proba)
    }
}

impl GaussianNb {
    /// `log P(c) + log P(x | c)` for every row of `x` (rows) and class (columns).
    fn joint_log_likelihood(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>, ModelError> {
        let k = self.priors.len();
        let p = self.n_features();
        if k < 2 || self.means.len() != k || self.variances.len() != k {
            return Err(ModelError::Corrupt {
                model: KIND,
                detail: format!(
                    "{k} priors, {} mean rows and {} variance rows (expected the same number, at least 2)",
                    self.means.len(),
                    self.variances.len()
                ),
            });
        }
        if self.means.iter().chain(&self.variances).any(|v| v.len() != p) {
            return Err(ModelError::Corrupt {
                model: KIND,
                detail: "mean and variance lengths differ".into(),
            });
        }
        check_input(x, p)?;
        let base: Vec<f64> = (0..k)
            .map(|c| {
                self.priors[c].ln()
                    - 0.5
                        * self.variances[c].iter().map(|v| (2.0 * std::f64::consts::PI * v).ln()).sum::<f64>()
            })
            .collect();
        let mut out = Array2::zeros((x.nrows(), k));
        for (row, mut out_row) in x.rows().into_iter().zip(out.rows_mut()) {
            for (c, o) in out_row.iter_mut().enumerate() {
                *o = base[c]
                    - 0.5
                        * row
                            .iter()
                            .zip(&self.means[c])
                            .zip(&self.variances[c])
                            .map(|((v, m), s)| (v - m) * (v - m) / s)
                            .sum::<f64>();
            }
        }
        Ok(out)
    }
}

// ---------- the artifact shape ----------

/// The first field of a multiclass [`GaussianNb`]'s encoding, where a two-class model has its
/// priors, which are class frequencies and never negative.
const MULTICLASS_MARK: [f64; 2] = [-1.0, -1.0];

/// The fields of either shape, for formats that name them.
const FIELDS: &[&str] = &["priors", "means", "variances", "epsilon", "multiclass"];

/// A multiclass model's body, after the mark.
#[derive(Serialize)]
struct MulticlassRef<'a> {
    priors: &'a [f64],
    means: &'a [Vec<f64>],
    variances: &'a [Vec<f64>],
    epsilon: f64,
}

#[derive(Deserialize)]
struct Multiclass {
    priors: Vec<f64>,
    means: Vec<Vec<f64>>,
    variances: Vec<Vec<f64>>,
    epsilon: f64,
}

impl From<Multiclass> for GaussianNb {
    fn from(m: Multiclass) -> GaussianNb {
        GaussianNb { priors: m.priors, means: m.means, variances: m.variances, epsilon: m.epsilon }
    }
}

/// A pair from a two-element vector (a two-class model's per-class fields).
fn pair<T: Clone>(v: &[T]) -> Option<[T; 2]> {
    match v {
        [a, b] => Some([a.clone(), b.clone()]),
        _ => None,
    }
}

impl Serialize for GaussianNb {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if let (Some(priors), Some(means), Some(variances)) =
            (pair(&self.priors), pair(&self.means), pair(&self.variances))
        {
            let mut s = serializer.serialize_struct("GaussianNb", 4)?;
            s.serialize_field("priors", &priors)?;
            s.serialize_field("means", &means)?;
            s.serialize_field("variances", &variances)?;
            s.serialize_field("epsilon", &self.epsilon)?;
            s.end()
        } else {
            let mut s = serializer.serialize_struct("GaussianNb", 2)?;
            s.serialize_field("priors", &MULTICLASS_MARK)?;
            let body = MulticlassRef {
                priors: &self.priors,
                means: &self.means,
                variances: &self.variances,
                epsilon: self.epsilon,
            };
            s.serialize_field("multiclass", &body)?;
            s.end()
        }
    }
}

impl<'de> Deserialize<'de> for GaussianNb {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<GaussianNb, D::Error> {
        deserializer.deserialize_struct("GaussianNb", FIELDS, NbVisitor)
    }
}

struct NbVisitor;

/// The element at `index` of a sequence, which must be there.
fn element<'de, A: SeqAccess<'de>, T: Deserialize<'de>>(seq: &mut A, index: usize) -> Result<T, A::Error> {
    seq.next_element()?.ok_or_else(|| de::Error::invalid_length(index, &NbVisitor))
}

impl<'de> Visitor<'de> for NbVisitor {
    type Value = GaussianNb;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a fitted Gaussian naive Bayes model")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<GaussianNb, A::Error> {
        let priors: [f64; 2] = element(&mut seq, 0)?;
        if priors == MULTICLASS_MARK {
            let body: Multiclass = element(&mut seq, 1)?;
            return Ok(body.into());
        }
        let means: [Vec<f64>; 2] = element(&mut seq, 1)?;
        let variances: [Vec<f64>; 2] = element(&mut seq, 2)?;
        let epsilon = element(&mut seq, 3)?;
        Ok(GaussianNb {
            priors: priors.to_vec(),
            means: means.to_vec(),
            variances: variances.to_vec(),
            epsilon,
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<GaussianNb, A::Error> {
        let (mut priors, mut means, mut variances, mut epsilon) = (None, None, None, None);
        let mut multiclass: Option<Multiclass> = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "priors" => priors = Some(map.next_value::<[f64; 2]>()?),
                "means" => means = Some(map.next_value::<[Vec<f64>; 2]>()?),
                "variances" => variances = Some(map.next_value::<[Vec<f64>; 2]>()?),
                "epsilon" => epsilon = Some(map.next_value::<f64>()?),
                "multiclass" => multiclass = Some(map.next_value()?),
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        if let Some(body) = multiclass {
            return Ok(body.into());
        }
        Ok(GaussianNb {
            priors: priors.ok_or_else(|| de::Error::missing_field("priors"))?.to_vec(),
            means: means.ok_or_else(|| de::Error::missing_field("means"))?.to_vec(),
            variances: variances.ok_or_else(|| de::Error::missing_field("variances"))?.to_vec(),
            epsilon: epsilon.ok_or_else(|| de::Error::missing_field("epsilon"))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn constant_features_do_not_divide_by_zero() {
        let x = array![[1.0], [1.0], [1.0]];
        let m = GaussianNb::fit(x.view(), &[0, 1, 1], &NaiveBayesParams::default()).unwrap();
        let p = m.predict_positive(array![[1.0], [1e300]].view()).unwrap();
        assert!((p[0] - 2.0 / 3.0).abs() < 1e-12);
        assert!(p.iter().all(|v| (0.0..=1.0).contains(v)));
    }

    /// The binary-only model's shape, as it was serialized before multiclass support.
    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct BinaryOnly {
        priors: [f64; 2],
        means: [Vec<f64>; 2],
        variances: [Vec<f64>; 2],
        epsilon: f64,
    }

    #[test]
    fn binary_bytes_are_those_of_the_binary_only_model() {
        use mlflow_core::codec::{decode, encode};
        let x = array![[-1.0, 2.0], [1.0, 0.5], [1.0, 1.0], [3.0, 4.0], [2.0, 2.5], [0.0, 0.0]];
        let m = GaussianNb::fit(x.view(), &[0, 0, 1, 1, 1, 0], &NaiveBayesParams::default()).unwrap();
        let old = BinaryOnly {
            priors: [m.priors[0], m.priors[1]],
            means: [m.means[0].clone(), m.means[1].clone()],
            variances: [m.variances[0].clone(), m.variances[1].clone()],
            epsilon: m.epsilon,
        };
        let bytes = encode(&old).unwrap();
        assert_eq!(encode(&m).unwrap(), bytes);
        assert_eq!(decode::<GaussianNb>(&bytes, 1 << 20).unwrap(), m);
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, serde_json::to_string(&old).unwrap());
        assert_eq!(serde_json::from_str::<GaussianNb>(&json).unwrap(), m);
        let multi = GaussianNb::fit(x.view(), &[0, 1, 2, 2, 1, 0], &NaiveBayesParams::default()).unwrap();
        let bytes = encode(&multi).unwrap();
        assert_eq!(bytes[..16], encode(&MULTICLASS_MARK).unwrap()[..]);
        assert_eq!(decode::<GaussianNb>(&bytes, 1 << 20).unwrap(), multi);
        let json = serde_json::to_string(&multi).unwrap();
        assert_eq!(serde_json::from_str::<GaussianNb>(&json).unwrap(), multi);
        assert!(decode::<GaussianNb>(&bytes[..bytes.len() - 1], 1 << 20).is_err());
    }

    #[test]
    fn three_classes_match_a_hand_computed_softmax() {
        // class c: mean 2c, var 1 (+eps); equal priors. At x = 2 the log-likelihoods are
        // -2, 0, -2 up to a common constant.
        let x = array![[-1.0], [1.0], [1.0], [3.0], [3.0], [5.0]];
        let m = GaussianNb::fit(x.view(), &[0, 0, 1, 1, 2, 2], &NaiveBayesParams::default()).unwrap();
        let p = m.predict_proba(array![[2.0]].view()).unwrap();
        let e = (-2.0f64).exp();
        let expected = [e / (1.0 + 2.0 * e), 1.0 / (1.0 + 2.0 * e), e / (1.0 + 2.0 * e)];
        for (got, want) in p.row(0).iter().zip(expected) {
            assert!((got - want).abs() < 1e-8, "{got} vs {want}");
        }
    }

    #[test]
    fn matches_hand_computed_posterior() {
        // class 0: mean 0, var 1 (+eps); class 1: mean 2, var 1 (+eps); equal priors.
        let x = array![[-1.0], [1.0], [1.0], [3.0]];
        let m = GaussianNb::fit(x.view(), &[0, 0, 1, 1], &NaiveBayesParams::default()).unwrap();
        let p = m.predict_positive(array![[1.0], [2.0]].view()).unwrap();
        assert!((p[0] - 0.5).abs() < 1e-9);
        // log odds at x = 2: (2-0)^2/2 - (2-2)^2/2 = 2
        assert!((p[1] - 1.0 / (1.0 + (-2.0f64).exp())).abs() < 1e-6);
    }
}
