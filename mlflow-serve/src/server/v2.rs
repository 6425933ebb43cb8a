//! The Open Inference Protocol (KServe V2 REST, as Triton and MLServer speak it): server and
//! model metadata, model readiness and `infer`, scored through the same path as KServe V1
//! ([`score_request`]: routing, checks, the prediction log, shadows, metrics).
//!
//! Inputs are either one tensor per feature, named as the signature names it (shape `[N]` or
//! `[N, 1]`), or one matrix of shape `[N, features]` under any other name, columns in signature
//! order. Numeric datatypes (`FP64`, `FP32`, `FP16`, `INT*`, `UINT*`, `BOOL`) are taken; `data`
//! may be flat (row-major) or nested. The binary tensor extension is not supported.
//!
//! Outputs: a classifier answers `label` (`INT64` when the labels are integers, `BYTES` when
//! text: labels as given) and `probabilities` (`FP64`, `[N, classes]`, columns in class order);
//! a regressor answers `value` (`FP64`, `[N]`). Without an `outputs` list every output of the
//! model is returned, as the protocol says; an `outputs` list picks some.

use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value};

use super::api::{self, Arrival, ScoreRequest, json, score_request};
use super::error::ApiError;
use super::metrics::ErrorCode;
use super::request::{Instances, described, kind, parse_json, shown};
use super::{App, Loaded, Served};
use crate::ModelPackage;
use mlflow_core::text::escape_controls as esc;
use mlflow_ml::features::{ClassLabel, ClassLabels};
use mlflow_ml::models::{Outputs, Task};

/// What the server says it is at `GET /v2`.
const SERVER_NAME: &str = "mlflow-pipelines";

/// The `platform` of model metadata.
const PLATFORM: &str = "mlflow-pipelines";

/// Nested `data` deeper than this is refused (JSON parsing already stops at 128 levels).
const MAX_DEPTH: usize = 64;

const SHAPE: &str = r#"send {"inputs": [{"name": FEATURE, "shape": [N], "datatype": "FP64", "data": [...]}, ...]} with one input per feature, or one input of shape [N, FEATURES]"#;

/// `GET /v2`: server metadata.
pub(crate) async fn server_metadata() -> Response {
    json(
        StatusCode::OK,
        &serde_json::json!({
            "name": SERVER_NAME,
            "version": env!("CARGO_PKG_VERSION"),
            "extensions": [],
        }),
    )
}

fn served_by_path(app: &App, name: Result<Path<String>, PathRejection>) -> Result<Arc<Served>, ApiError> {
    let Ok(Path(name)) = name else {
        return Err(ApiError::bad(ErrorCode::BadRequest, "the model name in the path is not valid UTF-8"));
    };
    app.served(&name).cloned()
}

/// A served model and a version from a `/versions/VERSION` path.
fn served_version_by_path(
    app: &App,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<(Arc<Served>, u32), ApiError> {
    let Ok(Path((name, version))) = path else {
        return Err(ApiError::bad(
            ErrorCode::BadRequest,
            "the model name or version in the path is not valid UTF-8",
        ));
    };
    let served = app.served(&name)?;
    let version = version.parse::<u32>().map_err(|_| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::UnknownModel,
            format!(
                "`{}` is not a version number; model versions are numbers (GET /v2/models/{} lists the served one)",
                esc(&version),
                esc(&name)
            ),
        )
    })?;
    Ok((Arc::clone(served), version))
}

/// `GET /v2/models/NAME`: the champion's inputs and outputs.
pub(crate) async fn model_metadata(
    State(app): State<Arc<App>>,
    name: Result<Path<String>, PathRejection>,
) -> Response {
    match served_by_path(&app, name).and_then(|served| metadata(&served, None)) {
        Ok(value) => json(StatusCode::OK, &value),
        Err(e) => e.answer(&app.unknown),
    }
}

/// `GET /v2/models/NAME/versions/VERSION`: that version's inputs and outputs, while it serves
/// (as the champion or a challenger).
pub(crate) async fn version_metadata(
    State(app): State<Arc<App>>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    match served_version_by_path(&app, path).and_then(|(served, v)| metadata(&served, Some(v))) {
        Ok(value) => json(StatusCode::OK, &value),
        Err(e) => e.answer(&app.unknown),
    }
}

