//! Helper discovery: a step's cache key covers every `#[helper]` its body calls, directly or
//! through other helpers, without listing them in `deps`.

use crate::common;

use common::temp_store;
use mlflow::exec::{MissReason, PlanOutcome};
use mlflow::prelude::*;
use mlflow::step::HelperHash;

/// Two versions of the helper `adjust` (bodies differ), and a copy of the first.
mod helpers_v1 {
    use mlflow::prelude::*;
    #[helper]
    pub fn adjust(x: u64) -> u64 {
        x + 1
    }
}

mod helpers_v2 {
    use mlflow::prelude::*;
    #[helper]
    pub fn adjust(x: u64) -> u64 {
        x + 2
    }
}

mod helpers_v1_copy {
    use mlflow::prelude::*;
    #[helper]
    pub fn adjust(x: u64) -> u64 {
        x + 1
    }
}

// Token-identical steps calling the unlisted helper `adjust`; only the helper behind the name
// differs.
mod step_v1 {
    use super::helpers_v1::adjust;
    use mlflow::prelude::*;
    #[step(name = "adjusted")]
    pub fn adjusted(x: &u64) -> u64 {
        adjust(*x)
    }
}

mod step_v2 {
    use super::helpers_v2::adjust;
    use mlflow::prelude::*;
    #[step(name = "adjusted")]
    pub fn adjusted(x: &u64) -> u64 {
        adjust(*x)
    }
}

mod step_v1_copy {
    use super::helpers_v1_copy::adjust;
    use mlflow::prelude::*;
    #[step(name = "adjusted")]
    pub fn adjusted(x: &u64) -> u64 {
        adjust(*x)
    }
}

fn run_with<S: Step<Inputs = (u64,), Output = u64>>(step: S, store: &Store) -> (RunReport, Node<u64>) {
    let mut p = Pipeline::new("helpers");
    let x = p.param("x", 10u64);
    let y = p.step(step, x);
    (p.run(store).unwrap(), y)
}

fn names(helpers: Vec<HelperHash>) -> Vec<String> {
    helpers.into_iter().map(|h| h.name).collect()
}

#[test]
fn an_edited_unlisted_helper_reruns_the_step() {
    use mlflow::step::Step;
    assert_eq!(step_v1::AdjustedStep::CODE_HASH, step_v2::AdjustedStep::CODE_HASH);
    assert!(step_v1::AdjustedStep::DEPS.is_empty());
    let (v1, v2) = (step_v1::AdjustedStep::helpers(), step_v2::AdjustedStep::helpers());
    assert_eq!(names(v1.clone()), ["adjust"]);
    assert!(v1[0].path.ends_with("helpers_v1::adjust"), "{v1:?}");
    assert_ne!(v1[0].code_hash, v2[0].code_hash);

    let (_dir, store) = temp_store();
    let (report, y) = run_with(step_v1::AdjustedStep, &store);
    assert_eq!(*report.get(y).unwrap(), 11);
    let (report, _) = run_with(step_v1::AdjustedStep, &store);
    assert_eq!(report.count(StepStatus::Cached), 1);

    let mut p = Pipeline::new("helpers");
    let x = p.param("x", 10u64);
    p.step(step_v2::AdjustedStep, x);
    let changed = MissReason::Helpers { changed: vec!["adjust".into()], added: vec![], removed: vec![] };
    assert_eq!(p.plan(&store).unwrap().steps[0].outcome, PlanOutcome::Miss(changed.clone()));
    let (report, y) = run_with(step_v2::AdjustedStep, &store);
    assert_eq!(report.count(StepStatus::Cached), 0);
    // The reason names the edited helper, which the step never listed.
    let why = report.step("adjusted").unwrap().miss_reason.clone().unwrap();
    assert_eq!(why, changed);
    assert_eq!(why.to_string(), "code of helper `adjust` changed");
    assert_eq!(*report.get(y).unwrap(), 12);
}

#[test]
fn an_identical_helper_elsewhere_still_hits() {
    let (_dir, store) = temp_store();
    run_with(step_v1::AdjustedStep, &store);
    let (report, y) = run_with(step_v1_copy::AdjustedStep, &store);
    assert_eq!(report.count(StepStatus::Cached), 1, "{report}");
    assert_eq!(*report.get(y).unwrap(), 11);
}

/// Transitive discovery: step -> outer -> inner; two versions of `inner`.
mod chain_v1 {
    use mlflow::prelude::*;
    #[helper]
    pub fn inner(x: u64) -> u64 {
        x * 10
    }
    #[helper]
    pub fn outer(x: u64) -> u64 {
        inner(x) + 1
    }
    #[step(name = "chained")]
    pub fn chained(x: &u64) -> u64 {
        outer(*x)
    }
}

mod chain_v2 {
    use mlflow::prelude::*;
    #[helper]
    pub fn inner(x: u64) -> u64 {
        x * 20
    }
    #[helper]
    pub fn outer(x: u64) -> u64 {
        inner(x) + 1
    }
    #[step(name = "chained")]
    pub fn chained(x: &u64) -> u64 {
        outer(*x)
    }
}

#[test]
fn helpers_of_helpers_are_discovered() {
    use mlflow::step::Step;
    let v1 = chain_v1::ChainedStep::helpers();
    let v2 = chain_v2::ChainedStep::helpers();
    assert_eq!(names(v1.clone()), ["inner", "outer"]);
    assert_eq!(v1[1].code_hash, v2[1].code_hash, "the same `outer`");
    assert_ne!(v1[0], v2[0], "another `inner`");

    let (_dir, store) = temp_store();
    let (report, y) = run_with(chain_v1::ChainedStep, &store);
    assert_eq!(*report.get(y).unwrap(), 101);
    let (report, y) = run_with(chain_v2::ChainedStep, &store);
    assert_eq!(report.count(StepStatus::Cached), 0);
    let why = report.step("chained").unwrap().miss_reason.clone().unwrap();
    assert_eq!(why.to_string(), "code of helper `inner` changed", "the helper of a helper is named");
    assert_eq!(*report.get(y).unwrap(), 201);
}

