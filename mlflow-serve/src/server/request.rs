//! A KServe V1 predict request: its JSON body parsed into instances, checked against the model's
//! signature into rows, scored, and turned into prediction log records.

use std::collections::BTreeMap;
use std::time::Duration;

use ndarray::ArrayView2;
use serde_json::Value;

use super::Loaded;
use super::error::ApiError;
use super::metrics::ErrorCode;
use crate::{Prediction, PredictionRecordRef, Role, Scorer, ServeError};
use mlflow_core::text::escape_controls as esc;
use mlflow_ml::data::{Column, Table};
use mlflow_ml::models::{Outputs, Task};

/// One instance of a request, as sent.
#[derive(Debug)]
pub(crate) enum Instance {
    /// Values in the model's feature order.
    Values(Vec<f64>),
    /// Values by feature name.
    Named(BTreeMap<String, f64>),
}

/// The instances of a request, as either protocol sent them; checked against the routed model
/// (and each shadow challenger) by [`Instances::append_to`].
#[derive(Debug)]
pub(crate) enum Instances {
    /// KServe V1 instances: rows of values or of named values.
    Rows(Vec<Instance>),
    /// Rows of values in the model's feature order, one after the other (a V2 matrix tensor).
    Matrix { values: Vec<f64>, columns: usize },
    /// Named columns of `rows` values each (V2 tensors, one per feature).
    Columns { names: Vec<String>, columns: Vec<Vec<f64>>, rows: usize },
    /// Raw rows (`"raw": true`): each model's own packaged transformers make its features, so a
    /// client never featurizes (no training-serving skew by construction).
    Raw(Table),
}

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
        match self {
            Instances::Rows(rows) => rows.len(),
            Instances::Matrix { values, columns } => values.len().checked_div(*columns).unwrap_or(0),
            Instances::Columns { rows, .. } => *rows,
            Instances::Raw(table) => table.rows(),
        }
    }

    /// The instances in `scorer`'s feature order, checked against its signature.
    pub(crate) fn matrix(&self, scorer: &Scorer) -> Result<Rows, ApiError> {
        let columns = scorer.names().len();
        let mut values = Vec::with_capacity(self.len().saturating_mul(columns));
        self.append_to(scorer, &mut values)?;
        Ok(Rows { values, columns })
    }

    /// Appends the instances to `values` in `scorer`'s feature order, checked against its
    /// signature; on an error `values` is left as it was.
    pub(crate) fn append_to(&self, scorer: &Scorer, values: &mut Vec<f64>) -> Result<(), ApiError> {
        let start = values.len();
        let appended = match self {
            Instances::Rows(rows) => rows.iter().enumerate().try_for_each(|(i, instance)| {
                match instance {
                    Instance::Values(row) => {
                        scorer.check_row(i, row)?;
                        values.extend_from_slice(row);
                    }
                    Instance::Named(named) => values.extend(scorer.ordered(i, named)?),
                }
                Ok(())
            }),
            Instances::Matrix { values: matrix, columns } => {
                matrix.chunks(*columns.max(&1)).enumerate().try_for_each(|(i, row)| {
                    scorer.check_row(i, row)?;
                    values.extend_from_slice(row);
                    Ok(())
                })
            }
            Instances::Columns { names, columns, rows } => {
                append_columns(scorer, names, columns, *rows, values)
            }
            Instances::Raw(table) => append_raw(scorer, table, values),
        };
        if appended.is_err() {
            values.truncate(start);
        }
        appended
    }
}

/// Appends the features `scorer`'s package computes from raw rows.
fn append_raw(scorer: &Scorer, table: &Table, values: &mut Vec<f64>) -> Result<(), ApiError> {
    let package = scorer.package();
    let Some(transformers) = package.features() else {
        return Err(ApiError::bad(
            ErrorCode::BadRequest,
            format!(
                "model `{}` has no feature transformers, so it takes features ({}), not raw rows: send them without `\"raw\": true`",
                package.name(),
                crate::join(scorer.names())
            ),
        ));
    };
    let matrix = transformers.transform(table).map_err(|e| {
        ApiError::bad(ErrorCode::BadRequest, format!("the raw rows do not fit the model's transformers: {e}"))
    })?;
    for (i, row) in matrix.x.rows().into_iter().enumerate() {
        let at = values.len();
        values.extend(row.iter());
        scorer.check_row(i, &values[at..])?;
    }
    Ok(())
}

