//! Routes, request parsing and answers of the scoring service.

use std::fmt::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;

use super::error::ApiError;
use super::metrics::ErrorCode;
use super::request::{self, Instances, PredictRequest};
use super::shadow::ShadowJob;
use super::v2;
use super::{App, Deployment, Loaded, Served, now_ms};
use crate::{Durability, ModelPackage, RawRowsRef, RequestFailure, Role, Route};
use mlflow_core::text::escape_controls as esc;
use mlflow_ml::features::{ClassLabel, ClassLabels};
use mlflow_ml::models::{Outputs, Task};

/// Client request ids longer than this (or with spaces or control characters) are replaced by
/// one of ours: they are echoed back and logged with every row.
const MAX_REQUEST_ID: usize = 128;

/// Routing keys longer than this are refused.
const MAX_ROUTING_KEY: usize = 1024;

/// Requests with a larger body are scored outside the async scheduler (about 2,000 numbers).
const BLOCKING_BODY_BYTES: usize = 16 * 1024;

/// Bodies up to this many times the limit are read to their end before the 413.
const DRAIN_FACTOR: usize = 8;

pub(crate) fn router(app: Arc<App>) -> Router {
    let heads = axum::middleware::from_fn_with_state(Arc::clone(&app), check_head);
    Router::new()
        .route("/", get(alive))
        .route("/v1/models", get(list_models))
        .route("/v1/models/{target}", get(model_metadata).post(predict))
        .route("/v2", get(v2::server_metadata))
        .route("/v2/models/{name}", get(v2::model_metadata))
        .route("/v2/models/{name}/ready", get(v2::model_ready))
        .route("/v2/models/{name}/infer", axum::routing::post(v2::infer))
        .route("/v2/models/{name}/versions/{version}", get(v2::version_metadata))
        .route("/v2/models/{name}/versions/{version}/ready", get(v2::version_ready))
        .route("/v2/models/{name}/versions/{version}/infer", axum::routing::post(v2::version_infer))
        .route("/v2/health/live", get(live))
        .route("/healthz", get(live))
        .route("/v2/health/ready", get(ready))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(heads)
        .with_state(app)
}

/// The size of a request's line and headers as sent (give or take optional spaces).
fn head_size(request: &axum::extract::Request) -> usize {
    let line = request.method().as_str().len() + request.uri().to_string().len() + "  HTTP/1.1\r\n".len();
    let headers: usize =
        request.headers().iter().map(|(name, value)| name.as_str().len() + value.len() + 4).sum();
    line + headers + 2
}

/// Refuses requests whose line and headers are over the limit with a JSON 431, before routing.
/// (Heads over hyper's own cap, 4 times larger, never get here: see the `conn` module.)
async fn check_head(
    State(app): State<Arc<App>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let size = head_size(&request);
    if size > app.max_header_bytes {
        return ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ErrorCode::HeadersTooLarge,
            format!(
                "the request line and headers are {size} bytes, over the limit of {} bytes; send fewer or shorter headers (or raise the server's --max-header-bytes)",
                app.max_header_bytes
            ),
        )
        .answer(&app.unknown);
    }
    next.run(request).await
}

/// The client's `x-request-id` when it is a short printable ASCII string without spaces.
fn client_request_id(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get("x-request-id")?.to_str().ok()?;
    valid_request_id(value).then_some(value)
}

/// Whether a client's request id is kept: short printable ASCII without spaces.
fn valid_request_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_REQUEST_ID && id.bytes().all(|b| b.is_ascii_graphic())
}

