//! Alibaba Cloud SMS (Dysmsapi `SendSms`, API version 2017-05-25), RPC style:
//! parameters signed with HMAC-SHA1 over the percent-encoded canonical query
//! (<https://www.alibabacloud.com/help/doc-detail/28139.htm>, "signature method" of RPC APIs).

use base64::Engine;
use hmac::{Hmac, Mac};
use serde::Deserialize;

use crate::error::SmsError;
use crate::http::{self, percent_encode, HttpAnswer, HttpRequest};
use crate::message::{DeliveryStatus, ProviderReceipt, SmsMessage};
use crate::provider::{SendFuture, SmsProvider};
use crate::time::{unix_now, utc_iso8601};

const PROVIDER: &str = "aliyun";
pub const DEFAULT_BASE_URL: &str = "https://dysmsapi.aliyuncs.com";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliyunConfig {
    pub access_key_id: String,
    pub access_key_secret: String,
    /// The approved signature name shown in 【】 before the text.
    pub sign_name: String,
    /// The approved template, e.g. `SMS_123456789`; its variables come from the message's
    /// template parameters.
    pub template_code: String,
    /// `https://dysmsapi.aliyuncs.com` in production; a local fake in tests.
    pub base_url: String,
}

/// The string Alibaba Cloud signs: `METHOD&%2F&` + the percent-encoded canonical query.
pub fn string_to_sign(method: &str, params: &[(String, String)]) -> String {
    format!(
        "{method}&{}&{}",
        percent_encode("/"),
        percent_encode(&canonical_query(params))
    )
}

