//! The streaming loop: read a chunk of rows, check it against the package's input plan, score
//! it, write it back with its predictions.

use std::borrow::Cow;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use ndarray::Array2;

use super::output::{CsvOutput, Output};
use super::{BatchError, BatchOptions, BatchProgress, BatchSummary, output_columns};
use crate::{Prediction, Scorer, ServeError, join};
use mlflow_ml::data::{Column, DataError, LineCounter, Table};
use mlflow_ml::features::ClassLabels;
use mlflow_ml::features::FeatureError;
use mlflow_ml::models::Outputs;

/// Scores CSV text read from `input` and writes the scored CSV to `output`, a chunk at a time;
/// `name` names the input in messages. Nothing is written before the first chunk is scored; on
/// an error, the chunks before it have been written: write to a temporary file (as
/// [`score_csv_file`](crate::score_csv_file) does) when a partial output must not be seen.
///
/// # Input
/// - A package with feature transformers (see
///   [`ModelPackage::with_features`](crate::ModelPackage::with_features)) scores **raw rows**:
///   the file needs the columns its transformers read
///   ([`FittedFeatures::input_columns`](mlflow_ml::features::FittedFeatures::input_columns)); other
///   columns are allowed and passed through.
/// - A package without transformers scores **engineered features**: the file needs one column
///   per signature feature, in any order, each value a finite number.
///
/// The CSV rules are those of [`mlflow_ml::data`] (header on line 1, unique non-empty names, as many
/// fields in every record as in the header, UTF-8, a leading byte-order mark skipped). The file
/// is never read whole: memory is bounded by the chunk size ([`BatchOptions::chunk_rows`]).
///
/// # Typing does not depend on the chunks
/// Column types are not inferred from the values of a chunk (a chunk where `Age` is always
/// empty would otherwise look like a text column). The fields the transformers read are handed
/// to them as text, and each value is parsed where a step needs a number (surrounding spaces
/// ignored, empty = missing, NaN and infinities refused), exactly as it would be from a whole
/// table. The output is therefore byte-for-byte the same whatever the chunk size.
///
/// # Output
/// Every input column (or only those of [`BatchOptions::keep`], in that order), verbatim,
/// followed by `prediction` (0 or 1) and `probability` (P(class 1), shortest round-trip
/// decimal). Output rows are written as their chunk is scored.
///
/// # Errors
/// A bad row stops the run with an error naming the file, the 1-based line (the header is line
/// 1), the column and what to do: a ragged row, text where a number is needed, NaN or infinity,
/// a missing value the model cannot do without, a category the encoder refuses. A missing
/// column is reported before any row is read. [`score_csv_file`](crate::score_csv_file) writes to a temporary file
/// beside the destination and renames it only on success: a failed run leaves an existing
/// destination untouched. See [`BatchError`].
///
/// ```
/// use mlflow_ml::data::{Column, Table};
/// use mlflow_ml::features::{Encoder, Feature, FeatureSpec};
/// use mlflow_ml::models::{Model, ModelParams, NaiveBayesParams};
/// use mlflow_serve::{score_csv, BatchOptions, Lineage, ModelPackage, Scorer};
/// // A package with a feature transformer scores raw rows.
/// let train = Table::new(vec![("sex".into(), Column::Str(vec![Some("m".into()), Some("f".into())]))]).unwrap();
/// let fitted = FeatureSpec::new().with(Feature::column("sex").then(Encoder::explicit([("m", 0), ("f", 1)]))).fit(&train, &[0, 1])?;
/// let x = ndarray::array![[0.0], [0.0], [1.0], [1.0]];
/// let model = Model::fit(x.view(), &[0, 0, 1, 1], &ModelParams::NaiveBayes(NaiveBayesParams::default()))?;
/// let package = ModelPackage::new("nb", model, None, &["sex"], x.view(), Lineage::default())?.with_features(fitted)?;
/// let scorer = Scorer::new(package);
///
/// let mut out = Vec::new();
/// score_csv(&scorer, &b"name,sex\nAda,f\nAlan,m\n"[..], "people.csv", &mut out, &BatchOptions::new())?;
/// let out = String::from_utf8(out).unwrap();
/// let labels: Vec<&str> = out.lines().skip(1).map(|l| l.split(',').nth(2).unwrap()).collect();
/// assert_eq!(labels, ["1", "0"]);
///
/// let err = score_csv(&scorer, &b"name,sex\nAda,x\n"[..], "people.csv", Vec::new(), &BatchOptions::new()).unwrap_err();
/// assert!(err.to_string().starts_with("`people.csv` line 2, column `sex`"), "{err}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn score_csv<R: Read, W: Write>(
    scorer: &Scorer,
    input: R,
    name: &str,
    output: W,
    options: &BatchOptions,
) -> Result<BatchSummary, BatchError> {
    run(scorer, input, name, None, CsvOutput::new(output, options.delimiter, "the output"), options)
}

