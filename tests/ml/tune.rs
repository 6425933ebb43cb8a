//! Search spaces, grids in scikit-learn's `ParameterGrid` order, seeded random candidates,
//! `HalvingGridSearchCV` schedules and `cv_results_` ranks (tests/fixtures/tune, made by its
//! generate.py), and every refused space.

use std::collections::BTreeMap;

use mlflow::tune::{
    CvResults, Halving, Intermediate, MinResources, ParamValue, Params, Pruner, Rung, Space, TuneError,
    random_candidates, top_k,
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

mod study {
    use mlflow::blocks::{self, BlockError, Candidate, Prepare, Study};
    use mlflow::data::{CsvOptions, DataFile};
    use mlflow::eval::ClassMetric;
    use mlflow::features::{CrossValidation, FeatureError};
    use mlflow::models::{ForestParams, TreeParams};
    use mlflow::prelude::*;
    use mlflow::tune::{ParamValue, Space};

    const IRIS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/iris/iris.csv");
    const COLUMNS: [&str; 5] = ["sepal_length", "sepal_width", "petal_length", "petal_width", "species"];

    fn forest() -> Candidate {
        Candidate::new("forest", ForestParams { n_trees: 10, ..Default::default() })
    }

    /// Iris, prepared with a 25% hold-out, and the study added as `name`.
    fn pipeline(study: &Study) -> (Pipeline, blocks::Tuned) {
        let mut p = Pipeline::new("iris-study");
        let file = p.param("data", DataFile::open(IRIS).unwrap());
        let csv = p.param("csv", CsvOptions::default().skip_lines(1).no_header(COLUMNS));
        let raw = p.step(blocks::IngestStep, (file, csv));
        let setup = p.param("setup", Prepare::label("species").test_fraction(0.25).seed(7));
        let prepared = p.step(blocks::PrepareStep, (raw, setup));
        let tuned = blocks::tune(&mut p, raw, setup, prepared, "forest", study).unwrap();
        (p, tuned)
    }

    fn depth_grid(depths: &[i64]) -> Study {
        Study::grid(
            forest(),
            Space::new().choice("max_depth", depths.to_vec()).choice("min_samples_leaf", [1, 5]),
            ClassMetric::Accuracy,
        )
        .cv(CrossValidation::stratified(3))
    }

    fn tasks(report: &RunReport, node: &str) -> (usize, usize, usize) {
        let t = report.step(node).unwrap().tasks.clone().unwrap();
        (t.total, t.ran, t.cached)
    }

    #[test]
    fn a_grid_is_cross_validated_ranked_refitted_and_reruns_from_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (p, tuned) = pipeline(&depth_grid(&[1, 4]));
        let report = p.run(&store).unwrap().into_result().unwrap();
        let results = report.get(tuned.results).unwrap();
        assert_eq!(results.trials.len(), 4);
        assert_eq!(tasks(&report, "prepare_folds_forest"), (3, 3, 0));
        assert_eq!(tasks(&report, "cv_forest_trials"), (12, 12, 0));
        for (trial, c) in results.trials.iter().zip(&results.results.candidates) {
            assert_eq!(c.fold_scores.len(), 3);
            assert!(c.mean > 0.5 && c.mean <= 1.0, "{}: {}", trial.name, c.mean);
            assert_eq!(
                c.params["max_depth"],
                ParamValue::Int(if trial.name.contains("max_depth=1") { 1 } else { 4 })
            );
        }
        // A stump cannot tell three species apart as well as a depth-4 forest.
        let best = report.get(tuned.best).unwrap();
        assert!(best.name.contains("max_depth=4"), "{}", results.table());
        assert!(
            results.table().lines().nth(1).unwrap().trim_start().starts_with("1  forest #"),
            "{}",
            results.table()
        );
        assert!(report.get(tuned.scored).unwrap().metrics.classes().is_some());
        assert_eq!(report.get(tuned.trained).unwrap().name, best.name);

        // The run report draws the study from what the store recorded.
        let view = mlflow::report::RunView::from_run(&store, report.run_id()).unwrap();
        assert_eq!(view.studies.len(), 1);
        let study = &view.studies[0];
        assert_eq!((study.name.as_str(), study.metric.as_str()), ("rank_forest", "accuracy"));
        assert_eq!(study.params, ["max_depth", "min_samples_leaf"], "only what the grid varies");
        assert_eq!(study.trials.len(), 4);
        assert_eq!(study.importance.first().map(|(name, _)| name.as_str()), Some("max_depth"));
        assert!(mlflow::report::render_html(&view).contains(r#"<svg class="parallel-svg""#));

        let again = p.run(&store).unwrap();
        assert!(again.steps().iter().all(|s| s.status == StepStatus::Cached), "{again}");

        // One more depth: only its trials' tasks run; the folds are the same.
        let (p, _) = pipeline(&depth_grid(&[1, 4, 8]));
        let larger = p.run(&store).unwrap().into_result().unwrap();
        assert_eq!(larger.step("prepare_folds_forest").unwrap().status, StepStatus::Cached);
        assert_eq!(tasks(&larger, "cv_forest_trials"), (18, 6, 12));
    }

    fn tpe_study(trials: usize) -> Study {
        let space = Space::new().int("max_depth", 1, 8).int("min_samples_leaf", 1, 10);
        Study::tpe(forest(), space, trials, 4, 11, ClassMetric::Accuracy).cv(CrossValidation::stratified(3))
    }

    #[test]
    fn a_tpe_study_asks_in_batches_logs_each_ask_first_and_a_longer_study_reuses_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (p, tuned) = pipeline(&tpe_study(12));
        let report = p.run(&store).unwrap().into_result().unwrap();
        let results = report.get(tuned.results).unwrap();
        assert_eq!(results.trials.len(), 12);
        assert!(
            results.trials.iter().enumerate().all(|(i, t)| t.name.starts_with(&format!("forest #{i} (")))
        );
        for stage in 0..3 {
            let ask = report.step(&format!("ask_forest_{stage}")).unwrap();
            let cv = report.step(&format!("cv_forest_trials_{stage}")).unwrap();
            assert!(ask.output_hash.is_some(), "the ask is stored");
            assert!(ask.started + ask.duration <= cv.started, "stage {stage}: asked before its trials ran");
            assert_eq!(cv.tasks.as_ref().unwrap().total, 4 * 3);
        }
        assert!(report.get(tuned.best).unwrap().name.starts_with("forest #"));
        assert!(p.run(&store).unwrap().steps().iter().all(|s| s.status == StepStatus::Cached));

        // Four more trials: the first three batches are asked, run and told as before.
        let (p, tuned) = pipeline(&tpe_study(16));
        let longer = p.run(&store).unwrap().into_result().unwrap();
        for stage in 0..3 {
            assert_eq!(longer.step(&format!("ask_forest_{stage}")).unwrap().status, StepStatus::Cached);
            assert_eq!(longer.step(&format!("cv_forest_trials_{stage}")).unwrap().status, StepStatus::Cached);
        }
        assert_eq!(longer.step("ask_forest_3").unwrap().status, StepStatus::Ran);
        assert_eq!(longer.get(tuned.results).unwrap().trials[..12], results.trials[..]);

        let mut p = Pipeline::new("zero-batch");
        let file = p.param("data", DataFile::open(IRIS).unwrap());
        let csv = p.param("csv", CsvOptions::default().skip_lines(1).no_header(COLUMNS));
        let raw = p.step(blocks::IngestStep, (file, csv));
        let setup = p.param("setup", Prepare::label("species"));
        let prepared = p.step(blocks::PrepareStep, (raw, setup));
        let zero = Study { search: blocks::Search::Tpe { trials: 4, batch: 0, seed: 1 }, ..tpe_study(4) };
        let err = blocks::tune(&mut p, raw, setup, prepared, "forest", &zero).unwrap_err();
        assert!(err.to_string().contains("batch of 0"), "{err}");
    }

    #[test]
    fn a_pruned_tpe_study_stops_trials_behind_the_median_of_earlier_batches() {
        use mlflow::tune::Pruner;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        // Stumps are far behind deeper forests on iris.
        let space = Space::new().int("max_depth", 1, 6).int("min_samples_leaf", 1, 10);
        let study = Study::tpe(forest(), space, 20, 4, 3, ClassMetric::Accuracy)
            .cv(CrossValidation::stratified(3))
            .pruner(Pruner::median());
        let (p, tuned) = pipeline(&study);
        let report = p.run(&store).unwrap().into_result().unwrap();
        let results = report.get(tuned.results).unwrap();
        assert_eq!((results.trials.len(), results.pruned.len()), (20, 20));
        let pruned: Vec<usize> = (0..20).filter(|&t| results.pruned[t].is_some()).collect();
        assert!(!pruned.is_empty(), "{}", results.table());
        let candidates = &results.results.candidates;
        let running = |t: usize, fold: usize| {
            candidates[t].fold_scores[..=fold].iter().sum::<f64>() / (fold + 1) as f64
        };
        for &t in &pruned {
            let c = &candidates[t];
            assert!(
                t >= 8,
                "trial {t}: the first two batches have fewer than 5 completed trials to judge by"
            );
            let after = results.pruned[t].unwrap();
            assert!(after < 2, "the last fold is never pruned");
            assert!(c.fold_scores[..=after].iter().all(|s| s.is_finite()));
            assert!(c.fold_scores[after + 1..].iter().all(|s| s.is_nan()), "skipped folds are unscored");
            assert!(c.mean.is_nan() && c.rank as usize > 20 - pruned.len(), "pruned trials rank last");
            // Behind the median of the trials completed in earlier batches, at every fold it ran.
            let mut earlier: Vec<usize> = (0..t / 4 * 4).filter(|&e| results.pruned[e].is_none()).collect();
            for fold in 0..=after {
                earlier.sort_by(|&a, &b| running(a, fold).total_cmp(&running(b, fold)));
                let (lo, hi) = (earlier[(earlier.len() - 1) / 2], earlier[earlier.len() / 2]);
                let median = (running(lo, fold) + running(hi, fold)) / 2.0;
                let best = (0..=fold).map(|f| running(t, f)).fold(f64::MIN, f64::max);
                assert_eq!(best < median, fold == after, "trial {t} fold {fold}: {best} vs median {median}");
            }
        }
        assert!(!report.get(tuned.best).unwrap().name.contains("max_depth=1"));
        assert!(p.run(&store).unwrap().steps().iter().all(|s| s.status == StepStatus::Cached));

        // Pruning needs trials that finished before: a grid has none.
        let mut p = Pipeline::new("pruned-grid");
        let file = p.param("data", DataFile::open(IRIS).unwrap());
        let csv = p.param("csv", CsvOptions::default().skip_lines(1).no_header(COLUMNS));
        let raw = p.step(blocks::IngestStep, (file, csv));
        let setup = p.param("setup", Prepare::label("species"));
        let prepared = p.step(blocks::PrepareStep, (raw, setup));
        let grid = depth_grid(&[1, 4]).pruner(Pruner::median());
        let err = blocks::tune(&mut p, raw, setup, prepared, "forest", &grid).unwrap_err();
        assert!(err.to_string().contains("Study::tpe"), "{err}");
        let bad = tpe_study(4).pruner(Pruner { percentile: 120.0, ..Pruner::median() });
        let err = blocks::tune(&mut p, raw, setup, prepared, "forest", &bad).unwrap_err();
        assert!(err.to_string().contains("percentile is 120"), "{err}");
    }

    #[test]
    fn successive_halving_runs_scikit_learns_rungs_on_growing_subsamples() {
        use mlflow::tune::{Halving, MinResources, Rung};
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let space = Space::new().choice("max_depth", [1, 2, 4]).choice("min_samples_leaf", [1, 5, 10]);
        let study = Study::halving(forest(), space, ClassMetric::Accuracy).cv(CrossValidation::stratified(3));
        let (p, tuned) = pipeline(&study);
        let report = p.run(&store).unwrap().into_result().unwrap();
        // 112 training rows, 3 classes x 3 folds x 2 = 18 smallest: HalvingGridSearchCV's rungs.
        let expected = Halving {
            factor: 3,
            min_resources: MinResources::Exhaust { smallest: 18 },
            max_resources: 112,
            aggressive_elimination: false,
        }
        .schedule(9)
        .unwrap();
        assert_eq!(expected, [Rung { candidates: 9, resources: 18 }, Rung { candidates: 3, resources: 54 }]);
        assert_eq!(tasks(&report, "cv_forest_rung_0"), (27, 27, 0));
        assert_eq!(tasks(&report, "cv_forest_rung_1"), (9, 9, 0));
        assert_eq!(tasks(&report, "cv_forest_rung_2"), (0, 0, 0), "past the plan: no task");
        let results = report.get(tuned.results).unwrap();
        assert_eq!(results.trials.len(), 3, "the last rung's candidates");
        assert!(results.trials.iter().all(|t| !t.name.contains("max_depth=1")), "{}", results.table());
        assert!(report.get(tuned.scored).unwrap().metrics.classes().is_some());
        assert!(p.run(&store).unwrap().steps().iter().all(|s| s.status == StepStatus::Cached));
    }

    #[test]
    fn each_fold_fits_its_features_on_its_own_training_rows() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut p = Pipeline::new("folds");
        let file = p.param("data", DataFile::open(IRIS).unwrap());
        let csv = p.param("csv", CsvOptions::default().skip_lines(1).no_header(COLUMNS));
        let raw = p.step(blocks::IngestStep, (file, csv));
        let setup = p.param("setup", Prepare::label("species").test_fraction(0.25).seed(7));
        let prepared = p.step(blocks::PrepareStep, (raw, setup));
        let cv = p.param("cv", Some(CrossValidation::stratified(3)));
        let folds = p.step(blocks::FoldsStep, (prepared, cv));
        let fold_data = p.map(blocks::PrepareFoldStep, (raw, setup, prepared, folds));
        let report = p.run(&store).unwrap().into_result().unwrap();
        let (raw, prepared) = (report.get(raw).unwrap(), report.get(prepared).unwrap());
        let folds = report.get(folds).unwrap();
        for (fold, data) in folds.iter().zip(report.get(fold_data).unwrap()) {
            let train: Vec<usize> = fold.train.iter().map(|&i| prepared.split.train[i]).collect();
            let test: Vec<usize> = fold.test.iter().map(|&i| prepared.split.train[i]).collect();
            assert_eq!((&data.split.train, &data.split.test), (&train, &test));
            assert!(test.iter().all(|row| !prepared.split.test.contains(row)), "the hold-out stays out");
            let rules = mlflow::features::Inference::excluding(["species"]);
            let spec = mlflow::features::infer_spec(&raw.table, &train, &rules).spec;
            assert_eq!(
                data.features,
                spec.fit(&raw.table, &train).unwrap(),
                "fitted on the fold's rows only"
            );
            assert_eq!(data.train_classes().unwrap().len(), train.len());
        }
    }

    #[test]
    fn failing_trials_score_nan_and_a_study_where_all_fail_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        // A tree with min_samples_split 1 is refused by the model: that trial fails on every fold.
        let study = Study::grid(
            Candidate::new("tree", TreeParams::default()),
            Space::new().choice("min_samples_split", [1, 2]),
            ClassMetric::Accuracy,
        )
        .cv(CrossValidation::stratified(3));
        let (p, tuned) = pipeline(&study);
        let report = p.run(&store).unwrap().into_result().unwrap();
        let results = report.get(tuned.results).unwrap();
        let [bad, good] = &results.results.candidates[..] else { panic!() };
        assert!(bad.mean.is_nan() && bad.rank == 2, "{bad:?}");
        assert!(good.mean.is_finite() && good.rank == 1);
        let failed = report.step("cv_forest_trials").unwrap().tasks.clone().unwrap().failed;
        assert_eq!(failed.iter().map(|f| f.index).collect::<Vec<_>>(), [0, 2, 4], "trial 0 on each fold");

        let all_bad = Study::grid(
            Candidate::new("tree", TreeParams::default()),
            Space::new().choice("min_samples_split", [0, 1]),
            ClassMetric::Accuracy,
        )
        .cv(CrossValidation::stratified(3));
        let (p, _) = pipeline(&all_bad);
        let report = p.run_with(&store, RunOptions::new().fail_fast(false)).unwrap();
        let error = report.step("rank_forest").unwrap().error.clone().unwrap();
        assert!(error.contains("no trial scored: all 2 trials x 3 folds failed"), "{error}");
    }

    #[test]
    fn studies_that_cannot_run_are_refused_with_the_fix() {
        let err = Study::grid(forest(), Space::new().choice("depth", [2]), ClassMetric::Accuracy)
            .trials()
            .unwrap_err();
        assert!(matches!(err, BlockError::Hyperparameter { .. }), "{err}");
        assert!(err.to_string().contains("has no hyperparameter `depth`; its hyperparameters are"), "{err}");
        assert!(err.to_string().contains("max_depth"), "{err}");
        let err = Study::grid(forest(), Space::new().choice("n_trees", [1.5]), ClassMetric::Accuracy)
            .trials()
            .unwrap_err();
        assert!(err.to_string().contains("refuses n_trees=1.5"), "{err}");
        let err = Study::grid(forest(), Space::new(), ClassMetric::Accuracy).trials().unwrap_err();
        assert!(err.to_string().contains("no hyperparameter"), "{err}");
        let err = Study::random(forest(), Space::new().int("max_depth", 1, 4), 0, 1, ClassMetric::Accuracy)
            .trials()
            .unwrap_err();
        assert!(err.to_string().contains("no candidate"), "{err}");

        // More folds than the smallest class has training rows: the folds step says so.
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (p, _) = pipeline(&depth_grid(&[2]).cv(CrossValidation::stratified(100)));
        let report = p.run_with(&store, RunOptions::new().fail_fast(false)).unwrap();
        let step = report.step("folds_forest").unwrap();
        assert_eq!(step.status, StepStatus::Failed);
        let source = step.error_source.as_deref().and_then(|e| e.downcast_ref::<BlockError>());
        assert!(
            matches!(source, Some(BlockError::Features(FeatureError::ClassTooSmallForFolds { .. }))),
            "{:?}",
            step.error
        );
    }
}

