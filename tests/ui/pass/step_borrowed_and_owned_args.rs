//! A step with a borrowed and an owned argument; the generated `Step` impl called directly.
#![deny(warnings)]

use mlflow::prelude::*;
use mlflow::step::StepInputs;

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Table {
    rows: Vec<f64>,
}

/// Scales every row, then appends `extra`.
#[step]
fn scale(table: &Table, factor: &f64, mut extra: Vec<f64>) -> Table {
    let mut rows: Vec<f64> = table.rows.iter().map(|r| r * factor).collect();
    rows.append(&mut extra);
    Table { rows }
}

fn main() {
    let table = Table { rows: vec![1.0, 2.0] };
    let out = ScaleStep.call((&table, &10.0, &vec![7.0])).unwrap();
    assert_eq!(out, Table { rows: vec![10.0, 20.0, 7.0] });

    // The inputs tuple holds the artifact types, borrowed or owned alike.
    let _: fn(<ScaleStep as Step>::Inputs) -> (Table, f64, Vec<f64>) = |inputs| inputs;
    assert_eq!(<<ScaleStep as Step>::Inputs as StepInputs>::ARITY, 3);
    let _: fn() -> <ScaleStep as Step>::Output = || Table { rows: vec![] };

    // The unit struct: Clone, Copy, Debug, Default.
    let s = ScaleStep;
    let t = s;
    assert_eq!(
        format!("{:?}", (s, t, ScaleStep::default(), Clone::clone(&s))),
        "(ScaleStep, ScaleStep, ScaleStep, ScaleStep)"
    );
    assert_eq!(ScaleStep::NAME, "scale");
    assert_eq!(ScaleStep::VERSION, 0);
    assert_eq!(ScaleStep::OPTIONS, mlflow::step::StepOptions::DEFAULT);
    assert!(ScaleStep::DEPS.is_empty());
    assert_eq!(ScaleStep::CRATE.name, env!("CARGO_PKG_NAME"));
    assert_eq!(ScaleStep::CRATE.version, env!("CARGO_PKG_VERSION"));
}
