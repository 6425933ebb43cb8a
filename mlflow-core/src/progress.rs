//! A progress bar for runs on a terminal: steps done of total, the step(s) running, cache hits
//! and failures. Needs the `progress` cargo feature (on by default).
//!
//! [`Progress`] is an [`Observer`]: hand it to [`RunOptions::observe`]. [`Progress::stderr`]
//! draws on standard error when it is a terminal and does nothing at all otherwise (piped
//! output, CI logs, tests), so it can be left on unconditionally.
//!
//! ```
//! # use mlflow_core::prelude::*;
//! # #[mlflow_macros::step(crate = mlflow_core)]
//! # fn double(x: &u64) -> u64 {
//! #     x * 2
//! # }
//! # let dir = tempfile::tempdir().unwrap();
//! # let store = Store::open(dir.path()).unwrap();
//! use mlflow_core::progress::Progress;
//!
//! let mut p = Pipeline::new("with-progress");
//! let x = p.param("x", 21u64);
//! let y = p.step(DoubleStep, x);
//! let report = p.run_with(&store, RunOptions::new().observe(Progress::stderr()))?;
//! assert_eq!(*report.get(y)?, 42);
//! # Ok::<(), mlflow_core::Error>(())
//! ```
//!
//! [`RunOptions::observe`]: crate::exec::RunOptions::observe

use std::io::IsTerminal;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::exec::{Event, Observer};

/// The running steps are listed in the message up to about this many characters; the rest are
/// counted (`+3 more`). The terminal width cuts the line further when it is narrower.
const RUNNING_CHARS: usize = 60;

const TEMPLATE: &str = "{spinner} {prefix} [{bar:30}] {pos}/{len} {elapsed} {wide_msg}";

/// A progress bar observing a run. Cheap to clone: clones share the bar and the state, so a
/// caller can keep one to read [`Progress::snapshot`] while another observes the run.
///
/// The bar shows the pipeline name, finished steps (ran, cached, failed or skipped) of the
/// total, the elapsed time, and a message such as `4 cached, 1 failed | running: train_svm,
/// train_knn`. When the run finishes the bar is cleared and a one-line summary is left in its
/// place (on a terminal only).
///
/// ```
/// use std::time::Duration;
/// use mlflow_core::exec::{Event, Observer};
/// use mlflow_core::progress::Progress;
///
/// let progress = Progress::hidden();
/// progress.on_event(&Event::RunStarted { run_id: "r1", pipeline: "demo", steps: 3 });
/// progress.on_event(&Event::StepCached { node: "load", duration: Duration::ZERO });
/// progress.on_event(&Event::StepStarted { node: "train", attempt: 1 });
/// let now = progress.snapshot();
/// assert_eq!((now.position, now.length), (1, 3));
/// assert_eq!(now.running, ["train"]);
/// assert_eq!(now.message, "1 cached | running: train");
/// ```
#[derive(Clone)]
pub struct Progress {
    inner: Option<Arc<Inner>>,
}

struct Inner {
    /// Drawing on standard error rather than only recording.
    visible: bool,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The bar of the current run (a finished bar does not draw again: each run gets its own).
    bar: Option<ProgressBar>,
    pipeline: String,
    total: usize,
    ran: usize,
    cached: usize,
    failed: usize,
    skipped: usize,
    /// Running steps in the order they started, with their current attempt.
    running: Vec<(String, u32)>,
    /// Running mapped steps: tasks done (cached or finished) and tasks in all.
    tasks: Vec<(String, usize, usize)>,
    started: Option<Instant>,
    finished: bool,
}

impl State {
    fn done(&self) -> usize {
        self.ran + self.cached + self.failed + self.skipped
    }

    fn stop(&mut self, node: &str) {
        self.running.retain(|(n, _)| n != node);
        self.tasks.retain(|(n, ..)| n != node);
    }

    fn message(&self) -> String {
        let mut counts = vec![format!("{} cached", self.cached)];
        if self.failed > 0 {
            counts.push(format!("{} failed", self.failed));
        }
        if self.skipped > 0 {
            counts.push(format!("{} skipped", self.skipped));
        }
        let mut message = counts.join(", ");
        if !self.running.is_empty() {
            message.push_str(" | running: ");
            message.push_str(&running_list(&self.running, &self.tasks, RUNNING_CHARS));
        }
        message
    }