/// The routing key: the body's `key`, else the `x-routing-key` header.
fn routing_key<'a>(body_key: Option<&'a str>, headers: &'a HeaderMap) -> Result<Option<&'a str>, ApiError> {
    let key = match body_key {
        Some(key) => Some(key),
        None => match headers.get("x-routing-key") {
            None => None,
            Some(value) => Some(value.to_str().map_err(|_| {
                ApiError::bad(ErrorCode::BadRequest, "the x-routing-key header is not visible ASCII text; send the key as text (or as `key` in the body)")
            })?),
        },
    };
    match key {
        Some(key) if key.len() > MAX_ROUTING_KEY => Err(ApiError::bad(
            ErrorCode::BadRequest,
            format!(
                "the routing key is {} bytes long; send at most {MAX_ROUTING_KEY} (a user or session id)",
                key.len()
            ),
        )),
        key => Ok(key),
    }
}

/// Reads the body, up to `limit` bytes, within `timeout` (from now). A larger body is still read
/// to its end when it is at most [`DRAIN_FACTOR`] times the limit, so the client gets its 413
/// instead of a reset connection; a body still incomplete after `timeout` gets a 408.
async fn read_body(
    body: Body,
    headers: &HeaderMap,
    limit: usize,
    timeout: Option<Duration>,
) -> Result<Vec<u8>, ApiError> {
    use http_body_util::BodyExt;
    let deadline = timeout.map(|timeout| (tokio::time::Instant::now() + timeout, timeout));
    let too_slow = |timeout: Duration| {
        ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            ErrorCode::RequestTimeout,
            format!(
                "the body did not arrive within {} s; send the whole body at once (or raise the server's --body-timeout-secs)",
                timeout.as_secs_f64()
            ),
        )
    };
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::BodyTooLarge,
            format!(
                "the body is larger than the limit of {limit} bytes; send fewer instances per request (or raise the server's --max-body-bytes)"
            ),
        )
    };
    let drain_limit = limit.saturating_mul(DRAIN_FACTOR);
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > drain_limit as u64) {
        return Err(too_large());
    }
    let mut body = body;
    let mut bytes = Vec::with_capacity(declared.map_or(0, |n| n as usize).min(limit));
    let mut seen = 0usize;
    loop {
        let frame = match deadline {
            Some((deadline, timeout)) => {
                tokio::time::timeout_at(deadline, body.frame()).await.map_err(|_| too_slow(timeout))?
            }
            None => body.frame().await,
        };
        let Some(frame) = frame else { break };
        let frame =
            frame.map_err(|e| ApiError::bad(ErrorCode::BadRequest, format!("cannot read the body: {e}")))?;
        let Ok(data) = frame.into_data() else { continue };
        seen = seen.saturating_add(data.len());
        if seen <= limit {
            bytes.extend_from_slice(&data);
        } else if seen > drain_limit {
            break;
        }
    }
    if seen > limit {
        return Err(too_large());
    }
    Ok(bytes)
}

/// KServe V1's verbs.
#[derive(Clone, Copy)]
enum Verb {
    Predict,
    Explain,
    Feedback,
}

/// `NAME:predict` → `NAME`, and which verb.
fn predict_target(target: &str) -> Result<(&str, Verb), ApiError> {
    match target.rsplit_once(':') {
        Some((name, "predict")) => Ok((name, Verb::Predict)),
        Some((name, "explain")) => Ok((name, Verb::Explain)),
        Some((name, "feedback")) => Ok((name, Verb::Feedback)),
        Some((_, verb)) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            format!(
                "unknown verb `:{}`; POST to /v1/models/NAME:predict to score, /v1/models/NAME:explain for feature contributions, /v1/models/NAME:feedback for delayed labels",
                esc(verb)
            ),
        )),
        None => Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::MethodNotAllowed,
            format!(
                "POST to /v1/models/{target}:predict to score, GET /v1/models/{target} for metadata",
                target = esc(target)
            ),
        )),
    }
}

impl App {
    pub(crate) fn served(&self, name: &str) -> Result<&Arc<Served>, ApiError> {
        self.models.get(name).ok_or_else(|| {
            let mut names: Vec<&str> = self.models.keys().map(String::as_str).collect();
            names.sort_unstable();
            ApiError::new(
                StatusCode::NOT_FOUND,
                ErrorCode::UnknownModel,
                format!("no model `{}` is served here; served: {}", esc(name), names.join(", ")),
            )
        })
    }
}

