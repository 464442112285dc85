//! glibc malloc settings for tensor workloads, which a binary applies once at start-up (`retain`, and the
//! `model_bench` example the PyTorch comparison runs, so both are measured the same way).
//!
//! Training allocates and frees buffers of megabytes hundreds of times per step. With glibc's defaults each
//! rayon worker gets its own arena (whose heaps are capped at 64 MB, so large buffers fall back to `mmap`), and
//! freed memory goes back to the kernel — every new buffer is then page-faulted and zeroed page by page, which
//! profiles showed as about a third of a training step. One arena, a 32 MB `mmap` threshold (glibc's maximum)
//! and no trimming keep freed buffers in the heap for reuse. `retain bench train`: 1.3–1.4× tokens/s.
//! The price is that the process keeps its peak heap until it exits, which a training process reaches anyway.

/// Applies the settings (glibc on Linux only; other platforms keep their allocator's defaults). Call it first
/// thing in `main`, before any thread starts; libraries never call it themselves.
pub fn tune_allocator_for_tensors() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only changes allocator parameters; it is called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
        libc::mallopt(libc::M_TOP_PAD, 256 << 20);
    }
}
