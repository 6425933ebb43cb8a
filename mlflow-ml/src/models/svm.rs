//! RBF-kernel support vector machine (C-SVC), trained by SMO, with Platt-scaled probabilities;
//! more than two classes one-vs-one, in `svm_multiclass`.

use ndarray::{Array1, Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use super::svm_multiclass::Pairs;
use super::svm_smo::{CACHE_BYTES, Solution, decisions, smo};
use super::{Classifier, ModelError, check_classes, check_input, invalid};
use crate::features::moments;

pub(super) const KIND: &str = "SVM";

/// The RBF kernel width `gamma` in `exp(-gamma * |a - b|^2)`.
///
/// ```
/// use mlflow_ml::models::Gamma;
/// use ndarray::array;
/// let x = array![[0.0, 2.0], [0.0, 2.0]]; // var of all entries = 1
/// assert_eq!(Gamma::Scale.resolve(x.view()), 0.5);
/// assert_eq!(Gamma::Auto.resolve(x.view()), 0.5);
/// assert_eq!(Gamma::Value(3.0).resolve(x.view()), 3.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Gamma {
    /// `1 / (n_features * var(x))`, the variance taken over every entry of `x` (scikit-learn's
    /// default `"scale"`); `1` if `x` is constant, by the rule of
    /// [`StandardScaler`](crate::features::StandardScaler): entries that differ only by rounding
    /// (455 entries of 0.1, say) are constant, where scikit-learn would divide by their ~1e-34
    /// variance.
    Scale,
    /// `1 / n_features` (scikit-learn's `"auto"`).
    Auto,
    /// A fixed value (finite, > 0).
    Value(f64),
}

impl Gamma {
    /// The numeric gamma for training data `x`, at least `f64::MIN_POSITIVE` (so that even
    /// distances that overflow to infinity give a kernel value of 0, not NaN).
    ///
    /// ```
    /// use mlflow_ml::models::Gamma;
    /// use ndarray::array;
    /// assert_eq!(Gamma::Scale.resolve(array![[1.0], [1.0]].view()), 1.0);
    /// assert_eq!(Gamma::Scale.resolve(ndarray::Array2::from_elem((455, 1), 0.1).view()), 1.0);
    /// ```
    pub fn resolve(&self, x: ArrayView2<'_, f64>) -> f64 {
        let p = x.ncols().max(1) as f64;
        let gamma = match *self {
            Gamma::Scale => {
                let std = match x.as_slice_memory_order() {
                    Some(all) => moments(all).std,
                    None => moments(&x.iter().copied().collect::<Vec<_>>()).std,
                };
                if std > 0.0 {
                    let inverse = 1.0 / std;
                    inverse * inverse / p
                } else {
                    1.0
                }
            }
            Gamma::Auto => 1.0 / p,
            Gamma::Value(g) => g,
        };
        gamma.max(f64::MIN_POSITIVE)
    }
}

/// Hyperparameters of an [`Svm`]; `Default` is scikit-learn's `SVC()` (RBF kernel, `C = 1`,
/// `gamma = "scale"`, `tol = 1e-3`), with in-sample Platt scaling for probabilities.
///
/// ```
/// use mlflow_ml::models::{Gamma, SvmParams};
/// let p = SvmParams { platt_folds: 5, ..Default::default() };
/// assert_eq!((p.c, p.gamma), (1.0, Gamma::Scale));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SvmParams {
    /// Penalty of margin violations (finite, > 0).
    pub c: f64,
    /// Kernel width.
    pub gamma: Gamma,
    /// Stopping tolerance on the KKT violation (finite, > 0).
    pub tol: f64,
    /// Where the Platt sigmoid gets its decision values: `0` fits it on the training rows' own
    /// decision values (fast; somewhat over-confident), `k >= 2` on out-of-fold decision values of
    /// `k` extra SVMs (LIBSVM's way, `k + 1` times the training cost; better calibrated). Folds are
    /// stratified and deterministic: the `i`-th row of each class goes to fold `i mod k`. `k` must
    /// not exceed the size of the smaller class.
    pub platt_folds: usize,
}

impl Default for SvmParams {
    fn default() -> Self {
        SvmParams { c: 1.0, gamma: Gamma::Scale, tol: 1e-3, platt_folds: 0 }
    }
}

