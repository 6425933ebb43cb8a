//! Model names, aliases and references (`NAME`, `NAME/VERSION`, `NAME@ALIAS`): their rules and
//! their parsing.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::error::RegistryError;

/// The longest model name or alias, in bytes.
///
/// ```
/// use mlflow_core::registry::{ModelRef, MAX_NAME_LEN};
/// assert!("a".repeat(MAX_NAME_LEN).parse::<ModelRef>().is_ok());
/// assert!("a".repeat(MAX_NAME_LEN + 1).parse::<ModelRef>().is_err());
/// ```
pub const MAX_NAME_LEN: usize = 128;

/// A parsed reference to a model version: `NAME`, `NAME/VERSION` or `NAME@ALIAS`.
///
/// Serializes as its string form (`"titanic@production"`).
///
/// ```
/// use mlflow_core::registry::ModelRef;
/// let r: ModelRef = "titanic@production".parse()?;
/// assert_eq!(r, ModelRef::Alias { name: "titanic".into(), alias: "production".into() });
/// assert_eq!(r.name(), "titanic");
/// assert_eq!("titanic/3".parse::<ModelRef>()?.to_string(), "titanic/3");
/// assert!("titanic/0".parse::<ModelRef>().is_err()); // versions start at 1
/// # Ok::<(), mlflow_core::registry::RegistryError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ModelRef {
    /// `NAME`: the latest version.
    Latest {
        /// The model name.
        name: String,
    },
    /// `NAME/VERSION`: one version.
    Version {
        /// The model name.
        name: String,
        /// The version, from 1.
        version: u32,
    },
    /// `NAME@ALIAS`: the version the alias points at now.
    Alias {
        /// The model name.
        name: String,
        /// The alias.
        alias: String,
    },
}

impl ModelRef {
    /// Parses a reference (the same as `str::parse`).
    ///
    /// ```
    /// use mlflow_core::registry::ModelRef;
    /// assert_eq!(ModelRef::parse("m")?, ModelRef::Latest { name: "m".into() });
    /// assert!(ModelRef::parse("m@").is_err());
    /// # Ok::<(), mlflow_core::registry::RegistryError>(())
    /// ```
    pub fn parse(text: &str) -> Result<ModelRef, RegistryError> {
        let bad = |problem: String| RegistryError::BadReference { reference: text.to_owned(), problem };
        if text.is_empty() {
            return Err(bad("it is empty".to_owned()));
        }
        let check = |kind: &str, part: &str| match name_problem(part) {
            None => Ok(part.to_owned()),
            Some(problem) => Err(bad(format!("the {kind} `{part}`: {problem}"))),
        };
        match (text.find('/'), text.find('@')) {
            (Some(_), Some(_)) => {
                Err(bad("it has both `/` and `@`: give a version or an alias, not both".into()))
            }
            (Some(i), None) => {
                let name = check("model name", &text[..i])?;
                let digits = &text[i + 1..];
                if digits.is_empty() {
                    return Err(bad("the version after `/` is missing".into()));
                }
                if !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad(format!("`{digits}` is not a version number")));
                }
                let version = digits
                    .parse::<u32>()
                    .map_err(|_| bad(format!("version {digits} is too large (at most {})", u32::MAX)))?;
                if version == 0 {
                    return Err(bad("versions start at 1".into()));
                }
                Ok(ModelRef::Version { name, version })
            }
            (None, Some(i)) => {
                let name = check("model name", &text[..i])?;
                if text[i + 1..].is_empty() {
                    return Err(bad("the alias after `@` is missing".into()));
                }
                let alias = check("alias", &text[i + 1..])?;
                Ok(ModelRef::Alias { name, alias })
            }
            (None, None) => Ok(ModelRef::Latest { name: check("model name", text)? }),
        }
    }

    /// The model name.
    ///
    /// ```
    /// assert_eq!(mlflow_core::registry::ModelRef::parse("m/2").unwrap().name(), "m");
    /// ```
    pub fn name(&self) -> &str {
        match self {
            ModelRef::Latest { name } | ModelRef::Version { name, .. } | ModelRef::Alias { name, .. } => name,
        }
    }
}

impl FromStr for ModelRef {
    type Err = RegistryError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        ModelRef::parse(text)
    }
}

impl fmt::Display for ModelRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelRef::Latest { name } => f.write_str(name),
            ModelRef::Version { name, version } => write!(f, "{name}/{version}"),
            ModelRef::Alias { name, alias } => write!(f, "{name}@{alias}"),
        }
    }
}

impl From<ModelRef> for String {
    fn from(reference: ModelRef) -> String {
        reference.to_string()
    }
}

impl TryFrom<String> for ModelRef {
    type Error = RegistryError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        ModelRef::parse(&text)
    }
}

/// Why `name` is not a valid model name or alias, if it is not.
pub(super) fn name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("it is empty".to_owned());
    }
    if name.len() > MAX_NAME_LEN {
        return Some(format!("it is {} bytes long, over the limit of {MAX_NAME_LEN}", name.len()));
    }
    name.chars()
        .enumerate()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
        .map(|(i, c)| format!("character {c:?} (position {}) is not allowed", i + 1))
}

pub(super) fn check_name(kind: &'static str, name: &str) -> Result<(), RegistryError> {
    match name_problem(name) {
        None => Ok(()),
        Some(problem) => Err(RegistryError::InvalidName { kind, name: name.to_owned(), problem }),
    }
}

pub(super) fn check_key(kind: &'static str, key: &str) -> Result<(), RegistryError> {
    if key.is_empty() || key.chars().any(char::is_control) {
        return Err(RegistryError::InvalidKey { kind, key: key.to_owned() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(check_name("model name", "titanic-v2.1_rf").is_ok());
        for bad in ["", "a b", "a/b", "a@b", "é", "x\n"] {
            let err = check_name("model name", bad).unwrap_err();
            assert!(err.to_string().contains("invalid model name"), "{err}");
        }
        let long = "a".repeat(MAX_NAME_LEN + 1);
        assert!(check_name("alias", &long).unwrap_err().to_string().contains("over the limit"));
        assert!(check_key("tag key", "").is_err());
        assert!(check_key("tag key", "a\tb").is_err());
        assert!(check_key("metric name", "roc auc").is_ok());
    }
}
