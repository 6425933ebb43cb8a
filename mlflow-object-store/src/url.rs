//! From a URL to a backend: `s3://`, `gs://`, `az://`, `file://`, `memory://`.

use std::sync::Arc;

use object_store::ObjectStore;
use object_store::path::Path as ObjectPath;
use url::Url;

use crate::OpenError;

/// A backend opened from a URL.
pub(crate) struct Opened {
    /// Durable writes.
    pub(crate) store: Arc<dyn ObjectStore>,
    /// Writes that need not wait for the disk (a local folder without fsync), when they differ.
    pub(crate) unsynced: Option<Arc<dyn ObjectStore>>,
    /// The folder of the artifacts inside the bucket.
    pub(crate) prefix: ObjectPath,
    /// `s3://bucket/prefix`, for messages.
    pub(crate) location: String,
}

/// Opens the backend named by `text`. Credentials and settings come from the backend's standard
/// environment variables only.
pub(crate) fn open(text: &str) -> Result<Opened, OpenError> {
    let url = Url::parse(text).map_err(|e| OpenError::BadUrl {
        url: redact_text(text),
        reason: format!("{e}; write s3://bucket/prefix, gs://bucket/prefix, az://container/prefix, file:///absolute/path or memory://"),
    })?;
    let scheme = url.scheme().to_owned();
    let shown = shown(&url);
    if !url.username().is_empty() || url.password().is_some() {
        return Err(OpenError::CredentialsInUrl { url: shown, hint: credentials_hint(&scheme) });
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(OpenError::BadUrl {
            url: shown,
            reason: "a query or fragment is not read; configure the backend through its standard environment variables".into(),
        });
    }
    let host = url.host_str().unwrap_or_default().to_owned();
    let path = decoded_path(&url, &shown)?;
    match scheme.as_str() {
        "memory" => {
            let prefix = parse_prefix(&format!("{host}{path}"), &shown)?;
            let location = format!("memory://{prefix}");
            Ok(Opened { store: Arc::new(object_store::memory::InMemory::new()), unsynced: None, prefix, location })
        }
        "file" => open_folder(&url, &host, &shown),
        "s3" | "s3a" => cloud::s3(&scheme, &host, &path, &shown),
        "gs" => cloud::gcs(&scheme, &host, &path, &shown),
        "az" | "azure" => cloud::azure(&scheme, &host, &path, &shown),
        "http" | "https" => Err(OpenError::BadUrl {
            url: shown,
            reason: "an HTTP address names no backend; for an S3-compatible server write s3://bucket/prefix and set AWS_ENDPOINT_URL (and AWS_ALLOW_HTTP=true for plain http) in the environment".into(),
        }),
        _ => Err(OpenError::UnknownScheme { scheme, url: shown }),
    }
}

fn open_folder(url: &Url, host: &str, shown: &str) -> Result<Opened, OpenError> {
    if !host.is_empty() && host != "localhost" {
        return Err(OpenError::BadUrl {
            url: shown.to_owned(),
            reason: "a file URL names a folder on this machine: write file:///absolute/path (three slashes)"
                .into(),
        });
    }
    let dir = url.to_file_path().map_err(|()| OpenError::BadUrl {
        url: shown.to_owned(),
        reason: "not an absolute local path; write file:///absolute/path".into(),
    })?;
    let io = |source| OpenError::Io { path: dir.clone(), source };
    std::fs::create_dir_all(&dir).map_err(io)?;
    let location = format!("file://{}", dir.display());
    let backend = |source| OpenError::Backend { location: location.clone(), source };
    let folder = object_store::local::LocalFileSystem::new_with_prefix(&dir).map_err(backend)?;
    Ok(Opened {
        store: Arc::new(folder.clone().with_fsync(true)),
        unsynced: Some(Arc::new(folder)),
        prefix: ObjectPath::ROOT,
        location,
    })
}

/// The cloud backends, each compiled in with its feature (or an error naming the feature).
mod cloud {
    #[allow(unused_imports, reason = "used by the backends whose features are on")]
    use super::{OpenError, Opened, bucket, feature_off, location, parse_prefix};
    #[allow(unused_imports, reason = "used by the backends whose features are on")]
    use std::sync::Arc;

    #[cfg(feature = "s3")]
    pub(super) fn s3(scheme: &str, host: &str, path: &str, shown: &str) -> Result<Opened, OpenError> {
        let bucket = bucket(host, shown, "bucket")?;
        let prefix = parse_prefix(path, shown)?;
        let location = location(scheme, &bucket, &prefix);
        let store = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(&bucket)
            .build()
            .map_err(|source| OpenError::Backend { location: location.clone(), source })?;
        Ok(Opened { store: Arc::new(store), unsynced: None, prefix, location })
    }

    #[cfg(not(feature = "s3"))]
    pub(super) fn s3(scheme: &str, _: &str, _: &str, _: &str) -> Result<Opened, OpenError> {
        Err(feature_off(scheme, "s3"))
    }

    #[cfg(feature = "gcs")]
    pub(super) fn gcs(scheme: &str, host: &str, path: &str, shown: &str) -> Result<Opened, OpenError> {
        let bucket = bucket(host, shown, "bucket")?;
        let prefix = parse_prefix(path, shown)?;
        let location = location(scheme, &bucket, &prefix);
        let store = object_store::gcp::GoogleCloudStorageBuilder::from_env()
            .with_bucket_name(&bucket)
            .build()
            .map_err(|source| OpenError::Backend { location: location.clone(), source })?;
        Ok(Opened { store: Arc::new(store), unsynced: None, prefix, location })
    }