/// A Platt sigmoid: `P(class 1 | f) = 1 / (1 + exp(a * f + b))` for a decision value `f`.
///
/// ```
/// use mlflow_ml::models::Platt;
/// let s = Platt { a: -2.0, b: 0.0 };
/// assert_eq!(s.probability(0.0), 0.5);
/// assert!(s.probability(1.0) > 0.8);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Platt {
    /// Slope (negative when larger decision values mean class 1).
    pub a: f64,
    /// Offset.
    pub b: f64,
}

impl Platt {
    /// The probability of class 1 for decision value `f`.
    ///
    /// ```
    /// use mlflow_ml::models::Platt;
    /// assert!(Platt { a: -1.0, b: 0.0 }.probability(-50.0) < 1e-20);
    /// ```
    pub fn probability(&self, f: f64) -> f64 {
        let z = self.a * f + self.b;
        if z >= 0.0 {
            let e = (-z).exp();
            e / (1.0 + e)
        } else {
            1.0 / (1.0 + z.exp())
        }
    }

    /// Fits the sigmoid to decision values and labels by Newton's method with backtracking (the
    /// algorithm of Lin, Lin and Weng (2007) that LIBSVM uses), with Platt's smoothed targets
    /// `(n1 + 1) / (n1 + 2)` and `1 / (n0 + 2)`. Deterministic.
    ///
    /// ```
    /// use mlflow_ml::models::Platt;
    /// let s = Platt::fit(&[-2.0, -1.0, -0.5, 0.5, 1.0, 2.0], &[0, 0, 1, 0, 1, 1]);
    /// assert!(s.a < 0.0 && s.probability(2.0) > s.probability(-2.0));
    /// ```
    pub fn fit(decision: &[f64], labels: &[usize]) -> Platt {
        let n1 = labels.iter().filter(|&&l| l == 1).count() as f64;
        let n0 = labels.len() as f64 - n1;
        let hi = (n1 + 1.0) / (n1 + 2.0);
        let lo = 1.0 / (n0 + 2.0);
        let targets: Vec<f64> = labels.iter().map(|&l| if l == 1 { hi } else { lo }).collect();
        let objective = |a: f64, b: f64| -> f64 {
            decision
                .iter()
                .zip(&targets)
                .map(|(f, t)| {
                    let z = f * a + b;
                    if z >= 0.0 { t * z + (-z).exp().ln_1p() } else { (t - 1.0) * z + z.exp().ln_1p() }
                })
                .sum()
        };
        let (mut a, mut b) = (0.0, ((n0 + 1.0) / (n1 + 1.0)).ln());
        let mut value = objective(a, b);
        for _ in 0..100 {
            let (mut h11, mut h22, mut h21, mut g1, mut g2) = (1e-12, 1e-12, 0.0, 0.0, 0.0);
            for (f, t) in decision.iter().zip(&targets) {
                let z = f * a + b;
                let (p, q) = if z >= 0.0 {
                    let e = (-z).exp();
                    (e / (1.0 + e), 1.0 / (1.0 + e))
                } else {
                    let e = z.exp();
                    (1.0 / (1.0 + e), e / (1.0 + e))
                };
                let d2 = p * q;
                h11 += f * f * d2;
                h22 += d2;
                h21 += f * d2;
                let d1 = t - p;
                g1 += f * d1;
                g2 += d1;
            }
            if g1.abs() < 1e-5 && g2.abs() < 1e-5 {
                break;
            }
            let det = h11 * h22 - h21 * h21;
            let da = -(h22 * g1 - h21 * g2) / det;
            let db = -(-h21 * g1 + h11 * g2) / det;
            let slope = g1 * da + g2 * db;
            let mut step = 1.0;
            while step >= 1e-10 {
                let (na, nb) = (a + step * da, b + step * db);
                let nv = objective(na, nb);
                if nv < value + 1e-4 * step * slope {
                    (a, b, value) = (na, nb, nv);
                    break;
                }
                step /= 2.0;
            }
            if step < 1e-10 {
                break;
            }
        }
        Platt { a, b }
    }
}

