//! Demo leads: some of the demo's visitors leave their phone on the page (the
//! same capture the contact form uses), and the reps mark MAN on a few (pushed
//! as sync mutations), so the leads screen shows every grade.

use rand::rngs::StdRng;
use rand::Rng;
use warmlead_core::lead::ManFlags;
use warmlead_core::phone::Phone;
use warmlead_core::sync::{Mutation, MutationBody, SCHEMA_VERSION};

use crate::services::{self, leads::NewContact};
use crate::{Admin, ServerError};

/// Who leaves their number, and what they write.
const CONTACTS: &[(&str, &str, &str)] = &[
    ("王小姐", "13900001111", "想翻新厨房，预算 8 万左右"),
    ("陈先生", "13900002222", "老房子水电想全部换掉"),
    ("刘女士", "13900003333", ""),
    ("赵先生", "13900004444", "小户型，想多做收纳"),
    ("周女士", "13900005555", "明年三月交房，先了解一下"),
    ("孙先生", "13900006666", "卫生间漏水，急"),
    ("吴阿姨", "13900007777", "给父母做适老化改造"),
    ("郑先生", "13900008888", ""),
    ("冯小姐", "13900009999", "看了案例，想约设计师"),
    ("褚先生", "13900010000", "想问问优惠券怎么用"),
    ("卫女士", "13900011111", ""),
    ("蒋先生", "13900012222", "别墅庭院改造"),
];

/// A share token and a visitor who saw it.
pub(super) struct Viewer {
    pub token: String,
    pub visitor_id: String,
}

/// Captures one lead per contact from the given viewers; returns lead ids
/// with the rep each belongs to.
pub(super) async fn capture(
    admin: &Admin,
    viewers: &[Viewer],
) -> Result<Vec<(i64, i64)>, ServerError> {
    let mut leads = Vec::new();
    for ((name, phone, note), viewer) in CONTACTS.iter().zip(viewers) {
        let Some(share) = services::shares::resolve(&admin.db, viewer.token.clone()).await? else {
            continue;
        };
        let contact = NewContact {
            name: (*name).to_string(),
            phone: Phone::parse(phone).map_err(|e| ServerError::InvalidInput(e.to_string()))?,
            note: (*note).to_string(),
            visitor_id: Some(viewer.visitor_id.clone()),
        };
        let Some(rep) = share.rep_id() else {
            continue;
        };
        let (lead, _) = services::leads::capture(&admin.db, share, contact).await?;
        leads.push((lead.id, rep));
    }
    Ok(leads)
}

/// Each rep marks MAN on some of their leads from their own device.
pub(super) async fn mark_man(
    admin: &Admin,
    rep_id: i64,
    leads: &[(i64, i64)],
    rng: &mut StdRng,
) -> Result<(), ServerError> {
    let code = admin.create_activation_code(rep_id).await?;
    let device =
        services::accounts::activate(&admin.db, code, "演示设备".into(), "demo".into()).await?;
    let caller = services::accounts::authenticate(&admin.db, device.token).await?;
    let mine = leads.iter().filter(|(_, rep)| *rep == rep_id);
    for (seq, (lead_id, _)) in (1..).zip(mine.step_by(2)) {
        let man = ManFlags {
            money: true,
            authority: rng.gen_bool(0.7),
            need: rng.gen_bool(0.7),
        };
        let m = Mutation {
            mutation_id: uuid::Uuid::now_v7().to_string(),
            seq,
            schema_version: SCHEMA_VERSION,
            body: MutationBody::SetManFlags {
                lead_id: *lead_id,
                man,
            },
        };
        services::push::push_one(&admin.db, caller.clone(), m).await?;
    }
    Ok(())
}
