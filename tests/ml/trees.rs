//! Trees and forests through the public API: multiclass classification ([`DecisionTree`],
//! [`RandomForest`]) and regression ([`TreeRegressor`], [`ForestRegressor`]) against scikit-learn
//! on the same splits, determinism, binary models unchanged by multiclass, and bad input.
//!
//! `tests/fixtures/trees/expected.json` is written by `tests/fixtures/trees/generate.py`
//! (scikit-learn 1.9.1; see the script for the versions and how to rerun it): 20 seeded splits of
//! iris and of diabetes (row indices), and on each scikit-learn's test accuracy or RMSE for
//! `random_state` 0, 1 and 2. The data are read from `examples/data/`.
//! `cargo test --features serve --test ml trees -- --nocapture` prints our scores next to
//! scikit-learn's.

use std::path::Path;
use std::sync::OnceLock;

use mlflow::codec::{decode, encode, hash_bytes};
use mlflow::models::*;
use ndarray::{Array2, Axis, array};
use serde::Deserialize;

/// Accuracy must be within this of scikit-learn's (absolute), averaged as described at each test.
const ACCURACY: f64 = 0.02;
/// RMSE must be within this of scikit-learn's, relative.
const RMSE: f64 = 0.02;
/// The forests are compared on the first splits only (a forest of 100 trees per split and seed
/// is slow in a debug build).
const FOREST_SPLITS: usize = 6;

#[derive(Deserialize)]
struct Fixture {
    random_states: Vec<u64>,
    iris: Splits,
    diabetes: Splits,
}

#[derive(Deserialize)]
struct Splits {
    splits: Vec<Split>,
}

#[derive(Deserialize)]
struct Split {
    train: Vec<usize>,
    test: Vec<usize>,
    #[serde(default)]
    tree_accuracy: Vec<f64>,
    #[serde(default)]
    forest_accuracy: Vec<f64>,
    #[serde(default)]
    tree_rmse: Vec<f64>,
    #[serde(default)]
    forest_rmse: Vec<f64>,
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let text = std::fs::read_to_string(root().join("tests/fixtures/trees/expected.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    })
}

/// A CSV of numbers after `skip` lines: the features, and the last column.
fn read_csv(rel: &str, skip: usize) -> (Array2<f64>, Vec<f64>) {
    let text = std::fs::read_to_string(root().join(rel)).unwrap();
    let rows: Vec<Vec<f64>> = text
        .lines()
        .skip(skip)
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').map(|v| v.trim().parse().unwrap()).collect())
        .collect();
    let p = rows[0].len() - 1;
    let x = Array2::from_shape_fn((rows.len(), p), |(i, j)| rows[i][j]);
    (x, rows.iter().map(|r| r[p]).collect())
}

/// Iris: 150 rows, 4 features, classes 0/1/2 (the first line is scikit-learn's count line).
fn iris() -> &'static (Array2<f64>, Vec<usize>) {
    static DATA: OnceLock<(Array2<f64>, Vec<usize>)> = OnceLock::new();
    DATA.get_or_init(|| {
        let (x, y) = read_csv("examples/data/iris/iris.csv", 1);
        (x, y.iter().map(|&c| c as usize).collect())
    })
}

/// Diabetes: 442 rows, 10 raw features, a real target.
fn diabetes() -> &'static (Array2<f64>, Vec<f64>) {
    static DATA: OnceLock<(Array2<f64>, Vec<f64>)> = OnceLock::new();
    DATA.get_or_init(|| read_csv("examples/data/diabetes/diabetes.csv", 1))
}

fn mean(v: impl IntoIterator<Item = f64>) -> f64 {
    let (sum, n) = v.into_iter().fold((0.0, 0), |(s, n), x| (s + x, n + 1));
    sum / n as f64
}

fn accuracy(pred: &[usize], truth: &[usize]) -> f64 {
    pred.iter().zip(truth).filter(|(a, b)| a == b).count() as f64 / truth.len() as f64
}

