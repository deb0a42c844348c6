//! `POST /api/v1/invitations/sms`: a rep invites named people by SMS.
//!
//! Per recipient, in this order: the number (E.164), the name, the same
//! number twice in the request, already someone in the company, then the
//! SMS rules with the number's history. Send and Queue recipients each get a
//! single-use SMS invitation and a queued message, all in one transaction
//! with their change-log rows; the runner is woken afterwards and sends
//! outside the transaction. A dry run answers the same plan and writes nothing.

use warmlead_core::domain::{Role, User};
use warmlead_core::invite::{
    InviteChannel, NewInvitation, SmsInviteItem, SmsInviteRequest, SmsInviteResult, SmsPlan,
    SmsRecipient,
};
use warmlead_core::phone::Phone;
use warmlead_sms::{compose, decide, MessageKind, Rules, SendRequest};

use super::plan::{self, check_count, precheck, Checked};
use super::SmsService;
use crate::error::ServerError;
use crate::services::invitations;
use crate::storage::sms_store::NewMessage;
use crate::storage::Caller;
use crate::storage::Stores;

/// Invitation URL tokens are 16 random bytes in unpadded base64url
/// (services::invitations), so 22 characters. A dry run shows this many `x`
/// in their place, so the text has the real length (and the length rule
/// gives the real answer) without making a token.
pub(super) const TOKEN_CHARS: usize = 22;

/// Everything a recipient's text needs, fixed for the whole request.
struct Sender {
    rep: User,
    company: String,
    public_url: String,
}

impl Sender {
    /// `{rep}邀请您成为{company}的推荐合伙人，点击加入：{url}` (the opt-out line is added by compose).
    fn body(&self, url: &str) -> String {
        format!(
            "{}邀请您成为{}的推荐合伙人，点击加入：{url}",
            self.rep.name, self.company
        )
    }

    fn placeholder_url(&self) -> String {
        format!("{}/i/{}", self.public_url, "x".repeat(TOKEN_CHARS))
    }

    /// Template variables for Aliyun/Tencent templates, in template order.
    fn template_params(&self, url: &str) -> Vec<(String, String)> {
        vec![
            ("rep".into(), self.rep.name.clone()),
            ("company".into(), self.company.clone()),
            ("url".into(), url.into()),
        ]
    }

    fn request(&self, name: &str, to: &Phone, url: &str) -> SendRequest {
        SendRequest {
            kind: MessageKind::Invitation,
            to: to.clone(),
            recipient_name: name.to_string(),
            triggered_by_rep: Some(self.rep.id),
            body: self.body(url),
            template_params: self.template_params(url),
        }
    }
}

/// A rep's SMS invitations: each recipient planned under the rules (or,
/// with `dry_run`, only planned), the accepted ones queued for the runner.
pub(crate) async fn send(
    svc: &SmsService,
    caller: Caller,
    req: SmsInviteRequest,
) -> Result<SmsInviteResult, ServerError> {
    if caller.user.role != Role::Rep {
        return Err(ServerError::Forbidden(
            "only reps send SMS invitations (the new partner is bound to the rep who invites)"
                .into(),
        ));
    }
    check_count(&req.recipients)?;
    let checked = precheck(&req.recipients, svc.rules().max_name_chars);
    let sender = Sender {
        rep: caller.user,
        company: caller.company.name,
        public_url: svc.public_url.clone(),
    };
    let (rules, now, dry_run) = (svc.rules().clone(), svc.now(), req.dry_run);
    let recipients = req.recipients;
    let plan =
        move |s: &Stores<'_>| plan_all(s, &sender, &rules, &recipients, checked, dry_run, now);
    let items = if dry_run {
        svc.db().snapshot(plan).await?
    } else {
        svc.db().transaction(plan).await?
    };
    if items.iter().any(|i| i.sms_id.is_some()) {
        svc.wake.notify_one();
    }
    Ok(SmsInviteResult { items })
}

fn plan_all(
    s: &Stores<'_>,
    sender: &Sender,
    rules: &Rules,
    recipients: &[SmsRecipient],
    checked: Vec<Checked>,
    dry_run: bool,
    now: i64,
) -> Result<Vec<SmsInviteItem>, ServerError> {
    recipients
        .iter()
        .zip(checked)
        .map(|(r, c)| {
            let mut item = SmsInviteItem {
                name: r.name.trim().to_string(),
                phone: r.phone.clone(),
                phone_e164: None,
                plan: SmsPlan::Send,
                text: None,
                sms_id: None,
            };
            match c {
                Checked::Refused(reason, phone) => {
                    item.phone_e164 = phone.map(Phone::into_string);
                    item.plan = SmsPlan::Refuse { reason };
                }
                Checked::Candidate(phone) => {
                    item.phone_e164 = Some(phone.as_e164().to_string());
                    plan_one(s, sender, rules, &mut item, &phone, dry_run, now)?;
                }
            }
            Ok(item)
        })
        .collect()
}

/// Decides for one number and, unless dry, creates its invitation and queues its message.
fn plan_one(
    s: &Stores<'_>,
    sender: &Sender,
    rules: &Rules,
    item: &mut SmsInviteItem,
    phone: &Phone,
    dry_run: bool,
    now: i64,
) -> Result<(), ServerError> {
    let already_partner = s
        .accounts()
        .user_by_phone(sender.rep.company_id, phone.as_e164())?
        .is_some();
    let history = s
        .sms()
        .history(phone.as_e164(), None, rules.history_since(now))?;
    // The placeholder URL has the real URL's length, so the decision holds for the real text.
    let preview = sender.request(&item.name, phone, &sender.placeholder_url());
    let planned = plan::plan(
        already_partner,
        || decide(&preview, &history, rules, now),
        now,
    );
    item.plan = planned.plan;
    let Some(send_after) = planned.send_after else {
        return Ok(());
    };
    if dry_run {
        item.text = Some(compose(&preview, rules).text);
        return Ok(());
    }
    let new = NewInvitation {
        channel: InviteChannel::Sms,
        multi_use: false,
        expires_in_hours: None,
    };
    let inv = invitations::create(
        s,
        &sender.rep,
        &new,
        Some((&item.name, phone)),
        &sender.public_url,
        now,
    )?;
    let message = compose(&sender.request(&item.name, phone, &inv.url), rules);
    let record = s.sms().queue(
        &NewMessage {
            company_id: sender.rep.company_id,
            rep_id: sender.rep.id,
            invitation_id: Some(inv.id),
            name: &item.name,
            phone,
            text: &message.text,
            template_params: &message.template_params,
            send_after,
        },
        now,
    )?;
    item.text = Some(message.text);
    item.sms_id = Some(record.id);
    Ok(())
}
