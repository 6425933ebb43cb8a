//! The execution plan (`Pipeline::execution_plan`): stable, unique node ids, edges as wired,
//! options and resources, a plan hash that follows the pipeline's definition and nothing else,
//! and its JSON form.

use crate::common;

use std::time::Duration;

use mlflow::EngineError;
use mlflow::dag::WiringError;
use mlflow::exec_plan::{ExecutionPlan, PlanError, PlanNodeKind};
use mlflow::prelude::*;
use mlflow::step::Resources;

#[step(cpu = "500m", memory = "256Mi")]
fn load(seed: &u64) -> Vec<f64> {
    (0..*seed).map(|i| i as f64).collect()
}

#[step(retries = 2, backoff = "10ms", timeout = "30s")]
fn train(rows: &Vec<f64>, rate: &f64) -> f64 {
    rows.iter().sum::<f64>() * rate
}

#[step]
fn score(model: &f64) -> f64 {
    model / 2.0
}

#[step]
fn best(scores: &Vec<f64>) -> f64 {
    scores.iter().copied().fold(f64::MIN, f64::max)
}

#[step]
fn check(rows: &Vec<f64>) -> usize {
    rows.len()
}

/// The same step, five times: only the option each module names differs, never the code.
macro_rules! variant {
    ($module:ident, $($option:tt)*) => {
        mod $module {
            use mlflow::prelude::*;

            #[step(name = "scale", $($option)*)]
            pub fn scale(x: &f64) -> f64 {
                x * 3.0
            }
        }
    };
}

variant!(plain, version = 1);
variant!(bumped, version = 2);
variant!(retried, version = 1, retries = 1);
variant!(more_cpu, version = 1, cpu = "2");
variant!(more_memory, version = 1, memory = "1Gi");

/// Which variant of `scale` a pipeline uses.
#[derive(Clone, Copy)]
enum Scale {
    Plain,
    Bumped,
    Retried,
    MoreCpu,
    MoreMemory,
}

/// What can change between two builds of the test pipeline.
#[derive(Clone, Copy)]
struct Shape {
    seed: u64,
    rate_name: &'static str,
    scale: Scale,
    /// Train on the loaded rows (`true`) or on the collected scores (`false`).
    train_on_rows: bool,
    gate: bool,
}

const BASE: Shape =
    Shape { seed: 4, rate_name: "Learning_Rate", scale: Scale::Plain, train_on_rows: true, gate: true };

/// seed -> load -> train (twice) -> score -> collect -> best, a map over rates, and a gate.
fn build(shape: Shape) -> Pipeline {
    let mut p = Pipeline::new("plan-test");
    let seed = p.param("seed", shape.seed);
    let rate = p.param(shape.rate_name, 0.1f64);
    let rows = p.step(LoadStep, seed);
    let checked = p.step(CheckStep, rows);
    let first = p.step(TrainStep, (rows, rate));
    let second = p.step(TrainStep, (rows, rate));
    if shape.gate {
        p.wait_for(second, checked);
    }
    let scores = [p.step(ScoreStep, first), p.step(ScoreStep, second)];
    let all = p.collect(scores);
    let top = p.step(BestStep, all);
    let rates = p.param("rates", vec![0.1f64, 0.2, 0.3]);
    let on = if shape.train_on_rows { rows } else { all };
    p.try_map_named("sweep", TrainStep, (on, rates), 1);
    match shape.scale {
        Scale::Plain => p.step(plain::ScaleStep, top),
        Scale::Bumped => p.step(bumped::ScaleStep, top),
        Scale::Retried => p.step(retried::ScaleStep, top),
        Scale::MoreCpu => p.step(more_cpu::ScaleStep, top),
        Scale::MoreMemory => p.step(more_memory::ScaleStep, top),
    };
    p
}

fn plan(shape: Shape) -> ExecutionPlan {
    build(shape).execution_plan().expect("the test pipeline is well wired")
}

fn ids(plan: &ExecutionPlan) -> Vec<&str> {
    plan.nodes().iter().map(|n| n.id.as_str()).collect()
}

