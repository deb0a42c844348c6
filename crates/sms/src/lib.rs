//! SMS for Warmlead: invitations and one-time codes.
//!
//! Two halves that never mix:
//! - [`rules`]: pure functions deciding whether a message may go out now, later, or never
//!   (named recipient, opt-out line, opt-outs forever, quiet hours in the recipient's time zone,
//!   per-number daily cap, no duplicate invitation within 24 h).
//! - [`provider`]: the [`SmsProvider`] trait and its implementations. Each real provider builds
//!   its HTTP request with a pure function (testable against the provider's documented signature
//!   examples) and sends it with reqwest to a configurable base URL.

pub mod aliyun;
pub mod console;
pub mod dispatch;
pub mod error;
pub mod http;
pub mod inbound;
pub mod message;
pub mod provider;
pub mod rules;
pub mod status;
pub mod tencent;
mod time;
pub mod twilio;

pub use aliyun::{AliyunConfig, AliyunSms};
pub use console::ConsoleProvider;
pub use dispatch::{dispatch, Outcome};
pub use error::SmsError;
pub use inbound::InboundReply;
pub use message::{DeliveryStatus, MessageKind, ProviderReceipt, SmsMessage};
pub use provider::{ProviderConfig, SmsProvider};
pub use rules::{
    compose, decide, is_opt_out_reply, Decision, History, RefuseReason, Rules, SendRequest,
    SentRecord,
};
pub use status::StatusUpdate;
pub use tencent::{TencentConfig, TencentSms};
pub use twilio::{TwilioConfig, TwilioSms};
