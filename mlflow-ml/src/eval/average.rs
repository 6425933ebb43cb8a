//! How per-class scores become one number: scikit-learn's `average=` parameter.

use serde::{Deserialize, Serialize};

/// How precision, recall and F-beta over several classes become one number (scikit-learn's
/// `average=`, with `labels=range(n_classes)`).
///
/// - [`Macro`](Average::Macro): the plain mean of the per-class scores, **every** class counted,
///   also one absent from both `y_true` and `y_pred` (its 0/0 scores count as 0.0).
/// - [`Micro`](Average::Micro): the score of the summed counts (total true positives over total
///   predicted / actual); with every class included, micro precision = micro recall = micro F1 =
///   accuracy.
/// - [`Weighted`](Average::Weighted): the mean of the per-class scores weighted by support (the
///   number of true samples of each class).
/// - [`Binary`](Average::Binary): the score of one class only, `positive` (scikit-learn's
///   `average="binary", pos_label=positive`; for more than two classes scikit-learn spells it
///   `labels=[positive]`, which gives the same number).
///
/// ```
/// use mlflow_ml::eval::{Average, ConfusionMatrix};
/// let m = ConfusionMatrix::compute(&[0, 0, 1, 2], &[0, 1, 1, 2], 3)?;
/// assert_eq!(m.precision(Average::Macro)?, (1.0 + 0.5 + 1.0) / 3.0);
/// assert_eq!(m.precision(Average::Micro)?, 0.75); // = accuracy
/// assert_eq!(m.precision(Average::Binary { positive: 1 })?, 0.5);
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Average {
    /// Unweighted mean over all classes.
    Macro,
    /// Score of the pooled counts.
    Micro,
    /// Mean weighted by each class's support.
    Weighted,
    /// The score of the one class `positive`.
    Binary {
        /// The class index scored.
        positive: usize,
    },
}

/// How one-vs-rest / one-vs-one ranking scores (ROC AUC, average precision) over classes become
/// one number: scikit-learn's `average="macro"` or `"weighted"` for `roc_auc_score` and
/// `average_precision_score`.
///
/// ```
/// use mlflow_ml::eval::MulticlassAverage;
/// assert_ne!(MulticlassAverage::Macro, MulticlassAverage::Weighted);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MulticlassAverage {
    /// Unweighted mean over classes (or class pairs).
    Macro,
    /// Mean weighted by class prevalence (one-vs-rest: support; one-vs-one: the share of samples
    /// in the pair).
    Weighted,
}