fn ready_answer(app: &App, served: &Served) -> Response {
    let ready = app.ready.load(Ordering::SeqCst);
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    json(status, &serde_json::json!({ "name": served.name, "ready": ready }))
}

/// `GET /v2/models/NAME/ready`: 200 while the model serves, 503 while shutting down.
pub(crate) async fn model_ready(
    State(app): State<Arc<App>>,
    name: Result<Path<String>, PathRejection>,
) -> Response {
    match served_by_path(&app, name) {
        Ok(served) => ready_answer(&app, &served),
        Err(e) => e.answer(&app.unknown),
    }
}

/// `GET /v2/models/NAME/versions/VERSION/ready`: as `/ready`, and 404 for a version not serving.
pub(crate) async fn version_ready(
    State(app): State<Arc<App>>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    let checked = served_version_by_path(&app, path)
        .and_then(|(served, v)| api::served_version(&served, &served.deployment(), v).map(|_| served));
    match checked {
        Ok(served) => ready_answer(&app, &served),
        Err(e) => e.answer(&app.unknown),
    }
}

/// `POST /v2/models/NAME/infer`.
pub(crate) async fn infer(
    State(app): State<Arc<App>>,
    name: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let served = served_by_path(&app, name);
    api::scoring(app, served, headers, body, api::Failures::Logged, |app, served, headers, bytes, arrival| {
        infer_served(app, served, headers, bytes, arrival, None)
    })
    .await
}

/// `POST /v2/models/NAME/versions/VERSION/infer`: that version answers, whatever the traffic
/// plan says, while it serves as the champion or a challenger.
pub(crate) async fn version_infer(
    State(app): State<Arc<App>>,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (served, version) = match served_version_by_path(&app, path) {
        Ok((served, version)) => (Ok(served), Some(version)),
        Err(e) => (Err(e), None),
    };
    api::scoring(
        app,
        served,
        headers,
        body,
        api::Failures::Logged,
        move |app, served, headers, bytes, arrival| {
            infer_served(app, served, headers, bytes, arrival, version)
        },
    )
    .await
}

/// The label datatype of a classifier: `INT64` when every label is an integer, else `BYTES`.
fn label_datatype(classes: Option<&ClassLabels>) -> &'static str {
    match classes {
        Some(classes) if !classes.labels().iter().all(|l| matches!(l, ClassLabel::Int(_))) => "BYTES",
        _ => "INT64",
    }
}

/// V2 metadata of the champion, or of `version` while it serves.
fn metadata(served: &Served, version: Option<u32>) -> Result<Value, ApiError> {
    let d = served.deployment();
    let model = match version {
        Some(version) => api::served_version(served, &d, version)?.0,
        None => &d.champion,
    };
    let package = model.scorer.package();
    let inputs: Vec<Value> = model
        .scorer
        .names()
        .iter()
        .map(|name| serde_json::json!({ "name": name, "datatype": "FP64", "shape": [-1] }))
        .collect();
    let mut value = serde_json::json!({
        "name": served.name,
        "versions": [model.version.to_string()],
        "platform": PLATFORM,
        "inputs": inputs,
        "outputs": output_metadata(package),
    });
    if let Some(classes) = package.classes() {
        // Not in the protocol's schema (clients ignore it): the column order of `probabilities`.
        value["classes"] = Value::Array(classes.labels().iter().map(label_value).collect());
    }
    Ok(value)
}

fn output_metadata(package: &ModelPackage) -> Value {
    match package.task() {
        Task::Regression => serde_json::json!([{ "name": "value", "datatype": "FP64", "shape": [-1] }]),
        Task::Classification { classes } => serde_json::json!([
            { "name": "label", "datatype": label_datatype(package.classes()), "shape": [-1] },
            { "name": "probabilities", "datatype": "FP64", "shape": [-1, classes] },
        ]),
    }
}

fn label_value(label: &ClassLabel) -> Value {
    match label {
        ClassLabel::Int(v) => Value::from(*v),
        ClassLabel::Text(text) => Value::String(text.clone()),
    }
}

/// An output a request may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Output {
    Label,
    Probabilities,
    Value,
}

