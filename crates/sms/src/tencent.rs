//! Tencent Cloud SMS (`SendSms`, API version 2021-01-11), signed with TC3-HMAC-SHA256
//! ("Signature v3", e.g. <https://intl.cloud.tencent.com/document/api/1021/34193>).

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::SmsError;
use crate::http::{self, hex, HttpAnswer, HttpRequest};
use crate::message::{DeliveryStatus, ProviderReceipt, SmsMessage};
use crate::provider::{SendFuture, SmsProvider};
use crate::time::utc_date;

const PROVIDER: &str = "tencent";
const SERVICE: &str = "sms";
pub const DEFAULT_BASE_URL: &str = "https://sms.tencentcloudapi.com";
pub const CONTENT_TYPE: &str = "application/json; charset=utf-8";
pub const SIGNED_HEADERS: &str = "content-type;host";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TencentConfig {
    pub secret_id: String,
    pub secret_key: String,
    /// The SMS application id, e.g. `1400006666`.
    pub sdk_app_id: String,
    pub sign_name: String,
    pub template_id: String,
    /// e.g. `ap-guangzhou`.
    pub region: String,
    /// `https://sms.tencentcloudapi.com` in production; a local fake in tests.
    pub base_url: String,
}

/// Step 1 of TC3: the canonical request of a POST with a JSON body to `/`.
pub fn canonical_request(host: &str, payload: &str) -> String {
    format!(
        "POST\n/\n\ncontent-type:{CONTENT_TYPE}\nhost:{host}\n\n{SIGNED_HEADERS}\n{}",
        sha256_hex(payload.as_bytes())
    )
}

/// Step 2: the string to sign; the date is the UTC date of the timestamp.
pub fn string_to_sign(unix_secs: i64, service: &str, canonical_request: &str) -> String {
    format!(
        "TC3-HMAC-SHA256\n{unix_secs}\n{}/{service}/tc3_request\n{}",
        utc_date(unix_secs),
        sha256_hex(canonical_request.as_bytes())
    )
}

/// Step 3: the key is derived from the secret, the date and the service; the signature is hex.
pub fn signature(secret_key: &str, unix_secs: i64, service: &str, string_to_sign: &str) -> String {
    let date_key = hmac_sha256(
        format!("TC3{secret_key}").as_bytes(),
        utc_date(unix_secs).as_bytes(),
    );
    let service_key = hmac_sha256(&date_key, service.as_bytes());
    let signing_key = hmac_sha256(&service_key, b"tc3_request");
    hex(&hmac_sha256(&signing_key, string_to_sign.as_bytes()))
}

/// Step 4: the Authorization header for a JSON POST to `host` at `unix_secs`.
pub fn authorization(
    secret_id: &str,
    secret_key: &str,
    service: &str,
    host: &str,
    payload: &str,
    unix_secs: i64,
) -> String {
    let sts = string_to_sign(unix_secs, service, &canonical_request(host, payload));
    format!(
        "TC3-HMAC-SHA256 Credential={secret_id}/{}/{service}/tc3_request, SignedHeaders={SIGNED_HEADERS}, Signature={}",
        utc_date(unix_secs),
        signature(secret_key, unix_secs, service, &sts)
    )
}

/// The `SendSms` request for one message.
pub fn build_send_sms(
    config: &TencentConfig,
    message: &SmsMessage,
    unix_secs: i64,
) -> Result<HttpRequest, SmsError> {
    let host = http::host_of(&config.base_url)?;
    let payload = serde_json::json!({
        "PhoneNumberSet": [message.to.as_e164()],
        "SmsSdkAppId": config.sdk_app_id,
        "SignName": config.sign_name,
        "TemplateId": config.template_id,
        "TemplateParamSet": message.template_params.iter().map(|(_, v)| v).collect::<Vec<_>>(),
    })
    .to_string();
    Ok(signed_post(config, &host, "SendSms", payload, unix_secs))
}

/// `DescribeSmsTemplateList` for the configured template: a read-only
/// call, signed like `SendSms`, that sends nothing.
pub fn build_describe_template(
    config: &TencentConfig,
    unix_secs: i64,
) -> Result<HttpRequest, SmsError> {
    let host = http::host_of(&config.base_url)?;
    let id: u64 = config.template_id.trim().parse().map_err(|_| {
        SmsError::InvalidInput(format!(
            "the Tencent Cloud template id {:?} is not a number (WARMLEAD_TENCENT_TEMPLATE_ID)",
            config.template_id
        ))
    })?;
    let payload = serde_json::json!({ "International": 0, "TemplateIdSet": [id] }).to_string();
    Ok(signed_post(
        config,
        &host,
        "DescribeSmsTemplateList",
        payload,
        unix_secs,
    ))
}

