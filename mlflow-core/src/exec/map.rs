//! Mapped nodes ([`Pipeline::map`](crate::dag::Pipeline::map)): a node whose tasks, one per
//! combination of its `Vec` inputs' elements, each have their own cache entry and run on the
//! run's workers like steps do.
//!
//! The node itself is cached too, under a key of its own over its inputs: a rerun with the same
//! inputs reads one entry, not one per task. On a miss the node is expanded: every task's key is
//! looked up, the tasks that miss are queued for the workers, and the last task to finish puts
//! the output together from the tasks' encoded outputs ([`codec::encode_seq`]), so no task output
//! is decoded or encoded again.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::attempt::Failure;
use super::events::Event;
use super::miss::{MissReason, cache_key, lookup};
use super::output::Output;
use super::plan::PlannedTasks;
use super::report::{StepReport, StepStatus};
use super::schedule::{Outcome, Run, Task};
use crate::artifact::AnyArtifact;
use crate::codec::{self, ContentHash, Hasher};
use crate::dag::{ErasedStep, NodeKind, Pipeline, StepIdentity};
use crate::map::Elements;
use crate::step::SharedStepError;
use crate::store::Store;
use crate::store::cache::NewEntry;
use crate::track::StepLog;
use crate::track::runs::{TaskCounts, TaskFailure};

/// The key of a mapped node as a whole: its step's key over the node's inputs (the lists and the
/// shared values), in a domain of its own, and whether its output holds `Option`s
/// ([`Pipeline::try_map`](crate::dag::Pipeline::try_map)).
pub(super) fn map_key(identity: &StepIdentity, input_hashes: &[ContentHash], options: bool) -> ContentHash {
    Hasher::new("mlflow/map-key/v1")
        .part(cache_key(identity, input_hashes).as_bytes())
        .part(&[u8::from(options)])
        .finish()
}

/// The encoding of `Option::Some` before its value, and of `None`.
const OPTION_SOME: u8 = 1;
const OPTION_NONE: u8 = 0;

/// The tasks of mapped node `node` as a plan sees them, when its inputs' values can be had
/// without running anything: params, and outputs of steps the plan expects to hit (`known`, by
/// node, holds their output hashes). `whole_hit`: the node hits as a whole.
pub(super) fn plan_tasks(
    pipeline: &Pipeline,
    store: &Store,
    node: usize,
    known: &[Option<ContentHash>],
    use_cache: bool,
    whole_hit: bool,
) -> Option<PlannedTasks> {
    let NodeKind::Step { identity, .. } = &pipeline.nodes[node].kind else { return None };
    let job_inputs = known_inputs(pipeline, store, node, known).ok()?;
    let total = task_count(&job_inputs);
    if whole_hit {
        return Some(PlannedTasks { total, cached: total });
    }
    let cached = match use_cache {
        true => (0..total)
            .filter(|&task| lookup(store, cache_key(identity, &task_inputs(&job_inputs, task).1)).is_ok())
            .count(),
        false => 0,
    };
    Some(PlannedTasks { total, cached })
}

/// The inputs of mapped node `node`, taken apart, from params and the stored outputs of the steps
/// whose output hashes `known` holds (by node). The error says which input could not be had.
fn known_inputs(
    pipeline: &Pipeline,
    store: &Store,
    node: usize,
    known: &[Option<ContentHash>],
) -> Result<Vec<JobInput>, String> {
    let spec = &pipeline.nodes[node];
    let NodeKind::Step { step, inputs, .. } = &spec.kind else {
        return Err(format!("`{}` is a param, not a mapped step", spec.name));
    };
    let map = step.mapped().ok_or_else(|| format!("`{}` is not a mapped step", spec.name))?;
    let mut job_inputs = Vec::with_capacity(inputs.len());
    for (&input, splitter) in inputs.iter().zip(map.splitters()) {
        let upstream = &pipeline.nodes[input];
        let hash = known[input].ok_or_else(|| format!("the output of `{}` is not known", upstream.name))?;
        let value: AnyArtifact = match &upstream.kind {
            NodeKind::Param { value, .. } => Arc::clone(value),
            NodeKind::Step { step, .. } => {
                let unreadable = |e: &dyn std::fmt::Display| {
                    format!("the output of `{}` cannot be read: {e}", upstream.name)
                };
                let bytes = store.read_artifact(hash).map_err(|e| unreadable(&e))?;
                step.decode(&bytes, store.decode_limit()).map_err(|e| unreadable(&e))?
            }
        };
        job_inputs.push(match splitter {
            None => JobInput::Shared(value, hash),
            Some(split) => JobInput::Elements(split(&value)?),
        });
    }
    Ok(job_inputs)
}

