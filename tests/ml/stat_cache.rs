//! The stat cache of data versions: a hit without reading the file, and a miss for every way the
//! file can change (new bytes of the same size, the old modification time put back, a file
//! replaced by a rename), racy entries, a damaged or disabled cache, and concurrent writers.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use mlflow::codec::ContentHash;
use mlflow::data::{DataFile, StatCache};

/// The files of [`aged`], one per test that needs a file older than the racy window.
const AGED: [&str; 6] =
    ["hit.csv", "same-size.csv", "touched.csv", "replaced.csv", "corrupt.csv", "disabled.csv"];

/// How long after a file was written an entry for it is trusted: the racy window and a margin.
const SETTLED: Duration = Duration::from_millis(2_500);

/// The bytes [`aged`] writes to `name`.
fn aged_bytes(name: &str) -> Vec<u8> {
    format!("name\n{name}\n").into_bytes()
}

/// A file of [`AGED`], written once for all tests and left alone for longer than the racy window,
/// so that a stat cache entry for it is trusted. The first call writes them all; every call waits
/// until they have settled (tests running in parallel wait once, together).
fn aged(name: &str) -> PathBuf {
    static FILES: OnceLock<(PathBuf, Instant)> = OnceLock::new();
    assert!(AGED.contains(&name), "{name} is not one of the aged files");
    let (dir, written) = FILES.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("stat-cache-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        for name in AGED {
            fs::write(dir.join(name), aged_bytes(name)).unwrap();
        }
        (dir, Instant::now())
    });
    if let Some(left) = SETTLED.checked_sub(written.elapsed()) {
        std::thread::sleep(left);
    }
    dir.join(name)
}

/// A stat cache in a fresh temp dir (kept alive by the returned guard).
fn fresh_cache() -> (tempfile::TempDir, StatCache) {
    let dir = tempfile::tempdir().unwrap();
    let cache = StatCache::at(dir.path().join("stat-cache"));
    (dir, cache)
}

/// `(hashed, hits)` of `cache`.
fn counts(cache: &StatCache) -> (u64, u64) {
    (cache.hashed(), cache.hits())
}

#[cfg(unix)]
fn inode(path: &Path) -> u64 {
    std::os::unix::fs::MetadataExt::ino(&fs::metadata(path).unwrap())
}

#[test]
#[cfg(unix)]
fn an_unchanged_file_is_not_hashed_again() {
    let path = aged("hit.csv");
    let (_dir, cache) = fresh_cache();
    let first = DataFile::open_with(&path, &cache).unwrap();
    assert_eq!(first.version, ContentHash::of(&aged_bytes("hit.csv")));
    assert_eq!(counts(&cache), (1, 0));
    let second = DataFile::open_with(&path, &cache).unwrap();
    assert_eq!(second, first);
    assert_eq!(counts(&cache), (1, 1), "the second open is a hit: the file is not read");
    // The entry is in the cache file: another process (another value) hits it too.
    let other = StatCache::at(cache.path().unwrap());
    assert_eq!(DataFile::open_with(&path, &other).unwrap(), first);
    assert_eq!(counts(&other), (0, 1));
    // Through another path to the same file (the key is the canonical path).
    let dotted = path.parent().unwrap().join(".").join("hit.csv");
    assert_eq!(DataFile::open_with(&dotted, &other).unwrap().version, first.version);
    assert_eq!(counts(&other), (0, 2));
}

#[test]
#[cfg(unix)]
fn new_bytes_of_the_same_size_are_hashed_again() {
    let path = aged("same-size.csv");
    let (_dir, cache) = fresh_cache();
    let old = DataFile::open_with(&path, &cache).unwrap();
    DataFile::open_with(&path, &cache).unwrap();
    assert_eq!(counts(&cache), (1, 1));
    let mut bytes = aged_bytes("same-size.csv");
    bytes[5] = b'S';
    fs::write(&path, &bytes).unwrap();
    let new = DataFile::open_with(&path, &cache).unwrap();
    assert_eq!(counts(&cache), (2, 1), "a miss");
    assert_eq!(new.version, ContentHash::of(&bytes));
    assert_ne!(new.version, old.version);
}

#[test]
#[cfg(unix)]
fn new_bytes_with_the_old_modification_time_are_hashed_again() {
    let path = aged("touched.csv");
    let (_dir, cache) = fresh_cache();
    DataFile::open_with(&path, &cache).unwrap();
    DataFile::open_with(&path, &cache).unwrap();
    assert_eq!(counts(&cache), (1, 1));
    let before = fs::metadata(&path).unwrap();
    let mut bytes = aged_bytes("touched.csv");
    bytes[5] = b'T';
    fs::write(&path, &bytes).unwrap();
    // `touch -d`: the old modification time put back. Same size, same inode, same mtime: only the
    // change time tells.
    fs::File::options().write(true).open(&path).unwrap().set_modified(before.modified().unwrap()).unwrap();
    let after = fs::metadata(&path).unwrap();
    assert_eq!(after.modified().unwrap(), before.modified().unwrap());
    assert_eq!((after.len(), inode(&path)), (before.len(), std::os::unix::fs::MetadataExt::ino(&before)));
    let new = DataFile::open_with(&path, &cache).unwrap();
    assert_eq!(counts(&cache), (2, 1), "a miss");
    assert_eq!(new.version, ContentHash::of(&bytes));
}