/// A Tencent Cloud SMS API call: the JSON payload POSTed with its TC3
/// signature and the action's headers.
fn signed_post(
    config: &TencentConfig,
    host: &str,
    action: &str,
    payload: String,
    unix_secs: i64,
) -> HttpRequest {
    let auth = authorization(
        &config.secret_id,
        &config.secret_key,
        SERVICE,
        host,
        &payload,
        unix_secs,
    );
    let header = |k: &str, v: &str| (k.to_string(), v.to_string());
    HttpRequest {
        method: "POST",
        url: format!("{}/", config.base_url.trim_end_matches('/')),
        headers: vec![
            header("Authorization", &auth),
            header("Content-Type", CONTENT_TYPE),
            header("X-TC-Action", action),
            header("X-TC-Timestamp", &unix_secs.to_string()),
            header("X-TC-Version", "2021-01-11"),
            header("X-TC-Region", &config.region),
        ],
        body: payload,
    }
}

/// The template's review status in a `DescribeSmsTemplateList` answer
/// (`StatusCode`: 0 approved, 1 under review, -1 refused) and the review's
/// reply; an error when the credentials were refused or the template is
/// not the account's.
pub fn read_describe_template(answer: &HttpAnswer) -> Result<(i64, String), SmsError> {
    let bad = || SmsError::BadResponse {
        provider: PROVIDER,
        status: answer.status,
        body: answer.body.chars().take(500).collect(),
    };
    let envelope: serde_json::Value = serde_json::from_str(&answer.body).map_err(|_| bad())?;
    let response = envelope.get("Response").ok_or_else(bad)?;
    if let Some(e) = response.get("Error") {
        let text = |k: &str| {
            e.get(k)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        return Err(error_for(text("Code"), text("Message")));
    }
    let first = response
        .get("DescribeTemplateStatusSet")
        .and_then(|v| v.as_array())
        .and_then(|set| set.first())
        .ok_or_else(|| SmsError::Rejected {
            provider: PROVIDER,
            code: "TemplateNotFound".into(),
            message: "the account has no such template".into(),
        })?;
    let status = first
        .get("StatusCode")
        .and_then(serde_json::Value::as_i64)
        .ok_or_else(bad)?;
    let reply = first
        .get("ReviewReply")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    Ok((status, reply))
}

/// Checks the account without sending: the credentials, and that the
/// template is approved. Answers what it found.
pub async fn check_account(
    client: &reqwest::Client,
    config: &TencentConfig,
) -> Result<String, SmsError> {
    let req = build_describe_template(config, crate::time::unix_now())?;
    let answer = http::execute(client, PROVIDER, &req).await?;
    let (status, reply) = read_describe_template(&answer)?;
    let state = match status {
        0 => {
            return Ok(format!(
                "credentials accepted; template {} approved",
                config.template_id
            ))
        }
        1 => "still under review",
        _ => "not approved",
    };
    Err(SmsError::Rejected {
        provider: PROVIDER,
        code: format!("StatusCode={status}"),
        message: if reply.is_empty() {
            format!("template {} is {state}", config.template_id)
        } else {
            format!("template {} is {state}: {reply}", config.template_id)
        },
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Envelope {
    response: Response,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Response {
    error: Option<ApiError>,
    #[serde(default)]
    send_status_set: Vec<SendStatus>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ApiError {
    code: String,
    message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SendStatus {
    serial_no: String,
    code: String,
    message: String,
}

/// Reads the answer: a request-level `Error`, or one `SendStatusSet` entry per number whose
/// `Code` is `Ok` on success.
pub fn read_answer(answer: &HttpAnswer) -> Result<ProviderReceipt, SmsError> {
    let bad = || SmsError::BadResponse {
        provider: PROVIDER,
        status: answer.status,
        body: answer.body.chars().take(500).collect(),
    };
    let envelope: Envelope = serde_json::from_str(&answer.body).map_err(|_| bad())?;
    if let Some(e) = envelope.response.error {
        return Err(error_for(e.code, e.message));
    }
    let status = envelope
        .response
        .send_status_set
        .into_iter()
        .next()
        .ok_or_else(bad)?;
    if status.code != "Ok" {
        return Err(error_for(status.code, status.message));
    }
    Ok(ProviderReceipt {
        provider: PROVIDER.into(),
        provider_message_id: status.serial_no,
        status: DeliveryStatus::Sent,
    })
}

fn error_for(code: String, message: String) -> SmsError {
    let provider = PROVIDER;
    if code.starts_with("AuthFailure") {
        SmsError::Unauthorized {
            provider,
            code,
            message,
        }
    } else if code.starts_with("LimitExceeded") || code.starts_with("RequestLimitExceeded") {
        SmsError::RateLimited {
            provider,
            code,
            message,
        }
    } else {
        SmsError::Rejected {
            provider,
            code,
            message,
        }
    }
}

fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

pub struct TencentSms {
    config: TencentConfig,
    client: reqwest::Client,
}

impl TencentSms {
    pub fn new(config: TencentConfig) -> Self {
        TencentSms {
            config,
            client: http::default_client(),
        }
    }
}

impl SmsProvider for TencentSms {
    fn name(&self) -> &'static str {
        PROVIDER
    }

    fn send<'a>(&'a self, message: &'a SmsMessage) -> SendFuture<'a> {
        Box::pin(async move {
            let req = build_send_sms(&self.config, message, crate::time::unix_now())?;
            let answer = http::execute(&self.client, PROVIDER, &req).await?;
            read_answer(&answer)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Tencent Cloud's documented TC3-HMAC-SHA256 example (CVM DescribeInstances, SecretId
    // `AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE`, SecretKey `Gu5t9xGARNpq86cd98joQYCN3EXAMPLE`,
    // timestamp 1551113065), from the "Signature v3" page every TencentCloud API product carries,
    // e.g. https://intl.cloud.tencent.com/document/api/1021/34193 and
    // https://www.tencentcloud.com/document/product/267/37447 . Expected values are the page's
    // intermediate results (payload hash, hashed canonical request) and its final Authorization.
    const DOC_PAYLOAD: &str =
        r#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;
    const DOC_HOST: &str = "cvm.tencentcloudapi.com";
    const DOC_TS: i64 = 1_551_113_065;

    #[test]
    fn matches_the_documented_canonical_request_and_string_to_sign() {
        let cr = canonical_request(DOC_HOST, DOC_PAYLOAD);
        assert_eq!(
            cr,
            "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\n\
             content-type;host\n35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
        );
        assert_eq!(
            string_to_sign(DOC_TS, "cvm", &cr),
            "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n\
             5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
        );
    }

    #[test]
    fn matches_the_documented_authorization() {
        assert_eq!(
            authorization(
                "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
                "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
                "cvm",
                DOC_HOST,
                DOC_PAYLOAD,
                DOC_TS
            ),
            "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, \
             SignedHeaders=content-type;host, \
             Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
        );
    }

    #[test]
    fn reads_success_and_errors() {
        let ok = HttpAnswer {
            status: 200,
            body: r#"{"Response":{"SendStatusSet":[{"SerialNo":"5000:1045710669157053657849499619","PhoneNumber":"+8613711112222","Fee":1,"SessionContext":"","Code":"Ok","Message":"send success","IsoCode":"CN"}],"RequestId":"a0aabda6"}}"#.into(),
        };
        assert_eq!(
            read_answer(&ok).unwrap().provider_message_id,
            "5000:1045710669157053657849499619"
        );
        let auth = HttpAnswer {
            status: 200,
            body: r#"{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"The provided credentials could not be validated."},"RequestId":"b1"}}"#.into(),
        };
        assert!(matches!(
            read_answer(&auth),
            Err(SmsError::Unauthorized { .. })
        ));
        let per_number = HttpAnswer {
            status: 200,
            body: r#"{"Response":{"SendStatusSet":[{"SerialNo":"","PhoneNumber":"+8613711112222","Fee":0,"SessionContext":"","Code":"LimitExceeded.PhoneNumberDailyLimit","Message":"daily limit","IsoCode":"CN"}],"RequestId":"c1"}}"#.into(),
        };
        let err = read_answer(&per_number).unwrap_err();
        assert_eq!(err.code(), warmlead_core::ErrorCode::RateLimited);
    }
}