async fn predict(
    State(app): State<Arc<App>>,
    target: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let served = target
        .map_err(|e| {
            ApiError::bad(
                ErrorCode::BadRequest,
                format!("{}; POST to /v1/models/NAME:predict", esc(&e.body_text())),
            )
        })
        .and_then(|Path(target)| {
            let (name, verb) = predict_target(&target)?;
            Ok((app.served(name)?.clone(), verb))
        });
    match served {
        Ok((served, Verb::Predict)) => {
            scoring(app, Ok(served), headers, body, Failures::Logged, predict_served).await
        }
        Ok((served, Verb::Explain)) => {
            scoring(app, Ok(served), headers, body, Failures::Counted, explain_served).await
        }
        Ok((served, Verb::Feedback)) => {
            scoring(app, Ok(served), headers, body, Failures::Counted, super::feedback::feedback_served).await
        }
        Err(e) => scoring(app, Err(e), headers, body, Failures::Counted, predict_served).await,
    }
}

/// When a request arrived: for the latency histogram and for the prediction log.
#[derive(Clone, Copy)]
pub(crate) struct Arrival {
    pub(crate) at: Instant,
    pub(crate) time_ms: i64,
}

/// Reads the body of a scoring request and hands it to `protocol` (which parses it, calls
/// [`score_request`] and writes the answer), both protocols alike: the
/// in-flight gauge, the body limits and timeout, refusals counted against the served model, and
/// large bodies scored off the async scheduler.
pub(crate) async fn scoring(
    app: Arc<App>,
    served: Result<Arc<Served>, ApiError>,
    headers: HeaderMap,
    body: Body,
    failures: Failures,
    protocol: impl Fn(&App, &Arc<Served>, &HeaderMap, &[u8], Arrival) -> Result<Response, ApiError> + Send,
) -> Response {
    let arrival = Arrival { at: Instant::now(), time_ms: now_ms() };
    let _in_flight = app.metrics.in_flight();
    // The body is read even for requests about to be refused, so the connection stays usable.
    let bytes = read_body(body, &headers, app.max_body_bytes, app.body_read_timeout).await;
    let served = match served {
        Ok(served) => served,
        Err(e) => return e.answer(&app.unknown),
    };
    let answer = |bytes: Vec<u8>| {
        // Large requests score on this thread outside the scheduler, so small ones (and health
        // checks) keep being answered meanwhile.
        if bytes.len() > BLOCKING_BODY_BYTES {
            tokio::task::block_in_place(|| protocol(&app, &served, &headers, &bytes, arrival))
        } else {
            protocol(&app, &served, &headers, &bytes, arrival)
        }
    };
    match bytes.and_then(answer) {
        Ok(response) => response,
        Err(e) => {
            if matches!(failures, Failures::Logged) {
                log_failure(&app, &served, &headers, &e, arrival);
            }
            e.answer(&served.metrics)
        }
    }
}

/// Whether a route's refused requests go to the model's prediction log (scoring routes), or
/// are only counted in `/metrics` (explanations and feedback, which are not predictions).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Failures {
    Logged,
    Counted,
}

/// Logs a refused scoring request against the champion serving now (the request may have failed
/// before it was routed). Best effort: the answer is the refusal either way.
fn log_failure(app: &App, served: &Served, headers: &HeaderMap, error: &ApiError, arrival: Arrival) {
    let Some(log) = &served.log else { return };
    let request_id = match client_request_id(headers) {
        Some(id) => id.to_owned(),
        None => app.request_ids.next(),
    };
    let failure = RequestFailure {
        request_id,
        time_ms: arrival.time_ms,
        model: served.name.to_string(),
        version: served.deployment().champion.version,
        status: error.status.as_u16(),
        code: error.code.as_str().to_owned(),
        latency_us: u64::try_from(arrival.at.elapsed().as_micros()).unwrap_or(u64::MAX),
    };
    if let Err(error) = log.append(std::slice::from_ref(&failure)) {
        tracing::warn!(target: "mlflow", model = %served.name, %error, "a refused request was not logged");
    }
}