/// How the model's inputs are read from a record.
pub(super) enum Inputs {
    /// Raw columns for the feature transformers: `(name, field index)`.
    Raw(Vec<(String, usize)>),
    /// One field index per signature feature, in signature order.
    Features(Vec<(String, usize)>),
}

/// What to read and write, fixed by the header.
pub(super) struct Plan {
    pub(super) inputs: Inputs,
    pub(super) keep: Vec<usize>,
    pub(super) out_header: Vec<String>,
    /// The model's classes, to write labels as given (`None`: a regressor).
    pub(super) classes: Option<ClassLabels>,
}

/// One scored chunk: every output, and the per-row summary.
pub(super) struct ScoredChunk {
    pub(super) outputs: Outputs,
    pub(super) predictions: Vec<Prediction>,
}

impl Plan {
    pub(super) fn new(
        scorer: &Scorer,
        header: &[String],
        file: &str,
        options: &BatchOptions,
    ) -> Result<Plan, BatchError> {
        let position = |name: &str| header.iter().position(|h| h == name);
        let package = scorer.package();
        let model = model_label(scorer);
        let (wanted, needs, raw) = match package.features() {
            Some(features) => {
                let columns = features.input_columns();
                let needs = format!(
                    "its feature transformers read {}; other columns are passed through",
                    join(&columns)
                );
                (columns, needs, true)
            }
            None => {
                let names = package.signature().names();
                let needs = format!(
                    "it has no feature transformers, so it scores engineered features: {}, in any order",
                    join(&names)
                );
                (names, needs, false)
            }
        };
        let mut found = Vec::with_capacity(wanted.len());
        let mut missing = Vec::new();
        for name in wanted {
            match position(&name) {
                Some(j) => found.push((name, j)),
                None => missing.push(name),
            }
        }
        if !missing.is_empty() {
            return Err(BatchError::MissingColumns {
                file: file.to_owned(),
                missing,
                model,
                needs,
                available: header.to_vec(),
            });
        }
        let keep = match &options.keep {
            None => (0..header.len()).collect(),
            Some(names) => {
                let mut keep = Vec::with_capacity(names.len());
                for name in names {
                    let bad = |reason| BatchError::Keep {
                        file: file.to_owned(),
                        column: name.clone(),
                        reason,
                        available: header.to_vec(),
                    };
                    let j = position(name.trim()).ok_or_else(|| bad("it is not in the header"))?;
                    if keep.contains(&j) {
                        return Err(bad("it is named twice"));
                    }
                    keep.push(j);
                }
                keep
            }
        };
        let mut out_header: Vec<String> = keep.iter().map(|&j| header[j].clone()).collect();
        let outputs = output_columns(package);
        if let Some(clash) = out_header.iter().find(|h| outputs.contains(h)) {
            return Err(BatchError::OutputClash { file: file.to_owned(), column: clash.clone() });
        }
        out_header.extend(outputs);
        let inputs = if raw { Inputs::Raw(found) } else { Inputs::Features(found) };
        Ok(Plan { inputs, keep, out_header, classes: package.classes().cloned() })
    }
}

fn model_label(scorer: &Scorer) -> String {
    let package = scorer.package();
    let lineage = package.lineage();
    match (&lineage.model_name, lineage.model_version) {
        (Some(name), Some(version)) => format!("{name}/{version}"),
        _ => package.name().to_owned(),
    }
}

