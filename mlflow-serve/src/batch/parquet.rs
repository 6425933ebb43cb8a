//! Batch scoring of Parquet files: a batch of rows at a time, through the same input plan,
//! checks and scoring as a CSV file.

use std::borrow::Cow;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use mlflow_ml::data::{Column, DataError, ParquetFile, ParquetOptions, Table};

use super::files::into_file;
use super::output::{CsvOutput, Output, ParquetOutput};
use super::stream::{ChunkRows, ChunkRun, Inputs, Number, Plan};
use super::{BatchError, BatchOptions, BatchProgress, BatchSummary};
use crate::{Scorer, ServeError};

/// Scores the rows of a Parquet file and writes the scored rows as CSV to `output`, a batch of
/// [`BatchOptions::chunk_rows`] rows at a time; the Parquet counterpart of
/// [`score_csv`](super::score_csv), with the same input plan, checks and output.
///
/// Only the columns the model reads and those kept in the output are decoded, a batch at a
/// time: memory is bounded by the chunk size (and the file's row groups), not the file's size.
///
/// # Values
/// Each value is handed to the model as the text a CSV file of the same data would hold, so
/// the predictions are those of the CSV file: integers (and booleans, as 0 and 1) as written,
/// floats as the shortest text that reads back as the same number, with a decimal point or an
/// exponent (`22.0`, `0.1`, `1e-7`), text as is, a null as an empty field. The kept columns
/// are written to the CSV output the same way. Column types are those of the file's schema
/// ([`mlflow_ml::data::column_type_of`]): a column of a type a table cannot hold (a timestamp,
/// a list) is an error if the model reads it or the output keeps it, and ignored otherwise.
///
/// # Errors
/// As [`score_csv`](super::score_csv), with rows (1-based) where a CSV file has lines:
/// [`BatchError::RowValue`] for a bad value, [`BatchError::RowRange`] when the transformers or
/// the model fail on a batch; [`BatchError::Data`] for a file that cannot be decoded.
///
/// ```
/// use mlflow_ml::data::{parquet_bytes, Column, ParquetFile, Table};
/// use mlflow_ml::models::{Model, ModelParams, NaiveBayesParams};
/// use mlflow_serve::{score_parquet, BatchOptions, Lineage, ModelPackage, Scorer};
/// let x = ndarray::array![[0.0, 1.0], [0.2, 1.0], [2.0, 0.0], [2.2, 0.0]];
/// let model = Model::fit(x.view(), &[0, 0, 1, 1], &ModelParams::NaiveBayes(NaiveBayesParams::default()))?;
/// let scorer = Scorer::new(ModelPackage::new("nb", model, None, &["a", "b"], x.view(), Lineage::default())?);
///
/// let table = Table::new(vec![
///     ("id".into(), Column::Int(vec![Some(7), Some(8)])),
///     ("b".into(), Column::Float(vec![Some(1.0), Some(0.0)])),
///     ("a".into(), Column::Float(vec![Some(0.1), Some(2.1)])),
/// ])?;
/// let file = ParquetFile::from_bytes(parquet_bytes(&table)?, "in.parquet")?;
/// let mut out = Vec::new();
/// let summary = score_parquet(&scorer, &file, &mut out, &BatchOptions::new().keep(["id", "a"]))?;
/// assert_eq!((summary.rows, summary.positives), (2, 1));
/// let out = String::from_utf8(out).unwrap();
/// assert!(out.starts_with("id,a,prediction,probability\n7,0.1,0,"), "{out}");
///
/// let missing = Table::new(vec![("a".into(), Column::Float(vec![Some(0.1)])), ("b".into(), Column::Float(vec![None]))])?;
/// let file = ParquetFile::from_bytes(parquet_bytes(&missing)?, "in.parquet")?;
/// let err = score_parquet(&scorer, &file, Vec::new(), &BatchOptions::new()).unwrap_err();
/// assert!(err.to_string().starts_with("`in.parquet` row 1 (1-based), column `b`: the value is missing"), "{err}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn score_parquet<W: Write>(
    scorer: &Scorer,
    input: &ParquetFile,
    output: W,
    options: &BatchOptions,
) -> Result<BatchSummary, BatchError> {
    run_parquet(scorer, input, CsvOutput::new(output, options.delimiter, "the output"), options)
}

