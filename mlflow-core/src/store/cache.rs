//! The cache index room: which output each cache key produced, and the components of the last
//! key of every step, so that a miss can say which component changed.

use std::collections::HashMap;

use super::meta::{Migration, Room, Row, Tx, params};
use super::{Mode, Store, StoreError, now_ms};
use crate::codec::ContentHash;
use crate::step::HelperHash;

/// Inserts or replaces one entry: key, step, output, size, created_ms, run_id, log.
const CACHE_PUT: &str = "INSERT INTO cache (key, step, output, size, created_ms, run_id, log)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
     ON CONFLICT (key) DO UPDATE SET step = excluded.step, output = excluded.output,
         size = excluded.size, created_ms = excluded.created_ms, run_id = excluded.run_id,
         log = excluded.log";

/// An entry for [`Store::cache_put_many`].
pub(crate) struct NewEntry {
    pub key: ContentHash,
    pub step: &'static str,
    pub output: ContentHash,
    pub size: usize,
    pub log: Option<Vec<u8>>,
}

/// The cache index's tables.
pub const CACHE: Room = Room {
    name: "cache",
    migrations: &[
        Migration {
            version: 1,
            sqlite: "
CREATE TABLE IF NOT EXISTS cache (
    key BLOB PRIMARY KEY,
    step TEXT NOT NULL,
    output BLOB NOT NULL,
    size INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    run_id TEXT NOT NULL,
    log BLOB
);
CREATE TABLE IF NOT EXISTS step_keys (
    pipeline TEXT NOT NULL,
    node TEXT NOT NULL,
    cache_key BLOB NOT NULL,
    run_id TEXT NOT NULL,
    PRIMARY KEY (pipeline, node)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS key_parts (
    cache_key BLOB PRIMARY KEY,
    code_hash BLOB NOT NULL,
    version INTEGER NOT NULL,
    deps_hash BLOB NOT NULL,
    crate TEXT NOT NULL,
    library TEXT NOT NULL,
    inputs TEXT NOT NULL
) WITHOUT ROWID;
",
            postgres: "
CREATE TABLE IF NOT EXISTS cache (
    key BYTEA PRIMARY KEY,
    step TEXT NOT NULL,
    output BYTEA NOT NULL,
    size BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    run_id TEXT NOT NULL,
    log BYTEA
);
CREATE TABLE IF NOT EXISTS step_keys (
    pipeline TEXT NOT NULL,
    node TEXT NOT NULL,
    cache_key BYTEA NOT NULL,
    run_id TEXT NOT NULL,
    PRIMARY KEY (pipeline, node)
);
CREATE TABLE IF NOT EXISTS key_parts (
    cache_key BYTEA PRIMARY KEY,
    code_hash BYTEA NOT NULL,
    version BIGINT NOT NULL,
    deps_hash BYTEA NOT NULL,
    crate TEXT NOT NULL,
    library TEXT NOT NULL,
    inputs TEXT NOT NULL
);
",
        },
        Migration::portable(2, "ALTER TABLE key_parts ADD COLUMN helpers TEXT NOT NULL DEFAULT '';"),
    ],
    roots: cache_roots,
};

fn cache_roots(tx: &mut dyn Tx) -> Result<Vec<ContentHash>, StoreError> {
    Ok(tx.query("SELECT output FROM cache", &[])?.iter().filter_map(|r| r.try_get(0)).collect())
}

/// The components of a step's cache key, recorded with every run so that `plan` and the run
/// report can say which one changed. Read them with [`Store::last_keys`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct KeyParts {
    /// The step's code hash.
    pub code: ContentHash,
    /// The step's `version`.
    pub version: u32,
    /// The folded hashes of the helpers the step calls.
    pub deps: ContentHash,
    /// Each helper the step calls (listed in `deps` or found in its body), with its code hash;
    /// empty in keys recorded before helpers were listed one by one.
    #[serde(default)]
    pub helpers: Vec<HelperHash>,
    /// `name@version` of the crate that defines the step.
    pub krate: String,
    /// The mlflow version.
    pub library: String,
    /// The inputs, in order.
    pub inputs: Vec<InputPart>,
}

