//! The Partners screen: keyset pages of the signed-in rep's partners (all of
//! the company's for a manager) with lifecycle filters and search, the chip
//! counts, the detail pane, and the CSV export.
//!
//! Counts come from `partner_activity`, kept current by triggers (migration
//! 3), so nothing here aggregates shares, visits or leads at query time.
//! Lifecycle filters are ranges on the last share and join times, cut at the
//! day boundaries of `LifecycleRules::default()`.

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row};
use warmlead_core::invite::{
    LifecycleRules, PartnerActivity, PartnerCounts, PartnerCursor, PartnerDetail, PartnerFilter,
    PartnerPage, PartnerQuery, PartnerStage, PartnerSummary,
};
use warmlead_core::visibility::Managed;

use crate::{invites, rows, session, Store, StoreError};

/// Page size when the query names none, and the most one page may hold.
pub const DEFAULT_PARTNER_PAGE: u32 = 100;
pub const MAX_PARTNER_PAGE: u32 = 500;
/// Trigram search needs this many characters; shorter queries use LIKE.
const TRIGRAM: usize = 3;

const FROM: &str = "FROM partner_activity a JOIN users u ON u.id = a.partner_id";
const SORT_KEY: &str = "COALESCE(a.last_share_at_ms, 0)";

/// Whose partners the signed-in user sees (`visibility::Managed`).
pub(crate) struct Scope(Managed);

impl Scope {
    pub(crate) fn of(conn: &Connection) -> Result<Scope, StoreError> {
        let me = session::require(conn)?.user;
        Ok(Scope(Managed::of(me.role, me.id)))
    }

    /// Condition on `users u` (ids are ours, not user input).
    pub(crate) fn sql(&self) -> String {
        match self.0.owner() {
            None => "1".into(),
            Some(rep) => format!("u.rep_id = {rep}"),
        }
    }

    /// The rep whose rows to keep, `None` for everyone's (managers).
    pub(crate) fn rep_filter(&self) -> Option<i64> {
        self.0.owner()
    }
}

/// The day cut-offs at `now_ms`: before them a time is "long ago".
struct Cutoffs {
    new: i64,
    dormant: i64,
    churned: i64,
}

impl Cutoffs {
    fn at(now_ms: i64) -> Cutoffs {
        let r = LifecycleRules::default();
        Cutoffs {
            new: LifecycleRules::cutoff(now_ms, r.new_for_days),
            dormant: LifecycleRules::cutoff(now_ms, r.dormant_after_days),
            churned: LifecycleRules::cutoff(now_ms, r.churned_after_days),
        }
    }

    /// The condition of a filter chip, matching `LifecycleRules::stage`.
    fn sql(&self, f: PartnerFilter) -> String {
        let Cutoffs {
            new,
            dormant,
            churned,
        } = self;
        let last = "a.last_share_at_ms";
        match f {
            PartnerFilter::All => "1".into(),
            PartnerFilter::Active => format!("{last} > {dormant}"),
            PartnerFilter::NeverShared => format!("{last} IS NULL"),
            PartnerFilter::New => format!("{last} IS NULL AND u.joined_at_ms > {new}"),
            PartnerFilter::Churned => {
                format!("{SORT_KEY} <= {churned} AND u.joined_at_ms <= {churned}")
            }
            PartnerFilter::Dormant => format!(
                "{SORT_KEY} <= {dormant} AND ({last} IS NOT NULL OR u.joined_at_ms <= {new}) \
                 AND ({SORT_KEY} > {churned} OR u.joined_at_ms > {churned})"
            ),
        }
    }
}

/// Numbered placeholders, so conditions can be written in any order.
#[derive(Default)]
struct Args(Vec<Value>);

impl Args {
    fn push(&mut self, v: Value) -> String {
        self.0.push(v);
        format!("?{}", self.0.len())
    }
}

impl Store {
    /// One page of partners, most recent sharer first, filtered and searched
    /// by `q` at `now_ms`. Keyset on (last share or 0, id): pass `next` back
    /// as `q.after`.
    pub fn partners(&self, q: &PartnerQuery, now_ms: i64) -> Result<PartnerPage, StoreError> {
        let scope = Scope::of(&self.conn)?;
        let limit = q
            .limit
            .unwrap_or(DEFAULT_PARTNER_PAGE)
            .clamp(1, MAX_PARTNER_PAGE);
        let mut args = Args::default();
        let mut conds = vec![
            "u.role = 'partner'".to_string(),
            scope.sql(),
            Cutoffs::at(now_ms).sql(q.filter.unwrap_or(PartnerFilter::All)),
        ];
        if let Some(s) = q.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            conds.push(search_sql(s, &mut args));
        }
        if let Some(c) = q.after {
            let (k, id) = (args.push(c.sort_key.into()), args.push(c.id.into()));
            conds.push(format!("({SORT_KEY}, a.partner_id) < ({k}, {id})"));
        }
        let lim = args.push(i64::from(limit + 1).into());
        let sql = format!(
            "SELECT {}, {ACTIVITY} {FROM} WHERE {} \
             ORDER BY {SORT_KEY} DESC, a.partner_id DESC LIMIT {lim}",
            rows::USER_COLUMNS,
            conds.join(" AND ")
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let mut partners = stmt
            .query_map(rusqlite::params_from_iter(args.0), |r| summary(r, now_ms))?
            .collect::<Result<Vec<_>, _>>()?;
        let next = if partners.len() > limit as usize {
            partners.truncate(limit as usize);
            partners.last().map(cursor_of)
        } else {
            None
        };
        Ok(PartnerPage { partners, next })
    }

