//! Opening a buffer (fast through the footer index, or by scanning block headers after a crash), recovery of a torn
//! tail, and bounded block-by-block access: random access by id and streaming iteration in constant memory.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::codec::{BlockRecords, RecordView};
use crate::error::{BufferError, Result};
use crate::filter::RecordFilter;
use crate::format::{
    BLOCK_HEADER_LEN, BLOCK_MAGIC, BlockEntry, BlockHeader, BlockKind, Codec, FILE_HEADER_LEN, FOOTER_LEN,
    FileHeaderError, decode_file_header, decode_footer, decode_index,
};
use crate::record::{RecordId, StoredRecord};

/// What recovery dropped when the file ended in a torn tail (a block whose write a crash interrupted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// Byte offset where the torn tail starts (the end of the last complete block).
    pub offset: u64,
    /// Number of bytes after `offset` that were ignored (or cut, when opened for appending).
    pub dropped_bytes: u64,
    /// Why the tail was judged torn.
    pub reason: String,
    /// Records before the tail, all intact.
    pub records_kept: u64,
}

impl std::fmt::Display for Recovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "dropped a torn tail of {} bytes at offset {} ({}); the {} records before it are intact",
            self.dropped_bytes, self.offset, self.reason, self.records_kept
        )
    }
}

/// What a visitor wants after seeing a record.
pub(crate) enum Visit {
    /// Keep going.
    Continue,
    /// Stop the walk.
    Stop,
}

/// Bytes read per step when searching for a valid block after damage.
const SEARCH_WINDOW: usize = 1 << 20;

/// Read access to a buffer. Holds the block index (a few dozen bytes per block), the dictionary and one decoded
/// block, never more: memory stays flat whatever the file size.
pub struct BufferReader<R = File> {
    source: R,
    name: String,
    file_len: u64,
    entries: Vec<BlockEntry>,
    record_count: u64,
    dictionary_offset: Option<u64>,
    dictionary: Option<Vec<u8>>,
    decompressor: zstd::bulk::Decompressor<'static>,
    data_end: u64,
    recovery: Option<Recovery>,
    used_index: bool,
    stored: Vec<u8>,
    raw: Vec<u8>,
    loaded: Option<usize>,
}

impl BufferReader<File> {
    /// Opens a buffer file read-only. A torn tail is ignored and reported by [`recovery`](Self::recovery); the file
    /// itself is not modified (opening it with `BufferWriter::open_append` cuts the tail).
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let name = path.as_ref().display().to_string();
        let file = File::open(path.as_ref()).map_err(|e| BufferError::io(&name, e))?;
        Self::from_source(file, name)
    }
}

impl<R: Read + Seek> BufferReader<R> {
    /// Opens a buffer from any seekable byte source (a file, an in-memory cursor); `name` appears in errors.
    pub fn from_source(mut source: R, name: impl Into<String>) -> Result<Self> {
        let name = name.into();
        let file_len = source.seek(SeekFrom::End(0)).map_err(|e| BufferError::io(&name, e))?;
        if file_len < FILE_HEADER_LEN as u64 {
            return Err(BufferError::NotABuffer {
                source_name: name,
                reason: format!("{file_len} bytes is shorter than the {FILE_HEADER_LEN}-byte file header"),
            });
        }
        let mut header = [0u8; FILE_HEADER_LEN];
        read_at(&mut source, &name, 0, &mut header)?;
        match decode_file_header(&header) {
            Ok(()) => {}
            Err(FileHeaderError::NotABuffer(reason)) => {
                return Err(BufferError::NotABuffer { source_name: name, reason });
            }
            Err(FileHeaderError::Version(found)) => {
                return Err(BufferError::UnsupportedVersion {
                    source_name: name,
                    found,
                    supported: crate::format::FORMAT_VERSION,
                });
            }
        }
        let decompressor = zstd::bulk::Decompressor::new().map_err(|e| BufferError::io(&name, e))?;
        let mut reader = Self {
            source,
            name,
            file_len,
            entries: Vec::new(),
            record_count: 0,
            dictionary_offset: None,
            dictionary: None,
            decompressor,
            data_end: FILE_HEADER_LEN as u64,
            recovery: None,
            used_index: false,
            stored: Vec::new(),
            raw: Vec::new(),
            loaded: None,
        };
        if !reader.open_from_index()? {
            reader.scan()?;
        }
        if let Some(dictionary) = &reader.dictionary {
            reader.decompressor = zstd::bulk::Decompressor::with_dictionary(dictionary).map_err(|e| {
                BufferError::corrupt(&reader.name, reader.dictionary_offset.unwrap_or(0), format!("dictionary: {e}"))
            })?;
        }
        Ok(reader)
    }

