//! What a sync is asked to do ([`SyncOptions`]) and what it did ([`SyncReport`]).

use serde::Serialize;

/// Where to mirror to and how.
///
/// ```
/// let options = mlflow_bridge::SyncOptions::new("http://127.0.0.1:5000")
///     .experiment_prefix("pipelines/")
///     .store_label("/data/team-store")
///     .dry_run(true);
/// assert_eq!(options.experiment("titanic"), "pipelines/titanic");
/// assert_eq!(
///     options.artifact_uri("ab12"),
///     "mlflow-pipelines:///data/team-store/artifacts/ab12"
/// );
/// ```
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// The tracking server's base URL (`http://host:5000`).
    pub url: String,
    /// Put before each pipeline name to name its MLflow experiment.
    pub experiment_prefix: String,
    /// Only read MLflow and report what a sync would write.
    pub dry_run: bool,
    /// Names the store in artifact URIs (`mlflow-pipelines://<label>/artifacts/<hash>`): its
    /// folder by default.
    pub store_label: Option<String>,
}

impl SyncOptions {
    /// Mirror to the server at `url`, experiments named after the pipelines.
    pub fn new(url: impl Into<String>) -> Self {
        SyncOptions { url: url.into(), experiment_prefix: String::new(), dry_run: false, store_label: None }
    }

    /// Name each experiment `<prefix><pipeline>`.
    pub fn experiment_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.experiment_prefix = prefix.into();
        self
    }

    /// Write nothing; report what would be written.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Name the store this way in artifact URIs.
    pub fn store_label(mut self, label: impl Into<String>) -> Self {
        self.store_label = Some(label.into());
        self
    }

    /// The MLflow experiment of a pipeline's runs.
    pub fn experiment(&self, pipeline: &str) -> String {
        format!("{}{pipeline}", self.experiment_prefix)
    }

    /// The URI naming one of our artifacts by content hash (hex).
    pub fn artifact_uri(&self, hash_hex: &str) -> String {
        format!("mlflow-pipelines://{}/artifacts/{hash_hex}", self.store_label.as_deref().unwrap_or(""))
    }
}

/// Counts of one kind of thing a sync mirrors.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Created in MLflow by this sync (in a dry run: would be).
    pub created: usize,
    /// Found partly mirrored by an interrupted sync and completed (runs only).
    pub completed: usize,
    /// Already in MLflow as they are.
    pub existing: usize,
    /// Removed from MLflow (aliases we no longer hold on a mirrored version).
    pub removed: usize,
    /// Not mirrored: see [`SyncReport::skipped`].
    pub skipped: usize,
}

/// Something not mirrored at all, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// `run ID`, `model NAME`, `model NAME version N` or `alias NAME@ALIAS`.
    pub item: String,
    /// Why.
    pub reason: String,
    /// Whether the next sync will take it without anything changing (a run still running).
    pub pending: bool,
}

/// A part of a mirrored item that MLflow cannot hold, left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unmapped {
    /// `run ID` or `model NAME version N`.
    pub item: String,
    /// `param NAME`, `metric KEY`, `tag KEY`.
    pub what: String,
    /// Why MLflow cannot hold it.
    pub reason: String,
}

/// What a sync did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncReport {
    /// The server.
    pub url: String,
    /// Whether nothing was written.
    pub dry_run: bool,
    /// Runs.
    pub runs: Counts,
    /// Registered model versions.
    pub versions: Counts,
    /// Aliases (current holders).
    pub aliases: Counts,
    /// What was not mirrored at all.
    pub skipped: Vec<Skipped>,
    /// Parts of mirrored runs and versions left out.
    pub unmapped: Vec<Unmapped>,
}

impl SyncReport {
    /// Items skipped for a reason other than being still under way (the command line fails when
    /// there are any).
    pub fn failures(&self) -> usize {
        self.skipped.iter().filter(|s| !s.pending).count()
    }

    /// The summary the command line prints: counts, then every skipped and unmapped item.
    ///
    /// ```
    /// let mut report = mlflow_bridge::SyncReport::default();
    /// report.runs.created = 2;
    /// assert!(report.summary().starts_with("runs: 2 created"));
    /// ```
    pub fn summary(&self) -> String {
        let (created, removed) =
            if self.dry_run { ("to create", "to remove") } else { ("created", "removed") };
        let completed = if self.dry_run { "to complete" } else { "completed" };
        let mut out = format!(
            "runs: {} {created}, {} {completed}, {} already there, {} skipped\n\
             model versions: {} {created}, {} already there, {} skipped\n\
             aliases: {} set, {} already there, {} {removed}, {} skipped\n",
            self.runs.created,
            self.runs.completed,
            self.runs.existing,
            self.runs.skipped,
            self.versions.created,
            self.versions.existing,
            self.versions.skipped,
            self.aliases.created,
            self.aliases.existing,
            self.aliases.removed,
            self.aliases.skipped,
        );
        if self.dry_run {
            out.insert_str(0, &format!("dry run: nothing written to {}\n", self.url));
        }
        for s in &self.skipped {
            out.push_str(&format!("skipped {}: {}\n", s.item, s.reason));
        }
        if !self.unmapped.is_empty() {
            out.push_str(&format!("not mapped ({}):\n", self.unmapped.len()));
            for u in &self.unmapped {
                out.push_str(&format!("  {} {}: {}\n", u.item, u.what, u.reason));
            }
        }
        out
    }
}
