//! PostgreSQL as the metadata database of an mlflow store: the runs, the cache index, tracking
//! and the model registry shared by every machine that points at one server, while artifacts
//! stay in an [`ArtifactStore`](mlflow_core::store::ArtifactStore) (a local or shared folder
//! here).
//!
//! [`PostgresMeta`] implements [`MetaStore`] over the synchronous `postgres` client; every room
//! of the engine (and `mlflow-serve`'s watch room) carries PostgreSQL migrations, run the first
//! time a store uses the room, exactly as on SQLite. [`open_store`] is the one-line way in:
//!
//! ```no_run
//! use mlflow_postgres::open_store;
//! let store = open_store(std::path::Path::new("/shared/mlflow"), "postgres://mlflow@db.internal:5432/mlflow")?;
//! let runs = store.runs(&Default::default())?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Credentials come from the URL (`postgres://user:password@host/db`) or from the standard
//! PostgreSQL environment (`PGPASSWORD`, `PGUSER`, `PGHOST`, `PGPORT`, `PGDATABASE`) for what
//! the URL leaves out; they are never printed: messages name the URL without its password
//! ([`redact`]).
//!
//! # Transactions
//!
//! - [`Mode::Autocommit`]: each statement on its own.
//! - [`Mode::Read`]: `REPEATABLE READ`, so every statement sees one snapshot.
//! - [`Mode::Write`]: `READ COMMITTED` plus a transaction-scoped advisory lock taken first, which
//!   serializes writers across every connection and machine, like SQLite's `BEGIN IMMEDIATE`:
//!   a registry alias move reads the current holder and appends its move with no other writer
//!   in between, so two racing promotions cannot both pass the guard. The lock is released at
//!   commit or rollback; nothing needs retrying.
//!
//! # Many machines
//!
//! The store lock (writers share it, garbage collection takes it alone) and each handle's lease
//! (a `running` run names it) are session advisory locks on the database ([`MachineLocks`]),
//! held on a connection of the handle's own, so they hold across machines whose store folders
//! differ: a collection on one machine waits for a write under way on another, and a run whose
//! process died (its connection closed) is marked `abandoned` by the next handle that looks, on
//! any machine. A handle whose session
//! connection breaks (a database restart) loses its lease: its running runs may be marked
//! abandoned while they still run.
//!
//! Text compares byte by byte on SQLite; on PostgreSQL it follows the database's collation.
//! Create the database with `LC_COLLATE 'C'` (or `initdb --no-locale`) for the same order of
//! names in listings.

#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::error::Error as StdError;
use std::path::Path;
use std::sync::Mutex;

use bytes::BytesMut;
use mlflow_core::store::meta::{Dialect, MachineLocks, MetaStore, Mode, Outcome, Row, Tx, Value};
use mlflow_core::store::{LocalArtifacts, Store, StoreError};
use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, GenericClient, IsolationLevel, NoTls, Statement};

/// The advisory lock key every write transaction takes (`mlflow` in ASCII).
const WRITE_LOCK: i64 = 0x6d6c_666c_6f77;

mod locks;

/// Connections kept open between uses; more are opened when threads need them at once.
const IDLE_CONNECTIONS: usize = 8;

/// Prepared statements kept per connection (the run listing builds its SQL per filter).
const CACHED_STATEMENTS: usize = 256;

/// Why a PostgreSQL metadata store cannot be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PostgresError {
    /// The URL is not a PostgreSQL connection string.
    #[error("`{url}` is not a PostgreSQL URL: {reason}; write postgres://USER@HOST:PORT/DATABASE")]
    BadUrl {
        /// The URL, without its password.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The store (its folder, or the database) failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `url` with its password (if any) replaced by `***`, for messages.
///
/// ```
/// use mlflow_postgres::redact;
/// assert_eq!(redact("postgres://ana:s3cret@db:5432/ml"), "postgres://ana:***@db:5432/ml");
/// assert_eq!(redact("postgres://ana@db/ml"), "postgres://ana@db/ml");
/// assert_eq!(redact("host=db password=s3cret user=ana"), "host=db password=*** user=ana");
/// ```
pub fn redact(url: &str) -> String {
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let authority = &rest[..authority_end];
        if let Some(at) = authority.rfind('@') {
            let userinfo = &authority[..at];
            if let Some(colon) = userinfo.find(':') {
                return format!("{}{}:***{}", &url[..scheme_end + 3], &userinfo[..colon], &rest[at..]);
            }
        }
        return url.to_owned();
    }
    // key=value form.
    url.split(' ')
        .map(|part| match part.split_once('=') {
            Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
            _ => part.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A client error whose message includes the server's (its text, SQLSTATE, detail and hint),
/// which the client's own message leaves to its source.
#[derive(Debug)]
struct DatabaseError {
    message: String,
    source: postgres::Error,
}

impl From<postgres::Error> for DatabaseError {
    fn from(source: postgres::Error) -> DatabaseError {
        let message = match source.as_db_error() {
            Some(db) => {
                let mut message =
                    format!("{}: {} (SQLSTATE {})", db.severity(), db.message(), db.code().code());
                if let Some(detail) = db.detail() {
                    message.push_str(&format!("; {detail}"));
                }
                if let Some(hint) = db.hint() {
                    message.push_str(&format!("; hint: {hint}"));
                }
                message
            }
            None => match StdError::source(&source) {
                Some(cause) if !source.to_string().contains(&cause.to_string()) => {
                    format!("{source}: {cause}")
                }
                _ => source.to_string(),
            },
        };
        DatabaseError { message, source }
    }
}

impl std::fmt::Display for DatabaseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for DatabaseError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&self.source)
    }
}

