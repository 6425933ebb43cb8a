//! Serves three small models over the Open Inference Protocol (KServe V2 REST) for KServe's own
//! Python client to check (`tests/kserve_v2/check_client.py`, run by CI):
//!
//! ```text
//! cargo run --example kserve_v2 --features server -- DIR
//! ```
//!
//! registers a binary classifier with integer labels (`binary`), a three-class classifier with
//! text labels (`species`) and a linear regressor (`price`) in a new store in `DIR/store`, starts
//! the server on a free port of 127.0.0.1, and then writes `DIR/expected.json`: the server's
//! URL, each model's features, the rows the check sends and what the in-process scorer answers
//! for them (labels, class probabilities, values). It serves until SIGINT or SIGTERM.

#[path = "../tests/support/v2_models.rs"]
mod v2_models;

use mlflow::models::Outputs;
use mlflow::prelude::*;
use mlflow::registry::Registry;
use mlflow::serve::Scorer;
use mlflow::serve::server::{ModelSpec, Server, ServerConfig};
use serde_json::{Value, json};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir =
        std::env::args_os().nth(1).ok_or("give the directory to write the store and expected.json in")?;
    let dir = std::path::PathBuf::from(dir);
    let store = Store::open(dir.join("store"))?;
    v2_models::register(&store);

    let rows = ndarray::Array2::from_shape_fn((v2_models::ROWS.len(), 2), |(i, j)| v2_models::ROWS[i][j]);
    let registry = Registry::new(&store)?;
    let mut models = serde_json::Map::new();
    let mut config = ServerConfig::new("127.0.0.1:0".parse()?).handle_signals(true).announce(true);
    for (name, features) in v2_models::MODELS {
        let reference = format!("{name}@production");
        let scorer = Scorer::from_registry(&registry, &reference)?;
        let mut expected = json!({ "features": features });
        match scorer.predict(rows.view())? {
            Outputs::Probabilities(p) => {
                let classes = scorer.package().classes().ok_or("a classifier has classes")?;
                let labels: Vec<Value> = scorer
                    .score_batch(rows.view())?
                    .iter()
                    .map(|prediction| match classes.label(prediction.label as usize) {
                        Some(mlflow::features::ClassLabel::Int(v)) => json!(v),
                        Some(mlflow::features::ClassLabel::Text(text)) => json!(text),
                        None => json!(prediction.label),
                    })
                    .collect();
                expected["labels"] = json!(labels);
                expected["probabilities"] =
                    json!(p.rows().into_iter().map(|r| r.to_vec()).collect::<Vec<_>>());
            }
            Outputs::Values(v) => expected["values"] = json!(v.to_vec()),
        }
        models.insert(name.to_owned(), expected);
        config = config.model(ModelSpec::new(reference));
    }
    let server = Server::start(store, config)?;
    let expected = json!({
        "url": format!("http://{}", server.local_addr()),
        "rows": v2_models::ROWS,
        "models": models,
    });
    // Written whole and then renamed, so the check never reads half a file.
    let partial = dir.join("expected.json.partial");
    std::fs::write(&partial, serde_json::to_string_pretty(&expected)?)?;
    std::fs::rename(&partial, dir.join("expected.json"))?;
    server.wait()?;
    Ok(())
}
