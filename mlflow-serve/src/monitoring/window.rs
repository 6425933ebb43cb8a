//! Windows over a prediction log: which records, grouped how, read in one streaming pass.

use std::collections::BTreeMap;
use std::path::Path;

use super::MonitorError;
use super::stats::WindowStats;
use crate::{LogEntry, LogReader, PredictionLog, PredictionRecord, RequestFailure, Role};

/// How a model's records are cut into windows. Each (version, role) is windowed on its own.
///
/// - [`WindowSpec::All`]: one window of every matching record.
/// - [`WindowSpec::Count`]: consecutive windows of `n` records, counted from the oldest; the
///   newest window may hold fewer (it is marked [`WindowBounds::complete`] `false`).
/// - [`WindowSpec::Time`]: consecutive windows of a duration in milliseconds, aligned to the
///   Unix epoch (a `1h` window starts on the hour, UTC), by the records' request time.
/// - [`WindowSpec::Last`]: one window of the newest `n` records (fewer if the log has fewer:
///   then it is not [`WindowBounds::complete`]).
///
/// ```
/// use mlflow_serve::monitoring::WindowSpec;
/// assert_eq!("1000".parse::<WindowSpec>()?, WindowSpec::Count(1000));
/// assert_eq!("1h".parse::<WindowSpec>()?, WindowSpec::Time(3_600_000));
/// assert_eq!("90s".parse::<WindowSpec>()?, WindowSpec::Time(90_000));
/// assert_eq!("all".parse::<WindowSpec>()?, WindowSpec::All);
/// assert_eq!("last:5000".parse::<WindowSpec>()?, WindowSpec::Last(5000));
/// assert!("1 fortnight".parse::<WindowSpec>().is_err());
/// # Ok::<(), mlflow_serve::monitoring::MonitorError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum WindowSpec {
    /// Every matching record in one window.
    All,
    /// Windows of this many records (at least 1).
    Count(u64),
    /// Windows of this many milliseconds (at least 1), aligned to the epoch.
    Time(i64),
    /// The newest this many records (at least 1).
    Last(u64),
}

impl std::str::FromStr for WindowSpec {
    type Err = MonitorError;

    /// `all`, a count (`1000`), the newest records (`last:1000`), or a duration: a whole number
    /// with `ms`, `s`, `m`, `h` or `d`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let bad = || MonitorError::BadWindow {
            text: text.to_owned(),
            hint: "give a count of predictions (`1000`), the newest predictions (`last:1000`), a duration (`500ms`, `30s`, `15m`, `1h`, `1d`) or `all`",
        };
        if text.eq_ignore_ascii_case("all") {
            return Ok(WindowSpec::All);
        }
        if let Some(n) = text.strip_prefix("last:") {
            return match n.trim().parse::<u64>() {
                Ok(n) if n > 0 => Ok(WindowSpec::Last(n)),
                _ => Err(bad()),
            };
        }
        let digits = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
        let (number, unit) = text.split_at(digits);
        let n: u64 = number.parse().map_err(|_| bad())?;
        if n == 0 {
            return Err(bad());
        }
        let ms: u64 = match unit.trim() {
            "" => return Ok(WindowSpec::Count(n)),
            "ms" => 1,
            "s" => 1_000,
            "m" | "min" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(bad()),
        };
        let ms = n.checked_mul(ms).and_then(|v| i64::try_from(v).ok()).ok_or_else(bad)?;
        Ok(WindowSpec::Time(ms))
    }
}

/// Which records to monitor: the model's (a log holds one model's records, but a record names
/// its model), one version or all, one role or all.
///
/// ```
/// use mlflow_serve::Role;
/// use mlflow_serve::monitoring::RecordFilter;
/// let filter = RecordFilter { version: Some(3), role: Some(Role::Champion), ..RecordFilter::default() };
/// assert!(filter.version == Some(3));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RecordFilter {
    /// Only records of this model name (`None`: whatever the log holds).
    pub model: Option<String>,
    /// Only this version (`None`: every version present, each in its own windows).
    pub version: Option<u32>,
    /// Only this role (`None`: every role, each in its own windows).
    pub role: Option<Role>,
}

impl RecordFilter {
    /// Whether `record` is one to monitor.
    ///
    /// ```
    /// # use mlflow_serve::{PredictionRecord, Role};
    /// # use mlflow_serve::monitoring::RecordFilter;
    /// # let r = PredictionRecord { request_id: "r".into(), row: 0, time_ms: 0, model: "m".into(), version: 2,
    /// #     role: Role::Shadow, inputs: vec![], label: 0, probability: 0.5, latency_us: 1 };
    /// assert!(RecordFilter::default().accepts(&r));
    /// assert!(!RecordFilter { role: Some(Role::Champion), ..Default::default() }.accepts(&r));
    /// ```
    pub fn accepts(&self, record: &PredictionRecord) -> bool {
        self.model.as_deref().is_none_or(|m| record.model == m)
            && self.version.is_none_or(|v| record.version == v)
            && self.role.is_none_or(|r| record.role == r)
    }