    /// Number of records.
    pub fn len(&self) -> u64 {
        self.record_count
    }

    /// Whether the buffer holds no record.
    pub fn is_empty(&self) -> bool {
        self.record_count == 0
    }

    /// The torn tail that was dropped on open, if any.
    pub fn recovery(&self) -> Option<&Recovery> {
        self.recovery.as_ref()
    }

    /// Whether the file was opened through its footer index (it was closed cleanly) rather than by scanning.
    pub fn opened_from_index(&self) -> bool {
        self.used_index
    }

    /// The record blocks, in file order.
    pub fn blocks(&self) -> &[BlockEntry] {
        &self.entries
    }

    /// Size of the file in bytes.
    pub fn file_len(&self) -> u64 {
        self.file_len
    }

    /// Name of the source used in error messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// End of the last complete data block: where appending continues.
    pub(crate) fn data_end(&self) -> u64 {
        self.data_end
    }

    /// Offset of the dictionary block, if the file has one.
    pub(crate) fn dictionary_offset(&self) -> Option<u64> {
        self.dictionary_offset
    }

    /// The dictionary bytes, if the file has one.
    pub(crate) fn dictionary_bytes(&self) -> Option<&[u8]> {
        self.dictionary.as_deref()
    }

    /// Tries the fast path: footer → index block → entries. Any inconsistency means "scan instead" (the index is a
    /// cache of what the block headers say), never an error.
    fn open_from_index(&mut self) -> Result<bool> {
        let min_len = (FILE_HEADER_LEN + BLOCK_HEADER_LEN + FOOTER_LEN) as u64;
        if self.file_len < min_len {
            return Ok(false);
        }
        let mut footer = [0u8; FOOTER_LEN];
        read_at(&mut self.source, &self.name, self.file_len - FOOTER_LEN as u64, &mut footer)?;
        let Some(index_offset) = decode_footer(&footer) else {
            return Ok(false);
        };
        let Ok(Some((header, payload))) = self.read_block_at(index_offset) else {
            return Ok(false);
        };
        if header.kind != BlockKind::Index || index_offset + header.total_len() + FOOTER_LEN as u64 != self.file_len {
            return Ok(false);
        }
        let Ok((dictionary_offset, entries)) = decode_index(&payload) else {
            return Ok(false);
        };
        let mut next_id = 0;
        let mut position = FILE_HEADER_LEN as u64;
        for entry in &entries {
            let header = &entry.header;
            if header.kind != BlockKind::Records
                || header.first_id != next_id
                || entry.offset < position
                || entry.offset + header.total_len() > index_offset
            {
                return Ok(false);
            }
            next_id += u64::from(header.count);
            position = entry.offset + header.total_len();
        }
        let dictionary = match dictionary_offset {
            Some(offset) => match self.read_block_at(offset) {
                Ok(Some((header, bytes))) if header.kind == BlockKind::Dictionary && offset < index_offset => {
                    Some(bytes)
                }
                _ => return Ok(false),
            },
            None => None,
        };
        self.entries = entries;
        self.record_count = next_id;
        self.dictionary_offset = dictionary_offset;
        self.dictionary = dictionary;
        self.data_end = index_offset;
        self.used_index = true;
        Ok(true)
    }

