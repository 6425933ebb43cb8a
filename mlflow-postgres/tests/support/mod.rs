//! A PostgreSQL server for the tests, and a fresh store per test on each backend.
//!
//! - `MLFLOW_TEST_POSTGRES_URL` set (`postgres://USER@HOST:PORT/DB`, a role allowed to create
//!   databases): that server is used; each test creates a database of its own there.
//! - Otherwise, when `initdb` and `pg_ctl` are found (on `PATH` or under
//!   `/usr/lib/postgresql/*/bin`): a throwaway cluster in a temporary folder, trust
//!   authentication on 127.0.0.1 at a free port, started once per test binary and stopped (its
//!   folder removed) when the binary exits. As root (initdb refuses to run as root) the cluster
//!   is run as the `postgres` user, in a folder given to that user.
//! - Neither: the PostgreSQL half of each test prints that it was skipped, and the SQLite half
//!   still runs.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use mlflow_core::store::Store;

/// A server the tests may create databases on.
pub struct Server {
    /// A URL of the server, whose database is the maintenance one (`postgres`).
    admin_url: String,
}

/// Which metadata database a store of the suite uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A store for one test, with what keeps it alive.
pub struct TestStore {
    pub store: Store,
    pub backend: Backend,
    /// The database URL, for a second handle on the same store (PostgreSQL only).
    pub url: Option<String>,
    pub dir: tempfile::TempDir,
}

impl TestStore {
    /// Another handle on the same store (a second process, as far as the store can tell: its
    /// own connections and lease).
    pub fn reopen(&self) -> Store {
        let root = self.dir.path().join("store");
        match &self.url {
            Some(url) => mlflow_postgres::open_store(&root, url).expect("reopen the PostgreSQL store"),
            None => Store::open(&root).expect("reopen the SQLite store"),
        }
    }
}

impl TestStore {
    /// A handle as another machine would open it: on PostgreSQL, its own store folder (its own
    /// lock and leases) on the same database; on SQLite, whose database is in the folder, a
    /// second handle on the same folder.
    pub fn other_machine(&self) -> (Store, Option<tempfile::TempDir>) {
        match &self.url {
            Some(url) => {
                let dir = tempfile::tempdir().unwrap();
                let store =
                    mlflow_postgres::open_store(&dir.path().join("store"), url).expect("open another root");
                (store, Some(dir))
            }
            None => (self.reopen(), None),
        }
    }
}

/// A new SQLite store.
pub fn sqlite_store() -> TestStore {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    TestStore { store, backend: Backend::Sqlite, url: None, dir }
}

/// A new store on a database of its own, or `None` (with a note on stderr) when there is no
/// PostgreSQL server to test against.
pub fn postgres_store(test: &str) -> Option<TestStore> {
    let Some(server) = server() else {
        eprintln!(
            "{test}: PostgreSQL half skipped: set MLFLOW_TEST_POSTGRES_URL or install PostgreSQL (initdb, pg_ctl)"
        );
        return None;
    };
    let url = server.new_database(test);
    let dir = tempfile::tempdir().unwrap();
    let store =
        mlflow_postgres::open_store(&dir.path().join("store"), &url).expect("open the PostgreSQL store");
    Some(TestStore { store, backend: Backend::Postgres, url: Some(url), dir })
}

/// Every backend available here: SQLite always, PostgreSQL when a server is.
pub fn stores(test: &str) -> Vec<TestStore> {
    let mut stores = vec![sqlite_store()];
    stores.extend(postgres_store(test));
    stores
}

static SERVER: OnceLock<Option<Server>> = OnceLock::new();

/// The server, started on first use.
pub fn server() -> Option<&'static Server> {
    SERVER
        .get_or_init(|| match std::env::var("MLFLOW_TEST_POSTGRES_URL") {
            Ok(url) if !url.trim().is_empty() => Some(Server { admin_url: url.trim().to_owned() }),
            _ => start_cluster(),
        })
        .as_ref()
}

