//! What people type on the sign-in screen, read the way they mean it.
//!
//! Everyone whose link did not open the app signs in by hand: they type the
//! server's address as they heard it (`127.0.0.1:8796`, `r.example.com`,
//! `https://r.example.com/ `) or paste the whole `warmlead://activate?...`
//! link that the team screen copies, into whichever field has the cursor.

use crate::app::SignInFields;
use crate::error::{ApiError, ErrorCode};
use crate::invite::{parse_activation_link, DEEP_LINK_SCHEME};

/// The server address a person typed, as the app stores and calls it:
/// `scheme://host[:port][/path]`, lower-case host, no trailing slash.
///
/// The rule when no scheme is typed: `http` for an address that can only be
/// on the person's own machine or network (an IP address, `localhost`, a
/// one-word machine name, a `.local` name), since such servers rarely have a
/// certificate; `https` for a domain name, since a server on the internet
/// must be reached encrypted and one without TLS is then refused loudly
/// rather than spoken to in clear. Typing `http://` keeps plain HTTP.
///
/// Spaces around it, a trailing slash and an upper-case scheme or host are
/// forgiven; a Chinese input method's full-width `：` and `／` are read as
/// `:` and `/`. Anything else that is not a web address is refused with
/// `bad_server_address`, whose message says what to type instead.
pub fn server_address(input: &str) -> Result<String, ApiError> {
    let typed: String = input
        .trim()
        .chars()
        .map(|c| match c {
            '：' => ':',
            '／' => '/',
            c => c,
        })
        .collect();
    if typed.is_empty() {
        return Err(bad("the server address is empty"));
    }
    if typed.chars().any(char::is_whitespace) {
        return Err(bad("a server address has no spaces inside it"));
    }
    let lower = typed.to_ascii_lowercase();
    let with_scheme = if lower.starts_with("http://") || lower.starts_with("https://") {
        typed
    } else if let Some((scheme, _)) = lower.split_once("://") {
        return Err(bad(format!(
            "`{scheme}://` is not a web address: the server's address starts with http:// or https://, or with no scheme at all"
        )));
    } else {
        let host = typed
            .split(['/', '?', '#'])
            .next()
            .unwrap_or_default()
            .to_string();
        let scheme = if is_local(&host) { "http" } else { "https" };
        format!("{scheme}://{typed}")
    };
    let url = url::Url::parse(&with_scheme).map_err(|e| bad(format!("{e}")))?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("the address names no server"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("a server address has no user name or password in it"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("a server address ends before any `?` or `#`"));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// Whether a host typed without a scheme is on the person's own machine or
/// network (see [`server_address`]). `host` may carry a port.
fn is_local(host_and_port: &str) -> bool {
    if host_and_port.starts_with('[') {
        return true; // an IPv6 address
    }
    let host = host_and_port
        .rsplit_once(':')
        .map_or(host_and_port, |(h, _)| h)
        .trim_end_matches('.')
        .to_ascii_lowercase();
    host.parse::<std::net::Ipv4Addr>().is_ok()
        || host == "localhost"
        || host.ends_with(".localhost")
        || host.ends_with(".local")
        || !host.contains('.')
}

fn bad(why: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        ErrorCode::BadServerAddress,
        format!(
            "{why}. Type the server's address as your company gave it, e.g. r.example.com or 127.0.0.1:8796"
        ),
    )
}

/// Reads both sign-in fields. A `warmlead://activate` link pasted into
/// either field names the server and the code at once (it wins over what
/// the other field holds: it is what the person just pasted); otherwise
/// the server field goes through [`server_address`] and the code is
/// trimmed. A link pasted by hand needs no further confirmation: the person
/// chose it themselves, and the sign-in screen shows its server in the
/// server field before it signs in.
pub fn sign_in_fields(server: &str, code: &str) -> Result<SignInFields, ApiError> {
    let link = [server, code]
        .into_iter()
        .map(str::trim)
        .find(|f| is_link(f));
    if let Some(link) = link {
        let (server_url, code) = parse_activation_link(link).ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidInput,
                "this activation link is cut short or changed: copy the whole link again",
            )
        })?;
        return Ok(SignInFields {
            server_url: server_address(&server_url)?,
            code: code.trim().to_string(),
            from_link: true,
        });
    }
    Ok(SignInFields {
        server_url: server_address(server)?,
        code: code.trim().to_string(),
        from_link: false,
    })
}

