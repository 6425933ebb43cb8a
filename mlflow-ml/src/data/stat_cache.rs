//! The stat cache: a data file's content hash remembered with what the file system says about the
//! file, so that opening an unchanged multi-gigabyte file again does not read it again.
//!
//! An entry maps a file's canonical path, device, inode, size, modification time and change time
//! (both to the nanosecond) to the content hash of its bytes, as git's index and DVC's state
//! database do. An entry is used only when all of these still match and the entry is not *racy*
//! (see [`StatCache`]); otherwise the file is hashed again and the entry rewritten.

use std::ffi::OsString;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use mlflow_core::codec::{self, ContentHash};

use super::DataError;

/// Remembers the content hashes of data files by their file-system identity and times, so that
/// [`DataFile::open`](super::DataFile::open) hashes an unchanged file only once.
///
/// A hit needs every one of these to be the same as when the file was hashed: the canonical path,
/// the device and inode (a file replaced by a rename is another file), the size, the modification
/// time and the change time, both to the nanosecond. The change time is set by the system on every
/// write, rename or `touch`, and cannot be set back by a user, so new bytes given the old
/// modification time (`touch -d`) are still seen as new.
///
/// **Racy entries are not trusted.** A file written in the same timestamp tick as it was hashed
/// could change again without any of its times changing (file systems keep times to a tick: 1 s
/// or 2 s on some). So an entry is used only if the file's modification and change times are more
/// than [`StatCache::RACY_WINDOW`] older than the moment hashing began; otherwise the file is
/// hashed again, and the new entry is trusted once the file has stayed unchanged for that long.
/// This assumes the clocks of this machine and of the file server agree within the window.
///
/// **Where it lives.** [`StatCache::from_env`] (what [`DataFile::open`](super::DataFile::open)
/// uses) reads `$MLFLOW_STAT_CACHE` (the cache file's path, or `off` to disable the cache), else
/// uses `$XDG_CACHE_HOME/mlflow-pipelines/stat-cache`, else `~/.cache/mlflow-pipelines/stat-cache`.
/// [`StatCache::at`] uses a file of your choice, [`StatCache::disabled`] none.
///
/// **Never in the way.** The cache is one file, rewritten whole through a temporary file and a
/// rename, so a reader never sees half of it; processes writing at once lose each other's new
/// entries at worst (the last writer wins), which costs a hash, never a wrong version. A cache file
/// that is missing, unreadable, corrupt (it carries a checksum), too large or writable by other
/// users is ignored and rewritten; failing to write it is ignored: the cache never makes opening a
/// file fail. It keeps the [`StatCache::DEFAULT_CAPACITY`] most recently used entries (see
/// [`StatCache::with_capacity`]).
///
/// On systems other than Unix there is no inode or change time to check: every file is hashed.
/// Files written through a memory map may not update their times until written back; do not open
/// a file that another process is writing.
///
/// ```
/// use mlflow_ml::data::{DataFile, StatCache};
///
/// let dir = tempfile::tempdir()?;
/// let cache = StatCache::at(dir.path().join("stat-cache"));
/// // A file that has not changed for a while: this crate's manifest.
/// let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
/// let first = DataFile::open_with(manifest, &cache)?; // hashed, and remembered
/// let second = DataFile::open_with(manifest, &cache)?; // from the stat cache: not read
/// assert_eq!(first, second);
/// if cfg!(unix) {
///     assert_eq!((cache.hashed(), cache.hits()), (1, 1));
/// }
///
/// // A file written just now is hashed every time until it is older than the racy window.
/// let fresh = dir.path().join("fresh.csv");
/// std::fs::write(&fresh, "x\n1\n")?;
/// DataFile::open_with(&fresh, &cache)?;
/// DataFile::open_with(&fresh, &cache)?;
/// assert_eq!(cache.hashed(), 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct StatCache {
    /// The cache file; `None` when disabled.
    file: Option<PathBuf>,
    capacity: usize,
    hits: AtomicU64,
    hashed: AtomicU64,
}

/// The first bytes of a cache file: the format and its version.
const MAGIC: &[u8] = b"mlflow-pipelines stat cache 1\n";

/// A cache file larger than this is ignored (and rewritten smaller).
const MAX_FILE_BYTES: u64 = 64 << 20;

/// A hit rewrites the cache to mark the entry used only if it was last marked longer ago than
/// this: repeated opens only read the cache, and recency is kept to this resolution.
const USE_RESOLUTION: Duration = Duration::from_secs(600);

