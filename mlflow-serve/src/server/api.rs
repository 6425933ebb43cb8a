//! Routes, request parsing and answers of the scoring service.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use ndarray::ArrayView2;
use serde_json::Value;

use super::metrics::{ErrorCode, ModelMetrics};
use super::shadow::ShadowJob;
use super::{now_ms, App, Loaded, Served};
use crate::{Durability, Prediction, PredictionRecordRef, Role, Route, Scorer, ServeError};

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
    Router::new()
        .route("/v1/models", get(list_models))
        .route("/v1/models/{target}", get(model_metadata).post(predict))
        .route("/v2/health/live", get(live))
        .route("/healthz", get(live))
        .route("/v2/health/ready", get(ready))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(app)
}

/// A refused request: its status, its error code and a message naming the problem and the fix.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: ErrorCode,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into() }
    }

    fn bad(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// Counts the error against `metrics` and turns it into the JSON answer.
    fn answer(self, metrics: &ModelMetrics) -> Response {
        metrics.error(self.code);
        let body = serde_json::json!({ "error": self.message, "code": self.code.as_str() }).to_string();
        (self.status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
    }
}

impl From<ServeError> for ApiError {
    fn from(e: ServeError) -> ApiError {
        let code = match &e {
            ServeError::FeatureCount { .. } => ErrorCode::FeatureCount,
            ServeError::UnknownFeature { .. } => ErrorCode::UnknownFeature,
            ServeError::MissingFeature { .. } => ErrorCode::MissingFeature,
            ServeError::NonFinite { .. } => ErrorCode::NonFinite,
            ServeError::OutOfRange { .. } => ErrorCode::OutOfRange,
            _ => return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal, e.to_string()),
        };
        ApiError::bad(code, e.to_string())
    }
}

/// One instance of a request, as sent.
#[derive(Debug)]
pub(crate) enum Instance {
    /// Values in the model's feature order.
    Values(Vec<f64>),
    /// Values by feature name.
    Named(BTreeMap<String, f64>),
}

/// The instances of a request.
#[derive(Debug)]
pub(crate) struct Instances(Vec<Instance>);

/// Model inputs in one model's feature order, row after row.
pub(crate) struct Rows {
    values: Vec<f64>,
    columns: usize,
}

impl Rows {
    pub(crate) fn new(values: Vec<f64>, columns: usize) -> Rows {
        Rows { values, columns }
    }

    pub(crate) fn len(&self) -> usize {
        self.values.len().checked_div(self.columns).unwrap_or(0)
    }

    pub(crate) fn columns(&self) -> usize {
        self.columns
    }

    pub(crate) fn values(&self) -> &[f64] {
        &self.values
    }
}

impl Instances {
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// The instances in `scorer`'s feature order, checked against its signature.
    pub(crate) fn matrix(&self, scorer: &Scorer) -> Result<Rows, ApiError> {
        let columns = scorer.names().len();
        let mut values = Vec::with_capacity(self.0.len() * columns);
        self.append_to(scorer, &mut values)?;
        Ok(Rows { values, columns })
    }

    /// Appends the instances to `values` in `scorer`'s feature order, checked against its
    /// signature; on an error `values` is left as it was.
    pub(crate) fn append_to(&self, scorer: &Scorer, values: &mut Vec<f64>) -> Result<(), ApiError> {
        let start = values.len();
        let appended = self.0.iter().enumerate().try_for_each(|(i, instance)| {
            match instance {
                Instance::Values(row) => {
                    scorer.check_row(i, row)?;
                    values.extend_from_slice(row);
                }
                Instance::Named(named) => values.extend(scorer.ordered(i, named)?),
            }
            Ok(())
        });
        if appended.is_err() {
            values.truncate(start);
        }
        appended
    }
}

/// A parsed `:predict` request.
struct PredictRequest {
    instances: Instances,
    probabilities: bool,
    key: Option<String>,
}

const SHAPE: &str =
    r#"send {"instances": [[v1, v2, ...], ...]} or {"instances": [{"feature": value, ...}, ...]}"#;

