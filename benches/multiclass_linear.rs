//! Multiclass logistic regression and Gaussian naive Bayes on iris (150 rows, 4 raw features, 3
//! classes): fit + predict.
//!
//! `cargo bench --features ml --bench multiclass_linear`. Each iteration fits on all 150 rows and
//! predicts their labels, as `tests/fixtures/multiclass_linear/timing.py` times scikit-learn's
//! `LogisticRegression().fit(x, y).predict(x)` and `GaussianNB()` on the same data, for a ratio on
//! one machine.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use mlflow::models::{Classifier, GaussianNb, LogisticParams, LogisticRegression, NaiveBayesParams};
use ndarray::Array2;

/// Iris; the first line of the CSV is scikit-learn's count line, not a header.
fn iris() -> (Array2<f64>, Vec<usize>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/iris/iris.csv");
    let text = std::fs::read_to_string(path).unwrap();
    let (mut x, mut y, mut rows) = (Vec::new(), Vec::new(), 0);
    for line in text.lines().skip(1).filter(|l| !l.is_empty()) {
        let values: Vec<f64> = line.split(',').map(|v| v.parse().unwrap()).collect();
        x.extend_from_slice(&values[..4]);
        y.push(values[4] as usize);
        rows += 1;
    }
    (Array2::from_shape_vec((rows, 4), x).unwrap(), y)
}

fn multiclass_linear(c: &mut Criterion) {
    let (x, y) = iris();
    let mut group = c.benchmark_group("multiclass_iris");
    group.bench_function("logistic_fit_predict", |b| {
        let params = LogisticParams::default();
        b.iter(|| {
            let model = LogisticRegression::fit(black_box(x.view()), black_box(&y), &params).unwrap();
            black_box(model.predict(x.view()).unwrap())
        })
    });
    group.bench_function("naive_bayes_fit_predict", |b| {
        let params = NaiveBayesParams::default();
        b.iter(|| {
            let model = GaussianNb::fit(black_box(x.view()), black_box(&y), &params).unwrap();
            black_box(model.predict(x.view()).unwrap())
        })
    });
    group.finish();
}

criterion_group!(benches, multiclass_linear);
criterion_main!(benches);
