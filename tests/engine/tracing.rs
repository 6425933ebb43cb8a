//! The executor reports to `tracing` out of the box: a span per step, an event per state change.

use crate::common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use common::temp_store;
use mlflow::exec::RunOptions;
use mlflow::prelude::*;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

#[derive(Default, Clone)]
struct Recorder {
    next_id: Arc<AtomicU64>,
    lines: Arc<Mutex<Vec<String>>>,
}

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={:?}", field.name(), value));
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target() == "mlflow"
    }
    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let mut fields = Fields(format!("span {}", attrs.metadata().name()));
        attrs.record(&mut fields);
        self.lines.lock().unwrap().push(fields.0);
        Id::from_u64(self.next_id.fetch_add(1, Ordering::Relaxed) + 1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields(format!("{} event", event.metadata().level()));
        event.record(&mut fields);
        self.lines.lock().unwrap().push(fields.0);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[step]
fn first(x: &u32) -> u32 {
    x + 1
}

#[step]
fn second(x: &u32) -> Result<u32, String> {
    Err(format!("{x} is wrong"))
}

/// `tracing` caches per call site whether anyone listens, process-wide: with other tests running
/// on other threads of this binary, the check runs in a process of its own.
#[test]
fn runs_emit_tracing_spans_and_events() {
    let child = common::spawn_ignored_test("tracing_is_recorded_in_a_process_of_its_own", &[]);
    let stdout = common::child_stdout(child);
    assert!(stdout.contains("1 passed"), "{stdout}");
}

#[test]
#[ignore = "run by runs_emit_tracing_spans_and_events in a process of its own"]
fn tracing_is_recorded_in_a_process_of_its_own() {
    let (_dir, store) = temp_store();
    let mut p = Pipeline::new("traced");
    let x = p.param("x", 1u32);
    let a = p.step(FirstStep, x);
    p.step(SecondStep, a);
    let recorder = Recorder::default();
    tracing::subscriber::with_default(recorder.clone(), || {
        p.run_with(&store, RunOptions::new().threads(1)).unwrap();
    });
    let lines = recorder.lines.lock().unwrap().join("\n");
    assert!(lines.contains("message=run started") && lines.contains("pipeline=traced"), "{lines}");
    assert!(lines.contains("span step node=first"), "{lines}");
    assert!(lines.contains("span step node=second"), "{lines}");
    assert!(lines.contains("message=step finished"), "{lines}");
    assert!(lines.contains("WARN event") && lines.contains("error=2 is wrong"), "{lines}");
    assert!(lines.contains("message=run finished") && lines.contains("status=\"failed\""), "{lines}");
}