impl Server {
    /// Creates a database for one test and returns its URL.
    fn new_database(&self, test: &str) -> String {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "mlflow_{}_{}_{}",
            test.chars().filter(char::is_ascii_alphanumeric).take(30).collect::<String>().to_lowercase(),
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut client = postgres::Client::connect(&self.admin_url, postgres::NoTls)
            .unwrap_or_else(|e| panic!("connect to {}: {e}", mlflow_postgres::redact(&self.admin_url)));
        // Template 0 with the C collation: names sort byte by byte, as on SQLite.
        client
            .batch_execute(&format!(
                "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
            ))
            .unwrap_or_else(|e| panic!("create database {name}: {e}"));
        with_database(&self.admin_url, &name)
    }
}

/// `url` naming database `db` instead of its own.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    format!("{host_part}/{db}{query}")
}

/// `initdb` or `pg_ctl`: on `PATH`, else the newest under `/usr/lib/postgresql/*/bin`.
fn find_tool(name: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|e| e.path().join("bin").join(name))
        .filter(|p| p.is_file())
        .collect();
    versions.sort();
    versions.pop()
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// Runs `program args` (as the `postgres` user when `as_postgres`), failing with its output.
fn run(as_postgres: bool, program: &Path, args: &[&str]) -> Result<(), String> {
    let mut command = if as_postgres {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    };
    let out = command
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{}: {e}", program.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} {}: {}\n{}",
            program.display(),
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

/// Starts a throwaway cluster, or `None` when PostgreSQL is not installed (or cannot start).
fn start_cluster() -> Option<Server> {
    let (initdb, pg_ctl) = (find_tool("initdb")?, find_tool("pg_ctl")?);
    let as_postgres = is_root();
    if as_postgres
        && !Command::new("getent").args(["passwd", "postgres"]).output().is_ok_and(|o| o.status.success())
    {
        eprintln!(
            "running as root and there is no `postgres` user to run initdb as: PostgreSQL tests skipped"
        );
        return None;
    }
    // Kept past this function: the watcher below removes it when the tests end.
    let dir = tempfile::Builder::new().prefix("mlflow-pg-").tempdir().ok()?.keep();
    let data = dir.join("data");
    let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
    if as_postgres {
        let status = Command::new("chown").args(["-R", "postgres:"]).arg(&dir).status();
        if !status.is_ok_and(|s| s.success()) {
            eprintln!("cannot give {} to the postgres user: PostgreSQL tests skipped", dir.display());
            return None;
        }
    }
    let (data_s, dir_s) = (data.to_str()?.to_owned(), dir.to_str()?.to_owned());
    let started = run(
        as_postgres,
        &initdb,
        &["-D", &data_s, "--auth=trust", "-U", "postgres", "--no-locale", "-E", "UTF8", "--no-sync"],
    )
    .and_then(|()| {
        let options = format!("-k {dir_s} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off");
        let log = format!("{dir_s}/log");
        run(as_postgres, &pg_ctl, &["-D", &data_s, "-l", &log, "-o", &options, "-w", "start"])
    });
    if let Err(e) = started {
        eprintln!("cannot start a throwaway PostgreSQL cluster, PostgreSQL tests skipped: {e}");
        let _ = std::fs::remove_dir_all(&dir);
        return None;
    }
    // When this test binary exits, however it exits, stop the cluster and remove its folder.
    let stop = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {runuser}{pg_ctl} -D {data_s} -m immediate stop >/dev/null 2>&1; rm -rf {dir_s}",
        pid = std::process::id(),
        runuser = if as_postgres { "runuser -u postgres -- " } else { "" },
        pg_ctl = pg_ctl.display(),
    );
    let _ = Command::new("sh")
        .args(["-c", &stop])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    Some(Server { admin_url: format!("postgres://postgres@127.0.0.1:{port}/postgres") })
}

#[test]
fn database_urls_keep_host_and_options() {
    assert_eq!(
        with_database("postgres://u:p@h:5/postgres?sslmode=disable", "x"),
        "postgres://u:p@h:5/x?sslmode=disable"
    );
    assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
}
