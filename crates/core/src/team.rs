//! Who may switch whom off in a company, and whose devices they may revoke.
//! The server applies these; the manager's team screen offers only what
//! they allow.

use crate::domain::{Role, User};

/// Why a team change is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TeamRefused {
    NotAManager,
    OtherCompany,
    Yourself,
    /// Managers are not switched off from the app (a company always keeps
    /// one who can undo a mistake); the server's operator handles them.
    AManager,
    /// Partners join through an invitation or an import, bound to a rep.
    PartnersAreInvited,
}

impl TeamRefused {
    pub fn message(self) -> &'static str {
        match self {
            TeamRefused::NotAManager => "only a manager changes the team",
            TeamRefused::OtherCompany => "no such user in your company",
            TeamRefused::Yourself => "you cannot switch yourself off",
            TeamRefused::AManager => "managers are not switched off from the app",
            TeamRefused::PartnersAreInvited => {
                "partners join through an invitation or an import by their rep"
            }
        }
    }
}

/// Adding someone to the company from the team screen: a manager adds reps
/// and managers (partners join through invitations and imports).
pub fn may_add(actor: &User, role: Role) -> Result<(), TeamRefused> {
    if actor.role != Role::Manager {
        return Err(TeamRefused::NotAManager);
    }
    if role == Role::Partner {
        return Err(TeamRefused::PartnersAreInvited);
    }
    Ok(())
}

/// A fresh activation code for `target` (a new laptop, a lost code): a
/// manager for anyone of the company, a rep for their own partners.
pub fn may_issue_code(actor: &User, target: &User) -> Result<(), TeamRefused> {
    if actor.company_id != target.company_id {
        return Err(TeamRefused::OtherCompany);
    }
    match actor.role {
        Role::Manager => Ok(()),
        Role::Rep if target.role == Role::Partner && target.rep_id == Some(actor.id) => Ok(()),
        _ => Err(TeamRefused::NotAManager),
    }
}

/// Seeing and revoking `target`'s open activation codes (a code handed to
/// the wrong person, a lost note): whoever may give them a code may take
/// one back.
pub fn may_revoke_code(actor: &User, target: &User) -> Result<(), TeamRefused> {
    may_issue_code(actor, target)
}

/// Deactivating or reactivating `target`: a manager of the same company
/// does it to a rep or a partner.
pub fn may_switch(actor: &User, target: &User) -> Result<(), TeamRefused> {
    if actor.company_id != target.company_id {
        return Err(TeamRefused::OtherCompany);
    }
    if actor.role != Role::Manager {
        return Err(TeamRefused::NotAManager);
    }
    if actor.id == target.id {
        return Err(TeamRefused::Yourself);
    }
    if target.role == Role::Manager {
        return Err(TeamRefused::AManager);
    }
    Ok(())
}

/// Revoking one device of `owner` (a lost laptop): the owner themself, from
/// another device, or a manager of the company for a rep's or partner's.
pub fn may_revoke_device(actor: &User, owner: &User) -> Result<(), TeamRefused> {
    if actor.company_id != owner.company_id {
        return Err(TeamRefused::OtherCompany);
    }
    if actor.id == owner.id {
        return Ok(());
    }
    if actor.role != Role::Manager {
        return Err(TeamRefused::NotAManager);
    }
    if owner.role == Role::Manager {
        return Err(TeamRefused::AManager);
    }
    Ok(())
}

/// What a device-signed share link may still do once its device was revoked
/// or its user switched off. The server cannot trust a device's clock, so
/// "made before" means recorded by the server (pushed by sync, or first
/// opened) before the earlier of the two times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareStanding {
    /// Served, and its views, signals and leads credit its sharer.
    Credits,
    /// Recorded before the cut-off: the friend still sees the content, but
    /// nothing from it credits the sharer any more.
    ServesUncredited,
    /// Not recorded before the cut-off: not served at all.
    Refused,
}

/// The standing of a share from when the server recorded it (`None`: not
/// yet), when its sharer was switched off (`None`: they are on) and when its
/// device was revoked (`None`: it is not). Switching someone back on clears
/// their time, so their shares credit again.
pub fn share_standing(
    recorded_at_ms: Option<i64>,
    sharer_off_since_ms: Option<i64>,
    device_revoked_at_ms: Option<i64>,
) -> ShareStanding {
    let cut_off = match (sharer_off_since_ms, device_revoked_at_ms) {
        (None, None) => return ShareStanding::Credits,
        (Some(a), Some(b)) => a.min(b),
        (Some(a), None) | (None, Some(a)) => a,
    };
    match recorded_at_ms {
        Some(at) if at < cut_off => ShareStanding::ServesUncredited,
        _ => ShareStanding::Refused,
    }
}

