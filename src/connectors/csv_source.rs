//! CSV exports: any delimiter and quote, UTF-8 or a legacy encoding, BOM, CRLF or LF, gzip, globs.

use super::{
    channel, BadRow, Connector, CsvSpec, LineEnding, RawRow, RowBatch, SourceError, SourceReader,
    BATCH_ROWS,
};
use flate2::read::MultiGzDecoder;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::mpsc::Sender;

pub(super) async fn open(
    connector: &Connector,
    spec: &CsvSpec,
) -> Result<SourceReader, SourceError> {
    let files = expand(connector, spec)?;
    // Read the first header now, so that a missing or unreadable file fails the source up front.
    let first = &files[0];
    let mut reader = open_file(connector, spec, first)?;
    let columns = read_header(connector, spec, first, &mut reader)?;
    let (tx, rx) = channel();
    let connector_name = connector.name.clone();
    let spec = spec.clone();
    let expected = columns.clone();
    let pattern = spec.path.clone();
    tokio::task::spawn_blocking(move || {
        let mut first_reader = Some(reader);
        for file in &files {
            let result = match first_reader.take() {
                Some(r) => stream_rows(&connector_name, &expected, file, spec.delimiter, r, &tx),
                None => open_file_named(&connector_name, &spec, file).and_then(|mut r| {
                    let header = header_names(&connector_name, &spec, file, &mut r)?;
                    if header != expected {
                        return Err(SourceError::Columns {
                            source_name: connector_name.clone(),
                            place: display(file),
                            reason: format!(
                                "its columns differ from the first file's ({}); every file of a glob must have the same header",
                                display(&files[0])
                            ),
                        });
                    }
                    stream_rows(&connector_name, &expected, file, spec.delimiter, r, &tx)
                }),
            };
            if let Err(e) = result {
                // The receiver may be gone if the run was cancelled; nothing more to do then.
                let _ = tx.blocking_send(Err(e));
                return;
            }
        }
    });
    Ok(SourceReader {
        types: vec![super::ColumnType::Text; columns.len()],
        columns,
        place: pattern,
        batches: rx,
        since: None,
        read_in_full_because: None,
    })
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

pub(super) fn expand(connector: &Connector, spec: &CsvSpec) -> Result<Vec<PathBuf>, SourceError> {
    let has_wildcard = spec.path.contains(['*', '?', '[']);
    if !has_wildcard {
        let p = PathBuf::from(&spec.path);
        if !p.exists() {
            return Err(SourceError::Open {
                source_name: connector.name.clone(),
                target: spec.path.clone(),
                reason: format!(
                    "no such file (check `path` in {})",
                    connector.file.display()
                ),
            });
        }
        return Ok(vec![p]);
    }
    let paths = glob::glob(&spec.path).map_err(|e| SourceError::Open {
        source_name: connector.name.clone(),
        target: spec.path.clone(),
        reason: format!("bad glob pattern: {e}"),
    })?;
    let mut files: Vec<PathBuf> = paths
        .filter_map(Result::ok)
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(SourceError::NoFiles {
            source_name: connector.name.clone(),
            pattern: spec.path.clone(),
            config: connector.file.display().to_string(),
        });
    }
    Ok(files)
}

type CsvReader = csv::Reader<LineCounter<Box<dyn Read + Send>>>;

/// Counts lines as bytes pass to the CSV parser, so that a record's byte offset can be turned
/// into its line number (the csv crate miscounts lines of CRLF files). Only the newlines still
/// ahead of the parser are remembered, so memory stays flat.
pub(crate) struct LineCounter<R> {
    inner: R,
    offset: u64,
    newlines: std::collections::VecDeque<u64>,
    lines_before: u64,
}

impl<R: Read> LineCounter<R> {
    fn new(inner: R) -> Self {
        LineCounter {
            inner,
            offset: 0,
            newlines: std::collections::VecDeque::new(),
            lines_before: 0,
        }
    }

