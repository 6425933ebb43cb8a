//! The package file: its header, and reading the bodies of every format version this library
//! knows (older ones converted to the current [`ModelPackage`]).

use ndarray::Array2;
use serde::Deserialize;

use super::{FORMAT_VERSION, Lineage, MAGIC, ModelPackage, Signature};
use crate::ServeError;
use mlflow_core::codec;
use mlflow_ml::features::{ClassLabels, FittedFeatures, FittedMatrixScaler};
use mlflow_ml::models::{Estimator, Model};

/// The first format (binary classifiers only), still read: [`ModelPackage::load`] converts it.
pub const LEGACY_FORMAT_VERSION: u32 = 1;

/// The format before reference profiles, still read: such a package has no
/// [`ModelPackage::profile`].
pub const PROFILELESS_FORMAT_VERSION: u32 = 2;

/// Magic, version, body length and body hash.
pub(super) const HEADER_LEN: usize = MAGIC.len() + 4 + 8 + 32;

/// The body of a format-1 package (binary classifiers only), read and converted on load.
#[derive(Deserialize)]
struct Format1 {
    name: String,
    library_version: String,
    #[allow(dead_code)] // checked through the header
    format_version: u32,
    signature: Signature,
    features: Option<FittedFeatures>,
    scaler: Option<FittedMatrixScaler>,
    model: Model,
    self_test_rows: Array2<f64>,
    expected: Vec<f64>,
    lineage: Lineage,
}

/// The body of a format-2 package: today's without the reference profile.
#[derive(Deserialize)]
struct Format2 {
    name: String,
    library_version: String,
    format_version: u32,
    signature: Signature,
    features: Option<FittedFeatures>,
    scaler: Option<FittedMatrixScaler>,
    model: Estimator,
    classes: Option<ClassLabels>,
    self_test_rows: Array2<f64>,
    expected: Vec<f64>,
    lineage: Lineage,
}

impl From<Format1> for ModelPackage {
    fn from(old: Format1) -> Self {
        ModelPackage {
            name: old.name,
            library_version: old.library_version,
            format_version: FORMAT_VERSION,
            signature: old.signature,
            features: old.features,
            scaler: old.scaler,
            model: Estimator::Classifier(old.model),
            classes: Some(ClassLabels::numbered(2)),
            self_test_rows: old.self_test_rows,
            expected: old.expected,
            lineage: old.lineage,
            profile: None,
        }
    }
}

impl From<Format2> for ModelPackage {
    fn from(old: Format2) -> Self {
        ModelPackage {
            name: old.name,
            library_version: old.library_version,
            format_version: FORMAT_VERSION,
            signature: old.signature,
            features: old.features,
            scaler: old.scaler,
            model: old.model,
            classes: old.classes,
            self_test_rows: old.self_test_rows,
            expected: old.expected,
            lineage: old.lineage,
            profile: None,
        }
    }
}

/// The file's bytes: header, then `body`.
pub(super) fn write(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(codec::hash_bytes(body).as_bytes());
    out.extend_from_slice(body);
    out
}

/// Reads a package of any known format version, refusing anything that is not a whole, intact
/// package whose self-test passes.
pub(super) fn read(bytes: &[u8], source_name: &str) -> Result<ModelPackage, ServeError> {
    let name = || source_name.to_owned();
    if !bytes.starts_with(MAGIC) {
        return Err(ServeError::NotAPackage { source_name: name() });
    }
    let truncated = |detail: String| ServeError::Truncated { source_name: name(), detail };
    let header_short =
        || truncated(format!("it has {} bytes, fewer than the {HEADER_LEN}-byte header", bytes.len()));
    // The version is checked as soon as it is there: a later format may have another header.
    let version = bytes.get(10..14).ok_or_else(header_short)?;
    let found = u32::from_le_bytes([version[0], version[1], version[2], version[3]]);
    if ![FORMAT_VERSION, PROFILELESS_FORMAT_VERSION, LEGACY_FORMAT_VERSION].contains(&found) {
        return Err(ServeError::UnsupportedFormat {
            source_name: name(),
            found,
            supported: FORMAT_VERSION,
            library: env!("CARGO_PKG_VERSION"),
        });
    }
    if bytes.len() < HEADER_LEN {
        return Err(header_short());
    }
    let mut len = [0u8; 8];
    len.copy_from_slice(&bytes[14..22]);
    let len = u64::from_le_bytes(len);
    let body = &bytes[HEADER_LEN..];
    let corrupt = |detail: String| ServeError::Corrupt { source_name: name(), detail };
    if (body.len() as u64) < len {
        return Err(truncated(format!(
            "the header announces a {len}-byte body but {} bytes follow",
            body.len()
        )));
    }
    if body.len() as u64 > len {
        return Err(corrupt(format!(
            "{} bytes follow the header but it announces a {len}-byte body",
            body.len()
        )));
    }
    if codec::hash_bytes(body).as_bytes() != &bytes[22..HEADER_LEN] {
        return Err(corrupt("the body does not match the hash in the header".into()));
    }
    let decoded = |e: mlflow_core::codec::CodecError| {
        if e.to_string().contains(mlflow_ml::models::LINFA_NEEDED) {
            ServeError::NeedsFeature { source_name: name(), feature: "linfa" }
        } else {
            corrupt(format!("the body does not decode: {e}"))
        }
    };
    let body_says =
        |version: u32| corrupt(format!("the body says format version {version} but the header says {found}"));
    let package: ModelPackage = match found {
        LEGACY_FORMAT_VERSION => codec::decode::<Format1>(body, u64::MAX).map_err(decoded)?.into(),
        PROFILELESS_FORMAT_VERSION => {
            let old = codec::decode::<Format2>(body, u64::MAX).map_err(decoded)?;
            if old.format_version != found {
                return Err(body_says(old.format_version));
            }
            old.into()
        }
        _ => {
            let package: ModelPackage = codec::decode(body, u64::MAX).map_err(decoded)?;
            if package.format_version != found {
                return Err(body_says(package.format_version));
            }
            package
        }
    };
    package.check().map_err(corrupt)?;
    if package.expected.len() != package.self_test_rows.nrows() * package.recorded_per_row() {
        return Err(corrupt("the self-test rows and expected outputs differ in number".into()));
    }
    package.verify()?;
    Ok(package)
}