impl Output {
    fn name(self) -> &'static str {
        match self {
            Output::Label => "label",
            Output::Probabilities => "probabilities",
            Output::Value => "value",
        }
    }

    fn of(task: Task) -> &'static [Output] {
        match task {
            Task::Regression => &[Output::Value],
            Task::Classification { .. } => &[Output::Label, Output::Probabilities],
        }
    }
}

/// A parsed `infer` request.
struct InferRequest {
    id: Option<String>,
    key: Option<String>,
    instances: Instances,
    /// The requested output names, in order; `None`: every output.
    outputs: Option<Vec<String>>,
}

/// The numeric datatypes of the protocol, and how their JSON elements are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Datatype {
    Float,
    Int { min: i64, max: i64 },
    UInt { max: u64 },
    Bool,
}

const DATATYPES: &str = "FP64, FP32, FP16, INT8, INT16, INT32, INT64, UINT8, UINT16, UINT32, UINT64, BOOL";

fn datatype(input: &str, name: &str) -> Result<Datatype, ApiError> {
    Ok(match name {
        "FP64" | "FP32" | "FP16" => Datatype::Float,
        "INT8" => Datatype::Int { min: i8::MIN.into(), max: i8::MAX.into() },
        "INT16" => Datatype::Int { min: i16::MIN.into(), max: i16::MAX.into() },
        "INT32" => Datatype::Int { min: i32::MIN.into(), max: i32::MAX.into() },
        "INT64" => Datatype::Int { min: i64::MIN, max: i64::MAX },
        "UINT8" => Datatype::UInt { max: u8::MAX.into() },
        "UINT16" => Datatype::UInt { max: u16::MAX.into() },
        "UINT32" => Datatype::UInt { max: u32::MAX.into() },
        "UINT64" => Datatype::UInt { max: u64::MAX },
        "BOOL" => Datatype::Bool,
        "BYTES" => {
            return Err(ApiError::bad(
                ErrorCode::WrongDatatype,
                format!(
                    "input `{}` is BYTES, but the model takes numbers for every feature; send FP64 (encode text categories as the model's codes)",
                    esc(input)
                ),
            ));
        }
        other => {
            return Err(ApiError::bad(
                ErrorCode::WrongDatatype,
                format!("input `{}` has datatype `{}`; use one of {DATATYPES}", esc(input), esc(other)),
            ));
        }
    })
}

/// One element of an input's `data` as a number, checked against its datatype.
fn element(input: &str, ty: Datatype, datatype: &str, at: usize, value: &Value) -> Result<f64, ApiError> {
    let wrong = |what: &str| {
        ApiError::bad(
            ErrorCode::WrongDatatype,
            format!(
                "input `{}` ({datatype}) element {at} is {}, {what}; send data of the declared datatype",
                esc(input),
                described(value)
            ),
        )
    };
    match (ty, value) {
        (Datatype::Bool, Value::Bool(b)) => Ok(f64::from(u8::from(*b))),
        (Datatype::Bool, _) => Err(wrong("not true or false")),
        (Datatype::Float, Value::Number(n)) => {
            n.as_f64().filter(|v| v.is_finite()).ok_or_else(|| wrong("not a finite number"))
        }
        (Datatype::Int { min, max }, Value::Number(n)) => match n.as_i64() {
            Some(v) if (min..=max).contains(&v) => Ok(v as f64),
            _ if n.is_u64() || n.is_i64() => Err(wrong("out of the datatype's range")),
            _ => Err(wrong("not an integer")),
        },
        (Datatype::UInt { max }, Value::Number(n)) => match n.as_u64() {
            Some(v) if v <= max => Ok(v as f64),
            Some(_) => Err(wrong("out of the datatype's range")),
            None => Err(wrong("not a non-negative integer")),
        },
        _ => Err(wrong("not a number")),
    }
}

/// Flattens `data` (flat or nested lists) into numbers, row-major, counting as it goes: the
/// shape a client claims is compared with what it sent, never used to allocate.
fn flatten(
    input: &str,
    ty: Datatype,
    datatype: &str,
    data: &Value,
    depth: usize,
    out: &mut Vec<f64>,
) -> Result<(), ApiError> {
    match data {
        Value::Array(items) => {
            if depth >= MAX_DEPTH {
                return Err(ApiError::bad(
                    ErrorCode::ShapeMismatch,
                    format!(
                        "input `{}` nests `data` more than {MAX_DEPTH} levels deep; send it flat",
                        esc(input)
                    ),
                ));
            }
            for item in items {
                flatten(input, ty, datatype, item, depth + 1, out)?;
            }
            Ok(())
        }
        value => {
            let v = element(input, ty, datatype, out.len(), value)?;
            out.push(v);
            Ok(())
        }
    }
}

