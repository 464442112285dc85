//! Seeded sampling without loading the buffer: every strategy first chooses record ids from the cheap binary
//! prefix of each record (no JSON parsing, O(n) ids in memory), then decodes only the chosen records, one block at
//! a time. Same file, same seed, same strategy ⇒ same sample.

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BinaryHeap};
use std::io::{Read, Seek};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{BufferError, Result};
use crate::filter::RecordFilter;
use crate::reader::{BufferReader, Visit};
use crate::record::{RecordId, StoredRecord};

/// How to choose records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SampleStrategy {
    /// A uniform random subset of the matching records (random access by id when there is no filter, one
    /// reservoir pass otherwise).
    Uniform,
    /// One streaming pass of reservoir sampling (Algorithm R): a uniform subset, without knowing the count.
    Reservoir,
    /// The highest-reward records; ties (common with 0/1 task rewards) are broken uniformly at random.
    HighReward,
    /// The most recently appended records (largest ids); the seed plays no role.
    Recent,
    /// Equal shares per domain (Avalanche's balanced buffer): `n / domains` each, the remainder to the first
    /// domains by name, a domain's unused share passed on to the others; uniform within each domain.
    Balanced,
}

impl SampleStrategy {
    /// All strategies, with their command-line names, for help texts.
    pub const ALL: [(&'static str, SampleStrategy); 5] = [
        ("uniform", Self::Uniform),
        ("reservoir", Self::Reservoir),
        ("high-reward", Self::HighReward),
        ("recent", Self::Recent),
        ("balanced", Self::Balanced),
    ];
}

impl std::str::FromStr for SampleStrategy {
    type Err = String;

    fn from_str(name: &str) -> std::result::Result<Self, String> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, s)| *s).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|(n, _)| *n).collect();
            format!("unknown sampling strategy `{name}`; expected one of: {}", names.join(", "))
        })
    }
}

/// Samples up to `n` records matching `filter` (fewer if fewer match), returned in id order.
pub fn sample<R: Read + Seek>(
    reader: &mut BufferReader<R>,
    n: usize,
    strategy: SampleStrategy,
    filter: &RecordFilter,
    seed: u64,
) -> Result<Vec<StoredRecord>> {
    let ids = sample_ids(reader, n, strategy, filter, seed)?;
    fetch(reader, &ids)
}

/// Chooses the ids [`sample`] would return, without decoding any record.
pub fn sample_ids<R: Read + Seek>(
    reader: &mut BufferReader<R>,
    n: usize,
    strategy: SampleStrategy,
    filter: &RecordFilter,
    seed: u64,
) -> Result<Vec<RecordId>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut ids = match strategy {
        SampleStrategy::Uniform if *filter == RecordFilter::default() => uniform_ids(reader, n, &mut rng)?,
        SampleStrategy::Uniform | SampleStrategy::Reservoir => reservoir_ids(reader, n, filter, &mut rng)?,
        SampleStrategy::HighReward => high_reward_ids(reader, n, filter, &mut rng)?,
        SampleStrategy::Recent => recent_ids(reader, n, filter)?,
        SampleStrategy::Balanced => balanced_ids(reader, n, filter, &mut rng)?,
    };
    ids.sort_unstable();
    Ok(ids)
}

