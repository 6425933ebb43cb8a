//! Cache keys, their parts, and why a step missed the cache.

use std::fmt;

use super::LIBRARY_VERSION;
use crate::codec::{ContentHash, Hasher};
use crate::dag::StepIdentity;
use crate::store::cache::CacheEntry;
use crate::store::{InputPart, KeyParts, Store, StoreError};

/// Why a step did not come from the cache.
///
/// ```
/// use mlflow_core::exec::MissReason;
/// let reason = MissReason::Param { name: "seed".into() };
/// assert_eq!(reason.kind(), "param");
/// assert_eq!(reason.to_string(), "param `seed` changed");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MissReason {
    /// No run of this step was recorded in this pipeline before.
    FirstRun,
    /// The step's code changed.
    Code,
    /// The step's `version` changed.
    Version,
    /// The code of a helper changed, in a key recorded before helpers were named one by one.
    Deps,
    /// Helpers of the step (listed in `deps` or found in its body) changed, were added or are no
    /// longer called, by name.
    Helpers {
        /// Helpers whose code changed.
        changed: Vec<String>,
        /// Helpers the step now calls that it did not.
        added: Vec<String>,
        /// Helpers the step no longer calls.
        removed: Vec<String>,
    },
    /// The crate defining the step has another name or version.
    Crate {
        /// Before.
        was: String,
        /// Now.
        now: String,
    },
    /// mlflow itself has another version.
    Library {
        /// Before.
        was: String,
        /// Now.
        now: String,
    },
    /// A param feeding the step changed.
    Param {
        /// The param's name.
        name: String,
    },
    /// The output of an upstream step changed.
    Input {
        /// The upstream node.
        node: String,
    },
    /// The step's inputs were rewired (other nodes, or another number of them).
    Wiring,
    /// The key is as last time, but nothing is cached under it (the last attempt failed, ran with
    /// caching off, or the entry was removed).
    NotCached,
    /// The cache entry exists but its artifact file is gone.
    ArtifactMissing,
    /// The artifact file's bytes do not hash to the recorded value.
    ArtifactCorrupt,
    /// The artifact could not be read or decoded.
    ArtifactUnreadable {
        /// Why.
        error: String,
    },
    /// The run forced this step.
    Forced,
    /// The step has `cache = false`.
    CacheDisabled,
}

impl MissReason {
    /// A one-word category: `first run`, `code`, `version`, `deps`, `helpers`, `crate`, `library`, `param`,
    /// `input`, `wiring`, `not cached`, `artifact missing`, `artifact corrupt`,
    /// `artifact unreadable`, `forced`, `cache disabled`.
    pub fn kind(&self) -> &'static str {
        match self {
            MissReason::FirstRun => "first run",
            MissReason::Code => "code",
            MissReason::Version => "version",
            MissReason::Deps => "deps",
            MissReason::Helpers { .. } => "helpers",
            MissReason::Crate { .. } => "crate",
            MissReason::Library { .. } => "library",
            MissReason::Param { .. } => "param",
            MissReason::Input { .. } => "input",
            MissReason::Wiring => "wiring",
            MissReason::NotCached => "not cached",
            MissReason::ArtifactMissing => "artifact missing",
            MissReason::ArtifactCorrupt => "artifact corrupt",
            MissReason::ArtifactUnreadable { .. } => "artifact unreadable",
            MissReason::Forced => "forced",
            MissReason::CacheDisabled => "cache disabled",
        }
    }
}

