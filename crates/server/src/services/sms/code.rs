//! One-time codes of the invitation pages, and activation codes a manager
//! sends from the team screen, go out under the same SMS rules as
//! invitations (`warmlead_sms::decide`): no code to an opted-out number,
//! none within a minute of the last one, and each counts toward the
//! number's daily cap. The code is drawn and the message recorded (its text
//! with the code masked) in one transaction, so a refusal leaves the code
//! sent before valid; sending happens outside it.

use warmlead_core::phone::Phone;
use warmlead_sms::{
    compose, decide, Decision, MessageKind, RefuseReason, Rules, SendRequest, SmsProvider,
};

use super::SmsService;
use crate::error::ServerError;
use crate::storage::sms_store::NewCode;
use crate::storage::Stores;

/// Who a code is for: the invitation's company and rep, and the number typed.
pub(crate) struct CodeRequest {
    pub company_id: i64,
    pub rep_id: i64,
    pub invitation_id: i64,
    /// As typed on the form (may be empty); the rep's list shows it.
    pub name: String,
    pub phone: Phone,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum CodeOutcome {
    Sent,
    Refused(RefuseReason),
    /// The provider did not take it (recorded as failed; does not count).
    Failed,
}

/// The code's text; `code` is `******` in what we store.
pub(crate) type TextFn = dyn Fn(&str) -> String + Send + Sync;

/// Decides, draws and records a code for `req`, then sends it.
pub(crate) async fn send_code(
    svc: &SmsService,
    req: CodeRequest,
    text: Box<TextFn>,
) -> Result<CodeOutcome, ServerError> {
    let options = svc.options.clone();
    let now = options.clock.now_ms();
    let planned = svc
        .db
        .transaction(move |s| plan(s, &options.rules, &req, &*text, now))
        .await?;
    match planned {
        Planned::Refused(reason) => Ok(CodeOutcome::Refused(reason)),
        Planned::Send { id, message } => deliver(svc, id, message).await,
    }
}

/// An activation code (already issued and shown to the caller) for someone's
/// phone, sent under the name of `sender_id` (the manager or rep).
pub(crate) struct ActivationCodeSms {
    pub company_id: i64,
    pub sender_id: i64,
    pub name: String,
    pub phone: Phone,
    pub code: String,
    /// The whole text, the code in it.
    pub text: String,
}

/// Decides and records the message (the code masked), then sends it.
pub(crate) async fn send_activation_code(
    svc: &SmsService,
    req: ActivationCodeSms,
) -> Result<CodeOutcome, ServerError> {
    let rules = svc.options.rules.clone();
    let now = svc.now();
    let planned = svc
        .db
        .transaction(move |s| plan_activation(s, &rules, &req, now))
        .await?;
    match planned {
        Planned::Refused(reason) => Ok(CodeOutcome::Refused(reason)),
        Planned::Send { id, message } => deliver(svc, id, message).await,
    }
}

fn plan_activation(
    s: &Stores<'_>,
    rules: &Rules,
    req: &ActivationCodeSms,
    now: i64,
) -> Result<Planned, ServerError> {
    let phone = req.phone.as_e164();
    let history = s.sms().history(phone, None, rules.history_since(now))?;
    let send = SendRequest {
        kind: MessageKind::OneTimeCode,
        to: req.phone.clone(),
        recipient_name: req.name.clone(),
        triggered_by_rep: Some(req.sender_id),
        body: req.text.clone(),
        template_params: vec![("code".to_string(), req.code.clone())],
    };
    if let Decision::Refuse { reason } = decide(&send, &history, rules, now) {
        return Ok(Planned::Refused(reason));
    }
    let id = s.sms().insert_code(
        NewCode {
            company_id: req.company_id,
            rep_id: req.sender_id,
            invitation_id: None,
            name: &req.name,
            phone,
            masked_text: &req.text.replace(&req.code, "******"),
        },
        now,
    )?;
    Ok(Planned::Send {
        id,
        message: compose(&send, rules),
    })
}

/// Hands a recorded code message to the provider and records the answer.
async fn deliver(
    svc: &SmsService,
    id: i64,
    message: warmlead_sms::SmsMessage,
) -> Result<CodeOutcome, ServerError> {
    let provider: &dyn SmsProvider = &*svc.provider;
    let result = provider.send(&message).await;
    let done = svc.now();
    let outcome = match &result {
        Ok(_) => CodeOutcome::Sent,
        Err(e) => {
            tracing::warn!(error = %e, provider = provider.name(), "one-time code SMS failed");
            CodeOutcome::Failed
        }
    };
    let provider_name = provider.name().to_string();
    svc.db
        .transaction(move |s| match &result {
            Ok(receipt) => s.sms().code_sent(id, receipt, done),
            Err(e) => s
                .sms()
                .code_failed(id, &provider_name, &e.to_string(), done),
        })
        .await?;
    Ok(outcome)
}

enum Planned {
    Refused(RefuseReason),
    Send {
        id: i64,
        message: warmlead_sms::SmsMessage,
    },
}

fn plan(
    s: &Stores<'_>,
    rules: &Rules,
    req: &CodeRequest,
    text: &TextFn,
    now: i64,
) -> Result<Planned, ServerError> {
    let phone = req.phone.as_e164();
    let history = s.sms().history(phone, None, rules.history_since(now))?;
    // Decided on a stand-in of the same length, so that a refusal draws no
    // code (drawing one voids the code sent before).
    let stand_in = "000000";
    let probe = request(req, text(stand_in), stand_in);
    if let Decision::Refuse { reason } = decide(&probe, &history, rules, now) {
        return Ok(Planned::Refused(reason));
    }
    let code = s
        .invitations()
        .new_otp(&s.secrets().master, req.invitation_id, &req.phone, now)?;
    let message = compose(&request(req, text(&code), &code), rules);
    let id = s.sms().insert_code(
        NewCode {
            company_id: req.company_id,
            rep_id: req.rep_id,
            invitation_id: Some(req.invitation_id),
            name: &req.name,
            phone: req.phone.as_e164(),
            masked_text: &text("******"),
        },
        now,
    )?;
    Ok(Planned::Send { id, message })
}

fn request(req: &CodeRequest, body: String, code: &str) -> SendRequest {
    SendRequest {
        kind: MessageKind::OneTimeCode,
        to: req.phone.clone(),
        recipient_name: req.name.clone(),
        triggered_by_rep: None,
        body,
        template_params: vec![("code".to_string(), code.to_string())],
    }
}