    /// Whether `failure` is one to count: failures are counted against the champion.
    ///
    /// ```
    /// # use mlflow_serve::{RequestFailure, Role};
    /// # use mlflow_serve::monitoring::RecordFilter;
    /// # let f = RequestFailure { request_id: "r".into(), time_ms: 0, model: "m".into(), version: 2,
    /// #     status: 400, code: "feature_count".into(), latency_us: 1 };
    /// assert!(RecordFilter::default().accepts_failure(&f));
    /// assert!(!RecordFilter { role: Some(Role::Shadow), ..Default::default() }.accepts_failure(&f));
    /// ```
    pub fn accepts_failure(&self, failure: &RequestFailure) -> bool {
        self.model.as_deref().is_none_or(|m| failure.model == m)
            && self.version.is_none_or(|v| failure.version == v)
            && self.role.is_none_or(|r| r == Role::Champion)
    }
}

/// Where a window sits in its (version, role) stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WindowBounds {
    /// The window's index: `k` for the `k`-th window of `n` records (from 0), or
    /// `start / duration` for a time window; 0 for [`WindowSpec::All`].
    pub index: i64,
    /// A time window's start (ms since the epoch, inclusive), else its oldest record's time.
    pub start_ms: i64,
    /// A time window's end (exclusive), else its newest record's time.
    pub end_ms: i64,
    /// Whether the window is whole: a count window with all its records, a time window that
    /// ended before the newest record of the log; always `true` for [`WindowSpec::All`].
    pub complete: bool,
}

/// What a pass over a log found, besides the windows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ScanSummary {
    /// Records read (all of them, before the filter).
    pub records: u64,
    /// Records the filter kept.
    pub matched: u64,
    /// Kept records whose time window was older than the `last` windows kept (arrived late).
    pub late: u64,
    /// Frames skipped as not whole records (a torn write).
    pub torn: usize,
    /// Segment files read.
    pub segments: usize,
    /// Failed requests the filter kept (each counted in its window's errors).
    #[serde(default)]
    pub failures: u64,
    /// Segments of format 1 read: written before failed requests were logged, so their
    /// windows count no errors.
    #[serde(default)]
    pub untagged_segments: usize,
}

/// Reads the log in `dir` once, streaming, and accumulates the records `filter` keeps into
/// windows per (version, role), keeping only the newest `last` windows of each (`None`: all).
/// Memory is that of the windows kept (value counts per column and the latencies), not of the
/// records. The windows come back by version, role, then index.
///
/// [`WindowSpec::Last`] reads segments newest first, each twice (once to count its records per
/// version and role, once to take the newest of them), and stops when a single version and
/// role were asked for and it has its records; `last` does not apply.
///
/// ```
/// use mlflow_serve::{LogOptions, PredictionLog, PredictionRecord, Role};
/// use mlflow_serve::monitoring::{scan_windows, RecordFilter, WindowSpec};
/// let dir = tempfile::tempdir().unwrap();
/// let log = PredictionLog::open(dir.path(), LogOptions::default())?;
/// let records: Vec<PredictionRecord> = (0..25).map(|i| PredictionRecord {
///     request_id: format!("r{i}"), row: 0, time_ms: i * 1000, model: "m".into(), version: 1,
///     role: Role::Champion, inputs: vec![i as f64], label: 0, probability: 0.5, latency_us: 100,
/// }).collect();
/// log.append(&records)?;
/// let (windows, summary) = scan_windows(dir.path(), WindowSpec::Count(10), &RecordFilter::default(), Some(2))?;
/// assert_eq!(summary.matched, 25);
/// assert_eq!(windows.iter().map(|w| w.rows()).collect::<Vec<_>>(), [10, 5]);
/// assert!(!windows[1].bounds().complete);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn scan_windows(
    dir: &Path,
    spec: WindowSpec,
    filter: &RecordFilter,
    last: Option<usize>,
) -> Result<(Vec<WindowStats>, ScanSummary), MonitorError> {
    let files = if dir.is_dir() { PredictionLog::segment_files(dir)? } else { Vec::new() };
    if files.is_empty() {
        return Err(MonitorError::NoLog { dir: dir.to_path_buf() });
    }
    if let WindowSpec::Last(n) = spec {
        return scan_last(files, n, filter);
    }
    let mut windower = Windower::new(spec, last)?;
    let mut reader = LogReader::new(files).monitored();
    for entry in reader.by_ref() {
        match entry? {
            LogEntry::Prediction(record) => {
                windower.summary.records += 1;
                if filter.accepts(&record) {
                    windower.push(&record);
                }
            }
            LogEntry::Failure(failure) if filter.accepts_failure(&failure) => windower.push_failure(&failure),
            _ => {}
        }
    }
    windower.summary.torn = reader.torn();
    windower.summary.segments = reader.segments();
    windower.summary.untagged_segments = reader.untagged_segments();
    Ok(windower.finish())
}

