//! Champion/challenger traffic: which model answers a request, and which score it in the shadow.

use serde::{Deserialize, Serialize};

use super::ServeError;

/// How a challenger takes part in serving beside the champion.
///
/// ```
/// use mlflow_serve::ChallengerMode;
/// let mode: ChallengerMode = "canary=0.1".parse()?;
/// assert_eq!(mode, ChallengerMode::Canary { fraction: 0.1 });
/// assert_eq!("shadow".parse::<ChallengerMode>()?, ChallengerMode::Shadow);
/// assert_eq!("ab=0.5".parse::<ChallengerMode>()?, ChallengerMode::AbTest { fraction: 0.5 });
/// # Ok::<(), mlflow_serve::ServeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode")]
pub enum ChallengerMode {
    /// Scores every request after the champion answered, off the response path; its predictions
    /// are only logged.
    #[serde(rename = "shadow")]
    Shadow,
    /// Answers `fraction` of the requests: requests that carry a routing key always go to the same
    /// model (sticky), requests without one are drawn at random.
    Canary {
        /// Share of requests, in `[0, 1]`.
        fraction: f64,
    },
    /// Answers the requests whose routing key falls in its `fraction` of the key space; requests
    /// without a key are not part of the test and get the champion.
    #[serde(rename = "ab")]
    AbTest {
        /// Share of the key space, in `[0, 1]`.
        fraction: f64,
    },
}

impl ChallengerMode {
    /// `shadow`, `canary` or `ab`: the name used on the command line, in metrics and metadata.
    ///
    /// ```
    /// assert_eq!(mlflow_serve::ChallengerMode::AbTest { fraction: 0.5 }.kind(), "ab");
    /// ```
    pub fn kind(self) -> &'static str {
        match self {
            ChallengerMode::Shadow => "shadow",
            ChallengerMode::Canary { .. } => "canary",
            ChallengerMode::AbTest { .. } => "ab",
        }
    }

    /// The share of requests (canary) or routing keys (A/B) the challenger answers; 0 for a shadow.
    ///
    /// ```
    /// assert_eq!(mlflow_serve::ChallengerMode::Canary { fraction: 0.1 }.fraction(), 0.1);
    /// ```
    pub fn fraction(self) -> f64 {
        match self {
            ChallengerMode::Shadow => 0.0,
            ChallengerMode::Canary { fraction } | ChallengerMode::AbTest { fraction } => fraction,
        }
    }
}

impl std::fmt::Display for ChallengerMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChallengerMode::Shadow => f.write_str(self.kind()),
            ChallengerMode::Canary { fraction } | ChallengerMode::AbTest { fraction } => {
                write!(f, "{}={fraction}", self.kind())
            }
        }
    }
}

impl std::str::FromStr for ChallengerMode {
    type Err = ServeError;

    fn from_str(text: &str) -> Result<Self, ServeError> {
        let bad = |problem: &str| {
            ServeError::Traffic(format!(
                "challenger mode `{text}`: {problem}; write `shadow`, `canary=FRACTION` or `ab=FRACTION` with FRACTION between 0 and 1"
            ))
        };
        let (kind, fraction) = match text.split_once('=') {
            Some((kind, value)) => {
                let fraction: f64 = value.trim().parse().map_err(|_| bad("the fraction is not a number"))?;
                (kind.trim(), Some(fraction))
            }
            None => (text.trim(), None),
        };
        let mode = match (kind, fraction) {
            ("shadow", None) => ChallengerMode::Shadow,
            ("shadow", Some(_)) => return Err(bad("a shadow scores every request and takes no fraction")),
            ("canary", Some(fraction)) => ChallengerMode::Canary { fraction },
            ("ab", Some(fraction)) => ChallengerMode::AbTest { fraction },
            ("canary" | "ab", None) => return Err(bad("the fraction is missing")),
            _ => return Err(bad("unknown mode")),
        };
        if !(0.0..=1.0).contains(&mode.fraction()) {
            return Err(bad("the fraction is outside [0, 1]"));
        }
        Ok(mode)
    }
}

/// Which model answers one request.
///
/// ```
/// use mlflow_serve::{ChallengerMode, Route, TrafficPlan};
/// let plan = TrafficPlan::new(&[ChallengerMode::Canary { fraction: 0.25 }])?;
/// assert_eq!(plan.route(None, 0.1), Route::Challenger(0));
/// assert_eq!(plan.route(None, 0.9), Route::Champion);
/// # Ok::<(), mlflow_serve::ServeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    /// The champion answers.
    Champion,
    /// The challenger at this position answers.
    Challenger(usize),
}

/// The routing rules of a set of challengers: answering challengers (canary, A/B) split the
/// interval `[0, 1)` in order, the champion takes the rest; shadows score every request.
///
/// A request with a routing key is placed in the interval by a hash of the key, so it is sticky:
/// the same key always lands on the same model, across requests, restarts and new versions.
///
/// ```
/// use mlflow_serve::{ChallengerMode, Route, TrafficPlan};
/// let plan = TrafficPlan::new(&[ChallengerMode::Shadow, ChallengerMode::AbTest { fraction: 0.5 }])?;
/// assert_eq!(plan.shadows().collect::<Vec<_>>(), [0]);
/// assert_eq!(plan.route(None, 0.1), Route::Champion); // no key: not in the A/B test
/// let route = plan.route(Some("user-42"), 0.0);
/// assert_eq!(plan.route(Some("user-42"), 0.99), route); // sticky: the draw does not matter
/// # Ok::<(), mlflow_serve::ServeError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TrafficPlan {
    modes: Vec<ChallengerMode>,
    salt: String,
}