impl KeyParts {
    /// The parts of a key.
    pub fn new(
        code: ContentHash,
        version: u32,
        deps: ContentHash,
        helpers: Vec<HelperHash>,
        krate: String,
        library: String,
        inputs: Vec<InputPart>,
    ) -> KeyParts {
        KeyParts { code, version, deps, helpers, krate, library, inputs }
    }
}

/// One input of a step's cache key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InputPart {
    /// The upstream node's name.
    pub node: String,
    /// Whether the upstream node is a param.
    pub is_param: bool,
    /// Content hash of the input artifact.
    pub hash: ContentHash,
}

/// A cache index entry.
pub(crate) struct CacheEntry {
    pub output: ContentHash,
    /// The run that computed the output.
    pub run_id: String,
    /// What the step logged when it computed the output, encoded (see `crate::track::StepLog`).
    pub log: Option<Vec<u8>>,
}

/// A key recorded as a step's latest at the end of a run.
pub(crate) struct LatestKey<'a> {
    pub node: &'a str,
    pub key: ContentHash,
    pub parts: &'a KeyParts,
}

impl Store {
    /// The cache entry of a key, if any.
    pub(crate) fn cache_get(&self, key: ContentHash) -> Result<Option<CacheEntry>, StoreError> {
        let row = self.with_meta(&CACHE, Mode::Autocommit, |tx| {
            tx.query_opt("SELECT output, run_id, log FROM cache WHERE key = ?1", params![key])
        })?;
        Ok(row.and_then(|row| {
            Some(CacheEntry {
                output: row.try_get(0)?,
                run_id: row.try_get(1)?,
                log: row.try_get(2).flatten(),
            })
        }))
    }

    /// Records that `key` produced `output` (with what the step logged, encoded) in run `run_id`.
    pub(crate) fn cache_put(
        &self,
        key: ContentHash,
        step: &str,
        output: ContentHash,
        size: usize,
        run_id: &str,
        log: Option<Vec<u8>>,
    ) -> Result<(), StoreError> {
        self.with_meta(&CACHE, Mode::Autocommit, |tx| {
            tx.execute(CACHE_PUT, params![key, step, output, size as u64, now_ms(), run_id, log])
        })?;
        Ok(())
    }

