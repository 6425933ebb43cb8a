//! `mlflow-pipelines sync --to-mlflow URL` against a real MLflow tracking server (PyPI `mlflow`,
//! pinned in `.ci/mlflow-bridge`), started on 127.0.0.1 on a free port when
//! `MLFLOW_TEST_SERVER_BIN` names the `mlflow` executable of a virtualenv; MLflow's own Python
//! client (`verify.py`, run with that virtualenv's python) checks what arrived. Without the
//! variable the test says it was skipped and passes.

#[path = "../../../tests/support/titanic.rs"]
mod titanic;

use std::ffi::OsString;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mlflow::prelude::*;
use mlflow::registry::{RegisterRequest, Registry};
use mlflow::track::{self, TrackError};
use serde_json::Value;

/// The environment variable naming the `mlflow` executable.
const SERVER_VAR: &str = "MLFLOW_TEST_SERVER_BIN";

/// A running `mlflow server` on a SQLite file; killed on drop.
struct Server {
    child: Child,
    url: String,
    python: PathBuf,
    log: PathBuf,
    /// Over https: the certificate authority that signed the server's certificate.
    ca: Option<PathBuf>,
}

/// A certificate authority, and a certificate for 127.0.0.1 it signed with the server's key,
/// made by `openssl` in a folder.
struct Certificates {
    ca: PathBuf,
    key: PathBuf,
    cert: PathBuf,
}

impl Certificates {
    #[cfg_attr(
        not(feature = "mlflow-tls"),
        expect(dead_code, reason = "only the https test, with TLS, makes them")
    )]
    fn make(dir: &Path) -> Certificates {
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(dir)
                .output()
                .expect("openssl (Debian's `openssl` package) makes the test's certificates");
            assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=mlflow-bridge test CA",
        ]);
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ]);
        std::fs::write(
            dir.join("server.ext"),
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ]);
        Certificates { ca: dir.join("ca.pem"), key: dir.join("server.key"), cert: dir.join("server.pem") }
    }
}

impl Server {
    fn executable() -> Option<OsString> {
        std::env::var_os(SERVER_VAR).filter(|v| !v.is_empty())
    }