mod tpe {
    use mlflow::tune::{Observed, ParamValue, Params, Space, Tpe, random_candidates};

    /// Higher is better; best 0 at x = 1.5, y = -2 (scaled by `kind`, which only stretches it).
    fn objective(p: &Params) -> f64 {
        let (x, y) = (p["x"].as_f64().unwrap(), p["y"].as_f64().unwrap());
        let stretch = if p["kind"] == ParamValue::from("b") { 1.0 } else { 1.5 };
        -stretch * ((x - 1.5).powi(2) + (y + 2.0).powi(2))
    }

    fn space() -> Space {
        Space::new().float("x", -5.0, 5.0).float("y", -5.0, 5.0).choice("kind", ["a", "b", "c"])
    }

    fn study(tpe: &Tpe, n: usize) -> Vec<Observed> {
        let mut history = Vec::new();
        for _ in 0..n {
            let params = tpe.ask(&space(), &history, true).unwrap();
            history.push(Observed { score: objective(&params), params });
        }
        history
    }

    fn best(trials: &[Observed]) -> f64 {
        trials.iter().map(|t| t.score).fold(f64::NEG_INFINITY, f64::max)
    }

    #[test]
    fn tpe_beats_random_search_on_the_same_budget_and_seeds() {
        let (mut tpe_total, mut random_total) = (0.0, 0.0);
        for seed in 0..8 {
            let tpe = study(&Tpe::new(seed), 60);
            let random: Vec<Observed> = random_candidates(&space(), 60, seed)
                .unwrap()
                .into_iter()
                .map(|params| Observed { score: objective(&params), params })
                .collect();
            // The startup trials are the random search's own.
            assert_eq!(
                tpe[..10].iter().map(|t| &t.params).collect::<Vec<_>>(),
                random[..10].iter().map(|t| &t.params).collect::<Vec<_>>()
            );
            tpe_total += best(&tpe);
            random_total += best(&random);
        }
        assert!(
            tpe_total / 8.0 > random_total / 8.0,
            "TPE {} vs random {}",
            tpe_total / 8.0,
            random_total / 8.0
        );
        let (tpe_mean, random_mean) = (tpe_total / 8.0, random_total / 8.0);
        assert!(tpe_mean > random_mean + 0.1 && tpe_mean > -0.2, "TPE {tpe_mean} vs random {random_mean}");
    }