/// A scoring request, whichever protocol carried it.
pub(crate) struct ScoreRequest {
    pub(crate) instances: Instances,
    /// The routing key the body carried (else the `x-routing-key` header is used).
    pub(crate) key: Option<String>,
    /// An id the body carried (V2's `id`), used when there is no `x-request-id` header.
    pub(crate) id: Option<String>,
    /// The version asked for by path (V2's `/versions/VERSION/infer`): it answers, whatever the
    /// traffic plan says, if it serves now as the champion or a challenger.
    pub(crate) version: Option<u32>,
    /// The raw rows a client computed its features from (V1's `raw_instances`), logged so that
    /// replaying the package's transformers on them finds training-serving skew.
    pub(crate) raw_beside: Option<mlflow_ml::data::Table>,
}

impl ScoreRequest {
    /// The raw rows to log: the instances themselves when they are raw, else those sent beside.
    fn raw_rows(&self) -> Option<&mlflow_ml::data::Table> {
        match &self.instances {
            Instances::Raw(table) => Some(table),
            _ => self.raw_beside.as_ref(),
        }
    }
}

/// A scored request: the version that answered, in which role, what it answered and the
/// request's id (as logged and sent back in `x-request-id`).
pub(crate) struct Answered {
    pub(crate) model: Arc<Loaded>,
    pub(crate) role: Role,
    pub(crate) scored: request::Scored,
    pub(crate) request_id: Arc<str>,
}

/// The one scoring path of both protocols: routes the request to the champion or a challenger
/// (by routing key or draw), lets the protocol `check` the chosen version can answer what was
/// asked, checks and scores the rows, logs every row, queues shadow scorings.
pub(crate) fn score_request(
    app: &App,
    served: &Arc<Served>,
    headers: &HeaderMap,
    request: ScoreRequest,
    arrival: Arrival,
    check: impl FnOnce(&Loaded) -> Result<(), ApiError>,
) -> Result<Answered, ApiError> {
    let deployment = served.deployment();
    let key = routing_key(request.key.as_deref(), headers)?;
    let draw = if key.is_none() && !deployment.challengers.is_empty() { rand::random::<f64>() } else { 0.0 };
    let (model, role) = match request.version {
        Some(version) => served_version(served, &deployment, version)?,
        None => match deployment.plan.route(key, draw) {
            Route::Champion => (&deployment.champion, Role::Champion),
            Route::Challenger(i) => (&deployment.challengers[i].model, Role::Challenger),
        },
    };
    check(model)?;
    let rows = request.instances.matrix(&model.scorer)?;
    let started = Instant::now();
    let scored = request::score(&model.scorer, &rows)?;
    let predictions = &scored.predictions;
    let latency = started.elapsed();
    let request_id: Arc<str> =
        match client_request_id(headers).or(request.id.as_deref().filter(|id| valid_request_id(id))) {
            Some(id) => Arc::from(id),
            None => Arc::from(app.request_ids.next()),
        };
    if let Some(log) = &served.log {
        let records =
            request::records(&request_id, arrival.time_ms, model, role, rows.values(), predictions, latency);
        let raw = request.raw_rows().map(|table| RawRowsRef {
            request_id: &request_id,
            time_ms: arrival.time_ms,
            model: &model.name,
            table,
        });
        let append = || {
            if let Some(raw) = raw {
                log.append(&[raw])?;
            }
            log.append(&records)
        };
        // Waiting for the disk must not hold up the other requests of this worker thread.
        let appended =
            if log.durability() == Durability::Sync { tokio::task::block_in_place(append) } else { append() };
        appended.map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Internal,
                format!("the prediction was not logged, so it is not returned: {e}"),
            )
        })?;
    }
    let mut shadows = deployment.plan.shadows().peekable();
    if shadows.peek().is_some() {
        let instances = Arc::new(request.instances);
        for i in shadows.filter(|&i| !Arc::ptr_eq(&deployment.challengers[i].model, model)) {
            let job = ShadowJob {
                served: Arc::clone(served),
                challenger: Arc::clone(&deployment.challengers[i].model),
                request_id: Arc::clone(&request_id),
                time_ms: arrival.time_ms,
                instances: Arc::clone(&instances),
                arrived: arrival.at,
            };
            if !app.shadows.push(job) {
                served.metrics.shadow_dropped();
            }
        }
    }
    Ok(Answered { model: Arc::clone(model), role, scored, request_id })
}

