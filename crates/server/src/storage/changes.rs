//! The change log clients pull, and who may see which row.
//!
//! Every state change clients should see appends one row here in the same
//! transaction as the change itself, with scope columns taken from the data
//! (never from what a client asked for).

use std::marker::PhantomData;

use crate::storage::sql::Value;
use crate::storage::sql::{params, row_chunks, values_list, Connection};
use warmlead_core::domain::User;
use warmlead_core::lead::RadarBody;
use warmlead_core::sync::ChangeBody;
use warmlead_core::visibility::{grants, Grant, Viewer, AUDIENCE_COMPANY, AUDIENCE_REP_TEAM};

use super::change_store::{change_log, AppendOrder, ChangeLog};
use super::Caller;
use crate::error::ServerError;

/// Who sees a change: the rule is `warmlead_core::visibility`.
pub(crate) use warmlead_core::visibility::Audience as Scope;

/// The audience of a change to `user`'s own row.
pub(crate) fn user_scope(user: &User) -> Scope {
    Scope::of_user(user)
}

/// The two streams of the log: `sync` (`ChangeBody`, every client) and
/// `radar` (`RadarBody`, pulled by radar-aware clients).
pub(crate) const SYNC: &str = "sync";
pub(crate) const RADAR: &str = "radar";

/// Appends one row of the sync stream to the log of the transaction on
/// `tx` ([`ChangeLog::append`]); its seq.
pub(crate) fn append(
    tx: &Connection,
    company_id: i64,
    scope: Scope,
    body: &ChangeBody,
    now: i64,
) -> Result<i64, ServerError> {
    change_log(tx).append(company_id, scope, body, now)
}

/// Appends one row of the radar stream ([`ChangeLog::append_radar`]).
pub(crate) fn append_radar(
    tx: &Connection,
    company_id: i64,
    scope: Scope,
    body: &RadarBody,
    now: i64,
) -> Result<i64, ServerError> {
    change_log(tx).append_radar(company_id, scope, body, now)
}

/// The change log in one SQL for both databases, `B` ordering the appends
/// (see `change_store.rs`).
pub(crate) struct ChangeSql<'c, B> {
    conn: &'c Connection,
    backend: PhantomData<B>,
}

impl<'c, B> ChangeSql<'c, B> {
    pub(crate) fn new(conn: &'c Connection) -> Self {
        ChangeSql {
            conn,
            backend: PhantomData,
        }
    }
}

impl<B: AppendOrder> ChangeSql<'_, B> {
    fn insert(
        &self,
        company_id: i64,
        scope: Scope,
        stream: &str,
        body: &str,
        now: i64,
    ) -> Result<i64, ServerError> {
        APPENDED.with(|a| a.borrow_mut().insert(company_id));
        B::before_append(self.conn, company_id)?;
        let (audience, rep_id, partner_id) = scope.columns();
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO changes (company_id, rep_id, partner_id, audience, body, created_at, stream)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING seq",
        )?;
        Ok(stmt.query_row(
            params![company_id, rep_id, partner_id, audience, body, now, stream],
            |r| r.get(0),
        )?)
    }
}

/// One row of [`append_many`].
pub(crate) struct NewChange {
    pub company_id: i64,
    pub scope: Scope,
    pub stream: &'static str,
    pub body: String,
}

impl NewChange {
    pub fn sync(company_id: i64, scope: Scope, body: &ChangeBody) -> Result<Self, ServerError> {
        Ok(NewChange {
            company_id,
            scope,
            stream: SYNC,
            body: serde_json::to_string(body)?,
        })
    }

    pub fn radar(company_id: i64, scope: Scope, body: &RadarBody) -> Result<Self, ServerError> {
        Ok(NewChange {
            company_id,
            scope,
            stream: RADAR,
            body: serde_json::to_string(body)?,
        })
    }
}

/// Notes that the transaction on this thread appends to these companies'
/// logs (a backend's own append, e.g. the PostgreSQL tracking batch's).
pub(crate) fn mark_appended(companies: &[i64]) {
    APPENDED.with(|a| a.borrow_mut().extend(companies.iter().copied()));
}