/// Scores the Parquet file `input` into `output`: a Parquet file when its name ends in
/// `.parquet` (the kept columns with their types, `prediction` as `int64`, `probability` as
/// `double`), else CSV. Written to a temporary file beside `output` and renamed over it only
/// when every row was scored, as [`score_csv_file`](super::score_csv_file) does.
///
/// ```
/// # use mlflow_ml::models::{Model, ModelParams, NaiveBayesParams};
/// # use mlflow_serve::{Lineage, ModelPackage, Scorer};
/// # let x = ndarray::array![[0.0], [0.2], [2.0], [2.2]];
/// # let model = Model::fit(x.view(), &[0, 0, 1, 1], &ModelParams::NaiveBayes(NaiveBayesParams::default()))?;
/// # let scorer = Scorer::new(ModelPackage::new("nb", model, None, &["x"], x.view(), Lineage::default())?);
/// use mlflow_ml::data::{read_parquet, write_parquet, Column, DataFile, ParquetOptions, Table};
/// use mlflow_serve::{score_parquet_file, BatchOptions};
/// let dir = tempfile::tempdir()?;
/// let input = dir.path().join("in.parquet");
/// write_parquet(&Table::new(vec![("x".into(), Column::Float(vec![Some(0.1), Some(2.1)]))])?, &input)?;
///
/// score_parquet_file(&scorer, &input, dir.path().join("out.csv"), &BatchOptions::new())?;
/// assert!(std::fs::read_to_string(dir.path().join("out.csv"))?.starts_with("x,prediction,probability\n0.1,0,"));
///
/// let output = dir.path().join("out.parquet");
/// score_parquet_file(&scorer, &input, &output, &BatchOptions::new())?;
/// let scored = read_parquet(&DataFile::open(&output)?, &ParquetOptions::new())?.table;
/// assert_eq!(scored.names(), ["x", "prediction", "probability"]);
/// assert_eq!(scored.column("prediction"), Some(&Column::Int(vec![Some(0), Some(1)])));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn score_parquet_file(
    scorer: &Scorer,
    input: impl AsRef<Path>,
    output: impl AsRef<Path>,
    options: &BatchOptions,
) -> Result<BatchSummary, BatchError> {
    let file = ParquetFile::open(input.as_ref())?;
    let output = output.as_ref();
    if super::FileFormat::of_output(output) == super::FileFormat::Parquet {
        into_file(output, |out, target| run_parquet(scorer, &file, ParquetOutput::new(out, target), options))
    } else {
        into_file(output, |out, target| {
            run_parquet(scorer, &file, CsvOutput::new(out, options.delimiter, target), options)
        })
    }
}

/// One batch of a Parquet file: the decoded columns by header index (`None` for the columns
/// not read).
struct ParquetChunk<'a> {
    columns: Vec<Option<&'a Column>>,
    len: usize,
    /// 0-based file row of the batch's first row.
    first_row: u64,
}

impl ChunkRows for ParquetChunk<'_> {
    const MARK_MISSING: &'static str = "write a null";

    fn len(&self) -> usize {
        self.len
    }

    fn text(&self, i: usize, j: usize) -> Cow<'_, str> {
        match self.columns.get(j).copied().flatten() {
            Some(Column::Int(v)) => {
                v.get(i).copied().flatten().map_or(Cow::Borrowed(""), |x| Cow::Owned(x.to_string()))
            }
            Some(Column::Float(v)) => {
                v.get(i).copied().flatten().map_or(Cow::Borrowed(""), |x| Cow::Owned(format!("{x:?}")))
            }
            Some(Column::Str(v)) => Cow::Borrowed(v.get(i).and_then(|x| x.as_deref()).unwrap_or("")),
            None => Cow::Borrowed(""),
        }
    }

    fn number(&self, i: usize, j: usize) -> Number<'_> {
        match self.columns.get(j).copied().flatten() {
            // Finite: the reader refuses NaN and infinities.
            Some(Column::Int(v)) => {
                v.get(i).copied().flatten().map_or(Number::Missing, |x| Number::Value(x as f64))
            }
            Some(Column::Float(v)) => v.get(i).copied().flatten().map_or(Number::Missing, Number::Value),
            _ => {
                let text = self.text(i, j);
                let t = text.trim_ascii();
                match t.parse::<f64>() {
                    Ok(v) if v.is_finite() => Number::Value(v),
                    _ if t.is_empty() => Number::Missing,
                    Ok(_) => Number::NotFinite(text),
                    Err(_) => Number::Text(text),
                }
            }
        }
    }

    fn column(&self, j: usize) -> Column {
        match self.columns.get(j).copied().flatten() {
            Some(column) => column.clone(),
            None => Column::Str(vec![None; self.len]),
        }
    }

    fn row_error(&self, file: &str, i: usize, column: &str, detail: String) -> BatchError {
        BatchError::RowValue {
            file: file.to_owned(),
            row: self.first_row + i as u64,
            column: column.to_owned(),
            detail,
        }
    }

    fn chunk_error(&self, file: &str, source: ServeError) -> BatchError {
        BatchError::RowRange {
            file: file.to_owned(),
            first_row: self.first_row,
            last_row: self.first_row + self.len.saturating_sub(1) as u64,
            source: Box::new(source),
        }
    }
}