#[test]
fn ids_are_unique_dns_labels_derived_from_names() {
    let plan = plan(BASE);
    assert_eq!(
        ids(&plan),
        [
            "seed",
            "learning-rate",
            "load",
            "check",
            "train",
            "train-2",
            "score",
            "score-2",
            "collect",
            "best",
            "rates",
            "sweep",
            "scale"
        ]
    );
    let names: Vec<&str> = plan.nodes().iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names[..6], ["seed", "Learning_Rate", "load", "check", "train", "train#2"]);
    for id in ids(&plan) {
        assert!(id.len() <= 63 && id.starts_with(|c: char| c.is_ascii_lowercase()), "{id}");
        assert!(id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'), "{id}");
    }

    // A name that maps to a taken id gets the next free suffix, in the order nodes are added.
    let mut p = Pipeline::new("clash");
    p.param("a b", 1u8);
    p.param("a-b", 2u8);
    p.param("A_B", 3u8);
    let x = p.param("x", 4u64);
    p.step_named("a b#2", LoadStep, x);
    assert_eq!(ids(&p.execution_plan().unwrap()), ["a-b", "a-b-2", "a-b-3", "x", "a-b-2-2"]);
}

#[test]
fn ids_and_hash_survive_rebuilding_the_pipeline() {
    let (a, b) = (plan(BASE), plan(BASE));
    assert_eq!(ids(&a), ids(&b));
    assert_eq!(a.plan_hash(), b.plan_hash());
    assert_eq!(a, b);
    assert_eq!(a.to_json(), b.to_json());
}

const HASH_VAR: &str = "MLFLOW_TEST_PLAN_CHILD";

/// Not a test of its own: the body of the child process started below.
#[test]
#[ignore = "run as a child process by the plan_is_the_same_in_another_process test"]
fn child_process_prints_the_plan() {
    assert!(std::env::var_os(HASH_VAR).is_some(), "started by plan_is_the_same_in_another_process");
    println!("PLAN {}", plan(BASE).to_json().replace('\n', " "));
}

#[test]
fn plan_is_the_same_in_another_process() {
    let child =
        common::spawn_ignored_test("child_process_prints_the_plan", &[(HASH_VAR, std::ffi::OsStr::new("1"))]);
    let stdout = common::child_stdout(child);
    // The harness may print the test's name on the same line, before it.
    let line = stdout
        .lines()
        .find_map(|l| l.split_once("PLAN ").map(|(_, plan)| plan))
        .unwrap_or_else(|| panic!("the child prints its plan:\n{stdout}"));
    let theirs = ExecutionPlan::from_json(line).expect("the child's plan reads back");
    let ours = plan(BASE);
    assert_eq!(theirs.plan_hash(), ours.plan_hash());
    assert_eq!(theirs, ours);
}

#[test]
fn edges_kinds_and_options_match_the_pipeline() {
    let plan = plan(BASE);
    let node = |id: &str| plan.node(id).unwrap_or_else(|| panic!("no node `{id}`"));

    let seed = node("seed");
    assert_eq!(seed.kind, PlanNodeKind::Param);
    assert!(seed.inputs.is_empty() && seed.step.is_none());
    assert_eq!(seed.value_hash, Some(mlflow::codec::identity_hash(&4u64).unwrap()));

    assert_eq!(node("load").inputs, ["seed"]);
    assert_eq!(node("train").inputs, ["load", "learning-rate"]);
    assert!(node("train").waits_for.is_empty());
    assert_eq!(node("train-2").waits_for, ["check"]);
    assert_eq!(node("score-2").inputs, ["train-2"]);
    assert_eq!(node("collect").kind, PlanNodeKind::Collect);
    assert_eq!(node("collect").inputs, ["score", "score-2"]);
    assert_eq!(node("best").inputs, ["collect"]);
    assert_eq!(node("best").kind, PlanNodeKind::Step);

    let sweep = node("sweep");
    assert_eq!(sweep.kind, PlanNodeKind::Map);
    assert_eq!(sweep.inputs, ["load", "rates"]);
    let map = sweep.map.as_ref().unwrap();
    assert_eq!((map.per_element.as_slice(), map.max_failed), (&[false, true][..], Some(1)));

    let train = node("train").step.as_ref().unwrap();
    assert_eq!((train.name.as_str(), train.version, train.retries), ("train", 0, 2));
    assert_eq!(train.code_hash, <TrainStep as Step>::CODE_HASH);
    assert_eq!((train.backoff, train.timeout), (Duration::from_millis(10), Some(Duration::from_secs(30))));
    assert_eq!(train.crate_name, env!("CARGO_PKG_NAME"));
    assert_eq!(train.resources.cpu_millis, None);
    // The mapped step is the step itself, as the cache sees it.
    assert_eq!(sweep.step.as_ref().unwrap(), train);

    let load = node("load").step.as_ref().unwrap();
    assert_eq!((load.resources.cpu_millis, load.resources.memory_bytes), (Some(500), Some(256 << 20)));
    assert_eq!(load.resources.cpu_quantity().as_deref(), Some("500m"));
    assert_eq!(load.resources.memory_quantity().as_deref(), Some("256Mi"));

    // Added in execution order: the topological order is the order of the nodes.
    let order: Vec<&str> = plan.topological_order().iter().map(|n| n.id.as_str()).collect();
    assert_eq!(order, ids(&plan));
    for (position, node) in plan.topological_order().iter().enumerate() {
        for upstream in node.inputs.iter().chain(&node.waits_for) {
            assert!(order[..position].contains(&upstream.as_str()), "{} before {upstream}", node.id);
        }
    }
}

