//! Search spaces, grids in scikit-learn's `ParameterGrid` order, seeded random candidates,
//! `HalvingGridSearchCV` schedules and `cv_results_` ranks (tests/fixtures/tune, made by its
//! generate.py), and every refused space.

use std::collections::BTreeMap;

use mlflow::tune::{
    CvResults, Halving, MinResources, ParamValue, Params, Rung, Space, TuneError, random_candidates, top_k,
};

#[derive(serde::Deserialize)]
struct Fixture {
    grids: BTreeMap<String, Vec<Params>>,
    halving: Vec<HalvingCase>,
    ranks: Vec<RankCase>,
}

#[derive(serde::Deserialize)]
struct HalvingCase {
    candidates: usize,
    rows: usize,
    classes: usize,
    folds: usize,
    factor: usize,
    min_resources: serde_json::Value,
    aggressive: bool,
    n_candidates: Vec<usize>,
    n_resources: Vec<usize>,
}

#[derive(serde::Deserialize)]
struct RankCase {
    means: Vec<Option<f64>>,
    ranks: Vec<u32>,
}

fn fixture() -> Fixture {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tune/tune.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn grids_are_in_scikit_learns_parameter_grid_order() {
    let grids = fixture().grids;
    let spaces = [
        (
            "one dict, keys sorted, last fastest",
            Space::new()
                .choice("max_depth", [2, 4, 8])
                .choice("criterion", ["gini", "entropy"])
                .choice("min_samples_leaf", [1, 5]),
        ),
        (
            "a conditional gamma (a list of dicts)",
            Space::new()
                .choice("kernel", ["linear", "rbf"])
                .choice("C", [0.1, 1.0, 10.0])
                .choice("gamma", [0.01, 0.1])
                .when("kernel", ["rbf"]),
        ),
        ("an integer range with a step", Space::new().int_step("n_trees", 10, 100, 30)),
    ];
    assert_eq!(spaces.len(), grids.len());
    for (name, space) in spaces {
        assert_eq!(space.grid().unwrap(), grids[name], "{name}");
    }
}

#[test]
fn float_steps_land_on_the_lattice_and_include_the_end() {
    let grid = Space::new().float_step("alpha", 0.1, 0.5, 0.1).grid().unwrap();
    let alphas: Vec<f64> = grid.iter().map(|p| p["alpha"].as_f64().unwrap()).collect();
    assert_eq!(alphas.len(), 5);
    for (k, a) in alphas.iter().enumerate() {
        assert_eq!(*a, 0.1 + k as f64 * 0.1);
    }
}

#[test]
fn halving_schedules_are_scikit_learns() {
    for case in fixture().halving {
        let smallest = 2 * case.folds * case.classes.max(1);
        let min_resources = match case.min_resources.as_str() {
            Some("exhaust") => MinResources::Exhaust { smallest },
            Some("smallest") => MinResources::Smallest(smallest),
            _ => MinResources::Count(case.min_resources.as_u64().unwrap() as usize),
        };
        let halving = Halving {
            factor: case.factor,
            min_resources,
            max_resources: case.rows,
            aggressive_elimination: case.aggressive,
        };
        let expected: Vec<Rung> = case
            .n_candidates
            .iter()
            .zip(&case.n_resources)
            .map(|(&candidates, &resources)| Rung { candidates, resources })
            .collect();
        assert_eq!(
            halving.schedule(case.candidates).unwrap(),
            expected,
            "{} candidates, {} rows, {:?}",
            case.candidates,
            case.rows,
            halving
        );
    }
}

#[test]
fn halving_refuses_what_cannot_run() {
    assert_eq!(Halving::new(100, 20).schedule(0), Err(TuneError::NoCandidates));
    let err = Halving::new(10, 20).schedule(5).unwrap_err();
    assert!(err.to_string().contains("min_resources 20 is greater than max_resources 10"), "{err}");
    let err = Halving { factor: 1, ..Halving::new(100, 20) }.schedule(5).unwrap_err();
    assert!(err.to_string().contains("factor 1"), "{err}");
}

#[test]
fn the_candidates_that_go_on_are_the_best_nan_counting_as_worst() {
    assert_eq!(top_k(&[0.5, f64::NAN, 0.9, 0.7], 2), [3, 2]);
    assert_eq!(top_k(&[0.5, f64::NAN, 0.9], 3), [1, 0, 2]);
    assert_eq!(top_k(&[0.5], 3), [0]);
}

#[test]
fn ranks_are_scikit_learns() {
    let one = |i: usize| Params::from([("i".to_string(), ParamValue::Int(i as i64))]);
    for case in fixture().ranks {
        let scores: Vec<Vec<f64>> = case.means.iter().map(|m| vec![m.unwrap_or(f64::NAN)]).collect();
        let params = (0..scores.len()).map(one).collect();
        let results = CvResults::new(params, scores, true).unwrap();
        let ranks: Vec<u32> = results.candidates.iter().map(|c| c.rank).collect();
        assert_eq!(ranks, case.ranks, "{:?}", case.means);
    }
    // A loss ranks the other way: the lowest first.
    let losses =
        CvResults::new((0..4).map(one).collect(), vec![vec![3.0], vec![1.0], vec![2.0], vec![1.0]], false)
            .unwrap();
    assert_eq!(losses.candidates.iter().map(|c| c.rank).collect::<Vec<_>>(), [4, 1, 3, 1]);
    assert_eq!(losses.best_index(), 1);
    let err = CvResults::new((0..2).map(one).collect(), vec![vec![1.0, 2.0], vec![1.0]], true).unwrap_err();
    assert!(err.to_string().contains("one score per fold"), "{err}");
}

#[test]
fn random_candidates_are_seeded_per_trial_and_respect_the_space() {
    let space = Space::new()
        .choice("kernel", ["linear", "rbf"])
        .float_log("c", 1e-3, 1e3)
        .float_log("gamma", 1e-4, 1.0)
        .when("kernel", ["rbf"])
        .int_step("trees", 10, 100, 10)
        .int_log("leaves", 2, 256)
        .float_step("fraction", 0.1, 0.9, 0.2);
    let trials = random_candidates(&space, 200, 11).unwrap();
    assert_eq!(trials, random_candidates(&space, 200, 11).unwrap());
    assert_eq!(trials[..50], random_candidates(&space, 50, 11).unwrap()[..], "trial i never depends on n");
    assert_ne!(trials, random_candidates(&space, 200, 12).unwrap());
    for t in &trials {
        let rbf = t["kernel"] == ParamValue::from("rbf");
        assert_eq!(t.contains_key("gamma"), rbf, "{t:?}");
        let c = t["c"].as_f64().unwrap();
        assert!((1e-3..=1e3).contains(&c));
        let trees = t["trees"].as_i64().unwrap();
        assert!((10..=100).contains(&trees) && trees % 10 == 0);
        assert!((2..=256).contains(&t["leaves"].as_i64().unwrap()));
        let f = t["fraction"].as_f64().unwrap();
        assert!([0.1, 0.3, 0.5, 0.7, 0.9].iter().any(|v| (v - f).abs() < 1e-12), "{f}");
    }
    // A log scale spreads over the decades: about half of C below 1.
    let below = trials.iter().filter(|t| t["c"].as_f64().unwrap() < 1.0).count();
    assert!((60..=140).contains(&below), "{below} of 200 below 1");
}

#[test]
fn unusable_spaces_are_refused_naming_the_hyperparameter_and_the_fix() {
    assert_eq!(Space::new().grid(), Err(TuneError::EmptySpace));
    let cases: Vec<(Space, &str)> = vec![
        (Space::new().int("depth", 5, 2), "`depth` the range 5..=2 is empty"),
        (Space::new().int_step("depth", 1, 5, 0), "`depth` step 0 is not positive"),
        (Space::new().float_log("c", 0.0, 1.0), "`c` a log scale needs low > 0"),
        (Space::new().float("c", 1.0, f64::NAN), "`c` the range"),
        (Space::new().choice::<&str>("kernel", []), "`kernel` has no values"),
        (Space::new().int("depth", 1, 3).int("depth", 1, 4), "`depth` declared twice"),
        (
            Space::new().float("gamma", 0.1, 1.0).when("kernel", ["rbf"]),
            "depends on `kernel`, which is not a choice declared before it",
        ),
        (Space::new().int("depth", 1, 3).float("gamma", 0.1, 1.0).when("depth", [2]), "depends on `depth`"),
    ];
    for (space, message) in cases {
        let err = space.grid().unwrap_err();
        assert!(err.to_string().contains(message), "{err} lacks {message}");
        assert!(random_candidates(&space, 1, 1).is_err());
    }
    let err = Space::new().float("c", 0.1, 1.0).grid().unwrap_err();
    assert!(matches!(&err, TuneError::NoGrid { name, .. } if name == "c"), "{err}");
    assert!(err.to_string().contains("give a step, or list its values with `choice`"));
    let err = Space::new().int_log("leaves", 2, 64).grid().unwrap_err();
    assert!(err.to_string().contains("log scale"), "{err}");
}