thread_local! {
    /// Companies whose log the transaction on this thread appended to; the
    /// commit wakes their live streams (see `Database::tx`).
    static APPENDED: std::cell::RefCell<std::collections::BTreeSet<i64>> = Default::default();
}

/// Whether the transaction on this thread appended to a change log.
pub(crate) fn has_appended() -> bool {
    APPENDED.with(|a| !a.borrow().is_empty())
}

/// The companies appended to since the last call, clearing the set.
pub(crate) fn take_appended() -> std::collections::BTreeSet<i64> {
    APPENDED.with(|a| std::mem::take(&mut *a.borrow_mut()))
}

/// One page of a stream as it goes on the wire: the `changes` array's JSON
/// text, the cursor after it and whether more follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawPage {
    /// `[{"seq":N,"entity":..,"data":..},..]`, byte for byte what
    /// serialising `Vec<Change>` (or `Vec<RadarChange>`) gives.
    pub changes_json: String,
    /// The last change's seq, or `after` when the page is empty.
    pub cursor: i64,
    pub has_more: bool,
}

/// The caller's grants (`warmlead_core::visibility::grants`) as a condition
/// on `changes`, its values pushed onto `args`. The text depends only on the
/// caller's role (and whether a partner has a rep), so prepared statements
/// stay cached. `the_sql_filter_agrees_with_the_rule` checks it against
/// `visibility::sees`.
pub(crate) fn visible_sql(viewer: Viewer, args: &mut Vec<Value>) -> String {
    let mut arg = |v: i64| {
        args.push(v.into());
        format!("?{}", args.len())
    };
    let terms: Vec<String> = grants(viewer)
        .into_iter()
        .map(|g| match g {
            Grant::Everything => "TRUE".to_string(),
            Grant::CompanyWide => format!("audience = '{AUDIENCE_COMPANY}'"),
            Grant::RepIs(id) => format!("rep_id = {}", arg(id)),
            Grant::PartnerIs(id) => format!("partner_id = {}", arg(id)),
            Grant::RepTeamOf(id) => {
                format!(
                    "(audience = '{AUDIENCE_REP_TEAM}' AND rep_id = {})",
                    arg(id)
                )
            }
        })
        .collect();
    format!("({})", terms.join(" OR "))
}

/// Appends `{"seq":N,` and the stored body's members.
fn push_change(out: &mut String, seq: i64, body: &str) -> Result<(), ServerError> {
    // A tagged enum's JSON always opens with its tag member; anything else
    // was not written by `append` and must not reach a client half-formed.
    let members = body
        .strip_prefix("{\"")
        .filter(|rest| rest.ends_with('}'))
        .ok_or_else(|| {
            <serde_json::Error as serde::de::Error>::custom(format!(
                "change {seq}: the stored body is not a JSON object"
            ))
        })?;
    use std::fmt::Write as _;
    let _ = write!(out, "{{\"seq\":{seq},\"{members}");
    Ok(())
}

/// Appends rows in their order, several per INSERT (the SQLite tracking
/// batch's visits; PostgreSQL's batch has its own statement).
pub(crate) fn append_many(
    tx: &Connection,
    rows: &[NewChange],
    now: i64,
) -> Result<(), ServerError> {
    change_log(tx).append_many(rows, now)
}

