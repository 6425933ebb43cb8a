//! Mirrors an mlflow-pipelines store into an MLflow tracking server, for teams that already run
//! MLflow and its UI.
//!
//! [`sync`] walks the store's runs and registry and writes, through MLflow's REST API 2.0:
//!
//! - each finished run as an MLflow run in the experiment `<prefix><pipeline>`: its params (string
//!   values without their JSON quotes), its metrics as `<step>.<key>` with every point of a series
//!   at its index, its tags as `<step>.<key>`, its status and start and end times, and the tags
//!   `mlflow-pipelines.run_id`, `mlflow-pipelines.pipeline`, `mlflow-pipelines.status`,
//!   `mlflow-pipelines.output.<step>` (the content hash of each step's output),
//!   `mlflow-pipelines.data.<step>` (the data versions the step read) and
//!   `mlflow.source.git.commit`;
//! - each registered model version as an MLflow model version of the model of the same name, whose
//!   source names our artifact by hash (`mlflow-pipelines://<store>/artifacts/<hash>`), whose run
//!   is the mirrored run, and whose tags carry our version number, run, step and metrics;
//! - each alias as the MLflow alias of the same name on the mirrored version (aliases MLflow holds
//!   on a mirrored version that we no longer hold are removed).
//!
//! It is idempotent: runs are found again by their `mlflow-pipelines.run_id` tag, versions by
//! their `mlflow-pipelines.version` tag, so a second sync adds nothing. It is resumable: a run is
//! created with that tag first and finished last, so a run an interrupted sync left `RUNNING` is
//! completed by the next one (metric points already there are not logged twice). And it is
//! explicit: whatever MLflow cannot hold is listed in [`SyncReport::unmapped`] and left out.
//!
//! ```no_run
//! use mlflow_bridge::{SyncOptions, sync};
//! use mlflow_core::store::Store;
//!
//! let store = Store::open(".mlflow")?;
//! let report = sync(&store, &SyncOptions::new("http://127.0.0.1:5000").experiment_prefix("team-a/"))?;
//! println!("{}", report.summary());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod mapping;
pub mod names;
mod report;
mod rest;

pub use report::{Counts, Skipped, SyncOptions, SyncReport, Unmapped};

use mapping::{MappedRun, batches, map_run, mlflow_status};

use std::collections::{BTreeMap, HashMap, HashSet};

use mlflow_core::registry::Registry;
use mlflow_core::store::Store;
use mlflow_core::track::RunRecord;
use mlflow_core::track::query::RunFilter;
use serde_json::{Value, json};

use names::{alias_problem, key_problem};
use rest::{ApiError, Client};

/// The MLflow tag naming the mirrored run's id in our store.
pub const RUN_ID_TAG: &str = "mlflow-pipelines.run_id";
/// The MLflow model version tag naming our version number.
pub const VERSION_TAG: &str = "mlflow-pipelines.version";

/// What went wrong for the sync as a whole (one run or model that MLflow refuses is not an
/// error: it is reported in [`SyncReport::skipped`]).
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    /// The tracking server URL is not one the bridge can use.
    #[error("cannot use `{url}`: {reason}")]
    Url {
        /// The URL given.
        url: String,
        /// Why.
        reason: String,
    },
    /// The server did not answer (refused, unreachable, timed out, not HTTP).
    #[error(
        "no answer from the MLflow server at {url} ({endpoint}): {reason}; a sync run again continues where this one stopped"
    )]
    Transport {
        /// The server's base URL.
        url: String,
        /// The REST endpoint asked.
        endpoint: String,
        /// The client's error.
        reason: String,
    },
    /// Reading our store failed.
    #[error("reading the store: {0}")]
    Store(String),
}

/// A failure of one item: the server refused it (the sync goes on) or did not answer (it stops).
enum Failure {
    Refused(ApiError),
    Stop(BridgeError),
}

impl From<BridgeError> for Failure {
    fn from(e: BridgeError) -> Self {
        Failure::Stop(e)
    }
}