/// One input tensor, checked: its name, its shape and its values (as many as the shape says).
struct Tensor {
    name: String,
    shape: Vec<u64>,
    values: Vec<f64>,
}

fn field<'a>(input: &'a Map<String, Value>, i: usize, name: &str) -> Result<&'a Value, ApiError> {
    input
        .get(name)
        .ok_or_else(|| ApiError::bad(ErrorCode::BadRequest, format!("input {i} has no `{name}`; {SHAPE}")))
}

fn tensor(i: usize, input: &Value) -> Result<Tensor, ApiError> {
    let Value::Object(input) = input else {
        return Err(ApiError::bad(
            ErrorCode::BadRequest,
            format!("input {i} is {}, not an object; {SHAPE}", kind(input)),
        ));
    };
    let name = match field(input, i, "name")? {
        Value::String(name) => name.clone(),
        other => {
            return Err(ApiError::bad(
                ErrorCode::BadRequest,
                format!("input {i}'s `name` is {}; send the feature's name as a string", described(other)),
            ));
        }
    };
    let Value::String(declared) = field(input, i, "datatype")? else {
        return Err(ApiError::bad(
            ErrorCode::WrongDatatype,
            format!("input `{}`'s `datatype` is not a string; use one of {DATATYPES}", esc(&name)),
        ));
    };
    let ty = datatype(&name, declared)?;
    let bad_shape = |what: String| {
        ApiError::bad(
            ErrorCode::ShapeMismatch,
            format!(
                "input `{}`'s `shape` {what}; send [N] for a feature or [N, FEATURES] for a matrix",
                esc(&name)
            ),
        )
    };
    let shape = match field(input, i, "shape")? {
        Value::Array(dims) => dims
            .iter()
            .map(|d| d.as_u64().ok_or_else(|| bad_shape(format!("holds {}, not a size", described(d)))))
            .collect::<Result<Vec<u64>, _>>()?,
        other => return Err(bad_shape(format!("is {}, not a list of sizes", described(other)))),
    };
    if shape.is_empty() || shape.len() > 2 {
        return Err(bad_shape(format!(
            "is {}: {} dimensions",
            shown(field(input, i, "shape")?),
            shape.len()
        )));
    }
    let mut values = Vec::new();
    match field(input, i, "data")? {
        data @ Value::Array(_) => flatten(&name, ty, declared, data, 0, &mut values)?,
        other => {
            return Err(ApiError::bad(
                ErrorCode::BadRequest,
                format!("input `{}`'s `data` is {}, not a list; {SHAPE}", esc(&name), kind(other)),
            ));
        }
    }
    let claimed = shape.iter().try_fold(1u64, |n, &d| n.checked_mul(d));
    if claimed != Some(values.len() as u64) {
        let claimed = claimed.map_or_else(|| "more than 2^64".to_owned(), |n| n.to_string());
        return Err(ApiError::bad(
            ErrorCode::ShapeMismatch,
            format!(
                "input `{}` has shape {} ({claimed} values) but its `data` holds {}; make the shape match the data",
                esc(&name),
                shape_text(&shape),
                values.len()
            ),
        ));
    }
    Ok(Tensor { name, shape, values })
}

fn shape_text(shape: &[u64]) -> String {
    let mut text = String::from("[");
    for (i, d) in shape.iter().enumerate() {
        let _ = write!(text, "{}{d}", if i == 0 { "" } else { ", " });
    }
    text.push(']');
    text
}

