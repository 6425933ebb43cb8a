//! The retraining loop's memory, as a room of the store: each model's trigger state, every
//! decision the loop made, and the lease that keeps two watchers from retraining one model at
//! once. It survives restarts because it is in the store, not in the process.

use mlflow_core::store::meta::{Migration, Mode, Room, Tx, Value};
use mlflow_core::store::{Store, StoreError};
use mlflow_ml::monitor::TriggerState;
use serde::{Deserialize, Serialize};

const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    sqlite: "
CREATE TABLE IF NOT EXISTS watch_state (
    model TEXT PRIMARY KEY NOT NULL,
    triggers TEXT NOT NULL,
    last_training_ms INTEGER,
    labels_at_training INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS watch_decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    model TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    fired INTEGER NOT NULL,
    explanation TEXT NOT NULL,
    action TEXT NOT NULL,
    run_id TEXT,
    version INTEGER,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS watch_decisions_by_model ON watch_decisions (model, at_ms, id);
CREATE TRIGGER IF NOT EXISTS watch_decisions_no_update BEFORE UPDATE ON watch_decisions
BEGIN SELECT RAISE(ABORT, 'the decision history is append-only'); END;
CREATE TABLE IF NOT EXISTS watch_leases (
    model TEXT PRIMARY KEY NOT NULL,
    holder TEXT NOT NULL,
    expires_ms INTEGER NOT NULL
) WITHOUT ROWID;
",
}];

/// The watch room: trigger state, decisions and leases of the retraining loop.
pub const WATCH: Room = Room { name: "watch", migrations: MIGRATIONS, roots: |_| Ok(Vec::new()) };

/// What the loop remembers about one model between ticks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WatchState {
    /// When each trigger last fired (cooldowns).
    pub triggers: TriggerState,
    /// When the loop last retrained the model (or first watched it).
    pub last_training_ms: Option<i64>,
    /// How many labeled rows there were then (new labels are counted from here).
    pub labels_at_training: u64,
}

/// What the loop did after a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Nothing fired (or another watcher holds the lease).
    None,
    /// Retrained; the new version was promoted.
    Promoted,
    /// Retrained; the gate kept the current version.
    Refused,
    /// Retrained to an artifact the alias already held.
    Unchanged,
    /// The retraining run or the registration failed.
    Failed,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::None => "none",
            Action::Promoted => "promoted",
            Action::Refused => "refused",
            Action::Unchanged => "unchanged",
            Action::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Action {
        match text {
            "promoted" => Action::Promoted,
            "refused" => Action::Refused,
            "unchanged" => Action::Unchanged,
            "failed" => Action::Failed,
            _ => Action::None,
        }
    }
}

/// One recorded decision of the loop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    /// Position in the history (increasing).
    pub id: i64,
    /// The model watched.
    pub model: String,
    /// When (ms since the Unix epoch).
    pub at_ms: i64,
    /// Whether the triggers fired.
    pub fired: bool,
    /// The triggers' explanation, in figures.
    pub explanation: String,
    /// What the loop did.
    pub action: Action,
    /// The retraining run, if one ran.
    pub run_id: Option<String>,
    /// The registered version, if one was registered.
    pub version: Option<u32>,
    /// The gate's verdict or the error, in words.
    pub detail: String,
}

/// The watch room of a store.
///
/// ```
/// use mlflow_serve::watch::{Action, WatchStore};
/// let dir = tempfile::tempdir().unwrap();
/// let store = mlflow_core::store::Store::open(dir.path())?;
/// let watch = WatchStore::new(&store);
/// assert!(watch.acquire_lease("titanic", "host-a", 1_000, 60_000)?);
/// assert!(!watch.acquire_lease("titanic", "host-b", 2_000, 60_000)?, "host-a holds it");
/// assert!(watch.acquire_lease("titanic", "host-b", 61_001, 60_000)?, "it expired");
/// let mut state = watch.state("titanic")?;
/// state.last_training_ms = Some(5_000);
/// watch.save_state("titanic", &state)?;
/// assert_eq!(watch.state("titanic")?.last_training_ms, Some(5_000));
/// watch.record("titanic", 6_000, false, "quiet", Action::None, None, None, "")?;
/// assert_eq!(watch.decisions("titanic")?[0].action, Action::None);
/// # Ok::<(), mlflow_core::store::StoreError>(())
/// ```
pub struct WatchStore<'a> {
    store: &'a Store,
}

impl<'a> WatchStore<'a> {
    /// The watch room of `store` (created on first use).
    pub fn new(store: &'a Store) -> Self {
        WatchStore { store }
    }

    fn meta<T>(
        &self,
        mode: Mode,
        f: impl FnOnce(&mut dyn Tx) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.store.with_meta(&WATCH, mode, f)
    }