/// The version `version` of a served model if it serves now, as the champion or a challenger;
/// else a 404 naming the versions it serves.
pub(crate) fn served_version<'d>(
    served: &Served,
    deployment: &'d Deployment,
    version: u32,
) -> Result<(&'d Arc<Loaded>, Role), ApiError> {
    if deployment.champion.version == version {
        return Ok((&deployment.champion, Role::Champion));
    }
    if let Some(c) = deployment.challengers.iter().find(|c| c.model.version == version) {
        return Ok((&c.model, Role::Challenger));
    }
    let mut versions: Vec<String> = std::iter::once(deployment.champion.version)
        .chain(deployment.challengers.iter().map(|c| c.model.version))
        .map(|v| v.to_string())
        .collect();
    versions.dedup();
    Err(ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::UnknownModel,
        format!(
            "model `{}` does not serve version {version} now; it serves {} (leave out /versions/VERSION to be routed)",
            esc(&served.name),
            versions.join(", ")
        ),
    ))
}

/// The answer to a scored request, both protocols alike: counts it, and adds `x-request-id`,
/// `x-model-version` and `x-model-role`.
pub(crate) fn respond(answered: &Answered, body: String, arrival: Arrival) -> Response {
    let Answered { model, role, scored, request_id } = answered;
    model.metrics.scored(*role, scored.predictions.len(), arrival.at.elapsed());
    let mut response = (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        ("x-request-id", &**request_id),
        ("x-model-version", &model.reference),
        ("x-model-role", role.as_str()),
    ] {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    }
    response
}

/// KServe V1 `:predict`.
fn predict_served(
    app: &App,
    served: &Arc<Served>,
    headers: &HeaderMap,
    bytes: &[u8],
    arrival: Arrival,
) -> Result<Response, ApiError> {
    let request = PredictRequest::parse(bytes, served.deployment().champion.scorer.names())?;
    let probabilities = request.probabilities;
    let scoring = ScoreRequest {
        instances: request.instances,
        key: request.key,
        id: None,
        version: None,
        raw_beside: request.raw_beside,
    };
    let answered = score_request(app, served, headers, scoring, arrival, |model| {
        if probabilities && model.scorer.package().task() == Task::Regression {
            return Err(ApiError::bad(
                ErrorCode::BadRequest,
                format!(
                    "model `{}` is a regressor: it answers values, not probabilities; leave out `\"probabilities\"`",
                    esc(model.scorer.package().name())
                ),
            ));
        }
        Ok(())
    })?;
    let body = answer_body(answered.model.scorer.package(), &answered.scored, probabilities);
    Ok(respond(&answered, body, arrival))
}

