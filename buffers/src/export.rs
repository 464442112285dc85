//! Export of matching records to JSON Lines (the seeds' `export_trajectories(path, min_reward=0.7)`), one record
//! per line with its id first; written to a temporary file and renamed, so a reader never sees half an export.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, Write};
use std::path::Path;

use crate::error::{BufferError, Result};
use crate::filter::RecordFilter;
use crate::reader::{BufferReader, Visit};
use crate::record::ExportLine;

/// What an export wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportSummary {
    /// Records written.
    pub records: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// Writes the records matching `filter` as JSON Lines to `out`, streaming.
pub fn export_jsonl<R: Read + Seek, W: Write>(
    reader: &mut BufferReader<R>,
    filter: &RecordFilter,
    out: &mut W,
) -> Result<ExportSummary> {
    let name = reader.name().to_owned();
    let mut summary = ExportSummary { records: 0, bytes: 0 };
    let mut line = Vec::new();
    reader.visit(0..reader.blocks().len(), filter, |id, offset, view| {
        let record =
            view.decode().map_err(|reason| BufferError::corrupt(&name, offset, format!("record {id}: {reason}")))?;
        line.clear();
        serde_json::to_writer(&mut line, &ExportLine { id, record: &record })
            .map_err(|error| BufferError::Json { context: format!("exporting record {id} of {name}"), error })?;
        line.push(b'\n');
        out.write_all(&line).map_err(|e| BufferError::io("export output", e))?;
        summary.records += 1;
        summary.bytes += line.len() as u64;
        Ok(Visit::Continue)
    })?;
    Ok(summary)
}

/// Exports to the file `path` atomically: written beside it as `<path>.tmp`, synced, then renamed over it.
pub fn export_jsonl_to_path<R: Read + Seek>(
    reader: &mut BufferReader<R>,
    filter: &RecordFilter,
    path: impl AsRef<Path>,
) -> Result<ExportSummary> {
    let path = path.as_ref();
    let name = path.display().to_string();
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp_name);
    let file = File::create(&tmp).map_err(|e| BufferError::io(&tmp.display().to_string(), e))?;
    let mut out = BufWriter::new(file);
    let summary = match export_jsonl(reader, filter, &mut out) {
        Ok(summary) => summary,
        Err(error) => {
            drop(out);
            let _ = std::fs::remove_file(&tmp);
            return Err(error);
        }
    };
    let file = out.into_inner().map_err(|e| BufferError::io(&name, e.into_error()))?;
    file.sync_all().map_err(|e| BufferError::io(&name, e))?;
    std::fs::rename(&tmp, path).map_err(|e| BufferError::io(&name, e))?;
    Ok(summary)
}
