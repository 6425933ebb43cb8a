//! The executor: runs a [`Pipeline`] against a [`Store`], in parallel, serving unchanged steps
//! from the cache, and reports what happened.
//!
//! Scheduling: the calling thread is the first worker; more workers (up to
//! [`RunOptions::threads`], default the number of cores) are started only when more than one step
//! is ready at once, and a worker that finishes a step goes straight on with one of the steps it
//! made ready. A linear chain therefore runs on one thread with no hand-offs, and independent
//! branches run side by side.
//!
//! Timeouts: a step with a timeout runs each attempt on a thread of its own and the executor stops
//! waiting after the timeout. Rust cannot kill a thread: the abandoned attempt runs on in the
//! background until it returns, and its result is thrown away.

mod attempt;
mod events;
mod map;
mod miss;
mod node;
mod options;
mod output;
mod plan;
mod report;
mod schedule;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Instant;

pub use crate::track::runs::{TaskCounts, TaskFailure};
pub use events::{Event, Observer};
pub use miss::MissReason;
pub use node::{NodeOutcome, NodeRun};
pub use options::{Force, RunOptions};
pub use plan::{Plan, PlanOutcome, PlannedStep, PlannedTasks};
pub use report::{RunReport, StepReport, StepStatus, format_duration};

use crate::codec::{ContentHash, Hasher};
use crate::dag::{NodeKind, Pipeline};
use crate::error::{Error, Result};
use crate::store::cache::{CACHE, LatestKey, record_latest_keys};
use crate::store::{InputPart, KeyParts, Mode, Store, now_ms, now_nanos};
use crate::track::runs::{FinishedRun, RUNS, StepRecord, record_finished_run};
use crate::track::{Environment, StepLog};
use miss::key_parts;
use output::Output;
use schedule::{Run, Sched, Slot, Work, mark_skipped, step_identity};

/// The mlflow version, part of every cache key.
///
/// ```
/// assert!(!mlflow_core::exec::LIBRARY_VERSION.is_empty());
/// ```
pub const LIBRARY_VERSION: &str = env!("CARGO_PKG_VERSION");

fn new_run_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    Hasher::new("mlflow/run-id/v1")
        .part(&now_nanos().to_le_bytes())
        .part(&std::process::id().to_le_bytes())
        .part(&COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes())
        .finish()
        .short()
}

impl Pipeline {
    /// The inputs of step `node` with their content hashes, as recorded in key parts.
    pub(super) fn input_parts(&self, node: usize, hashes: &[ContentHash]) -> Vec<InputPart> {
        let NodeKind::Step { inputs, .. } = &self.nodes[node].kind else { return Vec::new() };
        inputs
            .iter()
            .zip(hashes)
            .map(|(&i, hash)| InputPart {
                node: self.nodes[i].name.clone(),
                is_param: matches!(self.nodes[i].kind, NodeKind::Param { .. }),
                hash: *hash,
            })
            .collect()
    }

    /// Runs the pipeline with default [`RunOptions`].
    ///
    /// Returns `Err` only when the run cannot happen at all (a wiring error, an unusable store);
    /// failed steps are in the report (see [`RunReport::is_success`], [`RunReport::into_result`]).
    pub fn run(&self, store: &Store) -> Result<RunReport> {
        self.run_with(store, RunOptions::default())
    }

