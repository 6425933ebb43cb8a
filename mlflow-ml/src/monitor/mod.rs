//! Monitoring: reference profiles of the training data, the model's outputs and the labels,
//! recorded when the model is trained, to compare serving windows with.

mod profile;

pub use profile::{
    BINS, CategorySummary, ColumnKind, ColumnProfile, MAX_CATEGORIES, MAX_DISCRETE, NumericSummary,
    ProfileError, QUANTILE_LEVELS, ReferenceProfile, SAMPLE_MAX, bin_counts, profile_column, profile_matrix,
};
