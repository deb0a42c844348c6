//! Invitations end to end against a real server: the reps' API, the public
//! page a person opens on their phone, accepting it, the welcome page's
//! activation code and deep link, short codes, one-time SMS codes.
mod common;

use std::sync::{Arc, Mutex};

use common::{activate, api_error, next_event, world, Device, World};
use reqwest::StatusCode;
use warmlead_core::api::{ActivateRequest, ActivateResponse, PATH_ACTIVATE, PATH_EVENTS};
use warmlead_core::domain::{Role, User};
use warmlead_core::invite::{
    parse_activation_link, Invitation, InvitationStatus, InviteChannel, NewInvitation,
    PartnerSource, MAX_INVITATION_HOURS,
};
use warmlead_core::sync::ChangeBody;
use warmlead_core::ErrorCode;
use warmlead_server::{start_with, Config, Options, RunningServer, Sms};
use warmlead_sms::provider::SendFuture;
use warmlead_sms::{DeliveryStatus, MessageKind, ProviderReceipt, SmsMessage, SmsProvider};

fn new_inv(channel: InviteChannel, multi_use: bool) -> NewInvitation {
    NewInvitation {
        channel,
        multi_use,
        expires_in_hours: None,
    }
}

async fn create(dev: &Device, new: &NewInvitation) -> Invitation {
    let res = dev
        .post("/api/v1/invitations")
        .json(new)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

async fn fetch(dev: &Device, id: i64) -> Invitation {
    let res = dev
        .get(&format!("/api/v1/invitations/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

/// The public page's URL of an invitation, checked to be on this server.
fn page_url(base: &str, inv: &Invitation) -> String {
    assert!(inv.url.starts_with(&format!("{base}/i/")), "{}", inv.url);
    inv.url.clone()
}

async fn get_page(url: &str) -> (StatusCode, String) {
    let res = reqwest::get(url).await.unwrap();
    let status = res.status();
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    (status, res.text().await.unwrap())
}

async fn post_form(url: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
    let res = reqwest::Client::new()
        .post(url)
        .form(fields)
        .send()
        .await
        .unwrap();
    (res.status(), res.text().await.unwrap())
}

async fn accept(url: &str, name: &str, phone: &str) -> (StatusCode, String) {
    post_form(url, &[("name", name), ("phone", phone), ("consent", "yes")]).await
}

/// The text of an element with this id (the pages escape their text, so the
/// first `<` ends it).
fn element_text(html: &str, id: &str) -> Option<String> {
    let start = html.find(&format!("id=\"{id}\""))?;
    let after = &html[start..];
    let open_end = after.find('>')? + 1;
    let text = &after[open_end..];
    Some(text[..text.find('<')?].to_string())
}

fn attr(html: &str, id: &str, name: &str) -> Option<String> {
    let start = html.find(&format!("id=\"{id}\""))?;
    let tag_start = html[..start].rfind('<')?;
    let tag = &html[tag_start..start + html[start..].find('>')?];
    let k = tag.find(&format!("{name}=\""))? + name.len() + 2;
    Some(tag[k..k + tag[k..].find('"')?].to_string())
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

async fn company_users(w: &World) -> Vec<User> {
    w.ts.admin().company_users(w.company.id).await.unwrap()
}

fn users_in(changes: &[warmlead_core::sync::Change]) -> Vec<User> {
    changes
        .iter()
        .filter_map(|c| match &c.body {
            ChangeBody::User(u) => Some(u.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_single_use_qr_invitation_makes_a_bound_partner_who_can_sign_in() {
    let w = world().await;
    let rep = activate(&w.ts, w.rep_a.id).await;
    let base = w.ts.url();
    let inv = create(&rep, &new_inv(InviteChannel::Qr, false)).await;
    assert_eq!(inv.rep_id, w.rep_a.id);
    assert_eq!(inv.status, InvitationStatus::Pending);
    assert_eq!(inv.max_uses, Some(1));
    assert_eq!(inv.short_code.len(), 6);
    let url = page_url(&base, &inv);

    // The page names the rep and the company and has the form.
    let (status, html) = get_page(&url).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        element_text(&html, "wl-invite-title").unwrap(),
        "李明 邀请你成为 暖居装修 的推荐合伙人"
    );
    assert!(html.contains("name=\"phone\""));
    assert!(
        !html.contains("wl-code"),
        "no SMS code with the console provider"
    );
    assert!(!html.contains("<script"), "no script on the page");

    // Accepting: the welcome page with a code and a deep link.
    let (status, html) = accept(&url, " 赵六 ", "+86 136 0013 6000").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(element_text(&html, "wl-welcome").unwrap().contains("赵六"));
    let code = element_text(&html, "wl-activation-code").unwrap();
    let href = unescape(&attr(&html, "wl-open-app", "href").unwrap());
    let (server, link_code) = parse_activation_link(&href).expect("a warmlead:// link");
    assert_eq!(server, base);
    assert_eq!(link_code, code);
    assert!(html.contains("向 李明 索取"), "no download URL configured");
    // A partner who installs the app later, where the button opens nothing,
    // types the server address and the code the page shows.
    let shown_server = element_text(&html, "wl-server-address").expect("the server address");
    assert_eq!(shown_server, base);
    let typed = warmlead_core::signin::sign_in_fields(&shown_server, &code).unwrap();
    assert_eq!(typed.server_url, base.trim_end_matches('/'));
    assert!(html.contains("服务器地址和激活码"), "{html}");

    // The partner exists once, bound to the rep, with where they came from.
    let users = company_users(&w).await;
    let joined: Vec<&User> = users.iter().filter(|u| u.name == "赵六").collect();
    assert_eq!(joined.len(), 1);
    let p = joined[0];
    assert_eq!(p.role, Role::Partner);
    assert_eq!(p.rep_id, Some(w.rep_a.id));
    assert_eq!(p.phone.as_deref(), Some("+8613600136000"));
    assert_eq!(p.source, Some(PartnerSource::Qr));
    assert_eq!(p.invited_by, Some(w.rep_a.id));
    assert_eq!(p.invitation_id, Some(inv.id));
    assert!(p.joined_at_ms >= inv.created_at_ms);

    // The code from the page signs a device in as that partner.
    let res = reqwest::Client::new()
        .post(format!("{base}{PATH_ACTIVATE}"))
        .json(&ActivateRequest {
            code: link_code,
            device_name: "新电脑".into(),
        })
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let act: ActivateResponse = res.json().await.unwrap();
    assert_eq!(act.user.id, p.id);
    assert_eq!(act.user.source, Some(PartnerSource::Qr));

    // Used up: the rep sees it accepted, a second person gets 410.
    let fresh = fetch(&rep, inv.id).await;
    assert_eq!((fresh.status, fresh.uses), (InvitationStatus::Accepted, 1));
    assert_eq!(fresh.url, inv.url, "the URL survives on later reads");
    let (status, html) = accept(&url, "钱七", "13500135000").await;
    assert_eq!(status, StatusCode::GONE);
    assert!(html.contains("邀请已失效") && html.contains("请联系 李明"));
    assert_eq!(get_page(&url).await.0, StatusCode::GONE);
    assert!(!company_users(&w).await.iter().any(|u| u.name == "钱七"));

    // The rep's pull carries the invitation (with its URL) and the new partner.
    let changes = rep.pull_all().await;
    let invs: Vec<&Invitation> = changes
        .iter()
        .filter_map(|c| match &c.body {
            ChangeBody::Invitation(i) if i.id == inv.id => Some(i),
            _ => None,
        })
        .collect();
    assert_eq!(invs.first().unwrap().status, InvitationStatus::Pending);
    assert_eq!(invs.last().unwrap().status, InvitationStatus::Accepted);
    assert!(invs.iter().all(|i| i.url == inv.url));
    assert!(users_in(&changes).iter().any(|u| u.id == p.id
        && u.invited_by == Some(w.rep_a.id)
        && u.source == Some(PartnerSource::Qr)));
    // Another rep sees neither.
    let other = activate(&w.ts, w.rep_b.id).await;
    let theirs = other.pull_all().await;
    assert!(!theirs
        .iter()
        .any(|c| matches!(&c.body, ChangeBody::Invitation(i) if i.id == inv.id)));
    assert!(!users_in(&theirs).iter().any(|u| u.id == p.id));
}

#[tokio::test]
async fn a_multi_use_poster_counts_uses_and_revoking_closes_it() {
    let w = world().await;
    let rep = activate(&w.ts, w.rep_a.id).await;
    let inv = create(&rep, &new_inv(InviteChannel::Poster, true)).await;
    assert_eq!(inv.max_uses, None);
    let url = page_url(&w.ts.url(), &inv);
    for (i, phone) in ["13100131001", "13100131002", "13100131003"]
        .iter()
        .enumerate()
    {
        let (status, html) = accept(&url, &format!("群友{i}"), phone).await;
        assert_eq!(status, StatusCode::OK, "{html}");
    }
    let fresh = fetch(&rep, inv.id).await;
    assert_eq!((fresh.status, fresh.uses), (InvitationStatus::Pending, 3));
    let posters = company_users(&w)
        .await
        .into_iter()
        .filter(|u| u.source == Some(PartnerSource::Poster))
        .count();
    assert_eq!(posters, 3);

    let res = rep
        .post(&format!("/api/v1/invitations/{}/revoke", inv.id))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let revoked: Invitation = res.json().await.unwrap();
    assert_eq!(
        (revoked.status, revoked.uses),
        (InvitationStatus::Revoked, 3)
    );
    let (status, html) = get_page(&url).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(html.contains("已被撤销"));
    let (status, _) = accept(&url, "迟到的人", "13100131009").await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(fetch(&rep, inv.id).await.uses, 3);
}

#[tokio::test]
async fn expired_forged_and_malformed_links() {
    let w = world().await;
    let rep = activate(&w.ts, w.rep_a.id).await;
    let inv = create(&rep, &new_inv(InviteChannel::Sms, false)).await;
    let url = page_url(&w.ts.url(), &inv);
    // Age it past its expiry directly in the database file.
    w.ts.sql()
        .execute(&format!(
            "UPDATE invitations SET expires_at = 1 WHERE id = {}",
            inv.id
        ))
        .await;
    let (status, html) = get_page(&url).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(html.contains("已过期") && html.contains("李明"));
    assert_eq!(
        accept(&url, "赵六", "13600136000").await.0,
        StatusCode::GONE
    );
    assert_eq!(
        fetch(&rep, inv.id).await.status_at(2),
        InvitationStatus::Expired
    );

    let base = w.ts.url();
    for forged in [
        "AAAAAAAAAAAAAAAAAAAAAA",
        "short",
        "%3Cscript%3E",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        let (status, html) = get_page(&format!("{base}/i/{forged}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{forged}");
        assert!(html.contains("邀请不存在"));
        let (status, _) = accept(&format!("{base}/i/{forged}"), "赵六", "13600136000").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    assert!(!company_users(&w).await.iter().any(|u| u.name == "赵六"));
}

#[tokio::test]
async fn only_reps_and_managers_invite_and_only_their_own() {
    let w = world().await;
    let rep = activate(&w.ts, w.rep_a.id).await;
    let partner = activate(&w.ts, w.partner_a1.id).await;
    let manager = activate(&w.ts, w.manager.id).await;
    let rep_b = activate(&w.ts, w.rep_b.id).await;

    let res = partner
        .post("/api/v1/invitations")
        .json(&new_inv(InviteChannel::Qr, false))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(api_error(res).await.code, ErrorCode::Forbidden);

    for hours in [0, MAX_INVITATION_HOURS + 1] {
        let res = rep
            .post("/api/v1/invitations")
            .json(&NewInvitation {
                expires_in_hours: Some(hours),
                ..new_inv(InviteChannel::Qr, false)
            })
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let err = api_error(res).await;
        assert_eq!(err.code, ErrorCode::InvalidInput);
        assert!(err.message.contains("expires_in_hours"), "{}", err.message);
    }

    let inv = create(&rep, &new_inv(InviteChannel::Qr, false)).await;
    // The company's manager sees it; a partner is refused; another rep and
    // another company's rep cannot tell it exists.
    assert_eq!(fetch(&manager, inv.id).await.id, inv.id);
    let res = partner
        .get(&format!("/api/v1/invitations/{}", inv.id))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // Nor may a partner revoke it, even one bound to its rep.
    let res = partner
        .post(&format!("/api/v1/invitations/{}/revoke", inv.id))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(api_error(res).await.code, ErrorCode::Forbidden);
    let a = w.ts.admin();
    let other_co = a.create_company("别家装修").await.unwrap();
    let stranger = a
        .create_user(other_co.id, Role::Rep, "外人", None, None)
        .await
        .unwrap();
    let stranger = activate(&w.ts, stranger.id).await;
    for dev in [&rep_b, &stranger] {
        let res = dev
            .get(&format!("/api/v1/invitations/{}", inv.id))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        let res = dev
            .post(&format!("/api/v1/invitations/{}/revoke", inv.id))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        assert_eq!(api_error(res).await.code, ErrorCode::NotFound);
    }
    assert_eq!(fetch(&rep, inv.id).await.status, InvitationStatus::Pending);

    // A manager may invite too; partners are bound to reps only, so the
    // manager's invitee is unbound, but "invited by" still says who.
    let by_manager = create(&manager, &new_inv(InviteChannel::Qr, false)).await;
    assert_eq!(by_manager.rep_id, w.manager.id);
    let (status, _) = accept(&by_manager.url, "经理的朋友", "13600136111").await;
    assert_eq!(status, StatusCode::OK);
    let users = company_users(&w).await;
    let p = users.iter().find(|u| u.name == "经理的朋友").unwrap();
    assert_eq!((p.rep_id, p.invited_by), (None, Some(w.manager.id)));
}

#[tokio::test]
async fn short_codes_find_the_invitation_and_wrong_guesses_are_limited() {
    let w = world().await;
    let rep = activate(&w.ts, w.rep_a.id).await;
    let base = w.ts.url();
    let inv = create(&rep, &new_inv(InviteChannel::Qr, false)).await;
    assert!(inv
        .short_code
        .bytes()
        .all(|b| b"23456789ABCDEFGHJKMNPQRSTUVWXYZ".contains(&b)));
    let lower = inv.short_code.to_lowercase();
    let spaced = format!("{} {}", &lower[..3], &lower[3..]);

    let (status, html) = get_page(&format!("{base}/j")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("name=\"code\""));
    let (status, html) = get_page(&format!("{base}/j?code={}", spaced.replace(' ', "+"))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("李明 邀请你成为 暖居装修 的推荐合伙人"));
    let action = format!("/j/{}", inv.short_code);
    assert_eq!(attr(&html, "wl-invite-form", "action").unwrap(), action);
    let (status, _) = get_page(&format!("{base}/j/{lower}")).await;
    assert_eq!(status, StatusCode::OK);

    let (status, html) = accept(&format!("{base}{action}"), "孙八", "13700137001").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let users = company_users(&w).await;
    let p = users.iter().find(|u| u.name == "孙八").unwrap();
    assert_eq!(p.invitation_id, Some(inv.id));
    // Used up: the code no longer finds it.
    let (status, html) = get_page(&format!("{base}/j/{}", inv.short_code)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("邀请码不正确或已失效"));

    // Guessing: wrong codes are answered, then refused for a while.
    let mut limited = false;
    for i in 0..30 {
        let (status, _) = get_page(&format!("{base}/j/ZZZZ{i:02}")).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            limited = true;
            break;
        }
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    assert!(limited, "wrong short codes must be rate-limited");
    // Even a right code is refused to that address now.
    let inv2 = create(&rep, &new_inv(InviteChannel::Qr, false)).await;
    let (status, _) = get_page(&format!("{base}/j/{}", inv2.short_code)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn bad_input_is_explained_and_writes_nothing() {
    let w = world().await;
    let rep = activate(&w.ts, w.rep_a.id).await;
    let inv = create(&rep, &new_inv(InviteChannel::Qr, false)).await;
    let url = page_url(&w.ts.url(), &inv);
    let before = company_users(&w).await.len();

    let (status, html) = accept(&url, "<script>alert(1)</script>", "12345").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(element_text(&html, "wl-msg")
        .unwrap()
        .contains("请输入正确的手机号"));
    assert!(!html.contains("<script>alert"), "the typed name is escaped");
    assert!(
        html.contains("value=\"&lt;script&gt;alert(1)&lt;/script&gt;\""),
        "kept"
    );
    let (status, html) = accept(&url, "   ", "13600136000").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(element_text(&html, "wl-msg")
        .unwrap()
        .contains("请填写姓名"));
    let (status, html) = accept(&url, &"长".repeat(41), "13600136000").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("请填写姓名"));
    let (status, html) = post_form(&url, &[("name", "赵六"), ("phone", "13600136000")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "consent is required");
    assert!(html.contains("请勾选同意"));
    assert_eq!(company_users(&w).await.len(), before);
    assert_eq!(fetch(&rep, inv.id).await.uses, 0);

    // The phone of someone already in the company: not duplicated, and
    // (the number is not proven theirs without an SMS code) answered 200 with
    // a neutral page that does not say the number is a member. This used to
    // be a 409 "you are already a member", which told anyone who belongs.
    let (status, html) = accept(&url, "张三二号", "13700137000").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("你已经是"), "{html}");
    assert!(!html.contains("已经注册"), "{html}");
    assert!(
        html.contains("请联系 李明"),
        "a real member learns the way back in"
    );
    assert_eq!(company_users(&w).await.len(), before);
    assert_eq!(fetch(&rep, inv.id).await.uses, 0);

    // A hostile name that is otherwise fine is stored as typed and escaped.
    let (status, html) = accept(&url, "<script>alert(1)</script>", "13600136000").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("<script>alert"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(company_users(&w)
        .await
        .iter()
        .any(|u| u.name == "<script>alert(1)</script>"));
}

#[tokio::test]
async fn the_rep_hears_at_once_that_an_invitation_was_accepted() {
    let w = world().await;
    let rep = activate(&w.ts, w.rep_a.id).await;
    let inv = create(&rep, &new_inv(InviteChannel::Qr, false)).await;
    let mut es = rep.get(PATH_EVENTS).send().await.unwrap();
    let mut buf = String::new();
    let head = next_event(&mut es, &mut buf, |e| e.stream == "sync").await;
    assert_eq!(head.invitation_id, None);
    let (status, _) = accept(&inv.url, "周九", "13800138999").await;
    assert_eq!(status, StatusCode::OK);
    let ev = next_event(&mut es, &mut buf, |e| {
        e.stream == "sync" && e.seq > head.seq
    })
    .await;
    assert_eq!(ev.invitation_id, Some(inv.id));
}

// ---------------------------------------------------------------------------
// One-time codes, with an in-process provider that reaches "real phones".

#[derive(Default, Clone)]
struct FakeSms {
    sent: Arc<Mutex<Vec<SmsMessage>>>,
}

impl SmsProvider for FakeSms {
    fn name(&self) -> &'static str {
        "fake"
    }

    fn send<'a>(&'a self, message: &'a SmsMessage) -> SendFuture<'a> {
        Box::pin(async move {
            self.sent.lock().unwrap().push(message.clone());
            Ok(ProviderReceipt {
                provider: "fake".into(),
                provider_message_id: format!("fake-{}", self.sent.lock().unwrap().len()),
                status: DeliveryStatus::Sent,
            })
        })
    }
}

struct OtpWorld {
    server: RunningServer,
    /// The SMS rules' clock (UTC ms): codes to one number are a minute apart.
    clock: Arc<std::sync::atomic::AtomicI64>,
    sms: FakeSms,
    rep: Device,
    company_id: i64,
    _dir: tempfile::TempDir,
}

async fn otp_world() -> OtpWorld {
    let dir = tempfile::tempdir().unwrap();
    let sms = FakeSms::default();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let clock = Arc::new(std::sync::atomic::AtomicI64::new(now));
    let read = clock.clone();
    let server = start_with(
        Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            database_url: warmlead_server::testing::Backend::selected()
                .database_url(dir.path())
                .await,
            public_url: None,
            demo: false,
        },
        Options {
            sms: Sms {
                provider: Arc::new(sms.clone()),
                is_real: true,
            },
            download_url: Some("https://dl.example.com/warmlead.exe".into()),
            sms_invites: warmlead_server::SmsInviteOptions {
                clock: warmlead_server::Clock::from_fn(move || {
                    read.load(std::sync::atomic::Ordering::SeqCst)
                }),
                ..Default::default()
            },
            ..Options::default()
        },
    )
    .await
    .unwrap();
    let a = server.admin();
    let company = a.create_company("暖居装修").await.unwrap();
    let rep = a
        .create_user(company.id, Role::Rep, "李明", None, None)
        .await
        .unwrap();
    let code = a.create_activation_code(rep.id).await.unwrap();
    let http = reqwest::Client::new();
    let act: ActivateResponse = http
        .post(format!("{}{PATH_ACTIVATE}", server.base_url()))
        .json(&ActivateRequest {
            code,
            device_name: "rep laptop".into(),
        })
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rep = Device {
        http,
        base: server.base_url(),
        act,
    };
    OtpWorld {
        server,
        clock,
        sms,
        rep,
        company_id: company.id,
        _dir: dir,
    }
}

impl OtpWorld {
    /// Moves the SMS clock past the resend window.
    fn a_minute_later(&self) {
        self.clock
            .fetch_add(61_000, std::sync::atomic::Ordering::SeqCst);
    }
}

fn last_code(sms: &FakeSms) -> String {
    let sent = sms.sent.lock().unwrap();
    let m = sent.last().expect("a message was sent");
    assert_eq!(m.kind, MessageKind::OneTimeCode);
    let (_, code) = m
        .template_params
        .iter()
        .find(|(k, _)| k == "code")
        .expect("the code as a template parameter");
    assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()));
    assert!(m.text.contains(code.as_str()), "{}", m.text);
    code.clone()
}

#[tokio::test]
async fn with_real_sms_accepting_needs_the_right_one_time_code() {
    let w = otp_world().await;
    let inv = create(&w.rep, &new_inv(InviteChannel::Sms, false)).await;
    let url = inv.url.clone();
    let partners = || async {
        w.server
            .admin()
            .company_users(w.company_id)
            .await
            .unwrap()
            .into_iter()
            .filter(|u| u.role == Role::Partner)
            .count()
    };

    let (status, html) = get_page(&url).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("获取验证码") && html.contains("name=\"code\""));

    // No code: refused with a clear message.
    let (status, html) = accept(&url, "赵六", "13600136000").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("获取验证码"));

    let fields = [("name", "赵六"), ("phone", "136 0013 6000")];
    let (status, html) = post_form(&format!("{url}/code"), &fields).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("验证码已发送"));
    assert!(html.contains("value=\"赵六\""), "what was typed is kept");
    let sent = w.sms.sent.lock().unwrap().last().unwrap().clone();
    assert_eq!(sent.to.as_e164(), "+8613600136000");
    let code = last_code(&w.sms);
    let wrong = if code == "000000" { "111111" } else { "000000" };

    let with_code = |c: &str| {
        [
            ("name", "赵六".to_string()),
            ("phone", "13600136000".to_string()),
            ("consent", "yes".to_string()),
            ("code", c.to_string()),
        ]
    };
    let post = |c: String| {
        let url = url.clone();
        async move {
            let res = reqwest::Client::new()
                .post(&url)
                .form(&with_code(&c))
                .send()
                .await
                .unwrap();
            (res.status(), res.text().await.unwrap())
        }
    };
    for _ in 0..4 {
        let (status, html) = post(wrong.to_string()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(html.contains("验证码不正确"));
    }
    let (status, html) = post(wrong.to_string()).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "the fifth wrong try locks"
    );
    assert!(html.contains("错误次数过多"));
    // Locked: even the right code no longer works.
    let (status, _) = post(code.clone()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(partners().await, 0, "nothing written");

    // A new code at once is too soon (the SMS rules); a minute later it goes.
    let (status, html) = post_form(&format!("{url}/code"), &fields).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(html.contains("1 分钟后才能重新获取"), "{html}");
    w.a_minute_later();
    // A new code, typed right: joined.
    let (status, _) = post_form(&format!("{url}/code"), &fields).await;
    assert_eq!(status, StatusCode::OK);
    let code2 = last_code(&w.sms);
    let (status, html) = post(code2.clone()).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("wl-activation-code"));
    assert!(html.contains("href=\"https://dl.example.com/warmlead.exe\""));
    assert_eq!(partners().await, 1);
    // A code is spent once.
    assert_eq!(
        fetch(&w.rep, inv.id).await.status,
        InvitationStatus::Accepted
    );

    // Asking for codes again and again is limited per phone.
    let inv2 = create(&w.rep, &new_inv(InviteChannel::Qr, true)).await;
    let fields = [("name", "钱七"), ("phone", "13500135000")];
    let mut statuses = Vec::new();
    for _ in 0..4 {
        w.a_minute_later();
        statuses.push(post_form(&format!("{}/code", inv2.url), &fields).await.0);
    }
    assert_eq!(statuses[..3], [StatusCode::OK; 3]);
    assert_eq!(statuses[3], StatusCode::TOO_MANY_REQUESTS);
    w.server.shutdown().await;
}

#[tokio::test]
async fn the_demo_recruited_its_partners_through_invitations() {
    use std::collections::{BTreeMap, BTreeSet};
    use warmlead_core::invite::LifecycleRules;
    use warmlead_server::demo;
    use warmlead_server::testing::TestServer;

    let ts = TestServer::start_demo().await;
    let admin = ts.admin();
    let rep = demo::main_user(&admin, Role::Rep).await.unwrap();
    let dev = common::activate(&ts, rep.id).await;
    let changes = dev.pull_all().await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;

    // The newest state of each of the rep's invitations.
    let mut invs: BTreeMap<i64, Invitation> = BTreeMap::new();
    for c in &changes {
        if let ChangeBody::Invitation(i) = &c.body {
            invs.insert(i.id, i.clone());
        }
    }
    assert!(invs.values().all(|i| i.rep_id == rep.id));
    assert!(invs
        .values()
        .all(|i| i.url.starts_with(&format!("{}/i/", ts.url()))));
    let shape: std::collections::HashSet<(&str, InvitationStatus)> = invs
        .values()
        .map(|i| (i.channel.as_str(), i.status_at(now)))
        .collect();
    for channel in InviteChannel::ALL {
        for status in [
            InvitationStatus::Pending,
            InvitationStatus::Expired,
            InvitationStatus::Revoked,
        ] {
            assert!(
                shape.contains(&(channel.as_str(), status)),
                "{channel:?} {status:?} in {shape:?}"
            );
        }
    }
    for channel in [InviteChannel::Qr, InviteChannel::Sms] {
        assert!(shape.contains(&(channel.as_str(), InvitationStatus::Accepted)));
    }
    assert!(
        invs.values()
            .any(|i| i.channel == InviteChannel::Poster && i.max_uses.is_none() && i.uses >= 2),
        "a poster many joined through"
    );

    // Partners: spread over 60 days, invited by their rep, mostly by QR.
    let company = admin
        .find_company(demo::DEMO_COMPANY)
        .await
        .unwrap()
        .unwrap();
    let partners: Vec<User> = admin
        .company_users(company.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|u| u.role == Role::Partner)
        .collect();
    assert_eq!(partners.len(), 20);
    let day = 24 * 3600 * 1000;
    assert!(partners
        .iter()
        .all(|p| p.joined_at_ms > now - 61 * day && p.joined_at_ms < now));
    assert!(partners.iter().any(|p| p.joined_at_ms < now - 50 * day));
    assert!(partners.iter().any(|p| p.joined_at_ms > now - 7 * day));
    assert!(partners
        .iter()
        .all(|p| p.invited_by.is_some() && p.invited_by == p.rep_id));
    let by_source = |s: PartnerSource| partners.iter().filter(|p| p.source == Some(s)).count();
    assert!(by_source(PartnerSource::Qr) > partners.len() / 2);
    for s in [
        PartnerSource::Sms,
        PartnerSource::Poster,
        PartnerSource::Import,
    ] {
        assert!(by_source(s) > 0, "{s:?}");
    }
    // Accepted invitations point at their partners.
    for p in partners.iter().filter(|p| p.rep_id == Some(rep.id)) {
        match p.source {
            Some(PartnerSource::Import) => assert_eq!(p.invitation_id, None),
            _ => assert!(invs.contains_key(&p.invitation_id.unwrap())),
        }
    }

    // Some never shared, some stopped a month ago (dormant), some are active.
    let mut last_share: BTreeMap<i64, i64> = BTreeMap::new();
    for c in &changes {
        if let ChangeBody::Share(s) = &c.body {
            let e = last_share.entry(s.partner_id).or_insert(0);
            *e = (*e).max(s.created_at_ms);
        }
    }
    let mine: Vec<&User> = partners
        .iter()
        .filter(|p| p.rep_id == Some(rep.id))
        .collect();
    assert!(mine.iter().any(|p| !last_share.contains_key(&p.id)));
    let rules = LifecycleRules::default();
    let stages: BTreeSet<String> = mine
        .iter()
        .map(|p| {
            let stage = rules.stage(p.joined_at_ms, last_share.get(&p.id).copied(), now);
            format!("{stage:?}")
        })
        .collect();
    for s in ["Active", "Dormant", "New"] {
        assert!(stages.contains(s), "{s} in {stages:?}");
    }
    for (pid, at) in &last_share {
        let p = partners.iter().find(|p| p.id == *pid).unwrap();
        assert!(*at >= p.joined_at_ms, "no share before joining");
    }
}

#[tokio::test]
async fn a_member_who_proves_the_number_is_told_so_and_nothing_is_created() {
    let w = otp_world().await;
    let a = w.server.admin();
    a.create_user(
        w.company_id,
        Role::Partner,
        "张三",
        Some("13700137000"),
        None,
    )
    .await
    .unwrap();
    let inv = create(&w.rep, &new_inv(InviteChannel::Qr, false)).await;
    let fields = [("name", "张三"), ("phone", "13700137000")];
    // Asking for a code answers the same as for anyone.
    let (status, html) = post_form(&format!("{}/code", inv.url), &fields).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("验证码已发送"));
    let code = last_code(&w.sms);
    let (status, html) = post_form(
        &inv.url,
        &[
            ("name", "张三"),
            ("phone", "13700137000"),
            ("consent", "yes"),
            ("code", &code),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("你已经是 暖居装修 的成员"), "{html}");
    assert!(html.contains("请联系 李明"));
    assert!(!html.contains("wl-activation-code"));
    let partners = a.company_users(w.company_id).await.unwrap();
    assert_eq!(
        partners.iter().filter(|u| u.role == Role::Partner).count(),
        1
    );
    assert_eq!(fetch(&w.rep, inv.id).await.uses, 0);
    w.server.shutdown().await;
}

/// Six people accept one single-use invitation at the same moment (on
/// PostgreSQL, six concurrent transactions): one joins, and one number
/// accepting two invitations at once makes one partner, not two.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_accepts_never_exceed_the_uses_or_duplicate_a_number() {
    let w = world().await;
    let rep = activate(&w.ts, w.rep_a.id).await;
    let before = company_users(&w).await.len();
    let inv = create(&rep, &new_inv(InviteChannel::Qr, false)).await;
    let url = page_url(&w.ts.url(), &inv);
    let phones: Vec<String> = (0..6).map(|i| format!("1360013600{i}")).collect();
    let answers =
        futures_util::future::join_all(phones.iter().map(|p| accept(&url, "赵六", p.as_str())))
            .await;
    let joined = answers.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    assert_eq!(
        joined,
        1,
        "{:?}",
        answers.iter().map(|a| a.0).collect::<Vec<_>>()
    );
    assert_eq!(company_users(&w).await.len(), before + 1);

    let (a, b) = (
        create(&rep, &new_inv(InviteChannel::Qr, false)).await,
        create(&rep, &new_inv(InviteChannel::Qr, false)).await,
    );
    let (url_a, url_b) = (page_url(&w.ts.url(), &a), page_url(&w.ts.url(), &b));
    let _ = tokio::join!(
        accept(&url_a, "孙七", "13500135000"),
        accept(&url_b, "孙七", "13500135000")
    );
    let sun: Vec<User> = company_users(&w)
        .await
        .into_iter()
        .filter(|u| u.phone.as_deref() == Some("+8613500135000"))
        .collect();
    assert_eq!(sun.len(), 1, "{sun:?}");
}