/// A field read as a number.
pub(super) enum Number<'a> {
    /// A finite number.
    Value(f64),
    /// An empty field (or a null).
    Missing,
    /// Text that is not a number, as written.
    Text(Cow<'a, str>),
    /// NaN or an infinity, as written.
    NotFinite(Cow<'a, str>),
}

/// The rows of one chunk as the scoring code sees them, whatever the input's format (CSV
/// records, a batch of a Parquet file): fields by header index, and errors placed as the format
/// places them (a line of a CSV file, a row of a Parquet file).
pub(super) trait ChunkRows {
    /// How a value is marked missing in this format, for messages.
    const MARK_MISSING: &'static str;

    /// Number of rows.
    fn len(&self) -> usize;

    /// Field `j` of row `i` as the text a CSV file holds (empty when missing).
    fn text(&self, i: usize, j: usize) -> Cow<'_, str>;

    /// Field `j` of row `i` as a number: parsed from its text, surrounding spaces ignored.
    fn number(&self, i: usize, j: usize) -> Number<'_> {
        let text = self.text(i, j);
        let t = text.trim_ascii();
        match t.parse::<f64>() {
            Ok(v) if v.is_finite() => Number::Value(v),
            _ if t.is_empty() => Number::Missing,
            Ok(_) => Number::NotFinite(text),
            Err(_) => Number::Text(text),
        }
    }

    /// Field `j` of every row as a column of the output: text as written (a field that is empty
    /// or only spaces is missing), unless the format has types.
    #[cfg_attr(not(feature = "parquet"), allow(dead_code))]
    fn column(&self, j: usize) -> Column {
        Column::Str(
            (0..self.len())
                .map(|i| {
                    let text = self.text(i, j);
                    (!text.trim_ascii().is_empty()).then(|| text.into_owned())
                })
                .collect(),
        )
    }

    /// A bad value in row `i`.
    fn row_error(&self, file: &str, i: usize, column: &str, detail: String) -> BatchError;

    /// The transformers or the model failed on the chunk.
    fn chunk_error(&self, file: &str, source: ServeError) -> BatchError;
}

/// The records of one chunk, reused from chunk to chunk.
struct Chunk {
    records: Vec<csv::ByteRecord>,
    lines: Vec<u64>,
    len: usize,
    /// 0-based file row of the chunk's first record.
    first_row: u64,
}

impl Chunk {
    fn line(&self, i: usize) -> u64 {
        self.lines.get(i).copied().unwrap_or(0)
    }
}

impl ChunkRows for Chunk {
    const MARK_MISSING: &'static str = "leave the field empty";

    fn len(&self) -> usize {
        self.len
    }

    /// The text of field `j` of record `i` (the records are UTF-8 checked when read).
    fn text(&self, i: usize, j: usize) -> Cow<'_, str> {
        Cow::Borrowed(
            self.records
                .get(i)
                .and_then(|r| r.get(j))
                .and_then(|f| std::str::from_utf8(f).ok())
                .unwrap_or(""),
        )
    }

    fn row_error(&self, file: &str, i: usize, column: &str, detail: String) -> BatchError {
        BatchError::Row {
            file: file.to_owned(),
            line: self.line(i),
            row: self.first_row + i as u64,
            column: column.to_owned(),
            detail,
        }
    }

    fn chunk_error(&self, file: &str, source: ServeError) -> BatchError {
        let (file, first_line, last_line) =
            (file.to_owned(), self.line(0), self.line(self.len.saturating_sub(1)));
        match source {
            ServeError::Features(e) => {
                BatchError::Features { file, first_line, last_line, source: Box::new(e) }
            }
            other => BatchError::Score { file, first_line, last_line, source: Box::new(other) },
        }
    }
}