impl<B: AppendOrder> ChangeLog for ChangeSql<'_, B> {
    fn append(
        &self,
        company_id: i64,
        scope: Scope,
        body: &ChangeBody,
        now: i64,
    ) -> Result<i64, ServerError> {
        let body = serde_json::to_string(body)?;
        self.insert(company_id, scope, SYNC, &body, now)
    }

    fn append_radar(
        &self,
        company_id: i64,
        scope: Scope,
        body: &RadarBody,
        now: i64,
    ) -> Result<i64, ServerError> {
        let body = serde_json::to_string(body)?;
        self.insert(company_id, scope, RADAR, &body, now)
    }

    fn append_many(&self, rows: &[NewChange], now: i64) -> Result<(), ServerError> {
        let companies: std::collections::BTreeSet<i64> =
            rows.iter().map(|r| r.company_id).collect();
        // Each company's order first, in company order, as `insert` does
        // for one row.
        for company in companies {
            APPENDED.with(|a| a.borrow_mut().insert(company));
            B::before_append(self.conn, company)?;
        }
        for chunk in row_chunks(rows) {
            let mut values = Vec::with_capacity(chunk.len() * 7);
            for r in chunk {
                let (audience, rep_id, partner_id) = r.scope.columns();
                values.extend([
                    Value::Integer(r.company_id),
                    rep_id.map_or(Value::Null, Value::Integer),
                    partner_id.map_or(Value::Null, Value::Integer),
                    Value::from(audience),
                    Value::from(r.body.as_str()),
                    Value::Integer(now),
                    Value::from(r.stream),
                ]);
            }
            let sql = format!(
                "INSERT INTO changes (company_id, rep_id, partner_id, audience, body, created_at, stream)
                 VALUES {}",
                values_list(chunk.len(), 7)
            );
            self.conn
                .prepare_cached(&sql)?
                .execute(crate::storage::sql::params_from_iter(values))?;
        }
        Ok(())
    }

    /// A page is built from the stored bodies as they are: each body was
    /// written by `serde_json::to_string` of its `ChangeBody` / `RadarBody`, the
    /// JSON object `{"entity":..,"data":..}`, and the wire's change is the same
    /// object with `"seq"` first (`#[serde(flatten)]`). Parsing and serialising
    /// every body again cost ~4 s of a 1,100,000-change first download.
    fn page(
        &self,
        caller: &Caller,
        stream: &str,
        after: i64,
        upto: i64,
        limit: u32,
    ) -> Result<RawPage, ServerError> {
        let mut args = vec![
            caller.company.id.into(),
            after.into(),
            stream.to_string().into(),
        ];
        args.push((i64::from(limit) + 1).into());
        args.push(upto.into());
        let visible = visible_sql(Viewer::from(&caller.user), &mut args);
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT seq, body FROM changes
             WHERE company_id = ?1 AND seq > ?2 AND seq <= ?5 AND stream = ?3 AND {visible}
             ORDER BY seq
             LIMIT ?4"
        ))?;
        let rows = stmt.query_map(crate::storage::sql::params_from_iter(args), |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut page = RawPage {
            changes_json: String::from("["),
            cursor: after,
            has_more: false,
        };
        for (n, row) in rows.enumerate() {
            let (seq, body) = row?;
            if n == limit as usize {
                page.has_more = true;
                break;
            }
            if n > 0 {
                page.changes_json.push(',');
            }
            push_change(&mut page.changes_json, seq, &body)?;
            page.cursor = seq;
        }
        page.changes_json.push(']');
        Ok(page)
    }

    fn newest_visible(
        &self,
        caller: &Caller,
        stream: &str,
        after: i64,
        upto: i64,
    ) -> Result<i64, ServerError> {
        let mut args = vec![
            caller.company.id.into(),
            after.into(),
            stream.to_string().into(),
            upto.into(),
        ];
        let visible = visible_sql(Viewer::from(&caller.user), &mut args);
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT COALESCE(MAX(seq), ?2) FROM changes
             WHERE company_id = ?1 AND seq > ?2 AND seq <= ?4 AND stream = ?3 AND {visible}"
        ))?;
        Ok(stmt.query_row(crate::storage::sql::params_from_iter(args), |r| r.get(0))?)
    }

    fn hot_lead(&self, caller: &Caller, after: i64, upto: i64) -> Result<Option<i64>, ServerError> {
        let mut args = vec![caller.company.id.into(), after.into(), upto.into()];
        let visible = visible_sql(Viewer::from(&caller.user), &mut args);
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT body FROM changes
             WHERE company_id = ?1 AND seq > ?2 AND seq <= ?3 AND stream = 'radar'
               AND body LIKE '{{\"entity\":\"lead\"%' AND {visible}
             ORDER BY seq DESC"
        ))?;
        let rows = stmt.query_map(crate::storage::sql::params_from_iter(args), |r| {
            r.get::<_, String>(0)
        })?;
        for body in rows {
            if let Ok(RadarBody::Lead(lead)) = serde_json::from_str(&body?) {
                if lead.grade.is_hot() {
                    return Ok(Some(lead.id));
                }
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warmlead_core::domain::Role;
    use warmlead_core::visibility::sees;

    /// The SQL filter and `visibility::sees` agree on every caller x row,
    /// on a real migrated database.
    #[test]
    fn the_sql_filter_agrees_with_the_rule() {
        let conn = super::super::testdb::connection();
        let ids = [None, Some(1), Some(2), Some(3), Some(4)];
        let mut rows = vec![Scope::Company];
        for rep_id in ids {
            for partner_id in ids {
                rows.push(Scope::Scoped { rep_id, partner_id });
            }
            rows.extend(rep_id.map(|rep_id| Scope::RepTeam { rep_id }));
        }
        let mut seqs = Vec::new();
        for row in &rows {
            let body = ChangeBody::Tombstone {
                kind: warmlead_core::sync::EntityKind::Share,
                id: format!("{row:?}"),
            };
            seqs.push(append(&conn, 7, *row, &body, 0).unwrap());
        }
        // Another company's rows never show.
        append(&conn, 8, Scope::Company, &tombstone(), 0).unwrap();
        let mut viewers = Vec::new();
        for role in [Role::Manager, Role::Rep, Role::Partner] {
            for id in [1, 2, 3] {
                for rep_id in ids {
                    viewers.push(Viewer { role, id, rep_id });
                }
            }
        }
        for viewer in viewers {
            let mut args = vec![7.into()];
            let visible = visible_sql(viewer, &mut args);
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT seq FROM changes WHERE company_id = ?1 AND {visible} ORDER BY seq"
                ))
                .unwrap();
            let got: Vec<i64> = stmt
                .query_map(crate::storage::sql::params_from_iter(args), |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            let expected: Vec<i64> = rows
                .iter()
                .zip(&seqs)
                .filter(|(row, _)| sees(viewer, **row))
                .map(|(_, seq)| *seq)
                .collect();
            assert_eq!(got, expected, "{viewer:?}");
        }
    }

    /// The page built from stored bodies is byte for byte what serde writes
    /// for the typed changes, on both streams, with escapes and non-ASCII.
    #[test]
    fn a_raw_page_is_the_typed_changes_serialised() {
        use warmlead_core::lead::{RadarChange, Signal, SignalKind};
        use warmlead_core::sync::Change;
        let sync = vec![
            Change {
                seq: 3,
                body: ChangeBody::Tombstone {
                    kind: warmlead_core::sync::EntityKind::Share,
                    id: "a\"b\\c 中文 \u{1}".into(),
                },
            },
            Change {
                seq: 40,
                body: tombstone(),
            },
        ];
        let radar = vec![RadarChange {
            seq: 7,
            body: RadarBody::Signal(Signal {
                id: 9,
                share_token: "t.k".into(),
                visit_id: None,
                visitor_id: "v{1}".into(),
                kind: SignalKind::View,
                value: -1,
                at_ms: i64::MAX,
                partner_id: 2,
                item_id: 3,
                lead_id: Some(4),
            }),
        }];
        let mut raw = String::from("[");
        for (n, c) in sync.iter().enumerate() {
            if n > 0 {
                raw.push(',');
            }
            push_change(&mut raw, c.seq, &serde_json::to_string(&c.body).unwrap()).unwrap();
        }
        raw.push(']');
        assert_eq!(raw, serde_json::to_string(&sync).unwrap());
        let mut raw = String::from("[");
        push_change(&mut raw, 7, &serde_json::to_string(&radar[0].body).unwrap()).unwrap();
        raw.push(']');
        assert_eq!(raw, serde_json::to_string(&radar).unwrap());
    }

    /// A stored body that is not a JSON object is an error, never half a
    /// change on the wire.
    #[test]
    fn a_body_that_is_not_an_object_is_refused() {
        for bad in ["", "[]", "\"x\"", "{\"entity\":\"share\"", "null"] {
            let mut out = String::new();
            assert!(push_change(&mut out, 1, bad).is_err(), "{bad:?}");
        }
    }

    fn tombstone() -> ChangeBody {
        ChangeBody::Tombstone {
            kind: warmlead_core::sync::EntityKind::Share,
            id: "other".into(),
        }
    }
}