type ItemResult<T> = Result<T, Failure>;

/// The JSON of a successful answer, or the refusal as a [`Failure`].
fn ok(answer: rest::Answer) -> ItemResult<Value> {
    answer?.map_err(Failure::Refused)
}

/// An MLflow run found by its tag.
struct Found {
    run_id: String,
    finished: bool,
}

struct Bridge<'a> {
    client: Client,
    options: &'a SyncOptions,
    report: SyncReport,
    /// Experiment ids by name (`None`: not in MLflow, in a dry run).
    experiments: HashMap<String, Option<String>>,
    /// Our run id -> the MLflow run, per experiment already searched.
    found: HashMap<String, Found>,
    /// Our run id -> the MLflow run id, for model versions.
    mirrored: HashMap<String, String>,
}

/// Mirrors `store` into the MLflow tracking server of `options`; see the [crate docs](crate).
///
/// Runs still running are left for the next sync; a run, model, version or alias the server
/// refuses is reported in [`SyncReport::skipped`] and the sync goes on; a server that stops
/// answering ends the sync with [`BridgeError::Transport`] (run it again to continue).
pub fn sync(store: &Store, options: &SyncOptions) -> Result<SyncReport, BridgeError> {
    let mut bridge = Bridge::new(options)?;
    let mut runs = store.runs(&RunFilter::new()).map_err(|e| store_error(&e))?;
    // Oldest first: MLflow lists them in the order they happened.
    runs.reverse();
    for summary in runs {
        bridge.mirror(store, &summary.id, &summary.status)?;
    }
    let registry = Registry::new(store).map_err(|e| store_error(&e))?;
    for model in registry.models().map_err(|e| store_error(&e))? {
        let versions = registry.versions(&model.name).map_err(|e| store_error(&e))?;
        match bridge.model(&model.name, versions, &model.aliases) {
            Ok(()) => {}
            Err(Failure::Refused(e)) => {
                bridge.skip(&format!("model {}", model.name), format!("MLflow refused it: {e}"), false)
            }
            Err(Failure::Stop(e)) => return Err(e),
        }
    }
    Ok(bridge.report)
}

/// Mirrors one run (not the registry: its versions are registered after it), as [`sync`] does.
/// [`MirrorObserver`] calls it as each run finishes.
pub fn sync_run(store: &Store, options: &SyncOptions, run_id: &str) -> Result<SyncReport, BridgeError> {
    let mut bridge = Bridge::new(options)?;
    let status = store.run(run_id).map_err(|e| store_error(&e))?.map(|r| r.status);
    match status {
        Some(status) => bridge.mirror(store, run_id, &status)?,
        None => bridge.skip(&format!("run {run_id}"), "not in this store".into(), false),
    }
    Ok(bridge.report)
}

fn store_error(e: &dyn std::fmt::Display) -> BridgeError {
    BridgeError::Store(e.to_string())
}

/// An observer of pipeline runs that mirrors each run into MLflow as it finishes (the registry
/// follows with the next [`sync`]). A failure does not fail the run: it is logged as a warning
/// and kept in [`MirrorObserver::reports`]; the next sync mirrors what was missed.
///
/// ```no_run
/// use std::sync::Arc;
/// use mlflow_bridge::{MirrorObserver, SyncOptions};
/// use mlflow_core::exec::{Event, Observer, RunOptions};
/// use mlflow_core::store::Store;
///
/// let store = Arc::new(Store::open(".mlflow")?);
/// let observer = Arc::new(MirrorObserver::new(Arc::clone(&store), SyncOptions::new("http://127.0.0.1:5000")));
/// let mirror = Arc::clone(&observer);
/// let options = RunOptions::new().observe(move |e: &Event<'_>| mirror.on_event(e));
/// // pipeline.run_with(&store, options)?;
/// # let _ = options;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct MirrorObserver {
    store: std::sync::Arc<Store>,
    options: SyncOptions,
    reports: std::sync::Mutex<Vec<Result<SyncReport, String>>>,
}

