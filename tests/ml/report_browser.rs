//! The run report the way a person sees it: rendered by headless Chromium (Debian package
//! `chromium`), checked for script errors and for the DAG, the timeline, the ROC curve and the
//! metric charts being laid out readably, and screenshotted whole.
//!
//! Without `/usr/bin/chromium` the test prints a notice and passes, unless `MLFLOW_REQUIRE_BROWSER=1`
//! (set by `.ci/run` after installing chromium), where a missing browser fails. Another browser
//! binary can be named with `MLFLOW_CHROMIUM`. With `MLFLOW_REPORT_OUT=<dir>` the page and the
//! screenshot are also written there, to look at.

use crate::report_common;

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mlflow::report::render_html;

const WIDTH: u32 = 1400;
const HEIGHT: u32 = 2000;
const TIMEOUT: Duration = Duration::from_secs(60);

/// The browser, or `None` (after a notice) when it is missing and not required.
fn chromium() -> Option<PathBuf> {
    let path =
        PathBuf::from(std::env::var_os("MLFLOW_CHROMIUM").unwrap_or_else(|| "/usr/bin/chromium".into()));
    if path.exists() {
        return Some(path);
    }
    if std::env::var("MLFLOW_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
        panic!("MLFLOW_REQUIRE_BROWSER=1 but {} does not exist (apt-get install chromium)", path.display());
    }
    // Straight to the stream, not through `eprintln!`, which the test harness captures: the
    // notice must show in a plain `cargo test`.
    let _ = writeln!(std::io::stderr(), "skipping: chromium not installed (apt-get install chromium)");
    None
}

/// Output of one browser run.
struct Run {
    stdout: String,
    stderr: String,
}

/// Runs headless Chromium on `page` with `extra` arguments, killing it after [`TIMEOUT`].
/// Output goes to files, so a chatty browser cannot block on a full pipe.
fn run_chromium(
    browser: &Path,
    dir: &Path,
    name: &str,
    page: &Path,
    window: (u32, u32),
    extra: &[String],
) -> Run {
    let profile = dir.join(format!("profile-{name}"));
    let out_path = dir.join(format!("{name}.stdout"));
    let err_path = dir.join(format!("{name}.stderr"));
    let mut args: Vec<String> = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    args.push(format!("--window-size={},{}", window.0, window.1));
    args.extend(extra.iter().cloned());
    args.push(format!("file://{}", page.display()));
    let mut child = Command::new(browser)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).expect("stdout file"))
        .stderr(File::create(&err_path).expect("stderr file"))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", browser.display()));
    let started = Instant::now();
    // The watchdog: poll, and kill the browser when it takes too long.
    let status = loop {
        match child.try_wait().expect("wait for chromium") {
            Some(status) => break status,
            None if started.elapsed() > TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
                panic!("chromium ({name}) took more than {TIMEOUT:?}; killed it. stderr:\n{stderr}");
            }
            None => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    let run = Run {
        stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
    };
    assert!(status.success(), "chromium ({name}) failed: {status}\nstderr:\n{}", run.stderr);
    run
}

/// Lines of the browser's log that report a script error or any console message. With
/// `--enable-logging=stderr`, Chromium logs every console message, whatever its level, as
/// `INFO:CONSOLE(line)] "message"`: uncaught exceptions, `console.error`, and Content Security
/// Policy violations (an attempt to load anything, or to run a script without the nonce). The
/// page itself logs nothing, so any such line is a failure.
fn script_errors(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught")).collect()
}

/// The value of `name="..."` on the `<body>` tag of a dumped DOM.
fn body_attr<'a>(dom: &'a str, name: &str) -> Option<&'a str> {
    let body = &dom[dom.find("<body")?..];
    let tag = &body[..body.find('>')?];
    let key = format!(" {name}=\"");
    let from = tag.find(&key)? + key.len();
    Some(&tag[from..from + tag[from..].find('"')?])
}

