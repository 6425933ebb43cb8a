//! The SVM for more than two classes, as LIBSVM (and so scikit-learn's `SVC`) does it: one-vs-one
//! machines, votes, and pairwise coupling of the machines' Platt probabilities; and the
//! [`Svm`]'s artifact shape, which keeps a two-class model's bytes as they were before.

use std::sync::atomic::{AtomicUsize, Ordering};

use ndarray::{Array1, Array2, ArrayView2};
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ModelError;
use super::svm::{Binary, KIND, Machines, Platt, Svm, SvmParams, train_machine};
use super::svm_smo::{squared_distances, transpose};

/// Pairwise probabilities are clipped to `[MIN_PROB, 1 - MIN_PROB]` before coupling (LIBSVM's
/// `min_prob`).
const MIN_PROB: f64 = 1e-7;

/// The one-vs-one machines of a model of three or more classes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Pairs {
    /// Support vectors, row-major: the training rows that support at least one pair, grouped by
    /// class (class 0's first), each group in training order.
    support_vectors: Vec<f64>,
    /// The number of support vectors of each class (one entry per class).
    sv_counts: Vec<usize>,
    /// One machine per pair `i < j`, in the order `(0,1), (0,2), ..., (1,2), ...`.
    pairs: Vec<PairMachine>,
}

/// The machine of one pair of classes `i < j`: decision values positive for class `i`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct PairMachine {
    /// `alpha * y` over class `i`'s support vectors, then class `j`'s (`0` for a vector that
    /// supports other pairs only).
    coef: Vec<f64>,
    /// The intercept `-rho`.
    pub(super) intercept: f64,
    /// `P(class i | class i or j)` from the decision value.
    pub(super) platt: Platt,
}

/// The pairs `(i, j)`, `i < j`, of `k` classes in LIBSVM's order.
fn pair_list(k: usize) -> Vec<(usize, usize)> {
    (0..k).flat_map(|i| (i + 1..k).map(move |j| (i, j))).collect()
}

impl Pairs {
    /// Trains the `k (k - 1) / 2` machines on at most `threads` threads (`0`: one per core). Each
    /// pair's training depends only on its own rows, so the result does not depend on `threads`.
    pub(super) fn fit(
        data: &[f64],
        p: usize,
        y: &[usize],
        k: usize,
        gamma: f64,
        params: &SvmParams,
        threads: usize,
    ) -> Pairs {
        let mut class_rows: Vec<Vec<usize>> = vec![Vec::new(); k];
        for (r, &label) in y.iter().enumerate() {
            class_rows[label].push(r);
        }
        let list = pair_list(k);
        // Rows of class i then of class j, each in training order, class i positive: the
        // subproblem LIBSVM solves for the pair.
        let train = |q: usize| {
            let (i, j) = list[q];
            let rows: Vec<usize> = class_rows[i].iter().chain(&class_rows[j]).copied().collect();
            let labels: Vec<usize> = y.iter().map(|&c| usize::from(c == i)).collect();
            let (solution, platt) = train_machine(data, p, &labels, &rows, gamma, params);
            let support: Vec<usize> = solution.support.iter().map(|&t| rows[t]).collect();
            (support, solution.coef, solution.intercept, platt)
        };
        let threads = match threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            t => t,
        }
        .clamp(1, list.len());
        // Pairs are handed out one at a time (their costs differ); results are put back in order.
        let next = AtomicUsize::new(0);
        let work = || {
            let mut done = Vec::new();
            loop {
                let q = next.fetch_add(1, Ordering::Relaxed);
                if q >= list.len() {
                    return done;
                }
                done.push((q, train(q)));
            }
        };
        let mut trained = std::thread::scope(|scope| {
            // A thread that cannot be started (resource limits) leaves its share to this one.
            let helpers: Vec<_> = (1..threads)
                .filter_map(|_| {
                    std::thread::Builder::new().name("mlflow-svm".into()).spawn_scoped(scope, work).ok()
                })
                .collect();
            let mut all = work();
            for helper in helpers {
                all.extend(helper.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
            }
            all
        });
        trained.sort_by_key(|(q, _)| *q);

        // The support vectors: rows that support any pair, grouped by class.
        let mut is_sv = vec![false; y.len()];
        for (_, (support, ..)) in &trained {
            for &r in support {
                is_sv[r] = true;
            }
        }
        let mut position = vec![usize::MAX; y.len()]; // index within its class's group
        let mut sv_counts = vec![0usize; k];
        let mut support_vectors = Vec::new();
        for (class, rows) in class_rows.iter().enumerate() {
            for &r in rows.iter().filter(|&&r| is_sv[r]) {
                position[r] = sv_counts[class];
                sv_counts[class] += 1;
                support_vectors.extend_from_slice(&data[r * p..(r + 1) * p]);
            }
        }
        let pairs = trained
            .into_iter()
            .map(|(q, (support, coef, intercept, platt))| {
                let (i, j) = list[q];
                let mut dense = vec![0.0; sv_counts[i] + sv_counts[j]];
                for (&r, c) in support.iter().zip(coef) {
                    let offset = if y[r] == i { 0 } else { sv_counts[i] };
                    dense[offset + position[r]] = c;
                }
                PairMachine { coef: dense, intercept, platt }
            })
            .collect();
        Pairs { support_vectors, sv_counts, pairs }
    }

