//! Label files: CSV with a header, or one JSON object per line, checked whole before anything
//! is stored.

use std::path::Path;

use serde_json::Value;

use super::{LabelError, LabelMapping, NewLabel, label_error};
use mlflow_core::text::escape_controls as esc;

/// Bad lines named in a [`LabelError::BadLines`] message.
const LISTED: usize = 10;
/// Request ids longer than this are refused (the server keeps ids of at most 128 bytes).
const MAX_REQUEST_ID: usize = 128;

/// The two label file formats.
///
/// ```
/// use mlflow_serve::LabelFileFormat;
/// assert_eq!(LabelFileFormat::of("june.csv".as_ref(), b"{\"request_id\": 1}"), LabelFileFormat::Csv);
/// assert_eq!(LabelFileFormat::of("june.jsonl".as_ref(), b""), LabelFileFormat::JsonLines);
/// assert_eq!(LabelFileFormat::of("june.txt".as_ref(), b"  {\"request_id\": \"a\"}"), LabelFileFormat::JsonLines);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelFileFormat {
    /// Comma-separated, with a header naming the columns `request_id`, `label` and optionally
    /// `row` (in any order; other columns are ignored).
    Csv,
    /// One JSON object per line, `{"request_id": "...", "row": 0, "label": ...}` (`row`
    /// optional); blank lines are skipped.
    JsonLines,
}

impl LabelFileFormat {
    /// By the file's extension (`.csv`; `.jsonl`, `.ndjson`, `.json`), else by its first
    /// character that is not a space (`{`: JSON lines).
    ///
    /// See [`LabelFileFormat`] for an example.
    pub fn of(path: &Path, bytes: &[u8]) -> LabelFileFormat {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("csv") => LabelFileFormat::Csv,
            Some("jsonl" | "ndjson" | "json") => LabelFileFormat::JsonLines,
            _ if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') => LabelFileFormat::JsonLines,
            _ => LabelFileFormat::Csv,
        }
    }
}

/// Reads the labels of a CSV or JSON-lines file (see [`LabelFileFormat`]), each mapped to a
/// true value by `mapping`. The file is checked whole: any bad line (a missing or too long
/// request id, a row that is not a whole number, a label the model does not know, malformed
/// JSON or CSV) refuses it with [`LabelError::BadLines`] naming the bad lines (1-based, the
/// header being line 1), so that nothing of a bad file is stored. A file with no label is
/// [`LabelError::EmptyFile`].
///
/// ```
/// use mlflow_ml::models::Task;
/// use mlflow_serve::{LabelError, LabelMapping, NewLabel, TrueValue, read_label_file};
/// let dir = tempfile::tempdir().unwrap();
/// let mapping = LabelMapping::new(Task::Classification { classes: 2 }, None);
/// let path = dir.path().join("june.csv");
/// std::fs::write(&path, "request_id,row,label\nreq-1,0,1\nreq-2,,0\n")?;
/// let (labels, _) = read_label_file(&path, &mapping)?;
/// assert_eq!(labels, [NewLabel::new("req-1", 0, TrueValue::Class(1)), NewLabel::new("req-2", 0, TrueValue::Class(0))]);
///
/// std::fs::write(&path, "request_id,label\nreq-1,1\nreq-2,7\n")?;
/// let err = read_label_file(&path, &mapping).unwrap_err();
/// assert!(matches!(err, LabelError::BadLines { count: 1, .. }));
/// assert!(err.to_string().contains("line 3: `7` is not a class"), "{err}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_label_file(
    path: &Path,
    mapping: &LabelMapping,
) -> Result<(Vec<NewLabel>, LabelFileFormat), LabelError> {
    let bytes = std::fs::read(path).map_err(|e| label_error("read the label file", path, e))?;
    let format = LabelFileFormat::of(path, &bytes);
    let mut bad = Bad::default();
    let labels = match format {
        LabelFileFormat::Csv => csv_labels(&bytes, mapping, &mut bad),
        LabelFileFormat::JsonLines => json_labels(&bytes, mapping, &mut bad),
    };
    if bad.count > 0 {
        return Err(LabelError::BadLines { file: path.to_owned(), count: bad.count, lines: bad.lines });
    }
    if labels.is_empty() {
        return Err(LabelError::EmptyFile { file: path.to_owned() });
    }
    Ok((labels, format))
}

