//! The store lock: writers share it, garbage collection takes it alone.
//!
//! A writer holds it from the moment it starts writing an artifact until the row that refers to
//! the artifact is committed, so a collector never sees a write half done: not its temporary file
//! (which it would delete under the writer), nor its finished but not yet referenced artifact.
//! It is an advisory lock on the file `lock` in the store folder (`flock`): the kernel releases
//! it when a process dies, so a crashed writer never blocks collection.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use crate::store::StoreError;

const LOCK_FILE: &str = "lock";

/// The store's lock file, with the count of this handle's writers holding it shared.
pub(crate) struct StoreLock {
    path: PathBuf,
    file: File,
    writers: Mutex<usize>,
}

/// A writer's share of the lock; dropping it releases the share.
pub(crate) struct WriteGuard<'l>(&'l StoreLock);

/// The lock held alone (by garbage collection).
pub(crate) struct Exclusive(File);

impl StoreLock {
    pub(crate) fn open(root: &Path) -> Result<StoreLock, StoreError> {
        let path = root.join(LOCK_FILE);
        let file = open_lock_file(&path)?;
        Ok(StoreLock { path, file, writers: Mutex::new(0) })
    }

    fn count(&self) -> MutexGuard<'_, usize> {
        self.writers.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes a writer's share (waiting while a collection runs).
    pub(crate) fn write(&self) -> Result<WriteGuard<'_>, StoreError> {
        let mut writers = self.count();
        if *writers == 0 {
            self.file.lock_shared().map_err(|source| StoreError::Io { path: self.path.clone(), source })?;
        }
        *writers += 1;
        Ok(WriteGuard(self))
    }

    /// Takes the lock alone, waiting for every writer of every process to finish its write.
    pub(crate) fn exclusive(&self) -> Result<Exclusive, StoreError> {
        // A handle of its own: a share held through `self.file` must block this too.
        let file = open_lock_file(&self.path)?;
        file.lock().map_err(|source| StoreError::Io { path: self.path.clone(), source })?;
        Ok(Exclusive(file))
    }
}

impl Drop for WriteGuard<'_> {
    fn drop(&mut self) {
        let mut writers = self.0.count();
        *writers -= 1;
        if *writers == 0 {
            // Closing the file would release it too; an unlock error leaves the share to the
            // end of the process, which only delays collections.
            let _ = self.0.file.unlock();
        }
    }
}

impl Drop for Exclusive {
    fn drop(&mut self) {
        let _ = self.0.unlock();
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