    /// The 1-based line on which the record starting at `offset` sits; offsets must not go
    /// backwards. With CRLF the parser ends a record at `\r` and reports the next one as starting
    /// on the leftover `\n`, so a newline at `offset` itself still counts as before the record.
    fn line_at(&mut self, offset: u64) -> u64 {
        while self.newlines.front().is_some_and(|&n| n <= offset) {
            self.newlines.pop_front();
            self.lines_before += 1;
        }
        self.lines_before + 1
    }
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for (i, b) in buf[..n].iter().enumerate() {
            if *b == b'\n' {
                self.newlines.push_back(self.offset + i as u64);
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

fn open_file(connector: &Connector, spec: &CsvSpec, path: &Path) -> Result<CsvReader, SourceError> {
    open_file_named(&connector.name, spec, path)
}

fn open_file_named(source: &str, spec: &CsvSpec, path: &Path) -> Result<CsvReader, SourceError> {
    let file = File::open(path).map_err(|e| SourceError::Open {
        source_name: source.to_string(),
        target: display(path),
        reason: e.to_string(),
    })?;
    let mut bytes: Box<dyn Read + Send> = Box::new(BufReader::with_capacity(1 << 16, file));
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"))
    {
        bytes = Box::new(BufReader::with_capacity(
            1 << 16,
            MultiGzDecoder::new(bytes),
        ));
    }
    let decoded: Box<dyn Read + Send> = if spec.encoding == encoding_rs::UTF_8 {
        // UTF-8 is validated per field instead, so that one bad row is rejected rather than
        // the whole stream being corrupted by replacement characters.
        Box::new(SkipUtf8Bom::new(bytes))
    } else {
        Box::new(
            encoding_rs_io::DecodeReaderBytesBuilder::new()
                .encoding(Some(spec.encoding))
                .bom_override(true)
                .build(bytes),
        )
    };
    let terminator = match spec.line_ending {
        LineEnding::Lf => csv::Terminator::Any(b'\n'),
        // The CRLF terminator accepts \r\n, \n and \r alike.
        LineEnding::Crlf | LineEnding::Auto => csv::Terminator::CRLF,
    };
    Ok(csv::ReaderBuilder::new()
        .delimiter(spec.delimiter)
        .quote(spec.quote)
        .has_headers(false)
        .flexible(true)
        .terminator(terminator)
        .buffer_capacity(1 << 16)
        .from_reader(LineCounter::new(decoded)))
}

fn read_header(
    connector: &Connector,
    spec: &CsvSpec,
    path: &Path,
    reader: &mut CsvReader,
) -> Result<Vec<String>, SourceError> {
    header_names(&connector.name, spec, path, reader)
}

fn header_names(
    source: &str,
    spec: &CsvSpec,
    path: &Path,
    reader: &mut CsvReader,
) -> Result<Vec<String>, SourceError> {
    let columns: Vec<String> = if spec.header {
        let mut record = csv::ByteRecord::new();
        let got = reader
            .read_byte_record(&mut record)
            .map_err(|e| SourceError::Read {
                source_name: source.to_string(),
                place: display(path),
                reason: format!("cannot read the header row: {e}"),
            })?;
        if !got {
            return Err(SourceError::Columns {
                source_name: source.to_string(),
                place: display(path),
                reason: "the file is empty: expected a header row".into(),
            });
        }
        record
            .iter()
            .map(|f| String::from_utf8_lossy(f).trim().to_string())
            .collect()
    } else {
        spec.columns.clone()
    };
    // Positions, never the names: a file without its header row has a customer's values there.
    let problem = |what: String| {
        SourceError::Columns {
        source_name: source.to_string(),
        place: display(path),
        reason: format!(
            "{what}; if the file has no header row, set `header = false` and name the columns in its connector"
        ),
    }
    };
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (i, c) in columns.iter().enumerate() {
        if c.is_empty() {
            return Err(problem(format!(
                "column {} of the header has no name",
                i + 1
            )));
        }
        if let Some(first) = seen.insert(c.as_str(), i) {
            return Err(problem(format!(
                "columns {} and {} of the header have the same name",
                first + 1,
                i + 1
            )));
        }
    }
    Ok(columns)
}

fn stream_rows(
    source: &str,
    columns: &[String],
    path: &Path,
    delimiter: u8,
    mut reader: CsvReader,
    tx: &Sender<Result<RowBatch, SourceError>>,
) -> Result<(), SourceError> {
    let place: Arc<str> = Arc::from(display(path));
    let delimiter = char::from(delimiter);
    let mut record = csv::ByteRecord::new();
    let mut batch = RowBatch::default();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                // A quoting error is the row's fault; an I/O error is the source's.
                if let csv::ErrorKind::Io(io) = e.kind() {
                    return Err(SourceError::Read {
                        source_name: source.to_string(),
                        place: place.to_string(),
                        reason: io.to_string(),
                    });
                }
                let line = e
                    .position()
                    .map(|p| reader.get_mut().line_at(p.byte()))
                    .unwrap_or(0);
                batch.bad.push(BadRow {
                    location: super::format_location(&place, line),
                    raw: String::new(),
                    reason: format!("malformed CSV: {e}"),
                });
                continue;
            }
        }
        let line = record
            .position()
            .map(|p| p.byte())
            .map(|b| reader.get_mut().line_at(b))
            .unwrap_or(0);
        if record.len() != columns.len() {
            batch.bad.push(BadRow {
                location: super::format_location(&place, line),
                raw: raw_text(&record, delimiter),
                reason: format!("expected {} fields, found {}", columns.len(), record.len()),
            });
        } else {
            match decode(&record, columns) {
                Ok(values) => batch.rows.push(RawRow {
                    values,
                    place: place.clone(),
                    line,
                }),
                Err(reason) => batch.bad.push(BadRow {
                    location: super::format_location(&place, line),
                    raw: raw_text(&record, delimiter),
                    reason,
                }),
            }
        }
        if batch.rows.len() + batch.bad.len() >= BATCH_ROWS
            && tx.blocking_send(Ok(std::mem::take(&mut batch))).is_err()
        {
            return Ok(());
        }
    }
    if !(batch.rows.is_empty() && batch.bad.is_empty()) {
        let _ = tx.blocking_send(Ok(batch));
    }
    Ok(())
}

