//! Versions: registering them, listing models and versions, resolving references and loading
//! models.

use crate::artifact::Artifact;
use crate::codec::{self, ContentHash};
use crate::store::meta::params;
use crate::store::{Mode, StoreError};

use super::Registry;
use super::error::RegistryError;
use super::reference::{ModelRef, check_key, check_name};
use super::rows::{
    current_aliases, last_move, latest_version, load_versions, require_version, unknown_alias, unknown_model,
};
use super::types::{ModelSummary, ModelVersion, RegisterRequest};

impl Registry<'_> {
    /// Registers the output of a step of a recorded run as a new version of `name` (creating
    /// the model on its first version), and returns it.
    ///
    /// The run, its step (by node name) and the step's output must exist, and the artifact must be
    /// present and sound in the store. Metrics must be finite. The version number is the next one
    /// for `name`, assigned atomically. If this artifact already is a version of `name`, that
    /// version is returned unchanged and nothing is written (see the [module docs](super)).
    ///
    /// See the [module documentation](super) for an example.
    pub fn register(&self, name: &str, request: RegisterRequest) -> Result<ModelVersion, RegistryError> {
        check_name("model name", name)?;
        for (metric, &value) in &request.metrics {
            check_key("metric name", metric)?;
            if !value.is_finite() {
                return Err(RegistryError::InvalidMetric { metric: metric.clone(), value });
            }
        }
        for key in request.tags.keys() {
            check_key("tag key", key)?;
        }
        let run = self
            .store
            .run(&request.run_id)?
            .ok_or_else(|| RegistryError::RunNotFound { run_id: request.run_id.clone() })?;
        let Some(step) = run.steps.iter().find(|s| s.node == request.node) else {
            return Err(RegistryError::StepNotFound {
                run_id: run.id,
                node: request.node,
                steps: run.steps.iter().map(|s| s.node.clone()).collect(),
            });
        };
        let Some(artifact) = step.output else {
            return Err(RegistryError::NoOutput {
                run_id: run.id.clone(),
                node: step.node.clone(),
                status: step.status.clone(),
                error: step.error.clone(),
            });
        };
        // Refuse a missing or corrupt artifact now rather than when the model is loaded.
        let size = self.store.read_artifact(artifact)?.len() as u64;
        let created_ms = (self.clock)();
        self.meta(Mode::Write, |tx| {
            let existing = tx.query_opt(
                "SELECT version FROM registry_versions WHERE name = ?1 AND artifact = ?2",
                params![name, artifact],
            )?;
            let version = match existing {
                Some(row) => row.get(0)?,
                None => {
                    let latest = latest_version(tx, name)?.unwrap_or(0);
                    let version = latest.checked_add(1).ok_or_else(|| StoreError::Schema {
                        detail: format!("model `{name}` has version {latest}, the highest there can be"),
                    })?;
                    tx.execute(
                        "INSERT INTO registry_versions (name, version, artifact, size, run_id, pipeline,
                             node, step, description, created_ms)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                        params![
                            name,
                            version,
                            artifact,
                            size,
                            run.id.as_str(),
                            run.pipeline.as_str(),
                            step.node.as_str(),
                            step.step.as_str(),
                            request.description.as_str(),
                            created_ms
                        ],
                    )?;
                    for (metric, value) in &request.metrics {
                        tx.execute(
                            "INSERT INTO registry_metrics (name, version, metric, value)
                             VALUES (?1, ?2, ?3, ?4)",
                            params![name, version, metric, *value],
                        )?;
                    }
                    for (key, value) in &request.tags {
                        tx.execute(
                            "INSERT INTO registry_tags (name, version, key, value) VALUES (?1, ?2, ?3, ?4)",
                            params![name, version, key, value],
                        )?;
                    }
                    version
                }
            };
            require_version(tx, name, version)
        })
    }

    /// Every registered model, sorted by name.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = mlflow_core::store::Store::open(dir.path()).unwrap();
    /// let registry = mlflow_core::registry::Registry::new(&store)?;
    /// for model in registry.models()? {
    ///     println!("{} v{} {:?}", model.name, model.latest_version, model.aliases);
    /// }
    /// # Ok::<(), mlflow_core::registry::RegistryError>(())
    /// ```
    pub fn models(&self) -> Result<Vec<ModelSummary>, RegistryError> {
        self.meta(Mode::Read, |tx| {
            let mut aliases = current_aliases(tx, None)?;
            let rows = tx.query(
                "SELECT name, MAX(version), MIN(created_ms), MAX(created_ms) FROM registry_versions
                 GROUP BY name ORDER BY name",
                &[],
            )?;
            let mut models = Vec::with_capacity(rows.len());
            for r in rows {
                let name: String = r.get(0)?;
                models.push(ModelSummary {
                    aliases: aliases.remove(&name).unwrap_or_default(),
                    name,
                    latest_version: r.get(1)?,
                    created_ms: r.get(2)?,
                    updated_ms: r.get(3)?,
                });
            }
            Ok(models)
        })
    }

    /// One model's summary; [`RegistryError::UnknownModel`] if it has no versions.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = mlflow_core::store::Store::open(dir.path()).unwrap();
    /// let registry = mlflow_core::registry::Registry::new(&store)?;
    /// assert!(registry.model("nothing-here").is_err());
    /// # Ok::<(), mlflow_core::registry::RegistryError>(())
    /// ```
    pub fn model(&self, name: &str) -> Result<ModelSummary, RegistryError> {
        check_name("model name", name)?;
        self.meta(Mode::Read, |tx| {
            let row = tx.query_opt(
                "SELECT MAX(version), MIN(created_ms), MAX(created_ms) FROM registry_versions
                 WHERE name = ?1 HAVING COUNT(*) > 0",
                params![name],
            )?;
            let row = row.ok_or_else(|| unknown_model(name))?;
            Ok(ModelSummary {
                name: name.to_owned(),
                latest_version: row.get(0)?,
                created_ms: row.get(1)?,
                updated_ms: row.get(2)?,
                aliases: current_aliases(tx, Some(name))?.remove(name).unwrap_or_default(),
            })
        })
    }

    /// Every version of a model, oldest first.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = mlflow_core::store::Store::open(dir.path()).unwrap();
    /// let registry = mlflow_core::registry::Registry::new(&store)?;
    /// let err = registry.versions("titanic").unwrap_err();
    /// assert!(err.to_string().contains("no model named `titanic`"));
    /// # Ok::<(), mlflow_core::registry::RegistryError>(())
    /// ```
    pub fn versions(&self, name: &str) -> Result<Vec<ModelVersion>, RegistryError> {
        check_name("model name", name)?;
        self.meta(Mode::Read, |tx| {
            let versions = load_versions(tx, name, None)?;
            if versions.is_empty() {
                return Err(unknown_model(name));
            }
            Ok(versions)
        })
    }

    /// Every version, of any model, whose artifact is `artifact` (by name, then version): the
    /// forward end of lineage, from a step output of any run to the models it became.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = mlflow_core::store::Store::open(dir.path()).unwrap();
    /// use mlflow_core::codec::ContentHash;
    /// let registry = mlflow_core::registry::Registry::new(&store)?;
    /// assert!(registry.versions_with_artifact(ContentHash::of(b"not a model"))?.is_empty());
    /// # Ok::<(), mlflow_core::registry::RegistryError>(())
    /// ```
    pub fn versions_with_artifact(&self, artifact: ContentHash) -> Result<Vec<ModelVersion>, RegistryError> {
        self.meta(Mode::Read, |tx| {
            let found = tx.query(
                "SELECT name, version FROM registry_versions WHERE artifact = ?1 ORDER BY name, version",
                params![artifact],
            )?;
            found.iter().map(|r| require_version(tx, &r.get::<String>(0)?, r.get(1)?)).collect()
        })
    }

    /// One version of a model.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = mlflow_core::store::Store::open(dir.path()).unwrap();
    /// let registry = mlflow_core::registry::Registry::new(&store)?;
    /// assert!(registry.version("titanic", 1).is_err());
    /// # Ok::<(), mlflow_core::registry::RegistryError>(())
    /// ```
    pub fn version(&self, name: &str, version: u32) -> Result<ModelVersion, RegistryError> {
        check_name("model name", name)?;
        self.meta(Mode::Read, |tx| require_version(tx, name, version))
    }

    /// The version a reference names: `NAME` (latest), `NAME/VERSION` or `NAME@ALIAS`.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = mlflow_core::store::Store::open(dir.path()).unwrap();
    /// use mlflow_core::registry::{Registry, RegistryError};
    /// let registry = Registry::new(&store)?;
    /// assert!(matches!(registry.resolve("titanic@"), Err(RegistryError::BadReference { .. })));
    /// assert!(matches!(registry.resolve("titanic@production"), Err(RegistryError::UnknownModel { .. })));
    /// # Ok::<(), mlflow_core::registry::RegistryError>(())
    /// ```
    pub fn resolve(&self, reference: &str) -> Result<ModelVersion, RegistryError> {
        self.resolve_ref(&ModelRef::parse(reference)?)
    }

    /// [`Registry::resolve`] for a parsed reference.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = mlflow_core::store::Store::open(dir.path()).unwrap();
    /// use mlflow_core::registry::{ModelRef, Registry};
    /// let registry = Registry::new(&store)?;
    /// assert!(registry.resolve_ref(&ModelRef::Latest { name: "m".into() }).is_err());
    /// # Ok::<(), mlflow_core::registry::RegistryError>(())
    /// ```
    pub fn resolve_ref(&self, reference: &ModelRef) -> Result<ModelVersion, RegistryError> {
        check_name("model name", reference.name())?;
        if let ModelRef::Alias { alias, .. } = reference {
            check_name("alias", alias)?;
        }
        self.meta(Mode::Read, |tx| {
            let name = reference.name();
            let latest = latest_version(tx, name)?.ok_or_else(|| unknown_model(name))?;
            let version = match reference {
                ModelRef::Latest { .. } => latest,
                ModelRef::Version { version, .. } => *version,
                ModelRef::Alias { alias, .. } => match last_move(tx, name, alias)? {
                    Some((Some(version), _)) => version,
                    _ => return Err(unknown_alias(tx, name, alias)?),
                },
            };
            require_version(tx, name, version)
        })
    }

    /// The model bytes of the version a reference names, read from the store and checked
    /// against their hash.
    ///
    /// See [`Registry::load`] for an example.
    pub fn load_bytes(&self, reference: &str) -> Result<Vec<u8>, RegistryError> {
        let version = self.resolve(reference)?;
        Ok(self.store.read_artifact(version.artifact)?)
    }

    /// The model of the version a reference names, decoded as a `T` (the step's output type).
    ///
    /// ```
    /// # use mlflow_core::prelude::*;
    /// # use mlflow_core::registry::{RegisterRequest, Registry, RegistryError};
    /// # #[mlflow_macros::step(crate = mlflow_core)]
    /// # fn train(x: &u32) -> Vec<u32> {
    /// #     vec![*x; 3]
    /// # }
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = Store::open(dir.path()).unwrap();
    /// let mut p = Pipeline::new("demo");
    /// let x = p.param("x", 7u32);
    /// p.step(TrainStep, x);
    /// let run = p.run(&store)?;
    /// let registry = Registry::new(&store)?;
    /// registry.register("sevens", RegisterRequest::new(run.run_id(), "train"))?;
    /// assert_eq!(registry.load::<Vec<u32>>("sevens/1")?, [7, 7, 7]);
    /// assert_eq!(registry.load_bytes("sevens")?, mlflow_core::codec::encode(&vec![7u32; 3])?);
    /// assert!(matches!(registry.load::<Vec<String>>("sevens"), Err(RegistryError::Load { .. })));
    /// # Ok::<(), mlflow_core::Error>(())
    /// ```
    pub fn load<T: Artifact>(&self, reference: &str) -> Result<T, RegistryError> {
        let version = self.resolve(reference)?;
        let bytes = self.store.read_artifact(version.artifact)?;
        codec::decode(&bytes, self.store.decode_limit()).map_err(|source| RegistryError::Load {
            reference: version.reference(),
            artifact: version.artifact,
            source,
        })
    }
}
