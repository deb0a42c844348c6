//! Verified share lookups kept in memory, so a hot share page needs no
//! database read and no HMAC per hit.
//!
//! Two generations approximate an LRU without a dependency: lookups hit
//! `hot`, or promote from `cold`; when `hot` is full it becomes `cold` and
//! the old `cold` is dropped. Entries also expire after a TTL, and anything
//! that can make a share stop resolving or crediting (an item deleted, a
//! device revoked, a sharer switched off) clears the cache, on every process.
//!
//! Beside the tokens, what a share of one device and one item resolves to is
//! kept too (`parts`): a partner's many shares of the same item (one per
//! channel, per day, per friend) then need only their signature checked, not
//! the five reads of the device, its owner, the company and the item (on
//! PostgreSQL each a round trip). Only a sharer in good standing is kept
//! (a revoked or switched-off one depends on when each token was recorded).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::ResolvedShare;

const CAPACITY: usize = 50_000;
const TTL: Duration = Duration::from_secs(60);

#[derive(Clone)]
struct Entry {
    share: Option<Arc<ResolvedShare>>,
    at: Instant,
}

#[derive(Default)]
struct Gens {
    hot: HashMap<String, Entry>,
    cold: HashMap<String, Entry>,
    /// By `(device_id, item_id)`: a resolved share of theirs, its token aside.
    parts: HashMap<(i64, i64), Entry>,
    /// Counts clears: an answer read before a clear is not stored after it.
    epoch: u64,
}

#[derive(Default)]
pub(crate) struct ShareCache {
    gens: Mutex<Gens>,
}

impl ShareCache {
    /// `Some(answer)` when known and fresh (the answer may be "does not resolve").
    pub fn get(&self, token: &str) -> Option<Option<Arc<ResolvedShare>>> {
        let mut g = self.gens.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = |e: &Entry| e.at.elapsed() < TTL;
        if let Some(e) = g.hot.get(token) {
            return fresh(e).then(|| e.share.clone());
        }
        let e = g.cold.remove(token)?;
        if !fresh(&e) {
            return None;
        }
        let share = e.share.clone();
        Self::put_locked(&mut g, token.to_string(), e);
        Some(share)
    }

    /// The count of clears so far, to pass to `put` with what is read after.
    pub fn epoch(&self) -> u64 {
        self.gens.lock().unwrap_or_else(|p| p.into_inner()).epoch
    }

    /// Stores an answer read after `epoch()` returned `epoch`, unless the
    /// cache was cleared since (the answer may predate what cleared it).
    pub fn put(&self, token: &str, share: Option<Arc<ResolvedShare>>, epoch: u64) {
        let mut g = self.gens.lock().unwrap_or_else(|p| p.into_inner());
        if g.epoch != epoch {
            return;
        }
        let e = Entry {
            share,
            at: Instant::now(),
        };
        Self::put_locked(&mut g, token.to_string(), e);
    }

    fn put_locked(g: &mut Gens, token: String, e: Entry) {
        if g.hot.len() >= CAPACITY {
            g.cold = std::mem::take(&mut g.hot);
        }
        g.hot.insert(token, e);
    }

    /// A share of `device_id` and `item_id` resolved before, fresh, whose
    /// sharer is in good standing (the caller swaps in its own token).
    pub fn parts(&self, device_id: i64, item_id: i64) -> Option<Arc<ResolvedShare>> {
        let g = self.gens.lock().unwrap_or_else(|p| p.into_inner());
        let e = g.parts.get(&(device_id, item_id))?;
        (e.at.elapsed() < TTL).then(|| e.share.clone()).flatten()
    }

    /// Keeps `share` as what its device's shares of its item resolve to,
    /// unless the cache was cleared since `epoch`.
    pub fn put_parts(&self, device_id: i64, item_id: i64, share: Arc<ResolvedShare>, epoch: u64) {
        let mut g = self.gens.lock().unwrap_or_else(|p| p.into_inner());
        if g.epoch != epoch {
            return;
        }
        if g.parts.len() >= CAPACITY {
            g.parts.clear();
        }
        let e = Entry {
            share: Some(share),
            at: Instant::now(),
        };
        g.parts.insert((device_id, item_id), e);
    }

    pub fn clear(&self) {
        let mut g = self.gens.lock().unwrap_or_else(|p| p.into_inner());
        g.hot.clear();
        g.cold.clear();
        g.parts.clear();
        g.epoch += 1;
    }
}
