//! Delivery reports pushed back by the providers, read into (provider message id, status) pairs
//! so the rep sees queued / sent / delivered / failed.

use std::collections::HashMap;

use serde::Deserialize;

use crate::error::SmsError;
use crate::message::DeliveryStatus;

/// One status change for a message we sent, keyed by the id in its [`crate::ProviderReceipt`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusUpdate {
    pub provider_message_id: String,
    pub status: DeliveryStatus,
    /// The provider's reason when it failed (e.g. `MK:0001`, `30003`).
    pub error: Option<String>,
}

fn bad(provider: &'static str, body: &str) -> SmsError {
    SmsError::BadResponse {
        provider,
        status: 200,
        body: body.chars().take(500).collect(),
    }
}

#[derive(Deserialize)]
struct AliyunReport {
    biz_id: String,
    success: bool,
    err_code: Option<String>,
}

/// Aliyun's SmsReport push: a JSON array of `{biz_id, success, err_code, phone_number, ...}`.
pub fn aliyun_reports(body: &str) -> Result<Vec<StatusUpdate>, SmsError> {
    let reports: Vec<AliyunReport> = serde_json::from_str(body).map_err(|_| bad("aliyun", body))?;
    Ok(reports
        .into_iter()
        .map(|r| StatusUpdate {
            provider_message_id: r.biz_id,
            status: if r.success {
                DeliveryStatus::Delivered
            } else {
                DeliveryStatus::Failed
            },
            error: if r.success { None } else { r.err_code },
        })
        .collect())
}

#[derive(Deserialize)]
struct TencentReport {
    sid: String,
    report_status: String,
    errmsg: Option<String>,
}

/// Tencent Cloud's delivery callback: a JSON array of `{sid, report_status: SUCCESS|FAIL, errmsg, ...}`.
pub fn tencent_reports(body: &str) -> Result<Vec<StatusUpdate>, SmsError> {
    let reports: Vec<TencentReport> =
        serde_json::from_str(body).map_err(|_| bad("tencent", body))?;
    Ok(reports
        .into_iter()
        .map(|r| {
            let ok = r.report_status == "SUCCESS";
            StatusUpdate {
                provider_message_id: r.sid,
                status: if ok {
                    DeliveryStatus::Delivered
                } else {
                    DeliveryStatus::Failed
                },
                error: if ok { None } else { r.errmsg },
            }
        })
        .collect())
}

/// Twilio's status callback: form fields `MessageSid`, `MessageStatus`, optional `ErrorCode`.
pub fn twilio_report(form: &HashMap<String, String>) -> Result<StatusUpdate, SmsError> {
    let sid = form.get("MessageSid").filter(|s| !s.is_empty());
    let status = form.get("MessageStatus");
    match (sid, status) {
        (Some(sid), Some(status)) => Ok(StatusUpdate {
            provider_message_id: sid.clone(),
            status: crate::twilio::status_of(status),
            error: form.get("ErrorCode").filter(|e| !e.is_empty()).cloned(),
        }),
        _ => Err(SmsError::InvalidInput(
            "Twilio callback without MessageSid/MessageStatus".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_aliyun_reports() {
        let body = r#"[{"phone_number":"13800138000","send_time":"2026-11-23 10:00:00","report_time":"2026-11-23 10:00:05","success":true,"err_code":"DELIVERED","err_msg":"用户接收成功","sms_size":"1","biz_id":"900619746936498440^0","out_id":""},
                       {"phone_number":"13900000000","send_time":"2026-11-23 10:00:00","report_time":"2026-11-23 10:00:09","success":false,"err_code":"MK:0001","err_msg":"","sms_size":"1","biz_id":"b2","out_id":""}]"#;
        let updates = aliyun_reports(body).unwrap();
        assert_eq!(updates[0].status, DeliveryStatus::Delivered);
        assert_eq!(updates[0].error, None);
        assert_eq!(updates[1].status, DeliveryStatus::Failed);
        assert_eq!(updates[1].error.as_deref(), Some("MK:0001"));
        assert!(aliyun_reports("{").is_err());
    }

    #[test]
    fn reads_tencent_reports() {
        let body = r#"[{"user_receive_time":"2026-11-23 10:00:05","nationcode":"86","mobile":"13800138000","report_status":"SUCCESS","errmsg":"DELIVRD","description":"用户短信送达成功","sid":"s1"},
                       {"user_receive_time":"2026-11-23 10:00:05","nationcode":"86","mobile":"13900000000","report_status":"FAIL","errmsg":"MK:0005","description":"","sid":"s2"}]"#;
        let updates = tencent_reports(body).unwrap();
        assert_eq!(
            (updates[0].status, updates[1].status),
            (DeliveryStatus::Delivered, DeliveryStatus::Failed)
        );
        assert_eq!(updates[1].error.as_deref(), Some("MK:0005"));
    }

    #[test]
    fn reads_twilio_callbacks() {
        let form: HashMap<String, String> = [
            ("MessageSid", "SM1"),
            ("MessageStatus", "undelivered"),
            ("ErrorCode", "30003"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let u = twilio_report(&form).unwrap();
        assert_eq!(u.status, DeliveryStatus::Failed);
        assert_eq!(u.error.as_deref(), Some("30003"));
        assert!(twilio_report(&HashMap::new()).is_err());
    }
}