fn rmse(pred: &[f64], truth: &[f64]) -> f64 {
    mean(pred.iter().zip(truth).map(|(p, t)| (p - t) * (p - t))).sqrt()
}

/// Our test accuracy on an iris split for one model's params.
fn iris_accuracy(split: &Split, params: &ModelParams) -> f64 {
    let (x, y) = iris();
    let (xtr, xte) = (x.select(Axis(0), &split.train), x.select(Axis(0), &split.test));
    let ytr: Vec<usize> = split.train.iter().map(|&i| y[i]).collect();
    let yte: Vec<usize> = split.test.iter().map(|&i| y[i]).collect();
    let model = Model::fit(xtr.view(), &ytr, params).unwrap();
    assert_eq!(model.n_classes(), 3);
    accuracy(model.predict(xte.view()).unwrap().as_slice().unwrap(), &yte)
}

/// Our test RMSE on a diabetes split; `forest` picks the forest (with that seed) over the tree.
fn diabetes_rmse(split: &Split, forest: Option<u64>) -> f64 {
    let (x, y) = diabetes();
    let (xtr, xte) = (x.select(Axis(0), &split.train), x.select(Axis(0), &split.test));
    let ytr: Vec<f64> = split.train.iter().map(|&i| y[i]).collect();
    let yte: Vec<f64> = split.test.iter().map(|&i| y[i]).collect();
    let pred = match forest {
        None => TreeRegressor::fit(xtr.view(), &ytr, &TreeParams::default()).unwrap().predict(xte.view()),
        Some(seed) => {
            ForestRegressor::fit(xtr.view(), &ytr, &ForestParams { seed, ..ForestParams::regression() })
                .unwrap()
                .predict(xte.view())
        }
    };
    rmse(pred.unwrap().as_slice().unwrap(), &yte)
}

// ---------- parity with scikit-learn ----------

/// Iris, 3 classes: test accuracy averaged over the 20 splits (the tree; scikit-learn's over its
/// random_states too, which break ties between equally good splits) and over the first
/// `FOREST_SPLITS` splits and random_states / seeds 0, 1, 2 (the forest).
#[test]
fn iris_accuracy_is_within_002_of_scikit_learn() {
    let f = fixture();
    let splits = &f.iris.splits;
    assert_eq!(splits.len(), 20);
    assert!(splits.iter().all(|s| s.train.len() == 100 && s.test.len() == 50));
    let tree = ModelParams::Tree(TreeParams::default());
    let ours = mean(splits.iter().map(|s| iris_accuracy(s, &tree)));
    let theirs = mean(splits.iter().map(|s| mean(s.tree_accuracy.iter().copied())));
    println!("iris tree accuracy over 20 splits: ours {ours:.4}, scikit-learn {theirs:.4}");
    assert!((ours - theirs).abs() <= ACCURACY, "tree: ours {ours:.4}, scikit-learn {theirs:.4}");

    let forests = &splits[..FOREST_SPLITS];
    let ours = mean(forests.iter().flat_map(|s| {
        f.random_states.iter().map(move |&seed| {
            iris_accuracy(s, &ModelParams::Forest(ForestParams { seed, ..Default::default() }))
        })
    }));
    let theirs = mean(forests.iter().flat_map(|s| s.forest_accuracy.iter().copied()));
    println!(
        "iris forest accuracy over {FOREST_SPLITS} splits x 3 seeds: ours {ours:.4}, scikit-learn {theirs:.4}"
    );
    assert!((ours - theirs).abs() <= ACCURACY, "forest: ours {ours:.4}, scikit-learn {theirs:.4}");
}

