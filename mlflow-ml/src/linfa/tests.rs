//! The adapters' conventions (each test fails if linfa's behaviour it documents changes), bad
//! input as errors, and round trips through the artifact codec.

use ::linfa::prelude::*;
use ndarray::{Array1, Array2, array};

use super::*;
use crate::models::{Estimator, Model, ModelParams, RegressionModel, RegressionParams};

/// Three well-separated blobs of 10 rows each in 2-D, classes 0, 1, 2.
fn blobs() -> (Array2<f64>, Vec<usize>) {
    let centers = [(0.0, 0.0), (5.0, 5.0), (0.0, 8.0)];
    let mut x = Array2::zeros((30, 2));
    let mut y = Vec::new();
    for i in 0..30 {
        let (cx, cy) = centers[i % 3];
        let j = (i / 3) as f64;
        x[[i, 0]] = cx + 0.1 * (j * 7.0 % 5.0) - 0.2;
        x[[i, 1]] = cy + 0.1 * (j * 3.0 % 5.0) - 0.2;
        y.push(i % 3);
    }
    (x, y)
}

fn roundtrip<T: serde::Serialize + serde::de::DeserializeOwned>(value: &T) -> T {
    let bytes = mlflow_core::codec::encode(value).unwrap();
    mlflow_core::codec::decode(&bytes, 1 << 26).unwrap()
}

fn bits(a: &Array2<f64>) -> Vec<u64> {
    a.iter().map(|v| v.to_bits()).collect()
}

// ---- decision tree ----

#[test]
fn tree_gives_leaf_fractions_and_the_first_class_on_a_tie() {
    // One leaf (depth 0) holding two rows of each class: linfa picks a class in HashMap order.
    let x = array![[0.0], [1.0], [2.0], [3.0]];
    let y = [1, 0, 1, 0];
    let params = LinfaTreeParams { max_depth: Some(0), ..Default::default() };
    let mut linfa_classes = std::collections::BTreeSet::new();
    for _ in 0..64 {
        let m = LinfaTree::fit(x.view(), &y, &params).unwrap();
        assert_eq!(m.predict_proba(array![[1.5]].view()).unwrap(), array![[0.5, 0.5]]);
        assert_eq!(m.predict(array![[1.5]].view()).unwrap().to_vec(), [0]);
        linfa_classes.insert(m.fitted().predict(&x)[0]);
    }
    // linfa's own tie-break varies from fit to fit (a HashMap's random order); the adapter's does not.
    assert_eq!(linfa_classes.len(), 2, "linfa's tie-break became deterministic: {linfa_classes:?}");
}

#[test]
fn tree_routes_rows_as_linfa_does_left_only_below_the_threshold() {
    let x = array![[0.0], [1.0]];
    let m = LinfaTree::fit(x.view(), &[0, 1], &LinfaTreeParams::default()).unwrap();
    let (feature, threshold, _) = m.fitted().root_node().split();
    assert_eq!((feature, threshold), (0, 0.5));
    // At the threshold linfa goes right (scikit-learn would go left, `<=`).
    let at = array![[0.5]];
    assert_eq!(m.fitted().predict(&at).to_vec(), [1]);
    assert_eq!(m.predict(at.view()).unwrap().to_vec(), [1]);
    assert_eq!(m.predict_proba(array![[0.4999]].view()).unwrap(), array![[1.0, 0.0]]);
}

#[test]
fn tree_never_splits_values_closer_than_1e_5() {
    let x = array![[0.0], [1e-6], [0.0], [1e-6]];
    let m = LinfaTree::fit(x.view(), &[0, 1, 0, 1], &LinfaTreeParams::default()).unwrap();
    assert!(m.fitted().root_node().is_leaf(), "linfa now splits values closer than 1e-5");
    assert_eq!(m.predict_proba(x.view()).unwrap().row(0).to_vec(), [0.5, 0.5]);
    // Scaled up, the same data split.
    let m = LinfaTree::fit((&x * 1e6).view(), &[0, 1, 0, 1], &LinfaTreeParams::default()).unwrap();
    assert_eq!(m.predict((&x * 1e6).view()).unwrap().to_vec(), [0, 1, 0, 1]);
}

