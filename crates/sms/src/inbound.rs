//! Replies people send back to our sending number, as the providers push them, read into
//! (number as the provider wrote it, text) so the server can honour opt-outs
//! ([`crate::rules::is_opt_out_reply`]).

use std::collections::HashMap;

use serde::Deserialize;

use crate::error::SmsError;

/// One inbound reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundReply {
    /// The sender's number as the provider gives it: `+8613800138000`, or a national number
    /// (Aliyun) that `Phone::parse` reads as mainland China.
    pub from: String,
    pub text: String,
}

fn bad(provider: &'static str, body: &str) -> SmsError {
    SmsError::BadResponse {
        provider,
        status: 200,
        body: body.chars().take(500).collect(),
    }
}

#[derive(Deserialize)]
struct AliyunUp {
    phone_number: String,
    content: String,
}

/// Aliyun's SmsUp push: a JSON array of `{phone_number, content, send_time, sign_name, ...}`.
pub fn aliyun_replies(body: &str) -> Result<Vec<InboundReply>, SmsError> {
    let ups: Vec<AliyunUp> = serde_json::from_str(body).map_err(|_| bad("aliyun", body))?;
    Ok(ups
        .into_iter()
        .map(|u| InboundReply {
            from: u.phone_number,
            text: u.content,
        })
        .collect())
}

#[derive(Deserialize)]
struct TencentReply {
    mobile: String,
    nationcode: String,
    text: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(TencentReply),
    Many(Vec<TencentReply>),
}

/// Tencent Cloud's reply callback: `{mobile, nationcode, text, sign, time, extend}` (one object,
/// or an array of them).
pub fn tencent_replies(body: &str) -> Result<Vec<InboundReply>, SmsError> {
    let parsed: OneOrMany = serde_json::from_str(body).map_err(|_| bad("tencent", body))?;
    let list = match parsed {
        OneOrMany::One(r) => vec![r],
        OneOrMany::Many(v) => v,
    };
    Ok(list
        .into_iter()
        .map(|r| InboundReply {
            from: format!("+{}{}", r.nationcode.trim_start_matches('+'), r.mobile),
            text: r.text,
        })
        .collect())
}

/// Twilio's incoming-message webhook: form fields `From` (E.164) and `Body`.
pub fn twilio_reply(form: &HashMap<String, String>) -> Result<InboundReply, SmsError> {
    match (form.get("From").filter(|f| !f.is_empty()), form.get("Body")) {
        (Some(from), Some(body)) => Ok(InboundReply {
            from: from.clone(),
            text: body.clone(),
        }),
        _ => Err(SmsError::InvalidInput(
            "Twilio message webhook without From/Body".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_aliyun_replies() {
        let body = r#"[{"dest_code":"2229","send_time":"2026-11-23 21:05:00","sign_name":"暖居装修","sequence_id":1234,"phone_number":"13800138000","content":"R"}]"#;
        assert_eq!(
            aliyun_replies(body).unwrap(),
            vec![InboundReply {
                from: "13800138000".into(),
                text: "R".into()
            }]
        );
        assert!(aliyun_replies("{}").is_err());
    }

    #[test]
    fn reads_tencent_replies_one_or_many() {
        let one = r#"{"extend":"","mobile":"13800138000","nationcode":"86","sign":"暖居装修","text":"退订","time":1763900000}"#;
        let r = tencent_replies(one).unwrap();
        assert_eq!(r[0].from, "+8613800138000");
        assert_eq!(r[0].text, "退订");
        let many = format!("[{one},{one}]");
        assert_eq!(tencent_replies(&many).unwrap().len(), 2);
        assert!(tencent_replies("[{\"mobile\":1}]").is_err());
    }

    #[test]
    fn reads_twilio_replies() {
        let form: HashMap<String, String> = [("From", "+14155552671"), ("Body", "STOP")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let r = twilio_reply(&form).unwrap();
        assert_eq!((r.from.as_str(), r.text.as_str()), ("+14155552671", "STOP"));
        assert!(twilio_reply(&HashMap::new()).is_err());
    }
}
