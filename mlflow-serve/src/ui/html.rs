//! The pieces every page shares: escaping, query strings, the page frame and formatting.

use std::fmt::Write as _;
use std::time::Duration;

use mlflow_core::track::format_timestamp;

/// Escapes user text for HTML text and attribute values: every piece of user text on every page
/// goes through it (the report's rules, so a run's name reads the same in both).
///
/// ```
/// use mlflow_serve::ui::escape;
/// assert_eq!(escape(r#"<script>alert("x")</script>"#), "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
/// assert_eq!(escape("a & b's"), "a &amp; b&#39;s");
/// ```
pub use mlflow_ml::report::escape_html as escape;

/// Percent-encodes `text` for a path segment or a query value (everything but `A-Z a-z 0-9 - _ . ~`).
pub(crate) fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Decodes `%XX` escapes (and `+` as a space when `plus` is set); malformed escapes are kept as
/// they are, and bytes that are not UTF-8 become U+FFFD.
pub(crate) fn url_decode(text: &str, plus: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let hex = |c: u8| (c as char).to_digit(16);
        if b == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(if plus && b == b'+' { b' ' } else { b });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The pairs of a query string or a form body (`a=1&b=2`), decoded, in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    pub(crate) fn parse(text: &str) -> Query {
        Query(
            text.split('&')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap_or((p, ""));
                    (url_decode(k, true), url_decode(v, true))
                })
                .collect(),
        )
    }

    /// The first non-empty value of `key`, trimmed.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().filter(|(k, _)| k == key).map(|(_, v)| v.trim()).find(|v| !v.is_empty())
    }

    /// Every non-empty value of `key`, trimmed.
    pub(crate) fn all(&self, key: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == key).map(|(_, v)| v.trim()).filter(|v| !v.is_empty()).collect()
    }
}

/// A query string from pairs (values encoded), without the `?`.
pub(crate) fn query_string<'a>(pairs: impl IntoIterator<Item = (&'a str, String)>) -> String {
    pairs
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", url_encode(&v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The navigation entry a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nav {
    Runs,
    Studies,
    Models,
    None,
}

/// A whole page: the frame (navigation, stylesheet, script) around `body`, which must already be
/// escaped. Nothing inline: the CSS and the script are served by the binary at `/static/`.
pub(crate) fn layout(title: &str, nav: Nav, body: &str) -> String {
    let current = |n: Nav| if n == nav { r#" aria-current="page""# } else { "" };
    format!(
        r##"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · mlflow-pipelines</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/app.css">
<script src="/static/app.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header><nav aria-label="main"><a class="brand" href="/">mlflow-pipelines</a> <a href="/"{runs}>Runs</a> <a href="/studies"{studies}>Studies</a> <a href="/models"{models}>Models</a></nav></header>
<main id="main">
{body}</main>
</body>
</html>
"##,
        title = escape(title),
        runs = current(Nav::Runs),
        studies = current(Nav::Studies),
        models = current(Nav::Models),
    )
}

/// The highest page number a listing takes (an offset the database can hold).
const MAX_PAGE: usize = 1_000_000_000;

/// The page number a query asks for (`page`, from 1; 1 when absent or not a number).
pub(crate) fn page_number(q: &Query) -> usize {
    q.get("page").and_then(|p| p.parse().ok()).filter(|p| *p >= 1).unwrap_or(1).min(MAX_PAGE)
}

/// A listing's page links: previous, "page N of M", next; `link(n)` is page `n`'s address
/// (unescaped).
pub(crate) fn pager(page: usize, pages: usize, link: impl Fn(usize) -> String) -> String {
    let mut out = String::from("<nav class=\"pages\" aria-label=\"pages\">");
    if page > 1 {
        let _ = write!(out, r#"<a href="{}" rel="prev">Previous</a> "#, escape(&link(page - 1)));
    }
    let _ = write!(out, "<span>page {page} of {pages}</span>");
    if page < pages {
        let _ = write!(out, r#" <a href="{}" rel="next">Next</a>"#, escape(&link(page + 1)));
    }
    out.push_str("</nav>\n");
    out
}

/// A number for a table cell.
pub(crate) fn number(value: f64) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    if value != 0.0 && (value.abs() >= 1e6 || value.abs() < 1e-4) {
        format!("{value:.4e}")
    } else {
        let text = format!("{value:.4}");
        let text = text.trim_end_matches('0').trim_end_matches('.');
        if text.is_empty() || text == "-" { "0".to_owned() } else { text.to_owned() }
    }
}

/// A duration in milliseconds, as the command line prints it.
pub(crate) fn millis(ms: i64) -> String {
    mlflow_core::exec::format_duration(Duration::from_millis(ms.max(0) as u64))
}

/// A time, in UTC.
pub(crate) fn time(ms: i64) -> String {
    format_timestamp(ms)
}

/// Parses a time: milliseconds since the Unix epoch, or `YYYY-MM-DD[ T]HH:MM[:SS]` in UTC (a
/// trailing `UTC` or `Z` is allowed; a bare date is its midnight).
pub(crate) fn parse_time(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(ms) = text.parse::<i64>() {
        return Some(ms);
    }
    let text = text.trim_end_matches("UTC").trim_end_matches('Z').trim();
    let (date, clock) = text.split_once([' ', 'T']).unwrap_or((text, "00:00"));
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, mo, day) = (d.next()??, d.next()??, d.next()??);
    let mut c = clock.trim().split(':').map(|p| p.parse::<i64>().ok());
    let (h, mi) = (c.next()??, c.next()??);
    let s = c.next().flatten().unwrap_or(0);
    if d.next().is_some()
        || !(1..=12).contains(&mo)
        || !(1..=31).contains(&day)
        || h > 23
        || mi > 59
        || s > 60
    {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400) + h * 3600 + mi * 60 + s) * 1000)
}

/// The first `n` hex digits of a hash's text.
pub(crate) fn short(hex: &str) -> &str {
    &hex[..hex.len().min(12)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(escape("<script>alert('x')</script>"), "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
        assert_eq!(escape("plain"), "plain");
    }

    #[test]
    fn query_strings_round_trip() {
        let q = Query::parse("where=param.seed%3D1+and+auc%3E0.5&run=a&run=b&empty=&%zz=1");
        assert_eq!(q.get("where"), Some("param.seed=1 and auc>0.5"));
        assert_eq!(q.all("run"), ["a", "b"]);
        assert_eq!(q.get("empty"), None);
        assert_eq!(q.get("%zz"), Some("1"));
        assert_eq!(url_decode("%", false), "%");
        assert_eq!(url_decode("%4", false), "%4");
        assert_eq!(url_decode("%ff", false), "\u{fffd}");
        assert_eq!(url_decode(&url_encode("a b/<é>"), false), "a b/<é>");
    }

    #[test]
    fn times_parse_as_they_are_printed() {
        for ms in [0, 951_782_400_000 + 3_723_000, 1_765_000_000_000] {
            assert_eq!(parse_time(&time(ms)), Some(ms), "{}", time(ms));
        }
        assert_eq!(parse_time("1970-01-02"), Some(86_400_000));
        assert_eq!(parse_time("2000-13-01 00:00"), None);
        assert_eq!(parse_time("soon"), None);
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(number(0.5), "0.5");
        assert_eq!(number(1.0), "1");
        assert_eq!(number(0.0), "0");
        assert_eq!(number(f64::NAN), "NaN");
    }
}
