//! Randomized robustness of the reader (the CI companion of the cargo-fuzz target in `buffers/fuzz`): valid
//! files mutated at random — bit flips, overwritten runs, truncations, insertions, deletions, duplicated chunks —
//! must never panic, hang or allocate without bound; they open, read, or fail with a typed error.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use retain_buffers::{RecordFilter, SampleStrategy, sample, statistics};

use super::common::{open_bytes, records, small_blocks, write, write_unfinished};

fn mutate(bytes: &[u8], rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for _ in 0..rng.random_range(1..4) {
        if out.is_empty() {
            break;
        }
        let at = rng.random_range(0..out.len());
        match rng.random_range(0..6) {
            0 => out[at] ^= 1 << rng.random_range(0..8),
            1 => {
                let end = (at + rng.random_range(1..16)).min(out.len());
                out[at..end].iter_mut().for_each(|b| *b = rng.random());
            }
            2 => out.truncate(at),
            3 => {
                let insert: Vec<u8> = (0..rng.random_range(1..64)).map(|_| rng.random()).collect();
                out.splice(at..at, insert);
            }
            4 => {
                let end = (at + rng.random_range(1..256)).min(out.len());
                out.drain(at..end);
            }
            _ => {
                let end = (at + rng.random_range(1..512)).min(out.len());
                let chunk = out[at..end].to_vec();
                let to = rng.random_range(0..out.len());
                out.splice(to..to, chunk);
            }
        }
    }
    out
}

/// Everything a reader offers, on possibly damaged bytes; only panics fail the test.
fn exercise(bytes: &[u8]) {
    let Ok(mut reader) = open_bytes(bytes) else { return };
    let mut count = 0u64;
    for record in reader.iter() {
        if record.is_err() {
            break;
        }
        count += 1;
    }
    assert!(count <= reader.len());
    let _ = reader.get(0);
    let _ = reader.get(reader.len().saturating_sub(1));
    let _ = statistics(&mut reader, &RecordFilter::default());
    let _ = sample(&mut reader, 5, SampleStrategy::Balanced, &RecordFilter::default(), 3);
    let _ = sample(&mut reader, 5, SampleStrategy::Recent, &RecordFilter::default().reward_range(Some(0.5), None), 3);
}

#[test]
fn mutated_files_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let finished = dir.path().join("fuzz-finished.rtb");
    let unfinished = dir.path().join("fuzz-unfinished.rtb");
    let all = records(24, 41, true);
    write(&finished, &all, small_blocks(true));
    write_unfinished(&unfinished, &all[..12], small_blocks(false));
    let seeds = [std::fs::read(&finished).unwrap(), std::fs::read(&unfinished).unwrap()];
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    for round in 0..600 {
        let mutated = mutate(&seeds[round % 2], &mut rng);
        exercise(&mutated);
    }
}

#[test]
fn random_bytes_and_tiny_files_are_refused_cleanly() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for len in [0usize, 1, 31, 32, 33, 100, 5000] {
        let bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        assert!(open_bytes(&bytes).is_err(), "{len} random bytes must not open");
    }
    // A valid header followed by garbage opens as an empty buffer with a torn tail.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("header-only.rtb");
    write(&path, &[], small_blocks(false));
    let mut bytes = std::fs::read(&path).unwrap()[..32].to_vec();
    bytes.extend((0..300).map(|_| rng.random::<u8>()));
    let reader = open_bytes(&bytes).unwrap();
    assert_eq!(reader.len(), 0);
    assert_eq!(reader.recovery().unwrap().dropped_bytes, 300);
}

/// A file with one raw-codec records block holding `payload` (built from FORMAT.md, checksums correct), so the
/// record decoder itself meets damaged bytes (mutations of compressed blocks mostly stop at the checksum).
fn wrap_raw_block(payload: &[u8], count: u32) -> Vec<u8> {
    let mut file = b"RETAINTB".to_vec();
    file.extend_from_slice(&1u16.to_le_bytes());
    file.extend_from_slice(&32u16.to_le_bytes());
    file.extend_from_slice(&[0u8; 16]);
    let crc = crc32fast::hash(&file);
    file.extend_from_slice(&crc.to_le_bytes());
    let start = file.len();
    file.extend_from_slice(b"RTBK");
    file.extend_from_slice(&[1, 0, 0, 0]);
    file.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    file.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    file.extend_from_slice(&0u64.to_le_bytes());
    file.extend_from_slice(&count.to_le_bytes());
    file.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    file.extend_from_slice(&0u64.to_le_bytes());
    file.extend_from_slice(&u64::MAX.to_le_bytes());
    file.extend_from_slice(&f64::MIN.to_le_bytes());
    file.extend_from_slice(&f64::MAX.to_le_bytes());
    let crc = crc32fast::hash(&file[start..]);
    file.extend_from_slice(&crc.to_le_bytes());
    file.extend_from_slice(payload);
    file
}

#[test]
fn mutated_record_payloads_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("payloads.rtb");
    let all = records(12, 43, true);
    write(&path, &all, small_blocks(false));
    let bytes = std::fs::read(&path).unwrap();
    let reader = open_bytes(&bytes).unwrap();
    let payloads: Vec<(Vec<u8>, u32)> = reader
        .blocks()
        .iter()
        .map(|entry| {
            let start = entry.offset as usize + 68;
            let stored = &bytes[start..start + entry.header.stored_len as usize];
            (zstd::bulk::decompress(stored, entry.header.raw_len as usize).unwrap(), entry.header.count)
        })
        .collect();
    // Unmutated, the wrapped payload reads back the same records: the wrapper follows the format.
    let mut wrapped = open_bytes(&wrap_raw_block(&payloads[0].0, payloads[0].1)).unwrap();
    let first: Vec<_> = wrapped.iter().map(|r| r.unwrap().record).collect();
    assert_eq!(first, all[..payloads[0].1 as usize]);
    let mut rng = ChaCha8Rng::seed_from_u64(2027);
    for round in 0..800 {
        let (payload, count) = &payloads[round % payloads.len()];
        exercise(&wrap_raw_block(&mutate(payload, &mut rng), *count));
    }
}
