//! Bounded memory: reading, statistics, sampling and export of a buffer four times larger take no more memory
//! than of the smaller one. Measured with a counting allocator that tracks live bytes per thread (tests run in
//! parallel; each measurement stays on its own thread). zstd's own contexts are allocated by C and not counted;
//! they are fixed-size.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;

use retain_buffers::{
    BufferReader, BufferWriter, RecordFilter, SampleStrategy, WriterConfig, export_jsonl, sample, statistics,
};

use super::common::records;

struct Counting;

thread_local! {
    static LIVE: Cell<i64> = const { Cell::new(0) };
    static PEAK: Cell<i64> = const { Cell::new(0) };
}

fn add(delta: i64) {
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: defers to the system allocator; only adds bookkeeping in thread-local cells (no allocation).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        add(layout.size() as i64);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        add(-(layout.size() as i64));
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        add(new_size as i64 - layout.size() as i64);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Peak live bytes above the starting level while `work` runs on this thread.
fn peak_during(work: impl FnOnce()) -> i64 {
    let start = LIVE.with(Cell::get);
    PEAK.with(|peak| peak.set(start));
    work();
    PEAK.with(Cell::get) - start
}

/// Peak memory of writing `n` records (generated one at a time) and of each read operation on the result.
fn peaks(path: &Path, n: usize) -> Vec<(&'static str, i64)> {
    let all = records(n, 51, false);
    let write = peak_during(|| {
        let mut writer = BufferWriter::create(path, WriterConfig::default()).unwrap();
        for record in &all {
            writer.append(record).unwrap();
        }
        writer.finish().unwrap();
    });
    drop(all);
    let mut reader = BufferReader::open(path).unwrap();
    let iterate = peak_during(|| {
        let mut count = 0;
        for record in reader.iter() {
            drop(record.unwrap());
            count += 1;
        }
        assert_eq!(count, n);
    });
    let stats = peak_during(|| {
        statistics(&mut reader, &RecordFilter::default()).unwrap();
    });
    let export = peak_during(|| {
        export_jsonl(&mut reader, &RecordFilter::default(), &mut std::io::sink()).unwrap();
    });
    let mut sampled = Vec::new();
    for (name, strategy) in SampleStrategy::ALL {
        sampled.push((
            name,
            peak_during(|| assert_eq!(sample(&mut reader, 8, strategy, &RecordFilter::default(), 1).unwrap().len(), 8)),
        ));
    }
    let mut out = vec![("write", write), ("iterate", iterate), ("statistics", stats), ("export", export)];
    out.extend(sampled);
    out
}

#[test]
fn memory_does_not_grow_with_the_buffer() {
    let dir = tempfile::tempdir().unwrap();
    let small = peaks(&dir.path().join("small.rtb"), 700);
    let large = peaks(&dir.path().join("large.rtb"), 2800);
    for ((name, small), (_, large)) in small.iter().zip(&large) {
        // Writing holds the 1 MiB of records the dictionary is trained on, the pending block and a 1 MiB write
        // buffer; reading holds one 128 KiB block and a few records. 2800 records are ≈ 10 MB decoded, so loading
        // them would break either bound.
        let bound = if *name == "write" { 6 << 20 } else { 1 << 20 };
        assert!(*large < bound, "{name}: {large} bytes for 2800 records");
        assert!(*large < small + (small / 2) + (256 << 10), "{name}: {small} bytes for 700 records, {large} for 2800");
    }
}
