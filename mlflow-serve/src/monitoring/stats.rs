//! A window's accumulated counts: value counts per input and of the output, predicted labels,
//! rows, requests and latencies.

use std::collections::BTreeMap;

use super::tally::Tally;
use super::window::{WindowBounds, WindowSpec};
use crate::{PredictionRecord, Role};

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
    first_ms: i64,
    last_ms: i64,
    /// The time the window covers, for the request rate (set by `close`).
    span_ms: i64,
}

impl WindowStats {
    /// An empty window for records like `first` (its model, version, role and number of
    /// inputs), at `index` under `spec`.
    pub fn new(first: &PredictionRecord, spec: WindowSpec, index: i64) -> WindowStats {
        let (start_ms, end_ms) = match spec {
            WindowSpec::Time(ms) => (index.saturating_mul(ms), index.saturating_mul(ms).saturating_add(ms)),
            _ => (first.time_ms, first.time_ms),
        };
        WindowStats {
            model: first.model.clone(),
            version: first.version,
            role: first.role,
            bounds: WindowBounds { index, start_ms, end_ms, complete: true },
            rows: 0,
            requests: 0,
            malformed: 0,
            inputs: vec![Tally::default(); first.inputs.len()],
            output: Tally::default(),
            labels: BTreeMap::new(),
            latencies_us: Vec::new(),
            first_ms: i64::MAX,
            last_ms: i64::MIN,
            span_ms: 0,
        }
    }

    /// Adds one record (of this window's model, version and role).
    #[inline]
    pub fn add(&mut self, record: &PredictionRecord) {
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

    /// The time the window covers, in milliseconds: a whole time window's duration, else from
    /// its start (or oldest record) to its newest record.
    pub fn span_ms(&self) -> i64 {
        self.span_ms
    }
}
