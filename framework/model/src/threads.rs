//! The thread count of model work, from configuration rather than the environment.

use crate::error::{ModelError, Result};

/// A rayon pool sized by configuration; candle's CPU matmuls and this crate's fused kernels run on the pool they
/// are called from.
///
/// candle also keeps a process-wide element-wise worker pool sized once from `CANDLE_NUM_THREADS` (else
/// `RAYON_NUM_THREADS`, else the physical cores), and splits GEMMs by `RAYON_NUM_THREADS`; a binary that wants
/// exactly N threads sets both variables to N at start-up, before any thread exists (the benches do).
#[derive(Debug)]
pub struct ComputePool {
    pool: rayon::ThreadPool,
}

impl ComputePool {
    /// `threads = None` (or 0) uses every available core.
    pub fn new(threads: Option<usize>) -> Result<Self> {
        let n = match threads {
            Some(n) if n > 0 => n,
            _ => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .thread_name(|i| format!("retain-model-{i}"))
            .build()
            .map_err(|e| ModelError::Config(format!("cannot start {n} compute threads: {e}")))?;
        Ok(ComputePool { pool })
    }

    /// Threads in the pool.
    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    /// Runs `f` inside the pool, so every parallel tensor kernel it triggers uses these threads.
    pub fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        self.pool.install(f)
    }
}
