//! The scheduler: workers, ready steps, and the execution of one step (cache lookup, attempts,
//! storing the output).

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use super::attempt::{Failure, run_attempt};
use super::events::Event;
use super::map::{MapJob, MapStart};
use super::miss::{MissReason, cache_key, explain_miss, key_parts, lookup};
use super::options::RunOptions;
use super::output::{Output, Stored};
use super::report::{StepReport, StepStatus};
use crate::artifact::AnyArtifact;
use crate::codec::ContentHash;
use crate::dag::{ErasedStep, NodeKind, Pipeline, StepIdentity};
use crate::store::Store;
use crate::store::cache::CacheEntry;
use crate::track::StepLog;

/// What a worker takes up next: a node, or one task of a mapped node being run.
pub(super) enum Work {
    Node(usize),
    Task(Arc<MapJob>, usize),
}

pub(super) enum Slot {
    Pending,
    Done { value: Output, hash: ContentHash },
    Failed,
}

pub(super) struct Sched {
    pub(super) ready: Vec<Work>,
    pub(super) unmet: Vec<usize>,
    pub(super) slots: Vec<Slot>,
    pub(super) reports: Vec<Option<StepReport>>,
    pub(super) input_hashes: Vec<Option<Vec<ContentHash>>>,
    /// For a node that cannot run, the first failed upstream node.
    pub(super) blocked_by: Vec<Option<usize>>,
    pub(super) unfinished: usize,
    pub(super) running: usize,
    pub(super) idle: usize,
    pub(super) workers: usize,
    pub(super) stopped: bool,
}

pub(super) struct Run<'a> {
    pub(super) pipeline: &'a Pipeline,
    pub(super) store: &'a Store,
    pub(super) options: &'a RunOptions,
    pub(super) run_id: String,
    pub(super) dependents: Vec<Vec<usize>>,
    /// The key (and its parts) of each step at its last run, by node name.
    pub(super) previous: HashMap<String, ContentHash>,
    pub(super) max_workers: usize,
    pub(super) sched: Mutex<Sched>,
    pub(super) wake: Condvar,
    /// When the run started: step start offsets are measured from here.
    pub(super) started: Instant,
}

pub(super) struct Task {
    pub(super) node: usize,
    pub(super) inputs: Vec<Output>,
    pub(super) input_hashes: Vec<ContentHash>,
}

/// What a worker's piece of work left to do.
enum Started {
    /// A node is done.
    Finished(usize, Box<Outcome>),
    /// A mapped node's tasks to queue.
    Tasks(Arc<MapJob>, Vec<usize>),
    /// A task finished, and its node is not done yet.
    Nothing,
}

impl From<Option<(usize, Box<Outcome>)>> for Started {
    fn from(finished: Option<(usize, Box<Outcome>)>) -> Self {
        match finished {
            Some((node, outcome)) => Started::Finished(node, outcome),
            None => Started::Nothing,
        }
    }
}

pub(super) struct Outcome {
    pub(super) report: StepReport,
    pub(super) input_hashes: Vec<ContentHash>,
    pub(super) value: Option<(Output, ContentHash)>,
}

impl<'a> Run<'a> {
    pub(super) fn lock(&self) -> MutexGuard<'_, Sched> {
        self.sched.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn emit(&self, event: Event<'_>) {
        for observer in &self.options.observers {
            observer.on_event(&event);
        }
    }