    /// Rebuilds the index by walking block headers from the start; classifies the first damage as a torn tail
    /// (nothing valid after it) or a corrupt block (valid blocks follow: an error).
    fn scan(&mut self) -> Result<()> {
        let mut position = FILE_HEADER_LEN as u64;
        let mut last_records_block: Option<usize> = None;
        while position < self.file_len {
            let remaining = self.file_len - position;
            if remaining < BLOCK_HEADER_LEN as u64 {
                return self.damage(position, "incomplete block header");
            }
            let mut bytes = [0u8; BLOCK_HEADER_LEN];
            read_at(&mut self.source, &self.name, position, &mut bytes)?;
            let header = match BlockHeader::decode(&bytes) {
                Ok(header) => header,
                Err(reason) => return self.damage(position, &reason),
            };
            if header.total_len() > remaining {
                return self.damage(position, "block extends past the end of the file");
            }
            match header.kind {
                BlockKind::Records => {
                    if header.first_id != self.record_count {
                        return self.damage(
                            position,
                            &format!("block starts at record {} but {} precede it", header.first_id, self.record_count),
                        );
                    }
                    self.record_count += u64::from(header.count);
                    last_records_block = Some(self.entries.len());
                    self.entries.push(BlockEntry { offset: position, header });
                }
                BlockKind::Dictionary => {
                    if self.dictionary.is_some() {
                        return self.damage(position, "a second dictionary block");
                    }
                    match self.read_block_at(position)? {
                        Some((_, payload)) => {
                            self.dictionary = Some(payload);
                            self.dictionary_offset = Some(position);
                        }
                        None => return self.damage(position, "dictionary checksum mismatch"),
                    }
                }
                BlockKind::Index => {
                    let end = position + header.total_len();
                    if self.file_len - end == FOOTER_LEN as u64 {
                        let mut footer = [0u8; FOOTER_LEN];
                        read_at(&mut self.source, &self.name, end, &mut footer)?;
                        if decode_footer(&footer) == Some(position) {
                            // A clean end whose index the fast path rejected: the headers are the truth.
                            self.data_end = position;
                            return Ok(());
                        }
                    }
                    if self.file_len - end < FOOTER_LEN as u64 {
                        self.data_end = position;
                        return self.torn(position, "interrupted while writing the index");
                    }
                    return self.damage(end, "unexpected bytes after the index block");
                }
            }
            position += header.total_len();
            self.data_end = position;
        }
        // A crash can extend a file before the data reaches it: the last block's payload is verified here, the
        // others when they are read.
        if let Some(last) = last_records_block {
            let entry = self.entries[last];
            if self.read_block_at(entry.offset)?.is_none() {
                self.entries.pop();
                self.record_count -= u64::from(entry.header.count);
                self.data_end = entry.offset;
                return self.damage(entry.offset, "payload checksum mismatch in the last block");
            }
        }
        Ok(())
    }

    /// Damage at `offset`: an error if a valid block follows (the middle of the file is corrupt), a torn tail
    /// otherwise.
    fn damage(&mut self, offset: u64, reason: &str) -> Result<()> {
        if let Some(found) = self.find_valid_block_after(offset)? {
            return Err(BufferError::corrupt(
                &self.name,
                offset,
                format!("{reason}; valid blocks follow (next at offset {found}), so this is not a torn tail"),
            ));
        }
        self.torn(offset, reason)
    }

    fn torn(&mut self, offset: u64, reason: &str) -> Result<()> {
        self.data_end = offset;
        self.recovery = Some(Recovery {
            offset,
            dropped_bytes: self.file_len - offset,
            reason: reason.to_owned(),
            records_kept: self.record_count,
        });
        Ok(())
    }

    /// Searches after `offset` for a block with a valid header and payload, window by window.
    fn find_valid_block_after(&mut self, offset: u64) -> Result<Option<u64>> {
        let mut window = Vec::new();
        let mut start = offset + 1;
        while start + BLOCK_HEADER_LEN as u64 <= self.file_len {
            let len = (self.file_len - start).min(SEARCH_WINDOW as u64) as usize;
            window.resize(len, 0);
            read_at(&mut self.source, &self.name, start, &mut window)?;
            let last_candidate = len.saturating_sub(BLOCK_HEADER_LEN);
            for i in 0..=last_candidate {
                if window[i..i + 4] != BLOCK_MAGIC {
                    continue;
                }
                let candidate = start + i as u64;
                if matches!(self.read_block_at(candidate), Ok(Some(_))) {
                    return Ok(Some(candidate));
                }
            }
            start += last_candidate as u64 + 1;
        }
        Ok(None)
    }

    /// Reads the block at `offset`: `Some((header, stored payload))` if header and payload checksum are valid and it
    /// lies inside the file, `None` otherwise.
    fn read_block_at(&mut self, offset: u64) -> Result<Option<(BlockHeader, Vec<u8>)>> {
        if offset + BLOCK_HEADER_LEN as u64 > self.file_len {
            return Ok(None);
        }
        let mut bytes = [0u8; BLOCK_HEADER_LEN];
        read_at(&mut self.source, &self.name, offset, &mut bytes)?;
        let Ok(header) = BlockHeader::decode(&bytes) else {
            return Ok(None);
        };
        if offset + header.total_len() > self.file_len {
            return Ok(None);
        }
        let mut payload = vec![0u8; header.stored_len as usize];
        read_at(&mut self.source, &self.name, offset + BLOCK_HEADER_LEN as u64, &mut payload)?;
        if crc32fast::hash(&payload) != header.payload_crc {
            return Ok(None);
        }
        Ok(Some((header, payload)))
    }