    #[test]
    fn asks_are_deterministic_respect_the_space_and_survive_failed_trials() {
        let conditional = Space::new()
            .choice("kernel", ["linear", "rbf"])
            .float_log("gamma", 1e-4, 1.0)
            .when("kernel", ["rbf"])
            .int_step("trees", 10, 100, 10);
        let tpe = Tpe::new(5);
        let mut history = Vec::new();
        for i in 0..30 {
            let params = tpe.ask(&conditional, &history, false).unwrap();
            assert_eq!(
                params,
                tpe.ask(&conditional, &history, false).unwrap(),
                "the same history asks the same"
            );
            assert_eq!(params.contains_key("gamma"), params["kernel"] == ParamValue::from("rbf"));
            let trees = params["trees"].as_i64().unwrap();
            assert!((10..=100).contains(&trees) && trees % 10 == 0, "{trees}");
            if let Some(g) = params.get("gamma") {
                assert!((1e-4..=1.0).contains(&g.as_f64().unwrap()));
            }
            // Every third trial fails (NaN): counted as the worst, never a crash.
            let score = if i % 3 == 0 { f64::NAN } else { trees as f64 };
            history.push(Observed { params, score });
        }
        // Lower is better here: small forests are learned.
        let late: Vec<i64> = history[20..].iter().map(|t| t.params["trees"].as_i64().unwrap()).collect();
        assert!(late.iter().sum::<i64>() / late.len() as i64 <= 40, "{late:?}");
        assert!(Tpe::new(1).ask(&Space::new(), &[], true).is_err());
    }
}