impl InferRequest {
    /// Parses a body against the features `names` (the champion's signature).
    fn parse(body: &[u8], names: &[String]) -> Result<InferRequest, ApiError> {
        let Value::Object(fields) = parse_json(body, SHAPE)? else {
            return Err(ApiError::bad(
                ErrorCode::BadRequest,
                format!("the body is JSON but not an object; {SHAPE}"),
            ));
        };
        let id = match fields.get("id") {
            None | Some(Value::Null) => None,
            Some(Value::String(id)) => Some(id.clone()),
            Some(other) => {
                return Err(ApiError::bad(
                    ErrorCode::BadRequest,
                    format!("`id` is {}; send the request's id as a string", described(other)),
                ));
            }
        };
        let key = match fields.get("parameters") {
            None | Some(Value::Null) => None,
            Some(Value::Object(parameters)) => match parameters.get("key") {
                None | Some(Value::Null) => None,
                Some(Value::String(key)) => Some(key.clone()),
                Some(other) => {
                    return Err(ApiError::bad(
                        ErrorCode::BadRequest,
                        format!("parameter `key` is {}; send the routing key as a string", described(other)),
                    ));
                }
            },
            Some(other) => {
                return Err(ApiError::bad(
                    ErrorCode::BadRequest,
                    format!("`parameters` is {}, not an object", kind(other)),
                ));
            }
        };
        let outputs = match fields.get("outputs") {
            None | Some(Value::Null) => None,
            Some(Value::Array(outputs)) => Some(
                outputs
                    .iter()
                    .enumerate()
                    .map(|(i, output)| match output.get("name") {
                        Some(Value::String(name)) => Ok(name.clone()),
                        _ => Err(ApiError::bad(
                            ErrorCode::BadRequest,
                            format!(
                                "output {i} is {}, not an object with a `name`; ask for outputs as [{{\"name\": \"label\"}}, ...]",
                                described(output)
                            ),
                        )),
                    })
                    .collect::<Result<Vec<String>, _>>()?,
            ),
            Some(other) => {
                return Err(ApiError::bad(
                    ErrorCode::BadRequest,
                    format!("`outputs` is {}, not a list of {{\"name\": ...}} objects", kind(other)),
                ));
            }
        };
        let inputs = match fields.get("inputs") {
            Some(Value::Array(inputs)) if !inputs.is_empty() => inputs,
            Some(Value::Array(_)) => {
                return Err(ApiError::bad(ErrorCode::EmptyInstances, format!("`inputs` is empty; {SHAPE}")));
            }
            Some(other) => {
                return Err(ApiError::bad(
                    ErrorCode::BadRequest,
                    format!("`inputs` is {}, not a list; {SHAPE}", kind(other)),
                ));
            }
            None if fields.contains_key("instances") => {
                return Err(ApiError::bad(
                    ErrorCode::BadRequest,
                    format!(
                        "the body has `instances` (KServe V1) but no `inputs`; POST it to /v1/models/NAME:predict, or {SHAPE}"
                    ),
                ));
            }
            None => {
                return Err(ApiError::bad(
                    ErrorCode::BadRequest,
                    format!("the body has no `inputs`; {SHAPE}"),
                ));
            }
        };
        let tensors =
            inputs.iter().enumerate().map(|(i, input)| tensor(i, input)).collect::<Result<Vec<_>, _>>()?;
        let instances = instances(tensors, names)?;
        if instances.len() == 0 {
            return Err(ApiError::bad(
                ErrorCode::EmptyInstances,
                format!("the inputs hold no rows; {SHAPE}"),
            ));
        }
        Ok(InferRequest { id, key, instances, outputs })
    }
}

/// Parses an `infer` body as the server does and checks its inputs against `scorer`'s signature:
/// the model inputs row after row with their number of columns, or the refusal's error code and
/// message.
///
/// Not public API: an entry point for the fuzz targets (`fuzz/` in the repository), which may
/// change or go away at any time.
#[doc(hidden)]
pub fn parse_infer_body(
    body: &[u8],
    scorer: &crate::Scorer,
) -> Result<(Vec<f64>, usize), (&'static str, String)> {
    let refused = |e: ApiError| (e.code.as_str(), e.message);
    let request = InferRequest::parse(body, scorer.names()).map_err(refused)?;
    let rows = request.instances.matrix(scorer).map_err(refused)?;
    Ok((rows.values().to_vec(), rows.columns()))
}

