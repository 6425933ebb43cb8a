//! The SVM on scikit-learn's iris data (150 rows, 4 features standardized on all rows): fit +
//! predict_proba with three classes (one-vs-one, three pair machines) and with two (class 2
//! against the rest, one machine) on the same rows, for the check "multiclass no more than 2x
//! slower per class than binary".
//!
//! `cargo bench --bench svm_multiclass`. Each iteration fits on all 150 rows and predicts their
//! probabilities, with 5-fold Platt scaling (`platt_folds: 5`, LIBSVM's `probability=True`) and
//! with in-sample Platt scaling (the default), as `tests/fixtures/svm_multiclass/timing.py` times
//! scikit-learn's `SVC(probability=True).fit(x, y).predict_proba(x)` on the same data.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use mlflow::models::{Classifier, Svm, SvmParams};
use ndarray::Array2;

/// Iris, standardized as scikit-learn's `StandardScaler` does (population standard deviation).
fn iris() -> (Array2<f64>, Vec<usize>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/iris/iris.csv");
    // The first line is scikit-learn's count line, read as the header and skipped.
    let mut reader = csv::Reader::from_path(path).unwrap();
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for record in reader.records() {
        let values: Vec<f64> = record.unwrap().iter().map(|v| v.parse().unwrap()).collect();
        x.extend_from_slice(&values[..4]);
        y.push(values[4] as usize);
    }
    let mut x = Array2::from_shape_vec((y.len(), 4), x).unwrap();
    for mut column in x.columns_mut() {
        let mean = column.mean().unwrap();
        let std = column.std(0.0);
        column.mapv_inplace(|v| (v - mean) / std);
    }
    (x, y)
}

fn svm(c: &mut Criterion) {
    let (x, y) = iris();
    let binary: Vec<usize> = y.iter().map(|&c| usize::from(c == 2)).collect();
    let mut group = c.benchmark_group("svm_iris");
    for (folds, suffix) in [(5, "platt5"), (0, "insample")] {
        let params = SvmParams { platt_folds: folds, ..Default::default() };
        for (name, labels) in [("multiclass3", &y), ("binary", &binary)] {
            group.bench_function(format!("{name}_{suffix}_fit_proba"), |b| {
                b.iter(|| {
                    let model = Svm::fit(black_box(x.view()), black_box(labels), &params).unwrap();
                    black_box(model.predict_proba(x.view()).unwrap())
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, svm);
criterion_main!(benches);