    /// Records several entries of run `run_id` in one transaction (a mapped step's tasks).
    pub(crate) fn cache_put_many(&self, run_id: &str, entries: &[NewEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        self.with_meta(&CACHE, Mode::Write, |tx| {
            let now = now_ms();
            for e in entries {
                tx.execute(
                    CACHE_PUT,
                    params![e.key, e.step, e.output, e.size as u64, now, run_id, e.log.clone()],
                )?;
            }
            Ok(())
        })
    }

    /// The cache key at the most recent run of each step of a pipeline, by node name.
    pub(crate) fn last_cache_keys(&self, pipeline: &str) -> Result<HashMap<String, ContentHash>, StoreError> {
        let rows = self.with_meta(&CACHE, Mode::Autocommit, |tx| {
            tx.query("SELECT node, cache_key FROM step_keys WHERE pipeline = ?1", params![pipeline])
        })?;
        Ok(rows.iter().filter_map(|r| Some((r.try_get(0)?, r.try_get(1)?))).collect())
    }

    /// The cache key and its components at the most recent run of each step of a pipeline that
    /// got as far as computing a key, by node name.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = mlflow_core::store::Store::open(dir.path()).unwrap();
    /// assert!(store.last_keys("never-ran")?.is_empty());
    /// # Ok::<(), mlflow_core::store::StoreError>(())
    /// ```
    pub fn last_keys(&self, pipeline: &str) -> Result<HashMap<String, (ContentHash, KeyParts)>, StoreError> {
        let rows = self.with_meta(&CACHE, Mode::Autocommit, |tx| {
            tx.query(
                "SELECT s.node, s.cache_key, k.code_hash, k.version, k.deps_hash, k.crate, k.library, k.inputs,
                        k.helpers
                 FROM step_keys s JOIN key_parts k ON k.cache_key = s.cache_key WHERE s.pipeline = ?1",
                params![pipeline],
            )
        })?;
        // A row this build cannot read explains nothing: the step just reports "first run".
        Ok(rows
            .iter()
            .filter_map(|r| Some((r.try_get::<String>(0)?, (r.try_get(1)?, key_parts_from_row(r, 2)?))))
            .collect())
    }

    /// The components of a cache key, as recorded when a run first computed it; `None` for a
    /// key this store never recorded.
    pub fn key_parts(&self, key: ContentHash) -> Result<Option<KeyParts>, StoreError> {
        let row = self.with_meta(&CACHE, Mode::Autocommit, |tx| {
            tx.query_opt(
                "SELECT code_hash, version, deps_hash, crate, library, inputs, helpers
                 FROM key_parts WHERE cache_key = ?1",
                params![key],
            )
        })?;
        Ok(row.and_then(|r| key_parts_from_row(&r, 0)))
    }
}

/// Records the keys of the steps whose key changed in a run as their latest, with their parts.
pub(crate) fn record_latest_keys(
    tx: &mut dyn Tx,
    pipeline: &str,
    run_id: &str,
    keys: &[LatestKey<'_>],
) -> Result<(), StoreError> {
    for LatestKey { node, key, parts } in keys {
        tx.execute(
            "INSERT INTO step_keys (pipeline, node, cache_key, run_id) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (pipeline, node) DO UPDATE SET cache_key = excluded.cache_key, run_id = excluded.run_id",
            params![pipeline, *node, *key, run_id],
        )?;
        tx.execute(
            "INSERT INTO key_parts (cache_key, code_hash, version, deps_hash, crate, library, inputs, helpers)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (cache_key) DO NOTHING",
            params![
                *key,
                parts.code,
                parts.version,
                parts.deps,
                parts.krate.as_str(),
                parts.library.as_str(),
                encode_inputs(&parts.inputs),
                encode_helpers(&parts.helpers)
            ],
        )?;
    }
    Ok(())
}

fn encode_inputs(inputs: &[InputPart]) -> String {
    inputs
        .iter()
        .map(|i| format!("{}\t{}\t{}\n", if i.is_param { "param" } else { "step" }, i.hash.to_hex(), i.node))
        .collect()
}

fn decode_inputs(text: &str) -> Option<Vec<InputPart>> {
    text.lines()
        .map(|line| {
            let mut fields = line.splitn(3, '\t');
            let is_param = fields.next()? == "param";
            let hash = ContentHash::from_hex(fields.next()?)?;
            Some(InputPart { node: fields.next()?.to_owned(), is_param, hash })
        })
        .collect()
}

fn encode_helpers(helpers: &[HelperHash]) -> String {
    helpers.iter().map(|h| format!("{}\t{}\t{}\n", h.code_hash.to_hex(), h.name, h.path)).collect()
}

fn decode_helpers(text: &str) -> Option<Vec<HelperHash>> {
    text.lines()
        .map(|line| {
            let mut fields = line.splitn(3, '\t');
            let code_hash = ContentHash::from_hex(fields.next()?)?;
            let name = fields.next()?.to_owned();
            Some(HelperHash { name, code_hash, path: fields.next()?.to_owned() })
        })
        .collect()
}

/// The [`KeyParts`] in the columns `code_hash, version, deps_hash, crate, library, inputs,
/// helpers` of a row, starting at column `first`; `None` when one cannot be read.
fn key_parts_from_row(row: &Row, first: usize) -> Option<KeyParts> {
    Some(KeyParts {
        code: row.try_get(first)?,
        version: row.try_get(first + 1)?,
        deps: row.try_get(first + 2)?,
        krate: row.try_get(first + 3)?,
        library: row.try_get(first + 4)?,
        inputs: decode_inputs(&row.try_get::<String>(first + 5)?)?,
        helpers: decode_helpers(&row.try_get::<String>(first + 6)?)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_parts_survive_the_text_columns() {
        let inputs = vec![
            InputPart { node: "x".into(), is_param: true, hash: ContentHash::of(b"1") },
            InputPart { node: "a step\twith a tab".into(), is_param: false, hash: ContentHash::of(b"2") },
        ];
        assert_eq!(decode_inputs(&encode_inputs(&inputs)), Some(inputs));
        let helpers = vec![HelperHash::new("demo::util::scale", ContentHash::of(b"fn scale"))];
        assert_eq!(decode_helpers(&encode_helpers(&helpers)), Some(helpers));
        assert_eq!(decode_helpers(""), Some(vec![]));
        assert_eq!(decode_inputs("param\tnot-hex\tx\n"), None);
    }
}