/// KServe V1 `:explain`: the champion's predictions for the instances with each feature's
/// contribution ([`Scorer::explain`](crate::Scorer::explain)). Not routed to challengers, not
/// logged as predictions.
fn explain_served(
    _app: &App,
    served: &Arc<Served>,
    _headers: &HeaderMap,
    bytes: &[u8],
    _arrival: Arrival,
) -> Result<Response, ApiError> {
    let deployment = served.deployment();
    let scorer = &deployment.champion.scorer;
    let request = PredictRequest::parse(bytes, scorer.names())?;
    let rows = request.instances.matrix(scorer)?;
    let matrix = ndarray::ArrayView2::from_shape((rows.len(), rows.columns()), rows.values())
        .map_err(|e| ApiError::bad(ErrorCode::BadRequest, format!("the instances do not form rows: {e}")))?;
    let explained =
        scorer.explain(matrix).map_err(|e| ApiError::bad(ErrorCode::BadRequest, esc(&e.to_string())))?;
    let package = scorer.package();
    let explanations: Vec<Value> = (0..explained.outputs.len())
        .map(|i| {
            let prediction: Value = match (explained.classes[i], package.classes()) {
                (Some(k), Some(classes)) => match &classes.labels()[k] {
                    mlflow_ml::features::ClassLabel::Int(v) => (*v).into(),
                    mlflow_ml::features::ClassLabel::Text(t) => t.clone().into(),
                },
                (Some(k), None) => k.into(),
                (None, _) => explained.outputs[i].into(),
            };
            let contributions: serde_json::Map<String, Value> = explained
                .names
                .iter()
                .enumerate()
                .map(|(j, name)| (name.clone(), explained.contributions[[i, j]].into()))
                .collect();
            serde_json::json!({ "prediction": prediction, "output": explained.outputs[i], "contributions": contributions })
        })
        .collect();
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({ "explanations": explanations, "method": "occlusion against the package's reference rows" }),
    ))
}

pub(crate) fn json(status: StatusCode, value: &Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], value.to_string()).into_response()
}

fn metadata(served: &Served, ready: bool) -> Value {
    let d = served.deployment();
    let package = d.champion.scorer.package();
    let challengers: Vec<Value> = d
        .challengers
        .iter()
        .map(|c| {
            serde_json::json!({
                "reference": c.reference,
                "version": c.model.version,
                "mode": c.mode.kind(),
                "fraction": c.mode.fraction(),
            })
        })
        .collect();
    serde_json::json!({
        "name": served.name,
        "ready": ready,
        "reference": served.spec.reference,
        "version": d.champion.version,
        "package": package.name(),
        "library_version": package.library_version(),
        "format_version": package.format_version(),
        "signature": package.signature(),
        "lineage": package.lineage(),
        "challengers": challengers,
    })
}

async fn model_metadata(
    State(app): State<Arc<App>>,
    target: Result<Path<String>, PathRejection>,
) -> Response {
    let Ok(Path(target)) = target else {
        return ApiError::bad(ErrorCode::BadRequest, "the model name in the path is not valid UTF-8")
            .answer(&app.unknown);
    };
    if target.contains(':') {
        return ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::MethodNotAllowed,
            format!("GET /v1/models/{} is not a route; POST to it to score", esc(&target)),
        )
        .answer(&app.unknown);
    }
    match app.served(&target) {
        Ok(served) => {
            json(StatusCode::OK, &metadata(served, app.ready.load(std::sync::atomic::Ordering::SeqCst)))
        }
        Err(e) => e.answer(&app.unknown),
    }
}

async fn list_models(State(app): State<Arc<App>>) -> Response {
    let ready = app.ready.load(std::sync::atomic::Ordering::SeqCst);
    let mut models: Vec<Value> = app.models.values().map(|s| metadata(s, ready)).collect();
    models.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    json(StatusCode::OK, &serde_json::json!({ "models": models }))
}

async fn live() -> Response {
    json(StatusCode::OK, &serde_json::json!({ "live": true }))
}

/// `GET /`: liveness as KServe's Python model server answers it (its `DataPlane.live`), which
/// KServe's V1 REST client (`InferenceRESTClient.is_server_live`) asks for.
async fn alive() -> Response {
    json(StatusCode::OK, &serde_json::json!({ "status": "alive" }))
}

