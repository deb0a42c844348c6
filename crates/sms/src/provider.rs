//! The provider interface.

use std::future::Future;
use std::pin::Pin;

use crate::error::SmsError;
use crate::message::{ProviderReceipt, SmsMessage};

pub type SendFuture<'a> =
    Pin<Box<dyn Future<Output = Result<ProviderReceipt, SmsError>> + Send + 'a>>;

/// Hands one message to an SMS gateway. A boxed future (not `async fn`) so the server can hold
/// `Arc<dyn SmsProvider>` chosen from configuration at start-up.
pub trait SmsProvider: Send + Sync {
    /// Short name: `console`, `aliyun`, `tencent`, `twilio`.
    fn name(&self) -> &'static str;

    /// Sends one message that already passed [`crate::rules::decide`].
    fn send<'a>(&'a self, message: &'a SmsMessage) -> SendFuture<'a>;
}