/// Diabetes: test RMSE averaged as the iris accuracies are.
#[test]
fn diabetes_rmse_is_within_2_percent_of_scikit_learn() {
    let f = fixture();
    let splits = &f.diabetes.splits;
    assert_eq!(splits.len(), 20);
    assert!(splits.iter().all(|s| s.train.len() == 331 && s.test.len() == 111));
    let ours = mean(splits.iter().map(|s| diabetes_rmse(s, None)));
    let theirs = mean(splits.iter().map(|s| mean(s.tree_rmse.iter().copied())));
    println!("diabetes tree RMSE over 20 splits: ours {ours:.3}, scikit-learn {theirs:.3}");
    assert!((ours / theirs - 1.0).abs() <= RMSE, "tree: ours {ours:.3}, scikit-learn {theirs:.3}");

    let forests = &splits[..FOREST_SPLITS];
    let ours = mean(
        forests.iter().flat_map(|s| f.random_states.iter().map(move |&seed| diabetes_rmse(s, Some(seed)))),
    );
    let theirs = mean(forests.iter().flat_map(|s| s.forest_rmse.iter().copied()));
    println!(
        "diabetes forest RMSE over {FOREST_SPLITS} splits x 3 seeds: ours {ours:.3}, scikit-learn {theirs:.3}"
    );
    assert!((ours / theirs - 1.0).abs() <= RMSE, "forest: ours {ours:.3}, scikit-learn {theirs:.3}");
}

// ---------- multiclass behaviour ----------

#[test]
fn multiclass_probabilities_sum_to_1_and_three_classes_are_learned() {
    let (x, y) = iris();
    let params = [
        ModelParams::Tree(TreeParams::default()),
        ModelParams::Tree(TreeParams { max_depth: Some(2), ..Default::default() }),
        ModelParams::Forest(ForestParams { n_trees: 30, ..Default::default() }),
        ModelParams::Forest(ForestParams { n_trees: 30, min_samples_leaf: 5, ..Default::default() }),
    ];
    for p in params {
        let m = Model::fit(x.view(), y, &p).unwrap();
        assert_eq!(m.n_classes(), 3, "{p:?}");
        let proba = m.predict_proba(x.view()).unwrap();
        assert_eq!(proba.dim(), (150, 3));
        for row in proba.rows() {
            assert!(row.iter().all(|v| (0.0..=1.0).contains(v)), "{p:?}: {row}");
            assert!((row.sum() - 1.0).abs() < 1e-12, "{p:?}: {row}");
        }
        let pred = m.predict(x.view()).unwrap();
        assert_eq!(pred, mlflow::models::argmax_rows(proba.view()));
        let acc = accuracy(pred.as_slice().unwrap(), y);
        assert!(acc >= 0.94, "{p:?}: training accuracy {acc}");
        // Every class is predicted for its own mean row.
        for class in 0..3 {
            let rows: Vec<usize> = (0..150).filter(|&i| y[i] == class).collect();
            let centre = x.select(Axis(0), &rows).mean_axis(Axis(0)).unwrap().insert_axis(Axis(0));
            assert_eq!(m.predict(centre.view()).unwrap().to_vec(), [class], "{p:?}");
        }
        assert_eq!(m.predict_positive(x.view()).unwrap_err(), ModelError::NotBinary { classes: 3 });
    }
}

#[test]
fn forests_are_the_same_for_any_thread_count_and_differ_by_seed() {
    let (x, y) = iris();
    let fit = |threads, seed| {
        let p = ForestParams { n_trees: 24, threads, seed, ..Default::default() };
        encode(&RandomForest::fit(x.view(), y, &p).unwrap()).unwrap()
    };
    let one = fit(1, 7);
    assert_eq!(one, fit(2, 7));
    assert_eq!(one, fit(5, 7));
    assert_ne!(one, fit(2, 8));

    let (x, y) = diabetes();
    let fit = |threads, seed| {
        let p = ForestParams { n_trees: 12, threads, seed, ..ForestParams::regression() };
        encode(&ForestRegressor::fit(x.view(), y, &p).unwrap()).unwrap()
    };
    let one = fit(1, 7);
    assert_eq!(one, fit(2, 7));
    assert_eq!(one, fit(5, 7));
    assert_ne!(one, fit(2, 8));
}

