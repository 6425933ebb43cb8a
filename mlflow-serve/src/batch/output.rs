//! Where scored rows go: a CSV writer, or (feature `parquet`) a Parquet writer. Either writes
//! the kept input columns, then the output columns (`prediction`, then `probability` for a binary
//! model or `probability_<class>` per class), a chunk at a time; nothing is written before the
//! first chunk is scored.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::BatchError;
use super::stream::{ChunkRows, Plan, ScoredChunk};
#[cfg(feature = "parquet")]
use mlflow_ml::features::ClassLabel;
use mlflow_ml::features::ClassLabels;
use mlflow_ml::models::Outputs;

/// A destination for scored chunks.
pub(super) trait Output {
    /// Writes the rows of `chunk` (its kept columns) with their predictions.
    fn write_chunk<C: ChunkRows>(
        &mut self,
        plan: &Plan,
        chunk: &C,
        scored: &ScoredChunk,
    ) -> Result<(), BatchError>;

    /// Completes the output (flushes it; writes a Parquet footer).
    fn finish(self) -> Result<(), BatchError>;
}

/// A number as written in a CSV file: the shortest decimal that reads back the same.
fn number_text(p: f64, buffer: &mut String) {
    buffer.clear();
    write!(buffer, "{p}").ok();
}

/// The figures after the prediction for row `i`: P(class 1) for a binary model, every class's
/// probability for a multiclass model, none for a regressor.
fn probabilities(outputs: &Outputs, i: usize) -> impl Iterator<Item = f64> + '_ {
    let (row, skip) = match outputs {
        Outputs::Probabilities(p) => (Some(p.row(i)), usize::from(p.ncols() == 2)),
        Outputs::Values(_) => (None, 0),
    };
    row.into_iter().flat_map(move |r| r.into_iter().copied().skip(skip))
}

/// The prediction of row `i` as text: its class label as given, or its value.
fn prediction_text(classes: Option<&ClassLabels>, label: u32, value: f64, buffer: &mut String) {
    let Some(classes) = classes else { return number_text(value, buffer) };
    buffer.clear();
    match classes.label(label as usize) {
        Some(label) => write!(buffer, "{label}").ok(),
        None => write!(buffer, "{label}").ok(),
    };
}

/// CSV: the header before the first row, the kept fields as the input has them.
pub(super) struct CsvOutput<W: Write> {
    writer: csv::Writer<W>,
    target: String,
    started: bool,
    number: String,
}

impl<W: Write> CsvOutput<W> {
    pub(super) fn new(output: W, delimiter: u8, target: &str) -> Self {
        let writer =
            csv::WriterBuilder::new().delimiter(delimiter).buffer_capacity(1 << 16).from_writer(output);
        CsvOutput { writer, target: target.to_owned(), started: false, number: String::new() }
    }

    fn error(&self, e: csv::Error) -> BatchError {
        let source = match e.into_kind() {
            csv::ErrorKind::Io(e) => e,
            other => io::Error::other(format!("{other:?}")),
        };
        BatchError::Io { action: "write", target: self.target.clone(), source }
    }
}

impl<W: Write> Output for CsvOutput<W> {
    fn write_chunk<C: ChunkRows>(
        &mut self,
        plan: &Plan,
        chunk: &C,
        scored: &ScoredChunk,
    ) -> Result<(), BatchError> {
        if !self.started {
            self.writer.write_record(&plan.out_header).map_err(|e| self.error(e))?;
            self.started = true;
        }
        for (i, p) in scored.predictions.iter().enumerate().take(chunk.len()) {
            for &j in &plan.keep {
                let field = chunk.text(i, j);
                self.writer.write_field(field.as_bytes()).map_err(|e| self.error(e))?;
            }
            prediction_text(plan.classes.as_ref(), p.label, p.probability, &mut self.number);
            let result = self.writer.write_field(&self.number);
            result.map_err(|e| self.error(e))?;
            for probability in probabilities(&scored.outputs, i) {
                number_text(probability, &mut self.number);
                let result = self.writer.write_field(&self.number);
                result.map_err(|e| self.error(e))?;
            }
            self.writer.write_record(None::<&[u8]>).map_err(|e| self.error(e))?;
        }
        Ok(())
    }

