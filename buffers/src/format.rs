//! Byte layout of the file: the file header, block headers, the index payload and the footer (see `FORMAT.md`).
//! Pure encode/decode functions with validation, shared by the writer and the reader.

/// Magic at offset 0 of every buffer file.
pub const FILE_MAGIC: [u8; 8] = *b"RETAINTB";
/// Format version this build writes and reads.
pub const FORMAT_VERSION: u16 = 1;
/// Size of the file header in bytes.
pub const FILE_HEADER_LEN: usize = 32;
/// Magic at the start of every block header; lets recovery find block boundaries again.
pub const BLOCK_MAGIC: [u8; 4] = *b"RTBK";
/// Size of a block header in bytes.
pub const BLOCK_HEADER_LEN: usize = 68;
/// Magic closing the footer that points at the index block.
pub const FOOTER_MAGIC: [u8; 8] = *b"RTINDEX1";
/// Size of the footer in bytes.
pub const FOOTER_LEN: usize = 16;
/// Size of one index entry in bytes (block offset + the block header without magic and checksum).
pub const INDEX_ENTRY_LEN: usize = 8 + BLOCK_HEADER_LEN - 8;
/// Hard upper bound on the decompressed size of any block, whatever a file claims: a hostile or damaged header
/// can make the reader allocate at most this much.
pub const HARD_MAX_BLOCK_BYTES: u32 = 64 << 20;
/// Hard upper bound on a stored dictionary.
pub const HARD_MAX_DICTIONARY_BYTES: u32 = 1 << 20;

/// What a block holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    /// A run of records.
    Records = 1,
    /// The zstd dictionary used by later record blocks.
    Dictionary = 2,
    /// The index of all record blocks (written on close, followed by the footer).
    Index = 3,
}

impl BlockKind {
    fn from_u8(value: u8) -> Option<Self> {
        match value {
            1 => Some(Self::Records),
            2 => Some(Self::Dictionary),
            3 => Some(Self::Index),
            _ => None,
        }
    }
}

/// How a block payload is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// Stored as is.
    Raw = 0,
    /// One zstd frame.
    Zstd = 1,
    /// One zstd frame compressed with the file's dictionary.
    ZstdDictionary = 2,
}

impl Codec {
    fn from_u8(value: u8) -> Option<Self> {
        match value {
            0 => Some(Self::Raw),
            1 => Some(Self::Zstd),
            2 => Some(Self::ZstdDictionary),
            _ => None,
        }
    }
}

/// The fixed-size header in front of every block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlockHeader {
    /// What the block holds.
    pub kind: BlockKind,
    /// How the payload is stored.
    pub codec: Codec,
    /// Payload bytes on disk.
    pub stored_len: u32,
    /// Payload bytes after decompression.
    pub raw_len: u32,
    /// Id of the first record in the block (records blocks only).
    pub first_id: u64,
    /// Number of records in the block.
    pub count: u32,
    /// CRC-32 of the stored payload.
    pub payload_crc: u32,
    /// Smallest training step of the block's records.
    pub min_step: u64,
    /// Largest training step of the block's records.
    pub max_step: u64,
    /// Smallest reward of the block's records.
    pub min_reward: f64,
    /// Largest reward of the block's records.
    pub max_reward: f64,
}

impl BlockHeader {
    /// A header for a non-record block.
    pub fn plain(kind: BlockKind, codec: Codec, stored: &[u8], raw_len: u32) -> Self {
        Self {
            kind,
            codec,
            stored_len: stored.len() as u32,
            raw_len,
            first_id: 0,
            count: 0,
            payload_crc: crc32fast::hash(stored),
            min_step: 0,
            max_step: 0,
            min_reward: 0.0,
            max_reward: 0.0,
        }
    }

