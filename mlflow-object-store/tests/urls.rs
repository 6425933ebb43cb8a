//! From a URL to an artifact store: what opens, and the errors that say what to do.

use mlflow_core::store::ArtifactStore;
use mlflow_object_store::{ObjectArtifacts, OpenError, open_store};

fn error(url: &str) -> OpenError {
    match ObjectArtifacts::from_url(url) {
        Ok(artifacts) => panic!("{url} opened as {}", artifacts.location()),
        Err(err) => err,
    }
}

#[test]
fn memory_and_file_urls_open_with_their_locations() {
    assert_eq!(ObjectArtifacts::from_url("memory://").unwrap().location(), "memory://");
    let artifacts = ObjectArtifacts::from_url("memory://a/b/").unwrap();
    assert_eq!((artifacts.location().as_str(), artifacts.prefix().as_ref()), ("memory://a/b", "a/b"));
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("new folder").join("artifacts");
    let url = format!("file://{}", folder.display()).replace(' ', "%20");
    let artifacts = ObjectArtifacts::from_url(&url).unwrap();
    assert!(folder.is_dir(), "the folder is created");
    assert_eq!(artifacts.location(), format!("file://{}", folder.display()));
    let hash = mlflow_core::codec::hash_bytes(b"x");
    assert!(artifacts.local_path(hash).is_none());
}

#[test]
fn an_unknown_scheme_lists_the_schemes_and_their_features() {
    let err = error("ftp://host/artifacts");
    assert!(matches!(&err, OpenError::UnknownScheme { scheme, .. } if scheme == "ftp"), "{err:?}");
    let message = err.to_string();
    for needle in
        ["`ftp://`", "s3://", "feature `s3`", "feature `gcs`", "feature `azure`", "file://", "memory://"]
    {
        assert!(message.contains(needle), "{needle} in {message}");
    }
    assert!(matches!(error("not a url"), OpenError::BadUrl { .. }));
    let err = error("https://s3.example.com/bucket");
    assert!(err.to_string().contains("AWS_ENDPOINT_URL"), "{err}");
}

/// Each cloud scheme whose feature this build lacks says which feature to turn on.
#[test]
fn a_scheme_whose_feature_is_off_names_the_feature() {
    let cases = [
        ("s3://bucket/prefix", "s3", cfg!(feature = "s3")),
        ("s3a://bucket/prefix", "s3", cfg!(feature = "s3")),
        ("gs://bucket/prefix", "gcs", cfg!(feature = "gcs")),
        ("az://container/prefix", "azure", cfg!(feature = "azure")),
        ("azure://container/prefix", "azure", cfg!(feature = "azure")),
    ];
    for (url, feature, on) in cases {
        if on {
            continue;
        }
        let err = error(url);
        assert!(matches!(&err, OpenError::FeatureOff { feature: f, .. } if *f == feature), "{url}: {err:?}");
        let message = err.to_string();
        assert!(message.contains(&format!("features = [\"{feature}\"]")), "{message}");
        assert!(message.contains(&format!("--features mlflow-object-store/{feature}")), "{message}");
    }
}

#[test]
fn credentials_in_a_url_are_refused_and_never_repeated() {
    for url in ["s3://AKIAEXAMPLE:s3cr3t@bucket/p", "memory://user:s3cr3t@x", "gs://s3cr3t@bucket"] {
        let err = error(url);
        assert!(matches!(err, OpenError::CredentialsInUrl { .. }), "{url}: {err:?}");
        let message = err.to_string();
        assert!(!message.contains("s3cr3t") && !message.contains("AKIAEXAMPLE"), "{message}");
        assert!(message.contains("environment"), "{message}");
    }
    let err = error("s3://bucket/p?access_key=s3cr3t");
    assert!(matches!(err, OpenError::BadUrl { .. }), "{err:?}");
    assert!(!err.to_string().contains("s3cr3t"), "{err}");
    let err = error("s3://key:s3cr3t@[bucket");
    assert!(matches!(err, OpenError::BadUrl { .. }), "{err:?}");
    assert!(!err.to_string().contains("s3cr3t"), "{err}");
}

#[test]
fn file_urls_must_be_local_and_absolute() {
    let err = error("file://otherhost/data");
    assert!(err.to_string().contains("file:///absolute/path"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a file"), b"").unwrap();
    let url = format!("file://{}", dir.path().join("a file").join("below").display()).replace(' ', "%20");
    assert!(matches!(error(&url), OpenError::Io { .. }));
}

#[test]
fn a_bad_prefix_is_refused() {
    let err = error("memory://a//b");
    assert!(matches!(err, OpenError::BadUrl { .. }), "{err:?}");
}

#[test]
fn open_store_reports_the_artifacts_error_before_touching_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let meta = dir.path().join("meta");
    assert!(matches!(open_store(&meta, "ftp://x").unwrap_err(), OpenError::UnknownScheme { .. }));
    assert!(!meta.exists());
    let store = open_store(&meta, "memory://").unwrap();
    assert_eq!(store.root(), meta);
}