/// The language of an activation code SMS: Chinese for numbers of mainland
/// China, Hong Kong, Macau and Taiwan, English for any other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsLanguage {
    Chinese,
    English,
}

impl SmsLanguage {
    pub fn for_phone(e164: &str) -> SmsLanguage {
        if ["+86", "+852", "+853", "+886"]
            .iter()
            .any(|cc| e164.starts_with(cc))
        {
            SmsLanguage::Chinese
        } else {
            SmsLanguage::English
        }
    }
}

/// What an activation code SMS says: whose company (its name as set on the
/// server), to whom, the code, how long it lasts and where to type it.
pub struct ActivationSms<'a> {
    pub company: &'a str,
    pub name: &'a str,
    pub code: &'a str,
    /// The server address the app asks for with the code.
    pub server_url: &'a str,
    pub valid_days: i64,
}

impl ActivationSms<'_> {
    pub fn text(&self, lang: SmsLanguage) -> String {
        let ActivationSms {
            company,
            name,
            code,
            server_url,
            valid_days,
        } = self;
        match lang {
            SmsLanguage::Chinese => format!(
                "【{company}】{name}，您好：您的 Warmlead 激活码是 {code}，{valid_days} 天内有效，可在一台电脑上登录。\
                 打开 Warmlead，输入服务器地址 {server_url} 和此激活码即可。"
            ),
            SmsLanguage::English => format!(
                "{company}: Hi {name}, your Warmlead activation code is {code}, valid for {valid_days} days on one computer. \
                 Open Warmlead and enter the server address {server_url} and this code."
            ),
        }
    }
}