    /// Encodes the header body (everything between the magic and the header checksum), also used as index entry.
    fn encode_body(&self, out: &mut Vec<u8>) {
        out.push(self.kind as u8);
        out.push(self.codec as u8);
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&self.stored_len.to_le_bytes());
        out.extend_from_slice(&self.raw_len.to_le_bytes());
        out.extend_from_slice(&self.first_id.to_le_bytes());
        out.extend_from_slice(&self.count.to_le_bytes());
        out.extend_from_slice(&self.payload_crc.to_le_bytes());
        out.extend_from_slice(&self.min_step.to_le_bytes());
        out.extend_from_slice(&self.max_step.to_le_bytes());
        out.extend_from_slice(&self.min_reward.to_le_bytes());
        out.extend_from_slice(&self.max_reward.to_le_bytes());
    }

    /// Encodes the full header: magic, body, CRC-32 of magic + body.
    pub fn encode(&self) -> [u8; BLOCK_HEADER_LEN] {
        let mut bytes = Vec::with_capacity(BLOCK_HEADER_LEN);
        bytes.extend_from_slice(&BLOCK_MAGIC);
        self.encode_body(&mut bytes);
        let crc = crc32fast::hash(&bytes);
        bytes.extend_from_slice(&crc.to_le_bytes());
        let mut out = [0u8; BLOCK_HEADER_LEN];
        out.copy_from_slice(&bytes);
        out
    }

    /// Decodes and validates a header body (kind, codec, reserved bytes, size bounds).
    fn decode_body(body: &[u8]) -> Result<Self, String> {
        let kind = BlockKind::from_u8(body[0]).ok_or_else(|| format!("unknown block kind {}", body[0]))?;
        let codec = Codec::from_u8(body[1]).ok_or_else(|| format!("unknown codec {}", body[1]))?;
        if body[2] != 0 || body[3] != 0 {
            return Err("reserved header bytes are not zero".into());
        }
        let header = Self {
            kind,
            codec,
            stored_len: le_u32(&body[4..8]),
            raw_len: le_u32(&body[8..12]),
            first_id: le_u64(&body[12..20]),
            count: le_u32(&body[20..24]),
            payload_crc: le_u32(&body[24..28]),
            min_step: le_u64(&body[28..36]),
            max_step: le_u64(&body[36..44]),
            min_reward: f64::from_le_bytes(array8(&body[44..52])),
            max_reward: f64::from_le_bytes(array8(&body[52..60])),
        };
        let limit = match kind {
            BlockKind::Dictionary => HARD_MAX_DICTIONARY_BYTES,
            BlockKind::Records | BlockKind::Index => HARD_MAX_BLOCK_BYTES,
        };
        if header.raw_len > limit {
            return Err(format!("declared size {} exceeds the limit of {limit} bytes", header.raw_len));
        }
        if header.stored_len as usize > zstd::zstd_safe::compress_bound(limit as usize) {
            return Err(format!("stored size {} exceeds the limit", header.stored_len));
        }
        if codec == Codec::Raw && header.stored_len != header.raw_len {
            return Err("raw block with stored size different from its size".into());
        }
        if kind == BlockKind::Records && header.count == 0 {
            return Err("records block without records".into());
        }
        Ok(header)
    }

    /// Decodes a full header, checking magic and checksum.
    pub fn decode(bytes: &[u8; BLOCK_HEADER_LEN]) -> Result<Self, String> {
        if bytes[..4] != BLOCK_MAGIC {
            return Err("block magic `RTBK` not found".into());
        }
        let crc = le_u32(&bytes[BLOCK_HEADER_LEN - 4..]);
        if crc32fast::hash(&bytes[..BLOCK_HEADER_LEN - 4]) != crc {
            return Err("block header checksum mismatch".into());
        }
        Self::decode_body(&bytes[4..BLOCK_HEADER_LEN - 4])
    }

    /// Total bytes the block occupies on disk.
    pub fn total_len(&self) -> u64 {
        BLOCK_HEADER_LEN as u64 + u64::from(self.stored_len)
    }
}

/// One record block as the index knows it: where it is and what its header says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlockEntry {
    /// Byte offset of the block header.
    pub offset: u64,
    /// The block's header.
    pub header: BlockHeader,
}

/// Encodes the file header.
pub fn encode_file_header() -> [u8; FILE_HEADER_LEN] {
    let mut out = [0u8; FILE_HEADER_LEN];
    out[..8].copy_from_slice(&FILE_MAGIC);
    out[8..10].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    out[10..12].copy_from_slice(&(FILE_HEADER_LEN as u16).to_le_bytes());
    let crc = crc32fast::hash(&out[..FILE_HEADER_LEN - 4]);
    out[FILE_HEADER_LEN - 4..].copy_from_slice(&crc.to_le_bytes());
    out
}

/// Why a file header was rejected.
#[derive(Debug, PartialEq, Eq)]
pub enum FileHeaderError {
    /// Not our magic, bad checksum or bad fields.
    NotABuffer(String),
    /// Our magic, but another version.
    Version(u16),
}

/// Validates the file header.
pub fn decode_file_header(bytes: &[u8; FILE_HEADER_LEN]) -> Result<(), FileHeaderError> {
    if bytes[..8] != FILE_MAGIC {
        return Err(FileHeaderError::NotABuffer("magic does not match".into()));
    }
    let version = u16::from_le_bytes([bytes[8], bytes[9]]);
    if version != FORMAT_VERSION {
        return Err(FileHeaderError::Version(version));
    }
    let crc = le_u32(&bytes[FILE_HEADER_LEN - 4..]);
    if crc32fast::hash(&bytes[..FILE_HEADER_LEN - 4]) != crc {
        return Err(FileHeaderError::NotABuffer("file header checksum mismatch".into()));
    }
    if u16::from_le_bytes([bytes[10], bytes[11]]) as usize != FILE_HEADER_LEN || bytes[12..28].iter().any(|&b| b != 0) {
        return Err(FileHeaderError::NotABuffer("unexpected file header fields".into()));
    }
    Ok(())
}

