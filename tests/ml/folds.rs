//! Cross-validation folds: scikit-learn's `KFold` and `StratifiedKFold` test folds on committed
//! cases (tests/fixtures/folds, made by its generate.py), the seeded shuffle and repetitions, and
//! every refused cross-validation.

use std::collections::BTreeMap;

use mlflow::features::{CrossValidation, FeatureError, Split};

#[derive(serde::Deserialize)]
struct Fixture {
    k_fold: Vec<KFoldCase>,
    stratified: Vec<StratifiedCase>,
}

#[derive(serde::Deserialize)]
struct KFoldCase {
    rows: usize,
    n_splits: usize,
    test: Vec<Vec<usize>>,
}

#[derive(serde::Deserialize)]
struct StratifiedCase {
    name: String,
    labels: Vec<usize>,
    n_splits: usize,
    test: Vec<Vec<usize>>,
}

fn fixture() -> Fixture {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/folds/folds.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Each split's train side is the sorted complement of its test side.
fn assert_complements(splits: &[Split], rows: usize) {
    for split in splits {
        let train: Vec<usize> = (0..rows).filter(|row| !split.test.contains(row)).collect();
        assert_eq!(split.train, train);
        assert!(split.test.windows(2).all(|w| w[0] < w[1]));
    }
}

/// Each repetition's test folds hold every row exactly once.
fn assert_partitions(splits: &[Split], n_splits: usize, rows: usize) {
    for repetition in splits.chunks(n_splits) {
        let mut seen: Vec<usize> = repetition.iter().flat_map(|s| s.test.iter().copied()).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..rows).collect::<Vec<_>>());
    }
}

#[test]
fn unshuffled_k_fold_is_scikit_learns() {
    for case in fixture().k_fold {
        let splits = CrossValidation::k_fold(case.n_splits).splits_of(case.rows).unwrap();
        let tests: Vec<Vec<usize>> = splits.iter().map(|s| s.test.clone()).collect();
        assert_eq!(tests, case.test, "KFold({}) of {} rows", case.n_splits, case.rows);
        assert_complements(&splits, case.rows);
        // Labels only count for their number when the folds are not stratified.
        let labels = vec![0; case.rows];
        assert_eq!(CrossValidation::k_fold(case.n_splits).splits(&labels).unwrap(), splits);
    }
}

#[test]
fn unshuffled_stratified_k_fold_is_scikit_learns() {
    for case in fixture().stratified {
        let splits = CrossValidation::stratified(case.n_splits).splits(&case.labels).unwrap();
        let tests: Vec<Vec<usize>> = splits.iter().map(|s| s.test.clone()).collect();
        assert_eq!(tests, case.test, "{}", case.name);
        assert_complements(&splits, case.labels.len());
    }
}

/// Per fold, the rows of each class in its test side.
fn class_counts(splits: &[Split], labels: &[usize]) -> Vec<BTreeMap<usize, usize>> {
    splits
        .iter()
        .map(|s| {
            let mut counts = BTreeMap::new();
            for &row in &s.test {
                *counts.entry(labels[row]).or_insert(0) += 1;
            }
            counts
        })
        .collect()
}

#[test]
fn a_shuffle_is_seeded_and_keeps_the_fold_sizes_and_class_shares() {
    let labels: Vec<usize> = (0..47).map(|i| [0, 0, 1, 2, 0, 1][i % 6]).collect();
    for cv in [CrossValidation::k_fold(5), CrossValidation::stratified(5)] {
        let plain = cv.splits(&labels).unwrap();
        let shuffled = cv.shuffled(3).splits(&labels).unwrap();
        assert_eq!(shuffled, cv.shuffled(3).splits(&labels).unwrap(), "same seed, same folds");
        assert_ne!(shuffled, cv.shuffled(4).splits(&labels).unwrap(), "another seed, other folds");
        assert_ne!(shuffled, plain);
        assert_partitions(&shuffled, 5, labels.len());
        assert_complements(&shuffled, labels.len());
        let sizes = |splits: &[Split]| splits.iter().map(|s| s.test.len()).collect::<Vec<_>>();
        assert_eq!(sizes(&shuffled), sizes(&plain));
        if cv.stratified {
            assert_eq!(class_counts(&shuffled, &labels), class_counts(&plain, &labels));
        }
    }
}

#[test]
fn repetitions_are_whole_cross_validations_each_shuffled_anew() {
    let labels: Vec<usize> = (0..30).map(|i| i % 3).collect();
    let cv = CrossValidation::stratified(3).repeated(4, 9);
    assert_eq!(cv.len(), 12);
    let splits = cv.splits(&labels).unwrap();
    assert_eq!(splits.len(), 12);
    assert_partitions(&splits, 3, 30);
    let repetitions: Vec<&[Split]> = splits.chunks(3).collect();
    for (i, a) in repetitions.iter().enumerate() {
        for b in &repetitions[i + 1..] {
            assert_ne!(a, b, "each repetition draws new folds");
        }
    }
    assert_eq!(splits, cv.splits(&labels).unwrap());
    let rows = CrossValidation::k_fold(4).repeated(2, 9).splits_of(9).unwrap();
    assert_eq!(rows.len(), 8);
    assert_partitions(&rows, 4, 9);
}

#[test]
fn unusable_cross_validations_are_refused_with_the_fix() {
    let labels = [0, 0, 0, 1, 1, 1, 1, 7, 7];
    let err = CrossValidation::k_fold(1).splits(&labels).unwrap_err();
    assert!(matches!(err, FeatureError::BadFolds { n_splits: 1, .. }), "{err}");
    assert!(err.to_string().contains("at least 2 folds"), "{err}");
    let unshuffled_repeats = CrossValidation { repeats: 3, ..CrossValidation::k_fold(3) };
    let err = unshuffled_repeats.splits_of(9).unwrap_err();
    assert!(err.to_string().contains("shuffle seed to repeat"), "{err}");
    let none = CrossValidation { repeats: 0, ..CrossValidation::k_fold(3) };
    assert!(matches!(none.splits_of(9), Err(FeatureError::BadFolds { repeats: 0, .. })));

    let err = CrossValidation::k_fold(10).splits(&labels).unwrap_err();
    assert_eq!(err, FeatureError::TooFewRowsForFolds { rows: 9, n_splits: 10 });
    assert!(err.to_string().contains("use at most 9 folds"), "{err}");
    assert!(matches!(
        CrossValidation::k_fold(2).splits(&[]),
        Err(FeatureError::TooFewRowsForFolds { rows: 0, .. })
    ));

    // Class 7 has 2 rows: 3 stratified folds cannot each hold it (scikit-learn would only warn).
    let err = CrossValidation::stratified(3).splits(&labels).unwrap_err();
    assert_eq!(err, FeatureError::ClassTooSmallForFolds { class: 7, count: 2, n_splits: 3 });
    assert!(err.to_string().contains("use at most 2 folds"), "{err}");
    assert!(CrossValidation::stratified(2).splits(&labels).is_ok());

    let err = CrossValidation::stratified(3).splits_of(9).unwrap_err();
    assert!(matches!(err, FeatureError::FoldsNeedLabels { n_splits: 3 }), "{err}");
    assert!(err.to_string().contains("CrossValidation::k_fold"), "{err}");
}