#[test]
fn linfa_tree_equality_looks_only_at_the_root_feature_and_ours_at_the_whole_tree() {
    let x = array![[0.0], [1.0], [2.0], [3.0]];
    let a = LinfaTree::fit(x.view(), &[0, 1, 1, 1], &LinfaTreeParams::default()).unwrap();
    let b = LinfaTree::fit(x.view(), &[0, 0, 0, 1], &LinfaTreeParams::default()).unwrap();
    assert_eq!(a.fitted(), b.fitted(), "linfa's DecisionTree == now tells these trees apart");
    assert_ne!(a, b);
    assert_eq!(a, a.clone());
}

#[test]
fn tree_learns_blobs_and_survives_the_codec() {
    let (x, y) = blobs();
    let m = Model::fit(x.view(), &y, &ModelParams::Linfa(LinfaTreeParams::default().into())).unwrap();
    assert_eq!((m.n_classes(), m.n_features(), m.kind()), (3, 2, TREE));
    assert_eq!(m.predict(x.view()).unwrap().to_vec(), y);
    let back = roundtrip(&m);
    assert_eq!(back, m);
    assert_eq!(bits(&back.predict_proba(x.view()).unwrap()), bits(&m.predict_proba(x.view()).unwrap()));
}

#[test]
fn a_one_hot_tree_gives_linfa_s_classes() {
    let (x, y) = blobs();
    let fitted = linfa_trees::DecisionTree::params()
        .fit(&::linfa::Dataset::new(x.clone(), Array1::from(y.clone())))
        .unwrap();
    let m = LinfaTree::from_fitted_one_hot(fitted.clone(), 2, 3).unwrap();
    assert_eq!(m.predict(x.view()).unwrap(), fitted.predict(&x));
    assert!(m.predict_proba(x.view()).unwrap().iter().all(|&p| p == 0.0 || p == 1.0));
    assert!(matches!(LinfaTree::from_fitted_one_hot(fitted.clone(), 2, 2), Err(ModelError::Corrupt { .. })));
    assert!(matches!(LinfaTree::from_fitted_one_hot(fitted, 2, 1), Err(ModelError::InvalidParam { .. })));
}

// ---- logistic regression ----

#[test]
fn linfa_binary_probability_is_of_the_majority_class_and_the_adapter_s_of_class_1() {
    let x = array![[0.0], [0.5], [1.0], [1.5], [4.0], [5.0]];
    let params = LinfaLogisticParams::default();
    // Class 0 is the majority: linfa's "positive" class is 0, not the larger label.
    let majority_zero = LinfaLogistic::fit(x.view(), &[0, 0, 0, 0, 1, 1], &params).unwrap();
    let linfa = majority_zero.binary().unwrap();
    assert_eq!(
        (linfa.labels().pos.class, linfa.labels().neg.class),
        (0, 1),
        "linfa's positive class changed"
    );
    let raw = linfa.predict_probabilities(&array![[5.0]]);
    let p = majority_zero.predict_proba(array![[5.0]].view()).unwrap();
    assert!(raw[0] < 0.5 && p[[0, 1]] > 0.5);
    assert_eq!(p[[0, 0]], raw[0]);
    // Class 1 the majority: linfa's positive class is 1.
    let majority_one = LinfaLogistic::fit(x.view(), &[0, 0, 1, 1, 1, 1], &params).unwrap();
    assert_eq!(majority_one.binary().unwrap().labels().pos.class, 1);
    let p = majority_one.predict_proba(array![[5.0], [0.0]].view()).unwrap();
    assert!(p[[0, 1]] > 0.5 && p[[1, 1]] < 0.5);
    // A tie: the first class seen is linfa's positive one.
    let tie = LinfaLogistic::fit(x.view(), &[1, 0, 0, 0, 1, 1], &params).unwrap();
    assert_eq!(tie.binary().unwrap().labels().pos.class, 1);
    let tie = LinfaLogistic::fit(x.view(), &[0, 0, 0, 1, 1, 1], &params).unwrap();
    assert_eq!(tie.binary().unwrap().labels().pos.class, 0);
    assert!(tie.predict_proba(array![[5.0]].view()).unwrap()[[0, 1]] > 0.5);
}

#[test]
fn linfa_predicts_its_positive_class_at_the_threshold_and_the_adapter_class_0() {
    // No features but the intercept: with balanced classes and no data signal p = 0.5 exactly.
    let x = array![[0.0], [0.0]];
    let m = LinfaLogistic::fit(x.view(), &[0, 1], &LinfaLogisticParams::default()).unwrap();
    let linfa = m.binary().unwrap();
    assert_eq!(linfa.predict_probabilities(&x)[0], 0.5);
    assert_eq!(linfa.predict(&x)[0], linfa.labels().pos.class);
    assert_eq!(m.predict(x.view()).unwrap().to_vec(), [0, 0]);
}