    pub(super) fn worker<'s>(&'s self, scope: &'s thread::Scope<'s, '_>) {
        let mut sched = self.lock();
        loop {
            if sched.unfinished == 0 || (sched.stopped && sched.running == 0) {
                self.wake.notify_all();
                return;
            }
            let next = if sched.stopped { None } else { sched.ready.pop() };
            let Some(work) = next else {
                sched.idle += 1;
                sched = self.wake.wait(sched).unwrap_or_else(|p| p.into_inner());
                sched.idle -= 1;
                continue;
            };
            sched.running += 1;
            let task = match &work {
                Work::Node(node) => Some(self.task(&sched, *node)),
                Work::Task(..) => None,
            };
            self.spread(&mut sched, scope);
            drop(sched);
            let finished = match (work, task) {
                (Work::Node(node), Some(task)) => self.start(node, task),
                (Work::Task(job, task), _) => {
                    self.run_task(&job, task).map(|outcome| (job.node, outcome)).into()
                }
                (Work::Node(_), None) => unreachable!("a node's task is taken with it"),
            };
            sched = self.lock();
            sched.running -= 1;
            match finished {
                Started::Finished(node, outcome) => self.complete(&mut sched, node, *outcome),
                Started::Tasks(job, tasks) => {
                    sched
                        .ready
                        .extend(tasks.into_iter().rev().map(|task| Work::Task(Arc::clone(&job), task)));
                    self.spread(&mut sched, scope);
                }
                Started::Nothing => {}
            }
            if sched.ready.len() > 1 {
                self.wake.notify_all();
            }
        }
    }

    /// Wakes or starts a worker when there is more ready work than this worker.
    fn spread<'s>(&'s self, sched: &mut Sched, scope: &'s thread::Scope<'s, '_>) {
        if !sched.ready.is_empty() {
            if sched.idle > 0 {
                self.wake.notify_one();
            } else if sched.workers < self.max_workers {
                sched.workers += 1;
                scope.spawn(move || self.worker(scope));
            }
        }
    }

    /// Runs a step node, or starts a mapped one.
    fn start(&self, node: usize, task: Task) -> Started {
        let NodeKind::Step { step, .. } = &self.pipeline.nodes[node].kind else {
            unreachable!("only steps are scheduled")
        };
        if step.mapped().is_none() {
            return Started::Finished(node, Box::new(self.execute(task)));
        }
        match self.start_map(task) {
            MapStart::Done(outcome) => Started::Finished(node, outcome),
            MapStart::Pending(job, tasks) => Started::Tasks(job, tasks),
        }
    }

    pub(super) fn task(&self, sched: &Sched, node: usize) -> Task {
        let NodeKind::Step { inputs, .. } = &self.pipeline.nodes[node].kind else {
            unreachable!("only steps are scheduled")
        };
        let mut values = Vec::with_capacity(inputs.len());
        let mut hashes = Vec::with_capacity(inputs.len());
        for &input in inputs {
            let Slot::Done { value, hash } = &sched.slots[input] else {
                unreachable!("a step is ready only when its inputs are done")
            };
            values.push(value.clone());
            hashes.push(*hash);
        }
        Task { node, inputs: values, input_hashes: hashes }
    }

    pub(super) fn complete(&self, sched: &mut Sched, node: usize, outcome: Outcome) {
        sched.unfinished -= 1;
        let failed = outcome.value.is_none();
        sched.slots[node] = match outcome.value {
            Some((value, hash)) => Slot::Done { value, hash },
            None => Slot::Failed,
        };
        sched.input_hashes[node] = Some(outcome.input_hashes);
        sched.reports[node] = Some(outcome.report);
        if failed && self.options.fail_fast {
            sched.stopped = true;
        }
        let mut stack = vec![node];
        while let Some(done) = stack.pop() {
            for &dependent in &self.dependents[done] {
                if matches!(sched.slots[done], Slot::Failed) && sched.blocked_by[dependent].is_none() {
                    sched.blocked_by[dependent] = Some(sched.blocked_by[done].unwrap_or(done));
                }
                sched.unmet[dependent] -= 1;
                if sched.unmet[dependent] > 0 {
                    continue;
                }
                match sched.blocked_by[dependent] {
                    None => sched.ready.push(Work::Node(dependent)),
                    Some(cause) => {
                        let reason = format!("upstream step `{}` failed", self.pipeline.nodes[cause].name);
                        self.skip(sched, dependent, reason);
                        stack.push(dependent);
                    }
                }
            }
        }
    }

    pub(super) fn skip(&self, sched: &mut Sched, node: usize, reason: String) {
        sched.unfinished -= 1;
        mark_skipped(self.options, sched, &self.pipeline.nodes[node], node, reason);
    }

    pub(super) fn execute(&self, task: Task) -> Outcome {
        let spec = &self.pipeline.nodes[task.node];
        let NodeKind::Step { step, identity, .. } = &spec.kind else {
            unreachable!("only steps are scheduled")
        };
        let span = tracing::info_span!(target: "mlflow", "step", node = %spec.name);
        let _entered = span.enter();
        let started = Instant::now();
        let key = cache_key(identity, &task.input_hashes);
        let hashes = task.input_hashes;
        let forced = self.options.force.covers(&spec.name, identity.name);
        let mut report = self.new_report(task.node, key, started);
        let reason = match self.probe(task.node, key, &hashes, forced) {
            Ok((bytes, entry)) => {
                let hash = entry.output;
                report.source_run = Some(entry.run_id);
                // A log this build cannot read is not a reason to recompute the step.
                report.log = entry
                    .log
                    .and_then(|bytes| crate::codec::decode(&bytes, u64::MAX).ok())
                    .unwrap_or_default();
                let value = self.stored(&spec.name, step, bytes);
                report.status = StepStatus::Cached;
                report.output_hash = Some(hash);
                report.duration = started.elapsed();
                self.emit(Event::StepCached { node: &spec.name, duration: report.duration });
                tracing::info!(target: "mlflow", node = %spec.name, "step cached");
                return Outcome { report, input_hashes: hashes, value: Some((value, hash)) };
            }
            Err(reason) => reason,
        };
        if let Some(target) = &self.options.cached_upstream_of
            && *target != spec.name
            && identity.options.cache
        {
            report.status = StepStatus::Failed;
            report.duration = started.elapsed();
            let error = format!(
                "node `{target}` runs alone (step mode), and its upstream step `{}` is not in the store ({reason}): its task has not run yet, or ran against another store",
                spec.name
            );
            self.emit(Event::StepFailed { node: &spec.name, error: &error, attempts: 0 });
            report.miss_reason = Some(reason);
            report.error = Some(error);
            return Outcome { report, input_hashes: hashes, value: None };
        }
        report.miss_reason = Some(reason);
        let inputs: std::result::Result<Vec<AnyArtifact>, Failure> = task
            .inputs
            .iter()
            .map(|input| input.value().map(Arc::clone).map_err(|e| Failure::message(input.decode_error(e))))
            .collect();
        let mut log = StepLog::default();
        let result = inputs.and_then(|inputs| {
            self.attempts(&spec.name, step, identity, &inputs, &mut report.attempts, &mut log)
        });
        let stored = result.and_then(|value| {
            let bytes = step
                .encode(&value)
                .map_err(|e| Failure::message(format!("cannot encode the output: {e}")))?;
            let hash = crate::codec::hash_bytes(&bytes);
            if identity.options.cache {
                let encoded_log = if log.is_empty() { None } else { crate::codec::encode(&log).ok() };
                // Garbage collection waits from the artifact write until the cache row refers to it.
                self.store
                    .hold_writes()
                    .and_then(|_writing| {
                        self.store.write_artifact(hash, &bytes)?;
                        self.store.cache_put(key, identity.name, hash, bytes.len(), &self.run_id, encoded_log)
                    })
                    .map_err(|e| Failure::message(format!("cannot store the output: {e}")))?;
            }
            Ok((Output::Value(value), hash))
        });
        report.duration = started.elapsed();
        report.log = log;
        match stored {
            Ok((value, hash)) => {
                report.output_hash = Some(hash);
                self.emit(Event::StepFinished {
                    node: &spec.name,
                    duration: report.duration,
                    attempts: report.attempts,
                });
                tracing::info!(target: "mlflow", node = %spec.name, attempts = report.attempts, "step finished");
                Outcome { report, input_hashes: hashes, value: Some((value, hash)) }
            }
            Err(Failure { message: error, source }) => {
                report.status = StepStatus::Failed;
                self.emit(Event::StepFailed { node: &spec.name, error: &error, attempts: report.attempts });
                tracing::warn!(target: "mlflow", node = %spec.name, %error, "step failed");
                report.error = Some(error);
                report.error_source = source;
                Outcome { report, input_hashes: hashes, value: None }
            }
        }
    }

    /// The report of step node `node` started at `started` under `key`, before anything happened
    /// (`ran`, no attempts yet).
    pub(super) fn new_report(&self, node: usize, key: ContentHash, started: Instant) -> StepReport {
        let spec = &self.pipeline.nodes[node];
        StepReport {
            node: spec.name.clone(),
            step: step_identity(spec).name,
            status: StepStatus::Ran,
            duration: Duration::ZERO,
            attempts: 0,
            cache_key: Some(key),
            output_hash: None,
            miss_reason: None,
            error: None,
            error_source: None,
            started: started.duration_since(self.started),
            source_run: None,
            log: StepLog::default(),
            tasks: None,
        }
    }

    /// Looks node `node`'s output up under `key` (unless `forced` or its step's caching is off):
    /// the verified bytes and their entry, or why the run must compute them.
    pub(super) fn probe(
        &self,
        node: usize,
        key: ContentHash,
        hashes: &[ContentHash],
        forced: bool,
    ) -> Result<(Vec<u8>, CacheEntry), MissReason> {
        let spec = &self.pipeline.nodes[node];
        let identity = step_identity(spec);
        if forced {
            return Err(MissReason::Forced);
        }
        if !identity.options.cache {
            return Err(MissReason::CacheDisabled);
        }
        lookup(self.store, key).map_err(|reason| {
            reason.unwrap_or_else(|| {
                // The last key's parts are read only when a miss needs explaining.
                let was =
                    self.previous.get(&spec.name).and_then(|key| self.store.key_parts(*key).ok().flatten());
                explain_miss(was.as_ref(), &key_parts(identity, self.pipeline.input_parts(node, hashes)))
            })
        })
    }

    /// Cached bytes of node `name`'s output, decoded by `step` when first needed.
    pub(super) fn stored(&self, name: &str, step: &Arc<dyn ErasedStep>, bytes: Vec<u8>) -> Output {
        Output::Stored(Arc::new(Stored {
            node: name.to_owned(),
            bytes,
            step: Arc::clone(step),
            limit: self.store.decode_limit(),
            value: OnceLock::new(),
        }))
    }

    /// Runs the attempts of a step until one succeeds or retries run out.
    pub(super) fn attempts(
        &self,
        node: &str,
        step: &Arc<dyn ErasedStep>,
        identity: &StepIdentity,
        inputs: &[AnyArtifact],
        attempts: &mut u32,
        log: &mut StepLog,
    ) -> std::result::Result<AnyArtifact, Failure> {
        let options = identity.options;
        loop {
            *attempts += 1;
            self.emit(Event::StepStarted { node, attempt: *attempts });
            // What the step logged is what its last attempt logged.
            let (result, attempt_log) = run_attempt(step, inputs, options.timeout);
            *log = attempt_log;
            let error = match result {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            if *attempts > options.retries {
                return Err(error);
            }
            let wait = options.backoff_before(*attempts);
            self.emit(Event::StepRetrying { node, attempt: *attempts, error: &error.message, wait });
            tracing::info!(target: "mlflow", %node, attempt = *attempts, error = %error.message, "retrying step");
            thread::sleep(wait);
        }
    }
}

pub(super) fn step_identity(spec: &crate::dag::NodeSpec) -> &StepIdentity {
    match &spec.kind {
        NodeKind::Step { identity, .. } => identity,
        NodeKind::Param { .. } => unreachable!("params are never skipped"),
    }
}

pub(super) fn mark_skipped(
    options: &RunOptions,
    sched: &mut Sched,
    spec: &crate::dag::NodeSpec,
    node: usize,
    reason: String,
) {
    for observer in &options.observers {
        observer.on_event(&Event::StepSkipped { node: &spec.name, reason: &reason });
    }
    tracing::info!(target: "mlflow", node = %spec.name, %reason, "step skipped");
    sched.slots[node] = Slot::Failed;
    sched.reports[node] = Some(StepReport {
        node: spec.name.clone(),
        step: step_identity(spec).name,
        status: StepStatus::Skipped,
        duration: Duration::ZERO,
        attempts: 0,
        cache_key: None,
        output_hash: None,
        miss_reason: None,
        error: Some(reason),
        error_source: None,
        started: Duration::ZERO,
        source_run: None,
        log: StepLog::default(),
        tasks: None,
    });
}