    #[cfg(not(feature = "gcs"))]
    pub(super) fn gcs(scheme: &str, _: &str, _: &str, _: &str) -> Result<Opened, OpenError> {
        Err(feature_off(scheme, "gcs"))
    }

    #[cfg(feature = "azure")]
    pub(super) fn azure(scheme: &str, host: &str, path: &str, shown: &str) -> Result<Opened, OpenError> {
        let container = bucket(host, shown, "container")?;
        let prefix = parse_prefix(path, shown)?;
        let location = location(scheme, &container, &prefix);
        let store = object_store::azure::MicrosoftAzureBuilder::from_env()
            .with_container_name(&container)
            .build()
            .map_err(|source| OpenError::Backend { location: location.clone(), source })?;
        Ok(Opened { store: Arc::new(store), unsynced: None, prefix, location })
    }

    #[cfg(not(feature = "azure"))]
    pub(super) fn azure(scheme: &str, _: &str, _: &str, _: &str) -> Result<Opened, OpenError> {
        Err(feature_off(scheme, "azure"))
    }
}

/// The bucket (or container) of a cloud URL: its host.
#[cfg_attr(
    not(any(feature = "s3", feature = "gcs", feature = "azure")),
    allow(dead_code, reason = "no cloud backend is compiled in")
)]
fn bucket(host: &str, shown: &str, what: &str) -> Result<String, OpenError> {
    if host.is_empty() {
        return Err(OpenError::BadUrl {
            url: shown.to_owned(),
            reason: format!("no {what}: write scheme://{what}/prefix"),
        });
    }
    Ok(host.to_owned())
}

/// `scheme://bucket/prefix` (no trailing slash when the prefix is empty).
#[cfg_attr(
    not(any(feature = "s3", feature = "gcs", feature = "azure")),
    allow(dead_code, reason = "no cloud backend is compiled in")
)]
fn location(scheme: &str, bucket: &str, prefix: &ObjectPath) -> String {
    if prefix.as_ref().is_empty() {
        format!("{scheme}://{bucket}")
    } else {
        format!("{scheme}://{bucket}/{prefix}")
    }
}

fn decoded_path(url: &Url, shown: &str) -> Result<String, OpenError> {
    percent_encoding::percent_decode_str(url.path()).decode_utf8().map(|p| p.into_owned()).map_err(|_| {
        OpenError::BadUrl { url: shown.to_owned(), reason: "the path is not UTF-8 once decoded".into() }
    })
}

/// The artifacts' folder inside the bucket: `a/b/c` (slashes at either end and empty parts
/// between `memory://` and its path are dropped).
pub(crate) fn parse_prefix(text: &str, shown: &str) -> Result<ObjectPath, OpenError> {
    let trimmed = text.trim_matches('/');
    ObjectPath::parse(trimmed).map_err(|e| OpenError::BadUrl {
        url: shown.to_owned(),
        reason: format!("`{trimmed}` is not a usable prefix: {e}"),
    })
}

#[cfg_attr(
    all(feature = "s3", feature = "gcs", feature = "azure"),
    allow(dead_code, reason = "every cloud backend is compiled in")
)]
fn feature_off(scheme: &str, feature: &'static str) -> OpenError {
    OpenError::FeatureOff { scheme: scheme.to_owned(), feature, version: env!("CARGO_PKG_VERSION") }
}

fn credentials_hint(scheme: &str) -> &'static str {
    match scheme {
        "s3" | "s3a" => {
            "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, or an instance or web-identity role"
        }
        "gs" => "GOOGLE_SERVICE_ACCOUNT or GOOGLE_APPLICATION_CREDENTIALS, or the instance's service account",
        "az" | "azure" => "AZURE_STORAGE_ACCOUNT_NAME with AZURE_STORAGE_ACCOUNT_KEY, or a managed identity",
        _ => "the backend's own variables",
    }
}

/// A parsed URL as messages show it: scheme, host and path only.
fn shown(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    format!("{}://{host}{port}{}", url.scheme(), url.path())
}

/// Text that is not a URL, as messages show it: without what could be credentials (anything
/// before an `@`) or a query.
fn redact_text(text: &str) -> String {
    let text = text.split(['?', '#']).next().unwrap_or_default();
    match text.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority.rsplit('@').next().unwrap_or_default();
            format!("{scheme}://{host}{path}")
        }
        None => text.rsplit('@').next().unwrap_or_default().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_drops_credentials_and_queries() {
        assert_eq!(redact_text("s3://key:secret@bucket/p?token=x"), "s3://bucket/p");
        assert_eq!(redact_text("key:secret@bucket"), "bucket");
        let url = Url::parse("s3://key:secret@bucket/p").unwrap();
        assert_eq!(shown(&url), "s3://bucket/p");
    }

    #[test]
    fn prefixes_are_trimmed_and_checked() {
        assert_eq!(parse_prefix("/a/b/", "u").unwrap().as_ref(), "a/b");
        assert_eq!(parse_prefix("", "u").unwrap().as_ref(), "");
        assert!(parse_prefix("a//b", "u").is_err());
    }
}