#[test]
fn multinomial_logistic_on_blobs() {
    let (x, y) = blobs();
    let m = LinfaLogistic::fit(x.view(), &y, &LinfaLogisticParams::default()).unwrap();
    assert!(m.is_multinomial());
    let p = m.predict_proba(x.view()).unwrap();
    assert!(p.rows().into_iter().all(|r| (r.sum() - 1.0).abs() < 1e-12));
    assert_eq!(m.predict(x.view()).unwrap().to_vec(), y);
    // linfa's own argmax agrees (classes are 0..k in order).
    assert_eq!(m.multinomial().unwrap().predict(&x).to_vec(), y);
    let back = roundtrip(&Estimator::from(LinfaClassifier::from(m.clone())));
    let back = back.classifier().unwrap();
    assert_eq!(bits(&back.predict_proba(x.view()).unwrap()), bits(&p));
    // Two classes, multinomial on request.
    let two = LinfaLogistic::fit(
        x.view(),
        &y.iter().map(|&c| (c > 0) as usize).collect::<Vec<_>>(),
        &LinfaLogisticParams { multinomial: true, ..Default::default() },
    )
    .unwrap();
    assert!(two.is_multinomial() && two.n_classes() == 2);
}

#[test]
fn foreign_logistic_labels_are_refused() {
    let x = array![[0.0], [1.0], [3.0], [4.0]];
    let fitted = linfa_logistic::LogisticRegression::default()
        .fit(&::linfa::Dataset::new(x.clone(), Array1::from(vec![3usize, 3, 7, 7])))
        .unwrap();
    assert!(matches!(LinfaLogistic::from_binary(fitted), Err(ModelError::Corrupt { .. })));
    let fitted = linfa_logistic::MultiLogisticRegression::default()
        .fit(&::linfa::Dataset::new(x, Array1::from(vec![0usize, 0, 2, 2])))
        .unwrap();
    assert!(matches!(LinfaLogistic::from_multinomial(fitted), Err(ModelError::Corrupt { .. })));
}

// ---- linear and elastic net ----

#[test]
fn linfa_ols_recovers_a_plane_and_survives_the_codec() {
    let x = array![[0.0, 1.0], [1.0, 0.0], [2.0, 2.0], [3.0, 1.0], [4.0, 5.0]];
    let y: Vec<f64> = x.rows().into_iter().map(|r| 2.0 * r[0] - 3.0 * r[1] + 1.0).collect();
    let m = RegressionModel::fit(x.view(), &y, &RegressionParams::Linfa(LinfaLinearParams::default().into()))
        .unwrap();
    let RegressionModel::Linfa(LinfaRegressor::Linear(inner)) = &m else { panic!("{m:?}") };
    assert!((inner.coef()[0] - 2.0).abs() < 1e-10 && (inner.coef()[1] + 3.0).abs() < 1e-10);
    assert!((inner.intercept() - 1.0).abs() < 1e-10);
    let back = roundtrip(&m);
    assert_eq!(back, m);
    assert_eq!(back.predict(x.view()).unwrap(), m.predict(x.view()).unwrap());
}

#[test]
fn linfa_elastic_net_does_not_center_the_features_and_the_adapter_does() {
    // y = 2 x + 1 on features far from 0, a tiny penalty: nearly least squares.
    let x = array![[100.0], [101.0], [102.0], [103.0], [104.0]];
    let y: Vec<f64> = x.column(0).iter().map(|v| 2.0 * v + 1.0).collect();
    let mean_y = y.iter().sum::<f64>() / 5.0;
    let raw = linfa_elasticnet::ElasticNet::params()
        .penalty(1e-6)
        .fit(&::linfa::Dataset::new(x.clone(), Array1::from(y.clone())))
        .unwrap();
    // linfa's intercept is the target's mean whatever the features: its slope is far from 2.
    assert_eq!(raw.intercept(), mean_y, "linfa's elastic net now centers differently");
    assert!((raw.hyperplane()[0] - 2.0).abs() > 0.5, "linfa's elastic net now centers the features");
    let m = LinfaElasticNet::fit(x.view(), &y, &LinfaElasticNetParams::new(1e-6)).unwrap();
    assert!((m.coef()[0] - 2.0).abs() < 1e-4, "{}", m.coef()[0]);
    assert!((m.intercept() - 1.0).abs() < 1e-2, "{}", m.intercept());
    // Adapted as it is, the hand-fitted model predicts as linfa does.
    let plain = LinfaElasticNet::from_fitted(raw.clone());
    assert_eq!(plain.predict(x.view()).unwrap(), raw.predict(&x));
    let back = roundtrip(&RegressionModel::Linfa(m.clone().into()));
    assert_eq!(back, RegressionModel::Linfa(m.clone().into()));
    assert_eq!(back.predict(x.view()).unwrap(), m.predict(x.view()).unwrap());
}

