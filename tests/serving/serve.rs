//! Model packages and the in-process scorer on the Titanic example's champion: packaging,
//! the file format and every way a file can be refused, scoring single rows, batches, named rows
//! and raw table rows, every bad input, and loading through the registry.

use crate::titanic as support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use mlflow::codec;
use mlflow::models::{Classifier, SelfTestedModel};
use mlflow::prelude::*;
use mlflow::registry::{Promotion, RegisterRequest, Registry};
use mlflow::serve::{FORMAT_VERSION, Lineage, MAGIC, ModelPackage, Prediction, Scorer, ServeError};
use ndarray::{Array2, array};

use mlflow::blocks::Prepared as Dataset;
use support::pipeline;

/// The demo passenger's 13 engineered features.
const DEMO: [f64; 13] = [3.0, 0.0, 4.0, 1.0, 2.0, 3.0, 0.0, 1.0, 0.0, 8.0, 3.0, 6.0, 2.0];

/// One Titanic run in a temporary store, shared by the tests.
struct Fixture {
    _dir: tempfile::TempDir,
    store: PathBuf,
    run_id: String,
    champion: SelfTestedModel,
    data: Dataset,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let (dir, store) = support::temp_store();
        let path = store.root().to_owned();
        let (report, nodes) = support::run_demo(&store);
        Fixture {
            store: path,
            run_id: report.run_id().to_owned(),
            champion: {
                // The pipeline packages its champion; rebuild the self-tested model it came from.
                let package = report.get(nodes.package).unwrap();
                let (rows, _) = package.self_test();
                SelfTestedModel::new(
                    package.name(),
                    package.model().classifier().unwrap().clone(),
                    package.scaler().cloned(),
                    rows,
                )
                .unwrap()
            },
            data: report.get(nodes.prepared).unwrap().clone(),
            _dir: dir,
        }
    })
}

fn names() -> Vec<String> {
    fixture().data.train.names.clone()
}

fn package() -> ModelPackage {
    let f = fixture();
    let lineage = Lineage::default().run(&f.run_id, "package").pipeline("titanic");
    ModelPackage::from_self_tested(&f.champion, &names(), lineage).unwrap()
}

fn scorer() -> Scorer {
    Scorer::new(package())
}

fn named(values: &[f64]) -> BTreeMap<String, f64> {
    names().into_iter().zip(values.iter().copied()).collect()
}

/// The package file's bytes with the body edited and the header's hash and length fixed up.
fn rewrite_body(bytes: &[u8], edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut body = bytes[54..].to_vec();
    edit(&mut body);
    let mut out = bytes[..14].to_vec();
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(codec::hash_bytes(&body).as_bytes());
    out.extend_from_slice(&body);
    out
}

#[test]
fn the_champion_packages_saves_and_loads_unchanged() {
    let f = fixture();
    let package = package();
    assert_eq!(package.name(), f.champion.name());
    assert_eq!(package.name(), "svm", "the ROC AUC champion is the scaled SVM");
    assert!(package.scaler().is_some());
    assert_eq!(package.signature().names().len(), 13);
    assert_eq!(package.signature().names()[0], "Pclass");
    assert_eq!(package.format_version(), FORMAT_VERSION);
    assert_eq!(package.lineage().run_id.as_deref(), Some(f.run_id.as_str()));
    let (rows, expected) = package.self_test();
    let (their_rows, their_expected) = f.champion.self_test();
    assert_eq!((rows, expected), (their_rows, their_expected));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("titanic.mlpkg");
    package.save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[..10], MAGIC);
    assert_eq!(bytes[10..14], FORMAT_VERSION.to_le_bytes());
    assert_eq!(ModelPackage::load(&path).unwrap(), package);
    assert_eq!(Scorer::load(&path).unwrap().package(), &package);
    assert_eq!(package.to_bytes().unwrap(), bytes, "the format is deterministic");
}

#[test]
fn the_demo_row_scores_as_the_pipeline_model_does() {
    let f = fixture();
    let want = f.champion.predict_positive(array![DEMO].view()).unwrap()[0];
    let got = scorer().score_row(&DEMO).unwrap();
    assert_eq!(got, Prediction { label: u32::from(want > 0.5), probability: want });
    assert!((got.probability - 0.423).abs() < 5e-4, "the README's demo prediction: {got:?}");
    assert_eq!(got.label, 0);

    let loaded = Scorer::from_bytes(&package().to_bytes().unwrap()).unwrap();
    assert_eq!(loaded.score_row(&DEMO).unwrap(), got);
    assert_eq!(loaded.score_named(&named(&DEMO)).unwrap(), got, "named rows equal positional ones");
}

