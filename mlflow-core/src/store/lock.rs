//! The store lock: writers share it, garbage collection takes it alone.
//!
//! A writer holds it from the moment it starts writing an artifact until the row that refers to
//! the artifact is committed, so a collector never sees a write half done: not its temporary file
//! (which it would delete under the writer), nor its finished but not yet referenced artifact.
//! It is an advisory lock on the file `lock` in the store folder (`flock`): the kernel releases
//! it when a process dies, so a crashed writer never blocks collection.
//!
//! A [`Lease`] says that a store handle is alive: an exclusive lock on a file of its own under
//! `leases/`, taken on first use and held until the handle is dropped, or released by the
//! kernel when the process dies. Rows that belong to a live handle (a running run) name its
//! lease; whoever finds the lease free knows its owner is gone.

use std::fs::{self, TryLockError};
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::store::{MachineLocks, StoreError};

const LOCK_FILE: &str = "lock";
const LEASE_DIR: &str = "leases";

static LEASE_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The store's lock file, with the count of this handle's writers holding it shared.
pub(crate) struct StoreLock {
    path: PathBuf,
    file: File,
    writers: Mutex<usize>,
}

/// A writer's share of the lock (and of the machines' lock, when the metadata database has
/// one); dropping it releases the share.
pub(crate) struct WriteGuard<'l> {
    lock: &'l StoreLock,
    machines: Option<&'l dyn MachineLocks>,
}

/// The lock held alone (by garbage collection), on this machine and, when the metadata
/// database has one, on every machine.
pub(crate) struct Exclusive<'l> {
    file: File,
    machines: Option<&'l dyn MachineLocks>,
}

impl StoreLock {
    pub(crate) fn open(root: &Path) -> Result<StoreLock, StoreError> {
        let path = root.join(LOCK_FILE);
        let file = open_lock_file(&path)?;
        Ok(StoreLock { path, file, writers: Mutex::new(0) })
    }

    fn count(&self) -> MutexGuard<'_, usize> {
        self.writers.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes a writer's share (waiting while a collection runs), here and on `machines`.
    pub(crate) fn write<'l>(
        &'l self,
        machines: Option<&'l dyn MachineLocks>,
    ) -> Result<WriteGuard<'l>, StoreError> {
        let mut writers = self.count();
        if *writers == 0 {
            self.file.lock_shared().map_err(|source| StoreError::Io { path: self.path.clone(), source })?;
            if let Some(machines) = machines
                && let Err(e) = machines.lock_shared()
            {
                let _ = self.file.unlock();
                return Err(e);
            }
        }
        *writers += 1;
        Ok(WriteGuard { lock: self, machines })
    }

    /// Takes the lock alone, waiting for every writer of every process to finish its write,
    /// then the machines' lock alone, waiting for the other machines' writers.
    pub(crate) fn exclusive<'l>(
        &self,
        machines: Option<&'l dyn MachineLocks>,
    ) -> Result<Exclusive<'l>, StoreError> {
        // A handle of its own: a share held through `self.file` must block this too.
        let file = open_lock_file(&self.path)?;
        file.lock().map_err(|source| StoreError::Io { path: self.path.clone(), source })?;
        if let Some(machines) = machines {
            // Dropping `file` on error releases the local lock.
            machines.lock_exclusive()?;
        }
        Ok(Exclusive { file, machines })
    }
}

impl Drop for WriteGuard<'_> {
    fn drop(&mut self) {
        let mut writers = self.lock.count();
        *writers -= 1;
        if *writers == 0 {
            if let Some(machines) = self.machines {
                machines.unlock_shared();
            }
            // Closing the file would release it too; an unlock error leaves the share to the
            // end of the process, which only delays collections.
            let _ = self.lock.file.unlock();
        }
    }
}

impl Drop for Exclusive<'_> {
    fn drop(&mut self) {
        if let Some(machines) = self.machines {
            machines.unlock_exclusive();
        }
        let _ = self.file.unlock();
    }
}

fn open_lock_file(path: &Path) -> Result<File, StoreError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|source| StoreError::Io { path: path.to_path_buf(), source })
}

/// A store handle's claim to be alive (see the module docs); dropping it removes its file.
pub(crate) struct Lease {
    name: String,
    path: PathBuf,
    _file: File,
}

impl Lease {
    /// Takes a new lease in the store folder `root`.
    pub(crate) fn take(root: &Path) -> Result<Lease, StoreError> {
        let name = format!(
            "{}-{}-{}",
            std::process::id(),
            crate::store::now_nanos(),
            LEASE_COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let path = lease_path(root, &name);
        let io = |source| StoreError::Io { path: path.clone(), source };
        fs::create_dir_all(root.join(LEASE_DIR)).map_err(io)?;
        let file = OpenOptions::new().write(true).create_new(true).open(&path).map_err(io)?;
        file.lock().map_err(io)?;
        Ok(Lease { name, path, _file: file })
    }

    /// The lease's name, to record in rows that belong to its handle.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        // Removed while still locked: a checker that opened it before sees it held, one that
        // comes after finds no file (and the handle's rows finished).
        let _ = fs::remove_file(&self.path);
    }
}

fn lease_path(root: &Path, name: &str) -> PathBuf {
    root.join(LEASE_DIR).join(format!("{name}.lock"))
}

/// Whether the lease `name` in the store folder `root` is held by a live handle.
pub(crate) fn lease_held(root: &Path, name: &str) -> bool {
    match OpenOptions::new().write(true).open(lease_path(root, name)) {
        Ok(file) => matches!(file.try_lock(), Err(TryLockError::WouldBlock)),
        Err(_) => false,
    }
}

/// Whether the lease `name` has a file in the store folder `root` (held or left by a dead
/// process); a lease of a handle with another store folder has none here.
pub(crate) fn lease_known(root: &Path, name: &str) -> bool {
    lease_path(root, name).exists()
}

/// Removes the files of leases whose handles are gone (their processes died without dropping
/// them).
pub(crate) fn remove_dead_leases(root: &Path) {
    let Ok(entries) = fs::read_dir(root.join(LEASE_DIR)) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(name) = path.file_stem().and_then(|n| n.to_str()) else { continue };
        if !lease_held(root, name) {
            let _ = fs::remove_file(&path);
        }
    }
}
