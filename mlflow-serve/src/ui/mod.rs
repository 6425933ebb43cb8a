//! The local web UI: runs, comparisons, hyperparameter studies, registered models, their
//! monitoring and lineage, served from a store.
//!
//! | method and path | what |
//! |---|---|
//! | `GET /` | the runs: pipeline, status, start, duration and chosen metric and param columns; `?where=EXPR` (the filter language of `mlflow-pipelines runs --where`, clauses joined by ` and `), `&pipeline=P&status=S`, `&sort=COLUMN&order=asc\|desc` (`id`, `pipeline`, `status`, `started`, `duration`, `param.NAME` or a metric `[metric.][NODE.]KEY`), `&page=N&per_page=50`, `&metrics=a,b&params=x`; a check box per run to compare the chosen ones |
//! | `GET /runs/ID` | a run: summary, steps with their stored outputs and links to their lineage, params, metrics, the models registered from it, and its report |
//! | `GET /runs/ID/report` | the run report ([`mlflow_ml::report::render_html`]) as it is written to a file |
//! | `GET /runs/ID/lineage/NODE` | where a step's output came from: code, params, data and upstream steps |
//! | `GET /runs/ID/studies/NODE` | a hyperparameter study the step ranked: trials, optimization history, importance, parallel coordinates |
//! | `GET /studies` | every study in the store (from the trial scores each logged), newest run first, `?page=N` |
//! | `GET /compare?run=A&run=B…` | params and metrics side by side, differences marked; the steps whose cache keys differ and why; metric series and ROC curves overlaid, a line per run |
//! | `GET /models` | every registered model |
//! | `GET /models/NAME` | versions with metrics, aliases and lineage; the alias history as a timeline; `?alias=A&at=TIME`: who held the alias then |
//! | `GET /models/NAME/monitoring` | the retraining loop's trigger decisions and, in a frame, the monitoring report of the model's logged predictions (`?window=1000`, as `monitor --window`) |
//! | `POST /models/NAME/aliases` | moves an alias through the promotion guard (only with [`UiConfig::allow_writes`]) |
//! | `GET /static/app.css`, `/static/app.js` | the only stylesheet and script |
//!
//! Pages are rendered on the server from the store's queries; the runs page reads one page of
//! runs (`LIMIT`/`OFFSET` in the database) and counts the rest. Every page is sent with a strict
//! Content-Security-Policy (`default-src 'none'`, scripts, styles and frames from the server
//! only, nothing inline) and loads nothing from anywhere else. The run report is the exception:
//! it is one self-contained file with its styles inline and a script allowed by a nonce, so it is
//! served at its own route with the policy it was written with (`style-src 'unsafe-inline'`,
//! `script-src 'nonce-…'`, no network at all), and the run page shows it in a frame from that
//! route, rather than weakening the policy of every page.
//!
//! Read-only unless [`UiConfig::allow_writes`]: then a model's page has a form that promotes a
//! version, through the same guard as `mlflow-pipelines model promote`, with a CSRF token made
//! at start, and the alias history records who (a required form field) and why.
//!
//! ```
//! use mlflow_serve::ui::{Ui, UiConfig};
//! # let dir = tempfile::tempdir().unwrap();
//! let store = mlflow_core::store::Store::open(dir.path())?;
//! let ui = Ui::new(store, UiConfig::default());
//! let page = ui.handle("GET", "/", "", b"");
//! assert_eq!(page.status, 200);
//! assert!(page.body.contains("No runs"));
//! assert_eq!(ui.handle("GET", "/runs/nope", "", b"").status, 404);
//! assert_eq!(ui.handle("POST", "/models/m/aliases", "", b"").status, 403);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod charts;
mod compare;
mod html;
mod models;
mod monitoring;
mod run;
mod runs;
mod server;
mod studies;

use std::sync::Arc;

pub use html::escape;
pub use server::UiServer;

use html::{Nav, layout};
use mlflow_core::store::Store;

/// The policy of every page but the run report: nothing inline, nothing from elsewhere.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const APP_CSS: &str = include_str!("static/app.css");
const APP_JS: &str = include_str!("static/app.js");

/// How to run the UI.
///
/// ```
/// use mlflow_serve::ui::UiConfig;
/// let config = UiConfig::new("127.0.0.1:8090".parse().unwrap()).allow_writes(true);
/// assert!(config.writes_allowed());
/// assert!(!UiConfig::default().writes_allowed());
/// ```
#[derive(Debug, Clone)]
pub struct UiConfig {
    addr: std::net::SocketAddr,
    allow_writes: bool,
    handle_signals: bool,
    announce: bool,
}

impl Default for UiConfig {
    /// `127.0.0.1:8090`, read-only.
    fn default() -> Self {
        UiConfig::new(std::net::SocketAddr::from(([127, 0, 0, 1], 8090)))
    }
}

impl UiConfig {
    /// Serve on `addr` (port 0: any free port), read-only.
    pub fn new(addr: std::net::SocketAddr) -> UiConfig {
        UiConfig { addr, allow_writes: false, handle_signals: false, announce: false }
    }

    /// Allow promotions from the model pages (default: read-only; writes are refused with 403).
    pub fn allow_writes(mut self, allow: bool) -> UiConfig {
        self.allow_writes = allow;
        self
    }

    /// Whether promotions are allowed.
    pub fn writes_allowed(&self) -> bool {
        self.allow_writes
    }