#[test]
fn batches_score_as_the_pipeline_model_does() {
    let f = fixture();
    let scorer = scorer();
    let test = f.data.test.x.view();
    let want = f.champion.predict_positive(test).unwrap();
    let batch = scorer.score_batch(test).unwrap();
    assert_eq!(batch.len(), test.nrows());
    for (i, (p, &w)) in batch.iter().zip(want.iter()).enumerate() {
        assert_eq!(p.probability, w, "row {i}");
        assert_eq!(scorer.score_row(test.row(i).as_slice().unwrap()).unwrap(), *p, "row {i}");
    }
    let rows: Vec<BTreeMap<String, f64>> =
        test.rows().into_iter().map(|r| named(r.as_slice().unwrap())).collect();
    assert_eq!(scorer.score_named_batch(&rows).unwrap(), batch);
    assert!(scorer.score_batch(Array2::zeros((0, 13)).view()).unwrap().is_empty());
}

#[test]
fn raw_table_rows_score_through_the_packaged_transformers() {
    let f = fixture();
    let raw = support::ingested("train.csv");
    let split = support::split();
    let features = pipeline::feature_spec().fit(&raw.table, &split.train).unwrap();
    let scorer = Scorer::new(package().with_features(features).unwrap());
    let all = scorer.score_table(&raw.table).unwrap();
    let want = f.champion.predict_positive(f.data.test.x.view()).unwrap();
    for (k, &i) in split.test.iter().enumerate() {
        assert_eq!(all[i].probability, want[k], "hold-out row {k} (file row {i})");
    }
    let back = ModelPackage::from_bytes(&scorer.package().to_bytes().unwrap()).unwrap();
    assert_eq!(&back, scorer.package(), "the transformers survive the file format");

    let err = self::scorer().score_table(&raw.table).unwrap_err().to_string();
    assert!(err.contains("has no feature transformers"), "{err}");
    let wrong = mlflow::features::FeatureSpec::new()
        .with(mlflow::features::Feature::column("Pclass"))
        .fit(&raw.table, &split.train)
        .unwrap();
    let err = package().with_features(wrong).unwrap_err().to_string();
    assert!(err.contains("output `Pclass` but the model takes `Pclass`, `Sex`"), "{err}");
}

#[test]
fn bad_positional_rows_are_errors_naming_the_row_and_feature() {
    let scorer = scorer();
    let err = scorer.score_row(&DEMO[..12]).unwrap_err();
    assert!(matches!(err, ServeError::FeatureCount { row: 0, expected: 13, found: 12, .. }), "{err}");
    assert!(
        err.to_string().contains("row 0 has 12 values but the model takes 13 features (`Pclass`"),
        "{err}"
    );
    let long: Vec<f64> = DEMO.iter().copied().chain([1.0]).collect();
    assert!(matches!(scorer.score_row(&long), Err(ServeError::FeatureCount { found: 14, .. })));
    assert!(matches!(scorer.score_row(&[]), Err(ServeError::FeatureCount { found: 0, .. })));

    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let mut row = DEMO;
        row[2] = bad;
        let err = scorer.score_row(&row).unwrap_err();
        assert!(matches!(err, ServeError::NonFinite { row: 0, column: 2, .. }), "{err}");
        assert!(err.to_string().contains("feature `Age` (column 2)"), "{err}");
    }

    let mut batch = fixture().data.test.x.slice(ndarray::s![..5, ..]).to_owned();
    batch[[3, 12]] = f64::NAN;
    let err = scorer.score_batch(batch.view()).unwrap_err();
    assert!(matches!(err, ServeError::NonFinite { row: 3, column: 12, .. }), "{err}");
    assert!(err.to_string().contains("row 3, feature `Fare_Per_Person`"), "{err}");
    let narrow = Array2::<f64>::zeros((2, 5));
    assert!(matches!(scorer.score_batch(narrow.view()), Err(ServeError::FeatureCount { found: 5, .. })));
}

