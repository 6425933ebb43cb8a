//! The CSV reader: options, parsing bytes into a typed [`Table`], and line numbers counted
//! from byte offsets.

use serde::{Deserialize, Serialize};

use super::{Column, ColumnType, DataError, Schema, Table};

/// How to read a CSV file. Serializable, so it can be a pipeline param.
///
/// The defaults read a file whose first line is a header row of unique names, fields separated by
/// `,` and quoted with `"`. Each builder method changes one thing:
///
/// - [`CsvOptions::skip_lines`]: lines to skip before the header row (or before the data with no
///   header row), such as a title or a row count.
/// - [`CsvOptions::no_header`]: no header row; the column names are given.
/// - [`CsvOptions::no_header_with_schema`]: no header row; a [`Schema`] gives the names and types.
/// - [`CsvOptions::with_schema`]: declares the types of some columns.
/// - [`CsvOptions::with_delimiter`], [`CsvOptions::with_quote`]: other field syntax.
///
/// Errors still name the line an editor shows: skipped lines count.
///
/// ```
/// use mlflow_ml::data::{parse_csv, ColumnType, CsvOptions, DataError, Schema};
///
/// // A row count on line 1, then rows with no header, `;`-separated.
/// let text = b"2\n1;Ada;36\n2;Alan;41\n";
/// let opts = CsvOptions::default().skip_lines(1).no_header(["id", "name", "age"]).with_delimiter(b';');
/// let table = parse_csv(text, "people.csv", &opts)?;
/// assert_eq!(table.names(), ["id", "name", "age"]);
/// assert_eq!(table.column("age").unwrap().as_int().unwrap(), &[Some(36), Some(41)]);
///
/// // A declared type is enforced, and the line is the file's.
/// let opts = opts.with_schema(Schema::new([("age", ColumnType::Float)]));
/// let err = parse_csv(b"2\n1;Ada;36\n2;Alan;old\n", "people.csv", &opts).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "`people.csv` line 3, column `age`: `old` is not a valid float value; fix the value or declare \
///      the column with another type in the schema"
/// );
/// # Ok::<(), DataError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsvOptions {
    /// Types of some columns, each of which must be present. Other columns are kept, their types
    /// inferred. With [`Header::FromSchema`], the schema names every column, in file order.
    pub schema: Option<Schema>,
    /// Field delimiter (default `,`): an ASCII character other than the quote character and the
    /// line ends.
    pub delimiter: u8,
    /// Quote character (default `"`): an ASCII character other than the delimiter and the line
    /// ends. A quote inside a quoted field is written twice.
    #[serde(default = "default_quote")]
    pub quote: u8,
    /// Lines skipped at the start of the file (after a byte-order mark), before the header row or,
    /// with no header row, before the data. Lines, not records: a quote in a skipped line does not
    /// matter. A line ends with `\n`, `\r\n` or `\r`.
    #[serde(default)]
    pub skip_lines: usize,
    /// Where the column names come from (default: the first row read).
    #[serde(default)]
    pub header: Header,
}

fn default_quote() -> u8 {
    b'"'
}

/// Where the column names of a CSV file come from ([`CsvOptions::header`]).
///
/// ```
/// use mlflow_ml::data::{CsvOptions, Header};
/// assert_eq!(CsvOptions::default().header, Header::FirstRow);
/// assert_eq!(CsvOptions::default().no_header(["a"]).header, Header::Names(vec!["a".to_string()]));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Header {
    /// The first row read (after [`CsvOptions::skip_lines`]) is the header row: unique, non-empty
    /// names.
    #[default]
    FirstRow,
    /// No header row, every row is data; the columns have these names, one per field.
    Names(Vec<String>),
    /// No header row, every row is data; [`CsvOptions::schema`] names every column, in order, and
    /// gives its type.
    FromSchema,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions { schema: None, delimiter: b',', quote: b'"', skip_lines: 0, header: Header::FirstRow }
    }
}

impl CsvOptions {
    /// Declares the types of some columns; each must be present in the file. A value that does not
    /// parse as its column's type is an error ([`DataError::Parse`]), never a missing value.
    ///
    /// ```
    /// use mlflow_ml::data::{parse_csv, ColumnType, CsvOptions, DataError, Schema};
    /// let opts = CsvOptions::default().with_schema(Schema::new([("Fare", ColumnType::Float)]));
    /// let t = parse_csv(b"Fare,Pclass\n7,3\n", "t.csv", &opts)?;
    /// assert_eq!(t.column("Fare").unwrap().column_type(), ColumnType::Float); // not inferred Int
    /// assert!(parse_csv(b"Fare\nfree\n", "t.csv", &opts).is_err());
    /// # Ok::<(), DataError>(())
    /// ```
    pub fn with_schema(mut self, schema: Schema) -> Self {
        self.schema = Some(schema);
        self
    }