/// A fitted RBF support vector machine with Platt-scaled probabilities, for two or more classes.
///
/// Training solves scikit-learn's (LIBSVM's) C-SVC dual with SMO: second-order working-set
/// selection (WSS3), no shrinking, kernel rows computed on demand and cached. Ties in the
/// working-set choice go to the last index, as in LIBSVM, so training is deterministic.
///
/// **Two classes.** The decision function is
/// `f(x) = sum_i coef_i * exp(-gamma * |sv_i - x|^2) + b`, positive for class 1; P(class 1) is the
/// [`Platt`] sigmoid of `f` (see [`SvmParams::platt_folds`] for how it is fitted). Note that
/// `predict` follows the one face of [`Classifier`] (probability `> 0.5`), which can differ from
/// `f(x) >= 0` for rows near the margin.
///
/// **More classes** (LIBSVM's and so scikit-learn's `SVC` way): one-vs-one, one binary machine per
/// pair of classes `i < j` in the order `(0,1), (0,2), ..., (1,2), ...`, trained on the rows of
/// those two classes (class `i` positive), each with its own Platt sigmoid (fitted as for two
/// classes, on the pair's rows). [`Svm::decision_function_ovo`] gives the pairs' decision values,
/// [`Svm::predict_votes`] LIBSVM's vote (scikit-learn's `predict`), and
/// [`Classifier::predict_proba`] the pairwise probabilities (clipped to `[1e-7, 1 - 1e-7]`)
/// coupled into one probability per class by [`pairwise_coupling`](super::pairwise_coupling)
/// (scikit-learn's `predict_proba`). **[`Classifier::predict`] is the argmax of those
/// probabilities**, as for every model here, while scikit-learn's `SVC.predict` counts votes: the
/// two disagree on rows where the coupled probabilities and the votes pick different classes
/// (rare; use [`Svm::predict_votes`] for scikit-learn's labels). The pairs are trained in parallel;
/// the model is the same whatever the number of threads.
///
/// Meant for standardized features.
///
/// ```
/// use mlflow_ml::models::{Classifier, Svm, SvmParams};
/// use ndarray::array;
/// let x = array![[-2.0, -1.0], [-1.5, -2.0], [-1.0, -1.5], [1.0, 1.5], [1.5, 2.0], [2.0, 1.0]];
/// let svm = Svm::fit(x.view(), &[0, 0, 0, 1, 1, 1], &SvmParams::default())?;
/// let f = svm.decision_function(array![[1.5, 1.5], [-1.5, -1.5]].view())?;
/// assert!(f[0] > 0.0 && f[1] < 0.0);
/// let p = svm.predict_positive(array![[1.5, 1.5]].view())?;
/// assert!(p[0] > 0.5);
///
/// // Three classes: one probability column per class.
/// let x = array![[0.0, 0.0], [0.3, 0.1], [3.0, 0.0], [3.2, 0.3], [0.0, 3.0], [0.2, 3.3]];
/// let svm = Svm::fit(x.view(), &[0, 0, 1, 1, 2, 2], &SvmParams::default())?;
/// assert_eq!(svm.n_classes(), 3);
/// let p = svm.predict_proba(array![[3.1, 0.1]].view())?;
/// assert!((p.row(0).sum() - 1.0).abs() < 1e-12);
/// assert_eq!(svm.predict(array![[3.1, 0.1], [0.1, 3.1]].view())?.to_vec(), [1, 2]);
/// # Ok::<(), mlflow_ml::models::ModelError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Svm {
    pub(super) n_features: usize,
    pub(super) gamma: f64,
    pub(super) machines: Machines,
}

/// The fitted machines: one for two classes, one per pair of classes for more.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Machines {
    /// Two classes: decision values positive for class 1.
    Binary(Binary),
    /// Three or more classes: one-vs-one.
    Pairs(Pairs),
}

/// The one machine of a two-class model (serialized as the `Svm` of before multiclass support).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Binary {
    /// Support vectors, row-major (`coef.len()` rows of `n_features`).
    pub(super) support_vectors: Vec<f64>,
    /// `alpha_i * y_i` of each support vector (`y_i` = +1 for class 1, -1 for class 0).
    pub(super) coef: Vec<f64>,
    pub(super) intercept: f64,
    pub(super) platt: Platt,
}

impl Svm {
    /// Fits the SVM on `x` (rows = samples; standardize it first) and class indices `y` (`0..k`,
    /// every class present; two classes give the binary model, more the one-vs-one model).
    ///
    /// ```
    /// use mlflow_ml::models::{ModelError, Svm, SvmParams};
    /// use ndarray::array;
    /// let bad = SvmParams { platt_folds: 1, ..Default::default() };
    /// let err = Svm::fit(array![[0.0], [1.0]].view(), &[0, 1], &bad).unwrap_err();
    /// assert!(matches!(err, ModelError::InvalidParam { param: "platt_folds", .. }));
    /// let err = Svm::fit(array![[0.0], [1.0]].view(), &[0, 2], &SvmParams::default()).unwrap_err();
    /// assert!(matches!(err, ModelError::MissingClass { class: 1, classes: 3 }));
    /// ```
    pub fn fit(x: ArrayView2<'_, f64>, y: &[usize], params: &SvmParams) -> Result<Self, ModelError> {
        Self::fit_threads(x, y, params, 0)
    }