    /// Loads and decompresses record block `index` into the block buffer, verifying header, checksum and size.
    fn load_block(&mut self, index: usize) -> Result<()> {
        if self.loaded == Some(index) {
            return Ok(());
        }
        self.loaded = None;
        let entry = self.entries[index];
        let total = entry.header.total_len();
        if entry.offset + total > self.file_len {
            return Err(BufferError::corrupt(&self.name, entry.offset, "block extends past the end of the file"));
        }
        self.stored.resize(total as usize, 0);
        read_at(&mut self.source, &self.name, entry.offset, &mut self.stored)?;
        let mut header_bytes = [0u8; BLOCK_HEADER_LEN];
        header_bytes.copy_from_slice(&self.stored[..BLOCK_HEADER_LEN]);
        match BlockHeader::decode(&header_bytes) {
            Ok(header) if header == entry.header => {}
            Ok(_) => return Err(BufferError::corrupt(&self.name, entry.offset, "block header differs from the index")),
            Err(reason) => return Err(BufferError::corrupt(&self.name, entry.offset, reason)),
        }
        let payload = &self.stored[BLOCK_HEADER_LEN..];
        if crc32fast::hash(payload) != entry.header.payload_crc {
            return Err(BufferError::corrupt(&self.name, entry.offset, "payload checksum mismatch"));
        }
        let raw_len = entry.header.raw_len as usize;
        self.raw.clear();
        match entry.header.codec {
            Codec::Raw => self.raw.extend_from_slice(payload),
            Codec::Zstd | Codec::ZstdDictionary => {
                if entry.header.codec == Codec::ZstdDictionary && self.dictionary.is_none() {
                    return Err(BufferError::corrupt(
                        &self.name,
                        entry.offset,
                        "block is compressed with a dictionary but the file has none",
                    ));
                }
                self.raw.reserve_exact(raw_len);
                let produced = self
                    .decompressor
                    .decompress_to_buffer(payload, &mut self.raw)
                    .map_err(|e| BufferError::corrupt(&self.name, entry.offset, format!("decompression: {e}")))?;
                if produced != raw_len {
                    return Err(BufferError::corrupt(
                        &self.name,
                        entry.offset,
                        format!("decompressed to {produced} bytes, header says {raw_len}"),
                    ));
                }
            }
        }
        self.loaded = Some(index);
        Ok(())
    }

    /// Index of the block holding record `id`.
    fn block_of(&self, id: RecordId) -> Result<usize> {
        if id >= self.record_count {
            return Err(BufferError::NoSuchRecord { source_name: self.name.clone(), id, count: self.record_count });
        }
        Ok(self.entries.partition_point(|e| e.header.first_id + u64::from(e.header.count) <= id))
    }

    /// Reads one record by id, decoding only its block.
    pub fn get(&mut self, id: RecordId) -> Result<StoredRecord> {
        let block = self.block_of(id)?;
        self.load_block(block)?;
        let entry = self.entries[block];
        let mut records = BlockRecords::new(&self.raw);
        for position in entry.header.first_id..=id {
            let view = match records.next_view() {
                Some(Ok(view)) => view,
                Some(Err(reason)) => return Err(BufferError::corrupt(&self.name, entry.offset, reason)),
                None => {
                    return Err(BufferError::corrupt(
                        &self.name,
                        entry.offset,
                        format!("block ends before record {position}"),
                    ));
                }
            };
            if position == id {
                let record = view.decode().map_err(|reason| BufferError::corrupt(&self.name, entry.offset, reason))?;
                return Ok(StoredRecord { id, record });
            }
        }
        Err(BufferError::corrupt(&self.name, entry.offset, format!("record {id} not found in its block")))
    }