async fn ready(State(app): State<Arc<App>>) -> Response {
    let ready = app.ready.load(std::sync::atomic::Ordering::SeqCst);
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    json(status, &serde_json::json!({ "ready": ready }))
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    let mut text = app.metrics.render();
    // Reading the log is blocking work: off the runtime's threads.
    let gauges = Arc::clone(&app);
    if let Ok(drift) = tokio::task::spawn_blocking(move || gauges.drift.render(&gauges.models)).await {
        text.push_str(&drift);
    }
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

/// Reads and drops the body (so the connection stays usable), then refuses the request.
async fn refuse(app: &App, headers: &HeaderMap, body: Body, error: ApiError) -> Response {
    if let Err(e) = read_body(body, headers, app.max_body_bytes, app.body_read_timeout).await
        && e.status == StatusCode::REQUEST_TIMEOUT
    {
        return e.answer(&app.unknown);
    }
    error.answer(&app.unknown)
}

async fn not_found(
    State(app): State<Arc<App>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let error = ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        format!(
            "no route {}; the routes are POST /v1/models/NAME:predict, POST /v1/models/NAME:explain, POST /v1/models/NAME:feedback, GET /v1/models[/NAME], POST /v2/models/NAME[/versions/VERSION]/infer, GET /v2, /v2/models/NAME[/versions/VERSION][/ready], /, /v2/health/live, /v2/health/ready, /metrics",
            esc(uri.path())
        ),
    );
    refuse(&app, &headers, body, error).await
}

async fn method_not_allowed(
    State(app): State<Arc<App>>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let error = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::MethodNotAllowed,
        format!(
            "{} is not allowed on {}; POST to /v1/models/NAME:predict or /v2/models/NAME/infer, GET everything else",
            esc(method.as_str()),
            esc(uri.path())
        ),
    );
    refuse(&app, &headers, body, error).await
}

/// The KServe V1 answer: `predictions` holds each row's class label as the label column held it
/// (numbers stay numbers, text stays text) or its value (regressor); with `probabilities`, a
/// binary model adds P(class 1) per row (as before multiclass models) and a multiclass model an
/// object per row mapping each class to its probability.
fn answer_body(package: &ModelPackage, scored: &request::Scored, probabilities: bool) -> String {
    let predictions = &scored.predictions;
    let mut body = String::with_capacity(32 + predictions.len() * 24);
    body.push_str("{\"predictions\":[");
    for (i, p) in predictions.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        match package.classes() {
            Some(classes) => push_label(&mut body, classes, p.label),
            None => push_number(&mut body, p.probability),
        }
    }
    body.push(']');
    if probabilities {
        body.push_str(",\"probabilities\":[");
        match (&scored.outputs, package.classes()) {
            (Some(Outputs::Probabilities(p)), Some(classes)) if p.ncols() > 2 => {
                for (i, row) in p.rows().into_iter().enumerate() {
                    body.push_str(if i == 0 { "{" } else { ",{" });
                    for (c, value) in row.iter().enumerate() {
                        if c > 0 {
                            body.push(',');
                        }
                        let name = classes.label(c).map_or_else(|| c.to_string(), ToString::to_string);
                        body.push_str(&Value::String(name).to_string());
                        body.push(':');
                        push_number(&mut body, *value);
                    }
                    body.push('}');
                }
            }
            _ => {
                for (i, p) in predictions.iter().enumerate() {
                    let _ = write!(body, "{}{}", if i == 0 { "" } else { "," }, p.probability);
                }
            }
        }
        body.push(']');
    }
    body.push('}');
    body
}

fn push_label(body: &mut String, classes: &ClassLabels, index: u32) {
    match classes.label(index as usize) {
        Some(ClassLabel::Int(v)) => {
            let _ = write!(body, "{v}");
        }
        Some(ClassLabel::Text(text)) => body.push_str(&Value::String(text.clone()).to_string()),
        None => {
            let _ = write!(body, "{index}");
        }
    }
}

fn push_number(body: &mut String, value: f64) {
    let _ = write!(body, "{value}");
}