    /// Stop on SIGINT or SIGTERM (for a command line; default off).
    pub fn handle_signals(mut self, on: bool) -> UiConfig {
        self.handle_signals = on;
        self
    }

    /// Print the address on standard error when listening (default off).
    pub fn announce(mut self, on: bool) -> UiConfig {
        self.announce = on;
        self
    }
}

/// An answer of the UI: status, content type, headers and body.
///
/// See [`Ui::handle`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The `Content-Type`.
    pub content_type: &'static str,
    /// The `Content-Security-Policy`.
    pub csp: String,
    /// Where a `303 See Other` sends the browser.
    pub location: Option<String>,
    /// The body.
    pub body: String,
}

impl Answer {
    fn html(status: u16, body: String) -> Answer {
        Answer {
            status,
            content_type: "text/html; charset=utf-8",
            csp: CONTENT_SECURITY_POLICY.to_owned(),
            location: None,
            body,
        }
    }

    fn asset(content_type: &'static str, body: &str) -> Answer {
        Answer { content_type, ..Answer::html(200, body.to_owned()) }
    }

    /// An error page: `title` and the message (escaped here).
    fn error(status: u16, title: &str, message: &str) -> Answer {
        let body = format!(
            "<h1>{}</h1>\n<p class=\"error\" role=\"alert\">{}</p>\n<p><a href=\"/\">All runs</a> · <a href=\"/studies\">All studies</a> · <a href=\"/models\">All models</a></p>\n",
            html::escape(title),
            html::escape(message)
        );
        Answer::html(status, layout(title, Nav::None, &body))
    }

    fn not_found(what: &str) -> Answer {
        Answer::error(404, "Not found", what)
    }

    fn redirect(to: String) -> Answer {
        Answer { location: Some(to), ..Answer::html(303, String::new()) }
    }
}

/// The UI over one store: renders pages for requests. [`UiServer`] serves it over HTTP; tests
/// and benchmarks can call [`Ui::handle`] directly.
///
/// See the [module docs](self) for an example.
pub struct Ui {
    store: Arc<Store>,
    allow_writes: bool,
    csrf: String,
}

impl Ui {
    /// The UI over `store`, with a fresh CSRF token.
    pub fn new(store: Store, config: UiConfig) -> Ui {
        use rand::Rng;
        let bytes: [u8; 16] = rand::thread_rng().r#gen();
        let csrf = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Ui { store: Arc::new(store), allow_writes: config.allow_writes, csrf }
    }

    /// The store it shows.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The CSRF token the promotion form carries (made when the UI is created).
    pub fn csrf_token(&self) -> &str {
        &self.csrf
    }

    /// Answers one request: `method` (`GET`, `HEAD` or `POST`), the decoded-or-not `path`, the
    /// raw `query` string (without `?`) and the body (a form, for `POST`). Never panics on what
    /// a client sends; unknown paths are 404, malformed input 400.
    ///
    /// See the [module docs](self) for an example.
    pub fn handle(&self, method: &str, path: &str, query: &str, body: &[u8]) -> Answer {
        let segments: Vec<String> =
            path.split('/').filter(|s| !s.is_empty()).map(|s| html::url_decode(s, false)).collect();
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        let query = html::Query::parse(query);
        let get = matches!(method, "GET" | "HEAD");
        match (segments.as_slice(), get) {
            ([], true) => runs::page(&self.store, &query),
            (["runs", id], true) => run::page(&self.store, id),
            (["runs", id, "report"], true) => run::report(&self.store, id),
            (["runs", id, "lineage", node], true) => run::lineage(&self.store, id, node),
            (["runs", id, "studies", node], true) => studies::page(&self.store, id, node),
            (["studies"], true) => studies::list(&self.store, &query),
            (["compare"], true) => compare::page(&self.store, &query),
            (["models"], true) => models::list(&self.store),
            (["models", name], true) => models::page(&self.store, name, &query, self.form_token()),
            (["models", name, "monitoring"], true) => monitoring::page(&self.store, name, &query),
            (["models", name, "monitoring", "report"], true) => monitoring::report(&self.store, name, &query),
            (["models", name, "aliases"], false) if method == "POST" => {
                if !self.allow_writes {
                    return Answer::error(
                        403,
                        "Read-only",
                        "this UI is read-only: start it with `mlflow-pipelines ui --allow-writes` to promote models",
                    );
                }
                let form = html::Query::parse(&String::from_utf8_lossy(body));
                if form.get("csrf") != Some(self.csrf.as_str()) {
                    return Answer::error(
                        403,
                        "Refused",
                        "the form's CSRF token is missing or stale: reload the model page and submit again",
                    );
                }
                models::promote(&self.store, name, &form)
            }
            (["static", "app.css"], true) => Answer::asset("text/css; charset=utf-8", APP_CSS),
            (["static", "app.js"], true) => Answer::asset("text/javascript; charset=utf-8", APP_JS),
            (["models", _, "aliases"], true) => {
                Answer::error(405, "Method not allowed", "POST a promotion form here")
            }
            (_, false) => Answer::error(405, "Method not allowed", "this page only answers GET"),
            _ => Answer::not_found(&format!("no page at `{path}`")),
        }
    }

    /// The token for the promotion form, when writes are allowed.
    fn form_token(&self) -> Option<&str> {
        self.allow_writes.then_some(self.csrf.as_str())
    }
}
