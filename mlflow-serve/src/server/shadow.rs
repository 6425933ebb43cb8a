//! Shadow scoring off the answer path: requests queue their inputs, one worker scores everything
//! queued as a batch per challenger and logs it with one write.
//!
//! After draining the queue the worker lingers for [`LINGER`] before it sleeps, so under load it
//! finds new work on its own and queuing is a lock and a push with no wake-up; when
//! the queue holds more rows than its capacity, new shadow work is dropped and counted rather
//! than slowing the answers down or growing without bound.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::request::{self, Instances, Rows};
use super::{Loaded, Served};
use crate::{PredictionRecordRef, Role};

/// Inputs waiting for one challenger's shadow scoring.
pub(crate) struct ShadowJob {
    pub(crate) served: Arc<Served>,
    pub(crate) challenger: Arc<Loaded>,
    pub(crate) request_id: Arc<str>,
    pub(crate) time_ms: i64,
    pub(crate) instances: Arc<Instances>,
    pub(crate) arrived: Instant,
}

/// How long the idle worker waits for more work before it sleeps until woken.
const LINGER: Duration = Duration::from_millis(2);

/// The worker scores at most about this many rows at a time, which bounds its memory.
const BATCH_ROWS: usize = 256;

#[derive(Default)]
struct State {
    jobs: VecDeque<ShadowJob>,
    rows: usize,
    worker_idle: bool,
    closed: bool,
}

/// A bounded queue of shadow jobs, counted in rows.
pub(crate) struct ShadowQueue {
    state: Mutex<State>,
    wake: Condvar,
    capacity_rows: usize,
}

impl ShadowQueue {
    pub(crate) fn new(capacity_rows: usize) -> ShadowQueue {
        ShadowQueue { state: Mutex::default(), wake: Condvar::new(), capacity_rows }
    }

    /// Queues a job; `false` when the queue is full or closed.
    pub(crate) fn push(&self, job: ShadowJob) -> bool {
        let rows = job.instances.len();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.closed || (state.rows > 0 && state.rows + rows > self.capacity_rows) {
            return false;
        }
        state.rows += rows;
        state.jobs.push_back(job);
        let wake = std::mem::take(&mut state.worker_idle);
        drop(state);
        if wake {
            self.wake.notify_one();
        }
        true
    }

    /// Lets the worker finish what is queued and stop.
    pub(crate) fn close(&self) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).closed = true;
        self.wake.notify_all();
    }

    /// Queued jobs, up to about [`BATCH_ROWS`] rows, waiting while the queue is empty; `None`
    /// once closed and drained.
    fn take(&self) -> Option<Vec<ShadowJob>> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.jobs.is_empty() && !state.closed {
            state = self.wake.wait_timeout(state, LINGER).unwrap_or_else(|e| e.into_inner()).0;
        }
        while state.jobs.is_empty() {
            if state.closed {
                return None;
            }
            state.worker_idle = true;
            state = self.wake.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        state.worker_idle = false;
        let mut taken = Vec::new();
        let mut rows = 0;
        while rows < BATCH_ROWS {
            let Some(job) = state.jobs.pop_front() else { break };
            rows += job.instances.len();
            taken.push(job);
        }
        state.rows -= rows.min(state.rows);
        Some(taken)
    }

    /// The worker: scores and logs queued jobs until the queue is closed and empty.
    pub(crate) fn run(&self) {
        while let Some(jobs) = self.take() {
            let mut jobs = jobs;
            while !jobs.is_empty() {
                // One batch per challenger version; usually all jobs share one.
                let challenger = Arc::clone(&jobs[0].challenger);
                let (same, rest): (Vec<_>, Vec<_>) =
                    jobs.into_iter().partition(|j| Arc::ptr_eq(&j.challenger, &challenger));
                // A panic in model code must not stop shadow scoring for good.
                let scored =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| score_batch(&challenger, same)));
                if scored.is_err() {
                    challenger.metrics.shadow_failed();
                }
                jobs = rest;
            }
        }
    }
}

/// Scores the jobs of one challenger as one matrix and logs every row with one write per log.
fn score_batch(model: &Loaded, jobs: Vec<ShadowJob>) {
    let mut fitting = Vec::with_capacity(jobs.len());
    let mut values = Vec::new();
    for job in jobs {
        match job.instances.append_to(&model.scorer, &mut values) {
            Ok(()) => {
                let rows = job.instances.len();
                fitting.push((job, rows));
            }
            Err(_) => model.metrics.shadow_failed(),
        }
    }
    if fitting.is_empty() {
        return;
    }
    let rows = Rows::new(values, model.scorer.names().len());
    let started = Instant::now();
    let predictions = match request::score(&model.scorer, &rows) {
        Ok(scored) => scored.predictions,
        Err(_) => {
            fitting.iter().for_each(|_| model.metrics.shadow_failed());
            return;
        }
    };
    let per_row = started.elapsed().as_secs_f64() / predictions.len().max(1) as f64;
    let mut records: Vec<(&Arc<Served>, Vec<PredictionRecordRef<'_>>)> = Vec::new();
    let mut start = 0;
    for (job, n) in &fitting {
        let n = *n;
        let latency = Duration::from_secs_f64(per_row * n as f64);
        model.metrics.scored(Role::Shadow, n, job.arrived.elapsed());
        if job.served.log.is_some() {
            let batch = request::records(
                &job.request_id,
                job.time_ms,
                model,
                Role::Shadow,
                &rows.values()[start * rows.columns()..(start + n) * rows.columns()],
                &predictions[start..start + n],
                latency,
            );
            match records.iter_mut().find(|(s, _)| Arc::ptr_eq(s, &job.served)) {
                Some((_, all)) => all.extend(batch),
                None => records.push((&job.served, batch)),
            }
        }
        start += n;
    }
    for (served, records) in records {
        if let Some(Err(e)) = served.log.as_ref().map(|log| log.append(&records)) {
            model.metrics.shadow_failed();
            tracing::warn!(target: "mlflow", model = %model.reference, error = %e, "cannot log shadow predictions");
        }
    }
}