    /// The number of classes.
    pub(super) fn n_classes(&self) -> usize {
        self.sv_counts.len()
    }

    /// The number of support vectors.
    pub(super) fn n_support(&self) -> usize {
        self.sv_counts.iter().sum()
    }

    /// The machine of the pair (0, 1).
    pub(super) fn first(&self) -> &PairMachine {
        &self.pairs[0] // `check` and `fit` make sure there is one
    }

    /// Checks that the parts fit together (a decoded artifact may have been edited).
    fn check(&self, n_features: usize) -> Result<(), ModelError> {
        let k = self.n_classes();
        let corrupt = |detail: String| Err(ModelError::Corrupt { model: KIND, detail });
        if k < 3 || self.pairs.len() != k * (k - 1) / 2 {
            return corrupt(format!("{} pair machines for {k} classes", self.pairs.len()));
        }
        let total = self.sv_counts.iter().try_fold(0usize, |a, &c| a.checked_add(c));
        if n_features == 0
            || total.and_then(|t| t.checked_mul(n_features)) != Some(self.support_vectors.len())
        {
            return corrupt(format!(
                "{} support vector values for {:?} support vectors per class of {n_features} features",
                self.support_vectors.len(),
                self.sv_counts
            ));
        }
        for (m, (i, j)) in self.pairs.iter().zip(pair_list(k)) {
            if m.coef.len() != self.sv_counts[i] + self.sv_counts[j] {
                return corrupt(format!(
                    "the machine of classes {i} and {j} has {} coefficients for {} support vectors",
                    m.coef.len(),
                    self.sv_counts[i] + self.sv_counts[j]
                ));
            }
        }
        Ok(())
    }

    /// One-vs-one decision values of the rows of `x` (checked by the caller), one column per pair.
    pub(super) fn decisions(
        &self,
        x: ArrayView2<'_, f64>,
        n_features: usize,
        gamma: f64,
    ) -> Result<Array2<f64>, ModelError> {
        self.check(n_features)?;
        let k = self.n_classes();
        let total = self.n_support();
        let columns = transpose(&self.support_vectors, total, n_features);
        let mut starts = vec![0usize; k];
        for c in 1..k {
            starts[c] = starts[c - 1] + self.sv_counts[c - 1];
        }
        let list = pair_list(k);
        let mut out = Array2::zeros((x.nrows(), self.pairs.len()));
        let mut kernel = vec![0.0; total];
        let mut point = vec![0.0; n_features];
        for (row, mut values) in x.rows().into_iter().zip(out.rows_mut()) {
            point.iter_mut().zip(row).for_each(|(p, v)| *p = *v);
            squared_distances(&point, &columns, &mut kernel);
            kernel.iter_mut().for_each(|d| *d = (-gamma * *d).exp());
            for ((value, m), &(i, j)) in values.iter_mut().zip(&self.pairs).zip(&list) {
                let (ci, cj) = m.coef.split_at(self.sv_counts[i]);
                let ki = &kernel[starts[i]..starts[i] + self.sv_counts[i]];
                let kj = &kernel[starts[j]..starts[j] + self.sv_counts[j]];
                let mut sum = 0.0;
                for (c, v) in ci.iter().zip(ki).chain(cj.iter().zip(kj)) {
                    sum += c * v;
                }
                *value = sum + m.intercept;
            }
        }
        Ok(out)
    }