/// Decodes the records with the given ids (sorted ascending), loading each needed block once.
pub fn fetch<R: Read + Seek>(reader: &mut BufferReader<R>, ids: &[RecordId]) -> Result<Vec<StoredRecord>> {
    let mut out = Vec::with_capacity(ids.len());
    let name = reader.name().to_owned();
    let mut next = 0;
    while next < ids.len() {
        let block = reader.blocks().partition_point(|e| e.header.first_id + u64::from(e.header.count) <= ids[next]);
        let Some(entry) = reader.blocks().get(block).copied() else {
            return Err(BufferError::NoSuchRecord { source_name: name, id: ids[next], count: reader.len() });
        };
        let end_id = entry.header.first_id + u64::from(entry.header.count);
        reader.visit(block..block + 1, &RecordFilter::default(), |id, offset, view| {
            while next < ids.len() && ids[next] == id {
                let record = view
                    .decode()
                    .map_err(|reason| BufferError::corrupt(&name, offset, format!("record {id}: {reason}")))?;
                out.push(StoredRecord { id, record });
                next += 1;
            }
            Ok(if next < ids.len() && ids[next] < end_id { Visit::Continue } else { Visit::Stop })
        })?;
        if next < ids.len() && ids[next] < end_id {
            return Err(BufferError::corrupt(
                &name,
                entry.offset,
                format!("record {} not found in its block", ids[next]),
            ));
        }
    }
    Ok(out)
}

fn uniform_ids<R: Read + Seek>(reader: &BufferReader<R>, n: usize, rng: &mut ChaCha8Rng) -> Result<Vec<RecordId>> {
    let total = usize::try_from(reader.len()).map_err(|_| {
        BufferError::InvalidConfig(format!("{} records do not fit this platform's address space", reader.len()))
    })?;
    Ok(rand::seq::index::sample(rng, total, n.min(total)).into_iter().map(|i| i as RecordId).collect())
}

/// Algorithm R: after `seen` matches, each is in the reservoir with probability n / seen.
fn reservoir_ids<R: Read + Seek>(
    reader: &mut BufferReader<R>,
    n: usize,
    filter: &RecordFilter,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<RecordId>> {
    let mut reservoir = Reservoir::new(n);
    reader.visit(0..reader.blocks().len(), filter, |id, _, _| {
        reservoir.offer(id, rng);
        Ok(Visit::Continue)
    })?;
    Ok(reservoir.items)
}

/// A fixed-size uniform reservoir of ids.
struct Reservoir {
    capacity: usize,
    seen: u64,
    items: Vec<RecordId>,
}

impl Reservoir {
    fn new(capacity: usize) -> Self {
        Self { capacity, seen: 0, items: Vec::new() }
    }

    fn offer(&mut self, id: RecordId, rng: &mut ChaCha8Rng) {
        self.seen += 1;
        if self.items.len() < self.capacity {
            self.items.push(id);
        } else if self.capacity > 0 {
            let slot = rng.random_range(0..self.seen);
            if let Ok(slot) = usize::try_from(slot)
                && slot < self.capacity
            {
                self.items[slot] = id;
            }
        }
    }
}

/// Heap key of the high-reward strategy: reward first, then a random tie-breaker.
#[derive(Debug, Clone, Copy)]
struct RewardKey {
    reward: f64,
    tie: u64,
    id: RecordId,
}

impl PartialEq for RewardKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for RewardKey {}

impl PartialOrd for RewardKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for RewardKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.reward.total_cmp(&other.reward).then(self.tie.cmp(&other.tie)).then(self.id.cmp(&other.id))
    }
}