impl TrafficPlan {
    /// Checks the modes: fractions in `[0, 1]` that add up to at most 1.
    ///
    /// ```
    /// use mlflow_serve::{ChallengerMode, TrafficPlan};
    /// let too_much = [ChallengerMode::Canary { fraction: 0.6 }, ChallengerMode::AbTest { fraction: 0.6 }];
    /// assert!(TrafficPlan::new(&too_much).unwrap_err().to_string().contains("1.2"));
    /// ```
    pub fn new(modes: &[ChallengerMode]) -> Result<TrafficPlan, ServeError> {
        if let Some(mode) = modes.iter().find(|m| !(0.0..=1.0).contains(&m.fraction())) {
            return Err(ServeError::Traffic(format!(
                "challenger `{mode}` has a fraction outside [0, 1]; give a share between 0 and 1"
            )));
        }
        let total: f64 = modes.iter().map(|m| m.fraction()).sum();
        if total > 1.0 + 1e-9 {
            return Err(ServeError::Traffic(format!(
                "the challengers' fractions add up to {total}, more than all the traffic; make them add up to at most 1"
            )));
        }
        Ok(TrafficPlan { modes: modes.to_vec(), salt: String::new() })
    }

    /// Mixes `salt` (the server uses the model's name) into the hash of routing keys, so each
    /// model's canary and A/B test take their own share of the keys rather than the same users.
    ///
    /// ```
    /// use mlflow_serve::{ChallengerMode, Route, TrafficPlan};
    /// let modes = [ChallengerMode::Canary { fraction: 0.5 }];
    /// let (a, b) = (TrafficPlan::new(&modes)?.with_salt("titanic"), TrafficPlan::new(&modes)?.with_salt("churn"));
    /// let differ = (0..100).filter(|i| a.route(Some(&format!("u{i}")), 0.0) != b.route(Some(&format!("u{i}")), 0.0)).count();
    /// assert!(differ > 20, "{differ}");
    /// # Ok::<(), mlflow_serve::ServeError>(())
    /// ```
    pub fn with_salt(mut self, salt: impl Into<String>) -> TrafficPlan {
        self.salt = salt.into();
        self
    }

    /// The challengers' modes, in order.
    ///
    /// ```
    /// # use mlflow_serve::{ChallengerMode, TrafficPlan};
    /// assert!(TrafficPlan::new(&[])?.modes().is_empty());
    /// # Ok::<(), mlflow_serve::ServeError>(())
    /// ```
    pub fn modes(&self) -> &[ChallengerMode] {
        &self.modes
    }

    /// Who answers a request with routing key `key`; `draw` (uniform in `[0, 1)`) places requests
    /// without a key.
    ///
    /// See [`TrafficPlan`] for an example.
    pub fn route(&self, key: Option<&str>, draw: f64) -> Route {
        let point = key.map(|key| key_point(&self.salt, key));
        let mut start = 0.0;
        for (i, mode) in self.modes.iter().enumerate() {
            let at = match (mode, point) {
                (ChallengerMode::Shadow, _) => continue,
                (ChallengerMode::AbTest { .. }, None) => None,
                (_, Some(p)) => Some(p),
                (ChallengerMode::Canary { .. }, None) => Some(draw),
            };
            let end = start + mode.fraction();
            if at.is_some_and(|at| at >= start && at < end) {
                return Route::Challenger(i);
            }
            start = end;
        }
        Route::Champion
    }

    /// The positions of the shadow challengers.
    ///
    /// See [`TrafficPlan`] for an example.
    pub fn shadows(&self) -> impl Iterator<Item = usize> + '_ {
        self.modes.iter().enumerate().filter(|(_, m)| matches!(m, ChallengerMode::Shadow)).map(|(i, _)| i)
    }
}

/// A routing key's place in `[0, 1)`: the first 53 bits of the BLAKE3 hash of the salt (length
/// first, so salt and key cannot run into each other) and the key.
fn key_point(salt: &str, key: &str) -> f64 {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&(salt.len() as u64).to_le_bytes()).update(salt.as_bytes()).update(key.as_bytes());
    let hash = hasher.finalize();
    let mut head = [0u8; 8];
    head.copy_from_slice(&hash.as_bytes()[..8]);
    (u64::from_le_bytes(head) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_split_in_proportion_and_stick() {
        let plan = TrafficPlan::new(&[ChallengerMode::Canary { fraction: 0.2 }]).unwrap();
        let hits =
            (0..10_000).filter(|i| plan.route(Some(&format!("user-{i}")), 0.0) != Route::Champion).count();
        assert!((1_800..2_200).contains(&hits), "{hits} of 10000 keys went to a 20% canary");
        for i in 0..100 {
            let key = format!("user-{i}");
            assert_eq!(plan.route(Some(&key), 0.0), plan.route(Some(&key), 0.999));
        }
    }

    #[test]
    fn answering_challengers_take_consecutive_shares() {
        let plan = TrafficPlan::new(&[
            ChallengerMode::Canary { fraction: 0.1 },
            ChallengerMode::Shadow,
            ChallengerMode::Canary { fraction: 0.3 },
        ])
        .unwrap();
        assert_eq!(plan.route(None, 0.05), Route::Challenger(0));
        assert_eq!(plan.route(None, 0.2), Route::Challenger(2));
        assert_eq!(plan.route(None, 0.39), Route::Challenger(2));
        assert_eq!(plan.route(None, 0.4), Route::Champion);
    }

    #[test]
    fn bad_modes_are_refused_with_the_fix() {
        for text in ["canary", "canary=x", "canary=1.5", "shadow=0.1", "blue", "ab=-0.1"] {
            let err = text.parse::<ChallengerMode>().unwrap_err().to_string();
            assert!(err.contains(text) && err.contains("canary=FRACTION"), "{err}");
        }
    }
}