/// Whether the manager's device goes on keeping an activation code it
/// issued (or an import returned), given a team list the server answered to
/// a request sent at `asked_at_ms` (device clock, like `remembered_at_ms`).
///
/// The server keeps codes only hashed, so showing a code again or sending it
/// again by SMS works from the device that issued it, and only while the
/// code is open. A code the list shows open is kept; one it does not show
/// was used, revoked, retired by a newer code or expired, and is forgotten,
/// unless the device learnt it after the request left (that list may not
/// have it yet).
pub fn keep_known_code(listed_open: bool, remembered_at_ms: i64, asked_at_ms: i64) -> bool {
    listed_open || remembered_at_ms >= asked_at_ms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_share_credits_only_while_its_device_and_sharer_are_on() {
        use ShareStanding::*;
        // (recorded, sharer off since, device revoked at, standing)
        let table = [
            (Some(100), None, None, Credits),
            (None, None, None, Credits),
            (Some(100), Some(200), None, ServesUncredited),
            (Some(100), None, Some(200), ServesUncredited),
            (Some(199), Some(200), Some(300), ServesUncredited),
            (Some(200), Some(200), None, Refused),
            (Some(250), Some(200), None, Refused),
            (Some(250), None, Some(200), Refused),
            // The earlier of the two times is the cut-off.
            (Some(250), Some(300), Some(200), Refused),
            (Some(250), Some(200), Some(300), Refused),
            (None, Some(200), None, Refused),
            (None, None, Some(200), Refused),
        ];
        for (recorded, off, revoked, want) in table {
            assert_eq!(
                share_standing(recorded, off, revoked),
                want,
                "recorded {recorded:?}, off {off:?}, revoked {revoked:?}"
            );
        }
    }

    #[test]
    fn activation_sms_in_the_recipients_language() {
        let table = [
            ("+8613800138000", SmsLanguage::Chinese),
            ("+85291234567", SmsLanguage::Chinese),
            ("+85366123456", SmsLanguage::Chinese),
            ("+886912345678", SmsLanguage::Chinese),
            ("+14155550100", SmsLanguage::English),
            ("+447700900123", SmsLanguage::English),
            ("+8529", SmsLanguage::Chinese),
            ("+8", SmsLanguage::English),
        ];
        for (phone, want) in table {
            assert_eq!(SmsLanguage::for_phone(phone), want, "{phone}");
        }
        let sms = ActivationSms {
            company: "青松家政",
            name: "周明",
            code: "K7Q-4M2-XP9",
            server_url: "https://r.example.com",
            valid_days: 7,
        };
        assert_eq!(
            sms.text(SmsLanguage::Chinese),
            "【青松家政】周明，您好：您的 Warmlead 激活码是 K7Q-4M2-XP9，7 天内有效，可在一台电脑上登录。\
             打开 Warmlead，输入服务器地址 https://r.example.com 和此激活码即可。"
        );
        assert_eq!(
            sms.text(SmsLanguage::English),
            "青松家政: Hi 周明, your Warmlead activation code is K7Q-4M2-XP9, valid for 7 days on one computer. \
             Open Warmlead and enter the server address https://r.example.com and this code."
        );
    }

    fn user(id: i64, company_id: i64, role: Role) -> User {
        User {
            id,
            company_id,
            role,
            name: format!("u{id}"),
            phone: None,
            rep_id: None,
            joined_at_ms: 0,
            source: None,
            invited_by: None,
            invitation_id: None,
        }
    }

    #[test]
    fn who_may_switch_whom() {
        use Role::*;
        let boss = user(1, 1, Manager);
        let table = [
            (boss.clone(), user(2, 1, Rep), Ok(())),
            (boss.clone(), user(3, 1, Partner), Ok(())),
            (
                boss.clone(),
                user(4, 1, Manager),
                Err(TeamRefused::AManager),
            ),
            (boss.clone(), boss.clone(), Err(TeamRefused::Yourself)),
            (
                boss.clone(),
                user(5, 2, Rep),
                Err(TeamRefused::OtherCompany),
            ),
            (
                user(2, 1, Rep),
                user(3, 1, Partner),
                Err(TeamRefused::NotAManager),
            ),
            (
                user(3, 1, Partner),
                user(2, 1, Rep),
                Err(TeamRefused::NotAManager),
            ),
        ];
        for (actor, target, want) in table {
            assert_eq!(may_switch(&actor, &target), want, "{actor:?} -> {target:?}");
        }
    }

    #[test]
    fn who_may_add_and_issue_codes() {
        use Role::*;
        let boss = user(1, 1, Manager);
        assert_eq!(may_add(&boss, Rep), Ok(()));
        assert_eq!(may_add(&boss, Manager), Ok(()));
        assert_eq!(
            may_add(&boss, Partner),
            Err(TeamRefused::PartnersAreInvited)
        );
        assert_eq!(
            may_add(&user(2, 1, Rep), Rep),
            Err(TeamRefused::NotAManager)
        );
        let mine = User {
            rep_id: Some(2),
            ..user(3, 1, Partner)
        };
        let theirs = User {
            rep_id: Some(9),
            ..user(4, 1, Partner)
        };
        let table = [
            (boss.clone(), user(2, 1, Rep), Ok(())),
            (boss.clone(), mine.clone(), Ok(())),
            (
                boss.clone(),
                user(5, 2, Rep),
                Err(TeamRefused::OtherCompany),
            ),
            (user(2, 1, Rep), mine.clone(), Ok(())),
            (user(2, 1, Rep), theirs, Err(TeamRefused::NotAManager)),
            (
                user(2, 1, Rep),
                user(6, 1, Rep),
                Err(TeamRefused::NotAManager),
            ),
            (mine.clone(), mine, Err(TeamRefused::NotAManager)),
        ];
        for (actor, target, want) in table {
            assert_eq!(
                may_issue_code(&actor, &target),
                want,
                "{actor:?} -> {target:?}"
            );
            // Whoever may give a code may take an open one back.
            assert_eq!(
                may_revoke_code(&actor, &target),
                want,
                "revoke: {actor:?} -> {target:?}"
            );
        }
    }

    #[test]
    fn who_may_revoke_whose_device() {
        use Role::*;
        let boss = user(1, 1, Manager);
        let table = [
            (user(3, 1, Partner), user(3, 1, Partner), Ok(())),
            (user(2, 1, Rep), user(2, 1, Rep), Ok(())),
            (boss.clone(), boss.clone(), Ok(())),
            (boss.clone(), user(2, 1, Rep), Ok(())),
            (
                boss.clone(),
                user(4, 1, Manager),
                Err(TeamRefused::AManager),
            ),
            (
                boss.clone(),
                user(5, 2, Partner),
                Err(TeamRefused::OtherCompany),
            ),
            (
                user(2, 1, Rep),
                user(3, 1, Partner),
                Err(TeamRefused::NotAManager),
            ),
        ];
        for (actor, owner, want) in table {
            assert_eq!(
                may_revoke_device(&actor, &owner),
                want,
                "{actor:?} -> {owner:?}"
            );
        }
    }

    #[test]
    fn a_known_code_is_kept_while_listed_open_or_newer_than_the_list() {
        // (listed open, remembered at, list asked at) -> kept
        let table = [
            (true, 100, 200, true),
            (false, 100, 200, false),
            (false, 200, 200, true),
            (false, 300, 200, true),
            (true, 300, 200, true),
        ];
        for (listed, remembered, asked, want) in table {
            assert_eq!(
                keep_known_code(listed, remembered, asked),
                want,
                "{listed} {remembered} {asked}"
            );
        }
    }
}