pub(super) fn run<R: Read>(
    scorer: &Scorer,
    mut input: R,
    name: &str,
    total: Option<u64>,
    mut output: impl Output,
    options: &BatchOptions,
) -> Result<BatchSummary, BatchError> {
    let started = Instant::now();
    if options.chunk_rows == 0 {
        return Err(BatchError::Options("chunks of 0 rows; give at least 1 row per chunk".into()));
    }
    let read_error = |source| BatchError::Io { action: "read", target: format!("`{name}`"), source };
    // Skip a UTF-8 byte-order mark, as `data::parse_csv` does.
    let mut start = [0u8; 3];
    let mut got = 0;
    while got < 3 {
        match input.read(&mut start[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(read_error(e)),
        }
    }
    let bom = if start[..got] == *b"\xEF\xBB\xBF" { 3 } else { 0 };
    let prefix = io::Cursor::new(start[bom..got].to_vec());
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(options.delimiter)
        .buffer_capacity(1 << 16)
        .from_reader(LineCounter::new(prefix.chain(input)));
    // Lines are counted from byte offsets: the csv crate's own count is off after `\r\n`.
    let csv_error = |e: csv::Error, lines: &mut LineCounter<_>| {
        let line = e.position().map(|p| lines.line_at(p.byte()));
        let message = e.to_string();
        match e.into_kind() {
            csv::ErrorKind::Io(source) => read_error(source),
            _ => BatchError::Data(DataError::Csv { file: name.to_owned(), line, message }),
        }
    };

    let mut record = csv::ByteRecord::new();
    if !reader.read_byte_record(&mut record).map_err(|e| csv_error(e, reader.get_mut()))? {
        return Err(DataError::Empty { file: name.to_owned() }.into());
    }
    let header = parse_header(&record, name)?;
    let plan = Plan::new(scorer, &header, name, options)?;
    let bytes_read = |reader: &csv::Reader<_>| reader.position().byte() + bom as u64;
    let mut summary = BatchSummary::started(scorer, name, bytes_read(&reader));
    let run = ChunkRun { scorer, plan: &plan, file: name, options, total_bytes: total };
    options.report(BatchProgress { bytes_read: summary.bytes_read, total_bytes: total, rows: 0 });

    let mut chunk = Chunk { records: Vec::new(), lines: Vec::new(), len: 0, first_row: 0 };
    let mut done = false;
    while !done {
        chunk.len = 0;
        chunk.lines.clear();
        chunk.first_row = summary.rows;
        while chunk.len < options.chunk_rows {
            if chunk.len == chunk.records.len() {
                chunk.records.push(csv::ByteRecord::new());
            }
            let record = &mut chunk.records[chunk.len];
            if !reader.read_byte_record(record).map_err(|e| csv_error(e, reader.get_mut()))? {
                done = true;
                break;
            }
            let line = reader.get_mut().line_at(record.position().map_or(0, |p| p.byte()));
            check_record(record, &header, name, line, summary.rows + chunk.len as u64)?;
            chunk.lines.push(line);
            chunk.len += 1;
        }
        if chunk.len == 0 {
            break;
        }
        run.score_and_write(&chunk, &mut output, &mut summary, bytes_read(&reader))?;
    }
    if summary.rows == 0 {
        return Err(DataError::HeaderOnly { file: name.to_owned(), columns: header.len() }.into());
    }
    output.finish()?;
    summary.elapsed = started.elapsed();
    Ok(summary)
}

/// The header's names, trimmed; each must be UTF-8, non-empty and unique.
fn parse_header(record: &csv::ByteRecord, file: &str) -> Result<Vec<String>, DataError> {
    let mut header: Vec<String> = Vec::with_capacity(record.len());
    for (j, field) in record.iter().enumerate() {
        let name = std::str::from_utf8(field).map_err(|e| DataError::NotUtf8 {
            file: file.to_owned(),
            line: 1,
            column: format!("#{}", j + 1),
            valid_up_to: e.valid_up_to(),
        })?;
        let name = name.trim();
        if name.is_empty() {
            return Err(DataError::EmptyHeader { file: file.to_owned(), line: 1, position: j + 1 });
        }
        if let Some(first) = header.iter().position(|h| h == name) {
            return Err(DataError::DuplicateHeader {
                file: file.to_owned(),
                line: 1,
                name: name.to_owned(),
                first: first + 1,
                second: j + 1,
            });
        }
        header.push(name.to_owned());
    }
    Ok(header)
}

/// As many fields as the header, all UTF-8.
fn check_record(
    record: &csv::ByteRecord,
    header: &[String],
    file: &str,
    line: u64,
    row: u64,
) -> Result<(), DataError> {
    if record.len() != header.len() {
        return Err(DataError::RaggedRow {
            file: file.to_owned(),
            line,
            row: row as usize,
            expected: header.len(),
            found: record.len(),
        });
    }
    // Fields valid one by one are valid concatenated: check the whole record at once and go
    // field by field only to name the bad one.
    if std::str::from_utf8(record.as_slice()).is_err() {
        for (field, column) in record.iter().zip(header) {
            if let Err(e) = std::str::from_utf8(field) {
                return Err(DataError::NotUtf8 {
                    file: file.to_owned(),
                    line,
                    column: column.clone(),
                    valid_up_to: e.valid_up_to(),
                });
            }
        }
    }
    Ok(())
}

impl BatchSummary {
    /// The summary of a batch run over `input` before its first row.
    pub(super) fn started(scorer: &Scorer, input: &str, bytes_read: u64) -> BatchSummary {
        let lineage = scorer.package().lineage();
        BatchSummary {
            input: input.to_owned(),
            rows: 0,
            positives: 0,
            chunks: 0,
            bytes_read,
            elapsed: Duration::ZERO,
            package: scorer.package().name().to_owned(),
            model_name: lineage.model_name.clone(),
            model_version: lineage.model_version,
        }
    }
}

/// What every chunk of one batch run is scored with, whatever the input format.
pub(super) struct ChunkRun<'a> {
    pub(super) scorer: &'a Scorer,
    pub(super) plan: &'a Plan,
    pub(super) file: &'a str,
    pub(super) options: &'a BatchOptions,
    pub(super) total_bytes: Option<u64>,
}

