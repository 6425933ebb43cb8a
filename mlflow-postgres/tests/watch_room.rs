//! The watch room of `mlflow-serve` (the retraining loop's leases, state and decisions) on
//! SQLite and PostgreSQL alike.

mod support;

use mlflow_core::store::Mode;
use mlflow_serve::watch::{Action, WATCH, WatchStore};

#[test]
fn the_watch_room_keeps_leases_state_and_an_append_only_history_on_every_backend() {
    for ts in support::stores("watch") {
        let backend = ts.backend;
        let watch = WatchStore::new(&ts.store);
        assert!(watch.acquire_lease("titanic", "host-a", 1_000, 60_000).unwrap(), "{backend:?}");
        // A second handle (another machine) is refused until the lease expires.
        let other = ts.reopen();
        let other_watch = WatchStore::new(&other);
        assert!(!other_watch.acquire_lease("titanic", "host-b", 2_000, 60_000).unwrap(), "{backend:?}");
        assert!(other_watch.acquire_lease("titanic", "host-b", 61_001, 60_000).unwrap(), "{backend:?}");
        assert_eq!(watch.lease_holder("titanic").unwrap().as_deref(), Some("host-b"));
        other_watch.release_lease("titanic", "host-b").unwrap();
        assert_eq!(watch.lease_holder("titanic").unwrap(), None);

        let mut state = watch.state("titanic").unwrap();
        state.last_training_ms = Some(5_000);
        state.labels_at_training = 42;
        watch.save_state("titanic", &state).unwrap();
        assert_eq!(other_watch.state("titanic").unwrap(), state, "{backend:?}");

        let first = watch.record("titanic", 6_000, false, "quiet", Action::None, None, None, "").unwrap();
        let second = watch
            .record("titanic", 7_000, true, "drift", Action::Promoted, Some("run-1"), Some(3), "auc 0.9")
            .unwrap();
        assert!(second > first, "{backend:?}");
        let decisions = other_watch.decisions("titanic").unwrap();
        assert_eq!(decisions.len(), 2);
        assert_eq!(
            (decisions[1].action, decisions[1].version, decisions[1].fired),
            (Action::Promoted, Some(3), true)
        );
        assert_eq!(decisions[1].run_id.as_deref(), Some("run-1"));

        let update = ts.store.with_meta(&WATCH, Mode::Autocommit, |tx| {
            tx.execute("UPDATE watch_decisions SET detail = 'rewritten'", &[])
        });
        let err = update.expect_err("the decision history is append-only");
        assert!(err.to_string().contains("append-only"), "{backend:?}: {err}");
    }
}
