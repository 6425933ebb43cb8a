//! Engine tests, through the facade as a user writes them: the cache contract, execution, the
//! execution plan, several processes sharing a store, the model registry, and tracing.

#[path = "../common/mod.rs"]
mod common;

mod cache;
mod exec_plan;
mod execution;
mod export;
mod export_map;
mod fan_in;
mod fan_out;
mod fuzz_regressions;
mod helpers;
mod map;
mod processes;
mod registry;
#[cfg(all(feature = "s3", feature = "postgres"))]
mod remote_store;
mod tracing;

// The servers of the storage tests, shared with the backends' own tests.
#[cfg(all(feature = "s3", feature = "postgres"))]
#[path = "../../mlflow-object-store/tests/support/moto.rs"]
mod moto;
#[cfg(all(feature = "s3", feature = "postgres"))]
#[path = "../../mlflow-postgres/tests/support/mod.rs"]
mod postgres_support;