/// Tensors as instances: one matrix, or one column per feature of the signature `names`.
fn instances(mut tensors: Vec<Tensor>, names: &[String]) -> Result<Instances, ApiError> {
    let features = crate::join(names);
    let is_feature = |t: &Tensor| names.contains(&t.name);
    if let Some(matrix) = tensors.iter().position(|t| !is_feature(t) && t.shape.len() == 2) {
        if tensors.len() > 1 {
            return Err(ApiError::bad(
                ErrorCode::BadRequest,
                format!(
                    "input `{}` is a matrix, so it must be the only input; send either one matrix of shape [N, {}] or one input per feature ({features})",
                    esc(&tensors[matrix].name),
                    names.len()
                ),
            ));
        }
        let t = tensors.swap_remove(matrix);
        let columns = t.shape[1];
        if columns != names.len() as u64 {
            return Err(ApiError::bad(
                ErrorCode::FeatureCount,
                format!(
                    "input `{}` has shape {}: {columns} columns, but the model takes {} features ({features}); send a matrix of shape [N, {}]",
                    esc(&t.name),
                    shape_text(&t.shape),
                    names.len(),
                    names.len()
                ),
            ));
        }
        return Ok(Instances::Matrix { values: t.values, columns: names.len() });
    }
    if let Some(t) = tensors.iter().find(|t| !is_feature(t)) {
        return Err(ApiError::bad(
            ErrorCode::UnknownFeature,
            format!(
                "input `{}` is not a feature of the model; name one input per feature ({features}), or send one matrix of shape [N, {}]",
                esc(&t.name),
                names.len()
            ),
        ));
    }
    let rows = tensors[0].shape[0];
    for t in &tensors {
        if t.shape.len() == 2 && t.shape[1] != 1 {
            return Err(ApiError::bad(
                ErrorCode::ShapeMismatch,
                format!(
                    "input `{}` is a feature but has shape {}; send a feature's values with shape [N] or [N, 1]",
                    esc(&t.name),
                    shape_text(&t.shape)
                ),
            ));
        }
        if t.shape[0] != rows {
            return Err(ApiError::bad(
                ErrorCode::ShapeMismatch,
                format!(
                    "input `{}` has {} rows but `{}` has {rows}; send the same number of rows for every feature",
                    esc(&t.name),
                    t.shape[0],
                    esc(&tensors[0].name)
                ),
            ));
        }
    }
    for (i, t) in tensors.iter().enumerate() {
        if tensors[..i].iter().any(|u| u.name == t.name) {
            return Err(ApiError::bad(
                ErrorCode::BadRequest,
                format!("input `{}` is sent twice; send each feature once", esc(&t.name)),
            ));
        }
    }
    let missing: Vec<&str> =
        names.iter().filter(|n| !tensors.iter().any(|t| &t.name == *n)).map(String::as_str).collect();
    if !missing.is_empty() {
        return Err(ApiError::bad(
            ErrorCode::MissingFeature,
            format!(
                "the inputs lack feature{} {}; send one input per feature ({features}), or one matrix of shape [N, {}]",
                if missing.len() == 1 { "" } else { "s" },
                missing.iter().map(|m| format!("`{}`", esc(m))).collect::<Vec<_>>().join(", "),
                names.len()
            ),
        ));
    }
    let (names, columns) = tensors.into_iter().map(|t| (t.name, t.values)).unzip();
    Ok(Instances::Columns { names, columns, rows: rows as usize })
}

/// The outputs asked for, checked against the version that answers.
fn wanted(requested: Option<&[String]>, model: &Loaded) -> Result<Vec<Output>, ApiError> {
    let package = model.scorer.package();
    let offered = Output::of(package.task());
    let Some(requested) = requested else { return Ok(offered.to_vec()) };
    let mut wanted = Vec::with_capacity(requested.len());
    for name in requested {
        let Some(output) = offered.iter().find(|o| o.name() == name) else {
            let offered: Vec<&str> = offered.iter().map(|o| o.name()).collect();
            let what = if package.task() == Task::Regression && name == "probabilities" {
                format!(
                    "model `{}` is a regressor: it answers values, not probabilities; ask for `value` (or leave out `outputs`)",
                    esc(package.name())
                )
            } else {
                format!(
                    "model `{}` has no output `{}`; its outputs are {}",
                    esc(package.name()),
                    esc(name),
                    offered.join(", ")
                )
            };
            return Err(ApiError::bad(ErrorCode::UnknownOutput, what));
        };
        if !wanted.contains(output) {
            wanted.push(*output);
        }
    }
    Ok(wanted)
}