/// Whether a field holds an activation link (complete or not).
fn is_link(field: &str) -> bool {
    field
        .get(..DEEP_LINK_SCHEME.len() + 1)
        .is_some_and(|p| p.eq_ignore_ascii_case(&format!("{DEEP_LINK_SCHEME}:")))
}

#[cfg(test)]
mod tests {
    use super::{server_address, sign_in_fields};
    use crate::error::ErrorCode;
    use crate::invite::activation_link;

    #[test]
    fn typed_server_addresses_are_read_as_meant() {
        for (typed, want) in [
            ("127.0.0.1:8796", "http://127.0.0.1:8796"),
            ("  127.0.0.1:8796/ ", "http://127.0.0.1:8796"),
            ("http://127.0.0.1:8796/", "http://127.0.0.1:8796"),
            ("127.0.0.1：8796", "http://127.0.0.1:8796"),
            ("localhost:8787", "http://localhost:8787"),
            ("LOCALHOST", "http://localhost"),
            ("192.168.1.20", "http://192.168.1.20"),
            ("[::1]:8787", "http://[::1]:8787"),
            ("nas:8787", "http://nas:8787"),
            ("office-pc.local:8787", "http://office-pc.local:8787"),
            ("r.example.com", "https://r.example.com"),
            ("r.example.com/", "https://r.example.com"),
            ("R.Example.COM", "https://r.example.com"),
            ("r.example.com:8443", "https://r.example.com:8443"),
            ("r.example.com/warmlead/", "https://r.example.com/warmlead"),
            ("https://r.example.com:443/", "https://r.example.com"),
            ("HTTPS://r.example.com", "https://r.example.com"),
            ("http://r.example.com", "http://r.example.com"),
            ("\thttps://r.example.com//\n", "https://r.example.com"),
            ("暖客.com", "https://xn--ubtt8w.com"),
        ] {
            assert_eq!(server_address(typed).as_deref(), Ok(want), "{typed:?}");
        }
    }

    #[test]
    fn what_is_not_a_server_address_says_what_to_type() {
        for typed in [
            "",
            "   ",
            "r.example .com",
            "ftp://r.example.com",
            "file:///etc/passwd",
            "http://",
            "https://:8787",
            "127.0.0.1:99999",
            "http://boss@r.example.com",
            "r.example.com/?x=1",
            "r.example.com#top",
            "K7Q-4M2-XP9 r.example.com",
        ] {
            let err = server_address(typed).expect_err(typed);
            assert_eq!(err.code, ErrorCode::BadServerAddress, "{typed:?}");
            assert!(
                err.message.contains("e.g. r.example.com"),
                "{typed:?}: {}",
                err.message
            );
            assert!(!err.message.contains("builder error"), "{}", err.message);
        }
    }

    #[test]
    fn a_pasted_link_fills_both_fields_from_either() {
        let link = activation_link("http://127.0.0.1:8796/", "K7Q-4M2-XP9");
        // (server field, code field) → (server, code)
        for (server, code) in [
            (link.as_str(), ""),
            ("", link.as_str()),
            (link.as_str(), "OLD-CODE"),
            ("r.example.com", link.as_str()),
        ] {
            let got = sign_in_fields(server, code).expect("a link signs in");
            assert_eq!(
                got.server_url, "http://127.0.0.1:8796",
                "{server:?} {code:?}"
            );
            assert_eq!(got.code, "K7Q-4M2-XP9");
            assert!(got.from_link);
        }
        let spaced = format!("  {link}\n");
        assert_eq!(sign_in_fields("", &spaced).unwrap().code, "K7Q-4M2-XP9");
        let typed = sign_in_fields(" r.example.com/ ", " K7Q-4M2-XP9 ").unwrap();
        assert_eq!(typed.server_url, "https://r.example.com");
        assert_eq!(typed.code, "K7Q-4M2-XP9");
        assert!(!typed.from_link);
    }

    #[test]
    fn a_cut_or_hostile_link_is_refused_not_sent() {
        let cut = "warmlead://activate?server=http%3A%2F%2F127.0.0.1";
        assert_eq!(
            sign_in_fields(cut, "").unwrap_err().code,
            ErrorCode::InvalidInput
        );
        let file = activation_link("file:///etc/passwd", "A");
        assert_eq!(
            sign_in_fields("", &file).unwrap_err().code,
            ErrorCode::InvalidInput
        );
        assert_eq!(
            sign_in_fields("ftp://x.example", "A").unwrap_err().code,
            ErrorCode::BadServerAddress
        );
    }
}