/// Cycles: `ping` and `pong` call each other, `countdown` calls itself.
mod cycles {
    use mlflow::prelude::*;
    #[helper]
    pub fn ping(n: u64) -> u64 {
        if n == 0 { 0 } else { pong(n - 1) + 1 }
    }
    #[helper]
    pub fn pong(n: u64) -> u64 {
        if n == 0 { 0 } else { ping(n - 1) + 1 }
    }
    #[helper]
    pub fn countdown(n: u64) -> u64 {
        if n == 0 { 0 } else { countdown(n - 1) }
    }
    #[step]
    pub fn bounce(n: &u64) -> u64 {
        ping(*n) + countdown(*n)
    }
}

#[test]
fn helper_cycles_are_listed_once() {
    use mlflow::step::{Helper, Step};
    assert_eq!(names(cycles::BounceStep::helpers()), ["countdown", "ping", "pong"]);
    assert_eq!(<cycles::ping as Helper>::helpers().len(), 1);
    assert_eq!(<cycles::countdown as Helper>::helpers()[0].name(), <cycles::countdown as Helper>::name());
    let (_dir, store) = temp_store();
    let (report, y) = run_with(cycles::BounceStep, &store);
    assert_eq!(*report.get(y).unwrap(), 10);
}

/// A renamed import and a qualified call, both discovered.
mod renamed_and_qualified {
    use mlflow::prelude::*;

    pub mod helpers {
        use mlflow::prelude::*;
        #[helper]
        pub fn adjust(x: u64) -> u64 {
            x + 3
        }
        #[helper]
        pub fn scale(x: u64) -> u64 {
            x * 3
        }
    }

    use helpers::adjust as tweak;

    /// A module holding a helper of its own name.
    pub mod offset {
        use mlflow::prelude::*;
        #[helper]
        pub fn offset(x: u64) -> u64 {
            x + 100
        }
    }

    #[step]
    pub fn renamed(x: &u64) -> u64 {
        tweak(*x)
    }

    #[step]
    pub fn qualified(x: &u64) -> u64 {
        helpers::scale(*x) + self::helpers::adjust(0) + offset::offset(0)
    }

    #[step]
    pub fn imported_in_body(x: &u64) -> u64 {
        use self::helpers::scale as triple;
        triple(*x)
    }
}

#[test]
fn renamed_imports_and_qualified_calls_are_discovered() {
    use mlflow::step::Step;
    use renamed_and_qualified::*;
    let renamed = RenamedStep::helpers();
    assert_eq!(names(renamed.clone()), ["adjust"]);
    assert!(renamed[0].path.ends_with("renamed_and_qualified::helpers::adjust"), "{renamed:?}");
    assert_eq!(names(QualifiedStep::helpers()), ["adjust", "offset", "scale"]);
    assert_eq!(names(ImportedInBodyStep::helpers()), ["scale"]);
    let mut p = Pipeline::new("helpers");
    let x = p.param("x", 1u64);
    let y = p.step(QualifiedStep, x);
    assert_eq!(names(p.helpers_of(y).unwrap().to_vec()), ["adjust", "offset", "scale"]);
}

/// Plain functions, std functions, closures and locals are not helpers.
mod plain {
    use mlflow::prelude::*;

    pub fn double(x: u64) -> u64 {
        x * 2
    }

    #[step]
    pub fn no_helpers(xs: &Vec<u64>) -> u64 {
        let add = |a: u64, b: u64| a + b;
        let total = xs.iter().copied().map(double).fold(0, add);
        std::cmp::max(total, double(1)) + u64::from(u8::MAX)
    }
}

#[test]
fn plain_functions_are_not_helpers() {
    use mlflow::step::Step;
    assert!(plain::NoHelpersStep::helpers().is_empty());
}

/// A step declared in a function body: discovery cannot see the body's items, so a call of a
/// name that is not a helper of the module adds a stand-in entry unique to the build.
#[test]
fn steps_in_function_bodies_are_conservative() {
    use mlflow::step::Step;

    #[helper]
    fn local_adjust(x: u64) -> u64 {
        x + 5
    }

    #[step]
    fn local_step(x: &u64) -> u64 {
        local_adjust(*x)
    }

    #[step]
    fn calls_module_helper(x: &u64) -> u64 {
        let twice = |v: u64| v * 2;
        twice(helpers_v1::adjust(*x))
    }

    // Listed, it is found even though it is declared in this body (and nothing is unseen).
    #[step(deps = [local_adjust])]
    fn lists_local_helper(x: &u64) -> u64 {
        local_adjust(*x)
    }

    let helpers = LocalStepStep::helpers();
    assert_eq!(helpers.len(), 1, "{helpers:?}");
    assert!(helpers[0].name.contains("unseen by discovery: declared in a function body"), "{helpers:?}");
    // Its locals and module helpers called by path: nothing unseen.
    assert_eq!(names(CallsModuleHelperStep::helpers()), ["adjust"]);
    assert_eq!(names(ListsLocalHelperStep::helpers()), ["local_adjust"]);
    let (_dir, store) = temp_store();
    run_with(LocalStepStep, &store);
    let (report, y) = run_with(LocalStepStep, &store);
    assert_eq!(report.count(StepStatus::Cached), 1);
    assert_eq!(*report.get(y).unwrap(), 15);
}
