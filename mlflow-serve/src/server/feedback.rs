//! KServe V1 style `:feedback`: delayed labels of logged predictions, by request id and row,
//! appended to the model's [`LabelStore`].
//!
//! ```text
//! POST /v1/models/NAME:feedback
//! {"labels": [{"request_id": "4f1c2a9e-17", "row": 0, "label": 1}, ...]}
//! → 200 {"accepted": 1, "replaced": 0, "duplicates": 0, "superseded": 0, "unmatched": 0}
//! ```
//!
//! `request_id` is the `x-request-id` the prediction was answered with (the client's own, or
//! one the server made up), `row` the row inside that request (optional, 0 by default), `label`
//! the true class as the label column held it (`1`, `-1`, `"setosa"`) or, for a regressor, the
//! true value. The labels are checked whole against the champion's classes before any is
//! stored: a bad one refuses the request (400, code `bad_label`, naming `labels[i]` and the
//! classes), storing nothing. Classes are the champion's (challengers are expected to share
//! them).
//!
//! `unmatched` counts the labels whose `(request_id, row)` the model's prediction log does not
//! hold: they are stored all the same (the prediction may be in a segment rotated away, or
//! logged by another server). The server reads the log's keys at the first feedback (a full
//! read of the log), then only what was appended since. With `--no-log` every label is
//! unmatched, and still stored.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::Value;

use super::api::{Arrival, json};
use super::error::ApiError;
use super::metrics::ErrorCode;
use super::request::{kind, parse_json};
use super::{App, Served};
use crate::labels::json_label;
use crate::{Appended, LabelMapping, LabelSource, LabelStore, NewLabel, PredictionKeys, PredictionLog};
use mlflow_core::store::Store;

/// Labels in one request, at most.
const MAX_LABELS: usize = 100_000;

const SHAPE: &str = r#"send {"labels": [{"request_id": "...", "row": 0, "label": ...}, ...]}"#;

/// A served model's label store and the keys of its prediction log, opened at the first
/// feedback.
pub(crate) struct Feedback {
    labels_dir: PathBuf,
    log_dir: PathBuf,
    opened: Mutex<Option<(LabelStore, PredictionKeys)>>,
}

impl Feedback {
    pub(crate) fn new(store: &Store, name: &str) -> Feedback {
        Feedback {
            labels_dir: LabelStore::dir_in(store, name),
            log_dir: PredictionLog::dir_in(store, name),
            opened: Mutex::new(None),
        }
    }

    /// Appends `labels`; what was stored, and how many labels match no logged prediction.
    fn store(&self, labels: &[NewLabel]) -> Result<(Appended, usize), ApiError> {
        let internal =
            |what: String| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal, what);
        let mut opened = self.opened.lock().unwrap_or_else(|e| e.into_inner());
        if opened.is_none() {
            let store = LabelStore::open(&self.labels_dir)
                .map_err(|e| internal(format!("the labels were not stored: {e}")))?;
            *opened = Some((store, PredictionKeys::new(&self.log_dir)));
        }
        let Some((store, keys)) = opened.as_mut() else {
            return Err(internal("the label store is not open".into()));
        };
        keys.refresh().map_err(|e| internal(format!("the labels were not stored: {e}")))?;
        let appended = store
            .append(labels, &LabelSource::FeedbackApi)
            .map_err(|e| internal(format!("the labels were not stored: {e}")))?;
        let unmatched = labels.iter().filter(|l| !keys.contains(&l.request_id, l.row)).count();
        Ok((appended, unmatched))
    }
}

/// `POST /v1/models/NAME:feedback`.
pub(crate) fn feedback_served(
    _app: &App,
    served: &Arc<Served>,
    _headers: &HeaderMap,
    bytes: &[u8],
    _arrival: Arrival,
) -> Result<Response, ApiError> {
    let mapping = LabelMapping::for_package(served.deployment().champion.scorer.package());
    let labels = parse_feedback(bytes, &mapping, &served.name)?;
    // Reading the log's new records and flushing the labels to the disk wait for the disk.
    let (appended, unmatched) = tokio::task::block_in_place(|| served.feedback.store(&labels))?;
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({
            "accepted": appended.accepted,
            "replaced": appended.replaced,
            "duplicates": appended.duplicates,
            "superseded": appended.superseded,
            "unmatched": unmatched,
        }),
    ))
}

/// The labels of a `:feedback` body, each checked; the first bad one refuses the request.
fn parse_feedback(bytes: &[u8], mapping: &LabelMapping, model: &str) -> Result<Vec<NewLabel>, ApiError> {
    let value = parse_json(bytes, SHAPE)?;
    let Value::Object(mut fields) = value else {
        return Err(ApiError::bad(
            ErrorCode::BadRequest,
            format!("the body is JSON but not an object; {SHAPE}"),
        ));
    };
    let labels = match fields.remove("labels") {
        Some(Value::Array(labels)) => labels,
        Some(other) => {
            return Err(ApiError::bad(
                ErrorCode::BadRequest,
                format!("`labels` is {}, not a list; {SHAPE}", kind(&other)),
            ));
        }
        None => {
            return Err(ApiError::bad(ErrorCode::BadRequest, format!("the body has no `labels`; {SHAPE}")));
        }
    };
    if labels.is_empty() {
        return Err(ApiError::bad(ErrorCode::EmptyInstances, format!("`labels` is empty; {SHAPE}")));
    }
    if labels.len() > MAX_LABELS {
        return Err(ApiError::bad(
            ErrorCode::BadRequest,
            format!("{} labels in one request; send at most {MAX_LABELS} per request", labels.len()),
        ));
    }
    labels
        .iter()
        .enumerate()
        .map(|(i, label)| {
            json_label(label, mapping).map_err(|e| {
                let message = format!("labels[{i}]: {e} (model `{}`); nothing was stored", esc(model));
                ApiError::bad(ErrorCode::BadLabel, message)
            })
        })
        .collect()
}

fn esc(text: &str) -> std::borrow::Cow<'_, str> {
    mlflow_core::text::escape_controls(text)
}
