//! Linear regression on scikit-learn's diabetes data (442 rows, 10 raw features): fit + predict.
//!
//! `cargo bench --bench linear`. Each iteration fits on all 442 rows and predicts them, as
//! `tests/fixtures/linear/timing.py` times scikit-learn's `LinearRegression().fit(x, y).predict(x)`
//! and `Ridge(alpha=1.0)` on the same data, for a ratio on one machine.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use mlflow::models::{LinearParams, LinearRegression, Regressor};
use ndarray::Array2;

fn diabetes() -> (Array2<f64>, Vec<f64>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/diabetes/diabetes.csv");
    let mut reader = csv::Reader::from_path(path).unwrap();
    let (mut x, mut y, mut rows) = (Vec::new(), Vec::new(), 0);
    for record in reader.records() {
        let values: Vec<f64> = record.unwrap().iter().map(|v| v.parse().unwrap()).collect();
        x.extend_from_slice(&values[..10]);
        y.push(values[10]);
        rows += 1;
    }
    (Array2::from_shape_vec((rows, 10), x).unwrap(), y)
}

fn linear(c: &mut Criterion) {
    let (x, y) = diabetes();
    let mut group = c.benchmark_group("linear_diabetes");
    for (name, params) in
        [("ols_fit_predict", LinearParams::default()), ("ridge_fit_predict", LinearParams::ridge(1.0))]
    {
        group.bench_function(name, |b| {
            b.iter(|| {
                let model = LinearRegression::fit(black_box(x.view()), black_box(&y), &params).unwrap();
                black_box(model.predict(x.view()).unwrap())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, linear);
criterion_main!(benches);
