//! Where scored rows go: a CSV writer, or (feature `parquet`) a Parquet writer. Either writes
//! the kept input columns, then `prediction` and `probability`, a chunk at a time; nothing is
//! written before the first chunk is scored.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::BatchError;
use super::stream::{ChunkRows, Plan};
use crate::Prediction;

/// A destination for scored chunks.
pub(super) trait Output {
    /// Writes the rows of `chunk` (its kept columns) with their predictions.
    fn write_chunk<C: ChunkRows>(
        &mut self,
        plan: &Plan,
        chunk: &C,
        predictions: &[Prediction],
    ) -> Result<(), BatchError>;

    /// Completes the output (flushes it; writes a Parquet footer).
    fn finish(self) -> Result<(), BatchError>;
}

/// The probability as written in a CSV file: the shortest decimal that reads back the same.
fn probability_text(p: f64, buffer: &mut String) {
    buffer.clear();
    write!(buffer, "{p}").ok();
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
        predictions: &[Prediction],
    ) -> Result<(), BatchError> {
        if !self.started {
            self.writer.write_record(&plan.out_header).map_err(|e| self.error(e))?;
            self.started = true;
        }
        for (i, p) in predictions.iter().enumerate().take(chunk.len()) {
            for &j in &plan.keep {
                let field = chunk.text(i, j);
                self.writer.write_field(field.as_bytes()).map_err(|e| self.error(e))?;
            }
            self.writer.write_field(if p.label == 1 { "1" } else { "0" }).map_err(|e| self.error(e))?;
            probability_text(p.probability, &mut self.number);
            let result = self.writer.write_field(&self.number);
            result.map_err(|e| self.error(e))?;
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
    /// `int64`, `probability` as `double`.
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
            predictions: &[Prediction],
        ) -> Result<(), BatchError> {
            let mut columns: Vec<(String, Column)> = Vec::with_capacity(plan.out_header.len());
            for (&j, name) in plan.keep.iter().zip(&plan.out_header) {
                columns.push((name.clone(), chunk.column(j)));
            }
            let n = chunk.len().min(predictions.len());
            columns.push((
                "prediction".into(),
                Column::Int(predictions[..n].iter().map(|p| Some(i64::from(p.label))).collect()),
            ));
            columns.push((
                "probability".into(),
                Column::Float(predictions[..n].iter().map(|p| Some(p.probability)).collect()),
            ));
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