/// Groups records into windows as they come (see [`scan_windows`]); for records already in
/// memory, or read from elsewhere.
///
/// ```
/// use mlflow_serve::{PredictionRecord, Role};
/// use mlflow_serve::monitoring::{Windower, WindowSpec};
/// let mut w = Windower::new(WindowSpec::Time(60_000), None)?;
/// for (t, role) in [(0, Role::Champion), (59_999, Role::Champion), (60_000, Role::Champion), (1, Role::Shadow)] {
///     w.push(&PredictionRecord { request_id: "r".into(), row: 0, time_ms: t, model: "m".into(), version: 1,
///         role, inputs: vec![1.0], label: 0, probability: 0.5, latency_us: 9 });
/// }
/// let (windows, _) = w.finish();
/// let shape: Vec<(Role, i64, u64)> = windows.iter().map(|w| (w.role(), w.bounds().index, w.rows())).collect();
/// assert_eq!(shape, [(Role::Champion, 0, 2), (Role::Champion, 1, 1), (Role::Shadow, 0, 1)]);
/// # Ok::<(), mlflow_serve::monitoring::MonitorError>(())
/// ```
#[derive(Debug)]
pub struct Windower {
    spec: WindowSpec,
    last: Option<usize>,
    groups: BTreeMap<(u32, RoleKey), Group>,
    newest_ms: i64,
    summary: ScanSummary,
}

/// Roles in a stable order for the report (champion, challenger, shadow).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct RoleKey(u8);

impl RoleKey {
    fn of(role: Role) -> RoleKey {
        RoleKey(match role {
            Role::Champion => 0,
            Role::Challenger => 1,
            Role::Shadow => 2,
        })
    }
}

#[derive(Debug, Default)]
struct Group {
    seen: u64,
    /// Windows with an index below this were dropped (only the newest `last` are kept).
    floor: Option<i64>,
    windows: BTreeMap<i64, WindowStats>,
}

impl Group {
    /// Drops the oldest window when more than `last` are kept; older records are then late.
    fn keep_newest(&mut self, last: Option<usize>) {
        if let Some(last) = last
            && self.windows.len() > last
            && let Some((dropped, _)) = self.windows.pop_first()
        {
            self.floor = Some(dropped + 1);
        }
    }
}

impl Windower {
    /// A windower keeping the newest `last` windows of each (version, role) (`None`: all). A
    /// count or duration of 0, or `last` of 0, is refused.
    pub fn new(spec: WindowSpec, last: Option<usize>) -> Result<Windower, MonitorError> {
        let bad =
            |text: String| MonitorError::BadWindow { text, hint: "windows hold at least 1 record or 1 ms" };
        match spec {
            WindowSpec::Count(0) => return Err(bad("0".into())),
            WindowSpec::Time(ms) if ms <= 0 => return Err(bad(format!("{ms}ms"))),
            WindowSpec::Last(_) => {
                return Err(MonitorError::BadWindow {
                    text: "last:N".into(),
                    hint: "the newest records need the whole log: use scan_windows",
                });
            }
            _ => {}
        }
        if last == Some(0) {
            return Err(MonitorError::BadWindow {
                text: "--last 0".into(),
                hint: "keep at least the newest window (omit it for all windows)",
            });
        }
        Ok(Windower {
            spec,
            last,
            groups: BTreeMap::new(),
            newest_ms: i64::MIN,
            summary: ScanSummary::default(),
        })
    }

    /// Adds one record (the caller filters).
    pub fn push(&mut self, record: &PredictionRecord) {
        self.summary.matched += 1;
        self.newest_ms = self.newest_ms.max(record.time_ms);
        let group = self.groups.entry((record.version, RoleKey::of(record.role))).or_default();
        let index = match self.spec {
            WindowSpec::All | WindowSpec::Last(_) => 0,
            WindowSpec::Count(n) => (group.seen / n) as i64,
            WindowSpec::Time(ms) => record.time_ms.div_euclid(ms),
        };
        group.seen += 1;
        if group.floor.is_some_and(|floor| index < floor) {
            self.summary.late += 1;
            return;
        }
        let spec = self.spec;
        group.windows.entry(index).or_insert_with(|| WindowStats::new(record, spec, index)).add(record);
        group.keep_newest(self.last);
    }

