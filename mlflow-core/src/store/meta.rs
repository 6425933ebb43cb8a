//! The metadata-store seam: what the rooms that keep tables (the cache index, runs, the model
//! registry) need from a database, and nothing of any one database's API.
//!
//! A room talks SQL through [`Tx`] with positional parameters written `?1`, `?2`, ... and values
//! of five kinds ([`Value`]). It uses the portable subset SQLite and PostgreSQL share (`INSERT ...
//! ON CONFLICT`, `RETURNING`, no vendor functions), and declares its tables as a [`Room`] with
//! numbered migrations per [`Dialect`]. [`crate::store::Store`] runs a room's migrations the first
//! time it is used and records the room's schema version, so a store written by a newer mlflow
//! is refused room by room instead of misread.
//!
//! The embedded backend is SQLite ([`SqliteMeta`](super::SqliteMeta)); the `mlflow-postgres`
//! crate implements [`MetaStore`] over PostgreSQL, and so may any other backend.
//!
//! PostgreSQL types every parameter from its first use in a statement: write `col = ?2 OR ?2 IS
//! NULL`, not `?2 IS NULL OR col = ?2` (where it cannot tell `?2`'s type).

use std::fmt;

use crate::codec::ContentHash;
use crate::store::StoreError;

/// The SQL dialect of a metadata backend: a room's migrations are written per dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Dialect {
    /// SQLite 3.35 or later (the embedded default).
    Sqlite,
    /// PostgreSQL 12 or later (a metadata database shared by many machines; the
    /// `mlflow-postgres` crate).
    Postgres,
}

/// A value bound to a statement or read from a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL `NULL`.
    Null,
    /// A 64-bit integer (also booleans, as 0 and 1).
    Integer(i64),
    /// A double.
    Real(f64),
    /// UTF-8 text.
    Text(String),
    /// Bytes (content hashes are 32-byte blobs).
    Blob(Vec<u8>),
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Value::Null => "NULL",
            Value::Integer(_) => "an integer",
            Value::Real(_) => "a real",
            Value::Text(_) => "text",
            Value::Blob(_) => "a blob",
        }
    }
}

macro_rules! value_from {
    ($($t:ty => |$v:ident| $e:expr),* $(,)?) => {$(
        impl From<$t> for Value {
            fn from($v: $t) -> Value {
                $e
            }
        }
    )*};
}

value_from!(
    i64 => |v| Value::Integer(v),
    i32 => |v| Value::Integer(i64::from(v)),
    u32 => |v| Value::Integer(i64::from(v)),
    bool => |v| Value::Integer(i64::from(v)),
    f64 => |v| Value::Real(v),
    String => |v| Value::Text(v),
    &str => |v| Value::Text(v.to_owned()),
    &String => |v| Value::Text(v.clone()),
    Vec<u8> => |v| Value::Blob(v),
    &[u8] => |v| Value::Blob(v.to_vec()),
    ContentHash => |v| Value::Blob(v.as_bytes().to_vec()),
    &ContentHash => |v| Value::Blob(v.as_bytes().to_vec()),
);

impl From<u64> for Value {
    /// Saturates at `i64::MAX`: SQL integers are signed 64-bit.
    fn from(v: u64) -> Value {
        Value::Integer(i64::try_from(v).unwrap_or(i64::MAX))
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

/// Statement parameters: `params![a, b, c]` is `&[Value::from(a), Value::from(b), ...]`.
macro_rules! params {
    ($($value:expr),* $(,)?) => {
        &[$($crate::store::meta::Value::from($value)),*][..]
    };
}
pub(crate) use params;

/// A type a column can be read as (see [`Row::get`]).
pub trait FromValue: Sized {
    /// What the column must hold, for messages.
    const EXPECTED: &'static str;
    /// The value as `Self`, or `None` when it is of another kind or out of range.
    fn from_value(value: &Value) -> Option<Self>;
}

impl FromValue for i64 {
    const EXPECTED: &'static str = "an integer";
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Integer(i) => Some(*i),
            _ => None,
        }
    }
}

impl FromValue for u32 {
    const EXPECTED: &'static str = "an integer from 0 to 4294967295";
    fn from_value(value: &Value) -> Option<Self> {
        i64::from_value(value).and_then(|i| u32::try_from(i).ok())
    }
}

impl FromValue for u64 {
    const EXPECTED: &'static str = "a non-negative integer";
    fn from_value(value: &Value) -> Option<Self> {
        i64::from_value(value).and_then(|i| u64::try_from(i).ok())
    }
}

impl FromValue for bool {
    const EXPECTED: &'static str = "0 or 1";
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Integer(0) => Some(false),
            Value::Integer(1) => Some(true),
            _ => None,
        }
    }
}