impl PredictRequest {
    fn parse(body: &[u8], names: &[String]) -> Result<PredictRequest, ApiError> {
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            if e.to_string().starts_with("number out of range") {
                ApiError::bad(
                    ErrorCode::NonFinite,
                    format!("a value is too large to be a finite number ({e}); send finite numbers"),
                )
            } else {
                ApiError::bad(ErrorCode::MalformedJson, format!("the body is not valid JSON: {e}; {SHAPE}"))
            }
        })?;
        let Value::Object(mut fields) = value else {
            return Err(ApiError::bad(
                ErrorCode::BadRequest,
                format!("the body is JSON but not an object; {SHAPE}"),
            ));
        };
        let probabilities = match fields.get("probabilities") {
            None | Some(Value::Bool(false)) => false,
            Some(Value::Bool(true)) => true,
            Some(other) => {
                return Err(ApiError::bad(
                    ErrorCode::BadRequest,
                    format!("`probabilities` is {other}; send true or false"),
                ))
            }
        };
        let key = match fields.get("key") {
            None | Some(Value::Null) => None,
            Some(Value::String(key)) => Some(key.clone()),
            Some(other) => {
                return Err(ApiError::bad(
                    ErrorCode::BadRequest,
                    format!("`key` is {other}; send the routing key as a string"),
                ))
            }
        };
        let instances = match fields.remove("instances") {
            Some(Value::Array(instances)) => instances,
            Some(other) => {
                return Err(ApiError::bad(
                    ErrorCode::BadRequest,
                    format!("`instances` is {}, not a list; {SHAPE}", kind(&other)),
                ))
            }
            None => {
                return Err(ApiError::bad(
                    ErrorCode::BadRequest,
                    format!("the body has no `instances`; {SHAPE}"),
                ));
            }
        };
        if instances.is_empty() {
            return Err(ApiError::bad(ErrorCode::EmptyInstances, format!("`instances` is empty; {SHAPE}")));
        }
        let instances = instances
            .into_iter()
            .enumerate()
            .map(|(i, instance)| parse_instance(i, instance, names))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PredictRequest { instances: Instances(instances), probabilities, key })
    }
}

/// Parses a `:predict` body as the server does and checks its instances against `scorer`'s
/// signature: the model inputs row after row with their number of columns, or the refusal's
/// error code and message.
///
/// Not public API: an entry point for the fuzz targets (`fuzz/` in the repository), which may
/// change or go away at any time.
#[doc(hidden)]
pub fn parse_predict_body(body: &[u8], scorer: &Scorer) -> Result<(Vec<f64>, usize), (&'static str, String)> {
    let refused = |e: ApiError| (e.code.as_str(), e.message);
    let request = PredictRequest::parse(body, scorer.names()).map_err(refused)?;
    let rows = request.instances.matrix(scorer).map_err(refused)?;
    Ok((rows.values, rows.columns))
}

fn parse_instance(i: usize, instance: Value, names: &[String]) -> Result<Instance, ApiError> {
    // `feature` names the value in messages; it is only called on an error.
    let number = |value: &Value, feature: &dyn Fn() -> String| -> Result<f64, ApiError> {
        match value.as_f64() {
            Some(v) if v.is_finite() => Ok(v),
            Some(v) => Err(ApiError::bad(
                ErrorCode::NonFinite,
                format!("instance {i}, feature {} is {v}; send finite numbers", feature()),
            )),
            None => Err(ApiError::bad(
                ErrorCode::NonNumeric,
                format!(
                    "instance {i}, feature {} is {} {value}, not a number; send numbers (encode categories as the model's codes)",
                    feature(),
                    kind(value)
                ),
            )),
        }
    };
    match instance {
        Value::Array(values) => values
            .iter()
            .enumerate()
            .map(|(j, v)| {
                number(v, &|| match names.get(j) {
                    Some(name) => format!("`{name}` (column {j})"),
                    None => format!("at column {j}"),
                })
            })
            .collect::<Result<Vec<f64>, _>>()
            .map(Instance::Values),
        Value::Object(fields) => fields
            .into_iter()
            .map(|(name, v)| {
                let value = number(&v, &|| format!("`{name}`"))?;
                Ok((name, value))
            })
            .collect::<Result<BTreeMap<String, f64>, _>>()
            .map(Instance::Named),
        other => Err(ApiError::bad(
            ErrorCode::BadRequest,
            format!(
                "instance {i} is {}, not a list of values or an object of feature values; {SHAPE}",
                kind(&other)
            ),
        )),
    }
}