    /// How many partners each filter chip holds at `now_ms`.
    pub fn partner_counts(&self, now_ms: i64) -> Result<PartnerCounts, StoreError> {
        let scope = Scope::of(&self.conn)?;
        let c = Cutoffs::at(now_ms);
        let sum = |f| format!("COALESCE(SUM({}), 0)", c.sql(f));
        let sql = format!(
            "SELECT count(*), {}, {}, {}, {}, {} {FROM} WHERE u.role = 'partner' AND {}",
            sum(PartnerFilter::Active),
            sum(PartnerFilter::Dormant),
            sum(PartnerFilter::NeverShared),
            sum(PartnerFilter::New),
            sum(PartnerFilter::Churned),
            scope.sql()
        );
        Ok(self.conn.query_row(&sql, [], |r| {
            Ok(PartnerCounts {
                all: r.get(0)?,
                active: r.get(1)?,
                dormant: r.get(2)?,
                never_shared: r.get(3)?,
                new: r.get(4)?,
                churned: r.get(5)?,
            })
        })?)
    }

    /// A partner with their activity, the invitation they accepted and who
    /// invited them. `PartnerNotFound` when not in this user's scope.
    pub fn partner_detail(&self, id: i64, now_ms: i64) -> Result<PartnerDetail, StoreError> {
        let scope = Scope::of(&self.conn)?;
        let sql = format!(
            "SELECT {}, {ACTIVITY} {FROM} WHERE u.id = ?1 AND u.role = 'partner' AND {}",
            rows::USER_COLUMNS,
            scope.sql()
        );
        let summary = self
            .conn
            .query_row(&sql, [id], |r| summary(r, now_ms))
            .optional()?
            .ok_or(StoreError::PartnerNotFound(id))?;
        let invitation = match summary.partner.invitation_id {
            Some(inv) => invites::invitation_by_id(&self.conn, inv)?,
            None => None,
        };
        let invited_by_name = match summary.partner.invited_by {
            Some(rep) => self
                .conn
                .query_row("SELECT name FROM users WHERE id = ?1", [rep], |r| r.get(0))
                .optional()?,
            None => None,
        };
        Ok(PartnerDetail {
            summary,
            invitation,
            invited_by_name,
        })
    }

    /// Every partner in scope as CSV for Excel (see `export`), stages at now.
    pub fn export_partners_csv(&self) -> Result<Vec<u8>, StoreError> {
        self.export_partners_csv_at(crate::now_ms())
    }

    /// `export_partners_csv` with the stages computed at `now_ms`.
    pub fn export_partners_csv_at(&self, now_ms: i64) -> Result<Vec<u8>, StoreError> {
        let mut out = crate::export::header();
        let mut q = PartnerQuery {
            limit: Some(MAX_PARTNER_PAGE),
            ..PartnerQuery::default()
        };
        loop {
            let page = self.partners(&q, now_ms)?;
            for p in &page.partners {
                crate::export::row(&mut out, p);
            }
            match page.next {
                Some(next) => q.after = Some(next),
                None => return Ok(out),
            }
        }
    }
}

const ACTIVITY: &str = "a.shares, a.views, a.leads, a.deals, a.last_share_at_ms";

/// The search condition: trigram FTS for 3+ characters, LIKE below that.
/// Input made only of digits (and the separators people type in phone
/// numbers) searches phone digits, anything else names.
fn search_sql(s: &str, args: &mut Args) -> String {
    let phone_like = s
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')'));
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    let (column, needle) = if phone_like && !digits.is_empty() {
        ("digits", digits)
    } else {
        ("name", s.to_string())
    };
    if needle.chars().count() >= TRIGRAM {
        // A phrase: the trigram tokenizer matches it as a substring.
        let phrase = format!("{column} : \"{}\"", needle.replace('"', "\"\""));
        let p = args.push(phrase.into());
        format!("a.partner_id IN (SELECT rowid FROM partner_fts WHERE partner_fts MATCH {p})")
    } else {
        let col = if column == "digits" {
            "u.phone"
        } else {
            "u.name"
        };
        let p = args.push(format!("%{}%", escape_like(&needle)).into());
        format!("{col} LIKE {p} ESCAPE '\\'")
    }
}

fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A row of `USER_COLUMNS` then `ACTIVITY`.
fn summary(r: &Row<'_>, now_ms: i64) -> rusqlite::Result<PartnerSummary> {
    let partner = rows::user(r)?;
    let activity = PartnerActivity {
        shares: r.get(10)?,
        views: r.get(11)?,
        leads: r.get(12)?,
        deals: r.get(13)?,
        last_share_at_ms: r.get(14)?,
    };
    let stage: PartnerStage =
        LifecycleRules::default().stage(partner.joined_at_ms, activity.last_share_at_ms, now_ms);
    Ok(PartnerSummary {
        partner,
        activity,
        stage,
    })
}

fn cursor_of(p: &PartnerSummary) -> PartnerCursor {
    PartnerCursor {
        sort_key: p.activity.last_share_at_ms.unwrap_or(0),
        id: p.partner.id,
    }
}

impl Store {
    /// Users in the cache (all of them; the partner benchmark's baseline).
    pub fn user_count(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM users", [], |r| r.get(0))?)
    }
}
