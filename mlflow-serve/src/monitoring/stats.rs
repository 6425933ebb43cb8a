//! A window's accumulated counts: value counts per input and of the output, predicted labels,
//! rows, requests, latencies, and the requests that failed.

use std::collections::BTreeMap;

use super::tally::Tally;
use super::window::{WindowBounds, WindowSpec};
use crate::{PredictionRecord, RequestFailure, Role};

/// One window of one (version, role): what its records add up to, built by
/// [`scan_windows`](super::scan_windows) or [`Windower`](super::Windower) and turned into a
/// [`WindowReport`](super::WindowReport) by [`WindowStats::report`].
///
/// ```
/// use mlflow_serve::{PredictionRecord, Role};
/// use mlflow_serve::monitoring::{WindowSpec, WindowStats};
/// let r = PredictionRecord { request_id: "r".into(), row: 0, time_ms: 5, model: "m".into(), version: 1,
///     role: Role::Champion, inputs: vec![1.0, f64::NAN], label: 1, probability: 0.7, latency_us: 250 };
/// let mut w = WindowStats::new(&r, WindowSpec::All, 0);
/// w.add(&r);
/// assert_eq!((w.rows(), w.requests(), w.input_nulls(), w.version()), (1, 1, vec![0, 1], 1));
/// ```
#[derive(Debug, Clone)]
pub struct WindowStats {
    model: String,
    version: u32,
    role: Role,
    bounds: WindowBounds,
    rows: u64,
    requests: u64,
    /// Records whose number of inputs differs from the window's first: left out of the drift.
    malformed: u64,
    inputs: Vec<Tally>,
    output: Tally,
    labels: BTreeMap<u32, u64>,
    /// Per request (its row 0): the model's latency.
    latencies_us: Vec<u64>,
    /// Failed requests, and how many of them timed out.
    errors: u64,
    timeouts: u64,
    first_ms: i64,
    last_ms: i64,
    /// The time the window covers, for the request rate (set by `close`).
    span_ms: i64,
}

impl WindowStats {
    /// An empty window for records like `first` (its model, version and role; the number of
    /// inputs is taken from the first record added), at `index` under `spec`.
    pub fn new(first: &PredictionRecord, spec: WindowSpec, index: i64) -> WindowStats {
        WindowStats::empty(&first.model, first.version, first.role, first.time_ms, spec, index)
    }

    /// An empty window opened by a failed request (of the champion it was counted against).
    pub(crate) fn opened_by(failure: &RequestFailure, spec: WindowSpec, index: i64) -> WindowStats {
        WindowStats::empty(&failure.model, failure.version, Role::Champion, failure.time_ms, spec, index)
    }

    fn empty(
        model: &str,
        version: u32,
        role: Role,
        time_ms: i64,
        spec: WindowSpec,
        index: i64,
    ) -> WindowStats {
        let (start_ms, end_ms) = match spec {
            WindowSpec::Time(ms) => (index.saturating_mul(ms), index.saturating_mul(ms).saturating_add(ms)),
            _ => (time_ms, time_ms),
        };
        WindowStats {
            model: model.to_owned(),
            version,
            role,
            bounds: WindowBounds { index, start_ms, end_ms, complete: true },
            rows: 0,
            requests: 0,
            malformed: 0,
            inputs: Vec::new(),
            output: Tally::default(),
            labels: BTreeMap::new(),
            latencies_us: Vec::new(),
            errors: 0,
            timeouts: 0,
            first_ms: i64::MAX,
            last_ms: i64::MIN,
            span_ms: 0,
        }
    }