impl MirrorObserver {
    /// Mirrors the runs of `store` with `options`.
    pub fn new(store: std::sync::Arc<Store>, options: SyncOptions) -> Self {
        MirrorObserver { store, options, reports: std::sync::Mutex::new(Vec::new()) }
    }

    /// What each finished run's mirroring did, in order (an error as its message).
    pub fn reports(&self) -> Vec<Result<SyncReport, String>> {
        self.reports.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl mlflow_core::exec::Observer for MirrorObserver {
    fn on_event(&self, event: &mlflow_core::exec::Event<'_>) {
        let mlflow_core::exec::Event::RunFinished { run_id, .. } = event else { return };
        let outcome = sync_run(&self.store, &self.options, run_id).map_err(|e| e.to_string());
        match &outcome {
            Err(e) => tracing::warn!(target: "mlflow", run_id, "mirroring to MLflow failed: {e}"),
            Ok(report) if report.failures() > 0 || !report.unmapped.is_empty() => {
                tracing::warn!(target: "mlflow", run_id, "mirroring to MLflow: {}", report.summary())
            }
            Ok(_) => {}
        }
        self.reports.lock().unwrap_or_else(|e| e.into_inner()).push(outcome);
    }
}

impl<'a> Bridge<'a> {
    fn new(options: &'a SyncOptions) -> Result<Bridge<'a>, BridgeError> {
        Ok(Bridge {
            client: Client::new(&options.url)?,
            options,
            report: SyncReport {
                url: options.url.clone(),
                dry_run: options.dry_run,
                ..SyncReport::default()
            },
            experiments: HashMap::new(),
            found: HashMap::new(),
            mirrored: HashMap::new(),
        })
    }

    /// Mirrors one run of the store unless it is still running; a refusal is reported.
    fn mirror(&mut self, store: &Store, id: &str, status: &str) -> Result<(), BridgeError> {
        let item = format!("run {id}");
        if status == "running" {
            self.skip(&item, "still running: the next sync mirrors it".into(), true);
            return Ok(());
        }
        let Some(run) = store.run(id).map_err(|e| store_error(&e))? else { return Ok(()) };
        match self.run(&run) {
            Ok(()) => Ok(()),
            Err(Failure::Refused(e)) => {
                self.skip(&item, format!("MLflow refused it: {e}"), false);
                Ok(())
            }
            Err(Failure::Stop(e)) => Err(e),
        }
    }
}

impl Bridge<'_> {
    fn skip(&mut self, item: &str, reason: String, pending: bool) {
        let counts = if item.starts_with("run ") {
            &mut self.report.runs
        } else if item.starts_with("alias ") {
            &mut self.report.aliases
        } else {
            &mut self.report.versions
        };
        counts.skipped += 1;
        self.report.skipped.push(Skipped { item: item.to_owned(), reason, pending });
    }

    /// The experiment's id, creating it (unless a dry run); its mirrored runs are read on first use.
    fn experiment(&mut self, name: &str) -> ItemResult<Option<String>> {
        if let Some(id) = self.experiments.get(name) {
            return Ok(id.clone());
        }
        let id = match self.client.get("experiments/get-by-name", &[("experiment_name", name)])? {
            Ok(answer) => {
                let experiment = &answer["experiment"];
                if experiment["lifecycle_stage"].as_str() == Some("deleted") {
                    return Err(Failure::Refused(ApiError {
                        status: 400,
                        code: "EXPERIMENT_DELETED".into(),
                        message: format!(
                            "the experiment `{name}` is deleted in MLflow: restore it, or choose another --experiment-prefix"
                        ),
                    }));
                }
                Some(experiment["experiment_id"].as_str().unwrap_or_default().to_owned())
            }
            Err(e) if e.not_found() => None,
            Err(e) => return Err(Failure::Refused(e)),
        };
        let id = match id {
            Some(id) => {
                self.find_runs(&id)?;
                Some(id)
            }
            None if self.options.dry_run => None,
            None => {
                let created = ok(self.client.post("experiments/create", &json!({ "name": name })))?;
                Some(created["experiment_id"].as_str().unwrap_or_default().to_owned())
            }
        };
        self.experiments.insert(name.to_owned(), id.clone());
        Ok(id)
    }

    /// Reads the experiment's runs that carry our run id tag.
    fn find_runs(&mut self, experiment_id: &str) -> ItemResult<()> {
        let mut page_token = String::new();
        loop {
            let mut body = json!({
                "experiment_ids": [experiment_id],
                "filter": format!("tags.`{RUN_ID_TAG}` LIKE '%'"),
                "run_view_type": "ACTIVE_ONLY",
                "max_results": 1000,
            });
            if !page_token.is_empty() {
                body["page_token"] = json!(page_token);
            }
            let answer = ok(self.client.post("runs/search", &body))?;
            for run in answer["runs"].as_array().into_iter().flatten() {
                let tags = run["data"]["tags"].as_array().into_iter().flatten();
                let Some(ours) = tags
                    .filter(|t| t["key"] == RUN_ID_TAG)
                    .find_map(|t| t["value"].as_str().map(str::to_owned))
                else {
                    continue;
                };
                let info = &run["info"];
                self.found.insert(
                    ours,
                    Found {
                        run_id: info["run_id"].as_str().unwrap_or_default().to_owned(),
                        finished: info["status"].as_str() != Some("RUNNING"),
                    },
                );
            }
            match answer["next_page_token"].as_str() {
                Some(token) if !token.is_empty() => page_token = token.to_owned(),
                _ => return Ok(()),
            }
        }
    }

    fn run(&mut self, run: &RunRecord) -> ItemResult<()> {
        let experiment = self.experiment(&self.options.experiment(&run.pipeline))?;
        let mapped = map_run(run, self.options);
        let found = self.found.get(&run.id).map(|f| (f.run_id.clone(), f.finished));
        match found {
            Some((mlflow_run, true)) => {
                self.report.runs.existing += 1;
                self.mirrored.insert(run.id.clone(), mlflow_run);
                return Ok(());
            }
            Some((mlflow_run, false)) => {
                if !self.options.dry_run {
                    self.complete(&mlflow_run, run, &mapped, true)?;
                }
                self.report.runs.completed += 1;
                self.report.unmapped.extend(mapped.unmapped);
                self.mirrored.insert(run.id.clone(), mlflow_run);
            }
            None => {
                let Some(experiment) = experiment.filter(|_| !self.options.dry_run) else {
                    self.report.runs.created += 1;
                    self.report.unmapped.extend(mapped.unmapped);
                    // A dry run's versions of this run would have it.
                    self.mirrored.insert(run.id.clone(), String::new());
                    return Ok(());
                };
                let created = ok(self.client.post(
                    "runs/create",
                    &json!({
                        "experiment_id": experiment,
                        "run_name": run.id,
                        "start_time": run.started_ms,
                        // Tagged at once: a sync interrupted from here on finds the run again.
                        "tags": [{ "key": RUN_ID_TAG, "value": run.id }],
                    }),
                ))?;
                let mlflow_run = created["run"]["info"]["run_id"].as_str().unwrap_or_default().to_owned();
                self.complete(&mlflow_run, run, &mapped, false)?;
                self.report.runs.created += 1;
                self.report.unmapped.extend(mapped.unmapped);
                self.mirrored.insert(run.id.clone(), mlflow_run);
            }
        }
        Ok(())
    }

    /// Logs the run's data (on a resumed run: what is not there yet), then its status and end.
    fn complete(
        &self,
        mlflow_run: &str,
        run: &RunRecord,
        mapped: &MappedRun,
        resumed: bool,
    ) -> ItemResult<()> {
        let mut params = mapped.params.clone();
        let mut metrics = mapped.metrics.clone();
        if resumed {
            let current = ok(self.client.get("runs/get", &[("run_id", mlflow_run)]))?;
            let data = &current["run"]["data"];
            let logged: HashSet<(String, String)> = data["params"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| Some((p["key"].as_str()?.to_owned(), p["value"].as_str()?.to_owned())))
                .collect();
            params.retain(|p| !logged.contains(p));
            let keys: Vec<String> = data["metrics"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|m| m["key"].as_str().map(str::to_owned))
                .collect();
            let mut points: HashSet<(String, u64, u64)> = HashSet::new();
            for key in keys {
                let mut page_token = String::new();
                loop {
                    let mut query = vec![("run_id", mlflow_run), ("metric_key", key.as_str())];
                    if !page_token.is_empty() {
                        query.push(("page_token", page_token.as_str()));
                    }
                    let history = ok(self.client.get("metrics/get-history", &query))?;
                    for m in history["metrics"].as_array().into_iter().flatten() {
                        if let (Some(step), Some(value)) =
                            (m["step"].as_u64().or(Some(0)), m["value"].as_f64())
                        {
                            points.insert((key.clone(), step, value.to_bits()));
                        }
                    }
                    match history["next_page_token"].as_str() {
                        Some(token) if !token.is_empty() => page_token = token.to_owned(),
                        _ => break,
                    }
                }
            }
            metrics.retain(|m| !points.contains(&(m.key.clone(), m.step, m.value.to_bits())));
        }
        for mut batch in batches(&params, &mapped.tags, &metrics) {
            batch["run_id"] = json!(mlflow_run);
            ok(self.client.post("runs/log-batch", &batch))?;
        }
        let mut update = json!({ "run_id": mlflow_run, "status": mlflow_status(&run.status) });
        if let Some(end) = run.ended_ms {
            update["end_time"] = json!(end);
        }
        ok(self.client.post("runs/update", &update))?;
        Ok(())
    }

    fn model(
        &mut self,
        name: &str,
        versions: Vec<mlflow_core::registry::ModelVersion>,
        aliases: &BTreeMap<String, u32>,
    ) -> ItemResult<()> {
        let (exists, mlflow_aliases) = match self.client.get("registered-models/get", &[("name", name)])? {
            Ok(answer) => {
                let aliases: BTreeMap<String, String> = answer["registered_model"]["aliases"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|a| {
                        Some((a["alias"].as_str()?.to_owned(), a["version"].as_str()?.to_owned()))
                    })
                    .collect();
                (true, aliases)
            }
            Err(e) if e.not_found() => (false, BTreeMap::new()),
            Err(e) => return Err(Failure::Refused(e)),
        };
        // Our version number -> MLflow's.
        let mut numbers: BTreeMap<u32, String> = BTreeMap::new();
        if exists {
            let mut page_token = String::new();
            loop {
                let filter = format!("name='{}'", name.replace('\'', "\\'"));
                let mut query = vec![("filter", filter.as_str()), ("max_results", "1000")];
                if !page_token.is_empty() {
                    query.push(("page_token", page_token.as_str()));
                }
                let answer = ok(self.client.get("model-versions/search", &query))?;
                for v in answer["model_versions"].as_array().into_iter().flatten() {
                    let ours = v["tags"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|t| t["key"] == VERSION_TAG)
                        .find_map(|t| t["value"].as_str()?.parse::<u32>().ok());
                    if let (Some(ours), Some(theirs)) = (ours, v["version"].as_str()) {
                        numbers.insert(ours, theirs.to_owned());
                    }
                }
                match answer["next_page_token"].as_str() {
                    Some(token) if !token.is_empty() => page_token = token.to_owned(),
                    _ => break,
                }
            }
        } else if !self.options.dry_run {
            ok(self.client.post("registered-models/create", &json!({ "name": name })))?;
        }
        let mut versions = versions;
        versions.sort_by_key(|v| v.version);
        for v in &versions {
            let item = format!("model {name} version {}", v.version);
            if numbers.contains_key(&v.version) {
                self.report.versions.existing += 1;
                continue;
            }
            let mut tags = vec![
                (VERSION_TAG.to_owned(), v.version.to_string()),
                (RUN_ID_TAG.to_owned(), v.run_id.clone()),
                ("mlflow-pipelines.pipeline".to_owned(), v.pipeline.clone()),
                ("mlflow-pipelines.step".to_owned(), format!("{} ({})", v.node, v.step)),
                ("mlflow-pipelines.artifact".to_owned(), v.artifact.to_hex()),
            ];
            for (key, value) in &v.metrics {
                let tag = format!("mlflow-pipelines.metric.{key}");
                match key_problem(&tag) {
                    // A tag's value is text: NaN and infinities are written as such.
                    None => tags.push((tag, value.to_string())),
                    Some(problem) => self.report.unmapped.push(Unmapped {
                        item: item.clone(),
                        what: format!("metric {key}"),
                        reason: problem,
                    }),
                }
            }
            for (key, value) in &v.tags {
                match key_problem(key) {
                    None => tags.push((key.clone(), value.clone())),
                    Some(problem) => self.report.unmapped.push(Unmapped {
                        item: item.clone(),
                        what: format!("tag {key}"),
                        reason: problem,
                    }),
                }
            }
            let mut body = json!({
                "name": name,
                "source": self.options.artifact_uri(&v.artifact.to_hex()),
                "description": v.description,
                "tags": tags.iter().map(|(k, v)| json!({ "key": k, "value": v })).collect::<Vec<_>>(),
            });
            match self.mirrored.get(&v.run_id) {
                Some(run) => body["run_id"] = json!(run),
                None => self.report.unmapped.push(Unmapped {
                    item: item.clone(),
                    what: format!("run {}", v.run_id),
                    reason:
                        "its run is not mirrored (removed, running or refused): the version has no MLflow run"
                            .into(),
                }),
            }
            self.report.versions.created += 1;
            if self.options.dry_run {
                continue;
            }
            match ok(self.client.post("model-versions/create", &body)) {
                Ok(created) => {
                    let number = created["model_version"]["version"].as_str().unwrap_or_default().to_owned();
                    numbers.insert(v.version, number);
                }
                Err(Failure::Refused(e)) => {
                    self.report.versions.created -= 1;
                    self.skip(&item, format!("MLflow refused it: {e}"), false);
                }
                Err(stop) => return Err(stop),
            }
        }
        for (alias, ours) in aliases {
            let item = format!("alias {name}@{alias}");
            if let Some(problem) = alias_problem(alias) {
                self.skip(&item, problem, false);
                continue;
            }
            let Some(theirs) = numbers.get(ours) else {
                if self.options.dry_run {
                    self.report.aliases.created += 1;
                } else {
                    self.skip(&item, format!("version {ours} is not mirrored"), false);
                }
                continue;
            };
            if mlflow_aliases.get(alias) == Some(theirs) {
                self.report.aliases.existing += 1;
                continue;
            }
            self.report.aliases.created += 1;
            if !self.options.dry_run {
                let body = json!({ "name": name, "alias": alias, "version": theirs });
                if let Err(e) = ok(self.client.post("registered-models/alias", &body)) {
                    self.report.aliases.created -= 1;
                    match e {
                        Failure::Refused(e) => self.skip(&item, format!("MLflow refused it: {e}"), false),
                        stop => return Err(stop),
                    }
                }
            }
        }
        // An alias MLflow holds on a version we mirrored, which we no longer hold, was removed here.
        let mirrored: HashSet<&String> = numbers.values().collect();
        for (alias, theirs) in &mlflow_aliases {
            if !aliases.contains_key(alias) && mirrored.contains(theirs) {
                self.report.aliases.removed += 1;
                if !self.options.dry_run {
                    ok(self
                        .client
                        .delete("registered-models/alias", &json!({ "name": name, "alias": alias })))?;
                }
            }
        }
        Ok(())
    }
}