/// Raw rows as a table: a column per name any instance holds (missing where an instance lacks
/// it or gives `null`), text for strings, floats for numbers.
fn raw_table(instances: Vec<Value>) -> Result<Table, ApiError> {
    let mut names: Vec<String> = Vec::new();
    let mut objects = Vec::with_capacity(instances.len());
    for (i, instance) in instances.into_iter().enumerate() {
        let Value::Object(object) = instance else {
            return Err(ApiError::bad(
                ErrorCode::BadRequest,
                format!(
                    "instance {i} is {}; raw rows are objects of column values ({RAW_SHAPE})",
                    kind(&instance)
                ),
            ));
        };
        for name in object.keys() {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        objects.push(object);
    }
    let mut columns = Vec::with_capacity(names.len());
    for name in names {
        let cells: Vec<Option<&Value>> =
            objects.iter().map(|o| o.get(&name).filter(|v| !v.is_null())).collect();
        let column = if cells.iter().flatten().all(|v| v.is_string()) && cells.iter().any(Option::is_some) {
            Column::Str(cells.iter().map(|v| v.and_then(Value::as_str).map(str::to_owned)).collect())
        } else {
            let mut floats = Vec::with_capacity(cells.len());
            for (i, cell) in cells.iter().enumerate() {
                floats.push(match cell {
                    None => None,
                    Some(Value::Number(n)) => n.as_f64(),
                    Some(other) => {
                        return Err(ApiError::bad(
                            ErrorCode::NonNumeric,
                            format!(
                                "instance {i}, column `{}` is {}, but the column holds numbers in other rows: send one type per column",
                                esc(&name),
                                shown(other)
                            ),
                        ));
                    }
                });
            }
            Column::Float(floats)
        };
        columns.push((name, column));
    }
    Table::new(columns).map_err(|e| ApiError::bad(ErrorCode::BadRequest, format!("the raw rows: {e}")))
}

/// Appends named columns as rows in `scorer`'s feature order: every feature once, no other name.
fn append_columns(
    scorer: &Scorer,
    names: &[String],
    columns: &[Vec<f64>],
    rows: usize,
    values: &mut Vec<f64>,
) -> Result<(), ApiError> {
    let expected = || crate::join(scorer.names());
    if let Some(name) = names.iter().find(|n| !scorer.names().contains(n)) {
        return Err(ServeError::UnknownFeature { row: 0, name: name.clone(), names: expected() }.into());
    }
    let order = scorer
        .names()
        .iter()
        .map(|feature| {
            names.iter().position(|n| n == feature).ok_or_else(|| ServeError::MissingFeature {
                row: 0,
                name: feature.clone(),
                names: expected(),
            })
        })
        .collect::<Result<Vec<usize>, ServeError>>()?;
    if columns.iter().any(|c| c.len() != rows) {
        return Err(ApiError::bad(
            ErrorCode::ShapeMismatch,
            "the input tensors hold different numbers of rows; send every feature for every row",
        ));
    }
    let ordered: Vec<&[f64]> = order.iter().map(|&c| columns[c].as_slice()).collect();
    values.reserve(rows.saturating_mul(ordered.len()));
    (0..rows).try_for_each(|i| {
        let at = values.len();
        values.extend(ordered.iter().map(|column| column[i]));
        scorer.check_row(i, &values[at..])?;
        Ok(())
    })
}

/// A parsed `:predict` request.
pub(crate) struct PredictRequest {
    pub(crate) instances: Instances,
    pub(crate) probabilities: bool,
    pub(crate) key: Option<String>,
    /// `raw_instances`: the raw rows the client computed its feature instances from.
    pub(crate) raw_beside: Option<Table>,
}

const SHAPE: &str =
    r#"send {"instances": [[v1, v2, ...], ...]} or {"instances": [{"feature": value, ...}, ...]}"#;
const RAW_SHAPE: &str = r#"{"raw": true, "instances": [{"column": value, ...}, ...]}"#;
const RAW_BESIDE_SHAPE: &str =
    r#"{"instances": [[v1, v2, ...], ...], "raw_instances": [{"column": value, ...}, ...]}"#;

impl PredictRequest {
    pub(crate) fn parse(body: &[u8], names: &[String]) -> Result<PredictRequest, ApiError> {
        let value = parse_json(body, SHAPE)?;
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
                    format!("`probabilities` is {}; send true or false", shown(other)),
                ));
            }
        };
        let key = match fields.get("key") {
            None | Some(Value::Null) => None,
            Some(Value::String(key)) => Some(key.clone()),
            Some(other) => {
                return Err(ApiError::bad(
                    ErrorCode::BadRequest,
                    format!("`key` is {}; send the routing key as a string", shown(other)),
                ));
            }
        };
        let instances = match fields.remove("instances") {
            Some(Value::Array(instances)) => instances,
            Some(other) => {
                return Err(ApiError::bad(
                    ErrorCode::BadRequest,
                    format!("`instances` is {}, not a list; {SHAPE}", kind(&other)),
                ));
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
        match fields.get("raw") {
            None | Some(Value::Bool(false)) => {}
            Some(Value::Bool(true)) => {
                if fields.contains_key("raw_instances") {
                    return Err(ApiError::bad(
                        ErrorCode::BadRequest,
                        "the body has `\"raw\": true` and `raw_instances`: raw instances are featurized by the model, so send them once, as `instances`",
                    ));
                }
                return Ok(PredictRequest {
                    instances: Instances::Raw(raw_table(instances)?),
                    probabilities,
                    key,
                    raw_beside: None,
                });
            }
            Some(other) => {
                return Err(ApiError::bad(
                    ErrorCode::BadRequest,
                    format!("`raw` is {}; send true (instances are raw rows) or false", shown(other)),
                ));
            }
        }
        let raw_beside = match fields.remove("raw_instances") {
            None | Some(Value::Null) => None,
            Some(Value::Array(raw)) if raw.len() == instances.len() => Some(raw_table(raw)?),
            Some(Value::Array(raw)) => {
                return Err(ApiError::bad(
                    ErrorCode::BadRequest,
                    format!(
                        "`raw_instances` has {} rows for {} instances: send the raw row of each instance, in the same order",
                        raw.len(),
                        instances.len()
                    ),
                ));
            }
            Some(other) => {
                return Err(ApiError::bad(
                    ErrorCode::BadRequest,
                    format!(
                        "`raw_instances` is {}, not a list; send the raw rows the instances were computed from ({RAW_BESIDE_SHAPE})",
                        kind(&other)
                    ),
                ));
            }
        };
        let instances = instances
            .into_iter()
            .enumerate()
            .map(|(i, instance)| parse_instance(i, instance, names))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PredictRequest { instances: Instances::Rows(instances), probabilities, key, raw_beside })
    }
}