#[test]
fn the_hash_follows_the_definition_and_nothing_else() {
    let base = plan(BASE).plan_hash();
    // Building it again, in a fresh builder, changes nothing.
    assert_eq!(plan(BASE).plan_hash(), base);

    // The variants of `scale` differ by their options only, not by their code.
    assert_eq!(<plain::ScaleStep as Step>::CODE_HASH, <bumped::ScaleStep as Step>::CODE_HASH);
    assert_eq!(<plain::ScaleStep as Step>::CODE_HASH, <more_cpu::ScaleStep as Step>::CODE_HASH);

    let changes = [
        ("a param value", Shape { seed: 5, ..BASE }),
        ("a param name", Shape { rate_name: "rate", ..BASE }),
        ("a step's version", Shape { scale: Scale::Bumped, ..BASE }),
        ("a retry option", Shape { scale: Scale::Retried, ..BASE }),
        ("cpu", Shape { scale: Scale::MoreCpu, ..BASE }),
        ("memory", Shape { scale: Scale::MoreMemory, ..BASE }),
        ("an edge", Shape { train_on_rows: false, ..BASE }),
        ("an ordering-only edge", Shape { gate: false, ..BASE }),
    ];
    let mut seen = vec![base];
    for (what, shape) in changes {
        let hash = plan(shape).plan_hash();
        assert!(!seen.contains(&hash), "changing {what} must change the plan hash");
        seen.push(hash);
    }

    // A param's value counts by its content hash: an equal value built anew hashes the same.
    let value = |v: Vec<f64>| {
        let mut p = Pipeline::new("values");
        p.param("v", v);
        p.execution_plan().unwrap().plan_hash()
    };
    assert_eq!(value(vec![1.0, 2.0]), value([1.0, 2.0].to_vec()));
    assert_ne!(value(vec![1.0, 2.0]), value(vec![2.0, 1.0]));
}

#[test]
fn json_round_trip() {
    let plan = plan(BASE);
    let json = plan.to_json();
    let back = ExecutionPlan::from_json(&json).unwrap();
    assert_eq!(back, plan);
    assert_eq!(back.plan_hash(), plan.plan_hash());
    assert_eq!(back.topological_order(), plan.topological_order());
    // Through serde_json directly too.
    let value = serde_json::to_value(&plan).unwrap();
    assert_eq!(serde_json::from_value::<ExecutionPlan>(value.clone()).unwrap(), plan);

    assert_eq!(value["pipeline"], "plan-test");
    assert_eq!(value["plan_hash"], plan.plan_hash().to_hex());
    let nodes = value["nodes"].as_array().unwrap();
    assert_eq!(nodes[1]["kind"], "param");
    assert_eq!(nodes[1]["value_hash"].as_str().unwrap().len(), 64);
    assert_eq!(
        nodes[2]["step"]["resources"],
        serde_json::json!({"cpu_millis": 500, "memory_bytes": 268435456})
    );
    assert_eq!(nodes[11]["kind"], "map");
}

#[test]
fn param_values_never_enter_the_plan() {
    let mut p = Pipeline::new("secret");
    let token = p.param("token", String::from("hunter2-very-secret"));
    let x = p.param("x", 1.5f64);
    p.step(ScoreStep, x);
    let json = p.execution_plan().unwrap().to_json();
    assert!(!json.contains("hunter2"), "{json}");
    let _ = token;
}

