//! `examples/classify.rs` on CSV files it has never seen: the whole newcomer path (ingest,
//! validate, prepare with inferred features, three models, evaluate, select, package, register).

use crate::common::temp_store;
use crate::titanic;

use mlflow::blocks::PromotionOutcome;
use mlflow::registry::Registry;
use mlflow::serve::Scorer;

#[path = "../../examples/classify.rs"]
#[allow(dead_code)] // its `main` is the example's
mod example;

/// A churn-like table: an id, a numeric column with gaps, a category, free text, and a label
/// that depends on the first two.
fn churn_csv(rows: usize) -> String {
    let mut csv = String::from("customer_id,tenure,plan,notes,monthly,churned\n");
    for i in 0..rows {
        let tenure = if i % 17 == 0 { String::new() } else { ((i * 7) % 60).to_string() };
        let plan = ["basic", "plus", "pro"][i % 3];
        let monthly = 20.0 + ((i * 13) % 80) as f64;
        let churned = ((i * 7) % 60 < 12 || (monthly > 85.0 && i % 3 == 0)) as u8;
        csv += &format!("C{i:05},{tenure},{plan},note number {i},{monthly},{churned}\n");
    }
    csv
}

#[test]
fn a_csv_the_project_has_never_seen_goes_from_file_to_registered_package() {
    let (dir, store) = temp_store();
    let path = dir.path().join("churn.csv");
    std::fs::write(&path, churn_csv(400)).unwrap();
    let path = path.to_str().unwrap();

    let registered = example::classify(&store, path, "churned", &["customer_id".into()]).unwrap();
    assert_eq!(registered.version.reference(), "classify/1");
    assert!(matches!(registered.promotion, PromotionOutcome::Promoted(_)), "{registered}");
    let auc = registered.version.metrics["roc_auc"];
    assert!(auc > 0.8, "the label is learnable from tenure: ROC AUC {auc}");

    // The package scores raw rows through the inferred, fitted transformers: `notes` (free
    // text) and the excluded id were left out, `plan` was encoded, gaps in `tenure` imputed.
    let package =
        Registry::new(&store).unwrap().load::<mlflow::serve::ModelPackage>("classify@production").unwrap();
    assert_eq!(package.signature().names(), ["tenure", "plan", "monthly"]);
    let raw =
        mlflow::blocks::ingest(&mlflow::data::DataFile::open(path).unwrap(), &Default::default()).unwrap();
    let scored = Scorer::new(package).score_table(&raw.table).unwrap();
    assert_eq!(scored.len(), 400);

    // Again: everything is cached, and the same version holds the alias.
    let again = example::classify(&store, path, "churned", &["customer_id".into()]).unwrap();
    assert_eq!(again.version.version, 1);
    assert_eq!(again.promotion, PromotionOutcome::AlreadyThere);
    let runs = store.run_ids("classify").unwrap();
    let last = store.run(&runs[0]).unwrap().unwrap();
    assert!(last.steps.iter().all(|s| s.status == "cached"), "{:?}", last.steps);
}

#[test]
fn the_titanic_file_works_as_it_is_and_a_bad_label_is_a_clear_error() {
    let (_dir, store) = temp_store();
    let path = titanic::path("train.csv");
    let path = path.to_str().unwrap();
    let registered = example::classify(&store, path, "Survived", &["PassengerId".into()]).unwrap();
    assert!(registered.version.metrics["roc_auc"] > 0.8, "{:?}", registered.version.metrics);

    // `Pclass` is 1, 2 or 3: not a binary label. The validation step says so, and the steps
    // waiting for it are skipped.
    let err = example::classify(&store, path, "Pclass", &[]).unwrap_err().to_string();
    assert!(err.contains("check") && err.contains("Pclass"), "{err}");
}

#[test]
fn packaging_a_champion_that_is_not_in_the_list_is_refused_with_the_fix() {
    let prepared = titanic::dataset();
    let candidate = mlflow::blocks::Candidate::new("tree", mlflow::models::TreeParams::default());
    let trained = mlflow::blocks::train(&prepared, &candidate).unwrap();
    let champion = mlflow::eval::Best {
        index: 3,
        name: "svm".into(),
        metric: mlflow::eval::TaskMetric::from(mlflow::eval::Metric::RocAuc),
        value: 0.9,
    };
    let raw = titanic::ingested("train.csv");
    let err =
        mlflow::blocks::package(&champion, &vec![trained.clone()], &prepared, &raw).unwrap_err().to_string();
    assert!(
        err.contains("champion `svm` is candidate 4, but only 1 trained") && err.contains("same `compare`"),
        "{err}"
    );

    let first = mlflow::eval::Best { index: 0, name: "tree".into(), ..champion };
    let package = mlflow::blocks::package(&first, &vec![trained], &prepared, &raw).unwrap();
    assert_eq!(package.self_test().1.len(), mlflow::blocks::SELF_TEST_ROWS);
    assert!(package.features().is_some(), "the package scores raw rows");
    // The reference profile of the training rows travels with it.
    let profile = package.profile().expect("a reference profile");
    assert_eq!(profile.rows, prepared.split.train.len());
    assert_eq!(profile.label.as_ref().map(|l| l.name.as_str()), Some("Survived"));
    assert!(profile.raw_column("Survived").is_none() && profile.raw_column("Age").unwrap().nulls > 100);
    let names: Vec<&str> = profile.features.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, package.signature().names());
    assert_eq!(profile.outputs.iter().map(|o| o.name.as_str()).collect::<Vec<_>>(), ["P(0)", "P(1)"]);
}