#[test]
fn bad_named_rows_are_errors_naming_the_row_and_feature() {
    let scorer = scorer();
    let mut unknown = named(&DEMO);
    unknown.insert("Cabin".into(), 1.0);
    let err = scorer.score_named(&unknown).unwrap_err();
    assert!(matches!(&err, ServeError::UnknownFeature { row: 0, name, .. } if name == "Cabin"), "{err}");
    assert!(err.to_string().contains("unknown feature `Cabin`; the model takes `Pclass`"), "{err}");

    let mut missing = named(&DEMO);
    missing.remove("Title");
    let err = scorer.score_named(&missing).unwrap_err();
    assert!(matches!(&err, ServeError::MissingFeature { row: 0, name, .. } if name == "Title"), "{err}");
    assert!(err.to_string().contains("no value for feature `Title`"), "{err}");

    let mut renamed = named(&DEMO);
    let v = renamed.remove("Sex").unwrap();
    renamed.insert("sex".into(), v);
    assert!(matches!(scorer.score_named(&renamed), Err(ServeError::UnknownFeature { .. })));

    let mut nan = named(&DEMO);
    nan.insert("Fare".into(), f64::NAN);
    let err = scorer.score_named(&nan).unwrap_err();
    assert!(matches!(&err, ServeError::NonFinite { feature, .. } if feature == "Fare"), "{err}");

    let rows = vec![named(&DEMO), named(&DEMO), missing];
    let err = scorer.score_named_batch(&rows).unwrap_err();
    assert!(matches!(err, ServeError::MissingFeature { row: 2, .. }), "{err}");
    assert!(scorer.score_named(&BTreeMap::new()).is_err());
}

#[test]
fn building_a_package_with_wrong_names_is_refused() {
    let f = fixture();
    let twelve = &names()[..12];
    let err = ModelPackage::from_self_tested(&f.champion, twelve, Lineage::default()).unwrap_err();
    assert!(matches!(err, ServeError::Build(_)), "{err}");
    assert!(err.to_string().contains("12 feature names"), "{err}");
    let mut shuffled = names();
    shuffled.swap(0, 1);
    let err = ModelPackage::from_self_tested(&f.champion, &shuffled, Lineage::default()).unwrap_err();
    assert!(err.to_string().contains("the scaler was fitted on `Pclass`, `Sex`"), "{err}");
}