    /// Class probabilities: each pair's clipped Platt probability, coupled per row.
    pub(super) fn probabilities(
        &self,
        x: ArrayView2<'_, f64>,
        n_features: usize,
        gamma: f64,
    ) -> Result<Array2<f64>, ModelError> {
        let f = self.decisions(x, n_features, gamma)?;
        let k = self.n_classes();
        let list = pair_list(k);
        let mut out = Array2::zeros((x.nrows(), k));
        let mut r = Array2::zeros((k, k));
        for (values, mut proba) in f.rows().into_iter().zip(out.rows_mut()) {
            for ((&v, m), &(i, j)) in values.iter().zip(&self.pairs).zip(&list) {
                let p = m.platt.probability(v).clamp(MIN_PROB, 1.0 - MIN_PROB);
                r[[i, j]] = p;
                r[[j, i]] = 1.0 - p;
            }
            proba.assign(&couple(r.view()));
        }
        Ok(out)
    }
}

/// LIBSVM's vote over one-vs-one decision values (one column per pair): a positive value votes for
/// class `i`, any other for class `j`; the most votes win, the lowest class on a tie.
pub(super) fn votes(f: &Array2<f64>, k: usize) -> Array1<usize> {
    let list = pair_list(k);
    let mut count = vec![0usize; k];
    f.rows()
        .into_iter()
        .map(|values| {
            count.fill(0);
            for (&v, &(i, j)) in values.iter().zip(&list) {
                count[if v > 0.0 { i } else { j }] += 1;
            }
            let mut best = 0;
            for c in 1..k {
                if count[c] > count[best] {
                    best = c;
                }
            }
            best
        })
        .collect()
}

/// Pairwise coupling: class probabilities `p` from a `k x k` matrix `r` of pairwise probabilities,
/// `r[[i, j]] = P(class i | class i or j)` (the diagonal is not read).
///
/// This is method 2 of Wu, Lin and Weng (2004), "Probability estimates for multi-class
/// classification by pairwise coupling", as LIBSVM (and so scikit-learn's
/// `SVC(probability=True).predict_proba`) computes it: `p` minimizes `p' Q p` subject to
/// `sum p = 1`, with `Q_tt = sum_{s != t} r_st^2` and `Q_ts = -r_st r_ts`, found by the paper's
/// fixed-point iteration from the uniform `p` (one `p_t` updated at a time, then renormalized),
/// stopped when `max_t |(Qp)_t - p'Qp| < 0.005 / k` or after `max(100, k)` sweeps. `r` is meant to
/// satisfy `r[[j, i]] = 1 - r[[i, j]]` with entries in `(0, 1)`, as an [`Svm`]'s are (clipped to
/// `[1e-7, 1 - 1e-7]`).
///
/// Fails with [`ModelError::InvalidParam`] when `r` is not square with at least 2 rows, or an
/// off-diagonal entry is not a number in `[0, 1]`.
///
/// ```
/// use mlflow_ml::models::pairwise_coupling;
/// use ndarray::array;
/// // Consistent pairwise probabilities r_ij = p_i / (p_i + p_j) of p = (0.5, 0.3, 0.2):
/// let r = array![[0.0, 0.625, 0.5 / 0.7], [0.375, 0.0, 0.6], [0.2 / 0.7, 0.4, 0.0]];
/// let p = pairwise_coupling(r.view())?;
/// assert!((p.sum() - 1.0).abs() < 1e-12);
/// assert!((p[0] - 0.5).abs() < 2e-3 && (p[1] - 0.3).abs() < 2e-3 && (p[2] - 0.2).abs() < 2e-3);
/// # Ok::<(), mlflow_ml::models::ModelError>(())
/// ```
pub fn pairwise_coupling(r: ArrayView2<'_, f64>) -> Result<Array1<f64>, ModelError> {
    let (rows, cols) = r.dim();
    if rows != cols || rows < 2 {
        return Err(ModelError::InvalidParam {
            model: "pairwise coupling",
            param: "r",
            value: format!("a {rows} x {cols} matrix"),
            expected: "a square k x k matrix of pairwise probabilities, k >= 2",
        });
    }
    for ((i, j), &v) in r.indexed_iter() {
        if i != j && !(0.0..=1.0).contains(&v) {
            return Err(ModelError::InvalidParam {
                model: "pairwise coupling",
                param: "r",
                value: format!("{v} at row {i}, column {j}"),
                expected: "off-diagonal entries in [0, 1]: r[i][j] = P(class i | class i or j)",
            });
        }
    }
    Ok(couple(r))
}

