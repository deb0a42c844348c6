//! Verified share lookups kept in memory, so a hot share page needs no
//! database read and no HMAC per hit.
//!
//! Two generations approximate an LRU without a dependency: lookups hit
//! `hot`, or promote from `cold`; when `hot` is full it becomes `cold` and
//! the old `cold` is dropped. Entries also expire after a TTL, and anything
//! that can make a share stop resolving or crediting (an item deleted, a
//! device revoked, a sharer switched off) clears the cache, on every process.

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

    pub fn clear(&self) {
        let mut g = self.gens.lock().unwrap_or_else(|p| p.into_inner());
        g.hot.clear();
        g.cold.clear();
        g.epoch += 1;
    }
}