#[test]
fn edited_or_broken_plans_are_refused() {
    let plan = plan(BASE);
    let value = serde_json::to_value(&plan).unwrap();
    let edit = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v = value.clone();
        f(&mut v);
        ExecutionPlan::from_json(&v.to_string()).unwrap_err()
    };

    let error = edit(&|v| v["nodes"][4]["step"]["retries"] = 7.into());
    assert!(matches!(error, PlanError::HashMismatch { .. }), "{error}");
    assert!(error.to_string().contains("edited or damaged"), "{error}");

    let error = edit(&|v| v["nodes"][3]["id"] = "load".into());
    assert_eq!(error, PlanError::DuplicateId { id: "load".into() });

    let error = edit(&|v| v["nodes"][3]["id"] = "Check_It".into());
    assert!(matches!(error, PlanError::InvalidId { .. }), "{error}");

    let error = edit(&|v| v["nodes"][4]["inputs"][0] = "nowhere".into());
    assert_eq!(error, PlanError::UnknownInput { node: "train".into(), input: "nowhere".into() });

    // load waits for train, which reads load.
    let error = edit(&|v| v["nodes"][2]["waits_for"] = serde_json::json!(["train"]));
    assert!(matches!(error, PlanError::Cycle { .. }), "{error}");

    let error = edit(&|v| v["nodes"][0]["inputs"] = serde_json::json!(["load"]));
    assert!(matches!(error, PlanError::Malformed { kind: "param", .. }), "{error}");

    let error = edit(&|v| v["format"] = 9.into());
    assert_eq!(error, PlanError::Format { found: 9 });

    assert!(matches!(ExecutionPlan::from_json("{"), Err(PlanError::Json { .. })));

    // Through the engine's error, for `?` in `main`.
    let engine: EngineError = PlanError::Format { found: 9 }.into();
    assert!(engine.to_string().contains("format 9"), "{engine}");
}

#[test]
fn a_miswired_pipeline_has_no_plan() {
    let mut p = Pipeline::new("dupes");
    p.param("x", 1u64);
    p.param("x", 2u64);
    match p.execution_plan() {
        Err(EngineError::Wiring(errors)) => assert_eq!(errors.len(), 1),
        other => panic!("expected a wiring error, got {other:?}"),
    }
}

#[test]
fn resources_can_be_set_per_node() {
    let with = |resources: Option<Resources>| {
        let mut p = build(BASE);
        let extra = p.param("extra", 5u64);
        let loaded = p.step_named("load-big", LoadStep, extra);
        if let Some(resources) = resources {
            p.set_resources(loaded, resources);
        }
        p.execution_plan().unwrap()
    };
    let plain = with(None);
    let memory = Resources { memory_bytes: Some(8 << 30), ..Resources::NONE };
    let overridden = with(Some(memory));
    // `None` keeps the step's own request; `Some` replaces it; only this node changes.
    let big = overridden.node("load-big").unwrap().step.as_ref().unwrap();
    assert_eq!(big.resources, Resources { cpu_millis: Some(500), memory_bytes: Some(8 << 30) });
    assert_eq!(overridden.node("load"), plain.node("load"));
    assert_ne!(overridden.plan_hash(), plain.plan_hash());
    // Setting what the step asks for anyway changes nothing.
    let same = with(Some(Resources { cpu_millis: Some(500), memory_bytes: Some(256 << 20) }));
    assert_eq!(same.plan_hash(), plain.plan_hash());

    let mut p = Pipeline::new("params-ask-nothing");
    let x = p.param("x", 1u64);
    p.set_resources(x, memory);
    let mut other = Pipeline::new("other");
    let foreign = other.param("y", 2u64);
    let foreign = other.step(LoadStep, foreign);
    p.set_resources(foreign, memory);
    let errors = p.check().unwrap_err();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        matches!(&errors[0], WiringError::NotAStepNode { node, .. } if node == "param `x`"),
        "{errors:?}"
    );
    assert!(errors[1].to_string().contains("a node of another pipeline"), "{}", errors[1]);
    assert!(matches!(p.execution_plan(), Err(EngineError::Wiring(_))));
}