impl fmt::Display for MissReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MissReason::FirstRun => f.write_str("first run of this step"),
            MissReason::Code => f.write_str("code changed"),
            MissReason::Version => f.write_str("version changed"),
            MissReason::Deps => f.write_str("code of a helper in deps changed"),
            MissReason::Helpers { changed, added, removed } => {
                let mut parts = Vec::new();
                if !changed.is_empty() {
                    parts.push(format!("code of {} changed", helper_list(changed)));
                }
                if !added.is_empty() {
                    parts.push(format!("{} now called", helper_list(added)));
                }
                if !removed.is_empty() {
                    parts.push(format!("{} no longer called", helper_list(removed)));
                }
                f.write_str(&parts.join("; "))
            }
            MissReason::Crate { was, now } => write!(f, "crate changed from {was} to {now}"),
            MissReason::Library { was, now } => write!(f, "mlflow changed from {was} to {now}"),
            MissReason::Param { name } => write!(f, "param `{name}` changed"),
            MissReason::Input { node } => write!(f, "input from `{node}` changed"),
            MissReason::Wiring => f.write_str("inputs were rewired"),
            MissReason::NotCached => f.write_str("nothing cached for this key"),
            MissReason::ArtifactMissing => f.write_str("cached artifact is missing"),
            MissReason::ArtifactCorrupt => f.write_str("cached artifact is corrupt"),
            MissReason::ArtifactUnreadable { error } => write!(f, "cached artifact is unreadable: {error}"),
            MissReason::Forced => f.write_str("forced"),
            MissReason::CacheDisabled => f.write_str("cache disabled for this step"),
        }
    }
}

/// The cache key of a step given its identity and its inputs' content hashes.
pub(super) fn cache_key(id: &StepIdentity, inputs: &[ContentHash]) -> ContentHash {
    let mut h = Hasher::new("mlflow/cache-key/v1")
        .part(id.name.as_bytes())
        .part(id.code_hash.as_bytes())
        .part(&id.version.to_le_bytes())
        .part(id.deps_hash.as_bytes())
        .part(id.krate.name.as_bytes())
        .part(id.krate.version.as_bytes())
        .part(LIBRARY_VERSION.as_bytes());
    for input in inputs {
        h = h.part(input.as_bytes());
    }
    h.finish()
}

pub(super) fn key_parts(id: &StepIdentity, inputs: Vec<InputPart>) -> KeyParts {
    KeyParts::new(
        id.code_hash,
        id.version,
        id.deps_hash,
        id.helpers.clone(),
        format!("{}@{}", id.krate.name, id.krate.version),
        LIBRARY_VERSION.to_owned(),
        inputs,
    )
}

/// The first component of the key that differs from last time, looking only at the step itself
/// (not its inputs).
pub(super) fn own_change(was: &KeyParts, now: &KeyParts) -> Option<MissReason> {
    if was.code != now.code {
        Some(MissReason::Code)
    } else if was.version != now.version {
        Some(MissReason::Version)
    } else if was.deps != now.deps {
        Some(helper_change(was, now))
    } else if was.krate != now.krate {
        Some(MissReason::Crate { was: was.krate.clone(), now: now.krate.clone() })
    } else if was.library != now.library {
        Some(MissReason::Library { was: was.library.clone(), now: now.library.clone() })
    } else if was.inputs.len() != now.inputs.len()
        || was.inputs.iter().zip(&now.inputs).any(|(a, b)| a.node != b.node)
    {
        Some(MissReason::Wiring)
    } else {
        None
    }
}

pub(super) fn input_change(was: &KeyParts, now: &KeyParts) -> MissReason {
    match was.inputs.iter().zip(&now.inputs).find(|(a, b)| a.hash != b.hash) {
        Some((_, b)) if b.is_param => MissReason::Param { name: b.node.clone() },
        Some((_, b)) => MissReason::Input { node: b.node.clone() },
        None => MissReason::NotCached,
    }
}

pub(super) fn explain_miss(previous: Option<&KeyParts>, now: &KeyParts) -> MissReason {
    match previous {
        Some(was) => own_change(was, now).unwrap_or_else(|| input_change(was, now)),
        None => MissReason::FirstRun,
    }
}

