//! The radar: views of shares, newest first.

use warmlead_core::app::RadarEntry;
use warmlead_core::domain::{Channel, ContentKind};
use warmlead_core::lead::Grade;

use crate::{Store, StoreError};

impl Store {
    /// The newest `limit` visits with their item, partner and channel. A visit
    /// whose item or partner was not pulled still shows, with a placeholder.
    pub fn radar(&self, limit: i64) -> Result<Vec<RadarEntry>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT v.id, v.item_id, ci.title, ci.kind, v.partner_id, u.name, s.channel, \
                    v.visitor_id, v.opened_at_ms, v.dwell_ms, \
                    (SELECT l.grade FROM signals sg JOIN leads l ON l.id = sg.lead_id \
                     WHERE sg.visitor_id = v.visitor_id ORDER BY sg.id DESC LIMIT 1) \
             FROM visits v \
             LEFT JOIN content_items ci ON ci.id = v.item_id \
             LEFT JOIN users u ON u.id = v.partner_id \
             LEFT JOIN shares s ON s.token = v.share_token \
             ORDER BY v.opened_at_ms DESC, v.id DESC LIMIT ?1",
        )?;
        let entries = stmt
            .query_map([limit.max(0)], |r| {
                let item_id: i64 = r.get(1)?;
                let partner_id: i64 = r.get(4)?;
                let title: Option<String> = r.get(2)?;
                let kind: Option<String> = r.get(3)?;
                let partner: Option<String> = r.get(5)?;
                let channel: Option<String> = r.get(6)?;
                let visitor: String = r.get(7)?;
                let grade: Option<String> = r.get(10)?;
                Ok(RadarEntry {
                    visit_id: r.get(0)?,
                    item_id,
                    item_title: title.unwrap_or_else(|| format!("#{item_id}")),
                    item_kind: kind.as_deref().and_then(ContentKind::parse),
                    partner_id,
                    partner_name: partner.unwrap_or_else(|| format!("#{partner_id}")),
                    channel: channel.as_deref().and_then(Channel::parse),
                    visitor_id: visitor_label(&visitor),
                    opened_at_ms: r.get(8)?,
                    dwell_ms: r.get(9)?,
                    lead_grade: grade.as_deref().and_then(Grade::parse),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(entries)
    }
}

/// "3F9A": a short, stable, anonymous code of a visitor id (the UI says
/// "访客 3F9A" / "Visitor 3F9A"). Hashed, so ids with a common prefix differ.
pub(crate) fn visitor_label(visitor_id: &str) -> String {
    // FNV-1a: stable across versions and platforms, unlike std's hasher.
    let hash = visitor_id.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    format!("{:04X}", hash & 0xffff)
}