fn decode(record: &csv::ByteRecord, columns: &[String]) -> Result<Vec<Option<String>>, String> {
    let mut values = Vec::with_capacity(record.len());
    for (i, field) in record.iter().enumerate() {
        match std::str::from_utf8(field) {
            Ok(s) => {
                let t = s.trim();
                values.push(if t.is_empty() { None } else { Some(t.to_string()) });
            }
            Err(e) => {
                return Err(format!(
                    "undecodable bytes in column {:?} at byte {}: not valid UTF-8 (is the file's `encoding` right?)",
                    columns.get(i).map(String::as_str).unwrap_or("?"),
                    e.valid_up_to()
                ))
            }
        }
    }
    Ok(values)
}

fn raw_text(record: &csv::ByteRecord, delimiter: char) -> String {
    let mut out = String::new();
    for (i, f) in record.iter().enumerate() {
        if i > 0 {
            out.push(delimiter);
        }
        out.push_str(&String::from_utf8_lossy(f));
    }
    out
}

/// Drops a UTF-8 byte-order mark at the start of a stream.
struct SkipUtf8Bom<R> {
    inner: R,
    checked: bool,
    pending: Vec<u8>,
}

impl<R: Read> SkipUtf8Bom<R> {
    fn new(inner: R) -> Self {
        SkipUtf8Bom {
            inner,
            checked: false,
            pending: Vec::new(),
        }
    }
}