    /// Counts one failed request (of this window's model and version).
    ///
    /// ```
    /// use mlflow_serve::{PredictionRecord, RequestFailure, Role};
    /// use mlflow_serve::monitoring::{WindowSpec, WindowStats};
    /// let r = PredictionRecord { request_id: "r".into(), row: 0, time_ms: 5, model: "m".into(), version: 1,
    ///     role: Role::Champion, inputs: vec![1.0], label: 1, probability: 0.7, latency_us: 250 };
    /// let mut w = WindowStats::new(&r, WindowSpec::All, 0);
    /// w.add(&r);
    /// w.add_failure(&RequestFailure { request_id: "f".into(), time_ms: 6, model: "m".into(), version: 1,
    ///     status: 408, code: "request_timeout".into(), latency_us: 9 });
    /// assert_eq!((w.requests(), w.errors(), w.timeouts()), (1, 1, 1));
    /// ```
    pub fn add_failure(&mut self, failure: &RequestFailure) {
        self.errors += 1;
        self.timeouts += u64::from(failure.timed_out());
        self.first_ms = self.first_ms.min(failure.time_ms);
        self.last_ms = self.last_ms.max(failure.time_ms);
    }

    /// Adds one record (of this window's model, version and role).
    #[inline]
    pub fn add(&mut self, record: &PredictionRecord) {
        // The window's number of inputs is its first record's (a window may open on a failure).
        if self.rows == 0 {
            self.inputs = vec![Tally::default(); record.inputs.len()];
        }
        self.rows += 1;
        self.first_ms = self.first_ms.min(record.time_ms);
        self.last_ms = self.last_ms.max(record.time_ms);
        if record.row == 0 {
            self.requests += 1;
            self.latencies_us.push(record.latency_us);
        }
        *self.labels.entry(record.label).or_insert(0) += 1;
        self.output.add(record.probability);
        if record.inputs.len() != self.inputs.len() {
            self.malformed += 1;
            return;
        }
        for (tally, &value) in self.inputs.iter_mut().zip(&record.inputs) {
            tally.add(value);
        }
    }

    /// Sets the bounds once every record is in: `newest_ms` is the newest record of the log.
    pub(crate) fn close(&mut self, spec: WindowSpec, newest_ms: i64) {
        match spec {
            WindowSpec::All => {
                self.bounds.start_ms = self.first_ms;
                self.bounds.end_ms = self.last_ms;
            }
            WindowSpec::Count(n) | WindowSpec::Last(n) => {
                self.bounds.start_ms = self.first_ms;
                self.bounds.end_ms = self.last_ms;
                self.bounds.complete = self.rows >= n;
            }
            WindowSpec::Time(_) => self.bounds.complete = self.bounds.end_ms <= newest_ms,
        }
        self.span_ms = match spec {
            WindowSpec::Time(_) if self.bounds.complete => self.bounds.end_ms - self.bounds.start_ms,
            WindowSpec::Time(_) => self.last_ms.saturating_sub(self.bounds.start_ms),
            _ => self.last_ms.saturating_sub(self.first_ms),
        };
    }

    /// The model's name, as logged.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The model version.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Where the window sits.
    pub fn bounds(&self) -> WindowBounds {
        self.bounds
    }

    /// Records (rows scored).
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Requests (records of row 0).
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// Requests that failed (answered with an error, including timeouts).
    pub fn errors(&self) -> u64 {
        self.errors
    }

    /// Requests that timed out (HTTP 408).
    pub fn timeouts(&self) -> u64 {
        self.timeouts
    }

    /// Records left out of the drift because their number of inputs differs from the window's
    /// first record's.
    pub fn malformed(&self) -> u64 {
        self.malformed
    }

    /// Missing inputs (NaN or infinite) per input, in signature order.
    pub fn input_nulls(&self) -> Vec<u64> {
        self.inputs.iter().map(Tally::nulls).collect()
    }

    /// How many rows got each predicted label (class index).
    pub fn labels(&self) -> &BTreeMap<u32, u64> {
        &self.labels
    }

    pub(crate) fn inputs(&self) -> &[Tally] {
        &self.inputs
    }

    pub(crate) fn output(&self) -> &Tally {
        &self.output
    }

    pub(crate) fn latencies_us(&self) -> &[u64] {
        &self.latencies_us
    }

    /// The time of the window's oldest record or failure.
    pub(crate) fn first_ms(&self) -> i64 {
        self.first_ms
    }

    /// The time the window covers, in milliseconds: a whole time window's duration, else from
    /// its start (or oldest record) to its newest record.
    pub fn span_ms(&self) -> i64 {
        self.span_ms
    }
}