/// Looks a key up and reads and verifies the artifact's bytes, or says why it cannot.
pub(super) fn lookup(store: &Store, key: ContentHash) -> Result<(Vec<u8>, CacheEntry), Option<MissReason>> {
    let entry = match store.cache_get(key) {
        Ok(Some(entry)) => entry,
        Ok(None) => return Err(None),
        Err(e) => return Err(Some(MissReason::ArtifactUnreadable { error: e.to_string() })),
    };
    let bytes = store.read_artifact(entry.output).map_err(|e| {
        Some(match e {
            StoreError::ArtifactMissing { .. } => MissReason::ArtifactMissing,
            StoreError::ArtifactCorrupt { .. } => MissReason::ArtifactCorrupt,
            other => MissReason::ArtifactUnreadable { error: other.to_string() },
        })
    })?;
    if bytes.len() as u64 > store.decode_limit() {
        let error = crate::codec::CodecError::TooLarge {
            type_name: "artifact",
            len: bytes.len() as u64,
            limit: store.decode_limit(),
        };
        return Err(Some(MissReason::ArtifactUnreadable { error: error.to_string() }));
    }
    Ok((bytes, entry))
}

/// Which helpers differ between two keys, by name (as the key folds them). A key recorded
/// before helpers were named one by one can only say that one of them changed.
fn helper_change(was: &KeyParts, now: &KeyParts) -> MissReason {
    use std::collections::BTreeMap;
    if was.helpers.is_empty() && !now.helpers.is_empty() && was.deps != crate::step::fold_helpers(&[]) {
        return MissReason::Deps;
    }
    fn by_name(parts: &KeyParts) -> BTreeMap<&str, Vec<ContentHash>> {
        let mut map: BTreeMap<&str, Vec<ContentHash>> = BTreeMap::new();
        for helper in &parts.helpers {
            map.entry(helper.name.as_str()).or_default().push(helper.code_hash);
        }
        map
    }
    let (before, after) = (by_name(was), by_name(now));
    let changed = after
        .iter()
        .filter(|(name, hashes)| before.get(*name).is_some_and(|was| was != *hashes))
        .map(|(name, _)| name.to_string())
        .collect();
    let added = after.keys().filter(|name| !before.contains_key(*name)).map(|n| n.to_string()).collect();
    let removed = before.keys().filter(|name| !after.contains_key(*name)).map(|n| n.to_string()).collect();
    MissReason::Helpers { changed, added, removed }
}

fn helper_list(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.len() {
        1 => format!("helper {}", quoted[0]),
        _ => format!("helpers {}", quoted.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::step::{HelperHash, fold_helpers};

    fn parts(helpers: Vec<HelperHash>) -> KeyParts {
        let deps = fold_helpers(&helpers);
        KeyParts::new(ContentHash::of(b"code"), 0, deps, helpers, "demo@1".into(), "0.1".into(), vec![])
    }

    #[test]
    fn a_helper_change_names_what_changed_was_added_and_was_dropped() {
        let h = |path: &str, code: &[u8]| HelperHash::new(path, ContentHash::of(code));
        let was = parts(vec![h("a::clamp", b"1"), h("a::scale", b"1"), h("a::old", b"1")]);
        let now = parts(vec![h("a::clamp", b"2"), h("b::scale", b"1"), h("a::new", b"1")]);
        let reason = own_change(&was, &now).unwrap();
        assert_eq!(
            reason,
            MissReason::Helpers {
                changed: vec!["clamp".into()],
                added: vec!["new".into()],
                removed: vec!["old".into()]
            }
        );
        assert_eq!(
            reason.to_string(),
            "code of helper `clamp` changed; helper `new` now called; helper `old` no longer called"
        );
        // A key recorded before helpers were named one by one can only say "deps".
        let old = KeyParts::new(
            ContentHash::of(b"code"),
            0,
            ContentHash::of(b"?"),
            vec![],
            "demo@1".into(),
            "0.1".into(),
            vec![],
        );
        assert_eq!(own_change(&old, &now), Some(MissReason::Deps));
    }
}