#[derive(serde::Deserialize)]
struct PrunerCase {
    settings: PrunerSettings,
    higher_is_better: bool,
    completed: Vec<BTreeMap<String, Option<f64>>>,
    intermediate: BTreeMap<String, Option<f64>>,
    prune: bool,
}

#[derive(serde::Deserialize)]
struct PrunerSettings {
    percentile: f64,
    n_startup_trials: usize,
    n_warmup_steps: u64,
    interval_steps: u64,
    n_min_trials: usize,
}

#[test]
fn pruning_decisions_are_optunas() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tune/pruner.json");
    let fixture: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cases: Vec<PrunerCase> = serde_json::from_value(fixture["cases"].clone()).unwrap();
    let curve = |values: &BTreeMap<String, Option<f64>>| -> Intermediate {
        values.iter().map(|(k, v)| (k.parse().unwrap(), v.unwrap_or(f64::NAN))).collect()
    };
    assert!(cases.len() >= 300 && cases.iter().filter(|c| c.prune).count() >= 20);
    for (i, case) in cases.iter().enumerate() {
        let s = &case.settings;
        let pruner = Pruner {
            percentile: s.percentile,
            n_startup_trials: s.n_startup_trials,
            n_warmup_steps: s.n_warmup_steps,
            interval_steps: s.interval_steps,
            n_min_trials: s.n_min_trials,
        };
        pruner.check().unwrap();
        let completed: Vec<Intermediate> = case.completed.iter().map(curve).collect();
        let decision = pruner.should_prune(&completed, &curve(&case.intermediate), case.higher_is_better);
        assert_eq!(decision, case.prune, "case {i}");
    }
}
