//! The store lock and the handles' leases across machines, as PostgreSQL session advisory locks:
//! the server releases them when their connection closes, which a crashed process's does, as
//! the kernel releases a dead process's file locks.
//!
//! Each handle keeps one connection of its own for them (its session), out of the pool: its
//! lease is held there from its first run to its end, and its writers' share of the store lock
//! while they write. Whether a lease is held is asked from a pooled connection, which does not
//! hold it, so a handle sees its own lease as held too.

use mlflow_core::store::StoreError;
use mlflow_core::store::meta::MachineLocks;
use postgres::Client;

use crate::PostgresMeta;

/// The key of the store lock (writers share it, garbage collection takes it alone).
const STORE_LOCK: i64 = stable_key(b"mlflow/store-lock");

/// An advisory lock key for `bytes`, the same on every machine and build (64-bit FNV-1a).
const fn stable_key(bytes: &[u8]) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash as i64
}

/// The key of lease `name`.
fn lease_key(name: &str) -> i64 {
    stable_key(format!("mlflow/lease/{name}").as_bytes())
}

impl PostgresMeta {
    /// Runs `sql` with `key` on this handle's session connection, opening it when needed.
    fn on_session(&self, sql: &str, key: i64) -> Result<postgres::Row, StoreError> {
        let mut session = self.session.lock().unwrap_or_else(|p| p.into_inner());
        if session.as_ref().is_none_or(Client::is_closed) {
            *session = Some(self.config.connect(postgres::NoTls).map_err(|e| self.err(e))?);
        }
        let client = session.as_mut().expect("opened above");
        client.query_one(sql, &[&key]).map_err(|e| self.err(e))
    }

    /// Releases a session lock. An error means the connection closed, which released it.
    fn release(&self, sql: &str, key: i64) {
        let _ = self.on_session(sql, key);
    }
}

impl MachineLocks for PostgresMeta {
    fn lock_shared(&self) -> Result<(), StoreError> {
        self.on_session("SELECT pg_advisory_lock_shared($1)", STORE_LOCK).map(drop)
    }

    fn unlock_shared(&self) {
        self.release("SELECT pg_advisory_unlock_shared($1)", STORE_LOCK);
    }

    fn lock_exclusive(&self) -> Result<(), StoreError> {
        self.on_session("SELECT pg_advisory_lock($1)", STORE_LOCK).map(drop)
    }

    fn unlock_exclusive(&self) {
        self.release("SELECT pg_advisory_unlock($1)", STORE_LOCK);
    }

    fn hold_lease(&self, name: &str) -> Result<(), StoreError> {
        self.on_session("SELECT pg_advisory_lock($1)", lease_key(name)).map(drop)
    }

    fn lease_held(&self, name: &str) -> Result<bool, StoreError> {
        let key = lease_key(name);
        let mut conn = self.take()?;
        let result = (|| {
            let free: bool = conn
                .client
                .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
                .map_err(|e| self.err(e))?
                .get(0);
            if free {
                conn.client.execute("SELECT pg_advisory_unlock($1)", &[&key]).map_err(|e| self.err(e))?;
            }
            Ok(!free)
        })();
        self.put_back(conn);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_and_distinct() {
        // FNV-1a's published value for "a", as a signed key.
        assert_eq!(stable_key(b"a"), 0xaf63_dc4c_8601_ec8c_u64 as i64);
        assert_ne!(lease_key("1-2-0"), lease_key("1-2-1"));
        assert_ne!(lease_key("x"), STORE_LOCK);
    }
}