impl StatCache {
    /// The environment variable naming the cache file; `off` (or `none`, `0`, `false`, in any case)
    /// disables the cache.
    ///
    /// ```
    /// assert_eq!(mlflow_ml::data::StatCache::ENV, "MLFLOW_STAT_CACHE");
    /// ```
    pub const ENV: &'static str = "MLFLOW_STAT_CACHE";

    /// How much older than the moment hashing began a file's modification and change times must be
    /// for its entry to be trusted: 2 s, the coarsest timestamp granularity of common file systems
    /// (FAT keeps modification times to 2 s).
    ///
    /// ```
    /// assert_eq!(mlflow_ml::data::StatCache::RACY_WINDOW.as_secs(), 2);
    /// ```
    pub const RACY_WINDOW: Duration = Duration::from_secs(2);

    /// Entries kept by default: the 4096 most recently used files.
    ///
    /// ```
    /// assert_eq!(mlflow_ml::data::StatCache::DEFAULT_CAPACITY, 4096);
    /// ```
    pub const DEFAULT_CAPACITY: usize = 4096;

    /// The cache of this user, as configured by the environment: the file `$MLFLOW_STAT_CACHE`
    /// (disabled if it is `off`), else `$XDG_CACHE_HOME/mlflow-pipelines/stat-cache` (when that
    /// is an absolute path), else `$HOME/.cache/mlflow-pipelines/stat-cache`; disabled when none
    /// is set.
    ///
    /// ```
    /// use mlflow_ml::data::StatCache;
    /// let cache = StatCache::from_env();
    /// if std::env::var_os(StatCache::ENV).is_some_and(|v| v == "off") {
    ///     assert!(cache.path().is_none());
    /// }
    /// ```
    pub fn from_env() -> StatCache {
        let var = |name| std::env::var_os(name);
        StatCache::new(location(var(Self::ENV), var("XDG_CACHE_HOME"), var("HOME")))
    }

    /// A cache kept in the file `file` (created, with its folder, when first written).
    ///
    /// ```
    /// use mlflow_ml::data::StatCache;
    /// let cache = StatCache::at("/tmp/my-stat-cache");
    /// assert_eq!(cache.path(), Some(std::path::Path::new("/tmp/my-stat-cache")));
    /// ```
    pub fn at(file: impl Into<PathBuf>) -> StatCache {
        StatCache::new(Some(file.into()))
    }

    /// No cache: every file is hashed on every open.
    ///
    /// ```
    /// use mlflow_ml::data::StatCache;
    /// assert!(StatCache::disabled().path().is_none());
    /// ```
    pub fn disabled() -> StatCache {
        StatCache::new(None)
    }

    fn new(file: Option<PathBuf>) -> StatCache {
        StatCache {
            file,
            capacity: Self::DEFAULT_CAPACITY,
            hits: AtomicU64::new(0),
            hashed: AtomicU64::new(0),
        }
    }

    /// Keeps at most `entries` entries, the most recently used (0 keeps none).
    ///
    /// ```
    /// use mlflow_ml::data::StatCache;
    /// let cache = StatCache::at("/tmp/small-stat-cache").with_capacity(16);
    /// # let _ = cache;
    /// ```
    pub fn with_capacity(mut self, entries: usize) -> StatCache {
        self.capacity = entries;
        self
    }