#[test]
fn same_data_and_params_give_identical_bytes_and_round_trip() {
    let (x, y) = iris();
    let a = Model::fit(x.view(), y, &ModelParams::Tree(TreeParams::default())).unwrap();
    let b = Model::fit(x.view(), y, &ModelParams::Tree(TreeParams::default())).unwrap();
    assert_eq!(encode(&a).unwrap(), encode(&b).unwrap());
    let back: Model = decode(&encode(&a).unwrap(), 1 << 30).unwrap();
    assert_eq!(back.predict_proba(x.view()).unwrap(), a.predict_proba(x.view()).unwrap());

    let (x, y) = diabetes();
    let t = TreeRegressor::fit(x.view(), y, &TreeParams::default()).unwrap();
    let bytes = encode(&t).unwrap();
    assert_eq!(bytes, encode(&TreeRegressor::fit(x.view(), y, &TreeParams::default()).unwrap()).unwrap());
    let back: TreeRegressor = decode(&bytes, 1 << 30).unwrap();
    assert_eq!(back, t);
    // A fully grown tree reproduces the training targets (diabetes has no repeated feature rows).
    assert_eq!(t.predict(x.view()).unwrap().to_vec(), *y);
    let f = ForestRegressor::fit(x.view(), y, &ForestParams { n_trees: 10, ..ForestParams::regression() })
        .unwrap();
    let back: ForestRegressor = decode(&encode(&f).unwrap(), 1 << 30).unwrap();
    assert_eq!(back.predict(x.view()).unwrap(), f.predict(x.view()).unwrap());
}

#[test]
fn regressors_work_behind_the_object_safe_trait() {
    let x = array![[0.0], [1.0], [2.0], [3.0], [10.0], [11.0], [12.0], [13.0]];
    let y = [1.0, 1.0, 1.0, 1.0, 5.0, 5.0, 5.0, 5.0];
    let models: Vec<Box<dyn Regressor>> = vec![
        Box::new(TreeRegressor::fit(x.view(), &y, &TreeParams::default()).unwrap()),
        Box::new(
            ForestRegressor::fit(
                x.view(),
                &y,
                &ForestParams { bootstrap: false, ..ForestParams::regression() },
            )
            .unwrap(),
        ),
    ];
    for m in &models {
        assert_eq!(m.n_features(), 1);
        assert_eq!(m.predict(array![[-1.0], [20.0]].view()).unwrap().to_vec(), [1.0, 5.0]);
        assert_eq!(m.predict(Array2::zeros((0, 1)).view()).unwrap().len(), 0);
        assert_eq!(
            m.predict(Array2::zeros((1, 2)).view()).unwrap_err(),
            ModelError::FeatureCount { expected: 1, found: 2 }
        );
        let mut probe = Array2::zeros((2, 1));
        probe[[1, 0]] = f64::NAN;
        assert!(matches!(m.predict(probe.view()), Err(ModelError::NonFinite { row: 1, column: 0, .. })));
    }
}

// ---------- binary models are unchanged by multiclass ----------

/// The binary data sets and params of the golden hashes below.
fn golden_cases() -> Vec<(&'static str, Array2<f64>, Vec<usize>)> {
    let (xi, yi) = iris();
    let (xd, yd) = diabetes();
    let xs = Array2::from_shape_fn((300, 5), |(i, j)| {
        ((i * 37 + j * 101) % 53) as f64 / 7.0 + ((i * j) % 5) as f64
    });
    let ys = (0..300).map(|i| usize::from((i * 37 % 53) + (i % 7) > 30)).collect();
    vec![
        ("synthetic", xs, ys),
        ("iris virginica", xi.clone(), yi.iter().map(|&c| usize::from(c == 2)).collect()),
        ("diabetes > 140", xd.clone(), yd.iter().map(|&t| usize::from(t > 140.0)).collect()),
    ]
}