/// How many tasks mapped node `node` has, its inputs' output hashes in `known` (by node).
pub(super) fn known_task_count(
    pipeline: &Pipeline,
    store: &Store,
    node: usize,
    known: &[Option<ContentHash>],
) -> Result<usize, String> {
    known_inputs(pipeline, store, node, known).map(|inputs| task_count(&inputs))
}

fn task_count(inputs: &[JobInput]) -> usize {
    inputs
        .iter()
        .map(|input| match input {
            JobInput::Elements(elements) => elements.len(),
            JobInput::Shared(..) => 1,
        })
        .product()
}

/// The inputs of task `task`, and their hashes: the element of each list (the first list
/// outermost), the shared values.
fn task_inputs(inputs: &[JobInput], task: usize) -> (Vec<AnyArtifact>, Vec<ContentHash>) {
    let mut rest = task;
    let mut picks = vec![0; inputs.len()];
    for (k, input) in inputs.iter().enumerate().rev() {
        if let JobInput::Elements(elements) = input {
            picks[k] = rest % elements.len();
            rest /= elements.len();
        }
    }
    inputs
        .iter()
        .zip(picks)
        .map(|(input, pick)| match input {
            JobInput::Shared(value, hash) => (Arc::clone(value), *hash),
            JobInput::Elements(elements) => (Arc::clone(&elements[pick].0), elements[pick].1),
        })
        .unzip()
}

/// An input of a mapped node: one value for every task, or one element per task.
enum JobInput {
    Shared(AnyArtifact, ContentHash),
    Elements(Elements),
}

enum TaskResult {
    Done { bytes: Arc<Vec<u8>>, cached: bool, attempts: u32 },
    Failed { error: String, source: Option<SharedStepError>, attempts: u32 },
}

/// A mapped node being run: its tasks' inputs and results.
pub(super) struct MapJob {
    pub(super) node: usize,
    key: ContentHash,
    input_hashes: Vec<ContentHash>,
    miss_reason: MissReason,
    started: Instant,
    inputs: Vec<JobInput>,
    total: usize,
    /// Step mode on one task: its index; the others are neither looked up nor run.
    only: Option<usize>,
    results: Mutex<Vec<Option<TaskResult>>>,
    remaining: AtomicUsize,
    /// Finished tasks whose outputs are not stored yet, and when the last batch was stored.
    pending: Mutex<(Vec<Unstored>, Instant)>,
    /// The first error storing a task's output.
    store_error: Mutex<Option<String>>,
}

/// A finished task whose output and cache entry are still to be written.
struct Unstored {
    key: ContentHash,
    bytes: Arc<Vec<u8>>,
    log: Option<Vec<u8>>,
}

/// How often the outputs of a mapped step's finished tasks are stored, one transaction each time:
/// a run killed mid-way loses at most this much finished work, and a map of many short tasks
/// does not pay a transaction per task.
const STORE_EVERY: Duration = Duration::from_millis(50);

impl MapJob {
    fn lock_pending(&self) -> std::sync::MutexGuard<'_, (Vec<Unstored>, Instant)> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn task_inputs(&self, task: usize) -> (Vec<AnyArtifact>, Vec<ContentHash>) {
        task_inputs(&self.inputs, task)
    }
}

/// What expanding a mapped node gave: its outcome already, or tasks to run.
pub(super) enum MapStart {
    Done(Box<Outcome>),
    Pending(Arc<MapJob>, Vec<usize>),
}

