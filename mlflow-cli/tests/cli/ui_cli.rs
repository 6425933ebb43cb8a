//! `mlflow-pipelines ui`: the binary serves the web UI on the address it announces, read-only
//! unless told otherwise, and stops on SIGTERM.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};

use crate::http::Client;

#[test]
fn the_ui_command_serves_pages_and_refuses_writes_without_allow_writes() {
    let dir = tempfile::tempdir().unwrap();
    mlflow::store::Store::open(dir.path()).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mlflow-pipelines"))
        .args(["--store", dir.path().to_str().unwrap(), "ui", "--port", "0"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    assert!(stderr.read_line(&mut line).unwrap() > 0, "the UI exited before listening");
    let addr: SocketAddr = line
        .trim()
        .strip_prefix("mlflow-pipelines ui: listening on http://")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("no address announced: {line}"))
        .parse()
        .unwrap();
    assert!(line.contains("(read-only)"), "{line}");
    let mut client = Client::connect(addr).unwrap();
    let runs = client.get("/").unwrap();
    assert_eq!(runs.status, 200);
    assert!(runs.header("content-security-policy").unwrap().starts_with("default-src 'none'"));
    assert!(runs.body.contains("No runs in this store yet"), "{}", runs.body);
    let refused = client.send("POST", "/models/m/aliases", &[], b"alias=production&version=1").unwrap();
    assert_eq!(refused.status, 403);
    assert!(refused.body.contains("--allow-writes"));
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}
