//! Seeded, stratified train/test splits and class labels read from a table.

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use crate::data::{Column, Table};

use super::FeatureError;
use super::values::column;

/// Row indices of a train/test split: both sorted ascending, every row in exactly one side.
///
/// ```
/// use mlflow_ml::features::stratified_split;
/// let split = stratified_split(&[0, 0, 0, 0, 1, 1, 1, 1], 0.25, 42)?;
/// assert_eq!((split.train.len(), split.test.len()), (6, 2));
/// assert!(split.train.windows(2).all(|w| w[0] < w[1]));
/// # Ok::<(), mlflow_ml::features::FeatureError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    /// Training rows.
    pub train: Vec<usize>,
    /// Hold-out rows.
    pub test: Vec<usize>,
}

/// Splits rows into train and test, preserving class proportions.
///
/// For each class (in ascending label order) with `n` rows, `round(n * test_fraction)` rows
/// (rounding half away from zero), clamped to `1..=n-1`, go to the test side, so every class
/// appears on both sides. Which rows is decided by shuffling the class's row indices with a
/// `StdRng` seeded by `seed` (one generator for all classes, classes in ascending order), so the
/// same labels and seed always give the same split (with the pinned `rand` 0.8).
///
/// Errors: `test_fraction` outside the open interval (0, 1) or NaN, no labels, or a class with
/// fewer than 2 rows.
///
/// ```
/// use mlflow_ml::features::{stratified_split, FeatureError};
/// let labels = [0, 1, 0, 1, 0, 1, 0, 0, 0, 0];
/// let a = stratified_split(&labels, 0.2, 7)?;
/// assert_eq!(a, stratified_split(&labels, 0.2, 7)?); // deterministic per seed
/// assert_eq!(a.test.iter().filter(|&&i| labels[i] == 1).count(), 1); // round(3 * 0.2) = 1
/// assert!(matches!(stratified_split(&[0, 0, 1], 0.5, 7), Err(FeatureError::ClassTooSmall { class: 1, .. })));
/// # Ok::<(), FeatureError>(())
/// ```
pub fn stratified_split(labels: &[usize], test_fraction: f64, seed: u64) -> Result<Split, FeatureError> {
    if !(test_fraction > 0.0 && test_fraction < 1.0) {
        return Err(FeatureError::BadFraction { fraction: test_fraction });
    }
    if labels.is_empty() {
        return Err(FeatureError::EmptyLabels);
    }
    let mut classes: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, &c) in labels.iter().enumerate() {
        classes.entry(c).or_default().push(i);
    }
    if let Some((&class, rows)) = classes.iter().find(|(_, rows)| rows.len() < 2) {
        return Err(FeatureError::ClassTooSmall { class, count: rows.len() });
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let mut train = Vec::with_capacity(labels.len());
    let mut test = Vec::new();
    for (_, mut rows) in classes {
        let n = rows.len();
        let n_test = ((n as f64 * test_fraction).round() as usize).clamp(1, n - 1);
        rows.shuffle(&mut rng);
        test.extend_from_slice(&rows[..n_test]);
        train.extend_from_slice(&rows[n_test..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    Ok(Split { train, test })
}

/// Splits `rows` rows into train and test without strata (for regression targets): the row
/// indices shuffled by a `StdRng` seeded by `seed`, the first `round(rows * test_fraction)`
/// (clamped to `1..=rows-1`) to the test side; both sides sorted.
///
/// Errors: `test_fraction` outside the open interval (0, 1) or NaN, and fewer than 2 rows.
///
/// ```
/// use mlflow_ml::features::shuffled_split;
/// let split = shuffled_split(10, 0.2, 7)?;
/// assert_eq!((split.train.len(), split.test.len()), (8, 2));
/// assert_eq!(split, shuffled_split(10, 0.2, 7)?);
/// # Ok::<(), mlflow_ml::features::FeatureError>(())
/// ```
pub fn shuffled_split(rows: usize, test_fraction: f64, seed: u64) -> Result<Split, FeatureError> {
    if !(test_fraction > 0.0 && test_fraction < 1.0) {
        return Err(FeatureError::BadFraction { fraction: test_fraction });
    }
    if rows < 2 {
        return Err(FeatureError::EmptyLabels);
    }
    let mut order: Vec<usize> = (0..rows).collect();
    order.shuffle(&mut StdRng::seed_from_u64(seed));
    let n_test = ((rows as f64 * test_fraction).round() as usize).clamp(1, rows - 1);
    let mut test = order[..n_test].to_vec();
    let mut train = order[n_test..].to_vec();
    train.sort_unstable();
    test.sort_unstable();
    Ok(Split { train, test })
}

/// Reads a class label column as `usize` labels: integers `>= 0` (floats must be whole numbers,
/// text must parse as such), none missing.
///
/// ```
/// use mlflow_ml::data::{Column, Table};
/// use mlflow_ml::features::{class_labels, FeatureError};
/// let t = Table::new(vec![("Survived".into(), Column::Int(vec![Some(0), Some(1), None]))]).unwrap();
/// assert!(matches!(class_labels(&t, "Survived"), Err(FeatureError::BadLabel { row: 2, .. })));
/// let t = Table::new(vec![("Survived".into(), Column::Int(vec![Some(0), Some(1)]))]).unwrap();
/// assert_eq!(class_labels(&t, "Survived")?, [0, 1]);
/// # Ok::<(), FeatureError>(())
/// ```
pub fn class_labels(table: &Table, label: &str) -> Result<Vec<usize>, FeatureError> {
    let col = column(table, label)?;
    let bad = |row: usize, message: String| FeatureError::BadLabel { column: label.to_owned(), row, message };
    let missing = |row: usize| bad(row, "missing label; drop the row or fill the label".into());
    let whole = |row: usize, x: f64, shown: String| {
        if x.is_finite() && x >= 0.0 && x.fract() == 0.0 && x <= u32::MAX as f64 {
            Ok(x as usize)
        } else {
            Err(bad(row, format!("`{shown}` is not a class label; labels are whole numbers 0, 1, 2, ...")))
        }
    };
    match col {
        Column::Int(v) => v
            .iter()
            .enumerate()
            .map(|(i, x)| match x {
                None => Err(missing(i)),
                Some(x) => usize::try_from(*x).map_err(|_| {
                    bad(i, format!("`{x}` is not a class label; labels are whole numbers 0, 1, 2, ..."))
                }),
            })
            .collect(),
        Column::Float(v) => v
            .iter()
            .enumerate()
            .map(|(i, x)| match x {
                None => Err(missing(i)),
                Some(x) => whole(i, *x, x.to_string()),
            })
            .collect(),
        Column::Str(v) => v
            .iter()
            .enumerate()
            .map(|(i, x)| match x {
                None => Err(missing(i)),
                Some(s) => match s.trim().parse::<f64>() {
                    Ok(x) => whole(i, x, s.clone()),
                    Err(_) => Err(bad(
                        i,
                        format!("`{s}` is not a class label; labels are whole numbers 0, 1, 2, ..."),
                    )),
                },
            })
            .collect(),
    }
}
