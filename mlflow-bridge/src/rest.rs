//! A blocking client for the parts of MLflow's REST API 2.0 the bridge uses.

use std::time::Duration;

use serde_json::{Value, json};

use crate::BridgeError;

/// The API's limits on one `runs/log-batch` request.
pub(crate) const MAX_METRICS_PER_BATCH: usize = 1000;
pub(crate) const MAX_PARAMS_TAGS_PER_BATCH: usize = 100;

/// An MLflow tracking server at a base URL (`http://host:5000`, with or without a path prefix).
pub(crate) struct Client {
    agent: ureq::Agent,
    base: String,
    authorization: Option<String>,
}

/// An answer of the server that was not a success: its HTTP status, `error_code` and message.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl ApiError {
    /// Whether the server said the thing does not exist.
    pub fn not_found(&self) -> bool {
        self.status == 404 || self.code == "RESOURCE_DOES_NOT_EXIST"
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {} {}: {}", self.status, self.code, self.message)
    }
}

/// A request's outcome: the server's JSON, the server's refusal, or no answer at all.
pub(crate) type Answer = Result<Result<Value, ApiError>, BridgeError>;

impl Client {
    /// A client of the server at `base`; credentials from MLflow's own variables
    /// (`MLFLOW_TRACKING_TOKEN`, else `MLFLOW_TRACKING_USERNAME` and `MLFLOW_TRACKING_PASSWORD`).
    pub fn new(base: &str) -> Result<Client, BridgeError> {
        let base = base.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(BridgeError::Url { url: base, reason: "give an http:// or https:// URL".into() });
        }
        if base.starts_with("https://") && !cfg!(feature = "tls") {
            return Err(BridgeError::Url {
                url: base,
                reason: "https needs a build with TLS (the `tls` feature of mlflow-bridge, `mlflow-tls` of the command line)".into(),
            });
        }
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(60)))
            .http_status_as_error(false);
        #[cfg(feature = "tls")]
        let config = match tls::config(&base)? {
            Some(tls) => config.tls_config(tls),
            None => config,
        };
        let agent = config.build().into();
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let authorization = match (env("MLFLOW_TRACKING_TOKEN"), env("MLFLOW_TRACKING_USERNAME")) {
            (Some(token), _) => Some(format!("Bearer {token}")),
            (None, Some(user)) => Some(format!(
                "Basic {}",
                base64(format!("{user}:{}", env("MLFLOW_TRACKING_PASSWORD").unwrap_or_default()).as_bytes())
            )),
            (None, None) => None,
        };
        Ok(Client { agent, base, authorization })
    }

    fn url(&self, endpoint: &str) -> String {
        format!("{}/api/2.0/mlflow/{endpoint}", self.base)
    }

    /// `GET /api/2.0/mlflow/ENDPOINT?query`.
    pub fn get(&self, endpoint: &str, query: &[(&str, &str)]) -> Answer {
        let mut request = self.agent.get(self.url(endpoint));
        for (k, v) in query {
            request = request.query(*k, *v);
        }
        if let Some(auth) = &self.authorization {
            request = request.header("Authorization", auth);
        }
        self.answer(endpoint, request.call())
    }

    /// `POST /api/2.0/mlflow/ENDPOINT` with a JSON body.
    pub fn post(&self, endpoint: &str, body: &Value) -> Answer {
        self.send("POST", endpoint, body)
    }

    /// `DELETE /api/2.0/mlflow/ENDPOINT` with a JSON body.
    pub fn delete(&self, endpoint: &str, body: &Value) -> Answer {
        self.send("DELETE", endpoint, body)
    }

    fn send(&self, method: &str, endpoint: &str, body: &Value) -> Answer {
        let url = self.url(endpoint);
        let text = body.to_string();
        let response = if method == "DELETE" {
            let mut request = self.agent.delete(&url).force_send_body();
            request = request.header("Content-Type", "application/json");
            if let Some(auth) = &self.authorization {
                request = request.header("Authorization", auth);
            }
            request.send(text.as_str())
        } else {
            let mut request = self.agent.post(&url);
            request = request.header("Content-Type", "application/json");
            if let Some(auth) = &self.authorization {
                request = request.header("Authorization", auth);
            }
            request.send(text.as_str())
        };
        self.answer(endpoint, response)
    }

    fn answer(
        &self,
        endpoint: &str,
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Answer {
        let transport = |e: ureq::Error| BridgeError::Transport {
            url: self.base.clone(),
            endpoint: endpoint.to_owned(),
            reason: e.to_string(),
        };
        let mut response = response.map_err(transport)?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().map_err(transport)?;
        let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if (200..300).contains(&status) {
            return Ok(Ok(if json.is_null() { json!({}) } else { json }));
        }
        let field = |k: &str| json.get(k).and_then(Value::as_str).map(str::to_owned);
        Ok(Err(ApiError {
            status,
            code: field("error_code").unwrap_or_else(|| "HTTP_ERROR".into()),
            message: field("message").unwrap_or_else(|| text.chars().take(300).collect()),
        }))
    }
}

