//! Whether a forward pass is for training (differentiable ops, dropout) or inference (fused ops, no graph).

/// How a forward pass runs.
///
/// candle's fused `softmax_last_dim`, `rms_norm` and `rope` have no backward pass, so training must use the
/// differentiable forms; inference uses the fused ones and detaches the weights so no autograd graph is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Differentiable ops; LoRA dropout active, its masks derived from `dropout_seed` (vary it per step).
    Train {
        /// Seed for the dropout masks of this forward pass.
        dropout_seed: u64,
    },
    /// Fused ops, weights detached, dropout off.
    Infer,
}

impl Mode {
    /// True for [`Mode::Train`].
    pub fn is_train(self) -> bool {
        matches!(self, Mode::Train { .. })
    }
}

/// SplitMix64 step: turns a seed and a salt into a well-mixed 64-bit value (used to derive per-module and
/// per-sample seeds without any shared RNG state).
pub fn mix_seed(seed: u64, salt: u64) -> u64 {
    let mut z = seed ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A stable 64-bit hash of a string (FNV-1a), used to salt seeds by module name.
pub fn name_salt(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}