/// Parameters sorted by name, names and values percent-encoded, joined with `&`.
/// `Signature` itself never takes part.
pub fn canonical_query(params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> =
        params.iter().filter(|(k, _)| k != "Signature").collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    sorted
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Base64(HMAC-SHA1(secret + "&", string_to_sign)).
pub fn sign(method: &str, params: &[(String, String)], access_key_secret: &str) -> String {
    let key = format!("{access_key_secret}&");
    let mut mac = <Hmac<sha1::Sha1> as Mac>::new_from_slice(key.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(string_to_sign(method, params).as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The `SendSms` request for one message: POST, form body, signed.
pub fn build_send_sms(
    config: &AliyunConfig,
    message: &SmsMessage,
    nonce: &str,
    unix_secs: i64,
) -> Result<HttpRequest, SmsError> {
    let template_param = serde_json::Value::Object(
        message
            .template_params
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect(),
    );
    let to = message.to.as_e164();
    Ok(signed_post(
        config,
        "SendSms",
        &[
            // Aliyun takes international numbers as country code + number without the `+`.
            ("PhoneNumbers", to.trim_start_matches('+')),
            ("SignName", &config.sign_name),
            ("TemplateCode", &config.template_code),
            ("TemplateParam", &template_param.to_string()),
        ],
        nonce,
        unix_secs,
    ))
}

/// A read-only Dysmsapi call that sends nothing (`QuerySmsSign` with
/// `SignName`, `QuerySmsTemplate` with `TemplateCode`): signed like
/// `SendSms`, so its answer says whether the credentials are accepted.
pub fn build_query(
    config: &AliyunConfig,
    action: &str,
    key: (&str, &str),
    nonce: &str,
    unix_secs: i64,
) -> HttpRequest {
    signed_post(config, action, &[key], nonce, unix_secs)
}

/// A Dysmsapi call: the common parameters and the action's own, in the
/// order Aliyun documents them (by name), signed, as a form POST.
fn signed_post(
    config: &AliyunConfig,
    action: &str,
    own: &[(&str, &str)],
    nonce: &str,
    unix_secs: i64,
) -> HttpRequest {
    let pair = |k: &str, v: &str| (k.to_string(), v.to_string());
    let mut params = vec![
        pair("AccessKeyId", &config.access_key_id),
        pair("Action", action),
        pair("Format", "JSON"),
        pair("RegionId", "cn-hangzhou"),
        pair("SignatureMethod", "HMAC-SHA1"),
        pair("SignatureNonce", nonce),
        pair("SignatureVersion", "1.0"),
        pair("Timestamp", &utc_iso8601(unix_secs)),
        pair("Version", "2017-05-25"),
    ];
    params.extend(own.iter().map(|(k, v)| pair(k, v)));
    params.sort();
    let signature = sign("POST", &params, &config.access_key_secret);
    params.push(pair("Signature", &signature));
    HttpRequest {
        method: "POST",
        url: format!("{}/", config.base_url.trim_end_matches('/')),
        headers: vec![(
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        )],
        body: http::form_encode(&params),
    }
}

/// The review status in a `QuerySmsSign` / `QuerySmsTemplate` answer
/// (`SignStatus` / `TemplateStatus`: 0 under review, 1 approved, 2 refused)
/// and the refusal's reason.
pub fn read_query_answer(
    answer: &HttpAnswer,
    status_field: &str,
) -> Result<(i64, String), SmsError> {
    let bad = || SmsError::BadResponse {
        provider: PROVIDER,
        status: answer.status,
        body: answer.body.chars().take(500).collect(),
    };
    let parsed: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&answer.body).map_err(|_| bad())?;
    let text = |k: &str| {
        parsed
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let code = text("Code");
    if code != "OK" {
        if code.is_empty() {
            return Err(bad());
        }
        return Err(error_for(code, text("Message")));
    }
    let status = parsed
        .get(status_field)
        .and_then(serde_json::Value::as_i64)
        .ok_or_else(bad)?;
    Ok((status, text("Reason")))
}

/// Checks the account without sending: the credentials, then that the sign
/// name and the template are approved. Answers what it found.
pub async fn check_account(
    client: &reqwest::Client,
    config: &AliyunConfig,
) -> Result<String, SmsError> {
    let checks = [
        (
            "QuerySmsSign",
            "SignName",
            &config.sign_name,
            "SignStatus",
            "sign name",
        ),
        (
            "QuerySmsTemplate",
            "TemplateCode",
            &config.template_code,
            "TemplateStatus",
            "template",
        ),
    ];
    for (action, key, value, field, what) in checks {
        let nonce = uuid::Uuid::new_v4().to_string();
        let req = build_query(config, action, (key, value), &nonce, unix_now());
        let answer = http::execute(client, PROVIDER, &req).await?;
        let (status, reason) = read_query_answer(&answer, field)?;
        let refused = |state: &str| SmsError::Rejected {
            provider: PROVIDER,
            code: format!("{field}={status}"),
            message: if reason.is_empty() {
                format!("{what} {value} is {state}")
            } else {
                format!("{what} {value} is {state}: {reason}")
            },
        };
        match status {
            1 => {}
            0 => return Err(refused("still under review")),
            _ => return Err(refused("not approved")),
        }
    }
    Ok(format!(
        "credentials accepted; sign name {} and template {} approved",
        config.sign_name, config.template_code
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Answer {
    code: Option<String>,
    message: Option<String>,
    biz_id: Option<String>,
}

/// Reads Dysmsapi's JSON answer: `Code: "OK"` with a `BizId`, or an error code.
pub fn read_answer(answer: &HttpAnswer) -> Result<ProviderReceipt, SmsError> {
    let bad = || SmsError::BadResponse {
        provider: PROVIDER,
        status: answer.status,
        body: answer.body.chars().take(500).collect(),
    };
    let parsed: Answer = serde_json::from_str(&answer.body).map_err(|_| bad())?;
    let code = parsed.code.ok_or_else(bad)?;
    if code == "OK" {
        return Ok(ProviderReceipt {
            provider: PROVIDER.into(),
            provider_message_id: parsed.biz_id.ok_or_else(bad)?,
            status: DeliveryStatus::Sent,
        });
    }
    Err(error_for(code, parsed.message.unwrap_or_default()))
}

fn error_for(code: String, message: String) -> SmsError {
    let provider = PROVIDER;
    if code.starts_with("SignatureDoesNotMatch")
        || code.starts_with("InvalidAccessKeyId")
        || code == "isv.ACCOUNT_NOT_EXISTS"
        || code == "Forbidden.RAM"
    {
        SmsError::Unauthorized {
            provider,
            code,
            message,
        }
    } else if code.contains("LIMIT_CONTROL") || code == "Throttling.User" {
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

pub struct AliyunSms {
    config: AliyunConfig,
    client: reqwest::Client,
}

impl AliyunSms {
    pub fn new(config: AliyunConfig) -> Self {
        AliyunSms {
            config,
            client: http::default_client(),
        }
    }
}

impl SmsProvider for AliyunSms {
    fn name(&self) -> &'static str {
        PROVIDER
    }

    fn send<'a>(&'a self, message: &'a SmsMessage) -> SendFuture<'a> {
        Box::pin(async move {
            let nonce = uuid::Uuid::new_v4().to_string();
            let req = build_send_sms(&self.config, message, &nonce, unix_now())?;
            let answer = http::execute(&self.client, PROVIDER, &req).await?;
            read_answer(&answer)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc_params() -> Vec<(String, String)> {
        [
            ("Timestamp", "2016-02-23T12:46:24Z"),
            ("Format", "XML"),
            ("AccessKeyId", "testid"),
            ("Action", "DescribeRegions"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
            ("Version", "2014-05-26"),
            ("SignatureVersion", "1.0"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// Alibaba Cloud's documented example (DescribeRegions, AccessKeyId `testid`, AccessKeySecret
    /// `testsecret`, GET): https://www.alibabacloud.com/help/doc-detail/28139.htm
    #[test]
    fn matches_the_documented_string_to_sign() {
        assert_eq!(
            string_to_sign("GET", &doc_params()),
            "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML\
             %26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf\
             %26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26"
        );
    }

    /// Same source: https://www.alibabacloud.com/help/doc-detail/28139.htm
    #[test]
    fn matches_the_documented_signature() {
        assert_eq!(
            sign("GET", &doc_params(), "testsecret"),
            "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
        );
        // The signature ignores a Signature parameter already present.
        let mut with_sig = doc_params();
        with_sig.push(("Signature".into(), "x".into()));
        assert_eq!(
            sign("GET", &with_sig, "testsecret"),
            "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
        );
        assert_ne!(
            sign("POST", &doc_params(), "testsecret"),
            "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
        );
    }

    #[test]
    fn reads_success_and_errors() {
        let ok = HttpAnswer {
            status: 200,
            body: r#"{"Message":"OK","RequestId":"r1","Code":"OK","BizId":"900619746936498440^0"}"#
                .into(),
        };
        let receipt = read_answer(&ok).unwrap();
        assert_eq!(receipt.provider_message_id, "900619746936498440^0");
        assert_eq!(receipt.status, DeliveryStatus::Sent);
        let limited = HttpAnswer {
            status: 200,
            body: r#"{"Message":"触发小时级流控Permits:5","RequestId":"r2","Code":"isv.BUSINESS_LIMIT_CONTROL"}"#.into(),
        };
        assert!(matches!(
            read_answer(&limited),
            Err(SmsError::RateLimited { .. })
        ));
        let garbage = HttpAnswer {
            status: 502,
            body: "<html>bad gateway</html>".into(),
        };
        assert!(matches!(
            read_answer(&garbage),
            Err(SmsError::BadResponse { status: 502, .. })
        ));
    }
}