/// Encodes the index payload: dictionary block offset (`u64::MAX` = none), entry count, entries.
pub fn encode_index(dictionary_offset: Option<u64>, entries: &[BlockEntry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + entries.len() * INDEX_ENTRY_LEN);
    out.extend_from_slice(&dictionary_offset.unwrap_or(u64::MAX).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u64).to_le_bytes());
    for entry in entries {
        out.extend_from_slice(&entry.offset.to_le_bytes());
        entry.header.encode_body(&mut out);
    }
    out
}

/// Decodes an index payload; structural checks against the file happen in the reader.
pub fn decode_index(payload: &[u8]) -> Result<(Option<u64>, Vec<BlockEntry>), String> {
    if payload.len() < 16 {
        return Err("index payload shorter than its header".into());
    }
    let dictionary = le_u64(&payload[..8]);
    let count = le_u64(&payload[8..16]);
    let body = &payload[16..];
    if count.checked_mul(INDEX_ENTRY_LEN as u64) != Some(body.len() as u64) {
        return Err(format!("index declares {count} entries but holds {} bytes", body.len()));
    }
    let mut entries = Vec::with_capacity(body.len() / INDEX_ENTRY_LEN);
    for chunk in body.chunks_exact(INDEX_ENTRY_LEN) {
        let header = BlockHeader::decode_body(&chunk[8..])?;
        entries.push(BlockEntry { offset: le_u64(&chunk[..8]), header });
    }
    Ok(((dictionary != u64::MAX).then_some(dictionary), entries))
}

/// Encodes the footer pointing at the index block.
pub fn encode_footer(index_offset: u64) -> [u8; FOOTER_LEN] {
    let mut out = [0u8; FOOTER_LEN];
    out[..8].copy_from_slice(&index_offset.to_le_bytes());
    out[8..].copy_from_slice(&FOOTER_MAGIC);
    out
}

/// Decodes a footer: the index block offset, if the footer magic is present.
pub fn decode_footer(bytes: &[u8; FOOTER_LEN]) -> Option<u64> {
    (bytes[8..] == FOOTER_MAGIC).then(|| le_u64(&bytes[..8]))
}

/// Little-endian `u32` from a 4-byte slice.
pub(crate) fn le_u32(bytes: &[u8]) -> u32 {
    let mut array = [0u8; 4];
    array.copy_from_slice(&bytes[..4]);
    u32::from_le_bytes(array)
}

/// Little-endian `u64` from an 8-byte slice.
pub(crate) fn le_u64(bytes: &[u8]) -> u64 {
    u64::from_le_bytes(array8(bytes))
}

fn array8(bytes: &[u8]) -> [u8; 8] {
    let mut array = [0u8; 8];
    array.copy_from_slice(&bytes[..8]);
    array
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_header_round_trips_and_detects_flips() {
        let header = BlockHeader {
            kind: BlockKind::Records,
            codec: Codec::Zstd,
            stored_len: 10,
            raw_len: 20,
            first_id: 7,
            count: 3,
            payload_crc: 99,
            min_step: 1,
            max_step: 2,
            min_reward: -0.5,
            max_reward: 1.0,
        };
        let bytes = header.encode();
        assert_eq!(BlockHeader::decode(&bytes), Ok(header));
        for i in 0..BLOCK_HEADER_LEN {
            let mut flipped = bytes;
            flipped[i] ^= 0x10;
            assert!(BlockHeader::decode(&flipped).is_err(), "flip at byte {i} not detected");
        }
    }

    #[test]
    fn index_round_trips() {
        let header = BlockHeader::plain(BlockKind::Records, Codec::Zstd, b"abc", 10);
        let header = BlockHeader { count: 4, first_id: 9, ..header };
        let entries = vec![BlockEntry { offset: 32, header }, BlockEntry { offset: 500, header }];
        let bytes = encode_index(Some(7), &entries);
        assert_eq!(bytes.len(), 16 + 2 * INDEX_ENTRY_LEN);
        assert_eq!(decode_index(&bytes), Ok((Some(7), entries)));
        assert_eq!(decode_index(&encode_index(None, &[])), Ok((None, Vec::new())));
        assert!(decode_index(&bytes[..bytes.len() - 1]).is_err());
    }

    #[test]
    fn file_header_rejects_other_versions() {
        let mut bytes = encode_file_header();
        assert_eq!(decode_file_header(&bytes), Ok(()));
        bytes[8] = 2;
        assert_eq!(decode_file_header(&bytes), Err(FileHeaderError::Version(2)));
    }
}