impl ChunkRun<'_> {
    /// Scores `chunk`, writes it, counts it in `summary` and reports progress (`bytes_read` of
    /// the input so far).
    pub(super) fn score_and_write<C: ChunkRows, O: Output>(
        &self,
        chunk: &C,
        output: &mut O,
        summary: &mut BatchSummary,
        bytes_read: u64,
    ) -> Result<(), BatchError> {
        let outputs = score_chunk(self.scorer, self.plan, chunk, self.file)?;
        let scored = ScoredChunk { predictions: Prediction::summarize(&outputs), outputs };
        output.write_chunk(self.plan, chunk, &scored)?;
        summary.rows += chunk.len() as u64;
        if matches!(&scored.outputs, Outputs::Probabilities(p) if p.ncols() == 2) {
            summary.positives += scored.predictions.iter().filter(|p| p.label == 1).count() as u64;
        }
        summary.chunks += 1;
        summary.bytes_read = bytes_read;
        self.options.report(BatchProgress { bytes_read, total_bytes: self.total_bytes, rows: summary.rows });
        Ok(())
    }
}

pub(super) fn score_chunk<C: ChunkRows>(
    scorer: &Scorer,
    plan: &Plan,
    chunk: &C,
    file: &str,
) -> Result<Outputs, BatchError> {
    let n = chunk.len();
    let score_error = |source| chunk.chunk_error(file, source);
    let predictions = match &plan.inputs {
        Inputs::Raw(columns) => {
            let table = Table::new(
                columns
                    .iter()
                    .map(|(name, j)| {
                        let values = (0..n)
                            .map(|i| {
                                let text = chunk.text(i, *j);
                                (!text.trim_ascii().is_empty()).then(|| text.into_owned())
                            })
                            .collect();
                        (name.clone(), Column::Str(values))
                    })
                    .collect(),
            )?;
            match scorer.predict_table(&table) {
                Ok(p) => p,
                Err(ServeError::Features(e)) => return Err(feature_error(e, chunk, plan, file)),
                Err(e) => return Err(score_error(e)),
            }
        }
        Inputs::Features(columns) => {
            let mut x = Array2::zeros((n, columns.len()));
            for (k, (name, j)) in columns.iter().enumerate() {
                for i in 0..n {
                    let detail = match chunk.number(i, *j) {
                        Number::Value(v) => {
                            x[[i, k]] = v;
                            continue;
                        }
                        Number::Missing => "the value is missing but the model needs every feature; fill it in (impute before scoring, or package the model with its feature transformers)".to_owned(),
                        Number::NotFinite(text) => format!("`{text}` is not a finite number (NaN and infinities are not accepted); fix the value"),
                        Number::Text(text) => format!("`{text}` is not a number; fix the value"),
                    };
                    return Err(chunk.row_error(file, i, name, detail));
                }
            }
            scorer.predict(x.view()).map_err(score_error)?
        }
    };
    if predictions.rows() != n {
        return Err(score_error(ServeError::Build(format!(
            "the model returned {} predictions for {n} rows; repackage the model",
            predictions.rows()
        ))));
    }
    Ok(predictions)
}