    fn summary(&self) -> String {
        let elapsed = self.started.map(|s| s.elapsed()).unwrap_or_default();
        format!(
            "{}: {}/{} steps in {} ({} ran, {} cached, {} failed, {} skipped)",
            self.pipeline,
            self.done(),
            self.total,
            format_duration(elapsed),
            self.ran,
            self.cached,
            self.failed,
            self.skipped
        )
    }
}

/// `a, b, c` within about `max` characters, then `+N more`. Retried steps show their attempt.
fn running_list(running: &[(String, u32)], tasks: &[(String, usize, usize)], max: usize) -> String {
    let mut out = String::new();
    for (i, (node, attempt)) in running.iter().enumerate() {
        let item = match tasks.iter().find(|(n, ..)| n == node) {
            Some((_, done, total)) => format!("{node} ({done}/{total} tasks)"),
            None if *attempt > 1 => format!("{node} (attempt {attempt})"),
            None => node.clone(),
        };
        let sep = if i == 0 { "" } else { ", " };
        // Always show the first step, whatever its length.
        if i > 0 && out.chars().count() + sep.len() + item.chars().count() > max {
            out.push_str(&format!(", +{} more", running.len() - i));
            break;
        }
        out.push_str(sep);
        out.push_str(&item);
    }
    out
}

fn format_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 { format!("{secs:.1}s") } else { format!("{}m{:02}s", d.as_secs() / 60, d.as_secs() % 60) }
}

/// What a [`Progress`] shows, for tests and for callers that draw their own display.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Snapshot {
    /// Pipeline name of the current (or last) run.
    pub pipeline: String,
    /// The bar's position: steps finished (ran, cached, failed or skipped).
    pub position: u64,
    /// The bar's length: steps in the run.
    pub length: u64,
    /// Steps that ran.
    pub ran: usize,
    /// Steps served from the cache.
    pub cached: usize,
    /// Steps that failed.
    pub failed: usize,
    /// Steps skipped.
    pub skipped: usize,
    /// Steps running now, in the order they started.
    pub running: Vec<String>,
    /// The bar's message text.
    pub message: String,
    /// The run finished.
    pub finished: bool,
}

impl Progress {
    /// A bar on standard error when it is a terminal; otherwise an observer that does nothing.
    pub fn stderr() -> Self {
        if !std::io::stderr().is_terminal() {
            return Self::disabled();
        }
        Self::with_mode(true)
    }

    /// A bar that never draws but keeps its state: for tests, or to read [`Progress::snapshot`]
    /// from elsewhere.
    pub fn hidden() -> Self {
        Self::with_mode(false)
    }

    /// An observer that ignores every event.
    pub fn disabled() -> Self {
        Progress { inner: None }
    }

    fn with_mode(visible: bool) -> Self {
        Progress { inner: Some(Arc::new(Inner { visible, state: Mutex::new(State::default()) })) }
    }

    /// Whether this observer draws on a terminal.
    pub fn is_visible(&self) -> bool {
        self.inner.as_ref().is_some_and(|i| i.visible)
    }

    /// Whether this observer records anything (false for [`Progress::disabled`], and for
    /// [`Progress::stderr`] when standard error is not a terminal).
    pub fn is_enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// Runs `f` with the bar hidden, so that what `f` prints does not mix with it.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        let bar = self.inner.as_ref().and_then(|i| i.lock().bar.clone());
        match bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    /// The state shown now (all zero and empty for a disabled observer).
    pub fn snapshot(&self) -> Snapshot {
        let Some(inner) = &self.inner else {
            return Snapshot {
                pipeline: String::new(),
                position: 0,
                length: 0,
                ran: 0,
                cached: 0,
                failed: 0,
                skipped: 0,
                running: Vec::new(),
                message: String::new(),
                finished: false,
            };
        };
        let state = inner.lock();
        let bar = state.bar.as_ref();
        Snapshot {
            pipeline: state.pipeline.clone(),
            position: bar.map_or(0, |b| b.position()),
            length: bar.and_then(|b| b.length()).unwrap_or(0),
            ran: state.ran,
            cached: state.cached,
            failed: state.failed,
            skipped: state.skipped,
            running: state.running.iter().map(|(n, _)| n.clone()).collect(),
            message: bar.map(|b| b.message()).unwrap_or_default(),
            finished: state.finished,
        }
    }
}