/// [`pairwise_coupling`] on a checked matrix.
fn couple(r: ArrayView2<'_, f64>) -> Array1<f64> {
    let k = r.nrows();
    let mut q = Array2::<f64>::zeros((k, k));
    for t in 0..k {
        for j in (0..k).filter(|&j| j != t) {
            q[[t, t]] += r[[j, t]] * r[[j, t]];
        }
        for j in t + 1..k {
            q[[t, j]] = -r[[j, t]] * r[[t, j]];
            q[[j, t]] = q[[t, j]];
        }
    }
    let mut p = Array1::from_elem(k, 1.0 / k as f64);
    let mut qp = vec![0.0; k];
    let eps = 0.005 / k as f64;
    for _ in 0..100.max(k) {
        // Recomputed each sweep, for accuracy.
        let mut pqp = 0.0;
        for t in 0..k {
            qp[t] = 0.0;
            for j in 0..k {
                qp[t] += q[[t, j]] * p[j];
            }
            pqp += p[t] * qp[t];
        }
        if qp.iter().map(|v| (v - pqp).abs()).fold(0.0, f64::max) < eps {
            break;
        }
        for t in 0..k {
            let diff = (-qp[t] + pqp) / q[[t, t]];
            p[t] += diff;
            pqp = (pqp + diff * (diff * q[[t, t]] + 2.0 * qp[t])) / (1.0 + diff) / (1.0 + diff);
            for j in 0..k {
                qp[j] = (qp[j] + diff * q[[t, j]]) / (1.0 + diff);
                p[j] /= 1.0 + diff;
            }
        }
    }
    p
}

// ---------- the artifact shape ----------

/// The first field of a multiclass [`Svm`]'s encoding, where a two-class model (whose encoding is
/// that of the two-class-only `Svm` of before) has its feature count, which is never 0.
const MULTICLASS_MARK: usize = 0;

/// The fields of either shape, for formats that name them.
const FIELDS: &[&str] =
    &["n_features", "gamma", "support_vectors", "coef", "intercept", "platt", "multiclass"];

/// A multiclass model's body, after the mark.
#[derive(Serialize)]
struct MulticlassRef<'a> {
    n_features: usize,
    gamma: f64,
    pairs: &'a Pairs,
}

#[derive(Deserialize)]
struct Multiclass {
    n_features: usize,
    gamma: f64,
    pairs: Pairs,
}

impl From<Multiclass> for Svm {
    fn from(m: Multiclass) -> Svm {
        Svm { n_features: m.n_features, gamma: m.gamma, machines: Machines::Pairs(m.pairs) }
    }
}