/// A probe run after the page's own script: it records on `<body>` where the main pictures were
/// laid out, as `data-box-<id>="left top width height"` (page coordinates), the page's height as
/// `data-page-height`, and how many elements hovering the first step highlights as `data-hover`.
/// It must carry the page's nonce.
fn with_probe(html: &str) -> String {
    let at = html.find("<script nonce=\"").expect("the page has a script") + "<script nonce=\"".len();
    let nonce = &html[at..at + html[at..].find('"').expect("nonce ends")];
    let probe = format!(
        r#"<script nonce="{nonce}">
(function () {{
  ['dag', 'timeline', 'roc', 'studies', 'metrics', 'drift', 'performance'].forEach(function (id) {{
    var svg = document.querySelector('#' + id + ' svg');
    if (!svg) {{ return; }}
    var r = svg.getBoundingClientRect();
    var box = [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height];
    document.body.setAttribute('data-box-' + id, box.map(Math.round).join(' '));
  }});
  document.body.setAttribute('data-page-height', String(document.documentElement.scrollHeight));
  var node = document.getElementById('node-1');
  if (node) {{
    node.dispatchEvent(new MouseEvent('mouseenter'));
    document.body.setAttribute('data-hover', String(document.querySelectorAll('.hl').length));
    node.dispatchEvent(new MouseEvent('mouseleave'));
  }}
}})();
</script>
</body>"#
    );
    html.replacen("</body>", &probe, 1)
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(png.len() > 33, "PNG too short: {} bytes", png.len());
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&png[12..16], b"IHDR");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&png[16..20]), be(&png[20..24]))
}

/// Writes `html` (and a copy with the probe script) into `dir` as `<name>.html`, loads the probe
/// copy in the browser, and checks that the page's scripts ran without errors. Returns the page's
/// path and the DOM after the scripts ran.
fn load_without_script_errors(browser: &Path, dir: &Path, name: &str, html: &str) -> (PathBuf, String) {
    let page = dir.join(format!("{name}.html"));
    std::fs::write(&page, html).expect("write page");
    let probe_page = dir.join(format!("{name}-probe.html"));
    std::fs::write(&probe_page, with_probe(html)).expect("write probe page");
    let dom = run_chromium(
        browser,
        dir,
        &format!("{name}-dom"),
        &probe_page,
        (WIDTH, HEIGHT),
        &["--dump-dom".into(), "--enable-logging=stderr".into(), "--v=0".into()],
    );
    let errors = script_errors(&dom.stderr);
    assert!(errors.is_empty(), "script errors:\n{}", errors.join("\n"));
    assert_eq!(body_attr(&dom.stdout, "data-ok"), Some("1"), "the page's script did not finish");
    (page, dom.stdout)
}

/// A screenshot of `page` in a window of `size`, kept in `$MLFLOW_REPORT_OUT` when that is set.
fn screenshot(browser: &Path, dir: &Path, name: &str, page: &Path, size: (u32, u32)) -> Vec<u8> {
    let png_path = dir.join(format!("{name}.png"));
    run_chromium(
        browser,
        dir,
        &format!("{name}-shot"),
        page,
        size,
        &[format!("--screenshot={}", png_path.display())],
    );
    if let Some(out) = std::env::var_os("MLFLOW_REPORT_OUT") {
        let out = PathBuf::from(out);
        std::fs::create_dir_all(&out).expect("create MLFLOW_REPORT_OUT");
        std::fs::copy(page, out.join(format!("{name}.html"))).expect("copy page");
        std::fs::copy(&png_path, out.join(format!("{name}.png"))).expect("copy screenshot");
        println!("{name}: page and screenshot written to {}", out.display());
    }
    std::fs::read(&png_path).expect("chromium wrote the screenshot")
}