// ---- k-means ----

#[test]
fn kmeans_numbers_clusters_by_centroid_and_gives_euclidean_distances() {
    let (x, _) = blobs();
    for seed in 0..4 {
        let km =
            LinfaKMeans::fit(x.view(), &LinfaKMeansParams { seed, ..LinfaKMeansParams::new(3) }).unwrap();
        let c = km.centroids();
        // In the order of the rows: the (0, 0) blob, then (5, 5), then (0, 8).
        assert!(c[[0, 1]] < 1.0 && c[[1, 0]] > 4.0 && c[[2, 1]] > 7.0, "{c}");
        let d = km.transform(x.view()).unwrap();
        let linfa_sq = km.fitted().transform(&x);
        for (row, sq) in d.rows().into_iter().zip(&linfa_sq) {
            let nearest = row.iter().cloned().fold(f64::INFINITY, f64::min);
            // linfa's transform is the squared distance to the nearest (linfa) centroid.
            assert!((nearest * nearest - sq).abs() < 1e-3 * sq.max(1e-3), "{nearest} {sq}");
        }
        // The adapter's centroids are the means of their rows; linfa's are not quite.
        for (c, blob) in c.rows().into_iter().zip(0..3) {
            let rows: Vec<usize> = (0..30).filter(|i| i % 3 == blob).collect();
            let mean = x.select(ndarray::Axis(0), &rows).mean_axis(ndarray::Axis(0)).unwrap();
            assert!((&c - &mean).iter().all(|v| v.abs() < 1e-12), "{c} {mean}");
        }
        let linfa_off = km
            .fitted()
            .centroids()
            .rows()
            .into_iter()
            .map(|lc| {
                c.rows()
                    .into_iter()
                    .map(|c| (&c - &lc).iter().fold(0.0f64, |m, v| m.max(v.abs())))
                    .fold(f64::INFINITY, f64::min)
            })
            .fold(0.0f64, f64::max);
        assert!(linfa_off > 1e-9, "linfa's centroids are now exact means");
        let ids = km.clone().with_output(KMeansOutput::Cluster).transform(x.view()).unwrap();
        let expected: Vec<f64> = (0..30).map(|i| (i % 3) as f64).collect();
        assert_eq!(ids.column(0).to_vec(), expected);
        assert_eq!(roundtrip(&km), km);
    }
}

#[test]
fn kmeans_is_reproducible_with_its_seed() {
    let (x, _) = blobs();
    let p = LinfaKMeansParams { n_runs: 2, ..LinfaKMeansParams::new(4) };
    let a = LinfaKMeans::fit(x.view(), &p).unwrap();
    let b = LinfaKMeans::fit(x.view(), &p).unwrap();
    assert_eq!(a, b);
    assert_eq!(bits(&a.transform(x.view()).unwrap()), bits(&b.transform(x.view()).unwrap()));
}

// ---- PCA ----

#[test]
fn pca_signs_make_the_largest_loading_positive() {
    // Points along (1, -2): the component's largest-magnitude loading is the second, made positive.
    let x = array![[1.0, -2.0], [2.0, -4.1], [-1.0, 2.0], [-2.0, 3.9], [0.5, -1.0], [0.0, 0.1]];
    let pca = LinfaPca::fit(x.view(), &LinfaPcaParams::new(1)).unwrap();
    let c = pca.components();
    assert!(c[[0, 1]] > 0.0 && c[[0, 0]] < 0.0, "{c}");
    let out = pca.transform(x.view()).unwrap();
    let linfa_out = pca.fitted().predict(&x);
    let flipped = pca.fitted().components()[[0, 1]] < 0.0;
    for (a, b) in out.iter().zip(&linfa_out) {
        assert_eq!(*a, if flipped { -b } else { *b });
    }
    // Rows with a larger second feature score higher.
    assert!(out[[2, 0]] > 0.0 && out[[1, 0]] < 0.0);
}