/// A connection with its prepared statements.
struct Conn {
    client: Client,
    statements: HashMap<String, Statement>,
}

/// A PostgreSQL database as a [`MetaStore`]: a small pool of connections to one server.
///
/// ```no_run
/// use mlflow_core::store::{LocalArtifacts, Store};
/// use mlflow_postgres::PostgresMeta;
/// let meta = PostgresMeta::connect("postgres://mlflow@127.0.0.1:5432/mlflow")?;
/// let root = std::path::Path::new("/shared/mlflow");
/// let artifacts = LocalArtifacts::open(root.join("artifacts"))?;
/// let store = Store::with_backends(root, Box::new(artifacts), Box::new(meta))?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct PostgresMeta {
    config: postgres::Config,
    location: String,
    idle: Mutex<Vec<Conn>>,
    /// The connection that holds this handle's session locks (its lease, its writers' share of
    /// the store lock): never pooled, closed with the handle.
    session: Mutex<Option<Client>>,
}

impl std::fmt::Debug for PostgresMeta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresMeta").field("location", &self.location).finish()
    }
}

impl PostgresMeta {
    /// Connects to the database at `url` (`postgres://user[:password]@host[:port]/database`, or
    /// the `key=value` form), filling what it leaves out from `PGUSER`, `PGPASSWORD`, `PGHOST`,
    /// `PGPORT` and `PGDATABASE`. One connection is opened now, to fail early.
    pub fn connect(url: &str) -> Result<PostgresMeta, PostgresError> {
        let location = redact(url);
        let mut config: postgres::Config = url.parse().map_err(|e: postgres::Error| {
            PostgresError::BadUrl { url: location.clone(), reason: e.to_string() }
        })?;
        apply_environment(&mut config);
        let meta = PostgresMeta { config, location, idle: Mutex::new(Vec::new()), session: Mutex::new(None) };
        let conn = meta.open()?;
        meta.put_back(conn);
        Ok(meta)
    }

    fn err(&self, source: postgres::Error) -> StoreError {
        StoreError::Database {
            location: self.location.clone(),
            source: Box::new(DatabaseError::from(source)),
        }
    }

    fn open(&self) -> Result<Conn, StoreError> {
        let client = self.config.connect(NoTls).map_err(|e| self.err(e))?;
        Ok(Conn { client, statements: HashMap::new() })
    }

    fn take(&self) -> Result<Conn, StoreError> {
        let pooled = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        match pooled {
            Some(conn) if !conn.client.is_closed() => Ok(conn),
            _ => self.open(),
        }
    }

    fn put_back(&self, conn: Conn) {
        if conn.client.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < IDLE_CONNECTIONS {
            idle.push(conn);
        }
    }
}

/// Fills what the URL left out from the standard PostgreSQL environment variables.
fn apply_environment(config: &mut postgres::Config) {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if config.get_user().is_none()
        && let Some(user) = var("PGUSER")
    {
        config.user(&user);
    }
    if config.get_password().is_none()
        && let Some(password) = var("PGPASSWORD")
    {
        config.password(password);
    }
    if config.get_dbname().is_none()
        && let Some(db) = var("PGDATABASE")
    {
        config.dbname(&db);
    }
    if config.get_hosts().is_empty() {
        config.host(&var("PGHOST").unwrap_or_else(|| "localhost".to_owned()));
    }
    if config.get_ports().is_empty()
        && let Some(port) = var("PGPORT").and_then(|p| p.parse().ok())
    {
        config.port(port);
    }
}