impl Inner {
    fn new_bar(&self, pipeline: &str, steps: usize) -> ProgressBar {
        let bar = if self.visible {
            ProgressBar::with_draw_target(Some(steps as u64), ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        let style = ProgressStyle::with_template(TEMPLATE)
            .expect("the progress template is valid")
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_length(steps as u64);
        bar.set_prefix(pipeline.to_owned());
        if self.visible {
            bar.enable_steady_tick(Duration::from_millis(100));
        }
        bar
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking observer elsewhere must not silence the bar.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress")
            .field("enabled", &self.is_enabled())
            .field("visible", &self.is_visible())
            .finish()
    }
}

impl Observer for Progress {
    fn on_event(&self, event: &Event<'_>) {
        let Some(inner) = &self.inner else { return };
        // The bar is updated under the lock so that concurrent workers leave it consistent.
        let mut state = inner.lock();
        match *event {
            Event::RunStarted { pipeline, steps, .. } => {
                if let Some(old) = state.bar.take() {
                    old.finish_and_clear();
                }
                *state = State {
                    bar: Some(inner.new_bar(pipeline, steps)),
                    pipeline: pipeline.to_owned(),
                    total: steps,
                    started: Some(Instant::now()),
                    ..State::default()
                };
            }
            Event::StepStarted { node, attempt } => match state.running.iter_mut().find(|(n, _)| n == node) {
                Some(entry) => entry.1 = attempt,
                None => state.running.push((node.to_owned(), attempt)),
            },
            Event::StepRetrying { .. } => {}
            Event::TasksQueued { node, total, cached } => {
                if !state.running.iter().any(|(n, _)| n == node) {
                    state.running.push((node.to_owned(), 1));
                }
                state.tasks.push((node.to_owned(), cached, total));
            }
            Event::TaskFinished { node, .. } => {
                if let Some(entry) = state.tasks.iter_mut().find(|(n, ..)| n == node) {
                    entry.1 += 1;
                }
            }
            Event::StepCached { node, .. } => {
                state.stop(node);
                state.cached += 1;
            }
            Event::StepFinished { node, .. } => {
                state.stop(node);
                state.ran += 1;
            }
            Event::StepFailed { node, .. } => {
                state.stop(node);
                state.failed += 1;
            }
            Event::StepSkipped { node, .. } => {
                state.stop(node);
                state.skipped += 1;
            }
            Event::RunFinished { ran, cached, failed, skipped, .. } => {
                // The executor's counts are authoritative (skips are reported after the fact).
                state.ran = ran;
                state.cached = cached;
                state.failed = failed;
                state.skipped = skipped;
                state.running.clear();
                state.finished = true;
            }
        }
        // Events before any RunStarted only count.
        let Some(bar) = &state.bar else { return };
        bar.set_position(state.done() as u64);
        bar.set_message(state.message());
        if state.finished {
            if inner.visible {
                bar.println(state.summary());
            }
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(progress: &Progress, events: &[Event<'_>]) {
        for event in events {
            progress.on_event(event);
        }
    }

    #[test]
    fn tracks_position_running_set_and_counts() {
        let p = Progress::hidden();
        assert!(p.is_enabled() && !p.is_visible());
        feed(
            &p,
            &[
                Event::RunStarted { run_id: "r", pipeline: "titanic", steps: 6 },
                Event::StepCached { node: "ingest", duration: Duration::from_millis(3) },
                Event::StepStarted { node: "train_svm", attempt: 1 },
                Event::StepStarted { node: "train_knn", attempt: 1 },
            ],
        );
        let s = p.snapshot();
        assert_eq!((s.position, s.length), (1, 6));
        assert_eq!(s.pipeline, "titanic");
        assert_eq!(s.running, ["train_svm", "train_knn"]);
        assert_eq!(s.message, "1 cached | running: train_svm, train_knn");

        feed(
            &p,
            &[
                Event::StepRetrying {
                    node: "train_svm",
                    attempt: 1,
                    error: "flaky",
                    wait: Duration::from_millis(10),
                },
                Event::StepStarted { node: "train_svm", attempt: 2 },
                Event::StepFinished { node: "train_knn", duration: Duration::from_millis(5), attempts: 1 },
            ],
        );
        let s = p.snapshot();
        assert_eq!((s.position, s.ran, s.cached), (2, 1, 1));
        assert_eq!(s.running, ["train_svm"]);
        assert_eq!(s.message, "1 cached | running: train_svm (attempt 2)");

        feed(
            &p,
            &[
                Event::StepFailed { node: "train_svm", error: "boom", attempts: 2 },
                Event::StepSkipped { node: "evaluate_svm", reason: "upstream failed" },
            ],
        );
        let s = p.snapshot();
        assert_eq!((s.position, s.failed, s.skipped), (4, 1, 1));
        assert!(s.running.is_empty());
        assert_eq!(s.message, "1 cached, 1 failed, 1 skipped");
        assert!(!s.finished);

        p.on_event(&Event::RunFinished { run_id: "r", ran: 1, cached: 3, failed: 1, skipped: 1 });
        let s = p.snapshot();
        assert!(s.finished);
        assert_eq!((s.position, s.length), (6, 6));
        assert_eq!(s.message, "3 cached, 1 failed, 1 skipped");
    }

    #[test]
    fn a_new_run_resets_the_state() {
        let p = Progress::hidden();
        feed(
            &p,
            &[
                Event::RunStarted { run_id: "a", pipeline: "first", steps: 2 },
                Event::StepCached { node: "x", duration: Duration::ZERO },
                Event::StepCached { node: "y", duration: Duration::ZERO },
                Event::RunFinished { run_id: "a", ran: 0, cached: 2, failed: 0, skipped: 0 },
                Event::RunStarted { run_id: "b", pipeline: "second", steps: 5 },
            ],
        );
        let s = p.snapshot();
        assert_eq!((s.pipeline.as_str(), s.position, s.length, s.cached), ("second", 0, 5, 0));
        assert!(!s.finished && s.running.is_empty());
        assert_eq!(s.message, "0 cached");
    }

    #[test]
    fn a_mapped_step_shows_its_tasks_done_while_it_runs() {
        let p = Progress::hidden();
        feed(
            &p,
            &[
                Event::RunStarted { run_id: "r", pipeline: "tune", steps: 2 },
                Event::TasksQueued { node: "trial", total: 36, cached: 30 },
                Event::StepStarted { node: "trial", attempt: 1 },
                Event::TaskFinished { node: "trial", task: 31, failed: false },
                Event::TaskFinished { node: "trial", task: 32, failed: true },
            ],
        );
        assert_eq!(p.snapshot().message, "0 cached | running: trial (32/36 tasks)");
        p.on_event(&Event::StepFinished { node: "trial", duration: Duration::ZERO, attempts: 6 });
        let s = p.snapshot();
        assert_eq!((s.ran, s.running.len()), (1, 0), "one step, however many tasks");
    }

    #[test]
    fn long_running_lists_are_truncated() {
        let running: Vec<(String, u32)> = (0..20).map(|i| (format!("train_model_{i:02}"), 1)).collect();
        let text = running_list(&running, &[], RUNNING_CHARS);
        assert!(text.starts_with("train_model_00, train_model_01, "), "{text}");
        assert!(text.ends_with(" more"), "{text}");
        assert!(text.chars().count() <= RUNNING_CHARS + ", +20 more".len(), "{text}");
        let shown = text.matches("train_model_").count();
        assert!(text.ends_with(&format!("+{} more", 20 - shown)), "{text}");
        // A single long name is shown whole.
        let long = vec![("x".repeat(100), 1)];
        assert_eq!(running_list(&long, &[], RUNNING_CHARS), "x".repeat(100));
    }

    #[test]
    fn disabled_ignores_everything() {
        let p = Progress::disabled();
        p.on_event(&Event::RunStarted { run_id: "r", pipeline: "p", steps: 3 });
        p.on_event(&Event::StepStarted { node: "a", attempt: 1 });
        let s = p.snapshot();
        assert!(!p.is_enabled());
        assert_eq!((s.position, s.length), (0, 0));
        assert!(s.running.is_empty());
    }

    #[test]
    fn stderr_is_silent_off_a_terminal() {
        // Under `cargo test` stderr is captured or piped: nothing is drawn.
        if !std::io::stderr().is_terminal() {
            assert!(!Progress::stderr().is_enabled());
        }
    }

    #[test]
    fn observes_concurrent_workers() {
        let p = Progress::hidden();
        p.on_event(&Event::RunStarted { run_id: "r", pipeline: "fan", steps: 400 });
        std::thread::scope(|s| {
            for t in 0..4 {
                let p = p.clone();
                s.spawn(move || {
                    for i in 0..100 {
                        let node = format!("n{t}_{i}");
                        p.on_event(&Event::StepStarted { node: &node, attempt: 1 });
                        p.on_event(&Event::StepFinished {
                            node: &node,
                            duration: Duration::ZERO,
                            attempts: 1,
                        });
                    }
                });
            }
        });
        let s = p.snapshot();
        assert_eq!((s.position, s.ran), (400, 400));
        assert!(s.running.is_empty());
    }
}