impl FromValue for f64 {
    const EXPECTED: &'static str = "a number";
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Real(r) => Some(*r),
            Value::Integer(i) => Some(*i as f64),
            _ => None,
        }
    }
}

impl FromValue for String {
    const EXPECTED: &'static str = "text";
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Text(t) => Some(t.clone()),
            _ => None,
        }
    }
}

impl FromValue for Vec<u8> {
    const EXPECTED: &'static str = "a blob";
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Blob(b) => Some(b.clone()),
            _ => None,
        }
    }
}

impl FromValue for ContentHash {
    const EXPECTED: &'static str = "a 32-byte blob";
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Blob(b) => <[u8; 32]>::try_from(b.as_slice()).ok().map(ContentHash::from_bytes),
            _ => None,
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    const EXPECTED: &'static str = T::EXPECTED;
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Null => Some(None),
            other => T::from_value(other).map(Some),
        }
    }
}

/// One row of a query's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Row(pub Vec<Value>);

impl Row {
    /// Column `index` (0-based) as a `T`; an error naming the column when it holds something
    /// else (a store written by something other than mlflow, or damaged).
    pub fn get<T: FromValue>(&self, index: usize) -> Result<T, StoreError> {
        let value = self.0.get(index).unwrap_or(&Value::Null);
        T::from_value(value).ok_or_else(|| StoreError::Schema {
            detail: format!("column {} holds {}, expected {}", index + 1, value.kind(), T::EXPECTED),
        })
    }

    /// Column `index` as a `T`, or `None` when it cannot be read as one: for columns whose
    /// unreadable value should be skipped rather than fail the whole query.
    pub fn try_get<T: FromValue>(&self, index: usize) -> Option<T> {
        self.0.get(index).and_then(T::from_value)
    }
}

/// Statements inside one transaction (or one autocommit statement; see [`Mode`]).
pub trait Tx {
    /// Runs a statement and returns how many rows it changed.
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<usize, StoreError>;
    /// Runs a query and returns every row.
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError>;
    /// Runs several statements without parameters (migrations).
    fn execute_batch(&mut self, sql: &str) -> Result<(), StoreError>;

    /// The first row of a query, if any.
    fn query_opt(&mut self, sql: &str, params: &[Value]) -> Result<Option<Row>, StoreError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }
}

/// How a closure's statements are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Each statement commits on its own: for one-statement reads and writes on the hot path.
    Autocommit,
    /// A read transaction: the statements see one snapshot.
    Read,
    /// A write transaction, taking the write lock at its start (so two writers that read then
    /// write cannot deadlock); everything commits together or not at all.
    Write,
}

/// Whether a transaction should keep its changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Commit.
    Commit,
    /// Roll back (the closure failed).
    Rollback,
}

/// A metadata database: the seam between the rooms and SQLite or PostgreSQL.
///
/// Implementations must be safe to share between threads and serialize writers; several
/// processes may use one database at once.
pub trait MetaStore: Send + Sync {
    /// The dialect migrations are written in.
    fn dialect(&self) -> Dialect;
    /// Where the database is, for messages (a file path or a URL without credentials).
    fn location(&self) -> String;
    /// Runs `f` in `mode`, committing when it returns [`Outcome::Commit`] and rolling back when
    /// it returns [`Outcome::Rollback`] or an error.
    fn transact(
        &self,
        mode: Mode,
        f: &mut dyn FnMut(&mut dyn Tx) -> Result<Outcome, StoreError>,
    ) -> Result<(), StoreError>;

    /// The store lock and the handles' leases across machines, for a database that machines
    /// with different store folders share. `None` (the default, and SQLite's: its file is in
    /// the folder) keeps them in the store folder alone.
    fn machine_locks(&self) -> Option<&dyn MachineLocks> {
        None
    }
}

/// Locks that every machine sharing a metadata database sees, held by a process until it lets
/// go or dies (its connection closes): what the store folder's lock file and lease files are
/// for the processes of one machine.
///
/// - The store lock: writers share it from an artifact write until the row that refers to the
///   artifact is committed, and garbage collection takes it alone, so a collection on one
///   machine never removes a write under way on another.
/// - Leases: a store handle holds its lease while it lives; a `running` run names its handle's
///   lease, and a run whose lease nobody holds is abandoned, whichever machine ran it.
///
/// The store takes the folder's lock first, then these; both are released in reverse.
pub trait MachineLocks: Send + Sync {
    /// Takes this handle's share of the store lock (waiting while a collection runs).
    fn lock_shared(&self) -> Result<(), StoreError>;
    /// Releases it.
    fn unlock_shared(&self);
    /// Takes the store lock alone, waiting for every writer of every machine.
    fn lock_exclusive(&self) -> Result<(), StoreError>;
    /// Releases it.
    fn unlock_exclusive(&self);
    /// Holds lease `name` until this handle is dropped or its process dies.
    fn hold_lease(&self, name: &str) -> Result<(), StoreError>;
    /// Whether a live handle, on any machine, holds lease `name`.
    fn lease_held(&self, name: &str) -> Result<bool, StoreError>;
}