/// A two-class model is encoded field for field as the two-class-only `Svm` was (`n_features`,
/// `gamma`, `support_vectors`, `coef`, `intercept`, `platt`), so its bytes and those of packages
/// made before multiclass support are unchanged; a multiclass model as `n_features = 0` (never a
/// fitted model's) followed by its body.
impl Serialize for Svm {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.machines {
            Machines::Binary(b) => {
                let mut s = serializer.serialize_struct("Svm", 6)?;
                s.serialize_field("n_features", &self.n_features)?;
                s.serialize_field("gamma", &self.gamma)?;
                s.serialize_field("support_vectors", &b.support_vectors)?;
                s.serialize_field("coef", &b.coef)?;
                s.serialize_field("intercept", &b.intercept)?;
                s.serialize_field("platt", &b.platt)?;
                s.end()
            }
            Machines::Pairs(pairs) => {
                let mut s = serializer.serialize_struct("Svm", 2)?;
                s.serialize_field("n_features", &MULTICLASS_MARK)?;
                let body = MulticlassRef { n_features: self.n_features, gamma: self.gamma, pairs };
                s.serialize_field("multiclass", &body)?;
                s.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Svm {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Svm, D::Error> {
        deserializer.deserialize_struct("Svm", FIELDS, SvmVisitor)
    }
}

struct SvmVisitor;

/// The element at `index` of a sequence, which must be there.
fn element<'de, A: SeqAccess<'de>, T: Deserialize<'de>>(seq: &mut A, index: usize) -> Result<T, A::Error> {
    seq.next_element()?.ok_or_else(|| de::Error::invalid_length(index, &SvmVisitor))
}

impl<'de> Visitor<'de> for SvmVisitor {
    type Value = Svm;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a fitted SVM")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Svm, A::Error> {
        let n_features: usize = element(&mut seq, 0)?;
        if n_features == MULTICLASS_MARK {
            let body: Multiclass = element(&mut seq, 1)?;
            return Ok(body.into());
        }
        let gamma = element(&mut seq, 1)?;
        let support_vectors = element(&mut seq, 2)?;
        let coef = element(&mut seq, 3)?;
        let intercept = element(&mut seq, 4)?;
        let platt = element(&mut seq, 5)?;
        Ok(Svm {
            n_features,
            gamma,
            machines: Machines::Binary(Binary { support_vectors, coef, intercept, platt }),
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Svm, A::Error> {
        let (mut n_features, mut gamma, mut support_vectors, mut coef, mut intercept, mut platt, mut body) =
            (None, None, None, None, None, None, None);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "n_features" => n_features = Some(map.next_value::<usize>()?),
                "gamma" => gamma = Some(map.next_value()?),
                "support_vectors" => support_vectors = Some(map.next_value()?),
                "coef" => coef = Some(map.next_value()?),
                "intercept" => intercept = Some(map.next_value()?),
                "platt" => platt = Some(map.next_value()?),
                "multiclass" => body = Some(map.next_value::<Multiclass>()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if let Some(body) = body {
            return Ok(body.into());
        }
        let missing = |name| de::Error::missing_field(name);
        Ok(Svm {
            n_features: n_features.ok_or_else(|| missing("n_features"))?,
            gamma: gamma.ok_or_else(|| missing("gamma"))?,
            machines: Machines::Binary(Binary {
                support_vectors: support_vectors.ok_or_else(|| missing("support_vectors"))?,
                coef: coef.ok_or_else(|| missing("coef"))?,
                intercept: intercept.ok_or_else(|| missing("intercept"))?,
                platt: platt.ok_or_else(|| missing("platt"))?,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::Classifier;
    use ndarray::array;

    /// 3 x 3 blobs of 12 rows per class, a little noisy.
    fn three_blobs() -> (Array2<f64>, Vec<usize>) {
        let centers = [[0.0, 0.0], [2.0, 0.5], [0.5, 2.0]];
        let mut x = Array2::zeros((36, 2));
        let mut y = Vec::new();
        for r in 0..36 {
            let c = (r * 7) % 3;
            let jitter = ((r * 37) % 11) as f64 / 8.0 - 0.6;
            x[[r, 0]] = centers[c][0] + jitter;
            x[[r, 1]] = centers[c][1] - 0.7 * jitter + ((r * 13) % 5) as f64 / 10.0;
            y.push(c);
        }
        (x, y)
    }

    #[test]
    fn same_model_for_any_thread_count() {
        let (x, y) = three_blobs();
        let p = SvmParams { platt_folds: 3, ..Default::default() };
        let one = Svm::fit_threads(x.view(), &y, &p, 1).unwrap();
        for threads in [2, 3, 8] {
            let other = Svm::fit_threads(x.view(), &y, &p, threads).unwrap();
            assert_eq!(other, one, "{threads} threads");
            assert_eq!(
                mlflow_core::codec::encode(&other).unwrap(),
                mlflow_core::codec::encode(&one).unwrap()
            );
        }
    }

    #[test]
    fn pair_machines_agree_with_a_binary_fit_on_the_pair() {
        // The machine of classes 0 and 1 is the binary SVM of those rows, with classes swapped.
        let (x, y) = three_blobs();
        let p = SvmParams { gamma: crate::models::Gamma::Value(0.7), ..Default::default() };
        let multi = Svm::fit(x.view(), &y, &p).unwrap();
        let rows: Vec<usize> = (0..y.len()).filter(|&r| y[r] < 2).collect();
        let sub = x.select(ndarray::Axis(0), &rows);
        let sub_y: Vec<usize> = rows.iter().map(|&r| y[r]).collect();
        let binary = Svm::fit(sub.view(), &sub_y, &p).unwrap();
        let f_multi = multi.decision_function_ovo(x.view()).unwrap();
        let f_binary = binary.decision_function(x.view()).unwrap();
        for (a, b) in f_multi.column(0).iter().zip(&f_binary) {
            assert!((a + b).abs() < 1e-3, "{a} vs {}", -b);
        }
        assert!((multi.intercept() - binary.intercept()).abs() < 1e-3);
    }

    #[test]
    fn artifacts_round_trip_in_bincode_and_json() {
        let (x, y) = three_blobs();
        let multi = Svm::fit(x.view(), &y, &SvmParams::default()).unwrap();
        let binary = Svm::fit(
            x.view(),
            &y.iter().map(|&c| usize::from(c == 2)).collect::<Vec<_>>(),
            &SvmParams::default(),
        )
        .unwrap();
        for m in [multi, binary] {
            let bytes = mlflow_core::codec::encode(&m).unwrap();
            assert_eq!(mlflow_core::codec::decode::<Svm>(&bytes, 1 << 24).unwrap(), m);
            let json = serde_json::to_string(&m).unwrap();
            assert_eq!(serde_json::from_str::<Svm>(&json).unwrap(), m);
        }
    }

    #[test]
    fn a_two_class_model_encodes_as_before() {
        /// The two-class-only `Svm`, as it was derived.
        #[derive(Serialize)]
        struct Before<'a> {
            n_features: usize,
            gamma: f64,
            support_vectors: &'a [f64],
            coef: &'a [f64],
            intercept: f64,
            platt: Platt,
        }
        let m = Svm::fit(array![[0.0], [1.0], [3.0], [4.0]].view(), &[0, 0, 1, 1], &SvmParams::default())
            .unwrap();
        let Machines::Binary(b) = &m.machines else { panic!("two classes give one machine") };
        let before = Before {
            n_features: m.n_features,
            gamma: m.gamma,
            support_vectors: &b.support_vectors,
            coef: &b.coef,
            intercept: b.intercept,
            platt: b.platt,
        };
        let old = mlflow_core::codec::encode(&before).unwrap();
        assert_eq!(mlflow_core::codec::encode(&m).unwrap(), old);
        assert_eq!(mlflow_core::codec::decode::<Svm>(&old, 1 << 20).unwrap(), m);
        assert_eq!(serde_json::to_string(&m).unwrap(), serde_json::to_string(&before).unwrap());
    }

    #[test]
    fn corrupt_multiclass_artifacts_are_errors() {
        let (x, y) = three_blobs();
        let mut m = Svm::fit(x.view(), &y, &SvmParams::default()).unwrap();
        let Machines::Pairs(pairs) = &mut m.machines else { panic!("three classes give pairs") };
        pairs.pairs[1].coef.pop();
        let e = m.predict_proba(x.view()).unwrap_err();
        assert!(matches!(e, ModelError::Corrupt { .. }), "{e}");
        assert!(e.to_string().contains("classes 0 and 2"), "{e}");
        let Machines::Pairs(pairs) = &mut m.machines else { unreachable!() };
        pairs.pairs.clear();
        assert!(matches!(m.decision_function_ovo(x.view()), Err(ModelError::Corrupt { .. })));
    }

    #[test]
    fn votes_break_ties_to_the_lowest_class() {
        // Three classes in a cycle: 0 beats 1, 1 beats 2, 2 beats 0: one vote each.
        let f = array![[1.0, -1.0, 1.0], [-1.0, -1.0, -1.0], [0.0, 0.0, 0.0]];
        assert_eq!(votes(&f, 3).to_vec(), [0, 2, 2]);
    }

    #[test]
    fn coupling_checks_its_input() {
        assert!(pairwise_coupling(Array2::zeros((2, 3)).view()).is_err());
        assert!(pairwise_coupling(Array2::zeros((1, 1)).view()).is_err());
        assert!(pairwise_coupling(array![[0.0, f64::NAN], [0.5, 0.0]].view()).is_err());
        let p = pairwise_coupling(array![[0.0, 0.8], [0.2, 0.0]].view()).unwrap();
        assert!((p.sum() - 1.0).abs() < 1e-12 && p[0] > p[1]);
    }
}