#[test]
fn files_that_are_not_packages_are_refused() {
    let err = ModelPackage::load(support::path("train.csv")).unwrap_err();
    assert!(matches!(err, ServeError::NotAPackage { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("train.csv is not a model package"), "{text}");
    assert!(matches!(ModelPackage::from_bytes(b""), Err(ServeError::NotAPackage { .. })));
    assert!(matches!(ModelPackage::from_bytes(b"MLFLOWPK"), Err(ServeError::NotAPackage { .. })));
    let bare = fixture().champion.to_bytes().unwrap();
    assert!(matches!(ModelPackage::from_bytes(&bare), Err(ServeError::NotAPackage { .. })));
    let err = ModelPackage::load("/no/such/dir/titanic.mlpkg").unwrap_err();
    assert!(matches!(err, ServeError::Io { action: "read", .. }), "{err}");
    assert!(err.to_string().contains("/no/such/dir/titanic.mlpkg"), "{err}");
    let err = package().save("/no/such/dir/titanic.mlpkg").unwrap_err();
    assert!(matches!(err, ServeError::Io { action: "write", .. }), "{err}");
}

#[test]
fn an_unknown_format_version_is_refused() {
    let mut bytes = package().to_bytes().unwrap();
    bytes[10..14].copy_from_slice(&4u32.to_le_bytes());
    let err = ModelPackage::from_bytes(&bytes).unwrap_err();
    assert!(matches!(err, ServeError::UnsupportedFormat { found: 4, supported: 3, .. }), "{err}");
    assert!(err.to_string().contains("format version 4, but this mlflow"), "{err}");
    assert!(err.to_string().contains("reads versions 1 to 3"), "{err}");
    bytes.truncate(14);
    assert!(matches!(ModelPackage::from_bytes(&bytes), Err(ServeError::UnsupportedFormat { .. })));
}

#[test]
fn truncated_and_corrupt_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("titanic.mlpkg");
    let bytes = package().to_bytes().unwrap();
    for cut in [12, 30, 54, 55, bytes.len() / 2, bytes.len() - 1] {
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let err = ModelPackage::load(&path).unwrap_err();
        assert!(matches!(err, ServeError::Truncated { .. }), "cut at {cut}: {err}");
        assert!(err.to_string().contains("titanic.mlpkg is truncated"), "{err}");
    }

    let mut flipped = bytes.clone();
    let middle = 54 + (bytes.len() - 54) / 2;
    flipped[middle] ^= 0xff;
    let err = ModelPackage::from_bytes(&flipped).unwrap_err();
    assert!(matches!(err, ServeError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("does not match the hash"), "{err}");

    let mut longer = bytes.clone();
    longer.push(0);
    let err = ModelPackage::from_bytes(&longer).unwrap_err();
    assert!(matches!(err, ServeError::Corrupt { .. }), "{err}");

    let garbage = rewrite_body(&bytes, |body| body.truncate(40));
    let err = ModelPackage::from_bytes(&garbage).unwrap_err();
    assert!(matches!(err, ServeError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("does not decode"), "{err}");
}

#[test]
fn a_package_that_no_longer_reproduces_its_self_test_is_refused() {
    let package = package();
    let bytes = package.to_bytes().unwrap();
    let (_, expected) = package.self_test();
    let last = expected.len() - 1;
    let needle = expected[last].to_le_bytes();
    let tampered = rewrite_body(&bytes, |body| {
        let at = body.windows(8).rposition(|w| w == needle).expect("the expected value is in the body");
        body[at..at + 8].copy_from_slice(&0.999f64.to_le_bytes());
    });
    let err = ModelPackage::from_bytes(&tampered).unwrap_err();
    assert!(
        matches!(err, ServeError::SelfTest { row, expected: e, .. } if row == last && e == 0.999),
        "{err}"
    );
    assert!(err.to_string().contains("failed its self-test"), "{err}");
    assert!(Scorer::from_bytes(&tampered).is_err());
    let wrapped: mlflow::Error = err.into();
    assert!(matches!(wrapped, mlflow::Error::Serve(ServeError::SelfTest { .. })));
}

#[test]
fn the_registered_champion_loads_by_alias() {
    let f = fixture();
    let store = Store::open(&f.store).unwrap();
    let registry = Registry::new(&store).unwrap();
    let err = Scorer::from_registry(&registry, "titanic@production").unwrap_err();
    assert!(matches!(err, ServeError::Registry(_)), "{err}");

    let version = registry.register("titanic", RegisterRequest::new(&f.run_id, "package")).unwrap();
    registry
        .promote("titanic", version.version, "production", Promotion::new("roc_auc").force(true))
        .unwrap();
    let scorer = Scorer::from_registry(&registry, "titanic@production").unwrap();
    let lineage = scorer.package().lineage();
    assert_eq!(lineage.model_name.as_deref(), Some("titanic"));
    assert_eq!(lineage.model_version, Some(version.version));
    assert_eq!(lineage.run_id.as_deref(), Some(f.run_id.as_str()));
    assert_eq!((lineage.node.as_deref(), lineage.pipeline.as_deref()), (Some("package"), Some("titanic")));
    assert_eq!(scorer.package().signature().names(), names(), "named after the scaler's columns");
    assert_eq!(scorer.score_row(&DEMO).unwrap(), self::scorer().score_row(&DEMO).unwrap());
    assert_eq!(scorer.score_named(&named(&DEMO)).unwrap(), self::scorer().score_row(&DEMO).unwrap());

    let not_a_model =
        registry.register("champion-record", RegisterRequest::new(&f.run_id, "select")).unwrap();
    let err = Scorer::from_registry(&registry, &not_a_model.reference()).unwrap_err();
    assert!(matches!(err, ServeError::NotAModel { .. }), "{err}");
    assert!(err.to_string().contains("`champion-record/1` is neither a model package"), "{err}");
    assert!(matches!(Scorer::from_registry(&registry, "titanic@staging"), Err(ServeError::Registry(_))));
}

/// A pipeline step that packages a model, so that the registry holds a `ModelPackage` itself.
#[step]
fn package_champion(model: &SelfTestedModel, names: &Vec<String>) -> Result<ModelPackage, ServeError> {
    ModelPackage::from_self_tested(model, names, Lineage::default())
}

#[test]
fn a_registered_package_step_output_loads_with_its_registry_lineage() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut p = Pipeline::new("repackage");
    let model = p.param("model", f.champion.clone());
    let feature_names = p.param("names", names());
    p.step(PackageChampionStep, (model, feature_names));
    let report = p.run(&store).unwrap();
    assert!(report.is_success(), "{report}");
    let registry = Registry::new(&store).unwrap();
    registry.register("titanic", RegisterRequest::new(report.run_id(), "package_champion")).unwrap();
    let scorer = Scorer::from_registry(&registry, "titanic").unwrap();
    assert_eq!(scorer.package().signature().names(), names());
    let lineage = scorer.package().lineage();
    assert_eq!(
        (lineage.pipeline.as_deref(), lineage.node.as_deref()),
        (Some("repackage"), Some("package_champion"))
    );
    assert_eq!((lineage.model_name.as_deref(), lineage.model_version), (Some("titanic"), Some(1)));
    assert_eq!(scorer.score_row(&DEMO).unwrap(), self::scorer().score_row(&DEMO).unwrap());
}