pub(super) fn run_parquet(
    scorer: &Scorer,
    file: &ParquetFile,
    mut output: impl Output,
    options: &BatchOptions,
) -> Result<BatchSummary, BatchError> {
    let started = Instant::now();
    if options.chunk_rows == 0 {
        return Err(BatchError::Options("chunks of 0 rows; give at least 1 row per chunk".into()));
    }
    let name = file.name();
    let header = file.names();
    let plan = Plan::new(scorer, &header, name, options)?;
    // Decode only the columns read or kept, in file order.
    let mut needed: Vec<usize> = match &plan.inputs {
        Inputs::Raw(columns) | Inputs::Features(columns) => columns.iter().map(|(_, j)| *j).collect(),
    };
    needed.extend(&plan.keep);
    needed.sort_unstable();
    needed.dedup();
    let names: Vec<String> = needed.iter().map(|&j| header[j].clone()).collect();
    let batches = file.batches(&ParquetOptions::new().columns(names).batch_rows(options.chunk_rows))?;
    let total_rows = file.rows();
    let total = Some(file.size());
    // Progress in bytes: the file's size in proportion to the rows read (row groups are
    // decoded as a whole, so this is as exact as it can be without reading ahead).
    let bytes_read = |rows: u64| match (total, total_rows) {
        (Some(bytes), r) if r > 0 => ((bytes as f64) * (rows.min(r) as f64 / r as f64)) as u64,
        _ => 0,
    };
    let mut summary = BatchSummary::started(scorer, name, 0);
    let run = ChunkRun { scorer, plan: &plan, file: name, options, total_bytes: total };
    options.report(BatchProgress { bytes_read: 0, total_bytes: total, rows: 0 });
    for table in batches {
        let table: Table = table?;
        if table.rows() == 0 {
            continue;
        }
        let mut columns = vec![None; header.len()];
        for (&j, (_, column)) in needed.iter().zip(table.iter()) {
            columns[j] = Some(column);
        }
        let chunk = ParquetChunk { columns, len: table.rows(), first_row: summary.rows };
        let read = bytes_read(summary.rows + chunk.len as u64);
        run.score_and_write(&chunk, &mut output, &mut summary, read)?;
    }
    if summary.rows == 0 {
        return Err(DataError::NoRows { file: name.to_owned(), columns: header.len() }.into());
    }
    output.finish()?;
    summary.elapsed = started.elapsed();
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::super::test_scorer as scorer;
    use super::*;
    use mlflow_ml::data::parquet_bytes;

    fn file(columns: Vec<(&str, Column)>) -> ParquetFile {
        let table = Table::new(columns.into_iter().map(|(n, c)| (n.to_owned(), c)).collect()).unwrap();
        ParquetFile::from_bytes(parquet_bytes(&table).unwrap(), "t.parquet").unwrap()
    }

    #[test]
    fn errors_name_the_row_across_chunks() {
        let n = 10;
        let mut b: Vec<Option<f64>> = vec![Some(1.0); n];
        b[7] = None;
        let f = file(vec![("a", Column::Float(vec![Some(0.1); n])), ("b", Column::Float(b))]);
        for chunk in [1, 3, 100] {
            let err =
                score_parquet(&scorer(), &f, Vec::new(), &BatchOptions::new().chunk_rows(chunk)).unwrap_err();
            assert!(matches!(&err, BatchError::RowValue { row: 7, column, .. } if column == "b"), "{err}");
            assert!(err.to_string().starts_with("`t.parquet` row 8 (1-based), column `b`"), "{err}");
        }
    }

    #[test]
    fn text_features_are_parsed_and_bad_text_is_named() {
        let f = file(vec![
            ("a", Column::Str(vec![Some(" 0.1 ".into()), Some("x".into())])),
            ("b", Column::Int(vec![Some(1), Some(0)])),
        ]);
        let err = score_parquet(&scorer(), &f, Vec::new(), &BatchOptions::new()).unwrap_err();
        assert!(matches!(&err, BatchError::RowValue { row: 1, column, .. } if column == "a"), "{err}");
        assert!(err.to_string().ends_with("`x` is not a number; fix the value"), "{err}");
    }

    #[test]
    fn missing_columns_and_empty_files_are_refused() {
        let f = file(vec![("a", Column::Float(vec![Some(0.1)]))]);
        let err = score_parquet(&scorer(), &f, Vec::new(), &BatchOptions::new()).unwrap_err();
        assert!(matches!(&err, BatchError::MissingColumns { missing, .. } if missing == &["b"]), "{err}");
        let f = file(vec![("a", Column::Float(vec![])), ("b", Column::Float(vec![]))]);
        let err = score_parquet(&scorer(), &f, Vec::new(), &BatchOptions::new()).unwrap_err();
        assert!(matches!(err, BatchError::Data(DataError::NoRows { columns: 2, .. })), "{err}");
        let f = file(vec![("a", Column::Float(vec![Some(0.1)])), ("b", Column::Float(vec![Some(1.0)]))]);
        let err = score_parquet(&scorer(), &f, Vec::new(), &BatchOptions::new().chunk_rows(0)).unwrap_err();
        assert!(matches!(err, BatchError::Options(_)), "{err}");
    }
}