    /// Starts the server in `dir` (over https with `tls`) and waits until `/health` answers (up
    /// to 180 s: a cold start imports a lot of Python).
    fn start(executable: &OsString, dir: &Path, tls: Option<&Certificates>) -> Server {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = dir.join("server.log");
        let mut command = Command::new(executable);
        // Its own process group: `mlflow server` starts uvicorn and job consumers, which must
        // stop with it.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command
            .args(["server", "--host", "127.0.0.1", "--port", &port.to_string(), "--workers", "1"])
            .arg("--backend-store-uri")
            .arg(format!("sqlite:///{}", dir.join("mlflow.db").display()))
            .arg("--default-artifact-root")
            .arg(dir.join("artifacts"))
            .args(
                tls.map(|t| {
                    let uvicorn =
                        format!("--ssl-keyfile {} --ssl-certfile {}", t.key.display(), t.cert.display());
                    ["--uvicorn-opts".to_owned(), uvicorn]
                })
                .into_iter()
                .flatten(),
            )
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::from(std::fs::File::options().append(true).open(&log).unwrap()))
            .spawn()
            .unwrap_or_else(|e| panic!("start {} ({SERVER_VAR}): {e}", executable.to_string_lossy()));
        let python = Path::new(executable).with_file_name("python");
        let scheme = if tls.is_some() { "https" } else { "http" };
        let ca = tls.map(|t| t.ca.clone());
        let mut server = Server { child, url: format!("{scheme}://127.0.0.1:{port}"), python, log, ca };
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            if server.healthy() {
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("mlflow server exited at start ({status}): {}", server.log());
            }
            assert!(Instant::now() < deadline, "mlflow server silent for 180 s: {}", server.log());
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn healthy(&self) -> bool {
        if let Some(ca) = &self.ca {
            // Over TLS, Python's client checks the server's certificate against the CA.
            let check = "import ssl, sys, urllib.request\n\
                         urllib.request.urlopen(sys.argv[1] + '/health', timeout=10, \
                         context=ssl.create_default_context(cafile=sys.argv[2]))";
            return Command::new(&self.python)
                .args(["-c", check, &self.url])
                .arg(ca)
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
        }
        let address = self.url.trim_start_matches("http://");
        let Ok(mut stream) = TcpStream::connect(address) else { return false };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let request = format!("GET /health HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
        if stream.write_all(request.as_bytes()).is_err() {
            return false;
        }
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200")
    }

    /// `python verify.py URL ARGS...`, its JSON.
    fn verify(&self, args: &[&str]) -> Value {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bridge/verify.py");
        let mut command = Command::new(&self.python);
        if let Some(ca) = &self.ca {
            // MLflow's client trusts a private CA through the same variable as the bridge.
            command.env("MLFLOW_TRACKING_SERVER_CERT_PATH", ca);
        }
        let out = command.arg(script).arg(&self.url).args(args).output().unwrap();
        assert!(out.status.success(), "verify.py {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

impl Drop for Server {
    /// Kills the server's whole process group (the server and everything it started).
    fn drop(&mut self) {
        #[cfg(unix)]
        let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", self.child.id())]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Toy {
    weight: f64,
}

/// A loss series over five epochs, a single accuracy, tags, and what MLflow cannot hold: a
/// metric and a tag whose names have characters it refuses, a tag over its length limit.
#[step]
fn train(lr: &f64, optimizer: &String) -> Result<Toy, TrackError> {
    for epoch in 0..5u64 {
        track::log_metric_at("loss", epoch, lr * (5 - epoch) as f64)?;
    }
    track::log_metric("accuracy", 1.0 - lr)?;
    track::log_metric("f1@0.5", 0.5)?;
    track::log_metric("val/loss fold-1", 0.25)?;
    track::set_tag("optimizer", optimizer)?;
    track::set_tag("owner?", "the team")?;
    track::set_tag("notes", &"n".repeat(9000))?;
    Ok(Toy { weight: *lr })
}

fn run_pipeline(store: &Store, lr: f64) -> String {
    let mut p = Pipeline::new("bridged");
    let lr_node = p.param("lr", lr);
    let optimizer = p.param("optimizer", "sgd".to_owned());
    p.step(TrainStep, (lr_node, optimizer));
    p.run(store).unwrap().run_id().to_owned()
}

/// `mlflow-pipelines --store STORE sync --to-mlflow URL ARGS...`: (success, stdout, stderr).
fn sync(store: &Path, url: &str, args: &[&str]) -> (bool, String, String) {
    sync_trusting(store, url, args, None)
}

/// [`sync`] with `MLFLOW_TRACKING_SERVER_CERT_PATH` set to `ca` (and cleared without one).
fn sync_trusting(store: &Path, url: &str, args: &[&str], ca: Option<&Path>) -> (bool, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mlflow-pipelines"));
    match ca {
        Some(ca) => command.env("MLFLOW_TRACKING_SERVER_CERT_PATH", ca),
        None => command.env_remove("MLFLOW_TRACKING_SERVER_CERT_PATH"),
    };
    let out = command
        .arg("--store")
        .arg(store)
        .args(["sync", "--to-mlflow", url, "--experiment-prefix", "team/"])
        .args(args)
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

fn show(server: &Server) -> Value {
    server.verify(&["show", "team/bridged", "toy", "production", "train.loss"])
}

/// Starts the server, or says the test was skipped.
fn server(dir: &Path) -> Option<Server> {
    let Some(executable) = Server::executable() else {
        eprintln!(
            "skipped: set {SERVER_VAR} to the `mlflow` executable of a virtualenv (.ci/mlflow-bridge does)"
        );
        return None;
    };
    Some(Server::start(&executable, dir, None))
}

/// The MLflow run mirroring our run `id`.
fn mirrored<'a>(seen: &'a Value, id: &str) -> &'a Value {
    let runs = seen["runs"].as_array().unwrap();
    runs.iter()
        .find(|r| r["tags"]["mlflow-pipelines.run_id"] == id)
        .unwrap_or_else(|| panic!("no MLflow run for {id}: {seen}"))
}

#[test]
fn runs_models_and_aliases_arrive_once_and_an_interrupted_sync_completes() {
    let Some(executable) = Server::executable() else {
        eprintln!(
            "skipped: set {SERVER_VAR} to the `mlflow` executable of a virtualenv (.ci/mlflow-bridge does)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&executable, dir.path(), None);
    let path = dir.path().join("store");
    let store = Store::open(&path).unwrap();
    let first = run_pipeline(&store, 0.1);
    let second = run_pipeline(&store, 0.2);
    let registry = Registry::new(&store).unwrap();
    for run in [&first, &second] {
        registry.register("toy", RegisterRequest::new(run.as_str(), "train").metric("auc", 0.9)).unwrap();
    }
    registry.set_alias("toy", "production", 2, "the better one").unwrap();

    // A dry run writes nothing.
    let (ok, out, err) = sync(&path, &server.url, &["--dry-run"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("dry run") && out.contains("runs: 2 to create"), "{out}");
    assert!(out.contains("model versions: 2 to create") && out.contains("aliases: 1 set"), "{out}");
    assert!(!out.contains("is not mirrored"), "{out}");
    assert!(show(&server)["runs"].as_array().unwrap().is_empty());

    let (ok, out, err) = sync(&path, &server.url, &[]);
    assert!(ok, "{out}{err}");
    eprintln!("first sync:\n{out}");
    assert!(out.contains("runs: 2 created, 0 completed, 0 already there, 0 skipped"), "{out}");
    assert!(out.contains("model versions: 2 created"), "{out}");
    assert!(out.contains("aliases: 1 set"), "{out}");
    // What MLflow cannot hold is listed, per run, with the reason.
    for item in ["metric train.f1@0.5", "tag train.owner?", "tag train.notes"] {
        assert!(out.contains(&format!("run {first} {item}:")), "{item}: {out}");
    }
    assert!(out.contains("8000 characters"), "{out}");

    let seen = show(&server);
    assert_eq!(seen["runs"].as_array().unwrap().len(), 2, "{seen}");
    let run = mirrored(&seen, &second);
    assert_eq!(run["status"], "FINISHED");
    assert_eq!(run["params"]["lr"], "0.2");
    assert_eq!(run["params"]["optimizer"], "sgd", "string params lose their JSON quotes");
    assert_eq!(run["metrics"]["train.accuracy"], 0.8);
    assert_eq!(run["metrics"]["train.val/loss fold-1"], 0.25, "slashes, dashes and spaces pass");
    assert_eq!(run["tags"]["train.optimizer"], "sgd");
    assert_eq!(run["tags"]["mlflow-pipelines.pipeline"], "bridged");
    let ours = store.run(&second).unwrap().unwrap();
    assert_eq!(run["start_time"], ours.started_ms);
    assert_eq!(run["end_time"], ours.ended_ms.unwrap());
    let output = ours.steps[0].output.unwrap().to_hex();
    assert_eq!(run["tags"]["mlflow-pipelines.output.train"], output.as_str());
    let history: Vec<(u64, f64)> = serde_json::from_value(run["history"].clone()).unwrap();
    let expected: Vec<(u64, f64)> = (0..5u64).map(|e| (e, 0.2 * (5 - e) as f64)).collect();
    assert_eq!(history, expected, "every point of the series at its step");
    assert!(run["tags"].get("train.owner?").is_none() && run["tags"].get("train.notes").is_none());

    // The model with its two versions and the alias on the mirror of version 2.
    assert_eq!(seen["versions"].as_array().unwrap().len(), 2, "{seen}");
    assert_eq!(seen["model"]["aliases"]["production"], "2", "{seen}");
    let by_alias = &seen["by_alias"];
    assert_eq!(by_alias["tags"]["mlflow-pipelines.version"], "2");
    assert_eq!(by_alias["run_id"], run["run_id"], "the version's run is the mirrored run");
    let source = by_alias["source"].as_str().unwrap();
    assert!(
        source.starts_with("mlflow-pipelines://") && source.ends_with(&format!("/artifacts/{output}")),
        "{source}"
    );

    // A second sync adds nothing.
    let (ok, out, err) = sync(&path, &server.url, &[]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("runs: 0 created, 0 completed, 2 already there"), "{out}");
    assert!(out.contains("model versions: 0 created, 2 already there"), "{out}");
    assert!(out.contains("aliases: 0 set, 1 already there"), "{out}");
    let again = show(&server);
    assert_eq!(again["runs"].as_array().unwrap().len(), 2);
    assert_eq!(again["versions"].as_array().unwrap().len(), 2);
    assert_eq!(mirrored(&again, &second)["history"].as_array().unwrap().len(), 5);

    // A sync interrupted midway: the third run was created in MLflow with one point and one
    // param logged, and left RUNNING. The next sync completes it without logging twice.
    let third = run_pipeline(&store, 0.3);
    let loss0 = (0.3 * 5.0f64).to_string();
    server.verify(&["partial", "team/bridged", &third, "train.loss", "0", &loss0, "lr", "0.3"]);
    let (ok, out, err) = sync(&path, &server.url, &["--json"]);
    assert!(ok, "{out}{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["runs"]["completed"], 1, "{report}");
    assert_eq!(report["runs"]["created"], 0, "{report}");
    assert_eq!(report["runs"]["existing"], 2, "{report}");
    let seen = show(&server);
    assert_eq!(seen["runs"].as_array().unwrap().len(), 3, "{seen}");
    let resumed = mirrored(&seen, &third);
    assert_eq!(resumed["status"], "FINISHED");
    let history: Vec<(u64, f64)> = serde_json::from_value(resumed["history"].clone()).unwrap();
    assert_eq!(history.len(), 5, "the point already there is not logged again: {history:?}");
    assert_eq!(resumed["params"]["optimizer"], "sgd");

    // An observer mirrors a run as it finishes.
    let shared = std::sync::Arc::new(Store::open(&path).unwrap());
    let observer = std::sync::Arc::new(mlflow_bridge::MirrorObserver::new(
        std::sync::Arc::clone(&shared),
        mlflow_bridge::SyncOptions::new(&server.url).experiment_prefix("team/"),
    ));
    let mirror = std::sync::Arc::clone(&observer);
    let mut p = Pipeline::new("bridged");
    let lr_node = p.param("lr", 0.4);
    let optimizer = p.param("optimizer", "adam".to_owned());
    p.step(TrainStep, (lr_node, optimizer));
    let options = mlflow::exec::RunOptions::new()
        .observe(move |e: &mlflow::exec::Event<'_>| mlflow::exec::Observer::on_event(&*mirror, e));
    let fourth = p.run_with(&shared, options).unwrap().run_id().to_owned();
    let reports = observer.reports();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].as_ref().unwrap().runs.created, 1, "{reports:?}");
    let seen = show(&server);
    assert_eq!(seen["runs"].as_array().unwrap().len(), 4, "{seen}");
    assert_eq!(mirrored(&seen, &fourth)["params"]["optimizer"], "adam");

    // The alias moves: MLflow follows.
    registry.set_alias("toy", "production", 1, "rollback").unwrap();
    let (ok, out, err) = sync(&path, &server.url, &[]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("aliases: 1 set") && out.contains("4 already there"), "{out}");
    assert_eq!(show(&server)["by_alias"]["tags"]["mlflow-pipelines.version"], "1");
}

#[test]
fn an_unreachable_server_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let store = Store::open(&path).unwrap();
    run_pipeline(&store, 0.1);
    // A port nothing listens on.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (ok, out, err) = sync(&path, &format!("http://127.0.0.1:{port}"), &[]);
    assert!(!ok, "{out}");
    assert!(err.contains("no answer from the MLflow server") && err.contains("continues"), "{err}");
    let (ok, _, err) = sync(&path, "ftp://example", &[]);
    assert!(!ok && err.contains("http:// or https://"), "{err}");
}

#[test]
fn after_a_titanic_run_mlflow_lists_the_run_with_its_metrics_and_the_model_with_its_alias() {
    let dir = tempfile::tempdir().unwrap();
    let Some(server) = server(dir.path()) else { return };
    let path = dir.path().join("store");
    let store = Store::open(&path).unwrap();
    let (report, _, version) = titanic::register_demo(&store);
    Registry::new(&store)
        .unwrap()
        .set_alias("titanic", "production", version, "the demo's champion")
        .unwrap();
    let (ok, out, err) = sync(&path, &server.url, &[]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("runs: 1 created") && out.contains("model versions: 1 created"), "{out}");
    assert!(out.contains("aliases: 1 set"), "{out}");

    let seen = server.verify(&["show", "team/titanic", "titanic", "production", "evaluate_svm.roc_auc"]);
    let runs = seen["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{seen}");
    let run = &runs[0];
    assert_eq!(run["status"], "FINISHED");
    let ours = store.run(report.run_id()).unwrap().unwrap();
    let mut compared = 0;
    for (node, m) in ours.metrics.iter().filter(|(_, m)| m.step.is_none()) {
        let key = format!("{node}.{}", m.key);
        if mlflow_bridge::names::key_problem(&key).is_none() {
            assert_eq!(run["metrics"][&key].as_f64(), Some(m.value), "{key}");
            compared += 1;
        }
    }
    assert!(compared > 5 && run["metrics"]["evaluate_svm.roc_auc"].as_f64().unwrap() > 0.5, "{run}");
    for (name, _) in &ours.param_values {
        assert!(run["params"].get(name).is_some(), "param {name}: {run}");
    }
    // The data version the run read, and every step's output by hash.
    let (node, data) = &ours.data[0];
    let tag = run["tags"][format!("mlflow-pipelines.data.{node}")].as_str().unwrap();
    assert!(tag.contains(&data.version.to_hex()), "{tag}");
    for step in ours.steps.iter().filter(|s| s.output.is_some()) {
        let tag = &run["tags"][format!("mlflow-pipelines.output.{}", step.node)];
        assert_eq!(tag.as_str(), Some(step.output.unwrap().to_hex().as_str()), "{}", step.node);
    }
    let by_alias = &seen["by_alias"];
    assert_eq!(by_alias["run_id"], run["run_id"], "{seen}");
    assert_eq!(by_alias["tags"]["mlflow-pipelines.version"], version.to_string());
}

/// Over https, the certificate authority `MLFLOW_TRACKING_SERVER_CERT_PATH` names is trusted (the
/// variable MLflow's own client reads); without it the server's certificate is refused, and the
/// message says so.
#[cfg(feature = "mlflow-tls")]
#[test]
fn over_https_the_ca_in_mlflow_tracking_server_cert_path_is_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let Some(executable) = Server::executable() else {
        eprintln!(
            "skipped: set {SERVER_VAR} to the `mlflow` executable of a virtualenv (.ci/mlflow-bridge does)"
        );
        return;
    };
    let certificates = Certificates::make(dir.path());
    let server = Server::start(&executable, dir.path(), Some(&certificates));
    assert!(server.url.starts_with("https://"));
    let path = dir.path().join("store");
    let store = Store::open(&path).unwrap();
    let id = run_pipeline(&store, 0.25);

    let (ok, out, err) = sync_trusting(&path, &server.url, &[], None);
    assert!(!ok, "{out}");
    assert!(err.contains("no answer from the MLflow server") && err.contains("UnknownIssuer"), "{err}");

    let (ok, out, err) = sync_trusting(&path, &server.url, &[], Some(&certificates.ca));
    assert!(ok, "{out}\n{err}");
    let seen = show(&server);
    let run = mirrored(&seen, &id);
    assert_eq!(run["status"], "FINISHED", "{run}");
    assert_eq!(
        run["history"],
        serde_json::json!([[0, 1.25], [1, 1.0], [2, 0.75], [3, 0.5], [4, 0.25]]),
        "{run}"
    );
}