    fn finish(mut self) -> Result<(), BatchError> {
        self.writer.flush().map_err(|source| BatchError::Io { action: "write", target: self.target, source })
    }
}

#[cfg(feature = "parquet")]
pub(super) use parquet_output::ParquetOutput;

#[cfg(feature = "parquet")]
mod parquet_output {
    use super::*;
    use mlflow_ml::data::{Column, DataError, ParquetWriter, Schema, Table};

    /// Parquet: the kept columns with their types (text for a CSV input), `prediction` as
    /// `int64` (integer classes), text (text classes) or `double` (a regressor's value), the
    /// probabilities as `double`.
    pub(in crate::batch) struct ParquetOutput<W: Write + Send> {
        output: Option<W>,
        writer: Option<ParquetWriter<W>>,
        target: String,
    }

    impl<W: Write + Send> ParquetOutput<W> {
        pub(in crate::batch) fn new(output: W, target: &str) -> Self {
            ParquetOutput { output: Some(output), writer: None, target: target.to_owned() }
        }

        fn error(&self, e: DataError) -> BatchError {
            match e {
                DataError::Write { source, .. } => {
                    BatchError::Io { action: "write", target: self.target.clone(), source }
                }
                other => BatchError::Data(other),
            }
        }
    }

    impl<W: Write + Send> Output for ParquetOutput<W> {
        fn write_chunk<C: ChunkRows>(
            &mut self,
            plan: &Plan,
            chunk: &C,
            scored: &ScoredChunk,
        ) -> Result<(), BatchError> {
            let mut columns: Vec<(String, Column)> = Vec::with_capacity(plan.out_header.len());
            for (&j, name) in plan.keep.iter().zip(&plan.out_header) {
                columns.push((name.clone(), chunk.column(j)));
            }
            let predictions = &scored.predictions;
            let n = chunk.len().min(predictions.len());
            let prediction = match &plan.classes {
                None => Column::Float(predictions[..n].iter().map(|p| Some(p.probability)).collect()),
                Some(classes) if classes.labels().iter().all(|l| matches!(l, ClassLabel::Int(_))) => {
                    Column::Int(
                        predictions[..n]
                            .iter()
                            .map(|p| match classes.label(p.label as usize) {
                                Some(ClassLabel::Int(v)) => Some(*v),
                                _ => Some(i64::from(p.label)),
                            })
                            .collect(),
                    )
                }
                Some(classes) => Column::Str(
                    predictions[..n]
                        .iter()
                        .map(|p| {
                            Some(
                                classes
                                    .label(p.label as usize)
                                    .map_or(p.label.to_string(), ToString::to_string),
                            )
                        })
                        .collect(),
                ),
            };
            columns.push(("prediction".into(), prediction));
            if let Outputs::Probabilities(p) = &scored.outputs {
                let skip = usize::from(p.ncols() == 2);
                let names = &plan.out_header[plan.keep.len() + 1..];
                for (name, column) in names.iter().zip(p.columns().into_iter().skip(skip)) {
                    columns.push((
                        name.clone(),
                        Column::Float(column.iter().take(n).map(|&v| Some(v)).collect()),
                    ));
                }
            }
            let table = Table::new(columns)?;
            if self.writer.is_none() {
                let Some(output) = self.output.take() else {
                    return Err(BatchError::Options("the Parquet output was already finished".into()));
                };
                let schema: Schema = table.schema();
                let writer = ParquetWriter::new(output, &schema, &self.target).map_err(|e| self.error(e))?;
                self.writer = Some(writer);
            }
            let result = match self.writer.as_mut() {
                Some(writer) => writer.write(&table),
                None => Ok(()),
            };
            result.map_err(|e| self.error(e))
        }

        fn finish(self) -> Result<(), BatchError> {
            let ParquetOutput { writer, target, .. } = self;
            let Some(writer) = writer else { return Ok(()) };
            let mut output = writer.finish().map_err(|e| match e {
                DataError::Write { source, .. } => {
                    BatchError::Io { action: "write", target: target.clone(), source }
                }
                other => BatchError::Data(other),
            })?;
            output.flush().map_err(|source| BatchError::Io { action: "write", target, source })
        }
    }
}
