//! Model benchmarks on Titanic-sized data: fit + predict of each of the five classifiers.
//!
//! `cargo bench --bench titanic`. The data is the 13-feature matrix built straight from
//! `examples/data/titanic/train.csv` (the same construction as `tests/models.rs`), split 80/20
//! (713 training rows, 178 test rows); the SVM gets standardized features. Each iteration fits
//! on the training rows and predicts probabilities and labels for the test rows.

use std::hint::black_box;

use criterion::{criterion_group, Criterion};
use mlflow::models::*;
use ndarray::{Array2, Axis};

const TRAIN_CSV: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/titanic/train.csv");

fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                fields.last_mut().unwrap().push('"');
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(String::new()),
            c => fields.last_mut().unwrap().push(c),
        }
    }
    fields
}

/// The demo's 13 features (see `tests/models.rs`), and the labels.
fn titanic() -> (Array2<f64>, Vec<usize>) {
    let text = std::fs::read_to_string(TRAIN_CSV).expect("examples/data/titanic/train.csv");
    let mut lines = text.lines();
    let header = csv_fields(lines.next().unwrap());
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let records: Vec<Vec<String>> = lines.filter(|l| !l.trim().is_empty()).map(csv_fields).collect();
    let median = |name: &str| {
        let mut v: Vec<f64> = records.iter().filter_map(|r| r[col(name)].parse().ok()).collect();
        v.sort_by(f64::total_cmp);
        let m = v.len() / 2;
        if v.len().is_multiple_of(2) {
            (v[m - 1] + v[m]) / 2.0
        } else {
            v[m]
        }
    };
    let (age_median, fare_median) = (median("Age"), median("Fare"));
    let mut x = Array2::zeros((records.len(), 13));
    let mut y = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let num = |name: &str, default: f64| r[col(name)].parse::<f64>().unwrap_or(default);
        let pclass = num("Pclass", 3.0);
        let age = num("Age", age_median);
        let (sibsp, parch) = (num("SibSp", 0.0), num("Parch", 0.0));
        let fare = num("Fare", fare_median);
        let relatives = sibsp + parch;
        let age_bin = [11.0, 18.0, 22.0, 27.0, 33.0, 40.0].iter().filter(|&&edge| age > edge).count() as f64;
        let fare_bin = [7.91, 14.454, 31.0, 99.0, 250.0].iter().filter(|&&edge| fare > edge).count() as f64;
        let embarked = match r[col("Embarked")].as_str() {
            "C" => 1.0,
            "Q" => 2.0,
            _ => 0.0,
        };
        let deck = match r[col("Cabin")].chars().next() {
            None => 8.0,
            Some(c @ 'A'..='G') => (c as u8 - b'A' + 1) as f64,
            Some(_) => 0.0,
        };
        let title = r[col("Name")].split(", ").nth(1).and_then(|s| s.split('.').next()).unwrap_or("");
        let title = match title {
            "Mr" => 1.0,
            "Miss" | "Mlle" | "Ms" => 2.0,
            "Mrs" | "Mme" => 3.0,
            "Master" => 4.0,
            _ => 5.0,
        };
        let row = [
            pclass,
            f64::from(u8::from(r[col("Sex")] == "female")),
            age_bin,
            sibsp,
            parch,
            fare_bin,
            embarked,
            relatives,
            f64::from(u8::from(relatives == 0.0)),
            deck,
            title,
            age_bin * pclass,
            (fare_bin / (relatives + 1.0)).floor(),
        ];
        x.row_mut(i).assign(&ndarray::ArrayView1::from(&row));
        y.push(r[col("Survived")].parse::<usize>().unwrap());
    }
    (x, y)
}

fn models(c: &mut Criterion) {
    let (x, y) = titanic();
    // Every fifth row is held out (178 rows), the rest trains (713 rows).
    let test: Vec<usize> = (0..y.len()).filter(|i| i % 5 == 0).collect();
    let train: Vec<usize> = (0..y.len()).filter(|i| i % 5 != 0).collect();
    let (x_train, x_test) = (x.select(Axis(0), &train), x.select(Axis(0), &test));
    let y_train: Vec<usize> = train.iter().map(|&i| y[i]).collect();
    let mean = x_train.mean_axis(Axis(0)).unwrap();
    let std = x_train.std_axis(Axis(0), 0.0).mapv(|s| if s > 0.0 { s } else { 1.0 });
    let (s_train, s_test) = ((&x_train - &mean) / &std, (&x_test - &mean) / &std);

    let mut group = c.benchmark_group("models");
    let mut bench = |name: &str, params: ModelParams, train: &Array2<f64>, test: &Array2<f64>| {
        group.bench_function(name, |b| {
            b.iter(|| {
                let model = Model::fit(black_box(train.view()), black_box(&y_train), &params).unwrap();
                let p = model.predict_proba(test.view()).unwrap();
                let labels = model.predict(test.view()).unwrap();
                black_box((p, labels))
            })
        });
    };
    bench("decision_tree", ModelParams::Tree(TreeParams::default()), &x_train, &x_test);
    bench("random_forest_100", ModelParams::Forest(ForestParams::default()), &x_train, &x_test);
    bench(
        "random_forest_100_1thread",
        ModelParams::Forest(ForestParams { threads: 1, ..Default::default() }),
        &x_train,
        &x_test,
    );
    bench("logistic_regression", ModelParams::Logistic(LogisticParams::default()), &x_train, &x_test);
    bench("gaussian_nb", ModelParams::NaiveBayes(NaiveBayesParams::default()), &x_train, &x_test);
    bench("svm_rbf_scaled", ModelParams::Svm(SvmParams::default()), &s_train, &s_test);
    bench(
        "svm_rbf_scaled_platt_5fold",
        ModelParams::Svm(SvmParams { platt_folds: 5, ..Default::default() }),
        &s_train,
        &s_test,
    );
    group.finish();
}

criterion_group!(benches, models);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
