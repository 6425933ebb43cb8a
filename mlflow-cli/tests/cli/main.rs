//! The `mlflow-pipelines` command line, run as a process on stores the Titanic demo filled:
//! inspecting runs and models, batch scoring, the prediction log, and the HTTP server (most of
//! its tests run it in-process through the library, the rest through the binary).

#[path = "../../../tests/support/http.rs"]
mod http;
#[path = "../../../tests/support/monitored.rs"]
mod monitored;
#[path = "../../../tests/support/cli.rs"]
mod run;
#[path = "../../../tests/support/titanic.rs"]
mod titanic;
#[path = "../../../tests/support/v2_models.rs"]
mod v2_models;

mod commands;
mod labels;
mod monitor_cli;
mod predictions_cli;
mod production;
mod score;
mod server;
mod tasks;
#[cfg(feature = "ui")]
mod ui_cli;
mod v2;
mod watch_cli;