    /// [`Svm::fit`] training the pairs of a multiclass model on at most `threads` threads (`0`: one
    /// per core). The model does not depend on it.
    pub(super) fn fit_threads(
        x: ArrayView2<'_, f64>,
        y: &[usize],
        params: &SvmParams,
        threads: usize,
    ) -> Result<Self, ModelError> {
        if !(params.c > 0.0 && params.c.is_finite()) {
            return Err(invalid(KIND, "c", params.c, "a finite number > 0"));
        }
        if !(params.tol > 0.0 && params.tol.is_finite()) {
            return Err(invalid(KIND, "tol", params.tol, "a finite number > 0"));
        }
        if let Gamma::Value(g) = params.gamma
            && !(g > 0.0 && g.is_finite())
        {
            return Err(invalid(KIND, "gamma", format!("Value({g})"), "a finite number > 0"));
        }
        let counts = check_classes(x, y)?;
        let smallest = counts.iter().copied().min().unwrap_or(0);
        let k = params.platt_folds;
        if k == 1 || k > smallest {
            return Err(invalid(
                KIND,
                "platt_folds",
                k,
                "0 (in-sample) or between 2 and the number of rows of the smallest class",
            ));
        }
        let (n, p) = x.dim();
        let gamma = params.gamma.resolve(x);
        let data: Vec<f64> = x.iter().copied().collect();
        let machines = if counts.len() == 2 {
            let all: Vec<usize> = (0..n).collect();
            let (s, platt) = train_machine(&data, p, y, &all, gamma, params);
            Machines::Binary(Binary {
                support_vectors: s.support_vectors,
                coef: s.coef,
                intercept: s.intercept,
                platt,
            })
        } else {
            Machines::Pairs(Pairs::fit(&data, p, y, counts.len(), gamma, params, threads))
        };
        Ok(Svm { n_features: p, gamma, machines })
    }

