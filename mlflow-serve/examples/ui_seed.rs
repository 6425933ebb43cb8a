//! A store for trying the web UI (and for its browser test): twelve runs of a small pipeline
//! with params and metrics (one param holding a `<script>` tag, to show it is escaped), and a
//! registered model with three versions whose `production` alias moved twice.
//!
//! `cargo run -p mlflow-serve --example ui_seed -- DIR`, then `mlflow-pipelines --store DIR ui`.

use mlflow_core::prelude::*;
use mlflow_core::registry::{Promotion, RegisterRequest, Registry};
use mlflow_core::track::{log_metric, log_metric_at};

/// A pretend training step: its metrics follow from the params.
#[mlflow_macros::step(crate = mlflow_core)]
fn train(seed: &u64, c: &f64, label: &String) -> mlflow_core::Result<Vec<f64>> {
    let auc = 0.6 + 0.03 * (*seed as f64) - 0.01 * c;
    log_metric("auc", auc)?;
    log_metric("log_loss", 1.0 - auc)?;
    // A training curve, and a ROC curve the way `mlflow::eval` logs one.
    for epoch in 0..20u64 {
        log_metric_at("loss", epoch, (1.0 - auc) + 1.0 / (epoch as f64 + 1.0 + *seed as f64))?;
    }
    for (i, fpr) in [0.0, 0.1, 0.3, 0.6, 1.0].into_iter().enumerate() {
        log_metric_at("roc.fpr", i as u64, fpr)?;
        log_metric_at("roc.tpr", i as u64, if fpr == 0.0 { 0.0 } else { f64::powf(fpr, 1.0 - auc) })?;
    }
    Ok(vec![*seed as f64, *c, label.len() as f64])
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).ok_or("usage: ui_seed DIR")?;
    let store = Store::open(&dir)?;
    let mut ids = Vec::new();
    for seed in 1..=12u64 {
        let mut p = Pipeline::new(if seed % 4 == 0 { "churn" } else { "titanic-demo" });
        let s = p.param("seed", seed);
        let c = p.param("c", (seed % 3) as f64 + 0.5);
        let label = if seed == 5 { "<script>alert('x')</script>".to_owned() } else { format!("try {seed}") };
        let l = p.param("label", label);
        p.step(TrainStep, (s, c, l));
        let report = p.run(&store)?;
        ids.push(report.run_id().to_owned());
    }
    let registry = Registry::new(&store)?;
    for (version, at) in [(1u32, 2usize), (2, 6), (3, 10)] {
        let auc = 0.6 + 0.03 * (at as f64 + 1.0);
        registry.register(
            "demo-model",
            RegisterRequest::new(&ids[at], "train")
                .metric("auc", auc)
                .description(format!("trained in run {}", at + 1)),
        )?;
        let _ = version;
    }
    registry.promote("demo-model", 1, "production", Promotion::new("auc").reason("first model"))?;
    registry.promote("demo-model", 2, "production", Promotion::new("auc").reason("better auc"))?;
    registry.promote("demo-model", 3, "staging", Promotion::new("auc").reason("candidate"))?;
    println!("{dir}: {} runs, model demo-model with 3 versions", ids.len());
    Ok(())
}
