//! Arbitrary bytes as the decompressed payload of one records block, wrapped in a valid file built from
//! FORMAT.md (so checksums pass and the record decoder itself is fuzzed). The first byte is the record count.
#![no_main]

mod common;

const FILE_HEADER_LEN: usize = 32;
const BLOCK_HEADER_LEN: usize = 68;

fn wrap(data: &[u8]) -> Vec<u8> {
    let (count, payload) = match data.split_first() {
        Some((&count, payload)) => (u32::from(count.max(1)), payload),
        None => (1, data),
    };
    let mut file = Vec::with_capacity(FILE_HEADER_LEN + BLOCK_HEADER_LEN + payload.len());
    file.extend_from_slice(b"RETAINTB");
    file.extend_from_slice(&1u16.to_le_bytes());
    file.extend_from_slice(&(FILE_HEADER_LEN as u16).to_le_bytes());
    file.extend_from_slice(&[0u8; 16]);
    let crc = crc32fast::hash(&file);
    file.extend_from_slice(&crc.to_le_bytes());
    let start = file.len();
    file.extend_from_slice(b"RTBK");
    file.extend_from_slice(&[1, 0, 0, 0]); // records block, raw codec, reserved
    file.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    file.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    file.extend_from_slice(&0u64.to_le_bytes()); // first id
    file.extend_from_slice(&count.to_le_bytes());
    file.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    file.extend_from_slice(&0u64.to_le_bytes()); // min step
    file.extend_from_slice(&u64::MAX.to_le_bytes()); // max step
    file.extend_from_slice(&f64::MIN.to_le_bytes()); // min reward
    file.extend_from_slice(&f64::MAX.to_le_bytes()); // max reward
    let crc = crc32fast::hash(&file[start..]);
    file.extend_from_slice(&crc.to_le_bytes());
    file.extend_from_slice(payload);
    file
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::exercise(&wrap(data)));
