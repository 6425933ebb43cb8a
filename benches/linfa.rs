//! The linfa adapters (feature `linfa`): fit + predict (or transform) on iris (150 rows, 4
//! features, 3 classes) and diabetes (442 rows, 10 features, a real target).
//!
//! `cargo bench --features linfa --bench linfa`. Each iteration fits on all rows and predicts (or
//! transforms) them, as `tests/fixtures/linfa/timing.py` times scikit-learn's equivalents on the
//! same data, for a ratio on one machine. The logistic regressions and the elastic net run on
//! standardized features (as the examples' candidates do), the rest on the raw ones.
//!
//! - `iris/linfa_tree` (scikit-learn: `DecisionTreeClassifier`), `iris/linfa_logistic`
//!   (multinomial, `alpha = 1`; `LogisticRegression(C=1)`), `iris/linfa_kmeans` (3 clusters, 10
//!   runs; `KMeans(3, n_init=10)`), `iris/linfa_pca` (2 components; `PCA(2)`).
//! - `diabetes/linfa_linear` (`LinearRegression`), `diabetes/linfa_elastic_net` (`penalty = 0.1`,
//!   `l1_ratio = 0.5`; `ElasticNet(alpha=0.1)`), `diabetes/linfa_kmeans` (8 clusters, 10 runs;
//!   `KMeans(8, n_init=10)`), `diabetes/linfa_pca` (5 components; `PCA(5)`).

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use mlflow::linfa::*;
use mlflow::models::{Classifier, Regressor};
use ndarray::{Array2, Axis};

fn read(rel: &str) -> (Array2<f64>, Vec<f64>) {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap();
    let rows: Vec<Vec<f64>> = text
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').map(|v| v.trim().parse().unwrap()).collect())
        .collect();
    let p = rows[0].len() - 1;
    (Array2::from_shape_fn((rows.len(), p), |(i, j)| rows[i][j]), rows.iter().map(|r| r[p]).collect())
}

fn standardized(x: &Array2<f64>) -> Array2<f64> {
    (x - &x.mean_axis(Axis(0)).unwrap()) / &x.std_axis(Axis(0), 0.0)
}

fn transformers(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    x: &Array2<f64>,
    k: usize,
    components: usize,
) {
    group.bench_function("linfa_kmeans", |b| {
        b.iter(|| {
            let m = LinfaKMeans::fit(black_box(x.view()), &LinfaKMeansParams::new(k)).unwrap();
            black_box(m.transform(x.view()).unwrap())
        })
    });
    group.bench_function("linfa_pca", |b| {
        b.iter(|| {
            let m = LinfaPca::fit(black_box(x.view()), &LinfaPcaParams::new(components)).unwrap();
            black_box(m.transform(x.view()).unwrap())
        })
    });
}

fn iris(c: &mut Criterion) {
    let (x, y) = read("examples/data/iris/iris.csv");
    let classes: Vec<usize> = y.iter().map(|&v| v as usize).collect();
    let xs = standardized(&x);
    let mut group = c.benchmark_group("iris");
    group.bench_function("linfa_tree", |b| {
        b.iter(|| {
            let m = LinfaTree::fit(black_box(x.view()), black_box(&classes), &LinfaTreeParams::default())
                .unwrap();
            black_box(m.predict_proba(x.view()).unwrap())
        })
    });
    group.bench_function("linfa_logistic", |b| {
        b.iter(|| {
            let m = LinfaLogistic::fit(
                black_box(xs.view()),
                black_box(&classes),
                &LinfaLogisticParams::default(),
            )
            .unwrap();
            black_box(m.predict_proba(xs.view()).unwrap())
        })
    });
    transformers(&mut group, &x, 3, 2);
    group.finish();
}

fn diabetes(c: &mut Criterion) {
    let (x, y) = read("examples/data/diabetes/diabetes.csv");
    let xs = standardized(&x);
    let mut group = c.benchmark_group("diabetes");
    group.bench_function("linfa_linear", |b| {
        b.iter(|| {
            let m =
                LinfaLinear::fit(black_box(x.view()), black_box(&y), &LinfaLinearParams::default()).unwrap();
            black_box(m.predict(x.view()).unwrap())
        })
    });
    group.bench_function("linfa_elastic_net", |b| {
        b.iter(|| {
            let m =
                LinfaElasticNet::fit(black_box(xs.view()), black_box(&y), &LinfaElasticNetParams::new(0.1))
                    .unwrap();
            black_box(m.predict(xs.view()).unwrap())
        })
    });
    transformers(&mut group, &x, 8, 5);
    group.finish();
}

criterion_group!(benches, iris, diabetes);
criterion_main!(benches);