/// `sql` with its `?N` parameters written `$N`, leaving string literals, quoted names and
/// comments as they are.
///
/// ```
/// use mlflow_postgres::translate_placeholders;
/// assert_eq!(
///     translate_placeholders("SELECT a FROM t WHERE b = ?1 AND c = '?2' AND d IN (?2, ?10)"),
///     "SELECT a FROM t WHERE b = $1 AND c = '?2' AND d IN ($2, $10)"
/// );
/// ```
pub fn translate_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                out.push(c);
                // To the closing quote; a doubled quote is an escaped one and reads as two.
                for d in chars.by_ref() {
                    out.push(d);
                    if d == c {
                        break;
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                out.push(c);
                for d in chars.by_ref() {
                    out.push(d);
                    if d == '\n' {
                        break;
                    }
                }
            }
            '?' if chars.peek().is_some_and(char::is_ascii_digit) => out.push('$'),
            _ => out.push(c),
        }
    }
    out
}

/// A [`Value`] bound to a parameter of whatever type PostgreSQL inferred for it.
#[derive(Debug)]
struct Param<'a>(&'a Value);

type BoxError = Box<dyn StdError + Sync + Send>;

impl ToSql for Param<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        let mismatch =
            || -> BoxError { format!("cannot bind {:?} to a parameter of type {ty}", self.0).into() };
        match self.0 {
            Value::Null => Ok(IsNull::Yes),
            Value::Integer(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                Type::FLOAT4 => (*i as f32).to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
                    i.to_string().to_sql(&Type::TEXT, out)
                }
                _ => Err(mismatch()),
            },
            Value::Real(r) => match *ty {
                Type::FLOAT8 => r.to_sql(ty, out),
                Type::FLOAT4 => (*r as f32).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
                    r.to_string().to_sql(&Type::TEXT, out)
                }
                _ => Err(mismatch()),
            },
            Value::Text(t) => match *ty {
                Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
                    t.as_str().to_sql(&Type::TEXT, out)
                }
                _ => Err(mismatch()),
            },
            Value::Blob(b) => match *ty {
                Type::BYTEA => b.as_slice().to_sql(ty, out),
                _ => Err(mismatch()),
            },
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// Column `i` of `row` as a [`Value`].
fn column(row: &postgres::Row, i: usize) -> Result<Value, postgres::Error> {
    let ty = row.columns()[i].type_().clone();
    Ok(match ty {
        Type::INT8 => row.try_get::<_, Option<i64>>(i)?.map_or(Value::Null, Value::Integer),
        Type::INT4 => row.try_get::<_, Option<i32>>(i)?.map_or(Value::Null, |v| Value::Integer(v.into())),
        Type::INT2 => row.try_get::<_, Option<i16>>(i)?.map_or(Value::Null, |v| Value::Integer(v.into())),
        Type::OID => row.try_get::<_, Option<u32>>(i)?.map_or(Value::Null, |v| Value::Integer(v.into())),
        Type::BOOL => row.try_get::<_, Option<bool>>(i)?.map_or(Value::Null, |v| Value::Integer(v.into())),
        Type::FLOAT8 => row.try_get::<_, Option<f64>>(i)?.map_or(Value::Null, Value::Real),
        Type::FLOAT4 => row.try_get::<_, Option<f32>>(i)?.map_or(Value::Null, |v| Value::Real(v.into())),
        Type::BYTEA => row.try_get::<_, Option<Vec<u8>>>(i)?.map_or(Value::Null, Value::Blob),
        // Text and every other type PostgreSQL can send as text is read as text: a column this
        // build does not expect fails with its column number when a room reads it.
        _ => row.try_get::<_, Option<String>>(i)?.map_or(Value::Null, Value::Text),
    })
}

/// Statements on one connection, inside a transaction or not.
struct PgTx<'c, C: GenericClient> {
    client: &'c mut C,
    statements: &'c mut HashMap<String, Statement>,
    meta: &'c PostgresMeta,
}

impl<C: GenericClient> PgTx<'_, C> {
    fn prepare(&mut self, sql: &str) -> Result<Statement, StoreError> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(&translate_placeholders(sql)).map_err(|e| self.meta.err(e))?;
        if self.statements.len() >= CACHED_STATEMENTS {
            self.statements.clear();
        }
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }
}

