//! What goes to a provider and what comes back.

use serde::{Deserialize, Serialize};
use warmlead_core::phone::Phone;

/// Why a message is sent; the rules differ (see [`crate::rules`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// A rep invites a named person to become a partner: commercial SMS, every rule applies.
    Invitation,
    /// A one-time sign-in code the recipient asked for themselves: sent at once, no opt-out line.
    OneTimeCode,
}

/// A message ready for a provider. Build it with [`crate::rules::compose`] so the opt-out line is
/// never forgotten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsMessage {
    pub to: Phone,
    pub kind: MessageKind,
    /// The full text as the recipient reads it (console outbox, Twilio).
    pub text: String,
    /// Values for template-based providers (Aliyun, Tencent), in template order.
    pub template_params: Vec<(String, String)>,
}

/// Delivery status of one message, as shown to the rep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting in our queue (quiet hours) or accepted by the provider but not yet handed on.
    Queued,
    /// Handed to the carrier.
    Sent,
    /// The carrier reported delivery to the handset.
    Delivered,
    Failed,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 4] = [
        DeliveryStatus::Queued,
        DeliveryStatus::Sent,
        DeliveryStatus::Delivered,
        DeliveryStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Queued => "queued",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryStatus> {
        DeliveryStatus::ALL.into_iter().find(|d| d.as_str() == s)
    }

    /// Whether the status can still change (a later status callback may update it).
    pub fn is_final(self) -> bool {
        matches!(self, DeliveryStatus::Delivered | DeliveryStatus::Failed)
    }
}

/// What a provider told us when it accepted a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderReceipt {
    /// `console`, `aliyun`, `tencent`, `twilio`.
    pub provider: String,
    /// The provider's id for the message (BizId, SerialNo, Message SID), to match status callbacks.
    pub provider_message_id: String,
    pub status: DeliveryStatus,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trips_through_its_name() {
        for s in DeliveryStatus::ALL {
            assert_eq!(DeliveryStatus::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        assert_eq!(DeliveryStatus::parse("lost"), None);
        assert!(DeliveryStatus::Failed.is_final() && !DeliveryStatus::Sent.is_final());
    }
}