impl fmt::Debug for dyn MetaStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetaStore").field("location", &self.location()).finish()
    }
}

/// One step of a room's schema: applied once, in version order, in a write transaction.
///
/// Each dialect has its own statements with the same meaning: SQLite's `INTEGER`, `REAL` and
/// `BLOB` are PostgreSQL's `BIGINT`, `DOUBLE PRECISION` and `BYTEA`. A room without PostgreSQL
/// statements (an empty string) cannot be used on PostgreSQL: the store says so instead of
/// creating nothing.
///
/// ```
/// use mlflow_core::store::{Dialect, Migration};
/// const BOTH: Migration = Migration::portable(1, "CREATE TABLE notes (text TEXT NOT NULL);");
/// assert_eq!(BOTH.sql(Dialect::Sqlite), BOTH.sql(Dialect::Postgres));
/// const TYPED: Migration = Migration {
///     version: 1,
///     sqlite: "CREATE TABLE pins (artifact BLOB NOT NULL);",
///     postgres: "CREATE TABLE pins (artifact BYTEA NOT NULL);",
/// };
/// assert!(TYPED.sql(Dialect::Postgres).contains("BYTEA"));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// The schema version this migration brings the room to (1, 2, ...).
    pub version: u32,
    /// The statements, for SQLite.
    pub sqlite: &'static str,
    /// The statements, for PostgreSQL (empty: the room does not support PostgreSQL).
    pub postgres: &'static str,
}

impl Migration {
    /// A migration whose statements are the same in every dialect (plain `TEXT` columns,
    /// `ALTER TABLE ... ADD COLUMN`, indexes).
    pub const fn portable(version: u32, sql: &'static str) -> Migration {
        Migration { version, sqlite: sql, postgres: sql }
    }

    /// The statements for `dialect`.
    pub fn sql(&self, dialect: Dialect) -> &'static str {
        match dialect {
            Dialect::Sqlite => self.sqlite,
            Dialect::Postgres => self.postgres,
        }
    }
}

/// A room that keeps tables in the metadata store: its name, its migrations, and the artifacts
/// its rows keep alive (its garbage-collection roots).
#[derive(Clone, Copy)]
pub struct Room {
    /// The room's name; its schema version is recorded under `<name>_format` in the `meta`
    /// table.
    pub name: &'static str,
    /// Its migrations, in version order; the last one's version is the room's current version.
    pub migrations: &'static [Migration],
    /// The artifacts the room refers to, which garbage collection must keep.
    pub roots: fn(&mut dyn Tx) -> Result<Vec<ContentHash>, StoreError>,
}

impl Room {
    /// The schema version this build writes.
    pub fn version(&self) -> u32 {
        self.migrations.last().map_or(0, |m| m.version)
    }

    /// The `meta` key holding the room's schema version.
    pub fn format_key(&self) -> String {
        format!("{}_format", self.name)
    }
}

impl fmt::Debug for Room {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Room").field("name", &self.name).field("version", &self.version()).finish()
    }
}

/// A room without artifact references.
pub fn no_roots(_: &mut dyn Tx) -> Result<Vec<ContentHash>, StoreError> {
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_convert_both_ways_and_mismatches_name_the_column() {
        let hash = ContentHash::of(b"x");
        let row = Row(vec![
            Value::from(7u32),
            Value::from("text"),
            Value::from(hash),
            Value::from(None::<i64>),
            Value::from(true),
        ]);
        assert_eq!(row.get::<u32>(0).unwrap(), 7);
        assert_eq!(row.get::<String>(1).unwrap(), "text");
        assert_eq!(row.get::<ContentHash>(2).unwrap(), hash);
        assert_eq!(row.get::<Option<i64>>(3).unwrap(), None);
        assert!(row.get::<bool>(4).unwrap());
        let err = row.get::<i64>(1).unwrap_err();
        assert!(err.to_string().contains("column 2 holds text, expected an integer"), "{err}");
        assert_eq!(row.try_get::<ContentHash>(1), None);
        assert_eq!(Value::from(u64::MAX), Value::Integer(i64::MAX));
    }
}