fn high_reward_ids<R: Read + Seek>(
    reader: &mut BufferReader<R>,
    n: usize,
    filter: &RecordFilter,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<RecordId>> {
    let mut heap: BinaryHeap<Reverse<RewardKey>> = BinaryHeap::with_capacity(n + 1);
    if n == 0 {
        return Ok(Vec::new());
    }
    reader.visit(0..reader.blocks().len(), filter, |id, _, view| {
        let key = RewardKey { reward: view.reward, tie: rng.random(), id };
        if heap.len() < n {
            heap.push(Reverse(key));
        } else if heap.peek().is_some_and(|Reverse(smallest)| key > *smallest) {
            heap.pop();
            heap.push(Reverse(key));
        }
        Ok(Visit::Continue)
    })?;
    Ok(heap.into_iter().map(|Reverse(key)| key.id).collect())
}

fn recent_ids<R: Read + Seek>(reader: &mut BufferReader<R>, n: usize, filter: &RecordFilter) -> Result<Vec<RecordId>> {
    let mut chosen: Vec<RecordId> = Vec::new();
    let mut block = reader.blocks().len();
    while block > 0 && chosen.len() < n {
        block -= 1;
        let mut in_block = Vec::new();
        reader.visit(block..block + 1, filter, |id, _, _| {
            in_block.push(id);
            Ok(Visit::Continue)
        })?;
        chosen.extend(in_block.into_iter().rev().take(n - chosen.len()));
    }
    Ok(chosen)
}

fn balanced_ids<R: Read + Seek>(
    reader: &mut BufferReader<R>,
    n: usize,
    filter: &RecordFilter,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<RecordId>> {
    let mut reservoirs: BTreeMap<String, Reservoir> = BTreeMap::new();
    reader.visit(0..reader.blocks().len(), filter, |id, _, view| {
        match reservoirs.get_mut(view.domain) {
            Some(reservoir) => reservoir.offer(id, rng),
            None => {
                let mut reservoir = Reservoir::new(n);
                reservoir.offer(id, rng);
                reservoirs.insert(view.domain.to_owned(), reservoir);
            }
        }
        Ok(Visit::Continue)
    })?;
    let available: BTreeMap<&str, u64> = reservoirs.iter().map(|(d, r)| (d.as_str(), r.seen)).collect();
    let quotas = balanced_quotas(&available, n);
    let mut ids = Vec::with_capacity(n);
    for (domain, reservoir) in &reservoirs {
        let quota = quotas.get(domain.as_str()).copied().unwrap_or(0);
        let picks = rand::seq::index::sample(rng, reservoir.items.len(), quota.min(reservoir.items.len()));
        ids.extend(picks.into_iter().map(|i| reservoir.items[i]));
    }
    Ok(ids)
}

/// Splits `n` across domains as equally as their sizes allow: equal shares, remainder to the first domains by
/// name, and the share a small domain cannot fill passed on to the others.
pub fn balanced_quotas<'a>(available: &BTreeMap<&'a str, u64>, n: usize) -> BTreeMap<&'a str, usize> {
    let mut quotas: BTreeMap<&str, usize> = available.keys().map(|&d| (d, 0)).collect();
    let mut remaining = n;
    loop {
        let open: Vec<&str> =
            available.iter().filter(|&(d, &count)| (quotas[d] as u64) < count).map(|(&d, _)| d).collect();
        if remaining == 0 || open.is_empty() {
            return quotas;
        }
        let share = remaining / open.len();
        let extra = remaining % open.len();
        for (i, domain) in open.iter().enumerate() {
            let want = share + usize::from(i < extra);
            let room = usize::try_from(available[domain]).unwrap_or(usize::MAX) - quotas[domain];
            let give = want.min(room);
            if let Some(q) = quotas.get_mut(domain) {
                *q += give;
            }
            remaining -= give;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_are_equal_and_pass_on_unused_shares() {
        let available: BTreeMap<&str, u64> = [("airline", 100), ("retail", 100), ("telecom", 100)].into();
        let quotas = balanced_quotas(&available, 31);
        assert_eq!(quotas.values().copied().collect::<Vec<_>>(), vec![11, 10, 10]);
        let available: BTreeMap<&str, u64> = [("airline", 3), ("retail", 100), ("telecom", 100)].into();
        let quotas = balanced_quotas(&available, 30);
        assert_eq!(quotas.values().copied().collect::<Vec<_>>(), vec![3, 14, 13]);
        let available: BTreeMap<&str, u64> = [("airline", 3), ("retail", 4)].into();
        assert_eq!(balanced_quotas(&available, 30).values().sum::<usize>(), 7);
    }

    #[test]
    fn strategy_names_parse() {
        for (name, strategy) in SampleStrategy::ALL {
            assert_eq!(name.parse::<SampleStrategy>(), Ok(strategy));
        }
        assert!("best".parse::<SampleStrategy>().unwrap_err().contains("high-reward"));
    }
}