#[test]
fn chromium_renders_the_report_without_script_errors() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    // 1. The DOM after the scripts ran, with the browser's log, to catch script errors.
    let (page, dom) =
        load_without_script_errors(&browser, dir.path(), "report", &render_html(&report_common::realistic()));
    for id in [
        "summary",
        "errors",
        "dag",
        "timeline",
        "roc",
        "studies",
        "metrics",
        "params",
        "steps",
        "environment",
    ] {
        assert!(dom.contains(&format!("id=\"{id}\"")), "section {id} missing from the DOM");
    }
    // Hovering a step's DAG box highlights it in the DAG, the timeline and the steps table.
    assert_eq!(body_attr(&dom, "data-hover"), Some("3"), "hover highlighting");
    // The escaped step name stayed text: no element was made of it.
    assert!(dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!dom.contains(report_common::EVIL));

    // The pictures were laid out, big enough to read, within the page's width; the DAG on the
    // first screen.
    let page_height: f64 =
        body_attr(&dom, "data-page-height").and_then(|h| h.parse().ok()).expect("probe measured the page");
    for id in ["dag", "timeline", "roc", "studies", "metrics"] {
        let raw = body_attr(&dom, &format!("data-box-{id}"))
            .unwrap_or_else(|| panic!("probe found no picture in #{id}"));
        let v: Vec<f64> = raw.split(' ').map(|x| x.parse().expect("a number")).collect();
        let [left, top, width, height] = [v[0], v[1], v[2], v[3]];
        assert!(width > 300.0 && height > 150.0, "#{id} is {width}x{height}");
        assert!(
            left >= 0.0 && left + width <= f64::from(WIDTH),
            "#{id} sticks out sideways: {left} + {width}"
        );
        assert!(top >= 0.0 && top + height <= page_height, "#{id} is outside the page: {top} + {height}");
        if id == "dag" {
            assert!(top < f64::from(HEIGHT) / 2.0, "the DAG starts below the first screen: {top}");
        }
    }

    // 2. What a person sees: a screenshot of the whole page (one window as tall as the page).
    let tall = (page_height.ceil() as u32).clamp(HEIGHT, 4 * HEIGHT);
    let png = screenshot(&browser, dir.path(), "report", &page, (WIDTH, tall));
    assert_eq!(png_size(&png), (WIDTH, tall));
    // A blank or single-colour page of this size compresses to a few kilobytes.
    assert!(png.len() > 100_000, "screenshot suspiciously small: {} bytes", png.len());
}

use crate::titanic as support;

/// The issue's check as a person would do it: the report of a real Titanic run, in a browser.
#[test]
fn chromium_shows_the_titanic_runs_dag_and_roc_curves() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let store = mlflow::store::Store::open(dir.path().join("store")).expect("store");
    let file = mlflow::data::DataFile::open(support::path("train.csv")).expect("train.csv");
    let (pipeline, _) = support::pipeline::build(file, mlflow::eval::Metric::RocAuc);
    let run = pipeline.run(&store).expect("run");
    let view = mlflow::report::RunView::from_run(&store, run.run_id()).expect("view");
    assert_eq!(view.classifiers.len(), 5, "every evaluate step logged its ROC curve");
    let (page, dom) = load_without_script_errors(&browser, dir.path(), "titanic", &render_html(&view));
    for id in ["dag", "timeline", "roc"] {
        assert!(body_attr(&dom, &format!("data-box-{id}")).is_some(), "#{id} not drawn");
    }
    for id in ["metrics", "params"] {
        assert!(dom.contains(&format!("id=\"{id}\"")), "section {id} missing");
    }
    for step in ["ingest", "train_forest", "evaluate_svm", "package"] {
        assert!(dom.contains(step), "step {step} missing from the page");
    }

    let png = screenshot(&browser, dir.path(), "titanic", &page, (WIDTH, HEIGHT));
    assert_eq!(png_size(&png), (WIDTH, HEIGHT));
    assert!(png.len() > 50_000, "screenshot suspiciously small: {} bytes", png.len());
}

#[test]
fn chromium_renders_the_monitoring_report_without_script_errors() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let html = mlflow::report::render_monitoring_html(&report_common::monitoring());
    let (page, dom) = load_without_script_errors(&browser, dir.path(), "monitoring", &html);
    for id in ["summary", "drift", "features", "performance", "health"] {
        assert!(dom.contains(&format!("id=\"{id}\"")), "section {id} missing from the DOM");
    }
    assert!(dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !dom.contains(report_common::EVIL));
    for id in ["drift", "performance"] {
        let raw = body_attr(&dom, &format!("data-box-{id}")).unwrap_or_else(|| panic!("no picture in #{id}"));
        let v: Vec<f64> = raw.split(' ').map(|x| x.parse().expect("a number")).collect();
        assert!(v[2] > 200.0 && v[3] > 100.0, "#{id} is {}x{}", v[2], v[3]);
        assert!(v[0] >= 0.0 && v[0] + v[2] <= f64::from(WIDTH), "#{id} sticks out sideways");
    }
    let png = screenshot(&browser, dir.path(), "monitoring", &page, (WIDTH, HEIGHT));
    assert_eq!(png_size(&png), (WIDTH, HEIGHT));
    assert!(png.len() > 30_000, "screenshot suspiciously small: {} bytes", png.len());
}
