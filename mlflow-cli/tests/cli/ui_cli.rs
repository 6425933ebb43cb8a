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
    let (mut child, addr, line) = start_ui(dir.path());
    assert!(line.contains("(read-only)"), "{line}");
    let mut client = Client::connect(addr).unwrap();
    let runs = client.get("/").unwrap();
    assert_eq!(runs.status, 200);
    assert!(runs.header("content-security-policy").unwrap().starts_with("default-src 'none'"));
    assert!(runs.body.contains("No runs in this store yet"), "{}", runs.body);
    let refused = client.send("POST", "/models/m/aliases", &[], b"alias=production&version=1").unwrap();
    assert_eq!(refused.status, 403);
    assert!(refused.body.contains("--allow-writes"));
    stop(&mut child);
}

/// Starts `mlflow-pipelines ui` on a free port over the store at `store`: the process, the
/// address it announced, and its announcement.
fn start_ui(store: &std::path::Path) -> (std::process::Child, SocketAddr, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mlflow-pipelines"))
        .args(["--store", store.to_str().unwrap(), "ui", "--port", "0"])
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
    (child, addr, line)
}

/// Stops the UI with SIGTERM; it must exit cleanly.
fn stop(child: &mut std::process::Child) {
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

/// A model's monitoring page: the retraining loop's decisions, and the monitoring report of its
/// logged predictions (the drifted feature found) under the report's own policy.
#[test]
fn the_ui_shows_a_models_drift_over_time_and_its_trigger_decisions() {
    let (_dir, path) = crate::monitor_cli::store_with_log();
    let store = mlflow::store::Store::open(&path).unwrap();
    mlflow::serve::watch::WatchStore::new(&store)
        .record(
            "demo",
            1_700_000_500_000,
            true,
            "age drifted: ks 0.41 > 0.1",
            mlflow::serve::watch::Action::Refused,
            None,
            None,
            "the gate refused <it>",
        )
        .unwrap();
    drop(store);
    let (mut child, addr, _) = start_ui(&path);
    let mut client = Client::connect(addr).unwrap();
    let model = client.get("/models/demo").unwrap();
    assert!(model.body.contains(r#"<a href="/models/demo/monitoring">Monitoring</a>"#), "{}", model.body);
    let page = client.get("/models/demo/monitoring").unwrap();
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("age drifted: ks 0.41 &gt; 0.1") && page.body.contains("refused"),
        "{}",
        page.body
    );
    assert!(page.body.contains("the gate refused &lt;it&gt;"), "escaped: {}", page.body);
    assert!(page.body.contains(r#"src="/models/demo/monitoring/report?window=1000""#), "{}", page.body);
    let report = client.get("/models/demo/monitoring/report?window=1000").unwrap();
    assert_eq!(report.status, 200, "{}", report.body);
    let policy = report.header("content-security-policy").unwrap();
    assert!(policy.contains("frame-ancestors 'self'") && policy.contains("script-src 'nonce-"), "{policy}");
    // The feature x window table: `age` drifts in the shifted window, as `monitor` finds.
    let age = report.body.lines().find(|l| l.starts_with("<tr><td>age</td>")).expect("a row for age");
    assert!(age.contains("drifted"), "{age}");
    let bad = client.get("/models/demo/monitoring?window=fortnight").unwrap();
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("fortnight"), "{}", bad.body);
    let unknown = client.get("/models/nope/monitoring").unwrap();
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    assert!(unknown.body.contains("no registered model `nope`"), "{}", unknown.body);
    stop(&mut child);
}