    /// The decision function `f(x)` for every row (positive means class 1) of a two-class model.
    ///
    /// Fails with [`ModelError::NotBinary`] for a model of more classes: see
    /// [`Svm::decision_function_ovo`].
    ///
    /// ```
    /// use mlflow_ml::models::{Svm, SvmParams};
    /// use ndarray::array;
    /// let svm = Svm::fit(array![[0.0], [1.0], [3.0], [4.0]].view(), &[0, 0, 1, 1], &SvmParams::default())?;
    /// assert!(svm.decision_function(array![[4.0]].view())?[0] > 0.0);
    /// # Ok::<(), mlflow_ml::models::ModelError>(())
    /// ```
    pub fn decision_function(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>, ModelError> {
        check_input(x, self.n_features)?;
        let b = match &self.machines {
            Machines::Binary(b) => b,
            Machines::Pairs(pairs) => return Err(ModelError::NotBinary { classes: pairs.n_classes() }),
        };
        if self.n_features == 0 || b.support_vectors.len() != b.coef.len() * self.n_features {
            return Err(ModelError::Corrupt {
                model: KIND,
                detail: format!(
                    "{} support vector values for {} coefficients of {} features",
                    b.support_vectors.len(),
                    b.coef.len(),
                    self.n_features
                ),
            });
        }
        let data: Vec<f64> = x.iter().copied().collect(); // row-major, whatever the layout of x
        let points = data.chunks_exact(self.n_features);
        Ok(decisions(&b.support_vectors, &b.coef, b.intercept, self.gamma, points).into())
    }

    /// One-vs-one decision values: one column per pair of classes `i < j`, in the order `(0,1),
    /// (0,2), ..., (1,2), ...`, positive for class `i` (scikit-learn's
    /// `SVC(decision_function_shape="ovo").decision_function` for three or more classes). For a
    /// two-class model that is one column, `-decision_function`.
    ///
    /// ```
    /// use mlflow_ml::models::{Svm, SvmParams};
    /// use ndarray::array;
    /// let x = array![[0.0], [0.2], [2.0], [2.2], [4.0], [4.2]];
    /// let svm = Svm::fit(x.view(), &[0, 0, 1, 1, 2, 2], &SvmParams::default())?;
    /// let f = svm.decision_function_ovo(array![[0.1]].view())?;
    /// assert_eq!(f.dim(), (1, 3));
    /// assert!(f[[0, 0]] > 0.0 && f[[0, 1]] > 0.0); // class 0 beats classes 1 and 2
    /// # Ok::<(), mlflow_ml::models::ModelError>(())
    /// ```
    pub fn decision_function_ovo(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>, ModelError> {
        match &self.machines {
            Machines::Binary(_) => {
                let f = self.decision_function(x)?;
                Ok(f.mapv(|v| -v).insert_axis(ndarray::Axis(1)))
            }
            Machines::Pairs(pairs) => {
                check_input(x, self.n_features)?;
                pairs.decisions(x, self.n_features, self.gamma)
            }
        }
    }

    /// LIBSVM's one-vs-one vote (scikit-learn's `SVC.predict`): each pair's decision value votes
    /// for class `i` when positive, for class `j` otherwise; the most votes win, the lowest class
    /// index on a tie. For a two-class model that is `1` where `f(x) >= 0`.
    ///
    /// ```
    /// use mlflow_ml::models::{Svm, SvmParams};
    /// use ndarray::array;
    /// let x = array![[0.0], [0.2], [2.0], [2.2], [4.0], [4.2]];
    /// let svm = Svm::fit(x.view(), &[0, 0, 1, 1, 2, 2], &SvmParams::default())?;
    /// assert_eq!(svm.predict_votes(array![[0.1], [2.1], [4.1]].view())?.to_vec(), [0, 1, 2]);
    /// # Ok::<(), mlflow_ml::models::ModelError>(())
    /// ```
    pub fn predict_votes(&self, x: ArrayView2<'_, f64>) -> Result<Array1<usize>, ModelError> {
        let f = self.decision_function_ovo(x)?;
        Ok(super::svm_multiclass::votes(&f, self.n_classes()))
    }

    /// The number of support vectors (for more than two classes: of distinct training rows that
    /// support at least one pair, as scikit-learn's `n_support_.sum()`).
    ///
    /// ```
    /// use mlflow_ml::models::{Svm, SvmParams};
    /// use ndarray::array;
    /// let svm = Svm::fit(array![[0.0], [1.0]].view(), &[0, 1], &SvmParams::default())?;
    /// assert_eq!(svm.n_support(), 2);
    /// # Ok::<(), mlflow_ml::models::ModelError>(())
    /// ```
    pub fn n_support(&self) -> usize {
        match &self.machines {
            Machines::Binary(b) => b.coef.len(),
            Machines::Pairs(pairs) => pairs.n_support(),
        }
    }

    /// The kernel width used.
    ///
    /// ```
    /// use mlflow_ml::models::{Gamma, Svm, SvmParams};
    /// use ndarray::array;
    /// let p = SvmParams { gamma: Gamma::Value(0.25), ..Default::default() };
    /// assert_eq!(Svm::fit(array![[0.0], [1.0]].view(), &[0, 1], &p)?.gamma(), 0.25);
    /// # Ok::<(), mlflow_ml::models::ModelError>(())
    /// ```
    pub fn gamma(&self) -> f64 {
        self.gamma
    }

    /// The intercept `b` of the decision function of the machine between classes 0 and 1 (the only
    /// one of a two-class model), oriented as a two-class model: positive for class 1.
    ///
    /// ```
    /// use mlflow_ml::models::{Svm, SvmParams};
    /// use ndarray::array;
    /// let svm = Svm::fit(array![[-1.0], [1.0]].view(), &[0, 1], &SvmParams::default())?;
    /// assert!(svm.intercept().abs() < 1e-9); // symmetric data
    /// # Ok::<(), mlflow_ml::models::ModelError>(())
    /// ```
    pub fn intercept(&self) -> f64 {
        match &self.machines {
            Machines::Binary(b) => b.intercept,
            Machines::Pairs(pairs) => -pairs.first().intercept,
        }
    }

    /// The fitted Platt sigmoid of the machine between classes 0 and 1 (the only one of a
    /// two-class model), giving P(class 1) from a decision value oriented as [`Svm::intercept`].
    ///
    /// ```
    /// use mlflow_ml::models::{Svm, SvmParams};
    /// use ndarray::array;
    /// let svm = Svm::fit(array![[0.0], [1.0], [3.0], [4.0]].view(), &[0, 0, 1, 1], &SvmParams::default())?;
    /// assert!(svm.platt().a < 0.0);
    /// # Ok::<(), mlflow_ml::models::ModelError>(())
    /// ```
    pub fn platt(&self) -> Platt {
        match &self.machines {
            Machines::Binary(b) => b.platt,
            // P(0 | g) = 1 / (1 + exp(a g + b)) with g = -f gives P(1 | f) = 1 / (1 + exp(a f - b)).
            Machines::Pairs(pairs) => {
                let s = pairs.first().platt;
                Platt { a: s.a, b: -s.b }
            }
        }
    }
}

impl Classifier for Svm {
    fn n_features(&self) -> usize {
        self.n_features
    }

    fn n_classes(&self) -> usize {
        match &self.machines {
            Machines::Binary(_) => 2,
            Machines::Pairs(pairs) => pairs.n_classes(),
        }
    }

    fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>, ModelError> {
        match &self.machines {
            Machines::Binary(b) => {
                let f = self.decision_function(x)?;
                Ok(super::two_columns(f.mapv(|f| b.platt.probability(f))))
            }
            Machines::Pairs(pairs) => {
                check_input(x, self.n_features)?;
                pairs.probabilities(x, self.n_features, self.gamma)
            }
        }
    }
}

/// Trains one machine on the rows `rows` of `data` (class `labels[r] == 1` positive) and fits its
/// Platt sigmoid (on the training rows' decision values or out of fold, per
/// [`SvmParams::platt_folds`]).
pub(super) fn train_machine(
    data: &[f64],
    p: usize,
    labels: &[usize],
    rows: &[usize],
    gamma: f64,
    params: &SvmParams,
) -> (Solution, Platt) {
    let solution = smo(data, p, labels, rows, gamma, params, CACHE_BYTES);
    let k = params.platt_folds;
    let decision: Vec<f64> = if k == 0 {
        solution.train_decision.clone()
    } else {
        // Stratified, deterministic folds: the i-th row of each class goes to fold i mod k.
        let mut fold = vec![0usize; rows.len()];
        let mut seen = [0usize; 2];
        for (f, &r) in fold.iter_mut().zip(rows) {
            let label = usize::from(labels[r] == 1);
            *f = seen[label] % k;
            seen[label] += 1;
        }
        let mut out = vec![0.0; rows.len()];
        for current in 0..k {
            let train: Vec<usize> =
                (0..rows.len()).filter(|&t| fold[t] != current).map(|t| rows[t]).collect();
            let s = smo(data, p, labels, &train, gamma, params, CACHE_BYTES);
            let held_out: Vec<usize> = (0..rows.len()).filter(|&t| fold[t] == current).collect();
            let points = held_out.iter().map(|&t| &data[rows[t] * p..(rows[t] + 1) * p]);
            let values = decisions(&s.support_vectors, &s.coef, s.intercept, gamma, points);
            for (&t, v) in held_out.iter().zip(values) {
                out[t] = v;
            }
        }
        out
    };
    let row_labels: Vec<usize> = rows.iter().map(|&r| usize::from(labels[r] == 1)).collect();
    let platt = Platt::fit(&decision, &row_labels);
    (solution, platt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn dual_constraints_hold() {
        let x = array![[0.0, 0.0], [1.0, 0.2], [0.2, 1.0], [2.0, 2.0], [2.5, 1.5], [0.9, 0.8], [1.1, 1.3]];
        let y = [0, 0, 0, 1, 1, 1, 0];
        let m = Svm::fit(x.view(), &y, &SvmParams::default()).unwrap();
        let Machines::Binary(m) = m.machines else { panic!("two classes give one machine") };
        // sum alpha_i y_i = 0 and 0 <= alpha_i <= C
        assert!(m.coef.iter().sum::<f64>().abs() < 1e-9);
        assert!(m.coef.iter().all(|c| c.abs() <= 1.0 + 1e-12));
    }

    #[test]
    fn platt_is_monotone_and_oriented() {
        let s = Platt::fit(&[-3.0, -2.0, -1.0, 1.0, 2.0, 3.0], &[0, 0, 0, 1, 1, 1]);
        assert!(s.probability(3.0) > 0.5 && s.probability(-3.0) < 0.5);
    }
}