    /// Iterates all records in order, one block in memory at a time.
    pub fn iter(&mut self) -> Records<'_, R> {
        self.iter_filtered(RecordFilter::default())
    }

    /// Iterates the records matching `filter`; blocks whose step or reward range cannot match are not decoded.
    pub fn iter_filtered(&mut self, filter: RecordFilter) -> Records<'_, R> {
        Records { reader: self, filter, block: 0, offset: 0, next_id: 0, failed: false }
    }

    /// Reads every block and checks every record (checksums, decompression, framing, JSON): a full integrity check.
    pub fn verify(&mut self) -> Result<u64> {
        let mut count = 0;
        for record in self.iter() {
            record?;
            count += 1;
        }
        Ok(count)
    }

    /// Walks blocks `range` (in order), skipping those `filter` rules out from the header alone, and calls `visit`
    /// with each record matching the filter's cheap fields (and the offset of its block, for error messages).
    /// Checks each block's record count and framing.
    pub(crate) fn visit(
        &mut self,
        blocks: std::ops::Range<usize>,
        filter: &RecordFilter,
        mut visit: impl FnMut(RecordId, u64, &RecordView<'_>) -> Result<Visit>,
    ) -> Result<()> {
        for block in blocks {
            let entry = self.entries[block];
            if !filter.may_match_block(&entry.header) {
                continue;
            }
            self.load_block(block)?;
            let mut records = BlockRecords::new(&self.raw);
            let mut id = entry.header.first_id;
            let end = id + u64::from(entry.header.count);
            while let Some(view) = records.next_view() {
                let view = view.map_err(|reason| BufferError::corrupt(&self.name, entry.offset, reason))?;
                if id >= end {
                    return Err(BufferError::corrupt(&self.name, entry.offset, "more records than the header says"));
                }
                if filter.matches_view(&view)
                    && let Visit::Stop = visit(id, entry.offset, &view)?
                {
                    return Ok(());
                }
                id += 1;
            }
            if id != end {
                return Err(BufferError::corrupt(&self.name, entry.offset, "fewer records than the header says"));
            }
        }
        Ok(())
    }
}

/// Decodes a view into a stored record; errors name the block offset.
pub(crate) fn decode_in(
    name: &str,
    entries: &[BlockEntry],
    id: RecordId,
    view: &RecordView<'_>,
) -> Result<StoredRecord> {
    view.decode().map(|record| StoredRecord { id, record }).map_err(|reason| {
        let block = entries.partition_point(|e| e.header.first_id + u64::from(e.header.count) <= id);
        let offset = entries.get(block).map_or(0, |e| e.offset);
        BufferError::corrupt(name, offset, format!("record {id}: {reason}"))
    })
}

/// Streaming iterator over records (see [`BufferReader::iter`]). Stops after the first error.
pub struct Records<'a, R> {
    reader: &'a mut BufferReader<R>,
    filter: RecordFilter,
    block: usize,
    offset: usize,
    next_id: RecordId,
    failed: bool,
}

impl<R: Read + Seek> Records<'_, R> {
    fn advance(&mut self) -> Result<Option<StoredRecord>> {
        loop {
            if self.block >= self.reader.entries.len() {
                return Ok(None);
            }
            let entry = self.reader.entries[self.block];
            if self.offset == 0 {
                if !self.filter.may_match_block(&entry.header) {
                    self.block += 1;
                    continue;
                }
                self.reader.load_block(self.block)?;
                self.next_id = entry.header.first_id;
            }
            let name = &self.reader.name;
            let raw = &self.reader.raw;
            let end_id = entry.header.first_id + u64::from(entry.header.count);
            let mut records = BlockRecords::new(&raw[self.offset..]);
            while let Some(view) = records.next_view() {
                let view = view.map_err(|reason| BufferError::corrupt(name, entry.offset, reason))?;
                let id = self.next_id;
                if id >= end_id {
                    return Err(BufferError::corrupt(name, entry.offset, "more records than the header says"));
                }
                self.next_id += 1;
                if self.filter.matches_view(&view) {
                    let record = decode_in(name, &self.reader.entries, id, &view)?;
                    self.offset = raw.len() - records.remaining();
                    return Ok(Some(record));
                }
            }
            if self.next_id != end_id {
                return Err(BufferError::corrupt(name, entry.offset, "fewer records than the header says"));
            }
            self.block += 1;
            self.offset = 0;
        }
    }
}

impl<R: Read + Seek> Iterator for Records<'_, R> {
    type Item = Result<StoredRecord>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.advance() {
            Ok(Some(record)) => Some(Ok(record)),
            Ok(None) => None,
            Err(error) => {
                self.failed = true;
                Some(Err(error))
            }
        }
    }
}

/// Reads exactly `buf.len()` bytes at `offset`.
fn read_at<R: Read + Seek>(source: &mut R, name: &str, offset: u64, buf: &mut [u8]) -> Result<()> {
    source.seek(SeekFrom::Start(offset)).and_then(|_| source.read_exact(buf)).map_err(|e| BufferError::io(name, e))
}