    /// Takes (or renews) the lease on `model` for `holder` until `now_ms + ttl_ms`, if nobody
    /// else holds an unexpired one. One write transaction: of two watchers racing, one wins.
    pub fn acquire_lease(
        &self,
        model: &str,
        holder: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<bool, StoreError> {
        self.meta(Mode::Write, |tx| {
            let current = tx.query_opt("SELECT holder, expires_ms FROM watch_leases WHERE model = ?1", &[text(model)])?;
            if let Some(row) = current {
                let (other, expires): (String, i64) = (row.get(0)?, row.get(1)?);
                if other != holder && expires > now_ms {
                    return Ok(false);
                }
            }
            tx.execute(
                "INSERT INTO watch_leases (model, holder, expires_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT (model) DO UPDATE SET holder = excluded.holder, expires_ms = excluded.expires_ms",
                &[text(model), text(holder), Value::Integer(now_ms.saturating_add(ttl_ms))],
            )?;
            Ok(true)
        })
    }

    /// Who holds the lease on `model` (expired or not), if anyone.
    pub fn lease_holder(&self, model: &str) -> Result<Option<String>, StoreError> {
        self.meta(Mode::Read, |tx| {
            let row = tx.query_opt("SELECT holder FROM watch_leases WHERE model = ?1", &[text(model)])?;
            Ok(row.and_then(|r| r.try_get(0)))
        })
    }

    /// Gives the lease up, if `holder` holds it.
    pub fn release_lease(&self, model: &str, holder: &str) -> Result<(), StoreError> {
        self.meta(Mode::Write, |tx| {
            tx.execute(
                "DELETE FROM watch_leases WHERE model = ?1 AND holder = ?2",
                &[text(model), text(holder)],
            )?;
            Ok(())
        })
    }

    /// The loop's memory of `model` (empty the first time).
    pub fn state(&self, model: &str) -> Result<WatchState, StoreError> {
        self.meta(Mode::Read, |tx| {
            let Some(row) = tx.query_opt(
                "SELECT triggers, last_training_ms, labels_at_training FROM watch_state WHERE model = ?1",
                &[text(model)],
            )?
            else {
                return Ok(WatchState::default());
            };
            let triggers: String = row.get(0)?;
            let triggers = serde_json::from_str(&triggers).map_err(|e| StoreError::Schema {
                detail: format!("watch state of `{model}` does not read: {e}"),
            })?;
            Ok(WatchState { triggers, last_training_ms: row.try_get(1), labels_at_training: row.get(2)? })
        })
    }

    /// Saves the loop's memory of `model`.
    pub fn save_state(&self, model: &str, state: &WatchState) -> Result<(), StoreError> {
        let triggers = serde_json::to_string(&state.triggers)
            .map_err(|e| StoreError::Schema { detail: format!("watch state does not write: {e}") })?;
        self.meta(Mode::Write, |tx| {
            tx.execute(
                "INSERT INTO watch_state (model, triggers, last_training_ms, labels_at_training) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (model) DO UPDATE SET triggers = excluded.triggers,
                   last_training_ms = excluded.last_training_ms, labels_at_training = excluded.labels_at_training",
                &[
                    text(model),
                    Value::Text(triggers),
                    state.last_training_ms.map_or(Value::Null, Value::Integer),
                    Value::Integer(i64::try_from(state.labels_at_training).unwrap_or(i64::MAX)),
                ],
            )?;
            Ok(())
        })
    }

    /// Appends a decision to `model`'s history; returns its id.
    #[allow(clippy::too_many_arguments)] // one row's columns
    pub fn record(
        &self,
        model: &str,
        at_ms: i64,
        fired: bool,
        explanation: &str,
        action: Action,
        run_id: Option<&str>,
        version: Option<u32>,
        detail: &str,
    ) -> Result<i64, StoreError> {
        self.meta(Mode::Write, |tx| {
            tx.execute(
                "INSERT INTO watch_decisions (model, at_ms, fired, explanation, action, run_id, version, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                &[
                    text(model),
                    Value::Integer(at_ms),
                    Value::Integer(i64::from(fired)),
                    text(explanation),
                    text(action.as_str()),
                    run_id.map_or(Value::Null, text),
                    version.map_or(Value::Null, |v| Value::Integer(i64::from(v))),
                    text(detail),
                ],
            )?;
            let row = tx.query_opt("SELECT MAX(id) FROM watch_decisions WHERE model = ?1", &[text(model)])?;
            row.map_or(Ok(0), |r| r.get(0))
        })
    }

    /// `model`'s decisions, oldest first.
    pub fn decisions(&self, model: &str) -> Result<Vec<DecisionRecord>, StoreError> {
        self.meta(Mode::Read, |tx| {
            tx.query(
                "SELECT id, at_ms, fired, explanation, action, run_id, version, detail FROM watch_decisions
                 WHERE model = ?1 ORDER BY id",
                &[text(model)],
            )?
            .iter()
            .map(|r| {
                Ok(DecisionRecord {
                    id: r.get(0)?,
                    model: model.to_owned(),
                    at_ms: r.get(1)?,
                    fired: r.get(2)?,
                    explanation: r.get(3)?,
                    action: Action::parse(&r.get::<String>(4)?),
                    run_id: r.try_get(5),
                    version: r.try_get(6),
                    detail: r.get(7)?,
                })
            })
            .collect()
        })
    }
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}
