//! A local S3 server for the tests and the benchmark: moto's `moto_server` (from PyPI, package
//! `moto[server]`), started on 127.0.0.1 on a free port when `MLFLOW_TEST_MOTO` names its
//! executable, and stopped when the guard drops.

use std::ffi::OsString;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The environment variable naming the `moto_server` executable.
pub const MOTO_VAR: &str = "MLFLOW_TEST_MOTO";

/// A running `moto_server`; killed on drop.
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
}

impl Moto {
    /// The executable from `MLFLOW_TEST_MOTO`, or `None` when it is unset or empty.
    pub fn executable() -> Option<OsString> {
        std::env::var_os(MOTO_VAR).filter(|v| !v.is_empty())
    }

    /// Starts the server and waits until it answers (up to 60 s).
    pub fn start(executable: &OsString) -> Moto {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(executable)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {} ({MOTO_VAR}): {e}", executable.to_string_lossy()));
        let mut moto = Moto { child, endpoint: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if moto.request("GET", "/").is_some() {
                return moto;
            }
            if let Ok(Some(status)) = moto.child.try_wait() {
                panic!("moto_server exited at start: {status}");
            }
            assert!(Instant::now() < deadline, "moto_server did not answer on {} within 60 s", moto.endpoint);
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Creates a bucket (moto does not check signatures: a plain `PUT /bucket`).
    pub fn create_bucket(&self, bucket: &str) {
        let status = self.request("PUT", &format!("/{bucket}")).expect("moto answers");
        assert!(status.starts_with("HTTP/1.1 200") || status.starts_with("HTTP/1.0 200"), "{status}");
    }

    /// The environment a child process needs to reach this server through the standard AWS
    /// variables (the credentials are moto's dummies).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ALLOW_HTTP", "true".into()),
        ]
    }

    /// One HTTP/1.1 request with an empty body; the status line, or `None` when nothing answers.
    fn request(&self, method: &str, path: &str) -> Option<String> {
        let address = self.endpoint.trim_start_matches("http://");
        let mut stream = TcpStream::connect(address).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).ok()?;
        answer.lines().next().map(str::to_owned).filter(|line| line.starts_with("HTTP/"))
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
