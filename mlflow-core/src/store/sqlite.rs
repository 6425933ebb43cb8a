//! The embedded metadata backend: one SQLite database file (WAL, a busy timeout so that several
//! processes can share it).

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rusqlite::types::{ToSqlOutput, Value as SqlValue, ValueRef};
use rusqlite::{Connection, TransactionBehavior};

use super::StoreError;
use super::meta::{Dialect, MetaStore, Mode, Outcome, Row, Tx, Value};

/// How long a statement waits for another process's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// A SQLite database file as a [`MetaStore`].
pub struct SqliteMeta {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl SqliteMeta {
    /// Opens (creating if needed) the database at `path` in WAL mode.
    pub fn open(path: &Path) -> Result<SqliteMeta, StoreError> {
        let err = |source| database_error(path, source);
        let conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
        // Switching to WAL needs an exclusive lock and SQLite does not wait for it through the
        // busy handler: when several processes open a new store at once, retry for a while.
        let deadline = Instant::now() + BUSY_TIMEOUT;
        loop {
            match conn.pragma_update(None, "journal_mode", "WAL") {
                Ok(()) => break,
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::DatabaseBusy && Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => return Err(err(e)),
            }
        }
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(err)?;
        Ok(SqliteMeta { path: path.to_path_buf(), conn: Mutex::new(conn) })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written: keep going.
        self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn err(&self, source: rusqlite::Error) -> StoreError {
        database_error(&self.path, source)
    }
}

fn database_error(path: &Path, source: rusqlite::Error) -> StoreError {
    StoreError::Database { location: path.display().to_string(), source: Box::new(source) }
}

/// Statements on a connection (inside a transaction or not).
struct SqliteTx<'c> {
    conn: &'c Connection,
    meta: &'c SqliteMeta,
}

fn to_sql(value: &Value) -> ToSqlOutput<'_> {
    ToSqlOutput::Borrowed(match value {
        Value::Null => ValueRef::Null,
        Value::Integer(i) => ValueRef::Integer(*i),
        Value::Real(r) => ValueRef::Real(*r),
        Value::Text(t) => ValueRef::Text(t.as_bytes()),
        Value::Blob(b) => ValueRef::Blob(b),
    })
}

fn from_sql(value: SqlValue) -> Value {
    match value {
        SqlValue::Null => Value::Null,
        SqlValue::Integer(i) => Value::Integer(i),
        SqlValue::Real(r) => Value::Real(r),
        SqlValue::Text(t) => Value::Text(t),
        SqlValue::Blob(b) => Value::Blob(b),
    }
}

impl Tx for SqliteTx<'_> {
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<usize, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(|e| self.meta.err(e))?;
        stmt.execute(rusqlite::params_from_iter(params.iter().map(to_sql))).map_err(|e| self.meta.err(e))
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        let run = || -> rusqlite::Result<Vec<Row>> {
            let mut stmt = self.conn.prepare_cached(sql)?;
            let columns = stmt.column_count();
            let mut rows = stmt.query(rusqlite::params_from_iter(params.iter().map(to_sql)))?;
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                let mut values = Vec::with_capacity(columns);
                for i in 0..columns {
                    values.push(from_sql(row.get::<_, SqlValue>(i)?));
                }
                out.push(Row(values));
            }
            Ok(out)
        };
        run().map_err(|e| self.meta.err(e))
    }

    fn execute_batch(&mut self, sql: &str) -> Result<(), StoreError> {
        self.conn.execute_batch(sql).map_err(|e| self.meta.err(e))
    }
}

impl MetaStore for SqliteMeta {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn transact(
        &self,
        mode: Mode,
        f: &mut dyn FnMut(&mut dyn Tx) -> Result<Outcome, StoreError>,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let behavior = match mode {
            Mode::Autocommit => {
                f(&mut SqliteTx { conn: &conn, meta: self })?;
                return Ok(());
            }
            Mode::Read => TransactionBehavior::Deferred,
            Mode::Write => TransactionBehavior::Immediate,
        };
        let tx = conn.transaction_with_behavior(behavior).map_err(|e| self.err(e))?;
        // Dropping the transaction without commit rolls it back.
        match f(&mut SqliteTx { conn: &tx, meta: self })? {
            Outcome::Commit => tx.commit().map_err(|e| self.err(e)),
            Outcome::Rollback => Ok(()),
        }
    }
}