#[test]
fn pca_explained_variance_is_scikit_learn_s_and_linfa_s_differs() {
    let x = array![[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0], [2.0, 0.0], [-2.0, 0.0]];
    let pca = LinfaPca::fit(x.view(), &LinfaPcaParams::new(2)).unwrap();
    // Variance along the first axis: (1 + 1 + 4 + 4) / 5 = 2; along the second: 2 / 5.
    let ev = pca.explained_variance();
    assert!((ev[0] - 2.0).abs() < 1e-9 && (ev[1] - 0.4).abs() < 1e-9, "{ev}");
    // linfa divides by the number of components minus one (here 1): 10 and 2.
    let linfa_ev = pca.fitted().explained_variance();
    assert!((linfa_ev[0] - 10.0).abs() < 1e-8, "linfa's explained variance changed: {linfa_ev}");
}

#[test]
fn transformers_append_named_columns() {
    let (x, _) = blobs();
    let m = FeatureMatrix { names: vec!["a".into(), "b".into()], x: x.clone() };
    let km = LinfaKMeans::fit(x.view(), &LinfaKMeansParams::new(3)).unwrap();
    let with_distances = km.append_to(&m).unwrap();
    let pca = LinfaPca::fit(with_distances.x.view(), &LinfaPcaParams::new(2)).unwrap();
    let out = pca.append_to(&with_distances).unwrap();
    assert_eq!(out.names, ["a", "b", "kmeans_dist_0", "kmeans_dist_1", "kmeans_dist_2", "pca_0", "pca_1"]);
    assert_eq!(out.x.dim(), (30, 7));
    // Appending twice: a clear error, and another prefix fixes it.
    let err = km.append_to(&out).unwrap_err();
    assert!(err.to_string().contains("prefix"), "{err}");
    let out = km.clone().with_prefix("km2").with_output(KMeansOutput::Cluster).append_to(&m).unwrap();
    assert_eq!(out.names, ["a", "b", "km2_cluster"]);
    assert_eq!(roundtrip(&pca), pca);
}

