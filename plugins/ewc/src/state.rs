//! The checkpoint format of `ewc`'s state: compact, exact (f32 bit patterns), deterministic and self-checking, so
//! a resumed run applies bit-for-bit the same penalty and a damaged or foreign blob is refused, never half-loaded.
//!
//! ```text
//! magic      8 bytes   "RTN-EWC\n"
//! version    u32 LE    1
//! header_len u32 LE    length of the header
//! header     JSON      {"mode": "online"|"separate", "entries": [{"domains": [{"name", "index"}],
//!                                                              "tensors": [{"name", "shape"}]}]}
//! values     f32 LE    for each entry, for each tensor: its Fisher values, then its anchor values
//! crc32      u32 LE    CRC-32 of every byte before it
//! ```

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// First bytes of every `ewc` state.
const MAGIC: [u8; 8] = *b"RTN-EWC\n";
/// Format version written by this plugin.
pub const VERSION: u32 = 1;

/// How Fisher estimates of several domains are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// One running estimate `F ← γF + F_new`, anchored at the latest domain's final parameters.
    #[default]
    Online,
    /// One `(F_k, θ*_k)` per finished domain; the penalty sums over all of them.
    Separate,
}

impl Mode {
    /// The name used in configs and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Online => "online",
            Mode::Separate => "separate",
        }
    }
}

/// A finished domain that contributed to an entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainRef {
    /// Domain name.
    pub name: String,
    /// Its index in the task order.
    pub index: u32,
}

/// Fisher diagonal and anchor of one parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Anchor {
    /// Parameter name.
    pub name: String,
    /// Its dimensions.
    pub shape: Vec<u64>,
    /// Diagonal Fisher estimate, one value per parameter value.
    pub fisher: Vec<f32>,
    /// θ*: the parameter's values at the end of the domain.
    pub anchor: Vec<f32>,
}

/// One penalty term: a set of anchored parameters and the domains it protects.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Entry {
    /// Domains consolidated into this entry (one in `separate` mode, all so far in `online` mode).
    pub domains: Vec<DomainRef>,
    /// One per parameter, in the order the host passed the parameters.
    pub tensors: Vec<Anchor>,
    index: HashMap<String, usize>,
}

impl Entry {
    /// An entry over `tensors` (names must be distinct).
    pub fn new(domains: Vec<DomainRef>, tensors: Vec<Anchor>) -> Result<Self, String> {
        let mut index = HashMap::with_capacity(tensors.len());
        for (i, t) in tensors.iter().enumerate() {
            if index.insert(t.name.clone(), i).is_some() {
                return Err(format!("parameter `{}` appears twice", t.name));
            }
        }
        Ok(Entry { domains, tensors, index })
    }

    /// The anchored parameter called `name`.
    pub fn get(&self, name: &str) -> Option<&Anchor> {
        self.index.get(name).map(|&i| &self.tensors[i])
    }