fn infer_served(
    app: &App,
    served: &Arc<Served>,
    headers: &HeaderMap,
    bytes: &[u8],
    arrival: Arrival,
    version: Option<u32>,
) -> Result<Response, ApiError> {
    if headers.contains_key("inference-header-content-length") {
        return Err(ApiError::bad(
            ErrorCode::BadRequest,
            "the binary tensor data extension is not supported; send `data` as JSON (KServe's client: `set_data_from_numpy(array, binary_data=False)`)",
        ));
    }
    let deployment = served.deployment();
    let names = match version {
        Some(version) => api::served_version(served, &deployment, version)?.0.scorer.names(),
        None => deployment.champion.scorer.names(),
    };
    let request = InferRequest::parse(bytes, names)?;
    let mut outputs = Vec::new();
    let scoring = ScoreRequest {
        instances: request.instances,
        key: request.key,
        id: request.id.clone(),
        version,
        raw_beside: None,
    };
    let answered = score_request(app, served, headers, scoring, arrival, |model| {
        outputs = wanted(request.outputs.as_deref(), model)?;
        Ok(())
    })?;
    let id = request.id.as_deref().unwrap_or(&answered.request_id);
    let body = answer_body(served, &answered, id, &outputs);
    Ok(api::respond(&answered, body, arrival))
}

/// The `infer` answer, written directly (as V1's): `model_name`, `model_version`, `id` and the
/// output tensors asked for, data flat and row-major.
fn answer_body(served: &Served, answered: &api::Answered, id: &str, outputs: &[Output]) -> String {
    let package = answered.model.scorer.package();
    let predictions = &answered.scored.predictions;
    let n = predictions.len();
    let mut body = String::with_capacity(128 + n * 64);
    body.push_str("{\"model_name\":");
    push_string(&mut body, &served.name);
    let _ = write!(body, ",\"model_version\":\"{}\",\"id\":", answered.model.version);
    push_string(&mut body, id);
    body.push_str(",\"outputs\":[");
    for (k, output) in outputs.iter().enumerate() {
        if k > 0 {
            body.push(',');
        }
        match output {
            Output::Label => {
                let classes = package.classes();
                let _ = write!(
                    body,
                    "{{\"name\":\"label\",\"datatype\":\"{}\",\"shape\":[{n}],\"data\":[",
                    label_datatype(classes)
                );
                for (i, p) in predictions.iter().enumerate() {
                    if i > 0 {
                        body.push(',');
                    }
                    match classes.and_then(|c| c.label(p.label as usize)) {
                        Some(ClassLabel::Int(v)) => {
                            let _ = write!(body, "{v}");
                        }
                        Some(ClassLabel::Text(text)) => push_string(&mut body, text),
                        None => {
                            let _ = write!(body, "{}", p.label);
                        }
                    }
                }
            }
            Output::Probabilities => {
                let columns = match &answered.scored.outputs {
                    Some(Outputs::Probabilities(p)) => p.ncols(),
                    _ => 2,
                };
                let _ = write!(
                    body,
                    "{{\"name\":\"probabilities\",\"datatype\":\"FP64\",\"shape\":[{n},{columns}],\"data\":["
                );
                match &answered.scored.outputs {
                    Some(Outputs::Probabilities(p)) => push_numbers(&mut body, p.iter().copied()),
                    // Binary answers scored one row at a time hold P(second class) only.
                    _ => push_numbers(
                        &mut body,
                        predictions.iter().flat_map(|p| [1.0 - p.probability, p.probability]),
                    ),
                }
            }
            Output::Value => {
                let _ = write!(body, "{{\"name\":\"value\",\"datatype\":\"FP64\",\"shape\":[{n}],\"data\":[");
                push_numbers(&mut body, predictions.iter().map(|p| p.probability));
            }
        }
        body.push_str("]}");
    }
    body.push_str("]}");
    body
}

fn push_string(body: &mut String, text: &str) {
    body.push_str(&Value::String(text.to_owned()).to_string());
}

/// Numbers as JSON: finite ones in their shortest round-trip form, anything else as `null`.
fn push_numbers(body: &mut String, values: impl Iterator<Item = f64>) {
    for (i, v) in values.enumerate() {
        if i > 0 {
            body.push(',');
        }
        if v.is_finite() {
            let _ = write!(body, "{v}");
        } else {
            body.push_str("null");
        }
    }
}