impl Run<'_> {
    fn map_parts(&self, node: usize) -> (&str, &Arc<dyn ErasedStep>, &StepIdentity) {
        let spec = &self.pipeline.nodes[node];
        let NodeKind::Step { step, identity, .. } = &spec.kind else {
            unreachable!("only steps are scheduled")
        };
        (&spec.name, step, identity)
    }

    fn element_step(&self, node: usize) -> &Arc<dyn ErasedStep> {
        let (_, step, _) = self.map_parts(node);
        step.mapped().expect("a mapped node").element()
    }

    /// Looks the node up as a whole, and on a miss, each of its tasks.
    pub(super) fn start_map(&self, task: Task) -> MapStart {
        let started = Instant::now();
        let (name, step, identity) = self.map_parts(task.node);
        let span = tracing::info_span!(target: "mlflow", "step", node = %name);
        let _entered = span.enter();
        let map = step.mapped().expect("a mapped node");
        let key = map_key(identity, &task.input_hashes, map.max_failed().is_some());
        let forced = self.options.force.covers(name, identity.name);
        let use_cache = identity.options.cache && !forced;
        let mut report = self.new_report(task.node, key, started);
        // Step mode on one task of this node: the whole is not looked up, only that task.
        let only = match &self.options.map_task {
            Some((node, k)) if node == name => Some(*k),
            _ => None,
        };
        let probed = match only {
            Some(_) => Err(MissReason::NotCached),
            None => self.probe(task.node, key, &task.input_hashes, forced),
        };
        let miss_reason = match probed {
            Ok((bytes, entry)) => {
                let total = codec::seq_len(&bytes).unwrap_or(0);
                report.status = StepStatus::Cached;
                report.source_run = Some(entry.run_id);
                report.output_hash = Some(entry.output);
                report.tasks = Some(TaskCounts { total, cached: total, ..TaskCounts::default() });
                report.duration = started.elapsed();
                self.emit(Event::StepCached { node: name, duration: report.duration });
                let value = self.stored(name, step, bytes);
                let outcome =
                    Outcome { report, input_hashes: task.input_hashes, value: Some((value, entry.output)) };
                return MapStart::Done(Box::new(outcome));
            }
            Err(reason) => reason,
        };
        if only.is_none()
            && let Some(target) = &self.options.cached_upstream_of
            && target != name
            && identity.options.cache
        {
            let error = format!(
                "node `{target}` runs alone (step mode), and its upstream mapped step `{name}` is not in the store ({miss_reason}): its tasks and its own task have not all run yet, or ran against another store"
            );
            return MapStart::Done(Box::new(self.map_failed(
                report,
                task.input_hashes,
                miss_reason,
                error,
                started,
            )));
        }
        let mut inputs = Vec::with_capacity(task.inputs.len());
        let splitters = map.splitters();
        for ((input, hash), splitter) in task.inputs.iter().zip(&task.input_hashes).zip(splitters) {
            let value = match input.value() {
                Ok(value) => value,
                Err(e) => {
                    return MapStart::Done(Box::new(self.map_failed(
                        report,
                        task.input_hashes,
                        miss_reason,
                        input.decode_error(e),
                        started,
                    )));
                }
            };
            inputs.push(match splitter {
                None => JobInput::Shared(Arc::clone(value), *hash),
                Some(split) => match split(value) {
                    Ok(elements) => JobInput::Elements(elements),
                    Err(error) => {
                        return MapStart::Done(Box::new(self.map_failed(
                            report,
                            task.input_hashes,
                            miss_reason,
                            error,
                            started,
                        )));
                    }
                },
            });
        }
        let total = task_count(&inputs);
        if let Some(k) = only.filter(|&k| k >= total) {
            report.tasks = Some(TaskCounts { total, ..TaskCounts::default() });
            let error = format!(
                "task {k} of mapped step `{name}` does not exist: it has {total} task(s) for these inputs, numbered from 0 (`step --node ID --tasks` lists them)"
            );
            return MapStart::Done(Box::new(self.map_failed(
                report,
                task.input_hashes,
                miss_reason,
                error,
                started,
            )));
        }
        let job = MapJob {
            node: task.node,
            key,
            input_hashes: task.input_hashes,
            miss_reason,
            started,
            inputs,
            total,
            only,
            results: Mutex::new((0..total).map(|_| None).collect()),
            remaining: AtomicUsize::new(0),
            pending: Mutex::new((Vec::new(), Instant::now())),
            store_error: Mutex::new(None),
        };
        let mut misses = Vec::new();
        {
            let mut results = job.results.lock().unwrap_or_else(|p| p.into_inner());
            for (i, result) in results.iter_mut().enumerate() {
                if only.is_some_and(|k| k != i) {
                    continue;
                }
                if use_cache {
                    let (_, hashes) = job.task_inputs(i);
                    if let Ok((bytes, _)) = lookup(self.store, cache_key(identity, &hashes)) {
                        *result =
                            Some(TaskResult::Done { bytes: Arc::new(bytes), cached: true, attempts: 0 });
                        continue;
                    }
                }
                misses.push(i);
            }
        }
        // Alone, the node has one task to see through.
        let queued = if only.is_some() { 1 } else { total };
        self.emit(Event::TasksQueued { node: name, total: queued, cached: queued - misses.len() });
        job.remaining.store(misses.len(), Ordering::Release);
        let job = Arc::new(job);
        if misses.is_empty() {
            return MapStart::Done(Box::new(self.finish_map(&job)));
        }
        MapStart::Pending(job, misses)
    }

    fn map_failed(
        &self,
        mut report: StepReport,
        input_hashes: Vec<ContentHash>,
        reason: MissReason,
        error: String,
        started: Instant,
    ) -> Outcome {
        report.status = StepStatus::Failed;
        report.miss_reason = Some(reason);
        report.duration = started.elapsed();
        self.emit(Event::StepFailed { node: &report.node, error: &error, attempts: 0 });
        tracing::warn!(target: "mlflow", node = %report.node, %error, "step failed");
        report.error = Some(error);
        Outcome { report, input_hashes, value: None }
    }

    /// Runs task `task` of `job`; the outcome of the node when it was the last to finish.
    pub(super) fn run_task(&self, job: &MapJob, task: usize) -> Option<Box<Outcome>> {
        let (name, _, identity) = self.map_parts(job.node);
        let element = self.element_step(job.node);
        let (inputs, hashes) = job.task_inputs(task);
        let mut attempts = 0;
        let mut log = StepLog::default();
        let result =
            self.attempts(name, element, identity, &inputs, &mut attempts, &mut log).and_then(|value| {
                element.encode(&value).map_err(|e| Failure::message(format!("cannot encode the output: {e}")))
            });
        let result = match result {
            Ok(bytes) => {
                let bytes = Arc::new(bytes);
                if identity.options.cache {
                    let log = if log.is_empty() { None } else { codec::encode(&log).ok() };
                    let entry =
                        Unstored { key: cache_key(identity, &hashes), bytes: Arc::clone(&bytes), log };
                    let due = {
                        let mut pending = job.lock_pending();
                        pending.0.push(entry);
                        (pending.1.elapsed() >= STORE_EVERY).then(|| {
                            pending.1 = Instant::now();
                            std::mem::take(&mut pending.0)
                        })
                    };
                    if let Some(batch) = due {
                        self.store_tasks(job, identity, batch);
                    }
                }
                TaskResult::Done { bytes, cached: false, attempts }
            }
            Err(Failure { message, source }) => {
                tracing::warn!(target: "mlflow", node = %name, task, error = %message, "task failed");
                TaskResult::Failed { error: message, source, attempts }
            }
        };
        let failed = matches!(result, TaskResult::Failed { .. });
        self.lock_results(job)[task] = Some(result);
        self.emit(Event::TaskFinished { node: name, task, failed });
        (job.remaining.fetch_sub(1, Ordering::AcqRel) == 1).then(|| Box::new(self.finish_map(job)))
    }

    fn lock_results<'j>(&self, job: &'j MapJob) -> std::sync::MutexGuard<'j, Vec<Option<TaskResult>>> {
        job.results.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes finished tasks' outputs and their cache entries, the entries in one transaction. A
    /// failure is kept in the job and fails the mapped step when it finishes.
    fn store_tasks(&self, job: &MapJob, identity: &StepIdentity, batch: Vec<Unstored>) {
        if batch.is_empty() {
            return;
        }
        let stored = self.store.hold_writes().and_then(|_writing| {
            let mut entries = Vec::with_capacity(batch.len());
            for task in batch {
                let output = codec::hash_bytes(&task.bytes);
                // A task lost in a crash is a verified miss and runs again: no fsync per task.
                self.store.write_artifact_unsynced(output, &task.bytes)?;
                entries.push(NewEntry {
                    key: task.key,
                    step: identity.name,
                    output,
                    size: task.bytes.len(),
                    log: task.log,
                });
            }
            self.store.cache_put_many(&self.run_id, &entries)
        });
        if let Err(e) = stored {
            let mut error = job.store_error.lock().unwrap_or_else(|p| p.into_inner());
            error.get_or_insert_with(|| format!("cannot store the output of a task: {e}"));
        }
    }

    /// Puts the node's output together from its tasks' outputs, once every task is done.
    fn finish_map(&self, job: &MapJob) -> Outcome {
        let (name, step, identity) = self.map_parts(job.node);
        let rest = std::mem::take(&mut job.lock_pending().0);
        self.store_tasks(job, identity, rest);
        let mut report = self.new_report(job.node, job.key, job.started);
        report.miss_reason = Some(job.miss_reason.clone());
        if let Some(task) = job.only {
            return self.finish_one(job, task, report);
        }
        let results = std::mem::take(&mut *self.lock_results(job));
        // A map that tolerates failures ([`Pipeline::try_map`]) gives `Option`s: each task's
        // bytes after the tag of `Some`, a failed task the tag of `None`.
        let tolerated = step.mapped().and_then(|map| map.max_failed());
        let mut counts = TaskCounts { total: job.total, ..TaskCounts::default() };
        let mut first_source = None;
        let mut parts = Vec::with_capacity(results.len());
        for (index, result) in results.into_iter().enumerate() {
            match result.expect("every task is done") {
                TaskResult::Done { bytes, cached, attempts } => {
                    if cached {
                        counts.cached += 1
                    } else {
                        counts.ran += 1
                    }
                    report.attempts += attempts;
                    parts.push(match tolerated {
                        Some(_) => [&[OPTION_SOME][..], &bytes].concat(),
                        None => Arc::unwrap_or_clone(bytes),
                    });
                }
                TaskResult::Failed { error, source, attempts } => {
                    report.attempts += attempts;
                    if first_source.is_none() {
                        first_source = source;
                    }
                    counts.failed.push(TaskFailure { index, error });
                    parts.push(vec![OPTION_NONE]);
                }
            }
        }
        let store_error = job.store_error.lock().unwrap_or_else(|p| p.into_inner()).take();
        let outcome = if let Some(message) = store_error {
            Err(Failure::message(message))
        } else if counts.failed.len() <= tolerated.unwrap_or(0) {
            // With failed tasks the whole is not cached: a rerun tries them again.
            self.put_together(job, name, step, identity, parts, counts.failed.is_empty())
        } else {
            let shown: Vec<String> =
                counts.failed.iter().take(3).map(|f| format!("task {}: {}", f.index, f.error)).collect();
            let more = counts.failed.len().saturating_sub(3);
            Err(Failure {
                message: format!(
                    "{} of {} tasks failed{} ({}{}); the others are cached, and a rerun runs only the failed ones",
                    counts.failed.len(),
                    job.total,
                    tolerated.map(|n| format!(", more than the {n} allowed")).unwrap_or_default(),
                    shown.join("; "),
                    if more > 0 { format!("; {more} more") } else { String::new() }
                ),
                source: first_source,
            })
        };
        report.status = if counts.ran == 0 { StepStatus::Cached } else { StepStatus::Ran };
        report.tasks = Some(counts);
        report.duration = job.started.elapsed();
        match outcome {
            Ok((value, hash)) => {
                report.output_hash = Some(hash);
                self.emit(Event::StepFinished {
                    node: name,
                    duration: report.duration,
                    attempts: report.attempts,
                });
                tracing::info!(target: "mlflow", node = %name, "mapped step finished");
                Outcome { report, input_hashes: job.input_hashes.clone(), value: Some((value, hash)) }
            }
            Err(Failure { message, source }) => {
                report.status = StepStatus::Failed;
                self.emit(Event::StepFailed { node: name, error: &message, attempts: report.attempts });
                tracing::warn!(target: "mlflow", node = %name, error = %message, "mapped step failed");
                report.error = Some(message);
                report.error_source = source;
                Outcome { report, input_hashes: job.input_hashes.clone(), value: None }
            }
        }
    }

    /// The outcome of a run of one task alone (step mode): the task's output hash as the node's,
    /// its value undecoded (nothing downstream runs); the counts say which of the node's tasks
    /// ran or hit.
    fn finish_one(&self, job: &MapJob, task: usize, mut report: StepReport) -> Outcome {
        let (name, _, _) = self.map_parts(job.node);
        let element = self.element_step(job.node);
        let result = self.lock_results(job)[task].take().expect("the task is done");
        let store_error = job.store_error.lock().unwrap_or_else(|p| p.into_inner()).take();
        let mut counts = TaskCounts { total: job.total, ..TaskCounts::default() };
        let outcome = match result {
            TaskResult::Done { bytes, cached, attempts } => {
                report.attempts = attempts;
                if cached {
                    counts.cached = 1
                } else {
                    counts.ran = 1
                }
                match store_error {
                    Some(message) => Err(Failure::message(message)),
                    None => Ok(Arc::unwrap_or_clone(bytes)),
                }
            }
            TaskResult::Failed { error, source, attempts } => {
                report.attempts = attempts;
                counts.failed.push(TaskFailure { index: task, error: error.clone() });
                Err(Failure { message: format!("task {task}: {error}"), source })
            }
        };
        report.status = if counts.ran == 0 { StepStatus::Cached } else { StepStatus::Ran };
        report.tasks = Some(counts);
        report.duration = job.started.elapsed();
        match outcome {
            Ok(bytes) => {
                let hash = codec::hash_bytes(&bytes);
                report.output_hash = Some(hash);
                self.emit(Event::StepFinished {
                    node: name,
                    duration: report.duration,
                    attempts: report.attempts,
                });
                let value = self.stored(name, element, bytes);
                Outcome { report, input_hashes: job.input_hashes.clone(), value: Some((value, hash)) }
            }
            Err(Failure { message, source }) => {
                report.status = StepStatus::Failed;
                self.emit(Event::StepFailed { node: name, error: &message, attempts: report.attempts });
                report.error = Some(message);
                report.error_source = source;
                Outcome { report, input_hashes: job.input_hashes.clone(), value: None }
            }
        }
    }

    fn put_together(
        &self,
        job: &MapJob,
        name: &str,
        step: &Arc<dyn ErasedStep>,
        identity: &StepIdentity,
        parts: Vec<Vec<u8>>,
        cache: bool,
    ) -> Result<(Output, ContentHash), Failure> {
        let bytes = codec::encode_seq(parts.iter().map(Vec::as_slice))
            .map_err(|e| Failure::message(format!("cannot encode the output: {e}")))?;
        let hash = codec::hash_bytes(&bytes);
        if identity.options.cache && cache {
            self.store
                .hold_writes()
                .and_then(|_writing| {
                    self.store.write_artifact(hash, &bytes)?;
                    self.store.cache_put(job.key, identity.name, hash, bytes.len(), &self.run_id, None)
                })
                .map_err(|e| Failure::message(format!("cannot store the output: {e}")))?;
        }
        Ok((self.stored(name, step, bytes), hash))
    }
}