/// A body as JSON; `hint` says what to send instead.
pub(crate) fn parse_json(body: &[u8], hint: &str) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        if e.to_string().starts_with("number out of range") {
            ApiError::bad(
                ErrorCode::NonFinite,
                format!("a value is too large to be a finite number ({e}); send finite numbers"),
            )
        } else {
            ApiError::bad(
                ErrorCode::MalformedJson,
                format!("the body is not valid JSON: {}; {hint}", esc(&e.to_string())),
            )
        }
    })
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
                    "instance {i}, feature {} is {}, not a number; send numbers (encode categories as the model's codes)",
                    feature(),
                    described(value)
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
                    Some(name) => format!("`{}` (column {j})", esc(name)),
                    None => format!("at column {j}"),
                })
            })
            .collect::<Result<Vec<f64>, _>>()
            .map(Instance::Values),
        Value::Object(fields) => fields
            .into_iter()
            .map(|(name, v)| {
                let value = number(&v, &|| format!("`{}`", esc(&name)))?;
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

/// Client JSON values longer than this (in characters) are cut short in messages.
const MAX_SHOWN: usize = 64;

/// A client's JSON value as quoted in messages: its JSON text, cut to [`MAX_SHOWN`] characters,
/// with control characters and bidi overrides escaped (JSON escapes only C0 controls).
pub(crate) fn shown(value: &Value) -> String {
    let text = value.to_string();
    let cut = match text.char_indices().nth(MAX_SHOWN) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text,
    };
    esc(&cut).into_owned()
}

/// A client's JSON value described and quoted: `null`, `a boolean true`, `a string "x"`, ...
pub(crate) fn described(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        other => format!("{} {}", kind(other), shown(other)),
    }
}

/// How a JSON value is described in messages.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// What one scorer answered for checked rows: a prediction per row, and every output when the
/// summary does not hold them all (more than two classes).
pub(crate) struct Scored {
    pub(crate) predictions: Vec<Prediction>,
    pub(crate) outputs: Option<Outputs>,
}

/// Scores checked rows with one scorer.
pub(crate) fn score(scorer: &Scorer, rows: &Rows) -> Result<Scored, ServeError> {
    let multiclass = matches!(scorer.package().task(), Task::Classification { classes } if classes > 2);
    if rows.len() == 1 && !multiclass {
        return Ok(Scored { predictions: vec![scorer.score_row(&rows.values)?], outputs: None });
    }
    let view = ArrayView2::from_shape((rows.len(), rows.columns), &rows.values)
        .map_err(|e| ServeError::Build(format!("cannot view the rows as a matrix: {e}")))?;
    let outputs = scorer.predict(view)?;
    Ok(Scored { predictions: Prediction::summarize(&outputs), outputs: Some(outputs) })
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