/// The trust of an `https://` server, from MLflow's own variables as its Python client reads them.
#[cfg(feature = "tls")]
mod tls {
    use std::sync::Arc;

    use ureq::tls::{PemItem, RootCerts, TlsConfig, parse_pem};

    use crate::BridgeError;

    /// A PEM file of the certificate authorities to trust instead of the public (webpki) roots:
    /// a server whose certificate a private CA signed.
    pub(super) const CERT_PATH_VAR: &str = "MLFLOW_TRACKING_SERVER_CERT_PATH";
    /// MLflow's switch to skip verification, refused here.
    pub(super) const INSECURE_VAR: &str = "MLFLOW_TRACKING_INSECURE_TLS";

    /// The TLS settings for `base` from the environment (see [`settings`]).
    pub(super) fn config(base: &str) -> Result<Option<TlsConfig>, BridgeError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        settings(base, var(CERT_PATH_VAR), var(INSECURE_VAR))
    }

    /// The TLS settings for an `https://` `base`: `None` for the public roots, the roots of the
    /// PEM file `cert_path` (the value of [`CERT_PATH_VAR`]) when given; an error for a file that
    /// cannot be read or holds no certificate, and for `insecure` (the value of [`INSECURE_VAR`])
    /// `true`. A plain `http://` base needs none.
    pub(super) fn settings(
        base: &str,
        cert_path: Option<String>,
        insecure: Option<String>,
    ) -> Result<Option<TlsConfig>, BridgeError> {
        if !base.starts_with("https://") {
            return Ok(None);
        }
        let refuse = |reason: String| BridgeError::Url { url: base.to_owned(), reason };
        if insecure.is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
            return Err(refuse(format!(
                "{INSECURE_VAR}=true asks not to verify the server, which the bridge does not do: give \
                 the PEM file of the server's certificate authority in {CERT_PATH_VAR} instead"
            )));
        }
        let Some(path) = cert_path else { return Ok(None) };
        let pem =
            std::fs::read(&path).map_err(|e| refuse(format!("cannot read {CERT_PATH_VAR}={path}: {e}")))?;
        let mut roots = Vec::new();
        for item in parse_pem(&pem) {
            match item {
                Ok(PemItem::Certificate(cert)) => roots.push(cert),
                Ok(_) => {}
                Err(e) => return Err(refuse(format!("{CERT_PATH_VAR}={path} is not PEM: {e}"))),
            }
        }
        if roots.is_empty() {
            return Err(refuse(format!(
                "{CERT_PATH_VAR}={path} holds no certificate: give a PEM file with the server's CA \
                 certificate (-----BEGIN CERTIFICATE-----)"
            )));
        }
        Ok(Some(TlsConfig::builder().root_certs(RootCerts::Specific(Arc::new(roots))).build()))
    }
}

/// Standard base64 with padding (for HTTP basic authentication).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard_alphabet_and_padding() {
        assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"a"), "YQ==");
        assert_eq!(base64(b""), "");
    }

    #[cfg(feature = "tls")]
    #[test]
    fn a_private_ca_is_read_from_a_pem_file_and_bad_files_are_refused_naming_the_variable() {
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            Some(p.to_string_lossy().into_owned())
        };
        let https = "https://mlflow.internal";
        let ca = path("ca.pem", include_str!("../tests/fixtures/ca.pem"));
        assert!(tls::settings(https, ca.clone(), None).unwrap().is_some());
        assert!(tls::settings(https, None, None).unwrap().is_none(), "the public roots");
        assert!(tls::settings("http://127.0.0.1:5000", Some("/nowhere".into()), None).unwrap().is_none());
        let refused = |cert: Option<String>, insecure: Option<&str>| {
            tls::settings(https, cert, insecure.map(str::to_owned)).map(|_| ()).unwrap_err().to_string()
        };
        let missing = refused(Some("/nowhere/ca.pem".into()), None);
        assert!(
            missing.contains("cannot read MLFLOW_TRACKING_SERVER_CERT_PATH=/nowhere/ca.pem"),
            "{missing}"
        );
        let empty = refused(path("empty.pem", "no certificate here\n"), None);
        assert!(empty.contains("holds no certificate") && empty.contains("BEGIN CERTIFICATE"), "{empty}");
        let insecure = refused(ca, Some("True"));
        assert!(
            insecure.contains("MLFLOW_TRACKING_INSECURE_TLS=true") && insecure.contains("instead"),
            "{insecure}"
        );
    }

    #[test]
    fn urls_must_be_http() {
        assert!(matches!(Client::new("ftp://x"), Err(BridgeError::Url { .. })));
        let c = Client::new("http://127.0.0.1:5000/").unwrap();
        assert_eq!(c.url("runs/create"), "http://127.0.0.1:5000/api/2.0/mlflow/runs/create");
    }
}
