//! The provider interface.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use crate::error::SmsError;
use crate::message::{ProviderReceipt, SmsMessage};
use crate::{
    AliyunConfig, AliyunSms, ConsoleProvider, TencentConfig, TencentSms, TwilioConfig, TwilioSms,
};

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

/// Which provider a deployment uses; the server builds it once at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderConfig {
    /// The default: messages go to the outbox (and to this JSON-lines file if set).
    Console {
        outbox_file: Option<PathBuf>,
    },
    Aliyun(AliyunConfig),
    Tencent(TencentConfig),
    Twilio(TwilioConfig),
}

impl Default for ProviderConfig {
    fn default() -> Self {
        ProviderConfig::Console { outbox_file: None }
    }
}

impl ProviderConfig {
    /// Whether messages reach real phones: one-time SMS codes are only asked for then.
    pub fn is_real(&self) -> bool {
        !matches!(self, ProviderConfig::Console { .. })
    }

    /// Asks the provider, without sending anything, whether it accepts our
    /// credentials (and the sign name and template where it reviews them);
    /// answers what it found. The console provider has nothing to ask.
    pub async fn check_account(&self) -> Result<String, SmsError> {
        let client = crate::http::default_client();
        match self {
            ProviderConfig::Console { .. } => Ok("console: nothing to check".into()),
            ProviderConfig::Aliyun(c) => crate::aliyun::check_account(&client, c).await,
            ProviderConfig::Tencent(c) => crate::tencent::check_account(&client, c).await,
            ProviderConfig::Twilio(c) => crate::twilio::check_account(&client, c).await,
        }
    }

    pub fn build(self) -> Arc<dyn SmsProvider> {
        match self {
            ProviderConfig::Console { outbox_file: None } => Arc::new(ConsoleProvider::new()),
            ProviderConfig::Console {
                outbox_file: Some(path),
            } => Arc::new(ConsoleProvider::with_file(path)),
            ProviderConfig::Aliyun(c) => Arc::new(AliyunSms::new(c)),
            ProviderConfig::Tencent(c) => Arc::new(TencentSms::new(c)),
            ProviderConfig::Twilio(c) => Arc::new(TwilioSms::new(c)),
        }
    }
}