    /// Sets the field delimiter: an ASCII character, not the quote character nor a line end
    /// (reading fails with [`DataError::InvalidOptions`] otherwise).
    ///
    /// ```
    /// use mlflow_ml::data::CsvOptions;
    /// assert_eq!(CsvOptions::default().with_delimiter(b'\t').delimiter, b'\t');
    /// ```
    pub fn with_delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
    }

    /// Sets the quote character: an ASCII character, not the delimiter nor a line end.
    ///
    /// ```
    /// use mlflow_ml::data::{parse_csv, CsvOptions, DataError};
    /// let t = parse_csv(b"name\n'Turing, Alan'\n", "t.csv", &CsvOptions::default().with_quote(b'\''))?;
    /// assert_eq!(t.column("name").unwrap().str_at(0), Some("Turing, Alan"));
    /// # Ok::<(), DataError>(())
    /// ```
    pub fn with_quote(mut self, quote: u8) -> Self {
        self.quote = quote;
        self
    }

    /// Skips the first `lines` lines of the file: before the header row, or before the data when
    /// there is no header row. Line numbers in errors still count them. Skipping more lines than
    /// the file has is an error ([`DataError::SkipPastEnd`]), and so is skipping every line
    /// ([`DataError::NothingAfterSkip`]).
    ///
    /// ```
    /// use mlflow_ml::data::{parse_csv, CsvOptions, DataError};
    /// let text = b"exported 2024-05-01\n\"unbalanced quote\nx,y\n1,2\n";
    /// let t = parse_csv(text, "t.csv", &CsvOptions::default().skip_lines(2))?;
    /// assert_eq!(t.names(), ["x", "y"]);
    /// # Ok::<(), DataError>(())
    /// ```
    pub fn skip_lines(mut self, lines: usize) -> Self {
        self.skip_lines = lines;
        self
    }

    /// Reads a file with no header row: every row is data, and the columns get these names, one
    /// per field. A record with another number of fields is an error
    /// ([`DataError::NamesMismatch`]). Types are inferred unless a schema declares them.
    ///
    /// ```
    /// use mlflow_ml::data::{parse_csv, CsvOptions, DataError};
    /// let opts = CsvOptions::default().no_header(["id", "score"]);
    /// let t = parse_csv(b"1,0.5\n2,0.25\n", "t.csv", &opts)?;
    /// assert_eq!(t.rows(), 2);
    ///
    /// let err = parse_csv(b"1,0.5,x\n", "t.csv", &opts).unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "`t.csv` line 1: the record has 3 fields but 2 column names were given (id, score); give one \
    ///      name per field (`CsvOptions::no_header`, or the schema's columns with \
    ///      `no_header_with_schema`), or check the delimiter"
    /// );
    /// # Ok::<(), DataError>(())
    /// ```
    pub fn no_header<N: Into<String>>(mut self, names: impl IntoIterator<Item = N>) -> Self {
        self.header = Header::Names(names.into_iter().map(Into::into).collect());
        self
    }

    /// Reads a file with no header row whose columns are those of `schema`, in order, with its
    /// types: the schema names every column.
    ///
    /// ```
    /// use mlflow_ml::data::{parse_csv, ColumnType, CsvOptions, DataError, Schema};
    /// let schema = Schema::new([("id", ColumnType::Str), ("score", ColumnType::Float)]);
    /// let t = parse_csv(b"007,1\n", "t.csv", &CsvOptions::default().no_header_with_schema(schema))?;
    /// assert_eq!(t.column("id").unwrap().str_at(0), Some("007"));
    /// assert_eq!(t.column("score").unwrap().f64_at(0), Some(1.0));
    /// # Ok::<(), DataError>(())
    /// ```
    pub fn no_header_with_schema(mut self, schema: Schema) -> Self {
        self.schema = Some(schema);
        self.header = Header::FromSchema;
        self
    }

    /// Checks the options on their own, before any file is read: `file` is the name used in the
    /// error.
    fn check(&self, file: &str) -> Result<(), DataError> {
        let invalid = |problem: String| DataError::InvalidOptions { file: file.to_owned(), problem };
        for (what, byte, fix) in [
            ("delimiter", self.delimiter, "`with_delimiter`"),
            ("quote character", self.quote, "`with_quote`"),
        ] {
            let shown = byte.escape_ascii();
            if byte == b'\n' || byte == b'\r' {
                return Err(invalid(format!(
                    "the {what} is a line end (`{shown}`); choose another one with {fix}"
                )));
            }
            if !byte.is_ascii() {
                return Err(invalid(format!(
                    "the {what} `{shown}` is not an ASCII character, so it would split UTF-8 \
                     characters; choose an ASCII one with {fix}"
                )));
            }
        }
        if self.delimiter == self.quote {
            return Err(invalid(format!(
                "the delimiter `{}` is also the quote character; choose another delimiter \
                 (`with_delimiter`: `,` `;` `\\t` `|`) or another quote character (`with_quote`)",
                self.delimiter.escape_ascii()
            )));
        }
        if let Some(schema) = &self.schema {
            for (j, (name, _)) in schema.fields.iter().enumerate() {
                if name.is_empty() {
                    return Err(invalid(format!(
                        "the schema's column {} (1-based) has an empty name; name every column",
                        j + 1
                    )));
                }
                if let Some(first) = schema.fields[..j].iter().position(|(n, _)| n == name) {
                    return Err(invalid(format!(
                        "the schema declares column `{name}` twice (positions {} and {}); declare \
                         each column once",
                        first + 1,
                        j + 1
                    )));
                }
            }
        }
        match &self.header {
            Header::FirstRow => {}
            Header::Names(names) => {
                if names.is_empty() {
                    return Err(invalid(
                        "`no_header` was given no column names; give one name per field".to_owned(),
                    ));
                }
                for (j, name) in names.iter().enumerate() {
                    if name.trim().is_empty() {
                        return Err(invalid(format!(
                            "column name {} (1-based) given to `no_header` is empty; give every \
                             column a name",
                            j + 1
                        )));
                    }
                    if let Some(first) = names[..j].iter().position(|n| n == name) {
                        return Err(invalid(format!(
                            "column name `{name}` is given to `no_header` twice (positions {} and \
                             {}); column names must be unique",
                            first + 1,
                            j + 1
                        )));
                    }
                }
            }
            Header::FromSchema => {
                if self.schema.as_ref().is_none_or(|s| s.fields.is_empty()) {
                    return Err(invalid(
                        "the header comes from the schema (`Header::FromSchema`) but no schema \
                         columns are set; use `no_header_with_schema(schema)` with at least one \
                         column"
                            .to_owned(),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The column names given in the options, when there is no header row.
    fn given_names(&self) -> Option<Vec<String>> {
        match &self.header {
            Header::FirstRow => None,
            Header::Names(names) => Some(names.clone()),
            Header::FromSchema => {
                Some(self.schema.iter().flat_map(|s| s.fields.iter().map(|(n, _)| n.clone())).collect())
            }
        }
    }
}

/// Parses CSV bytes already in memory; `file` is the name used in error messages.
///
/// ```
/// use mlflow_ml::data::{parse_csv, ColumnType, CsvOptions, DataError};
/// let t = parse_csv(b"id,score\n1,0.5\n2,\n", "mem.csv", &CsvOptions::default())?;
/// assert_eq!(t.schema().fields[1], ("score".to_string(), ColumnType::Float));
///
/// let err = parse_csv(b"id,score\n1,NaN\n", "mem.csv", &CsvOptions::default()).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "`mem.csv` line 2, column `score`: `NaN` is not a finite number (NaN and infinities are not \
///      accepted); leave the field empty to mark a missing value"
/// );
/// # Ok::<(), DataError>(())
/// ```
pub fn parse_csv(bytes: &[u8], file: &str, options: &CsvOptions) -> Result<Table, DataError> {
    options.check(file)?;
    let raw = RawCsv::parse(bytes, file, options)?;
    let mut declared: Vec<Option<ColumnType>> = vec![None; raw.header.len()];
    if let Some(schema) = &options.schema {
        for (name, ty) in &schema.fields {
            match raw.header.iter().position(|h| h == name) {
                Some(j) => declared[j] = Some(*ty),
                None => {
                    return Err(DataError::MissingColumn {
                        file: file.to_owned(),
                        column: name.clone(),
                        available: raw.header.clone(),
                    });
                }
            }
        }
    }
    let mut columns = Vec::with_capacity(raw.header.len());
    for (j, ty) in declared.into_iter().enumerate() {
        let column = match ty {
            Some(ty) => raw.typed(j, ty)?,
            None => raw.inferred(j)?,
        };
        columns.push((raw.header[j].clone(), column));
    }
    Table::new(columns)
}

/// The bytes after the first `skip` lines (`\n`, `\r\n` or `\r` ends a line), or the number of
/// lines there are when there are fewer than `skip`.
fn skip_lines(bytes: &[u8], skip: usize) -> Result<&[u8], usize> {
    let mut rest = bytes;
    for skipped in 0..skip {
        if rest.is_empty() {
            return Err(skipped);
        }
        match rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            None => rest = &[],
            Some(k) => {
                let end = if rest[k] == b'\r' && rest.get(k + 1) == Some(&b'\n') { k + 2 } else { k + 1 };
                rest = &rest[end..];
            }
        }
    }
    Ok(rest)
}

/// A reader that notes where lines break as the bytes pass through it, so that the 1-based line
/// where a CSV record starts can be told from the byte offset the `csv` crate gives the record
/// ([`csv::Position::byte`]).
///
/// `csv::Position::line` is one too low for every record after the first in a file with `\r\n`
/// line ends (rust-csv issue #395: the `\n` of a record's terminator is only consumed with the next
/// record) and ignores the blank lines before a record; this counter is right in both cases. A line
/// break is `\n`, `\r\n` or a lone `\r` (the line ends the `csv` crate accepts), inside quoted fields
/// too, as an editor counts them. Memory stays bounded: breaks before the last offset asked about
/// are forgotten.
///
/// ```
/// use mlflow_ml::data::LineCounter;
/// let text = b"name,note\r\nAda,\"two\r\nlines\"\r\n\r\nAlan,x\r\n";
/// let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(LineCounter::new(&text[..]));
/// let mut record = csv::ByteRecord::new();
/// let mut lines = Vec::new();
/// while reader.read_byte_record(&mut record)? {
///     let byte = record.position().map_or(0, |p| p.byte());
///     lines.push(reader.get_mut().line_at(byte));
/// }
/// assert_eq!(lines, [1, 2, 5]); // the header, Ada's record (2 lines), a blank line, Alan's
/// # Ok::<(), csv::Error>(())
/// ```
#[derive(Debug)]
pub struct LineCounter<R> {
    inner: R,
    /// Offset of the next byte read.
    offset: u64,
    /// Runs of `\r` and `\n` bytes not yet counted: `(offset of the run's first byte, breaks)`.
    runs: std::collections::VecDeque<(u64, u64)>,
    /// The run the bytes read so far end with, if they end with `\r` or `\n`.
    open: Option<(u64, u64)>,
    /// Whether the last byte was `\r` (a `\n` right after it ends the same line).
    after_cr: bool,
    /// Line breaks in the runs already counted.
    counted: u64,
}

impl<R> LineCounter<R> {
    /// Counts the lines of what `inner` reads.
    ///
    /// See [`LineCounter`] for an example.
    pub fn new(inner: R) -> Self {
        LineCounter {
            inner,
            offset: 0,
            runs: std::collections::VecDeque::new(),
            open: None,
            after_cr: false,
            counted: 0,
        }
    }

    /// The 1-based line of the record at byte offset `byte` (its [`csv::Position::byte`], which
    /// may point at the line ends before the record: they count). Offsets must not go down from
    /// call to call, as records are read in order.
    ///
    /// See [`LineCounter`] for an example.
    pub fn line_at(&mut self, byte: u64) -> u64 {
        // A record starts after the run of line ends its position points into (if any), so every
        // run starting at or before the position is before the record.
        while let Some(&(start, breaks)) = self.runs.front() {
            if start > byte {
                break;
            }
            self.counted += breaks;
            self.runs.pop_front();
        }
        let open = self.open.filter(|&(start, _)| start <= byte).map_or(0, |(_, breaks)| breaks);
        1 + self.counted + open
    }

    fn scan(&mut self, bytes: &[u8]) {
        let mut i = 0;
        while i < bytes.len() {
            if self.open.is_none() {
                // Outside a run: skip to the next line end.
                match bytes[i..].iter().position(|&b| b == b'\r' || b == b'\n') {
                    Some(k) => {
                        i += k;
                        self.open = Some((self.offset + i as u64, 0));
                    }
                    None => break,
                }
            }
            let b = bytes[i];
            match (&mut self.open, b) {
                (Some((_, breaks)), b'\r') => {
                    *breaks += 1;
                    self.after_cr = true;
                }
                (Some((_, breaks)), b'\n') => {
                    if !std::mem::take(&mut self.after_cr) {
                        *breaks += 1;
                    }
                }
                (open, _) => {
                    self.runs.extend(open.take());
                    self.after_cr = false;
                }
            }
            i += 1;
        }
        self.offset += bytes.len() as u64;
    }
}

impl<R: std::io::Read> std::io::Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.scan(&buf[..n]);
        Ok(n)
    }
}

/// The fields of a CSV file, UTF-8 checked and field-count checked, before typing: all field
/// text in one buffer, field `(row, j)` ending at `ends[row * width + j]`.
struct RawCsv<'a> {
    file: &'a str,
    header: Vec<String>,
    text: String,
    ends: Vec<usize>,
    lines: Vec<u64>,
}

/// A present (non-blank) field, trimmed for numeric parsing.
fn present(field: &str) -> Option<&str> {
    let t = field.trim_ascii();
    (!t.is_empty()).then_some(t)
}

/// A field parsed as a finite float: `Ok(None)` when it is a number but not finite.
fn finite(t: &str) -> Result<Option<f64>, std::num::ParseFloatError> {
    t.parse::<f64>().map(|x| x.is_finite().then_some(x))
}

impl<'a> RawCsv<'a> {
    fn parse(bytes: &[u8], file: &'a str, options: &CsvOptions) -> Result<Self, DataError> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let skipped = options.skip_lines;
        let bytes = skip_lines(bytes, skipped).map_err(|lines| DataError::SkipPastEnd {
            file: file.to_owned(),
            skip: skipped,
            lines,
        })?;
        // Lines skipped before the bytes the reader sees: they count in the lines errors name.
        let base = skipped as u64;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(options.delimiter)
            .quote(options.quote)
            .from_reader(LineCounter::new(bytes));
        // Lines are counted from byte offsets: the csv crate's own count is off after `\r\n`.
        let csv_error = |e: csv::Error, reader: &mut csv::Reader<LineCounter<&[u8]>>| DataError::Csv {
            file: file.to_owned(),
            line: e.position().map(|p| base + reader.get_mut().line_at(p.byte())),
            message: e.to_string(),
        };
        let not_utf8 = |line: u64, column: String, e: std::str::Utf8Error| DataError::NotUtf8 {
            file: file.to_owned(),
            line,
            column,
            valid_up_to: e.valid_up_to(),
        };
        let mut record = csv::ByteRecord::new();
        let given = options.given_names();
        let mut has_record = reader.read_byte_record(&mut record).map_err(|e| csv_error(e, &mut reader))?;
        if !has_record {
            return Err(if skipped > 0 {
                DataError::NothingAfterSkip { file: file.to_owned(), skipped }
            } else {
                DataError::Empty { file: file.to_owned() }
            });
        }
        let header = match given {
            Some(names) => names,
            None => {
                let line = base + reader.get_mut().line_at(record.position().map_or(0, |p| p.byte()));
                let mut header = Vec::with_capacity(record.len());
                for (j, field) in record.iter().enumerate() {
                    let name =
                        std::str::from_utf8(field).map_err(|e| not_utf8(line, format!("#{}", j + 1), e))?;
                    header.push(name.trim().to_owned());
                }
                for (j, name) in header.iter().enumerate() {
                    if name.is_empty() {
                        return Err(DataError::EmptyHeader { file: file.to_owned(), line, position: j + 1 });
                    }
                    if let Some(first) = header[..j].iter().position(|h| h == name) {
                        return Err(DataError::DuplicateHeader {
                            file: file.to_owned(),
                            line,
                            name: name.clone(),
                            first: first + 1,
                            second: j + 1,
                        });
                    }
                }
                has_record = reader.read_byte_record(&mut record).map_err(|e| csv_error(e, &mut reader))?;
                header
            }
        };
        let no_header = options.header != Header::FirstRow;
        let mut text = String::with_capacity(bytes.len());
        let mut ends = Vec::new();
        let mut lines = Vec::new();
        while has_record {
            let line = base + reader.get_mut().line_at(record.position().map_or(0, |p| p.byte()));
            if record.len() != header.len() {
                let (file, row, found) = (file.to_owned(), lines.len(), record.len());
                return Err(if no_header {
                    DataError::NamesMismatch { file, line, row, names: header, found }
                } else {
                    DataError::RaggedRow { file, line, row, expected: header.len(), found }
                });
            }
            // Validate the record's text at once (fast); only on failure go field by field to
            // name the bad one. Fields that are valid one by one are valid concatenated, and a
            // character split across two fields makes the first one invalid on its own.
            let valid = std::str::from_utf8(record.as_slice()).map(|all| text.push_str(all)).is_ok();
            let mut end = ends.last().copied().unwrap_or(0);
            for field in record.iter() {
                end += field.len();
                ends.push(end);
            }
            let aligned =
                valid && ends[ends.len() - record.len()..].iter().all(|&e| text.is_char_boundary(e));
            if !aligned {
                for (j, field) in record.iter().enumerate() {
                    std::str::from_utf8(field).map_err(|e| not_utf8(line, header[j].clone(), e))?;
                }
                return Err(DataError::Csv {
                    file: file.to_owned(),
                    line: Some(line),
                    message: "field boundaries split a UTF-8 character".to_owned(),
                });
            }
            lines.push(line);
            has_record = reader.read_byte_record(&mut record).map_err(|e| csv_error(e, &mut reader))?;
        }
        if lines.is_empty() {
            return Err(DataError::HeaderOnly { file: file.to_owned(), columns: header.len() });
        }
        Ok(RawCsv { file, header, text, ends, lines })
    }

    fn rows(&self) -> usize {
        self.lines.len()
    }

    /// The text of field `j` of data row `row`.
    fn field(&self, row: usize, j: usize) -> &str {
        let i = row * self.header.len() + j;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }

    fn non_finite(&self, row: usize, j: usize) -> DataError {
        DataError::NonFinite {
            file: self.file.to_owned(),
            line: self.lines[row],
            row,
            column: self.header[j].clone(),
            value: self.field(row, j).to_owned(),
        }
    }

    fn parse_error(&self, row: usize, j: usize, expected: ColumnType) -> DataError {
        DataError::Parse {
            file: self.file.to_owned(),
            line: self.lines[row],
            row,
            column: self.header[j].clone(),
            value: self.field(row, j).to_owned(),
            expected,
        }
    }

    fn text_column(&self, j: usize) -> Column {
        Column::Str(
            (0..self.rows())
                .map(|row| {
                    let f = self.field(row, j);
                    present(f).map(|_| f.to_owned())
                })
                .collect(),
        )
    }

    /// Column `j` with its type inferred (see the module docs), each field parsed once in the
    /// common case: as integers until one is not, then as floats until one is not, then text.
    fn inferred(&self, j: usize) -> Result<Column, DataError> {
        let rows = self.rows();
        let mut ints: Vec<Option<i64>> = Vec::with_capacity(rows);
        let mut row = 0;
        while row < rows {
            match present(self.field(row, j)) {
                None => ints.push(None),
                Some(t) => match t.parse::<i64>() {
                    Ok(x) => ints.push(Some(x)),
                    Err(_) => break,
                },
            }
            row += 1;
        }
        if row == rows {
            if ints.iter().all(Option::is_none) {
                return Ok(self.text_column(j));
            }
            return Ok(Column::Int(ints));
        }
        let mut floats: Vec<Option<f64>> = Vec::with_capacity(rows);
        floats.extend(ints.iter().map(|x| x.map(|x| x as f64)));
        let mut non_finite = None;
        for row in row..rows {
            match present(self.field(row, j)) {
                None => floats.push(None),
                Some(t) => match finite(t) {
                    Ok(Some(x)) => floats.push(Some(x)),
                    Ok(None) => {
                        non_finite.get_or_insert(row);
                        floats.push(None);
                    }
                    Err(_) => return Ok(self.text_column(j)),
                },
            }
        }
        match non_finite {
            Some(row) => Err(self.non_finite(row, j)),
            None => Ok(Column::Float(floats)),
        }
    }

    /// Column `j` parsed as `ty`.
    fn typed(&self, j: usize, ty: ColumnType) -> Result<Column, DataError> {
        let rows = 0..self.rows();
        Ok(match ty {
            ColumnType::Int => Column::Int(
                rows.map(|row| {
                    present(self.field(row, j))
                        .map(|t| t.parse::<i64>().map_err(|_| self.parse_error(row, j, ty)))
                        .transpose()
                })
                .collect::<Result<_, _>>()?,
            ),
            ColumnType::Float => Column::Float(
                rows.map(|row| {
                    present(self.field(row, j))
                        .map(|t| match finite(t) {
                            Ok(Some(x)) => Ok(x),
                            Ok(None) => Err(self.non_finite(row, j)),
                            Err(_) => Err(self.parse_error(row, j, ty)),
                        })
                        .transpose()
                })
                .collect::<Result<_, _>>()?,
            ),
            ColumnType::Str => self.text_column(j),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Table, DataError> {
        parse_csv(text.as_bytes(), "t.csv", &CsvOptions::default())
    }

    #[test]
    fn infers_int_float_str_and_missing() {
        let t = parse("a,b,c,d\n1,1.5,x,\n2, 3 ,\"y, z\",\n,,,\n").unwrap();
        assert_eq!(t.column("a").unwrap(), &Column::Int(vec![Some(1), Some(2), None]));
        assert_eq!(t.column("b").unwrap(), &Column::Float(vec![Some(1.5), Some(3.0), None]));
        assert_eq!(t.column("c").unwrap(), &Column::Str(vec![Some("x".into()), Some("y, z".into()), None]));
        // No values at all: text.
        assert_eq!(t.column("d").unwrap(), &Column::Str(vec![None, None, None]));
    }

    #[test]
    fn non_finite_is_an_error_wherever_it_appears() {
        for bad in ["inf", "-inf", "NaN", "1e400"] {
            let err = parse(&format!("a,b\n1,2\n3,{bad}\n")).unwrap_err();
            assert!(
                matches!(&err, DataError::NonFinite { line: 3, row: 1, column, .. } if column == "b"),
                "{bad}: {err}"
            );
        }
        // A non-finite value before an int turns the column float, still an error.
        assert!(matches!(parse("a\nnan\n1\n"), Err(DataError::NonFinite { line: 2, .. })));
    }

    #[test]
    fn text_that_looks_like_nan_in_a_text_column_is_text() {
        let t = parse("name\nNan\nBob\n").unwrap();
        assert_eq!(t.column("name").unwrap().str_at(0), Some("Nan"));
    }

    #[test]
    fn bom_is_skipped_and_header_trimmed() {
        let t = parse_csv(b"\xEF\xBB\xBFid , x\n1,2\n", "t.csv", &CsvOptions::default()).unwrap();
        assert_eq!(t.names(), ["id", "x"]);
    }

    #[test]
    fn header_errors() {
        assert!(matches!(parse(""), Err(DataError::Empty { .. })));
        assert!(matches!(parse("a,b\n"), Err(DataError::HeaderOnly { columns: 2, .. })));
        assert!(matches!(parse("a,,b\n1,2,3\n"), Err(DataError::EmptyHeader { position: 2, .. })));
        assert!(matches!(
            parse("a,b,a\n1,2,3\n"),
            Err(DataError::DuplicateHeader { first: 1, second: 3, .. })
        ));
    }

    #[test]
    fn ragged_row_names_its_line_even_after_multiline_fields() {
        let err = parse("a,b\n\"x\ny\",1\n2\n").unwrap_err();
        assert!(matches!(err, DataError::RaggedRow { line: 4, row: 1, expected: 2, found: 1, .. }), "{err}");
    }

    /// `text` with its `\n` line ends replaced by `end`.
    fn with_line_ends(text: &str, end: &str) -> String {
        text.replace('\n', end)
    }

    #[test]
    fn lines_are_right_whatever_the_line_ends() {
        // A ragged row on line 5, after a quoted field spanning lines 2-3 and a blank line 4.
        let ragged = "a,b\n\"x\ny\",1\n\n2\n3,4\n";
        // A bad value on line 6 (with a declared type), after a field holding a line end.
        let bad = "a,b\n1,\"p\nq\"\n2,r\n3,s\nx,t\n";
        let opts = CsvOptions::default().with_schema(Schema::new([("a", ColumnType::Int)]));
        for end in ["\n", "\r\n", "\r"] {
            let err = parse(&with_line_ends(ragged, end)).unwrap_err();
            assert!(matches!(err, DataError::RaggedRow { line: 5, row: 1, .. }), "{end:?}: {err}");
            let err = parse_csv(with_line_ends(bad, end).as_bytes(), "t.csv", &opts).unwrap_err();
            assert!(matches!(err, DataError::Parse { line: 6, row: 3, .. }), "{end:?}: {err}");
            assert!(err.to_string().starts_with("`t.csv` line 6, column `a`"), "{end:?}: {err}");
        }
        // Mixed line ends, a BOM, and blank lines before the header.
        let err = parse_csv(b"\xEF\xBB\xBF\r\n\na,b\r\n1,2\n\r\n3\r\n", "t.csv", &CsvOptions::default())
            .unwrap_err();
        assert!(matches!(err, DataError::RaggedRow { line: 6, .. }), "{err}");
    }

    #[test]
    fn the_line_counter_counts_across_reads() {
        // One byte per read: a `\r\n` split across two reads is one line end.
        struct Trickle<'a>(&'a [u8]);
        impl std::io::Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let Some((&first, rest)) = self.0.split_first() else { return Ok(0) };
                match buf.first_mut() {
                    Some(slot) => *slot = first,
                    None => return Ok(0),
                }
                self.0 = rest;
                Ok(1)
            }
        }
        let text = b"h\r\n\"a\r\nb\"\r\n\r\nc\rd\n";
        let mut reader =
            csv::ReaderBuilder::new().has_headers(false).from_reader(LineCounter::new(Trickle(text)));
        let mut record = csv::ByteRecord::new();
        let mut lines = Vec::new();
        while reader.read_byte_record(&mut record).unwrap() {
            let byte = record.position().unwrap().byte();
            lines.push(reader.get_mut().line_at(byte));
        }
        assert_eq!(lines, [1, 2, 5, 6]);
    }

    #[test]
    fn schema_types_and_missing_columns() {
        let schema = Schema::new([("a", ColumnType::Float), ("b", ColumnType::Str)]);
        let opts = CsvOptions::default().with_schema(schema);
        let t = parse_csv(b"a,b,c\n1,2,3\n", "t.csv", &opts).unwrap();
        assert_eq!(t.column("a").unwrap(), &Column::Float(vec![Some(1.0)]));
        assert_eq!(t.column("b").unwrap(), &Column::Str(vec![Some("2".into())]));
        assert_eq!(t.column("c").unwrap(), &Column::Int(vec![Some(3)]));

        let err = parse_csv(b"b,c\n1,2\n", "t.csv", &opts).unwrap_err();
        assert!(matches!(&err, DataError::MissingColumn { column, .. } if column == "a"));

        let opts = CsvOptions::default().with_schema(Schema::new([("a", ColumnType::Int)]));
        let err = parse_csv(b"a\n1\n2.5\n", "t.csv", &opts).unwrap_err();
        assert!(
            matches!(&err, DataError::Parse { line: 3, row: 1, value, expected: ColumnType::Int, .. } if value == "2.5")
        );
    }

    #[test]
    fn skipping_lines_with_every_line_end() {
        let text = b"a\nb\r\nc\rd";
        assert_eq!(skip_lines(text, 0), Ok(&text[..]));
        assert_eq!(skip_lines(text, 1), Ok(&b"b\r\nc\rd"[..]));
        assert_eq!(skip_lines(text, 2), Ok(&b"c\rd"[..]), "`\\r\\n` is one line end");
        assert_eq!(skip_lines(text, 3), Ok(&b"d"[..]));
        assert_eq!(skip_lines(text, 4), Ok(&b""[..]), "a last line without a line end counts");
        assert_eq!(skip_lines(text, 5), Err(4));
        assert_eq!(skip_lines(b"", 1), Err(0));
        assert_eq!(skip_lines(b"\n\n", 2), Ok(&b""[..]), "blank lines count");
        assert_eq!(skip_lines(b"\n\n", 3), Err(2));
    }

    #[test]
    fn skipped_lines_count_in_every_line_reported() {
        let opts = CsvOptions::default().skip_lines(2);
        let err = parse_csv(b"x\ny\n\xff,b\n1,2\n", "t.csv", &opts).unwrap_err();
        assert!(matches!(err, DataError::NotUtf8 { line: 3, .. }), "{err}");
        let err = parse_csv(b"x\ny\na,b\n1,\xff\n", "t.csv", &opts).unwrap_err();
        assert!(matches!(err, DataError::NotUtf8 { line: 4, .. }), "{err}");
        let err = parse_csv(b"x\ny\na,\n1,2\n", "t.csv", &opts).unwrap_err();
        assert!(matches!(err, DataError::EmptyHeader { line: 3, position: 2, .. }), "{err}");
        let err = parse_csv(b"x\ny\na\nNaN\n", "t.csv", &opts).unwrap_err();
        assert!(matches!(err, DataError::NonFinite { line: 4, row: 0, .. }), "{err}");
        // An unterminated quote in a skipped line does not matter.
        let t = parse_csv(b"\"x\ny\na,b\n1,2\n", "t.csv", &opts).unwrap();
        assert_eq!(t.names(), ["a", "b"]);
        assert_eq!(t.rows(), 1);
        // A byte-order mark comes before the skipped lines.
        let t =
            parse_csv(b"\xEF\xBB\xBFskip\na\n1\n", "t.csv", &CsvOptions::default().skip_lines(1)).unwrap();
        assert_eq!(t.names(), ["a"]);
    }

    #[test]
    fn no_header_keeps_every_row() {
        let opts = CsvOptions::default().no_header(["a", "b"]);
        let t = parse_csv(b"1,x\n2,y\n", "t.csv", &opts).unwrap();
        assert_eq!(t.column("a").unwrap(), &Column::Int(vec![Some(1), Some(2)]));
        // A row that looks like a header is data: the column is text.
        let t = parse_csv(b"a,b\n1,x\n", "t.csv", &opts).unwrap();
        assert_eq!(t.rows(), 2);
        assert_eq!(t.column("a").unwrap().column_type(), ColumnType::Str);
        // Names are kept as given (no header row to trim).
        let t = parse_csv(b"1\n", "t.csv", &CsvOptions::default().no_header([" a "])).unwrap();
        assert_eq!(t.names(), [" a "]);
        // An empty file with no header row.
        assert!(matches!(parse_csv(b"", "t.csv", &opts), Err(DataError::Empty { .. })));
    }

    #[test]
    fn options_are_checked_before_the_bytes() {
        // Even an empty file reports the options first.
        let opts = CsvOptions::default().with_delimiter(b'"');
        assert!(matches!(parse_csv(b"", "t.csv", &opts), Err(DataError::InvalidOptions { .. })));
        for ok in [b'\t', b';', b'|', b' ', 0] {
            assert!(CsvOptions::default().with_delimiter(ok).check("t.csv").is_ok(), "{ok}");
        }
        let err = CsvOptions::default().with_quote(0x80).check("t.csv").unwrap_err();
        assert!(err.to_string().contains("the quote character `\\x80` is not an ASCII character"), "{err}");
        let err = CsvOptions::default()
            .with_schema(Schema::new([("", ColumnType::Int)]))
            .check("t.csv")
            .unwrap_err();
        assert!(err.to_string().contains("the schema's column 1 (1-based) has an empty name"), "{err}");
        let none = Schema::new(Vec::<(String, ColumnType)>::new());
        let err = CsvOptions::default().no_header_with_schema(none).check("t.csv").unwrap_err();
        assert!(matches!(err, DataError::InvalidOptions { .. }), "{err}");
    }

    #[test]
    fn a_quote_character_of_choice() {
        let opts = CsvOptions::default().with_quote(b'\'');
        let t = parse_csv(b"a,b\n'x, ''y''',\"z\"\n", "t.csv", &opts).unwrap();
        assert_eq!(t.column("a").unwrap().str_at(0), Some("x, 'y'"));
        assert_eq!(t.column("b").unwrap().str_at(0), Some("\"z\""), "`\"` is plain text now");
    }

    #[test]
    fn table_ops() {
        let t = parse("a,b\n1,x\n2,y\n3,z\n").unwrap();
        let s = t.take(&[2, 0]);
        assert_eq!(s.rows(), 2);
        assert_eq!(s.column("b").unwrap().str_at(0), Some("z"));
        assert_eq!(t.take(&[]).rows(), 0);
        assert!(matches!(t.try_take(&[3]), Err(DataError::RowOutOfRange { row: 3, rows: 3 })));
        assert!(matches!(t.select(&["a", "a"]), Err(DataError::DuplicateColumn { .. })));
        assert_eq!(t.select(&[]).unwrap().rows(), 3);
        let w = t.clone().with_column("c", Column::Int(vec![None; 3])).unwrap();
        assert_eq!(w.names(), ["a", "b", "c"]);
        assert!(matches!(
            t.with_column("c", Column::Int(vec![])),
            Err(DataError::LengthMismatch { len: 0, expected: 3, .. })
        ));
    }
}