/// The bad lines found so far: the first [`LISTED`], and how many in all.
#[derive(Default)]
struct Bad {
    count: usize,
    lines: Vec<(usize, String)>,
}

impl Bad {
    fn add(&mut self, line: usize, what: String) {
        self.count += 1;
        if self.lines.len() < LISTED {
            self.lines.push((line, what));
        }
    }
}

fn csv_labels(bytes: &[u8], mapping: &LabelMapping, bad: &mut Bad) -> Vec<NewLabel> {
    let mut reader =
        csv::ReaderBuilder::new().has_headers(true).flexible(true).trim(csv::Trim::All).from_reader(bytes);
    let headers = match reader.headers() {
        Ok(headers) => headers.clone(),
        Err(e) => {
            bad.add(
                1,
                format!(
                    "the header is not CSV ({}); start the file with `request_id,row,label`",
                    esc(&e.to_string())
                ),
            );
            return Vec::new();
        }
    };
    let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(id_at), Some(label_at)) = (column("request_id"), column("label")) else {
        if !headers.is_empty() {
            let found = headers.iter().map(|h| format!("`{}`", esc(h))).collect::<Vec<_>>().join(", ");
            bad.add(1, format!("the header names {found}, not `request_id` and `label`; start the file with `request_id,row,label` (row optional)"));
        }
        return Vec::new();
    };
    let row_at = column("row");
    let mut labels = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line() as usize;
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(line, |p| p.line() as usize);
                bad.add(line, format!("not CSV: {}", esc(&e.to_string())));
                // An I/O or UTF-8 error may repeat forever: stop at the first.
                break;
            }
        }
        let line = record.position().map_or(line, |p| p.line() as usize);
        if record.iter().all(str::is_empty) {
            continue;
        }
        let row = match row_at.and_then(|at| record.get(at)).filter(|r| !r.is_empty()) {
            None => Ok(0),
            Some(text) => parse_row(&Value::String(text.to_owned())),
        };
        let id = record.get(id_at).unwrap_or("");
        let label = match record.get(label_at) {
            Some(text) => mapping.map_text(text),
            None => {
                Err(format!("the line has {} fields, and no `label` (column {})", record.len(), label_at + 1))
            }
        };
        match (check_id(id), row, label) {
            (Ok(()), Ok(row), Ok(value)) => labels.push(NewLabel::new(id, row, value)),
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => bad.add(line, e),
        }
    }
    labels
}

fn json_labels(bytes: &[u8], mapping: &LabelMapping, bad: &mut Bad) -> Vec<NewLabel> {
    let mut labels = Vec::new();
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line_no = i + 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let value: Value = match serde_json::from_slice(line) {
            Ok(value) => value,
            Err(e) => {
                bad.add(
                    line_no,
                    format!("not valid JSON: {}; write one object per line", esc(&e.to_string())),
                );
                continue;
            }
        };
        match json_label(&value, mapping) {
            Ok(label) => labels.push(label),
            Err(e) => bad.add(line_no, e),
        }
    }
    labels
}

/// One label object: `{"request_id": "...", "row": 0, "label": ...}` (`row` optional). Shared
/// with the server's `:feedback` body.
pub(crate) fn json_label(value: &Value, mapping: &LabelMapping) -> Result<NewLabel, String> {
    let Value::Object(fields) = value else {
        return Err(r#"not an object; send {"request_id": "...", "row": 0, "label": ...}"#.to_owned());
    };
    let id = match fields.get("request_id") {
        Some(Value::String(id)) => id.as_str(),
        Some(other) => {
            return Err(format!(
                "`request_id` is {other}, not a string; send the `x-request-id` of the prediction's answer"
            ));
        }
        None => return Err("no `request_id`; send the `x-request-id` of the prediction's answer".to_owned()),
    };
    check_id(id)?;
    let row = match fields.get("row") {
        None | Some(Value::Null) => 0,
        Some(row) => parse_row(row)?,
    };
    let label = match fields.get("label") {
        Some(label) => mapping.map_json(label)?,
        None => return Err("no `label`; send the true class (or value) as `label`".to_owned()),
    };
    Ok(NewLabel::new(id, row, label))
}

fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("the request id is empty; send the `x-request-id` of the prediction's answer".to_owned());
    }
    if id.len() > MAX_REQUEST_ID || !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "`{}` is not a request id the server logs (at most {MAX_REQUEST_ID} visible ASCII characters, no spaces)",
            esc(&id.chars().take(64).collect::<String>())
        ));
    }
    Ok(())
}