impl<R: Read> Read for SkipUtf8Bom<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if !self.checked {
            self.checked = true;
            let mut head = [0u8; 3];
            let mut got = 0;
            while got < 3 {
                let n = self.inner.read(&mut head[got..])?;
                if n == 0 {
                    break;
                }
                got += n;
            }
            if !(got == 3 && head == [0xEF, 0xBB, 0xBF]) {
                self.pending.extend_from_slice(&head[..got]);
            }
        }
        if !self.pending.is_empty() {
            let n = self.pending.len().min(buf.len());
            buf[..n].copy_from_slice(&self.pending[..n]);
            self.pending.drain(..n);
            return Ok(n);
        }
        self.inner.read(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::config::parse_connector;
    use std::io::Write;

    fn connector(dir: &Path, extra: &str) -> Connector {
        let text = format!(
            "name = \"t\"\nkind = \"csv\"\nrecord_kind = \"customer\"\nprimary_key = [\"id\"]\n{extra}\n"
        );
        parse_connector(&dir.join("t.toml"), &text, dir, &|_| None).expect("valid connector")
    }

    async fn read_all(c: &Connector) -> (Vec<String>, Vec<RawRow>, Vec<BadRow>) {
        let mut reader = crate::connectors::open(c).await.expect("opens");
        let (mut rows, mut bad) = (Vec::new(), Vec::new());
        while let Some(batch) = reader.batches.recv().await {
            let batch = batch.expect("no source error");
            rows.extend(batch.rows);
            bad.extend(batch.bad);
        }
        (reader.columns, rows, bad)
    }

    #[tokio::test]
    async fn windows_1252_semicolons_crlf_and_bom() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut bytes = b"id;name\r\n1;Jos".to_vec();
        bytes.push(0xE9); // é in Windows-1252
        bytes.extend_from_slice(b"\r\n2;\"M\xFCller; Hans\"\r\n");
        std::fs::write(dir.path().join("a.csv"), &bytes).expect("write");
        let c = connector(dir.path(), "path = \"a.csv\"\ndelimiter = \";\"\nencoding = \"windows-1252\"\nline_ending = \"crlf\"");
        let (cols, rows, bad) = read_all(&c).await;
        assert_eq!(cols, vec!["id", "name"]);
        assert!(bad.is_empty());
        assert_eq!(rows[0].values[1].as_deref(), Some("José"));
        assert_eq!(rows[1].values[1].as_deref(), Some("Müller; Hans"));
        assert_eq!(rows[1].line, 3);

        let mut utf8 = vec![0xEF, 0xBB, 0xBF];
        utf8.extend_from_slice("id,name\n7,Zoë\n".as_bytes());
        std::fs::write(dir.path().join("b.csv"), &utf8).expect("write");
        let (cols, rows, _) = read_all(&connector(dir.path(), "path = \"b.csv\"")).await;
        assert_eq!(cols[0], "id", "BOM stripped from the first column name");
        assert_eq!(rows[0].values[1].as_deref(), Some("Zoë"));
    }

    #[tokio::test]
    async fn gzip_and_globs_read_every_file_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, body) in [
            ("x1.csv.gz", "id,v\n1,a\n"),
            ("x2.csv.gz", "id,v\n2,b\n3,c\n"),
        ] {
            let f = File::create(dir.path().join(name)).expect("create");
            let mut gz = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
            gz.write_all(body.as_bytes()).expect("write");
            gz.finish().expect("finish");
        }
        let (_, rows, _) = read_all(&connector(dir.path(), "path = \"x*.csv.gz\"")).await;
        let ids: Vec<_> = rows
            .iter()
            .map(|r| r.values[0].clone().unwrap_or_default())
            .collect();
        assert_eq!(ids, vec!["1", "2", "3"]);
    }

    #[tokio::test]
    async fn bad_rows_are_reported_with_their_line_and_text() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut bytes = b"id,name\n1,ok\n2,too,many\n3,bad".to_vec();
        bytes.push(0xFF);
        bytes.extend_from_slice(b"\n4,fine\n");
        std::fs::write(dir.path().join("c.csv"), &bytes).expect("write");
        let (_, rows, bad) = read_all(&connector(dir.path(), "path = \"c.csv\"")).await;
        assert_eq!(rows.len(), 2);
        assert_eq!(bad.len(), 2);
        assert!(bad[0].location.ends_with("c.csv:3"), "{}", bad[0].location);
        assert_eq!(bad[0].raw, "2,too,many");
        assert!(bad[0].reason.contains("expected 2 fields, found 3"));
        assert!(bad[1]
            .reason
            .contains("undecodable bytes in column \"name\""));
        assert!(bad[1].raw.starts_with("3,bad"));
    }

    #[tokio::test]
    async fn missing_files_and_bad_headers_fail_the_source() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = crate::connectors::open(&connector(dir.path(), "path = \"nope.csv\""))
            .await
            .err()
            .expect("fails");
        assert!(err.to_string().contains("no such file"), "{err}");
        let err = crate::connectors::open(&connector(dir.path(), "path = \"none-*.csv\""))
            .await
            .err()
            .expect("fails");
        assert!(err.to_string().contains("no file matches"), "{err}");
        std::fs::write(dir.path().join("d.csv"), "id,id\n1,2\n").expect("write");
        let err = crate::connectors::open(&connector(dir.path(), "path = \"d.csv\""))
            .await
            .err()
            .expect("fails");
        assert!(
            err.to_string()
                .contains("columns 1 and 2 of the header have the same name"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_data_row_read_as_the_header_is_described_by_positions_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        // No header row: the first row of data, with a value twice and an empty cell.
        for (text, wanted) in [
            (
                "7,ZZSENTINEL42,ZZSENTINEL42,x@example.com\n",
                "columns 2 and 3 of the header have the same name",
            ),
            (
                "7,ZZSENTINEL42,,x@example.com\n",
                "column 3 of the header has no name",
            ),
        ] {
            std::fs::write(dir.path().join("d.csv"), text).expect("write");
            let err = crate::connectors::open(&connector(dir.path(), "path = \"d.csv\""))
                .await
                .err()
                .expect("fails")
                .to_string();
            assert!(
                err.contains(wanted) && err.contains("header = false"),
                "{err}"
            );
            assert!(
                !err.contains("ZZSENTINEL42") && !err.contains("example.com"),
                "{err}"
            );
        }
    }
}