/// How a JSON value is described in messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Scores checked rows with one scorer.
pub(crate) fn score(scorer: &Scorer, rows: &Rows) -> Result<Vec<Prediction>, ServeError> {
    if rows.len() == 1 {
        return Ok(vec![scorer.score_row(&rows.values)?]);
    }
    let view = ArrayView2::from_shape((rows.len(), rows.columns), &rows.values)
        .map_err(|e| ServeError::Build(format!("cannot view the rows as a matrix: {e}")))?;
    scorer.score_batch(view)
}

/// One log record per row; `inputs` holds the rows one after the other, each the model's
/// feature count long.
pub(crate) fn records<'a>(
    request_id: &'a str,
    time_ms: i64,
    model: &'a Loaded,
    role: Role,
    inputs: &'a [f64],
    predictions: &[Prediction],
    latency: Duration,
) -> Vec<PredictionRecordRef<'a>> {
    let latency_us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
    let columns = model.scorer.names().len().max(1);
    predictions
        .iter()
        .zip(inputs.chunks_exact(columns))
        .enumerate()
        .map(|(i, (p, row))| PredictionRecordRef {
            request_id,
            row: i as u32,
            time_ms,
            model: &model.name,
            version: model.version,
            role,
            inputs: row,
            label: p.label,
            probability: p.probability,
            latency_us,
        })
        .collect()
}

/// The client's `x-request-id` when it is a short printable ASCII string without spaces.
fn client_request_id(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get("x-request-id")?.to_str().ok()?;
    (!value.is_empty() && value.len() <= MAX_REQUEST_ID && value.bytes().all(|b| b.is_ascii_graphic()))
        .then_some(value)
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

/// Reads the body, up to `limit` bytes. A larger body is still read to its end when it is at most
/// [`DRAIN_FACTOR`] times the limit, so the client gets its 413 instead of a reset connection.
async fn read_body(body: Body, headers: &HeaderMap, limit: usize) -> Result<Vec<u8>, ApiError> {
    use http_body_util::BodyExt;
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::BodyTooLarge,
            format!("the body is larger than the limit of {limit} bytes; send fewer instances per request (or raise the server's --max-body-bytes)"),
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
    while let Some(frame) = body.frame().await {
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

/// `NAME:predict` → `NAME`.
fn predict_target(target: &str) -> Result<&str, ApiError> {
    match target.rsplit_once(':') {
        Some((name, "predict")) => Ok(name),
        Some((_, verb)) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            format!("unknown verb `:{verb}`; POST to /v1/models/NAME:predict"),
        )),
        None => Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::MethodNotAllowed,
            format!("POST to /v1/models/{target}:predict to score, GET /v1/models/{target} for metadata"),
        )),
    }
}

