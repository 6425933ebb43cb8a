//! What MLflow's tracking server accepts: its rules for keys and its length limits, checked here
//! so one refused key is reported and left out rather than failing a whole batch.

/// The longest key (param, metric or tag name) MLflow keeps.
pub const MAX_KEY_LENGTH: usize = 250;
/// The longest param value MLflow keeps.
pub const MAX_PARAM_VALUE_LENGTH: usize = 6000;
/// The longest run tag value MLflow keeps.
pub const MAX_TAG_VALUE_LENGTH: usize = 8000;

/// Why MLflow would refuse `key` as a param, metric or tag name, or `None` when it accepts it.
///
/// MLflow allows letters, digits, `_`, `-`, `.`, ` ` and `/`, at most 250 characters, and no name
/// that would resolve to another one as a file path (`a//b`, `./a`, `a/..`, `/a`).
///
/// ```
/// use mlflow_bridge::names::key_problem;
///
/// assert_eq!(key_problem("evaluate.roc_auc"), None);
/// assert_eq!(key_problem("loss/train fold-1"), None);
/// assert!(key_problem("f1@0.5").unwrap().contains("`@`"));
/// assert!(key_problem("a//b").is_some());
/// ```
pub fn key_problem(key: &str) -> Option<String> {
    if key.is_empty() {
        return Some("MLflow refuses an empty name".into());
    }
    if key.chars().count() > MAX_KEY_LENGTH {
        return Some(format!("longer than MLflow's {MAX_KEY_LENGTH} characters for a name"));
    }
    if let Some(c) = key.chars().find(|c| !(c.is_ascii_alphanumeric() || "_-. /".contains(*c))) {
        return Some(format!(
            "MLflow refuses the character `{c}` in a name (letters, digits, `_`, `-`, `.`, `/` and space only)"
        ));
    }
    if key.starts_with('/')
        || key.ends_with('/')
        || key.split('/').any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Some("MLflow refuses a name that resolves to another one as a file path".into());
    }
    None
}

/// Why MLflow would refuse `alias` as a registered model alias, or `None`.
///
/// ```
/// use mlflow_bridge::names::alias_problem;
///
/// assert_eq!(alias_problem("production"), None);
/// assert!(alias_problem("latest").is_some());
/// assert!(alias_problem("v2").is_some());
/// ```
pub fn alias_problem(alias: &str) -> Option<String> {
    if alias.is_empty() || alias.len() > 255 {
        return Some("MLflow takes aliases of 1 to 255 characters".into());
    }
    if let Some(c) = alias.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-')) {
        return Some(format!(
            "MLflow refuses the character `{c}` in an alias (letters, digits, `_` and `-` only)"
        ));
    }
    let lower = alias.to_ascii_lowercase();
    let numbered = |prefix: &str| {
        lower
            .strip_prefix(prefix)
            .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit()))
    };
    if lower == "latest" || numbered("v") || numbered("version") {
        return Some("MLflow reserves `latest`, `vN` and `versionN` as aliases".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_mlflows_rules() {
        for ok in ["a", "a.b", "a_b-c d/e", "x".repeat(250).as_str()] {
            assert_eq!(key_problem(ok), None, "{ok}");
        }
        for bad in ["", "a:b", "é", "a%", "a//b", "/a", "a/", "a/../b", "./a", "x".repeat(251).as_str()] {
            assert!(key_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn aliases_follow_mlflows_rules() {
        for ok in ["production", "champion-2", "a_b", "vx", "version"] {
            assert_eq!(alias_problem(ok), None, "{ok}");
        }
        for bad in ["", "latest", "Latest", "v1", "V12", "version3", "a.b", "a b"] {
            assert!(alias_problem(bad).is_some(), "{bad}");
        }
    }
}
