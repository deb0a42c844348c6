//! Activation codes this device issued (or a team import returned), kept
//! while they are open so the team screen can show them again or send them
//! again by SMS: the server keeps codes only hashed, so it cannot give one
//! back. Which to forget is `warmlead_core::team::keep_known_code`.

use std::collections::HashSet;

use rusqlite::params;
use warmlead_core::app::KnownCode;
use warmlead_core::team::keep_known_code;

use crate::{Store, StoreError};

impl Store {
    /// Keeps codes just issued, at `now`. A person has one open code on the
    /// server (a new one retires the older), so each replaces what this
    /// device knew of that person.
    pub fn remember_codes(&self, codes: &[KnownCode], now: i64) -> Result<(), StoreError> {
        let tx = crate::write_tx(&self.conn)?;
        for c in codes {
            tx.execute("DELETE FROM known_codes WHERE user_id = ?1", [c.user_id])?;
            tx.execute(
                "INSERT OR REPLACE INTO known_codes (code_id, user_id, code, link, remembered_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    c.code_id,
                    c.user_id,
                    c.activation_code,
                    c.activation_link,
                    now
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Given the codes a team list shows open (`open` code ids) for a
    /// request sent at `asked_at`, forgets the known codes that are no
    /// longer open and answers those still known, oldest first.
    pub fn reconcile_codes(
        &self,
        open: &HashSet<i64>,
        asked_at: i64,
    ) -> Result<Vec<KnownCode>, StoreError> {
        let tx = crate::write_tx(&self.conn)?;
        let all = {
            let mut stmt = tx.prepare(
                "SELECT code_id, user_id, code, link, remembered_at FROM known_codes
                 ORDER BY code_id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(KnownCode {
                    code_id: r.get(0)?,
                    user_id: r.get(1)?,
                    activation_code: r.get(2)?,
                    activation_link: r.get(3)?,
                    remembered_at_ms: r.get(4)?,
                })
            })?;
            rows.collect::<Result<Vec<_>, _>>()?
        };
        let mut kept = Vec::with_capacity(all.len());
        for c in all {
            if keep_known_code(open.contains(&c.code_id), c.remembered_at_ms, asked_at) {
                kept.push(c);
            } else {
                tx.execute("DELETE FROM known_codes WHERE code_id = ?1", [c.code_id])?;
            }
        }
        tx.commit()?;
        Ok(kept)
    }

    /// Forgets one code (revoked here, or refused by the server as no
    /// longer open).
    pub fn forget_code(&self, code_id: i64) -> Result<(), StoreError> {
        self.conn
            .execute("DELETE FROM known_codes WHERE code_id = ?1", [code_id])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use warmlead_core::app::KnownCode;

    use crate::Store;

    fn code(code_id: i64, user_id: i64) -> KnownCode {
        KnownCode {
            code_id,
            user_id,
            activation_code: format!("ABC-DEF-{code_id:03}"),
            activation_link: format!("warmlead://activate?code=ABC-DEF-{code_id:03}"),
            remembered_at_ms: 0,
        }
    }

    fn ids(codes: &[KnownCode]) -> Vec<i64> {
        codes.iter().map(|c| c.code_id).collect()
    }

    #[test]
    fn known_codes_are_kept_while_open_and_forgotten_after() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.sqlite");
        let store = Store::open(&path).unwrap();
        store
            .remember_codes(&[code(1, 10), code(2, 20)], 100)
            .unwrap();
        // A new code for the same person retires the older one.
        store.remember_codes(&[code(3, 20)], 150).unwrap();
        let open: HashSet<i64> = [1, 3].into();
        assert_eq!(ids(&store.reconcile_codes(&open, 200).unwrap()), vec![1, 3]);
        let kept = store.reconcile_codes(&open, 200).unwrap();
        assert_eq!(kept[1].activation_code, "ABC-DEF-003");
        assert_eq!(kept[1].remembered_at_ms, 150);

        // Used or revoked elsewhere: the list no longer shows code 1 open.
        let open: HashSet<i64> = [3].into();
        assert_eq!(ids(&store.reconcile_codes(&open, 200).unwrap()), vec![3]);
        // A code learnt after the list was asked for stays, listed or not.
        store.remember_codes(&[code(4, 30)], 250).unwrap();
        assert_eq!(ids(&store.reconcile_codes(&open, 200).unwrap()), vec![3, 4]);
        assert_eq!(ids(&store.reconcile_codes(&open, 300).unwrap()), vec![3]);
        store.forget_code(3).unwrap();
        assert!(store.reconcile_codes(&open, 300).unwrap().is_empty());

        // Kept across a restart of the app, and gone at sign-out.
        store.remember_codes(&[code(5, 40)], 400).unwrap();
        drop(store);
        let store = Store::open(&path).unwrap();
        let open: HashSet<i64> = [5].into();
        assert_eq!(ids(&store.reconcile_codes(&open, 500).unwrap()), vec![5]);
        store.sign_out_force().unwrap();
        assert!(store.reconcile_codes(&open, 500).unwrap().is_empty());
    }
}