    /// The cache file, or `None` when the cache is disabled.
    ///
    /// See [`StatCache::at`] for an example.
    pub fn path(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// How many opens through this value were answered from the cache, without reading the file.
    ///
    /// See [`StatCache`] for an example.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// How many opens through this value hashed the file's bytes.
    ///
    /// See [`StatCache`] for an example.
    pub fn hashed(&self) -> u64 {
        self.hashed.load(Ordering::Relaxed)
    }

    /// The content hash of the file at `path`: from the cache when its entry matches and is not
    /// racy, else by reading the file (streamed, in constant memory), remembering the result.
    pub(super) fn version(&self, path: &str) -> Result<ContentHash, DataError> {
        // Taken before the file's times are read: an entry is trusted only for files whose times
        // are older than this by the racy window.
        let started = SystemTime::now();
        let mut file = File::open(path).map_err(|e| super::file::io_error(path, e))?;
        let before = file.metadata().map_err(|e| super::file::io_error(path, e))?;
        let key = match (&self.file, Stat::of(&before)) {
            (Some(cache), Some(stat)) => canonical(path).map(|canonical| (cache.as_path(), canonical, stat)),
            _ => None,
        };
        if let Some((cache, canonical, stat)) = &key
            && let Some(version) = self.lookup(cache, canonical, stat)
        {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(version);
        }
        let version = ContentHash::of_reader(&mut file).map_err(|e| super::file::io_error(path, e))?;
        self.hashed.fetch_add(1, Ordering::Relaxed);
        if let Some((cache, canonical, stat)) = key {
            // Remember only bytes that did not change while they were read.
            let after = file.metadata().ok().as_ref().and_then(Stat::of);
            if after == Some(stat) {
                let entry = Entry {
                    path: canonical,
                    stat,
                    hashed_at: nanos(started),
                    used: seconds(started),
                    version,
                };
                self.remember(cache, entry);
            }
        }
        Ok(version)
    }

    /// The version of a trusted entry for `canonical` with `stat`, marking it used.
    fn lookup(&self, cache: &Path, canonical: &str, stat: &Stat) -> Option<ContentHash> {
        let mut entries = read_entries(cache)?;
        let i = entries.iter().position(|e| e.path == canonical)?;
        let now = SystemTime::now();
        if !entries[i].trusted(stat, nanos(now)) {
            return None;
        }
        let version = entries[i].version;
        let now = seconds(now);
        if now.saturating_sub(entries[i].used) > USE_RESOLUTION.as_secs() {
            let mut entry = entries.remove(i);
            entry.used = now;
            entries.push(entry);
            // Failing to write is only a missed recency update.
            let _ = write_entries(cache, &entries);
        }
        Some(version)
    }

    /// Adds (or replaces) the entry for its path, as the most recently used, and writes the cache.
    fn remember(&self, cache: &Path, entry: Entry) {
        // Read again: other processes may have added entries since the lookup.
        let mut entries = read_entries(cache).unwrap_or_default();
        entries.retain(|e| e.path != entry.path);
        entries.push(entry);
        let excess = entries.len().saturating_sub(self.capacity);
        entries.drain(..excess);
        // The cache never makes opening a file fail: a file not written is a hash next time.
        let _ = write_entries(cache, &entries);
    }
}

/// What the file system says about a file, as compared by the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Stat {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stat {
    /// The stat of a regular file; `None` for anything else, and on systems without inodes and
    /// change times (there the cache is never used).
    #[cfg(unix)]
    fn of(meta: &std::fs::Metadata) -> Option<Stat> {
        use std::os::unix::fs::MetadataExt;
        meta.is_file().then(|| Stat {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        })
    }

    #[cfg(not(unix))]
    fn of(_meta: &std::fs::Metadata) -> Option<Stat> {
        None
    }
}

/// Nanoseconds since the Unix epoch of a `(seconds, nanoseconds)` file time.
fn time_nanos((secs, nsec): (i64, i64)) -> i128 {
    i128::from(secs) * 1_000_000_000 + i128::from(nsec)
}

/// Nanoseconds since the Unix epoch (negative before it).
fn nanos(time: SystemTime) -> i128 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    }
}

/// Whole seconds since the Unix epoch (0 before it).
fn seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// One remembered file.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    /// The canonical path.
    path: String,
    stat: Stat,
    /// When hashing began, in nanoseconds since the Unix epoch.
    hashed_at: i128,
    /// When the entry was last marked used, in seconds since the Unix epoch.
    used: u64,
    version: ContentHash,
}

impl Entry {
    /// Whether the entry gives the version of a file with `stat` now (`now` in nanoseconds since
    /// the epoch): the same stat, times older than the racy window before hashing began, and
    /// hashing not begun in the future (the clock was set back since). Times at or before the
    /// epoch are those of a file system that does not keep them (some network and FUSE mounts
    /// report 0): never trusted.
    fn trusted(&self, stat: &Stat, now: i128) -> bool {
        let window = StatCache::RACY_WINDOW.as_nanos() as i128;
        self.stat == *stat
            && time_nanos(stat.mtime) > 0
            && time_nanos(stat.ctime) > 0
            && time_nanos(stat.mtime) + window < self.hashed_at
            && time_nanos(stat.ctime) + window < self.hashed_at
            && self.hashed_at <= now
    }
}

