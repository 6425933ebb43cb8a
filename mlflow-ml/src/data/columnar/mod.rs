//! Columnar data (feature `parquet`): Parquet files in and out, and [`Table`](super::Table) <->
//! Arrow [`RecordBatch`](arrow_array::RecordBatch).
//!
//! # Types
//! Column types come from the file's schema, never from its values:
//!
//! | Arrow / Parquet | table |
//! | --- | --- |
//! | `Int8` to `Int64`, `UInt8` to `UInt64` | `Int` (a `UInt64` above `i64::MAX` is an error) |
//! | `Boolean` | `Int`: `false` = 0, `true` = 1 |
//! | `Float16`, `Float32`, `Float64` | `Float` (NaN and infinities are an error, as in CSV) |
//! | `Utf8`, `LargeUtf8`, `Utf8View`, `Null` | `Str` |
//! | `Dictionary` (pandas/polars categoricals) | the type of its values |
//! | decimals, dates, times, timestamps, binary, lists, structs, ... | an error naming the column: cast it first |
//!
//! Nulls are missing values. Tables are written back as `Int64`, `Float64` and `Utf8`
//! (a boolean read as 0/1 is written as `Int64`).

mod arrow;
mod parquet;
mod parquet_writer;

pub use self::arrow::column_type_of;
pub use self::parquet::{
    DEFAULT_BATCH_ROWS, ParquetBatches, ParquetFile, ParquetOptions, parse_parquet, read_parquet,
};
pub use self::parquet_writer::{ParquetWriter, parquet_bytes, write_parquet};
