//! The company profile a manager edits (name, logo, poster slogan,
//! commission promise): the rules that clean and check it, and the neutral
//! texts shown when a company set none. No IO.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::domain::Company;
use crate::limits::{MAX_COMMISSION_PROMISE_CHARS, MAX_COMPANY_NAME_CHARS, MAX_LOGO_BYTES};
use crate::CoreError;

/// Body of `PUT /api/v1/company/profile` (managers): the whole profile at
/// once. Blank slogan or promise: the neutral default; no logo: the name's
/// first letter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CompanyProfile {
    pub name: String,
    /// An uploaded PNG or JPEG of this company (at most `MAX_LOGO_BYTES`).
    pub logo_media_id: Option<i64>,
    pub poster_slogan: Option<String>,
    pub commission_promise: Option<String>,
}

/// The invitation page's line on what a partner gets, when the company set
/// none: no figure, no industry words, so it is true of any company.
/// `{inviter}` is the inviting rep's name.
pub const DEFAULT_COMMISSION_PROMISE: &str =
    "朋友通过你的推荐成交，你可获得佣金，具体以 {inviter} 的说明为准。";

/// A profile as it may be stored: trimmed, blanks as None.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanProfile {
    pub name: String,
    pub logo_media_id: Option<i64>,
    pub poster_slogan: Option<String>,
    pub commission_promise: Option<String>,
}

fn invalid(field: &'static str, reason: impl Into<String>) -> CoreError {
    CoreError::Invalid {
        field,
        reason: reason.into(),
    }
}

/// One line of text: trimmed, blank is None; too long or with a line break
/// or control character is refused with the reason.
fn one_line(field: &'static str, s: Option<&str>, max: usize) -> Result<Option<String>, CoreError> {
    let Some(s) = s.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if s.chars().count() > max {
        return Err(invalid(field, format!("at most {max} characters")));
    }
    if s.chars().any(char::is_control) {
        return Err(invalid(field, "no line breaks or control characters"));
    }
    Ok(Some(s.to_string()))
}

/// Checks a manager's profile; the error names the field and the rule.
pub fn clean_profile(p: &CompanyProfile) -> Result<CleanProfile, CoreError> {
    let name = one_line("name", Some(&p.name), MAX_COMPANY_NAME_CHARS)?
        .ok_or_else(|| invalid("name", "a company needs a name"))?;
    Ok(CleanProfile {
        name,
        logo_media_id: p.logo_media_id,
        poster_slogan: crate::invite::poster_slogan(p.poster_slogan.as_deref())?,
        commission_promise: one_line(
            "commission_promise",
            p.commission_promise.as_deref(),
            MAX_COMMISSION_PROMISE_CHARS,
        )?,
    })
}

/// Whether an uploaded image may be the logo: a PNG or JPEG of at most
/// `MAX_LOGO_BYTES`.
pub fn check_logo(content_type: &str, size: i64) -> Result<(), CoreError> {
    if !matches!(content_type, "image/png" | "image/jpeg") {
        return Err(invalid("logo", "the logo must be a PNG or JPEG image"));
    }
    if size > MAX_LOGO_BYTES as i64 {
        return Err(invalid(
            "logo",
            format!("the logo is at most {} KB", MAX_LOGO_BYTES / 1024),
        ));
    }
    Ok(())
}

/// What the invitation page of `inviter` says a partner gets.
pub fn promise_of(company: &Company, inviter: &str) -> String {
    match &company.commission_promise {
        Some(promise) => promise.clone(),
        None => DEFAULT_COMMISSION_PROMISE.replace("{inviter}", inviter),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cleaned (name, slogan, promise), or the field refused.
    type Want<'a> = Result<(&'a str, Option<&'a str>, Option<&'a str>), &'a str>;

    fn profile(name: &str, slogan: Option<&str>, promise: Option<&str>) -> CompanyProfile {
        CompanyProfile {
            name: name.into(),
            logo_media_id: Some(7),
            poster_slogan: slogan.map(str::to_string),
            commission_promise: promise.map(str::to_string),
        }
    }

    #[test]
    fn profiles_are_cleaned_or_refused_with_the_field() {
        let long_promise = "奖".repeat(MAX_COMMISSION_PROMISE_CHARS + 1);
        let at_limit = "奖".repeat(MAX_COMMISSION_PROMISE_CHARS);
        let long_name = "名".repeat(MAX_COMPANY_NAME_CHARS + 1);
        let cases: [(CompanyProfile, Want); 8] = [
            (
                profile(" 暖居 ", Some(" 口号 "), Some(" 成交奖 3% ")),
                Ok(("暖居", Some("口号"), Some("成交奖 3%"))),
            ),
            (
                profile("暖居", Some("  "), Some("")),
                Ok(("暖居", None, None)),
            ),
            (
                profile("暖居", None, Some(&at_limit)),
                Ok(("暖居", None, Some(&at_limit))),
            ),
            (profile("  ", None, None), Err("name")),
            (profile(&long_name, None, None), Err("name")),
            (
                profile("暖居", None, Some(&long_promise)),
                Err("commission_promise"),
            ),
            (
                profile("暖居", None, Some("第一行\n第二行")),
                Err("commission_promise"),
            ),
            (
                profile("暖居", Some(&"口".repeat(100)), None),
                Err("slogan"),
            ),
        ];
        for (input, want) in cases {
            let got = clean_profile(&input);
            match (got, want) {
                (Ok(p), Ok((name, slogan, promise))) => {
                    assert_eq!(p.name, name);
                    assert_eq!(p.logo_media_id, Some(7));
                    assert_eq!(p.poster_slogan.as_deref(), slogan);
                    assert_eq!(p.commission_promise.as_deref(), promise);
                }
                (Err(CoreError::Invalid { field, .. }), Err(want)) => {
                    assert_eq!(field, want, "{input:?}")
                }
                (got, want) => panic!("{input:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn logos_are_small_png_or_jpeg() {
        let max = MAX_LOGO_BYTES as i64;
        assert!(check_logo("image/png", max).is_ok());
        assert!(check_logo("image/jpeg", 1).is_ok());
        assert!(check_logo("image/png", max + 1).is_err());
        assert!(check_logo("video/mp4", 10).is_err());
        assert!(check_logo("image/webp", 10).is_err());
        let err = check_logo("image/png", max + 1).unwrap_err().to_string();
        assert!(err.contains(&(MAX_LOGO_BYTES / 1024).to_string()), "{err}");
    }

    #[test]
    fn the_promise_is_the_companys_or_the_neutral_default() {
        let mut c = Company {
            id: 1,
            name: "某公司".into(),
            ..Company::default()
        };
        assert_eq!(
            promise_of(&c, "李明"),
            "朋友通过你的推荐成交，你可获得佣金，具体以 李明 的说明为准。"
        );
        c.commission_promise = Some("成交即奖励 500 元".into());
        assert_eq!(promise_of(&c, "李明"), "成交即奖励 500 元");
    }
}