    /// Runs the pipeline.
    pub fn run_with(&self, store: &Store, options: RunOptions) -> Result<RunReport> {
        self.check().map_err(Error::Wiring)?;
        let started = Instant::now();
        let run_id = new_run_id();
        let nodes = &self.nodes;
        let mut dependents = vec![Vec::new(); nodes.len()];
        let mut sched = Sched {
            ready: Vec::new(),
            unmet: vec![0; nodes.len()],
            slots: Vec::with_capacity(nodes.len()),
            reports: vec![None; nodes.len()],
            input_hashes: vec![None; nodes.len()],
            blocked_by: vec![None; nodes.len()],
            unfinished: 0,
            running: 0,
            idle: 0,
            workers: 1,
            stopped: false,
        };
        let mut params = Vec::new();
        for (i, node) in nodes.iter().enumerate() {
            match &node.kind {
                NodeKind::Param { value, hash, json } => {
                    sched.slots.push(Slot::Done { value: Output::Value(Arc::clone(value)), hash: *hash });
                    params.push((node.name.clone(), *hash, json.clone()));
                }
                NodeKind::Step { inputs, waits_for, .. } => {
                    sched.slots.push(Slot::Pending);
                    sched.unfinished += 1;
                    for &input in inputs.iter().chain(waits_for) {
                        dependents[input].push(i);
                        if matches!(nodes[input].kind, NodeKind::Step { .. }) {
                            sched.unmet[i] += 1;
                        }
                    }
                    if sched.unmet[i] == 0 {
                        sched.ready.push(Work::Node(i));
                    }
                }
            }
        }
        // Params are done before the run starts: only step-to-step edges gate scheduling.
        for list in &mut dependents {
            list.retain(|&d| matches!(nodes[d].kind, NodeKind::Step { .. }));
        }
        for (i, node) in nodes.iter().enumerate() {
            if matches!(node.kind, NodeKind::Param { .. }) {
                dependents[i].clear();
            }
        }
        // Pop from the back: start with the first ready step.
        sched.ready.reverse();
        let step_count = sched.unfinished;
        let previous = store.last_cache_keys(self.name())?;
        store.begin_run(&run_id, self.name(), now_ms())?;
        let run = Run {
            pipeline: self,
            store,
            options: &options,
            run_id,
            dependents,
            previous,
            max_workers: options.thread_count(),
            sched: Mutex::new(sched),
            wake: Condvar::new(),
            started,
        };
        run.emit(Event::RunStarted { run_id: &run.run_id, pipeline: self.name(), steps: step_count });
        tracing::info!(target: "mlflow", run_id = %run.run_id, pipeline = %self.name(), steps = step_count, "run started");
        thread::scope(|scope| run.worker(scope));

        let Run { run_id, sched, previous, .. } = run;
        let mut sched = sched.into_inner().unwrap_or_else(|p| p.into_inner());
        let mut outputs = Vec::with_capacity(nodes.len());
        let mut steps = Vec::with_capacity(step_count);
        let mut step_of_node = Vec::with_capacity(nodes.len());
        let mut records = Vec::with_capacity(step_count);
        for (i, node) in nodes.iter().enumerate() {
            if matches!(node.kind, NodeKind::Param { .. }) {
                step_of_node.push(None);
            } else {
                if sched.reports[i].is_none() {
                    let cause = sched.blocked_by[i]
                        .map(|c| format!("upstream step `{}` failed", nodes[c].name))
                        .unwrap_or_else(|| "the run stopped at the first failure (fail-fast)".to_owned());
                    mark_skipped(&options, &mut sched, node, i, cause);
                }
                let report = sched.reports[i].take().expect("every step has a report after the run");
                records.push(StepRecord {
                    node: report.node.clone(),
                    step: report.step.to_owned(),
                    status: report.status.as_str().to_owned(),
                    duration: report.duration,
                    attempts: report.attempts,
                    cache_key: report.cache_key,
                    output: report.output_hash,
                    miss_reason: report.miss_reason.as_ref().map(|r| r.to_string()),
                    error: report.error.clone(),
                    started: report.started,
                    source_run: report.source_run.clone(),
                    tasks: report.tasks.clone(),
                });
                step_of_node.push(Some(steps.len()));
                steps.push(report);
            }
            outputs.push(match std::mem::replace(&mut sched.slots[i], Slot::Pending) {
                Slot::Done { value, .. } => Some(value),
                _ => None,
            });
        }
        let report = RunReport {
            run_id,
            pipeline: self.name().to_owned(),
            pipeline_id: self.id(),
            steps,
            outputs,
            step_of_node,
            duration: started.elapsed(),
        };
        let status = if report.is_success() { "succeeded" } else { "failed" };
        // Key parts are built only for the steps whose key changed: most reruns change none.
        let changed_parts: Vec<(&str, ContentHash, KeyParts)> = (0..nodes.len())
            .filter_map(|i| {
                let key = report.steps[report.step_of_node[i]?].cache_key?;
                let hashes = sched.input_hashes[i].as_ref()?;
                let unchanged = previous.get(&nodes[i].name).is_some_and(|k| *k == key);
                (!unchanged).then(|| {
                    (
                        nodes[i].name.as_str(),
                        key,
                        key_parts(step_identity(&nodes[i]), self.input_parts(i, hashes)),
                    )
                })
            })
            .collect();
        let changed_keys: Vec<LatestKey<'_>> =
            changed_parts.iter().map(|(node, key, parts)| LatestKey { node, key: *key, parts }).collect();
        let logs: Vec<(&str, &StepLog)> =
            report.steps.iter().filter(|s| !s.log.is_empty()).map(|s| (s.node.as_str(), &s.log)).collect();
        let mut crates: Vec<(&str, &str)> = nodes
            .iter()
            .filter_map(|n| match &n.kind {
                NodeKind::Step { identity, .. } => Some((identity.krate.name, identity.krate.version)),
                NodeKind::Param { .. } => None,
            })
            .collect();
        crates.sort_unstable();
        crates.dedup();
        let crates: Vec<String> = crates.iter().map(|(name, version)| format!("{name}@{version}")).collect();
        let environment = Environment::current(&crates);
        // The run and the new latest keys of its steps are recorded together or not at all.
        store.with_rooms(&[&RUNS, &CACHE], Mode::Write, |tx| {
            record_finished_run(
                tx,
                FinishedRun {
                    id: &report.run_id,
                    status,
                    params: &params,
                    steps: &records,
                    logs: &logs,
                    environment: &environment,
                },
            )?;
            record_latest_keys(tx, self.name(), &report.run_id, &changed_keys)
        })?;
        let event = Event::RunFinished {
            run_id: &report.run_id,
            ran: report.count(StepStatus::Ran),
            cached: report.count(StepStatus::Cached),
            failed: report.count(StepStatus::Failed),
            skipped: report.count(StepStatus::Skipped),
        };
        for observer in &options.observers {
            observer.on_event(&event);
        }
        tracing::info!(target: "mlflow", run_id = %report.run_id, status, "run finished");
        Ok(report)
    }
}