/// A transformer error on one value becomes a [`BatchError::Row`] naming its line; the row in
/// a [`FeatureError`] is the chunk's.
fn feature_error<C: ChunkRows>(e: FeatureError, chunk: &C, plan: &Plan, file: &str) -> BatchError {
    // The field as written, when the column is an input column.
    let raw = |row: usize, column: &str| -> Option<String> {
        match &plan.inputs {
            Inputs::Raw(columns) | Inputs::Features(columns) => {
                columns.iter().find(|(name, _)| name == column).map(|(_, j)| chunk.text(row, *j).into_owned())
            }
        }
    };
    let mark = C::MARK_MISSING;
    let none = String::new();
    let (row, column, detail) = match &e {
        FeatureError::NotNumeric { column, row, value, context } => (
            *row,
            column,
            format!("`{value}` is not a number; fix the value, or {mark} to mark it missing{context}"),
        ),
        FeatureError::NotFinite { column, row, value, context } => (
            *row,
            column,
            format!(
                "`{}` is not a finite number (NaN and infinities are not accepted); fix the value, or {mark} to mark it missing{context}",
                raw(*row, column).unwrap_or_else(|| value.to_string())
            ),
        ),
        FeatureError::MissingValue { column, row, context, .. } => (
            *row,
            column,
            format!(
                "the value is missing but the model needs one (the package has no imputer for it); fill the field in{context}"
            ),
        ),
        FeatureError::UnseenCategory { column, row, value, known, context } => (
            *row,
            column,
            format!(
                "category `{value}` is unknown to the model's encoder, which knows only {known} and refuses others; fix the value, or retrain with an encoder that gives unseen categories a code{context}"
            ),
        ),
        FeatureError::DivisionByZero { column, row, context } => {
            (*row, column, format!("the denominator is zero; fix the values it is computed from{context}"))
        }
        _ => (usize::MAX, &none, String::new()),
    };
    if row < chunk.len() {
        return chunk.row_error(file, row, column, detail);
    }
    chunk.chunk_error(file, ServeError::Features(e))
}

#[cfg(test)]
mod tests {
    use super::super::test_scorer as scorer;
    use super::*;

