//! The retraining loop: triggers judged on observed figures, the Titanic pipeline retrained and
//! offered to production when they fire, every decision recorded, state that survives a new
//! watcher, and a lease that keeps a second watcher out.

use mlflow::blocks;
use mlflow::monitor::{Observations, Trigger};
use mlflow::registry::Registry;
use mlflow::serve::watch::{Action, Retrained, Tick, WatchStore, Watcher};

use crate::titanic;

const HOUR: i64 = 3_600_000;
const T0: i64 = 1_800_000_000_000;

fn must_not_retrain() -> Result<Retrained, String> {
    panic!("retrained when nothing should have fired, or without the lease")
}

fn observed(now_ms: i64) -> Observations {
    Observations { now_ms, ..Observations::default() }
}

/// Runs the Titanic pipeline (a cached rerun after the first) and offers its champion to
/// `production`.
fn retrain(store: &mlflow::store::Store) -> mlflow::Result<Retrained> {
    let (report, handles) = titanic::run_demo(store);
    let registry = Registry::new(store)?;
    let registration = blocks::register_champion(
        &registry,
        "titanic",
        &report,
        handles.package,
        &handles.compared,
        "production",
    )?;
    Ok(Retrained { run_id: report.run_id().to_owned(), registration })
}

#[test]
fn a_fired_trigger_retrains_registers_and_promotes_and_every_decision_is_recorded() {
    let (_dir, store) = titanic::temp_store();
    let rule = Trigger::any([
        Trigger::new_labels(200).named("labels").cooldown(HOUR),
        Trigger::on_demand().named("asked"),
    ]);
    let watcher = Watcher::new(&store, "titanic", rule.clone()).holder("a");

    // Starting: 1,000 labels so far; nothing new.
    let first = watcher.tick(observed(T0), 1_000, must_not_retrain).unwrap();
    assert!(matches!(first, Tick::Judged { action: Action::None, .. }));
    // 250 new labels: retrain, and the first version takes production.
    let Tick::Judged { action, retrained, .. } =
        watcher.tick(observed(T0 + HOUR), 1_250, || retrain(&store)).unwrap()
    else {
        panic!("the lease is ours")
    };
    assert_eq!(action, Action::Promoted);
    let retrained = retrained.unwrap();
    assert_eq!(
        Registry::new(&store).unwrap().aliases("titanic").unwrap()["production"],
        retrained.registration.version.version
    );

    // Labels are counted from the retraining: 100 more are not enough.
    let quiet = watcher.tick(observed(T0 + 2 * HOUR), 1_350, must_not_retrain).unwrap();
    assert!(matches!(quiet, Tick::Judged { action: Action::None, .. }));

    // A new watcher (a restart) keeps the state: asked for, it retrains the same model, which
    // already holds the alias.
    let restarted = Watcher::new(&store, "titanic", rule).holder("a");
    let asked = Observations { on_demand: true, ..observed(T0 + 3 * HOUR) };
    let Tick::Judged { action, .. } = restarted.tick(asked, 1_350, || retrain(&store)).unwrap() else {
        panic!()
    };
    assert_eq!(action, Action::Unchanged, "a cached rerun registers the same artifact");

    // A failed retraining is a decision too, with its error.
    let asked = Observations { on_demand: true, ..observed(T0 + 4 * HOUR) };
    let failing = || -> Result<Retrained, String> { Err("the data file is gone".into()) };
    let Tick::Judged { action, .. } = restarted.tick(asked, 1_350, failing).unwrap() else { panic!() };
    assert_eq!(action, Action::Failed);

    let decisions = WatchStore::new(&store).decisions("titanic").unwrap();
    let actions: Vec<Action> = decisions.iter().map(|d| d.action).collect();
    assert_eq!(actions, [Action::None, Action::Promoted, Action::None, Action::Unchanged, Action::Failed]);
    assert!(
        decisions[1].explanation.contains("250 new labeled rows, at least 200"),
        "{}",
        decisions[1].explanation
    );
    assert_eq!(decisions[1].run_id.as_deref(), Some(retrained.run_id.as_str()));
    assert!(
        decisions[4].detail.contains("retraining failed")
            && decisions[4].detail.contains("the data file is gone")
    );
    assert!(decisions.windows(2).all(|w| w[0].id < w[1].id && w[0].at_ms <= w[1].at_ms));
}

#[test]
fn a_second_watcher_waits_for_the_lease_and_cooldowns_survive_a_restart() {
    let (_dir, store) = titanic::temp_store();
    let rule = Trigger::on_demand().named("asked").cooldown(2 * HOUR);
    let a = Watcher::new(&store, "m", rule.clone()).holder("a").lease(HOUR);
    let b = Watcher::new(&store, "m", rule.clone()).holder("b").lease(HOUR);
    let asked = |now| Observations { on_demand: true, ..observed(now) };
    let never = || -> Result<Retrained, String> { Err("no pipeline here".into()) };

    assert!(matches!(a.tick(asked(T0), 0, never).unwrap(), Tick::Judged { action: Action::Failed, .. }));
    match b.tick(asked(T0 + 1), 0, must_not_retrain).unwrap() {
        Tick::Leased { holder } => assert_eq!(holder, "a"),
        other => panic!("{other:?}"),
    }
    // a's lease expires: b takes over, and the cooldown a started (in the store) still holds.
    let Tick::Judged { decision, action, .. } = b.tick(asked(T0 + HOUR + 1), 0, must_not_retrain).unwrap()
    else {
        panic!("b holds the lease now")
    };
    assert_eq!(action, Action::None);
    assert!(decision.explain().contains("cooling down until"), "{}", decision.explain());
    assert!(matches!(
        b.tick(asked(T0 + 2 * HOUR), 0, never).unwrap(),
        Tick::Judged { action: Action::Failed, .. }
    ));
    assert_eq!(
        WatchStore::new(&store).decisions("m").unwrap().len(),
        3,
        "the leased-out tick records nothing"
    );
}
