//! The web UI over HTTP against a store with a few runs and a model whose alias moved twice:
//! filtering, sorting, paging, comparing, the alias history, escaping, the security policy, and
//! promotions (refused read-only, refused with a bad CSRF token, recorded with the right one).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use mlflow_core::prelude::*;
use mlflow_core::registry::{Promotion, RegisterRequest, Registry};
use mlflow_core::track::{log_metric, log_metric_at};
use mlflow_serve::ui::{CONTENT_SECURITY_POLICY, UiConfig, UiServer};

#[mlflow_macros::step(crate = mlflow_core)]
fn train(seed: &u64, label: &String) -> mlflow_core::Result<Vec<f64>> {
    log_metric("auc", *seed as f64 / 10.0)?;
    for step in 0..3u64 {
        log_metric_at("loss", step, 1.0 / (step + *seed) as f64)?;
    }
    Ok(vec![*seed as f64, label.len() as f64])
}

const SCRIPT: &str = "<script>alert(1)</script>";

/// Five runs of `demo` (seed 1 to 5, auc = seed / 10; run 3's label is a script tag), and
/// `demo-model` versions 1 and 2 (runs 1 and 2) with `production` moved to 1, then to 2.
fn seeded() -> (tempfile::TempDir, Store, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut ids = Vec::new();
    for seed in 1..=5u64 {
        let mut p = Pipeline::new("demo");
        let s = p.param("seed", seed);
        let l = p.param("label", if seed == 3 { SCRIPT.to_owned() } else { format!("run {seed}") });
        p.step(TrainStep, (s, l));
        let report = p.run(&store).unwrap();
        assert!(report.is_success());
        ids.push(report.run_id().to_owned());
    }
    let registry = Registry::new(&store).unwrap();
    for (i, id) in ids.iter().take(2).enumerate() {
        registry
            .register("demo-model", RegisterRequest::new(id, "train").metric("auc", (i + 1) as f64 / 10.0))
            .unwrap();
    }
    registry.promote("demo-model", 1, "production", Promotion::new("auc").reason("first model")).unwrap();
    registry.promote("demo-model", 2, "production", Promotion::new("auc").reason("better auc")).unwrap();
    (dir, store, ids)
}

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// One request on a fresh connection (`Connection: close`, the body read to the end).
fn request(addr: SocketAddr, method: &str, path: &str, body: &str) -> Answer {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let status = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("status line");
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        if let Some((n, v)) = trimmed.split_once(':') {
            headers.push((n.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let mut body = Vec::new();
    reader.read_to_end(&mut body).unwrap();
    Answer { status, headers, body: String::from_utf8_lossy(&body).into_owned() }
}

fn get(addr: SocketAddr, path: &str) -> Answer {
    request(addr, "GET", path, "")
}

/// Where each id first appears in `body`.
fn positions(body: &str, ids: &[String]) -> Vec<usize> {
    ids.iter()
        .map(|id| body.find(&format!("value=\"{id}\"")).unwrap_or_else(|| panic!("{id} not listed")))
        .collect()
}

#[test]
fn browsing_runs_models_and_lineage() {
    let (_dir, store, ids) = seeded();
    let server = UiServer::start(store, UiConfig::new("127.0.0.1:0".parse().unwrap())).unwrap();
    let addr = server.local_addr();

    let all = get(addr, "/");
    assert_eq!(all.status, 200, "{}", all.body);
    assert_eq!(all.header("content-security-policy"), Some(CONTENT_SECURITY_POLICY));
    assert_eq!(all.header("x-content-type-options"), Some("nosniff"));
    assert!(all.body.contains("5 runs"), "{}", all.body);
    assert!(!all.body.contains("<style") && !all.body.contains(" style=") && !all.body.contains("<script>"));
    assert!(all.body.contains(r#"<script src="/static/app.js" defer></script>"#));
    // The param column shows the script tag as text.
    assert!(all.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !all.body.contains(SCRIPT));

    // The filter narrows the rows, in the language of `runs --where`.
    let some = get(addr, "/?where=auc%3E%3D0.3");
    assert!(some.body.contains("3 runs"), "{}", some.body);
    assert!(!some.body.contains(&format!("value=\"{}\"", ids[0])));
    let one = get(addr, "/?where=param.seed%3D2+and+auc%3E0.1");
    assert!(
        one.body.contains("1 run,") && one.body.contains(&format!("value=\"{}\"", ids[1])),
        "{}",
        one.body
    );
    let bad = get(addr, "/?where=auc%3E%3Dhigh");
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("malformed filter `auc&gt;=high`: `high` is not a number"), "{}", bad.body);

    // Sorting by a metric, both ways, and by a param.
    let asc = get(addr, "/?sort=metric.auc&order=asc");
    let p = positions(&asc.body, &ids);
    assert!(p.windows(2).all(|w| w[0] < w[1]), "ascending auc: {p:?}");
    let desc = get(addr, "/?sort=auc");
    let p = positions(&desc.body, &ids);
    assert!(p.windows(2).all(|w| w[0] > w[1]), "descending auc: {p:?}");
    let by_seed = get(addr, "/?sort=param.seed&order=asc");
    let p = positions(&by_seed.body, &ids);
    assert!(p.windows(2).all(|w| w[0] < w[1]), "ascending seed: {p:?}");
    assert!(get(addr, "/?sort=duration").status == 200 && get(addr, "/?sort=pipeline").status == 200);

    // Pages of two: newest first.
    let first = get(addr, "/?per_page=2");
    assert!(first.body.contains("showing 1 to 2") && first.body.contains("page 1 of 3"), "{}", first.body);
    assert!(
        first.body.contains(&format!("value=\"{}\"", ids[4]))
            && !first.body.contains(&format!("value=\"{}\"", ids[2]))
    );
    assert!(first.body.contains("rel=\"next\""));
    let last = get(addr, "/?per_page=2&page=3");
    assert!(last.body.contains("showing 5 to 5") && last.body.contains(&format!("value=\"{}\"", ids[0])));
    assert!(last.body.contains("rel=\"prev\"") && !last.body.contains("rel=\"next\""));

    let beyond = get(addr, "/?per_page=2&page=5000000000");
    assert!(beyond.status == 200 && beyond.body.contains("No runs on page 1000000000"), "{}", beyond.body);
    // Chosen columns.
    let cols = get(addr, "/?metrics=auc&params=seed");
    assert!(
        cols.body.contains(">auc")
            && cols.body.contains(">param seed")
            && !cols.body.contains(">param label")
    );

    // A run: steps, lineage links, the report in a frame; its report with its own policy.
    let run = get(addr, &format!("/runs/{}", ids[2]));
    assert_eq!(run.status, 200);
    assert!(run.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !run.body.contains(SCRIPT));
    assert!(run.body.contains(&format!("/runs/{}/lineage/train", ids[2])));
    assert!(run.body.contains(&format!("<iframe class=\"report\" src=\"/runs/{}/report\"", ids[2])));
    let registered = get(addr, &format!("/runs/{}", ids[0]));
    assert!(registered.body.contains("registered as <a href=\"/models/demo-model\">demo-model/1</a>"));
    let report = get(addr, &format!("/runs/{}/report", ids[2]));
    assert_eq!(report.status, 200);
    let policy = report.header("content-security-policy").unwrap();
    assert!(policy.contains("script-src 'nonce-") && policy.contains("frame-ancestors 'self'"), "{policy}");
    assert!(!report.body.contains(SCRIPT));
    let lineage = get(addr, &format!("/runs/{}/lineage/train", ids[2]));
    assert!(
        lineage.status == 200 && lineage.body.contains("param seed = <code>3</code>"),
        "{}",
        lineage.body
    );

    // Comparing: the differing params and metric are marked, and so is the step's cache key.
    let cmp = get(addr, &format!("/compare?run={}&run={}", ids[0], ids[1]));
    assert_eq!(cmp.status, 200, "{}", cmp.body);
    assert!(cmp.body.contains(r#"<tr class="diff"><th scope="row">seed</th>"#), "{}", cmp.body);
    assert!(cmp.body.contains(r#"<tr class="diff"><th scope="row">train.auc</th>"#));
    assert!(
        cmp.body.contains("param `seed` changed") && cmp.body.contains("param `label` changed"),
        "{}",
        cmp.body
    );
    assert_eq!(get(addr, &format!("/compare?run={}", ids[0])).status, 400);
    // The loss series of both runs in one chart, a line each.
    let chart =
        &cmp.body[cmp.body.find("<figcaption>train.loss</figcaption>").expect("a chart of the series")..];
    let chart = &chart[..chart.find("</figure>").unwrap()];
    assert_eq!(chart.matches("<polyline").count(), 2, "{chart}");

    // Models: the list, and the model's versions and alias history as a timeline.
    let models = get(addr, "/models");
    assert!(models.body.contains("<a href=\"/models/demo-model\">demo-model</a>"));
    let model = get(addr, "/models/demo-model");
    assert_eq!(model.status, 200);
    let timeline = &model.body[model.body.find("id=\"timeline\"").unwrap()..];
    let (v1, v2) = (
        timeline.find("version <strong>1</strong>: first model").unwrap(),
        timeline.find("version <strong>2</strong>: better auc").unwrap(),
    );
    assert!(v1 < v2);
    assert!(model.body.contains("This UI is read-only") && !model.body.contains("name=\"csrf\""));
    let history = get(addr, "/models/demo-model?alias=production&at=1970-01-01");
    assert!(history.body.contains("pointed at no version at 1970-01-01"), "{}", history.body);
    let now = get(addr, &format!("/models/demo-model?alias=production&at={}", i64::MAX / 2));
    assert!(now.body.contains("demo-model@production was version 2"), "{}", now.body);

    // Unknown things are 404 pages that name them; static files are served.
    let missing = get(addr, "/runs/no-such-run");
    assert!(missing.status == 404 && missing.body.contains("no run `no-such-run`"));
    let missing = get(addr, "/models/no-such-model");
    assert!(
        missing.status == 404 && missing.body.contains("no registered model `no-such-model`"),
        "{}",
        missing.body
    );
    assert_eq!(get(addr, "/runs/%3Cscript%3E").status, 404);
    assert!(!get(addr, "/runs/%3Cscript%3E").body.contains("<script>"));
    assert_eq!(get(addr, &format!("/runs/{}/lineage/nope", ids[0])).status, 404);
    assert_eq!(get(addr, "/nowhere").status, 404);
    let css = get(addr, "/static/app.css");
    assert!(css.status == 200 && css.header("content-type").unwrap().starts_with("text/css"));
    assert!(get(addr, "/static/app.js").body.contains("compare-form"));

    // Read-only: writes are refused, saying how to allow them.
    let refused = request(addr, "POST", "/models/demo-model/aliases", "alias=production&version=1");
    assert_eq!(refused.status, 403);
    assert!(refused.body.contains("--allow-writes"));
    server.shutdown().unwrap();
}

#[test]
fn promotions_need_writes_and_the_csrf_token() {
    let (dir, store, _ids) = seeded();
    let server =
        UiServer::start(store, UiConfig::new("127.0.0.1:0".parse().unwrap()).allow_writes(true)).unwrap();
    let addr = server.local_addr();
    let token = server.csrf_token().to_owned();
    let page = get(addr, "/models/demo-model");
    assert!(page.body.contains(&format!("name=\"csrf\" value=\"{token}\"")));

    let form = |csrf: &str, alias: &str, version: u32, extra: &str| {
        format!(
            "csrf={csrf}&alias={alias}&version={version}&metric=auc&who=alice&reason=rollback+test{extra}"
        )
    };
    let wrong = request(addr, "POST", "/models/demo-model/aliases", &form("0123", "staging", 1, ""));
    assert_eq!(wrong.status, 403);
    assert!(wrong.body.contains("CSRF"));
    let no_token = request(addr, "POST", "/models/demo-model/aliases", "alias=staging&version=1");
    assert_eq!(no_token.status, 403);
    // The guard refuses a worse version for production, as `model promote` would.
    let guarded = request(addr, "POST", "/models/demo-model/aliases", &form(&token, "production", 1, ""));
    assert_eq!(guarded.status, 409, "{}", guarded.body);
    let nobody = request(
        addr,
        "POST",
        "/models/demo-model/aliases",
        &format!("csrf={token}&alias=staging&version=1&reason=x"),
    );
    assert_eq!(nobody.status, 400);
    let unknown = request(addr, "POST", "/models/nope/aliases", &form(&token, "staging", 1, ""));
    assert_eq!(unknown.status, 404);

    let moved = request(addr, "POST", "/models/demo-model/aliases", &form(&token, "staging", 1, ""));
    assert_eq!(moved.status, 303, "{}", moved.body);
    assert_eq!(moved.header("location"), Some("/models/demo-model#history"));
    let forced =
        request(addr, "POST", "/models/demo-model/aliases", &form(&token, "production", 1, "&force=1"));
    assert_eq!(forced.status, 303, "{}", forced.body);
    server.shutdown().unwrap();

    let store = Store::open(dir.path()).unwrap();
    let registry = Registry::new(&store).unwrap();
    let staging = registry.alias_history("demo-model", "staging").unwrap();
    assert_eq!(staging.len(), 1);
    assert_eq!(staging[0].version, Some(1));
    assert!(
        staging[0].reason.contains("rollback test") && staging[0].reason.contains("alice"),
        "{}",
        staging[0].reason
    );
    let production = registry.alias_history("demo-model", "production").unwrap();
    assert_eq!(production.len(), 3);
    assert!(production[2].forced && production[2].version == Some(1));
    assert_eq!(registry.aliases("demo-model").unwrap()["production"], 1);
}

#[test]
fn malformed_requests_get_4xx_pages_not_panics() {
    let (_dir, store, ids) = seeded();
    let ui = mlflow_serve::ui::Ui::new(store, UiConfig::default());
    let run = &ids[0];
    for (method, path, query, status) in [
        ("GET", "/", "page=-1&per_page=0&sort=%27%3B+DROP+TABLE+runs%3B--&order=sideways", 200),
        ("GET", "/", "sort=param.&metrics=,,,&params=%00", 200),
        ("GET", "/", "where=param.%3D1", 400),
        ("GET", "/", "where=%E2%89%A5", 400),
        ("GET", "/", "where=auc%3E%3D1e999", 200),
        ("GET", "/", "per_page=99999999999999999999999&page=%ff", 200),
        ("GET", "/runs/%ff%fe", "", 404),
        ("GET", "/runs/a/b/c/d/e", "", 404),
        ("GET", &format!("/runs/{run}/lineage/%3Cscript%3E"), "", 404),
        ("GET", "/compare", "run=&run=", 400),
        ("GET", "/compare", &format!("run={run}&run={run}"), 400),
        ("GET", "/compare", &format!("run={run}&run=nope"), 404),
        ("GET", "/models/%00", "", 404),
        ("GET", "/models/demo-model", "alias=%3Cb%3E&at=never", 400),
        ("GET", "/models/demo-model/aliases", "", 405),
        ("DELETE", "/", "", 405),
        ("POST", "/models/demo-model/aliases", "", 403),
        ("GET", "/static/../../etc/passwd", "", 404),
        ("GET", "/studies", "page=-5&page=%ff", 200),
        ("GET", "/studies", "page=99999999999999999999999", 200),
        ("GET", "/runs/%ff/studies/%3Cb%3E", "", 404),
        ("GET", &format!("/runs/{run}/studies/%3Cb%3E"), "", 404),
        ("POST", "/studies", "", 405),
    ] {
        let answer = ui.handle(method, path, query, b"\xff\xfe=%%");
        assert_eq!(answer.status, status, "{method} {path}?{query}: {}", answer.body);
        assert!(!answer.body.contains("<script>") && !answer.body.contains("<b>"), "{path}?{query}");
    }
    // The table is still there after the "injection" above.
    assert!(ui.handle("GET", "/", "", b"").body.contains("5 runs"));
}

/// Iris, a 25% hold-out, and a grid study of a small forest (2 depths x 2 leaf sizes, stratified
/// 3-fold cross-validation) as `rank_forest`: a real study, as `blocks::tune` ranks it.
fn iris_study() -> (Pipeline, mlflow_ml::blocks::Tuned) {
    use mlflow_ml::blocks::{self, Candidate, Prepare, Study};
    use mlflow_ml::data::{CsvOptions, DataFile};
    use mlflow_ml::eval::ClassMetric;
    use mlflow_ml::features::CrossValidation;
    use mlflow_ml::models::ForestParams;
    use mlflow_ml::tune::Space;

    const IRIS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/data/iris/iris.csv");
    const COLUMNS: [&str; 5] = ["sepal_length", "sepal_width", "petal_length", "petal_width", "species"];
    let mut p = Pipeline::new("iris-study");
    let file = p.param("data", DataFile::open(IRIS).unwrap());
    let csv = p.param("csv", CsvOptions::default().skip_lines(1).no_header(COLUMNS));
    let raw = p.step(blocks::IngestStep, (file, csv));
    let setup = p.param("setup", Prepare::label("species").test_fraction(0.25).seed(7));
    let prepared = p.step(blocks::PrepareStep, (raw, setup));
    let study = Study::grid(
        Candidate::new("forest", ForestParams { n_trees: 10, ..Default::default() }),
        Space::new().choice("max_depth", [1, 4]).choice("min_samples_leaf", [1, 5]),
        ClassMetric::Accuracy,
    )
    .cv(CrossValidation::stratified(3));
    let tuned = blocks::tune(&mut p, raw, setup, prepared, "forest", &study).unwrap();
    (p, tuned)
}

#[test]
fn studies_are_listed_and_drawn_under_the_strict_policy() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let ui = mlflow_serve::ui::Ui::new(Store::open(dir.path()).unwrap(), UiConfig::default());
    let empty = ui.handle("GET", "/studies", "", b"");
    assert_eq!(empty.status, 200);
    assert!(empty.body.contains("No studies in this store yet"), "{}", empty.body);

    let (p, tuned) = iris_study();
    let first = p.run(&store).unwrap().into_result().unwrap();
    // A rerun serves every step from the cache and still lists its study (its recorded log).
    let second = p.run(&store).unwrap().into_result().unwrap();
    let results = first.get(tuned.results).unwrap();
    let best = results.results.best().mean;

    let listed = ui.handle("GET", "/studies", "", b"");
    assert_eq!(listed.status, 200);
    assert!(listed.body.contains("2 runs with studies, showing runs 1 to 2: 2 studies"), "{}", listed.body);
    let links: Vec<usize> = [second.run_id(), first.run_id()]
        .iter()
        .map(|id| listed.body.find(&format!("/runs/{id}/studies/rank_forest")).expect("a link to each study"))
        .collect();
    assert!(links[0] < links[1], "the newest run first");
    let row = listed.body.lines().find(|l| l.contains(first.run_id()) && l.contains("<tr>")).unwrap();
    // Accuracy: higher is better, so the best is the highest trial mean; four trials scored.
    assert!(row.contains(">accuracy<") && row.contains(r#"<td class="num">4</td>"#), "{row}");
    let shown = format!("{best:.4}");
    let shown = shown.trim_end_matches('0').trim_end_matches('.');
    assert!(row.ends_with(&format!(r#"<td class="num">{shown}</td></tr>"#)), "{best}: {row}");
    let past = ui.handle("GET", "/studies", "page=2", b"");
    assert!(past.body.contains("No studies on page 2"), "{}", past.body);

    let path = format!("/runs/{}/studies/rank_forest", first.run_id());
    let page = ui.handle("GET", &path, "", b"");
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.csp, CONTENT_SECURITY_POLICY);
    for part in [
        "optimization history",
        "hyperparameter importance",
        r#"<svg class="parallel-svg""#,
        "<table class=\"trials\">",
        "max_depth",
        "min_samples_leaf",
        "4 trials, 4 scored, higher is better",
    ] {
        assert!(page.body.contains(part), "{part}:\n{}", page.body);
    }
    for trial in &results.trials {
        assert!(page.body.contains(&mlflow_serve::ui::escape(&trial.name)), "{}", trial.name);
    }
    // Nothing inline for the policy to refuse: no style attribute, no inline script.
    assert!(!page.body.contains("style=") && !page.body.contains("<script>"), "{}", page.body);

    let run_page = ui.handle("GET", &format!("/runs/{}", first.run_id()), "", b"");
    assert!(run_page.body.contains(&format!(r#"<a href="{path}">study</a>"#)), "{}", run_page.body);

    let not_a_study = ui.handle("GET", &format!("/runs/{}/studies/best_forest", first.run_id()), "", b"");
    assert_eq!(not_a_study.status, 404);
    assert!(
        not_a_study.body.contains("`best_trial`, which ranks no hyperparameter study"),
        "{}",
        not_a_study.body
    );
    let no_step = ui.handle("GET", &format!("/runs/{}/studies/%3Cnope%3E", first.run_id()), "", b"");
    assert_eq!(no_step.status, 404);
    assert!(no_step.body.contains("has no step `&lt;nope&gt;`"), "{}", no_step.body);
    assert_eq!(ui.handle("GET", "/runs/nope/studies/rank_forest", "", b"").status, 404);
}

/// A search of one's own: five trials' RMSE logged as `cv.rmse`.
#[mlflow_macros::step(crate = mlflow_core)]
fn my_search(scores: &Vec<f64>) -> mlflow_core::Result<usize> {
    for (trial, rmse) in scores.iter().enumerate() {
        log_metric_at("cv.rmse", trial as u64, *rmse)?;
    }
    Ok(scores.len())
}

#[test]
fn a_search_of_ones_own_is_a_study_drawn_from_its_logged_scores() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut p = Pipeline::new("own-search");
    let scores = p.param("scores", vec![0.9, 0.4, 0.7, 0.2, 0.5]);
    p.step(MySearchStep, scores);
    let run = p.run(&store).unwrap().into_result().unwrap();
    let ui = mlflow_serve::ui::Ui::new(store, UiConfig::default());

    let listed = ui.handle("GET", "/studies", "", b"");
    let row = listed.body.lines().find(|l| l.contains("<tr>") && l.contains(run.run_id())).unwrap();
    // RMSE: lower is better, so the best is the lowest score.
    assert!(
        row.contains(">rmse<") && row.ends_with(r#"<td class="num">5</td><td class="num">0.2</td></tr>"#),
        "{row}"
    );

    let page = ui.handle("GET", &format!("/runs/{}/studies/my_search", run.run_id()), "", b"");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("5 trials, 5 scored, lower is better; best: trial 3 (0.2)"), "{}", page.body);
    assert!(page.body.contains("optimization history") && page.body.contains("<table class=\"trials\">"));
    assert_eq!(page.body.matches("<circle class=\"trial-dot\"").count(), 5, "a dot per trial");
}