fn golden_params() -> Vec<(&'static str, ModelParams)> {
    vec![
        ("tree", ModelParams::Tree(TreeParams::default())),
        (
            "tree sqrt",
            ModelParams::Tree(TreeParams {
                max_features: MaxFeatures::Sqrt,
                seed: 3,
                max_depth: Some(6),
                ..Default::default()
            }),
        ),
        ("forest", ModelParams::Forest(ForestParams { n_trees: 30, threads: 2, ..Default::default() })),
        (
            "forest leaf",
            ModelParams::Forest(ForestParams {
                n_trees: 20,
                min_samples_leaf: 3,
                seed: 9,
                max_features: MaxFeatures::Log2,
                threads: 3,
                ..Default::default()
            }),
        ),
    ]
}

/// BLAKE3 of the encoded binary models, as the code before multiclass trees (commit e82b713)
/// wrote them.
const GOLDEN: [(&str, &str, &str); 12] = [
    ("synthetic", "tree", "d480108b765e3145aea4f6a1fbdb9b9d6f0b3e18015eaad5c794934992b5d644"),
    ("synthetic", "tree sqrt", "45cb9af34fa09afef167053ad5af2f55c423c95a19ec79473d54d43b841893fa"),
    ("synthetic", "forest", "03c3fd55ac635efd6b13cabf6b7a739815b5f96188f2093ae7c1d983b61b31e7"),
    ("synthetic", "forest leaf", "0e169dd21b44813c80893cc70f4f155b4728ea3fa87b9344734c81c56cc3d67e"),
    ("iris virginica", "tree", "5ee4be73ecf08f852d5c67b6cb55a04263472b0d210eec3d38565b289aed8747"),
    ("iris virginica", "tree sqrt", "91d3da0305a9149f9e3e14d1978a3a41973e6a04854c356c2c2575bcedd03137"),
    ("iris virginica", "forest", "182c077153f1b3b351a30f54bd236c772a4fe3fe7cdc1be4131b4233f9744e2f"),
    ("iris virginica", "forest leaf", "f97101d15066151d851b0018a0399e16dc3aadad24456e1813548f74ca0cebe3"),
    ("diabetes > 140", "tree", "6615d1bf5f254323b4762078ae0fdfe8bd502b216b12a2a6bdd1e2ff0ba80140"),
    ("diabetes > 140", "tree sqrt", "3f90c4d9b015889eedf5dc0b3cadac8705dd251983d875cb010f653776d06fce"),
    ("diabetes > 140", "forest", "3f2948dd5e8c4a04668775e120456d7430e2d7f80539bf71682bf94c9e1b7753"),
    ("diabetes > 140", "forest leaf", "7fe7b9337031df57cd77d69ba610b3f201a54e9471de4f8b799e2492869ccca9"),
];

#[test]
fn binary_models_have_the_same_bytes_as_before_multiclass() {
    let mut golden = GOLDEN.iter();
    for (data, x, y) in golden_cases() {
        for (name, params) in golden_params() {
            let m = Model::fit(x.view(), &y, &params).unwrap();
            assert_eq!(m.n_classes(), 2);
            let hash = hash_bytes(&encode(&m).unwrap()).to_hex();
            let &(d, n, expected) = golden.next().unwrap();
            assert_eq!((data, name), (d, n));
            assert_eq!(hash, expected, "{data}, {name}: the binary model's bytes changed");
        }
    }
}

/// A binary tree and a 5-tree forest on iris (virginica or not), encoded by the code before
/// multiclass trees (commit e82b713), still load and give the same probabilities as a refit.
#[test]
fn binary_artifacts_made_before_multiclass_still_load() {
    let (_, x, y) = golden_cases().swap_remove(1);
    for (file, params) in [
        ("binary_tree_before_multiclass.bin", ModelParams::Tree(TreeParams::default())),
        (
            "binary_forest_before_multiclass.bin",
            ModelParams::Forest(ForestParams { n_trees: 5, ..Default::default() }),
        ),
    ] {
        let bytes = std::fs::read(root().join("tests/fixtures/trees").join(file)).unwrap();
        let old: Model = decode(&bytes, 1 << 20).unwrap();
        let new = Model::fit(x.view(), &y, &params).unwrap();
        assert_eq!(old, new, "{file}");
        assert_eq!(encode(&new).unwrap(), bytes, "{file}");
        assert_eq!(old.n_classes(), 2);
        assert_eq!(old.predict_positive(x.view()).unwrap(), new.predict_positive(x.view()).unwrap());
    }
}