fn parse_row(value: &Value) -> Result<u32, String> {
    let parsed = match value {
        Value::Number(n) => n.as_u64(),
        Value::String(text) => text.trim().parse::<u64>().ok(),
        _ => None,
    };
    parsed.and_then(|r| u32::try_from(r).ok()).ok_or_else(|| {
        format!("the row `{}` is not a row index (a whole number from 0); send the row inside its request, 0 for a single row", esc(&value.to_string()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TrueValue;
    use mlflow_ml::features::{ClassLabel, ClassLabels};
    use mlflow_ml::models::Task;

    fn species() -> LabelMapping {
        let classes = ClassLabels::new(
            ["setosa", "versicolor", "virginica"].map(|s| ClassLabel::Text(s.into())).to_vec(),
        );
        LabelMapping::new(Task::Classification { classes: 3 }, Some(&classes))
    }

    fn read(name: &str, text: &str) -> Result<Vec<NewLabel>, LabelError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        read_label_file(&path, &species()).map(|(labels, _)| labels)
    }

    #[test]
    fn labels_files_csv_and_json_lines() {
        let csv = read("a.csv", "label, request_id ,other\nsetosa,r1,x\n\n virginica ,r2,y\n").unwrap();
        assert_eq!(
            csv,
            [NewLabel::new("r1", 0, TrueValue::Class(0)), NewLabel::new("r2", 0, TrueValue::Class(2))]
        );
        let jsonl = read(
            "a.jsonl",
            "{\"request_id\": \"r1\", \"row\": 2, \"label\": \"versicolor\"}\n\n{\"request_id\": \"r1\", \"label\": \"setosa\"}",
        )
        .unwrap();
        assert_eq!(
            jsonl,
            [NewLabel::new("r1", 2, TrueValue::Class(1)), NewLabel::new("r1", 0, TrueValue::Class(0))]
        );
    }

    #[test]
    fn labels_files_bad_lines_refuse_the_whole_file() {
        let err = read("a.csv", "request_id,row,label\nr1,0,setosa\nr2,x,setosa\nr3,0,rose\n,0,setosa\n")
            .unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, LabelError::BadLines { count: 3, .. }), "{message}");
        assert!(message.contains("line 3: the row `\"x\"` is not a row index"), "{message}");
        assert!(
            message.contains(
                "line 4: `rose` is not a class of this model; its classes are setosa, versicolor, virginica"
            ),
            "{message}"
        );
        assert!(message.contains("line 5: the request id is empty"), "{message}");
        assert!(message.contains("no label of the file was stored"), "{message}");

        let message = read(
            "a.jsonl",
            "{\"request_id\": \"r1\", \"label\": \"setosa\"}\n{\"request_id\": \"r2\", \"label\": \n[1]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(message.contains("line 2: not valid JSON"), "{message}");
        assert!(message.contains("line 3: not an object"), "{message}");

        let message = read("a.csv", "id,truth\nr1,setosa\n").unwrap_err().to_string();
        assert!(message.contains("line 1: the header names `id`, `truth`"), "{message}");

        let many: String = (0..25).map(|i| format!("r{i},rose\n")).collect();
        let message = read("a.csv", &format!("request_id,label\n{many}")).unwrap_err().to_string();
        assert!(message.contains("25 bad lines") && message.contains("and 15 more"), "{message}");
    }

    #[test]
    fn labels_files_empty() {
        for (name, text) in [("a.csv", ""), ("a.csv", "request_id,row,label\n"), ("a.jsonl", "\n  \n")] {
            let err = read(name, text).unwrap_err();
            assert!(matches!(err, LabelError::EmptyFile { .. }), "{name} {text:?}: {err}");
            assert!(err.to_string().contains("holds no label"), "{err}");
        }
    }
}