#[test]
#[cfg(unix)]
fn a_file_replaced_by_a_rename_is_hashed_again() {
    let path = aged("replaced.csv");
    let (_dir, cache) = fresh_cache();
    DataFile::open_with(&path, &cache).unwrap();
    DataFile::open_with(&path, &cache).unwrap();
    assert_eq!(counts(&cache), (1, 1));
    let before = fs::metadata(&path).unwrap();
    let old_inode = inode(&path);
    // Another file of the same size and modification time, renamed over it (as editors save).
    let mut bytes = aged_bytes("replaced.csv");
    bytes[5] = b'R';
    let temp = path.with_extension("new");
    fs::write(&temp, &bytes).unwrap();
    fs::File::options().write(true).open(&temp).unwrap().set_modified(before.modified().unwrap()).unwrap();
    fs::rename(&temp, &path).unwrap();
    assert_ne!(inode(&path), old_inode);
    let new = DataFile::open_with(&path, &cache).unwrap();
    assert_eq!(counts(&cache), (2, 1), "a miss");
    assert_eq!(new.version, ContentHash::of(&bytes));
}

#[test]
#[cfg(unix)]
fn a_racy_entry_is_not_trusted_until_the_file_settles() {
    let (dir, cache) = fresh_cache();
    let path = dir.path().join("fresh.csv");
    fs::write(&path, "x\n1\n").unwrap();
    let written = Instant::now();
    // Hashed within the racy window of its last change: a write in the same timestamp tick would
    // leave every time unchanged, so the entry is not used.
    DataFile::open_with(&path, &cache).unwrap();
    DataFile::open_with(&path, &cache).unwrap();
    assert_eq!(counts(&cache), (2, 0));
    std::thread::sleep(SETTLED.saturating_sub(written.elapsed()));
    // The entry written above is still racy (hashed right after the write): hashed again, and the
    // new entry is trusted.
    DataFile::open_with(&path, &cache).unwrap();
    assert_eq!(counts(&cache), (3, 0));
    let file = DataFile::open_with(&path, &cache).unwrap();
    assert_eq!(counts(&cache), (3, 1));
    assert_eq!(file.version, ContentHash::of(b"x\n1\n"));
}

#[test]
fn a_corrupt_cache_file_is_ignored_and_rewritten() {
    let path = aged("corrupt.csv");
    let (_dir, cache) = fresh_cache();
    let cache_file = cache.path().unwrap().to_owned();
    fs::write(&cache_file, b"not a stat cache \x00\xff").unwrap();
    let file = DataFile::open_with(&path, &cache).unwrap();
    assert_eq!(file.version, ContentHash::of(&aged_bytes("corrupt.csv")));
    assert_eq!(counts(&cache), (1, 0));
    if cfg!(unix) {
        // Rewritten: the next open is a hit.
        assert!(fs::read(&cache_file).unwrap().starts_with(b"mlflow-pipelines stat cache"));
        DataFile::open_with(&path, &cache).unwrap();
        assert_eq!(counts(&cache), (1, 1));
        // Cut short (a crash while writing on a file system that reorders writes): ignored.
        let bytes = fs::read(&cache_file).unwrap();
        fs::write(&cache_file, &bytes[..bytes.len() / 2]).unwrap();
        assert_eq!(DataFile::open_with(&path, &cache).unwrap(), file);
        assert_eq!(counts(&cache), (2, 1));
    }
    // A cache that cannot be written (its path is a folder) is no error either.
    let (dir, _) = fresh_cache();
    let blocked = StatCache::at(dir.path());
    assert_eq!(DataFile::open_with(&path, &blocked).unwrap(), file);
    assert_eq!(DataFile::open_with(&path, &blocked).unwrap(), file);
    assert_eq!(counts(&blocked), (2, 0));
}

#[test]
fn a_disabled_cache_hashes_every_time() {
    let path = aged("disabled.csv");
    let cache = StatCache::disabled();
    assert!(cache.path().is_none());
    for _ in 0..2 {
        let file = DataFile::open_with(&path, &cache).unwrap();
        assert_eq!(file.version, ContentHash::of(&aged_bytes("disabled.csv")));
    }
    assert_eq!(counts(&cache), (2, 0));
}

#[test]
fn errors_are_those_of_opening_the_file() {
    let (dir, cache) = fresh_cache();
    let err = DataFile::open_with(dir.path().join("nope.csv"), &cache).unwrap_err();
    assert!(matches!(err, mlflow::data::DataError::NotFound { .. }), "{err}");
    let err = DataFile::open_with(dir.path(), &cache).unwrap_err();
    assert!(matches!(err, mlflow::data::DataError::Io { .. }), "{err}");
    assert!(err.to_string().contains("cannot read data file"), "{err}");
    assert_eq!(counts(&cache), (0, 0));
    assert!(!cache.path().unwrap().exists(), "nothing remembered");
}

#[test]
#[cfg(unix)]
fn concurrent_writers_never_leave_a_damaged_cache() {
    let (dir, cache) = fresh_cache();
    let files: Vec<PathBuf> = (0..8)
        .map(|i| {
            let path = dir.path().join(format!("{i}.csv"));
            fs::write(&path, format!("x\n{i}\n")).unwrap();
            path
        })
        .collect();
    std::thread::scope(|s| {
        for (i, path) in files.iter().enumerate() {
            let cache = &cache;
            s.spawn(move || {
                for _ in 0..20 {
                    let file = DataFile::open_with(path, cache).unwrap();
                    assert_eq!(file.version, ContentHash::of(format!("x\n{i}\n").as_bytes()));
                }
            });
        }
    });
    assert_eq!(cache.hashed() + cache.hits(), 160);
    // The cache file is whole, and no temporary file is left.
    assert!(fs::read(cache.path().unwrap()).unwrap().starts_with(b"mlflow-pipelines stat cache"));
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