/// The cache file's location from the environment's values (see [`StatCache::from_env`]).
fn location(
    setting: Option<OsString>,
    xdg_cache: Option<OsString>,
    home: Option<OsString>,
) -> Option<PathBuf> {
    let non_empty = |v: Option<OsString>| v.filter(|v| !v.is_empty());
    if let Some(setting) = non_empty(setting) {
        let off = ["off", "none", "0", "false"];
        return match setting.to_str() {
            Some(s) if off.iter().any(|o| s.trim().eq_ignore_ascii_case(o)) => None,
            _ => Some(PathBuf::from(setting)),
        };
    }
    let base = match non_empty(xdg_cache).map(PathBuf::from).filter(|p| p.is_absolute()) {
        Some(xdg) => xdg,
        None => PathBuf::from(non_empty(home)?).join(".cache"),
    };
    Some(base.join("mlflow-pipelines").join("stat-cache"))
}

/// The canonical path of `path` as text; `None` if it cannot be resolved or is not UTF-8 (then
/// the file is hashed, not cached).
fn canonical(path: &str) -> Option<String> {
    std::fs::canonicalize(path).ok()?.into_os_string().into_string().ok()
}

/// The entries of the cache file, oldest use first; `None` if there is no usable cache file.
fn read_entries(cache: &Path) -> Option<Vec<Entry>> {
    let file = File::open(cache).ok()?;
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.len() > MAX_FILE_BYTES {
        return None;
    }
    #[cfg(unix)]
    {
        // Entries are trusted: a file other users may write could lie about versions.
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o022 != 0 {
            return None;
        }
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes).ok()?;
    let rest = bytes.strip_prefix(MAGIC)?;
    let (sum, payload) = rest.split_at_checked(32)?;
    if ContentHash::of(payload).as_bytes() != sum {
        return None;
    }
    codec::decode(payload, payload.len() as u64).ok()
}

