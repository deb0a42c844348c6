//! A provider request as plain data, so building it (and its signature) is a pure function and
//! sending it is one small function.

use crate::error::SmsError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// What came back, before any provider-specific reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpAnswer {
    pub status: u16,
    pub body: String,
}

/// Sends the request. Transport failures become `Unreachable`; any HTTP status is returned for the
/// provider to read, because providers put their error codes in 4xx bodies.
pub async fn execute(
    client: &reqwest::Client,
    provider: &'static str,
    req: &HttpRequest,
) -> Result<HttpAnswer, SmsError> {
    let method = reqwest::Method::from_bytes(req.method.as_bytes())
        .map_err(|e| SmsError::InvalidInput(format!("HTTP method: {e}")))?;
    let mut builder = client.request(method, &req.url).body(req.body.clone());
    for (name, value) in &req.headers {
        builder = builder.header(name, value);
    }
    let unreachable = |e: reqwest::Error| SmsError::Unreachable {
        provider,
        detail: e.to_string(),
    };
    let response = builder.send().await.map_err(unreachable)?;
    let status = response.status().as_u16();
    let body = response.text().await.map_err(unreachable)?;
    Ok(HttpAnswer { status, body })
}

/// A client with a timeout: a hung gateway must not hold a send forever.
pub fn default_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(15))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// RFC 3986 percent-encoding as Alibaba Cloud's RPC signature wants it: only A-Z a-z 0-9 - _ . ~
/// stay, everything else (including space, `*` and `/`) becomes `%XX` in upper case.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `a=1&b=2` with [`percent_encode`]d names and values, in the given order.
pub fn form_encode(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The host (and port, if any) of a base URL, for signatures that include the Host header.
pub fn host_of(base_url: &str) -> Result<String, SmsError> {
    let rest = base_url
        .split_once("://")
        .map(|(_, r)| r)
        .ok_or_else(|| SmsError::InvalidInput(format!("base URL without scheme: {base_url}")))?;
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() {
        return Err(SmsError::InvalidInput(format!(
            "base URL without host: {base_url}"
        )));
    }
    Ok(host.to_string())
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_follows_rfc3986() {
        assert_eq!(percent_encode("AZaz09-_.~"), "AZaz09-_.~");
        assert_eq!(percent_encode("a b*c/d"), "a%20b%2Ac%2Fd");
        assert_eq!(
            percent_encode("2016-02-23T12:46:24Z"),
            "2016-02-23T12%3A46%3A24Z"
        );
        assert_eq!(percent_encode("拒"), "%E6%8B%92");
        assert_eq!(percent_encode("+86"), "%2B86");
    }

    #[test]
    fn host_comes_from_the_base_url() {
        assert_eq!(
            host_of("https://sms.tencentcloudapi.com").unwrap(),
            "sms.tencentcloudapi.com"
        );
        assert_eq!(
            host_of("http://127.0.0.1:4000/x").unwrap(),
            "127.0.0.1:4000"
        );
        assert!(host_of("sms.tencentcloudapi.com").is_err());
        assert!(host_of("http:///x").is_err());
    }
}