    /// The domains, for messages (`airline, retail`).
    pub fn label(&self) -> String {
        self.domains.iter().map(|d| format!("`{}`", d.name)).collect::<Vec<_>>().join(", ")
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TensorHeader {
    name: String,
    shape: Vec<u64>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryHeader {
    domains: Vec<DomainRef>,
    tensors: Vec<TensorHeader>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    mode: Mode,
    entries: Vec<EntryHeader>,
}

/// The number of values of a tensor of `shape`, or `None` when it overflows.
pub fn element_count(shape: &[u64]) -> Option<usize> {
    shape.iter().try_fold(1usize, |n, &d| n.checked_mul(usize::try_from(d).ok()?))
}

/// Serialises the state.
pub fn encode(mode: Mode, entries: &[Entry]) -> Result<Vec<u8>, String> {
    let header = Header {
        mode,
        entries: entries
            .iter()
            .map(|e| EntryHeader {
                domains: e.domains.clone(),
                tensors: e
                    .tensors
                    .iter()
                    .map(|t| TensorHeader { name: t.name.clone(), shape: t.shape.clone() })
                    .collect(),
            })
            .collect(),
    };
    let header = serde_json::to_vec(&header).map_err(|e| format!("could not serialise the header: {e}"))?;
    let header_len = u32::try_from(header.len()).map_err(|_| "the header is larger than 4 GiB".to_owned())?;
    let values: usize = entries.iter().flat_map(|e| &e.tensors).map(|t| t.fisher.len() + t.anchor.len()).sum();
    let mut out = Vec::with_capacity(MAGIC.len() + 12 + header.len() + 4 * values);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&header_len.to_le_bytes());
    out.extend_from_slice(&header);
    for t in entries.iter().flat_map(|e| &e.tensors) {
        for v in t.fisher.iter().chain(&t.anchor) {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    Ok(out)
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    bytes.get(at..at + 4).and_then(|b| b.try_into().ok()).map(u32::from_le_bytes)
}

/// Parses what [`encode`] wrote; every inconsistency is an error saying what is wrong.
pub fn decode(bytes: &[u8]) -> Result<(Mode, Vec<Entry>), String> {
    if bytes.len() < MAGIC.len() + 12 || bytes[..MAGIC.len()] != MAGIC {
        return Err(format!("not an ewc state ({} bytes without the `RTN-EWC` signature)", bytes.len()));
    }
    let version = read_u32(bytes, MAGIC.len()).unwrap_or_default();
    if version != VERSION {
        return Err(format!("ewc state format version {version}; this plugin reads version {VERSION}"));
    }
    let body_len = bytes.len() - 4;
    let stored_crc = read_u32(bytes, body_len).unwrap_or_default();
    if crc32fast::hash(&bytes[..body_len]) != stored_crc {
        return Err("the ewc state is corrupt (checksum mismatch)".to_owned());
    }
    let header_len = read_u32(bytes, MAGIC.len() + 4).unwrap_or_default() as usize;
    let header_start = MAGIC.len() + 8;
    let values_start = header_start
        .checked_add(header_len)
        .filter(|&end| end <= body_len)
        .ok_or("the ewc state header is truncated")?;
    let header: Header = serde_json::from_slice(&bytes[header_start..values_start])
        .map_err(|e| format!("the ewc state header is invalid: {e}"))?;
    let mut values = bytes[values_start..body_len].chunks_exact(4);
    if !values.remainder().is_empty() {
        return Err("the ewc state's values are truncated".to_owned());
    }
    let mut take = |name: &str, n: usize| -> Result<Vec<f32>, String> {
        let out: Vec<f32> = values.by_ref().take(n).filter_map(|c| c.try_into().ok()).map(f32::from_le_bytes).collect();
        if out.len() == n { Ok(out) } else { Err(format!("the ewc state ends inside the values of `{name}`")) }
    };
    let mut entries = Vec::with_capacity(header.entries.len());
    for e in header.entries {
        let mut tensors = Vec::with_capacity(e.tensors.len());
        for t in e.tensors {
            let n = element_count(&t.shape).ok_or_else(|| format!("tensor `{}` has an impossible shape", t.name))?;
            let fisher = take(&t.name, n)?;
            let anchor = take(&t.name, n)?;
            tensors.push(Anchor { name: t.name, shape: t.shape, fisher, anchor });
        }
        entries.push(Entry::new(e.domains, tensors).map_err(|e| format!("the ewc state is invalid: {e}"))?);
    }
    if values.next().is_some() {
        return Err("the ewc state has values its header does not describe".to_owned());
    }
    Ok((header.mode, entries))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Entry> {
        let t = |name: &str, f: Vec<f32>, a: Vec<f32>| Anchor {
            name: name.to_owned(),
            shape: vec![f.len() as u64],
            fisher: f,
            anchor: a,
        };
        vec![
            Entry::new(
                vec![DomainRef { name: "airline".into(), index: 0 }],
                vec![t("w", vec![1.0, 2.5, 1e-30], vec![-0.0, f32::MIN_POSITIVE, 3.0]), t("b", vec![4.0], vec![0.5])],
            )
            .unwrap(),
            Entry::new(vec![DomainRef { name: "retail".into(), index: 1 }], vec![t("w", vec![0.1; 3], vec![9.0; 3])])
                .unwrap(),
        ]
    }

    #[test]
    fn round_trips_exactly() {
        let bytes = encode(Mode::Separate, &sample()).unwrap();
        let (mode, entries) = decode(&bytes).unwrap();
        assert_eq!(mode, Mode::Separate);
        assert_eq!(entries, sample());
        assert_eq!(encode(mode, &entries).unwrap(), bytes, "re-encoding gives the same bytes");
        assert_eq!(decode(&encode(Mode::Online, &[]).unwrap()).unwrap(), (Mode::Online, Vec::new()));
    }

    #[test]
    fn refuses_damaged_or_foreign_bytes() {
        let bytes = encode(Mode::Online, &sample()).unwrap();
        assert!(decode(b"{\"version\": 1}").unwrap_err().contains("not an ewc state"));
        assert!(decode(&bytes[..bytes.len() - 5]).unwrap_err().contains("checksum"));
        let mut flipped = bytes.clone();
        flipped[30] ^= 1;
        assert!(decode(&flipped).unwrap_err().contains("checksum"));
        let mut future = bytes.clone();
        future[8] = 2;
        assert!(decode(&future).unwrap_err().contains("version 2"));
    }
}