fn bind(params: &[Value]) -> Vec<Param<'_>> {
    params.iter().map(Param).collect()
}

fn refs<'a>(params: &'a [Param<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

impl<C: GenericClient> Tx for PgTx<'_, C> {
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<usize, StoreError> {
        let statement = self.prepare(sql)?;
        let bound = bind(params);
        let changed = self.client.execute(&statement, &refs(&bound)).map_err(|e| self.meta.err(e))?;
        Ok(usize::try_from(changed).unwrap_or(usize::MAX))
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        let statement = self.prepare(sql)?;
        let bound = bind(params);
        let rows = self.client.query(&statement, &refs(&bound)).map_err(|e| self.meta.err(e))?;
        rows.iter()
            .map(|row| (0..row.len()).map(|i| column(row, i)).collect::<Result<Vec<_>, _>>().map(Row))
            .collect::<Result<_, _>>()
            .map_err(|e| self.meta.err(e))
    }

    fn execute_batch(&mut self, sql: &str) -> Result<(), StoreError> {
        self.client.batch_execute(sql).map_err(|e| self.meta.err(e))
    }
}

impl MetaStore for PostgresMeta {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn machine_locks(&self) -> Option<&dyn MachineLocks> {
        Some(self)
    }

    fn location(&self) -> String {
        self.location.clone()
    }

    fn transact(
        &self,
        mode: Mode,
        f: &mut dyn FnMut(&mut dyn Tx) -> Result<Outcome, StoreError>,
    ) -> Result<(), StoreError> {
        let mut conn = self.take()?;
        let result = self.run(&mut conn, mode, f);
        self.put_back(conn);
        result
    }
}

impl PostgresMeta {
    fn run(
        &self,
        conn: &mut Conn,
        mode: Mode,
        f: &mut dyn FnMut(&mut dyn Tx) -> Result<Outcome, StoreError>,
    ) -> Result<(), StoreError> {
        let Conn { client, statements } = conn;
        let isolation = match mode {
            Mode::Autocommit => {
                f(&mut PgTx { client, statements, meta: self })?;
                return Ok(());
            }
            Mode::Read => IsolationLevel::RepeatableRead,
            Mode::Write => IsolationLevel::ReadCommitted,
        };
        let mut tx =
            client.build_transaction().isolation_level(isolation).start().map_err(|e| self.err(e))?;
        if mode == Mode::Write {
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK]).map_err(|e| self.err(e))?;
        }
        // Dropping the transaction without commit rolls it back.
        match f(&mut PgTx { client: &mut tx, statements, meta: self })? {
            Outcome::Commit => tx.commit().map_err(|e| self.err(e)),
            Outcome::Rollback => Ok(()),
        }
    }
}

/// A store whose metadata is in the PostgreSQL database at `url` and whose artifacts are files
/// under `root/artifacts` (a folder every machine sees, or one per machine for metadata-only
/// use); `root` also holds the store's lock and its handles' leases.
///
/// ```no_run
/// let store = mlflow_postgres::open_store(std::path::Path::new("/shared/mlflow"), "postgres://mlflow@127.0.0.1/mlflow")?;
/// assert!(store.put_artifact(b"bytes").is_ok());
/// # Ok::<(), mlflow_postgres::PostgresError>(())
/// ```
pub fn open_store(root: &Path, url: &str) -> Result<Store, PostgresError> {
    let artifacts = LocalArtifacts::open(root.join("artifacts"))
        .map_err(|source| StoreError::Unwritable { path: root.to_path_buf(), source })?;
    let meta = PostgresMeta::connect(url)?;
    Ok(Store::with_backends(root, Box::new(artifacts), Box::new(meta))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_outside_literals_comments_and_names_are_translated() {
        assert_eq!(
            translate_placeholders("INSERT INTO \"a?1\" VALUES (?1, 'it''s ?2', ?3) -- ?4\n RETURNING ?5"),
            "INSERT INTO \"a?1\" VALUES ($1, 'it''s ?2', $3) -- ?4\n RETURNING $5"
        );
        assert_eq!(translate_placeholders("a ? b"), "a ? b");
    }

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact("postgresql://u:p%40ss@h/db?sslmode=disable"),
            "postgresql://u:***@h/db?sslmode=disable"
        );
        let err = PostgresMeta::connect("postgres://u:hunter2@127.0.0.1:1/db").unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(err.to_string().contains("postgres://u:***@127.0.0.1:1/db"), "{err}");
        let err = PostgresMeta::connect("postgres://u:hunter2@[bad").unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}
