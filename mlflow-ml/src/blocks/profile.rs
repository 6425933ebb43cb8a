//! The reference profile of a trained model's training rows, for its package.

use super::types::{BlockError, Prepared, Trained};
use crate::data::Ingested;
use crate::features::FeatureMatrix;
use crate::monitor::ReferenceProfile;

/// Profiles the training rows of `prepared`: the raw columns as ingested (the label on its own)
/// and the engineered features; and `trained`'s outputs (`P(<class>)` per class, or
/// `prediction`) on the hold-out rows, which it did not learn from.
///
/// Errors: the model cannot score its own training rows, or the split does not fit the table.
pub fn reference_profile(
    raw: &Ingested,
    prepared: &Prepared,
    trained: &Trained,
) -> Result<ReferenceProfile, BlockError> {
    let rows = raw.table.try_take(&prepared.split.train)?;
    let outputs = match prepared.classes() {
        Some(classes) => {
            let proba = trained.predict_proba(&prepared.test)?;
            let names = (0..proba.ncols())
                .map(|k| {
                    format!("P({})", classes.label(k).map_or_else(|| k.to_string(), ToString::to_string))
                })
                .collect();
            FeatureMatrix { names, x: proba }
        }
        None => {
            let x = trained.predict_values(&prepared.test)?.insert_axis(ndarray::Axis(1));
            FeatureMatrix { names: vec!["prediction".to_owned()], x }
        }
    };
    Ok(ReferenceProfile::new(&rows, Some(&prepared.label), &prepared.train, &outputs)?)
}
