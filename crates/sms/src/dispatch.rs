//! The one call the server makes: decide, compose, send. Storage of history and the queue stays
//! with the caller; this keeps the order of the steps in one place.

use crate::error::SmsError;
use crate::message::{DeliveryStatus, ProviderReceipt, SmsMessage};
use crate::provider::SmsProvider;
use crate::rules::{compose, decide, Decision, History, RefuseReason, Rules, SendRequest};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Handed to the provider. Record a `SentRecord` in the number's history.
    Sent {
        message: SmsMessage,
        receipt: ProviderReceipt,
    },
    /// Quiet hours at the recipient: store the request and call [`dispatch`] again at
    /// `until_utc_ms` (the rules are checked again then, with the history of that moment).
    Queued {
        until_utc_ms: i64,
    },
    Refused {
        reason: RefuseReason,
    },
}

impl Outcome {
    /// The status shown to the rep.
    pub fn status(&self) -> Option<DeliveryStatus> {
        match self {
            Outcome::Sent { receipt, .. } => Some(receipt.status),
            Outcome::Queued { .. } => Some(DeliveryStatus::Queued),
            Outcome::Refused { .. } => None,
        }
    }
}

/// Applies the rules and, if they allow it now, sends through `provider`.
/// Provider failures are returned as errors; nothing was sent then.
pub async fn dispatch(
    provider: &dyn SmsProvider,
    rules: &Rules,
    request: &SendRequest,
    history: &History,
    now_utc_ms: i64,
) -> Result<Outcome, SmsError> {
    match decide(request, history, rules, now_utc_ms) {
        Decision::Refuse { reason } => Ok(Outcome::Refused { reason }),
        Decision::Queue { until_utc_ms } => Ok(Outcome::Queued { until_utc_ms }),
        Decision::Send => {
            let message = compose(request, rules);
            let receipt = provider.send(&message).await?;
            Ok(Outcome::Sent { message, receipt })
        }
    }
}