impl App {
    fn served(&self, name: &str) -> Result<&Arc<Served>, ApiError> {
        self.models.get(name).ok_or_else(|| {
            let mut names: Vec<&str> = self.models.keys().map(String::as_str).collect();
            names.sort_unstable();
            ApiError::new(
                StatusCode::NOT_FOUND,
                ErrorCode::UnknownModel,
                format!("no model `{name}` is served here; served: {}", names.join(", ")),
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
    let arrived = Instant::now();
    let time_ms = now_ms();
    let _in_flight = app.metrics.in_flight();
    // The body is read even for requests about to be refused, so the connection stays usable.
    let bytes = read_body(body, &headers, app.max_body_bytes).await;
    let served = match target
        .map_err(|e| {
            ApiError::bad(
                ErrorCode::BadRequest,
                format!("{}; POST to /v1/models/NAME:predict", e.body_text()),
            )
        })
        .and_then(|Path(target)| app.served(predict_target(&target)?).cloned())
    {
        Ok(served) => served,
        Err(e) => return e.answer(&app.unknown),
    };
    let answer = |bytes: Vec<u8>| {
        // Large requests score on this thread outside the scheduler, so small ones (and health
        // checks) keep being answered meanwhile.
        if bytes.len() > BLOCKING_BODY_BYTES {
            tokio::task::block_in_place(|| predict_served(&app, &served, &headers, &bytes, arrived, time_ms))
        } else {
            predict_served(&app, &served, &headers, &bytes, arrived, time_ms)
        }
    };
    match bytes.and_then(answer) {
        Ok(response) => response,
        Err(e) => e.answer(&served.metrics),
    }
}

fn predict_served(
    app: &App,
    served: &Arc<Served>,
    headers: &HeaderMap,
    bytes: &[u8],
    arrived: Instant,
    time_ms: i64,
) -> Result<Response, ApiError> {
    let deployment = served.deployment();
    let names = deployment.champion.scorer.names();
    let request = PredictRequest::parse(bytes, names)?;
    let key = routing_key(request.key.as_deref(), headers)?;
    let draw = if key.is_none() && !deployment.challengers.is_empty() { rand::random::<f64>() } else { 0.0 };
    let (model, role) = match deployment.plan.route(key, draw) {
        Route::Champion => (&deployment.champion, Role::Champion),
        Route::Challenger(i) => (&deployment.challengers[i].model, Role::Challenger),
    };
    let rows = request.instances.matrix(&model.scorer)?;
    let started = Instant::now();
    let predictions = score(&model.scorer, &rows)?;
    let latency = started.elapsed();
    let request_id: Arc<str> = match client_request_id(headers) {
        Some(id) => Arc::from(id),
        None => Arc::from(app.request_ids.next()),
    };
    if let Some(log) = &served.log {
        let records = records(&request_id, time_ms, model, role, rows.values(), &predictions, latency);
        let append = || log.append(&records);
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
        for i in shadows {
            let job = ShadowJob {
                served: Arc::clone(served),
                challenger: Arc::clone(&deployment.challengers[i].model),
                request_id: Arc::clone(&request_id),
                time_ms,
                instances: Arc::clone(&instances),
                arrived,
            };
            if !app.shadows.push(job) {
                served.metrics.shadow_dropped();
            }
        }
    }
    let mut body = String::with_capacity(32 + predictions.len() * 24);
    body.push_str("{\"predictions\":[");
    for (i, p) in predictions.iter().enumerate() {
        let _ = write!(body, "{}{}", if i == 0 { "" } else { "," }, p.label);
    }
    body.push(']');
    if request.probabilities {
        body.push_str(",\"probabilities\":[");
        for (i, p) in predictions.iter().enumerate() {
            let _ = write!(body, "{}{}", if i == 0 { "" } else { "," }, p.probability);
        }
        body.push(']');
    }
    body.push('}');
    model.metrics.scored(role, predictions.len(), arrived.elapsed());
    let mut response = (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        ("x-request-id", &*request_id),
        ("x-model-version", &model.reference),
        ("x-model-role", role.as_str()),
    ] {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    }
    Ok(response)
}

fn json(status: StatusCode, value: &Value) -> Response {
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
            format!("GET /v1/models/{target} is not a route; POST to it to score"),
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

async fn ready(State(app): State<Arc<App>>) -> Response {
    let ready = app.ready.load(std::sync::atomic::Ordering::SeqCst);
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    json(status, &serde_json::json!({ "ready": ready }))
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4")], app.metrics.render())
        .into_response()
}

/// Reads and drops the body (so the connection stays usable), then refuses the request.
async fn refuse(app: &App, headers: &HeaderMap, body: Body, error: ApiError) -> Response {
    let _ = read_body(body, headers, app.max_body_bytes).await;
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
        format!("no route {}; the routes are POST /v1/models/NAME:predict, GET /v1/models[/NAME], /v2/health/live, /v2/health/ready, /metrics", uri.path()),
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
            "{method} is not allowed on {}; POST to /v1/models/NAME:predict, GET everything else",
            uri.path()
        ),
    );
    refuse(&app, &headers, body, error).await
}
