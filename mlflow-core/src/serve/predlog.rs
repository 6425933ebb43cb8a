//! TEMPORARY STUB (replaced by the helper's module).
use std::path::{Path, PathBuf};
use serde::{Deserialize, Serialize};
use super::ServeError;
use crate::store::Store;
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role { Champion, Challenger, Shadow }
impl Role { pub fn as_str(self) -> &'static str { match self { Role::Champion => "champion", Role::Challenger => "challenger", Role::Shadow => "shadow" } } }
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictionRecord { pub request_id: String, pub row: u32, pub time_ms: i64, pub model: String, pub version: u32, pub role: Role, pub inputs: Vec<f64>, pub label: u8, pub probability: f64, pub latency_us: u64 }
#[derive(Debug, Clone, Default)]
pub struct LogOptions {}
pub struct PredictionLog { dir: PathBuf, file: std::sync::Mutex<std::fs::File> }
pub struct LogContents { pub records: Vec<PredictionRecord>, pub torn: usize, pub segments: usize }
impl PredictionLog {
    pub fn open(dir: impl AsRef<Path>, _o: LogOptions) -> Result<PredictionLog, ServeError> {
        std::fs::create_dir_all(dir.as_ref()).unwrap();
        let f = std::fs::OpenOptions::new().create(true).append(true).open(dir.as_ref().join("predictions-000001.jsonl")).unwrap();
        Ok(PredictionLog { dir: dir.as_ref().to_owned(), file: std::sync::Mutex::new(f) })
    }
    pub fn dir_in(store: &Store, model: &str) -> PathBuf { store.root().join("predictions").join(model) }
    pub fn append(&self, records: &[PredictionRecord]) -> Result<(), ServeError> {
        use std::io::Write;
        let mut buf = Vec::new();
        for r in records { serde_json::to_writer(&mut buf, r).unwrap(); buf.push(b'\n'); }
        self.file.lock().unwrap().write_all(&buf).unwrap(); Ok(())
    }
    pub fn dir(&self) -> &Path { &self.dir }
    pub fn read(dir: impl AsRef<Path>) -> Result<LogContents, ServeError> {
        let text = std::fs::read_to_string(dir.as_ref().join("predictions-000001.jsonl")).unwrap_or_default();
        let records = text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
        Ok(LogContents { records, torn: 0, segments: 1 })
    }
}
impl LogOptions { pub fn max_segment_bytes(self, _b: u64) -> Self { self } pub fn max_segments(self, _n: usize) -> Self { self } }
