//! "Pass it on" (裂变): a viewer makes a child share of the page they are on.
//! The child is server-made (no device signs it), keeps its parent and the
//! root (the partner's own share), and credits the root's partner
//! (`warmlead_core::tracking::forward_child` decides the child).

use crate::storage::sql::{params, Connection, OptionalExtension};
use rand::RngCore;
use warmlead_core::lead::{ChildShare, RadarBody, SignalKind};
use warmlead_core::tracking::{forward_child, ForwardParent};

use super::changes;
use super::shares::{ResolvedShare, CHILD_PREFIX};
use super::signals::insert_signal;
use super::{now_ms, Database};
use crate::error::ServerError;

fn child_token() -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let mut bytes = [0u8; 9];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{CHILD_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

fn latest_visit(tx: &Connection, token: &str, visitor: &str) -> Result<Option<i64>, ServerError> {
    Ok(tx
        .query_row(
            "SELECT id FROM visits WHERE share_token = ?1 AND visitor_id = ?2 ORDER BY id DESC LIMIT 1",
            params![token, visitor],
            |r| r.get(0),
        )
        .optional()?)
}

pub(crate) fn forward(
    tx: &Connection,
    parent: &ResolvedShare,
    visitor_id: &str,
) -> Result<ChildShare, ServerError> {
    let now = now_ms();
    let facts = ForwardParent {
        token: parent.token.clone(),
        root_token: parent.root_token.clone(),
        item_id: parent.item.id,
        partner_id: parent.sharer.id,
        depth: parent.depth,
    };
    let child = forward_child(&facts, child_token(), visitor_id, now).ok_or_else(|| {
        ServerError::InvalidInput("this link has been passed on too many times".into())
    })?;
    tx.execute(
        "INSERT INTO child_shares (token, parent_token, root_token, item_id, partner_id, rep_id,
                                   company_id, depth, visitor_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            child.token,
            child.parent_token,
            child.root_token,
            child.item_id,
            child.partner_id,
            parent.rep_id(),
            parent.company.id,
            child.depth,
            child.visitor_id,
            now
        ],
    )?;
    let visit = latest_visit(tx, &parent.token, visitor_id)?;
    let id = insert_signal(tx, parent, visit, visitor_id, SignalKind::Forward, 0, now)?;
    let company = parent.company.id;
    changes::append_radar(
        tx,
        company,
        parent.scope(),
        &RadarBody::ChildShare(child.clone()),
        now,
    )?;
    let signal = warmlead_core::lead::Signal {
        id,
        share_token: parent.token.clone(),
        visit_id: visit,
        visitor_id: visitor_id.to_string(),
        kind: SignalKind::Forward,
        value: 0,
        at_ms: now,
        partner_id: parent.sharer.id,
        item_id: parent.item.id,
        lead_id: None,
    };
    changes::append_radar(tx, company, parent.scope(), &RadarBody::Signal(signal), now)?;
    let visitors = std::iter::once((company, visitor_id.to_string())).collect();
    super::lead_store::lead_store(tx).rescore_visitors(&visitors, now)?;
    Ok(child)
}

impl Database {
    /// Makes a child share of `parent` for the viewer, committed before the
    /// link is shown (so it resolves at once).
    pub(crate) async fn forward(
        &self,
        parent: std::sync::Arc<ResolvedShare>,
        visitor_id: String,
    ) -> Result<ChildShare, ServerError> {
        self.flush().await;
        self.tx(move |tx, _| forward(tx, &parent, &visitor_id))
            .await
    }
}
