//! Machine-learning tests: data, validation, features, models (classifiers and linear regression) and metrics (against committed
//! scikit-learn fixtures), Parquet files (against committed pyarrow fixtures), tracking through the
//! Titanic pipeline, and the run report (in Chromium when one is installed).

#[path = "../common/mod.rs"]
mod common;
#[path = "../report_common/mod.rs"]
mod report_common;
#[path = "../support/titanic.rs"]
mod titanic;

mod analysis;
mod blocks;
mod boosting;
mod data;
mod drift;
mod eval;
mod export;
mod features;
mod folds;
mod fuzz_regressions;
mod models;
mod multiclass_linear;
mod parquet;
mod regression;
mod report;
mod report_browser;
mod stat_cache;
mod svm_multiclass;
mod titanic_pipeline;
mod tracking;
mod trees;
mod triggers;
mod tune;
mod validate;