/// Writes the cache file whole: to a temporary file in its folder, then renamed over it, so no
/// reader ever sees a partial file.
fn write_entries(cache: &Path, entries: &[Entry]) -> std::io::Result<()> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let payload = codec::encode(entries).map_err(std::io::Error::other)?;
    let mut bytes = Vec::with_capacity(MAGIC.len() + 32 + payload.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(ContentHash::of(&payload).as_bytes());
    bytes.extend_from_slice(&payload);
    let folder = match cache.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(folder)?;
    let name = cache.file_name().map_or_else(|| "stat-cache".into(), |n| n.to_string_lossy().into_owned());
    let unique = format!(
        ".{name}.{}.{}.{}.tmp",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        nanos(SystemTime::now())
    );
    let temp = folder.join(unique);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        // The cache lists the user's data files: private.
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options
        .open(&temp)
        .and_then(|mut f| f.write_all(&bytes))
        .and_then(|()| std::fs::rename(&temp, cache));
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(s: &str) -> Option<OsString> {
        Some(s.into())
    }

    #[test]
    fn the_location_from_the_environment() {
        let file = PathBuf::from;
        assert_eq!(location(os("/data/sc"), os("/xdg"), os("/home/a")), Some(file("/data/sc")));
        for off in ["off", "OFF", "none", "0", "false", " off "] {
            assert_eq!(location(os(off), os("/xdg"), os("/home/a")), None, "{off:?}");
        }
        // Empty is unset.
        assert_eq!(
            location(os(""), os("/xdg"), os("/home/a")),
            Some(file("/xdg/mlflow-pipelines/stat-cache"))
        );
        assert_eq!(
            location(None, None, os("/home/a")),
            Some(file("/home/a/.cache/mlflow-pipelines/stat-cache"))
        );
        // A relative XDG_CACHE_HOME is invalid (the XDG spec): ignored.
        assert_eq!(
            location(None, os("rel"), os("/home/a")),
            Some(file("/home/a/.cache/mlflow-pipelines/stat-cache"))
        );
        assert_eq!(location(None, os(""), os("")), None);
        assert_eq!(location(None, None, None), None);
    }

    fn stat(mtime: i64, ctime: i64) -> Stat {
        Stat { dev: 1, ino: 2, size: 3, mtime: (mtime, 5), ctime: (ctime, 7) }
    }

    fn entry(stat: Stat, hashed_at_secs: i64) -> Entry {
        Entry {
            path: "/a".into(),
            stat,
            hashed_at: i128::from(hashed_at_secs) * 1_000_000_000,
            used: 0,
            version: ContentHash::of(b"a"),
        }
    }

    #[test]
    fn an_entry_is_trusted_only_for_times_older_than_the_window() {
        let now = 1_000 * 1_000_000_000;
        let old = stat(100, 100);
        assert!(entry(old, 200).trusted(&old, now));
        // Any field differing.
        for other in [
            Stat { dev: 9, ..old },
            Stat { ino: 9, ..old },
            Stat { size: 9, ..old },
            Stat { mtime: (100, 6), ..old },
            Stat { ctime: (100, 8), ..old },
            Stat { ctime: (101, 7), ..old },
        ] {
            assert!(!entry(old, 200).trusted(&other, now), "{other:?}");
        }
        // Racy: hashed within the window after the last modification or change (or before it).
        assert!(!entry(old, 102).trusted(&old, now), "hashed 2 s minus 5 ns after the change");
        assert!(entry(old, 103).trusted(&old, now));
        assert!(!entry(stat(100, 150), 151).trusted(&stat(100, 150), now), "ctime counts");
        assert!(!entry(stat(150, 100), 151).trusted(&stat(150, 100), now), "mtime counts");
        assert!(!entry(stat(300, 300), 200).trusted(&stat(300, 300), now), "times after hashing");
        // Hashed "in the future": the clock was set back since.
        assert!(!entry(old, 2_000).trusted(&old, now));
        // A file system that keeps no times.
        let none = Stat { mtime: (0, 0), ctime: (0, 0), ..old };
        assert!(!entry(none, 200).trusted(&none, now));
        assert!(!entry(Stat { ctime: (0, 0), ..old }, 200).trusted(&Stat { ctime: (0, 0), ..old }, now));
    }

    #[test]
    fn the_cache_file_round_trips_and_refuses_damage() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("deeper/stat-cache");
        let entries = vec![entry(stat(1, 2), 3), Entry { path: "/b".into(), ..entry(stat(4, 5), 6) }];
        write_entries(&cache, &entries).unwrap();
        let back = read_entries(&cache).unwrap();
        assert_eq!(back.iter().map(|e| &e.path).collect::<Vec<_>>(), ["/a", "/b"]);
        assert_eq!(back[1].stat, stat(4, 5));
        // No temporary file is left behind.
        let names: Vec<_> =
            std::fs::read_dir(cache.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["stat-cache"]);
        let good = std::fs::read(&cache).unwrap();
        // One byte changed anywhere, truncated, another format: ignored.
        for i in [0, MAGIC.len(), MAGIC.len() + 32, good.len() - 1] {
            let mut bad = good.clone();
            bad[i] ^= 1;
            std::fs::write(&cache, &bad).unwrap();
            assert!(read_entries(&cache).is_none(), "byte {i}");
        }
        for len in [0, 10, MAGIC.len() + 31, good.len() - 1] {
            std::fs::write(&cache, &good[..len]).unwrap();
            assert!(read_entries(&cache).is_none(), "{len} bytes");
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::write(&cache, &good).unwrap();
            assert!(read_entries(&cache).is_some());
            std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o666)).unwrap();
            assert!(read_entries(&cache).is_none(), "writable by others: not trusted");
        }
    }

    #[test]
    fn the_cache_keeps_the_most_recently_used_entries() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("stat-cache");
        let cache = StatCache::at(&file).with_capacity(2);
        for path in ["/a", "/b", "/c"] {
            cache.remember(&file, Entry { path: path.into(), ..entry(stat(1, 1), 5) });
        }
        let paths = |entries: Vec<Entry>| entries.into_iter().map(|e| e.path).collect::<Vec<_>>();
        assert_eq!(paths(read_entries(&file).unwrap()), ["/b", "/c"]);
        // A hit marks an entry used (when last marked long enough ago): it is evicted last.
        assert!(cache.lookup(&file, "/b", &stat(1, 1)).is_some());
        assert_eq!(paths(read_entries(&file).unwrap()), ["/c", "/b"]);
        cache.remember(&file, Entry { path: "/d".into(), ..entry(stat(1, 1), 5) });
        assert_eq!(paths(read_entries(&file).unwrap()), ["/b", "/d"]);
        // Replacing an entry keeps one per path.
        cache.remember(&file, Entry { path: "/d".into(), ..entry(stat(2, 2), 5) });
        assert_eq!(paths(read_entries(&file).unwrap()), ["/b", "/d"]);
    }
}