    /// Counts one failed request (the caller filters) in the window of its champion version
    /// it falls in: by its time for time windows, else the window of that version's newest
    /// record so far.
    pub fn push_failure(&mut self, failure: &RequestFailure) {
        self.summary.failures += 1;
        self.newest_ms = self.newest_ms.max(failure.time_ms);
        let group = self.groups.entry((failure.version, RoleKey::of(Role::Champion))).or_default();
        let index = match self.spec {
            WindowSpec::All | WindowSpec::Last(_) => 0,
            WindowSpec::Count(n) => (group.seen.saturating_sub(1) / n) as i64,
            WindowSpec::Time(ms) => failure.time_ms.div_euclid(ms),
        };
        if group.floor.is_some_and(|floor| index < floor) {
            self.summary.late += 1;
            return;
        }
        let spec = self.spec;
        group
            .windows
            .entry(index)
            .or_insert_with(|| WindowStats::opened_by(failure, spec, index))
            .add_failure(failure);
        group.keep_newest(self.last);
    }

    /// The windows (by version, role, then index) and the pass's counts.
    pub fn finish(self) -> (Vec<WindowStats>, ScanSummary) {
        let newest = self.newest_ms;
        let spec = self.spec;
        let windows = self
            .groups
            .into_values()
            .flat_map(|g| g.windows.into_values())
            .map(|mut w| {
                w.close(spec, newest);
                w
            })
            .collect();
        (windows, self.summary)
    }
}

/// [`WindowSpec::Last`]: the newest `n` matching records of each (version, role).
fn scan_last(
    files: Vec<std::path::PathBuf>,
    n: u64,
    filter: &RecordFilter,
) -> Result<(Vec<WindowStats>, ScanSummary), MonitorError> {
    if n == 0 {
        return Err(MonitorError::BadWindow {
            text: "last:0".into(),
            hint: "take at least the newest record",
        });
    }
    let spec = WindowSpec::Last(n);
    let single = filter.version.is_some() && filter.role.is_some();
    let mut summary = ScanSummary::default();
    let mut windows: BTreeMap<(u32, RoleKey), WindowStats> = BTreeMap::new();
    let mut newest_ms = i64::MIN;
    // The failed requests of the segments read: each counts in its champion's window when it
    // is no older than the window's oldest record.
    let mut failures: Vec<RequestFailure> = Vec::new();
    for file in files.into_iter().rev() {
        let full = |windows: &BTreeMap<(u32, RoleKey), WindowStats>| {
            single && windows.values().next().is_some_and(|w| w.rows() >= n)
        };
        if full(&windows) {
            break;
        }
        // How many records of each group this segment holds.
        let mut in_segment: BTreeMap<(u32, RoleKey), u64> = BTreeMap::new();
        let mut reader = LogReader::new([file.clone()]).monitored();
        let mut records = 0;
        for entry in reader.by_ref() {
            match entry? {
                LogEntry::Prediction(record) => {
                    records += 1;
                    if filter.accepts(&record) {
                        summary.matched += 1;
                        *in_segment.entry((record.version, RoleKey::of(record.role))).or_insert(0) += 1;
                    }
                }
                LogEntry::Failure(failure) if filter.accepts_failure(&failure) => failures.push(failure),
                _ => {}
            }
        }
        summary.records += records as u64;
        summary.torn += reader.torn();
        summary.segments += reader.segments();
        summary.untagged_segments += reader.untagged_segments();
        // Skip each group's older records beyond what it still needs.
        let mut skip: BTreeMap<(u32, RoleKey), u64> = in_segment
            .iter()
            .map(|(key, &count)| {
                let have = windows.get(key).map_or(0, WindowStats::rows);
                (*key, count.saturating_sub(n.saturating_sub(have)))
            })
            .collect();
        if skip.iter().all(|(key, s)| *s == in_segment[key]) {
            continue;
        }
        // The records the first pass counted (the newest segment may have grown since).
        for record in LogReader::new([file]).take(records) {
            let record = record?;
            if !filter.accepts(&record) {
                continue;
            }
            let key = (record.version, RoleKey::of(record.role));
            if let Some(s) = skip.get_mut(&key)
                && *s > 0
            {
                *s -= 1;
                continue;
            }
            newest_ms = newest_ms.max(record.time_ms);
            windows.entry(key).or_insert_with(|| WindowStats::new(&record, spec, 0)).add(&record);
        }
    }
    for failure in &failures {
        if let Some(w) = windows.get_mut(&(failure.version, RoleKey::of(Role::Champion)))
            && w.rows() > 0
            && failure.time_ms >= w.first_ms()
        {
            summary.failures += 1;
            w.add_failure(failure);
        }
    }
    let windows = windows
        .into_values()
        .map(|mut w| {
            w.close(spec, newest_ms);
            w
        })
        .collect();
    Ok((windows, summary))
}