// ---------- bad input ----------

#[test]
fn a_skipped_class_index_is_missing_class() {
    let x = Array2::from_shape_fn((6, 2), |(i, j)| (i * (j + 1)) as f64);
    let y = [0, 0, 3, 3, 1, 1]; // no class 2
    for p in [ModelParams::Tree(TreeParams::default()), ModelParams::Forest(ForestParams::default())] {
        let e = Model::fit(x.view(), &y, &p).unwrap_err();
        assert_eq!(e, ModelError::MissingClass { class: 2, classes: 4 }, "{}", p.kind());
        assert!(e.to_string().contains("class 2 has no rows"), "{e}");
    }
}

/// Fits one regressor kind on targets `y`, keeping only the error.
type FitTargets<'a> = &'a dyn Fn(&[f64]) -> Result<(), ModelError>;

#[test]
fn bad_regression_targets_are_errors() {
    let x = Array2::from_shape_fn((5, 2), |(i, j)| (i + j) as f64);
    let fits: [(&str, FitTargets<'_>); 2] = [
        ("tree", &|y| TreeRegressor::fit(x.view(), y, &TreeParams::default()).map(drop)),
        ("forest", &|y| ForestRegressor::fit(x.view(), y, &ForestParams::regression()).map(drop)),
    ];
    for (name, fit) in fits {
        let e = fit(&[1.0, 2.0, f64::NAN, 3.0, 4.0]).unwrap_err();
        assert!(matches!(e, ModelError::NonFiniteTarget { row: 2, .. }), "{name}: {e}");
        assert!(e.to_string().contains("row 2"), "{e}");
        let e = fit(&[1.0, 2.0, 3.0, 4.0, f64::NEG_INFINITY]).unwrap_err();
        assert!(matches!(e, ModelError::NonFiniteTarget { row: 4, .. }), "{name}: {e}");
        assert_eq!(fit(&[1.0, 2.0]).unwrap_err(), ModelError::TargetCount { rows: 5, targets: 2 }, "{name}");
    }
    let mut bad_x = x.clone();
    bad_x[[3, 1]] = f64::NAN;
    let e = TreeRegressor::fit(bad_x.view(), &[1.0; 5], &TreeParams::default()).unwrap_err();
    assert!(matches!(e, ModelError::NonFinite { row: 3, column: 1, .. }), "{e}");
    let e =
        ForestRegressor::fit(x.view(), &[1.0; 5], &ForestParams { n_trees: 0, ..ForestParams::regression() })
            .unwrap_err();
    assert!(matches!(e, ModelError::InvalidParam { param: "n_trees", .. }), "{e}");
    let e =
        TreeRegressor::fit(x.view(), &[1.0; 5], &TreeParams { min_samples_split: 1, ..Default::default() })
            .unwrap_err();
    assert!(matches!(e, ModelError::InvalidParam { param: "min_samples_split", .. }), "{e}");
}

#[test]
fn extreme_targets_do_not_overflow() {
    let x = array![[0.0], [1.0], [2.0], [3.0]];
    let y = [f64::MAX, f64::MAX, -f64::MAX, -f64::MAX];
    let t = TreeRegressor::fit(x.view(), &y, &TreeParams::default()).unwrap();
    assert_eq!(t.n_leaves(), 2);
    assert_eq!(t.predict(array![[0.5], [2.5]].view()).unwrap().to_vec(), [f64::MAX, -f64::MAX]);
    let f = ForestRegressor::fit(x.view(), &y, &ForestParams { n_trees: 5, ..ForestParams::regression() })
        .unwrap();
    assert!(f.predict(x.view()).unwrap().iter().all(|v| v.is_finite()));
}