    fn score(text: &str, options: &BatchOptions) -> Result<String, BatchError> {
        let mut out = Vec::new();
        score_csv(&scorer(), text.as_bytes(), "t.csv", &mut out, options)?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn bom_quotes_and_delimiters_round_trip() {
        let out = score("\u{feff}id;a;b\n\"x;y\";0.1;1\n", &BatchOptions::new().delimiter(b';')).unwrap();
        assert!(out.starts_with("id;a;b;prediction;probability\n\"x;y\";0.1;1;0;"), "{out}");
    }

    #[test]
    fn bad_options_and_headers() {
        let err = score("a,b\n1,2\n", &BatchOptions::new().chunk_rows(0)).unwrap_err();
        assert!(matches!(err, BatchError::Options(_)), "{err}");
        let err = score("a,b,a\n1,2,3\n", &BatchOptions::new()).unwrap_err();
        assert!(matches!(err, BatchError::Data(DataError::DuplicateHeader { .. })), "{err}");
        let err = score("a,b,prediction\n1,2,3\n", &BatchOptions::new()).unwrap_err();
        assert!(matches!(&err, BatchError::OutputClash { column, .. } if column == "prediction"), "{err}");
        assert!(score("a,b,prediction\n1,2,3\n", &BatchOptions::new().keep(["a"])).is_ok());
        let err = score("a,b\n1,2\n", &BatchOptions::new().keep(["a", "a"])).unwrap_err();
        assert!(err.to_string().contains("named twice"), "{err}");
        let err = score("a,b\n1,\n", &BatchOptions::new()).unwrap_err();
        assert!(matches!(&err, BatchError::Row { line: 2, column, .. } if column == "b"), "{err}");
        assert!(err.to_string().contains("missing"), "{err}");
        let err = score("a;b\n1;2\n", &BatchOptions::new()).unwrap_err();
        assert!(err.to_string().ends_with("(the header has one column: is the delimiter right?)"), "{err}");
        let err = score("a,b\n1,inf\n", &BatchOptions::new()).unwrap_err();
        assert!(err.to_string().contains("`inf` is not a finite number"), "{err}");
    }

    #[test]
    fn lines_are_right_whatever_the_line_ends() {
        // Line 2-3: a quoted field spanning two lines; 4: blank; 5: fine; 6: a bad value.
        let text = "id,a,b\n\"x\ny\",0.1,1\n\n7,0.2,1\n8,0.3,abc\n";
        let ragged = "id,a,b\n\"x\ny\",0.1,1\n7,0.2\n";
        for end in ["\n", "\r\n", "\r"] {
            for chunk in [1, 2, 100] {
                let options = BatchOptions::new().chunk_rows(chunk);
                let err = score(&text.replace('\n', end), &options).unwrap_err();
                assert!(
                    matches!(&err, BatchError::Row { line: 6, row: 2, column, .. } if column == "b"),
                    "{end:?}, chunks of {chunk}: {err}"
                );
                assert!(err.to_string().starts_with("`t.csv` line 6, column `b`"), "{err}");
                let err = score(&ragged.replace('\n', end), &options).unwrap_err();
                assert!(
                    matches!(err, BatchError::Data(DataError::RaggedRow { line: 4, row: 1, .. })),
                    "{end:?}, chunks of {chunk}: {err}"
                );
            }
        }
    }

    #[test]
    fn messages_escape_control_characters_from_the_input() {
        let run = |text: &str, options: &BatchOptions| {
            score_csv(&scorer(), text.as_bytes(), "in\x1b[2J.csv", Vec::new(), options).unwrap_err()
        };
        let title = "\x1b]0;pwned\x07";
        let cases = [
            (
                run(&format!("\"{title}\",a,b\n1,\"0.1\r\x1b[2J\",1\n"), &BatchOptions::new()),
                "`in\\u{1b}[2J.csv` line 2, column `a`: `0.1\\u{d}\\u{1b}[2J` is not a number",
            ),
            (
                run(&format!("\"{title}\",b\n1,2\n"), &BatchOptions::new()),
                "columns found: \\u{1b}]0;pwned\\u{7}, b",
            ),
            (
                run("a,b\n1,2\n", &BatchOptions::new().keep([title])),
                "cannot keep column `\\u{1b}]0;pwned\\u{7}` of `in\\u{1b}[2J.csv`",
            ),
            (run(&format!("a,b,{title}\n1,2\n"), &BatchOptions::new()), "`in\\u{1b}[2J.csv` line 2"),
        ];
        for (err, fragment) in cases {
            let message = err.to_string();
            assert!(!message.chars().any(mlflow_core::text::is_unsafe_char), "raw control in {message:?}");
            assert!(message.contains(fragment), "no {fragment:?} in {message}");
        }
    }

    #[test]
    fn not_utf8_names_the_line_and_column() {
        let mut out = Vec::new();
        let err = score_csv(&scorer(), &b"a,b,c\n1,2,\xff\n"[..], "t.csv", &mut out, &BatchOptions::new())
            .unwrap_err();
        assert!(
            matches!(&err, BatchError::Data(DataError::NotUtf8 { line: 2, column, .. }) if column == "c"),
            "{err}"
        );
        assert!(out.is_empty(), "nothing is written before the first chunk is scored");
    }
}