// ---- bad input ----

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let (x, y) = blobs();
    let nan = array![[0.0, f64::NAN]];
    let wide = array![[0.0, 1.0, 2.0]];
    let classifiers: Vec<Box<dyn Classifier>> = vec![
        Box::new(LinfaTree::fit(x.view(), &y, &LinfaTreeParams::default()).unwrap()),
        Box::new(LinfaLogistic::fit(x.view(), &y, &LinfaLogisticParams::default()).unwrap()),
    ];
    for m in &classifiers {
        assert!(matches!(
            m.predict_proba(wide.view()),
            Err(ModelError::FeatureCount { expected: 2, found: 3 })
        ));
        assert!(matches!(m.predict_proba(nan.view()), Err(ModelError::NonFinite { row: 0, column: 1, .. })));
        assert_eq!(m.predict_proba(Array2::zeros((0, 2)).view()).unwrap().dim(), (0, 3));
    }
    let values: Vec<f64> = y.iter().map(|&c| c as f64).collect();
    let regressors: Vec<Box<dyn Regressor>> = vec![
        Box::new(LinfaLinear::fit(x.view(), &values, &LinfaLinearParams::default()).unwrap()),
        Box::new(LinfaElasticNet::fit(x.view(), &values, &LinfaElasticNetParams::default()).unwrap()),
    ];
    for m in &regressors {
        assert!(matches!(m.predict(wide.view()), Err(ModelError::FeatureCount { expected: 2, found: 3 })));
        assert!(matches!(m.predict(nan.view()), Err(ModelError::NonFinite { .. })));
    }
    let transformers: Vec<Box<dyn FittedTransformer>> = vec![
        Box::new(LinfaKMeans::fit(x.view(), &LinfaKMeansParams::new(2)).unwrap()),
        Box::new(LinfaPca::fit(x.view(), &LinfaPcaParams::new(1)).unwrap()),
    ];
    for t in &transformers {
        assert!(matches!(t.transform(wide.view()), Err(ModelError::FeatureCount { expected: 2, found: 3 })));
        assert!(matches!(t.transform(nan.view()), Err(ModelError::NonFinite { .. })));
    }

    // Training data.
    let one_class = vec![0; 30];
    for params in
        [LinfaClassifierParams::from(LinfaTreeParams::default()), LinfaLogisticParams::default().into()]
    {
        assert!(matches!(
            LinfaClassifier::fit(x.view(), &one_class, &params),
            Err(ModelError::SingleClass { .. })
        ));
        let skipped: Vec<usize> = y.iter().map(|&c| c * 2).collect();
        assert!(matches!(
            LinfaClassifier::fit(x.view(), &skipped, &params),
            Err(ModelError::MissingClass { class: 1, .. })
        ));
        let mut bad = x.clone();
        bad[[3, 1]] = f64::INFINITY;
        assert!(matches!(
            LinfaClassifier::fit(bad.view(), &y, &params),
            Err(ModelError::NonFinite { row: 3, .. })
        ));
        assert!(matches!(
            LinfaClassifier::fit(x.view(), &y[1..], &params),
            Err(ModelError::LengthMismatch { .. })
        ));
    }
    for params in
        [LinfaRegressorParams::from(LinfaLinearParams::default()), LinfaElasticNetParams::default().into()]
    {
        let mut bad = values.clone();
        bad[4] = f64::NAN;
        assert!(matches!(
            LinfaRegressor::fit(x.view(), &bad, &params),
            Err(ModelError::NonFiniteTarget { row: 4, .. })
        ));
        assert!(matches!(
            LinfaRegressor::fit(x.view(), &values[1..], &params),
            Err(ModelError::TargetCount { .. })
        ));
        let empty = Array2::<f64>::zeros((0, 2));
        assert!(matches!(LinfaRegressor::fit(empty.view(), &[], &params), Err(ModelError::Empty { .. })));
    }
    let bad_params = [
        LinfaElasticNetParams { l1_ratio: 1.5, ..Default::default() },
        LinfaElasticNetParams { penalty: -1.0, ..Default::default() },
        LinfaElasticNetParams { tolerance: 0.0, ..Default::default() },
    ];
    for p in bad_params {
        assert!(matches!(LinfaElasticNet::fit(x.view(), &values, &p), Err(ModelError::InvalidParam { .. })));
    }
    let p = LinfaLogisticParams { alpha: f64::NAN, ..Default::default() };
    assert!(matches!(
        LinfaLogistic::fit(x.view(), &y, &p),
        Err(ModelError::InvalidParam { param: "alpha", .. })
    ));
    let p = LinfaTreeParams { min_weight_leaf: 0.0, ..Default::default() };
    assert!(matches!(LinfaTree::fit(x.view(), &y, &p), Err(ModelError::InvalidParam { .. })));
    // Collinear features: linfa's QR least squares fails or gives nothing finite: an error.
    let collinear = Array2::from_shape_fn((10, 2), |(i, _)| i as f64);
    let line: Vec<f64> = (0..10).map(|i| i as f64).collect();
    if let Ok(m) = LinfaLinear::fit(collinear.view(), &line, &LinfaLinearParams::default()) {
        assert!(m.coef().iter().all(|v| v.is_finite()));
    }
    // Transformers.
    assert!(matches!(
        LinfaKMeans::fit(x.view(), &LinfaKMeansParams::new(31)),
        Err(ModelError::InvalidParam { .. })
    ));
    assert!(matches!(
        LinfaKMeans::fit(x.view(), &LinfaKMeansParams::new(0)),
        Err(ModelError::InvalidParam { .. })
    ));
    assert!(matches!(LinfaPca::fit(x.view(), &LinfaPcaParams::new(3)), Err(ModelError::InvalidParam { .. })));
    let mut bad = x.clone();
    bad[[0, 0]] = f64::NAN;
    assert!(matches!(LinfaPca::fit(bad.view(), &LinfaPcaParams::new(1)), Err(ModelError::NonFinite { .. })));
    assert!(matches!(
        LinfaKMeans::fit(bad.view(), &LinfaKMeansParams::new(2)),
        Err(ModelError::NonFinite { .. })
    ));
}

#[test]
fn params_of_the_other_task_are_refused_and_kinds_are_named() {
    let (x, y) = blobs();
    let err = Estimator::fit_values(x.view(), &[0.0; 30], &LinfaTreeParams::default().into()).unwrap_err();
    assert!(matches!(err, ModelError::WrongTask { model: TREE, .. }), "{err}");
    let err = Estimator::fit_classes(x.view(), &y, &LinfaElasticNetParams::default().into()).unwrap_err();
    assert!(matches!(err, ModelError::WrongTask { model: ELASTIC_NET, .. }), "{err}");
    let e = Estimator::fit_classes(x.view(), &y, &LinfaLogisticParams::default().into()).unwrap();
    assert_eq!((e.kind(), e.task()), (LOGISTIC, crate::models::Task::Classification { classes: 3 }));
}
