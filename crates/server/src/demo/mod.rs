//! The demo company of UI.md, 暖居装修: seeded once, through the same code
//! paths as real use (activation, pushed shares, beacons), so every change
//! lands in the change log and synced apps see it.

mod content;
mod images;
mod invites;
mod leads;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use warmlead_core::api::NewContentItem;
use warmlead_core::company::CompanyProfile;
use warmlead_core::domain::{Channel, ContentItem, ContentKind, Role, User};
use warmlead_core::invite::PartnerSource;
use warmlead_core::sync::{Mutation, MutationBody, SCHEMA_VERSION};
use warmlead_core::token::ShareClaim;

use crate::services;
use crate::storage::{now_ms, BeaconInput};
use crate::{Admin, ServerError};
use invites::Joiner;

pub const DEMO_COMPANY: &str = "暖居装修";
pub const MAIN_REP: &str = "李明";
const SECOND_REP: &str = "王芳";
const MANAGER: &str = "陈静";
const DAY_MS: i64 = 24 * 3600 * 1000;

/// Past customers and a few designers, with mainland mobiles, alternating
/// between the two reps: most joined face to face (QR), some by SMS, through
/// a poster or an import, over the last 60 days.
#[rustfmt::skip]
const PARTNERS: &[Joiner] = &[
    joiner("张伟", "13812345601", 0, PartnerSource::Qr, 58),
    joiner("王秀英", "13912345602", 1, PartnerSource::Qr, 55),
    joiner("刘洋", "13712345603", 0, PartnerSource::Qr, 50),
    joiner("陈晓燕", "15012345604", 1, PartnerSource::Qr, 47),
    joiner("杨帆", "15112345605", 0, PartnerSource::Qr, 44),
    joiner("赵丽娜", "15212345606", 1, PartnerSource::Qr, 40),
    joiner("黄志强", "15812345607", 0, PartnerSource::Qr, 36),
    joiner("周婷", "15912345608", 1, PartnerSource::Qr, 33),
    joiner("吴建国", "18612345609", 0, PartnerSource::Qr, 30),
    joiner("徐静怡", "18712345610", 1, PartnerSource::Qr, 27),
    joiner("孙浩然", "18812345611", 0, PartnerSource::Sms, 57),
    joiner("马文博", "13612345612", 1, PartnerSource::Sms, 52),
    joiner("朱海燕", "13512345613", 0, PartnerSource::Sms, 46),
    joiner("胡俊杰", "13312345614", 1, PartnerSource::Qr, 42),
    joiner("郭雅琴", "17712345615", 0, PartnerSource::Poster, 20),
    joiner("林晓（设计师）", "18912345616", 1, PartnerSource::Poster, 16),
    joiner("何嘉怡（设计师）", "13012345617", 0, PartnerSource::Poster, 12),
    joiner("高鹏（设计师）", "13112345618", 1, PartnerSource::Import, 9),
    joiner("罗美玲", "13212345619", 0, PartnerSource::Import, 5),
    joiner("梁子豪", "14712345620", 1, PartnerSource::Import, 2),
];

const fn joiner(
    name: &'static str,
    phone: &'static str,
    rep: usize,
    source: PartnerSource,
    days_ago: i64,
) -> Joiner {
    Joiner {
        name,
        phone,
        rep,
        source,
        days_ago,
    }
}

/// The first partners share; of them, these have not shared for a month
/// (dormant). The rest never shared at all.
const SHARING: std::ops::Range<usize> = 0..14;
const DORMANT: std::ops::Range<usize> = 10..14;

const VIDEOS: [&[u8]; 2] = [
    include_bytes!("../../assets/demo-walkthrough.mp4"),
    include_bytes!("../../assets/demo-after.mp4"),
];

/// Where the demo's invitation links point when the server's URL is unknown.
const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8787";

/// The demo company's own poster slogan (product code has a neutral default).
const DEMO_SLOGAN: &str = "推荐好友装修，成交即有奖励";
/// The demo's commission line on its invitation pages.
const DEMO_PROMISE: &str = "朋友签约装修后，你可获得合同额 2% 的推荐奖励，最高 3,000 元。";

/// Seeds the demo unless the demo company already exists. A seed cut short
/// (e.g. the process killed) is not resumed; delete the database to redo it.
pub async fn seed(admin: &Admin) -> Result<(), ServerError> {
    seed_with_url(admin, DEFAULT_PUBLIC_URL).await
}

/// [`seed`], with invitation links on `public_url` (no trailing slash).
pub async fn seed_with_url(admin: &Admin, public_url: &str) -> Result<(), ServerError> {
    seed_at(admin, public_url, now_ms()).await
}

/// [`seed_with_url`] as of `now` (UTC ms): every time the demo makes up
/// (joins, shares, visits, invitations) is placed before it, so a test
/// passes one instant and grades the leads at that same instant, whatever
/// the wall clock says and however long seeding takes on a busy machine.
pub async fn seed_at(admin: &Admin, public_url: &str, now: i64) -> Result<(), ServerError> {
    if admin.find_company(DEMO_COMPANY).await?.is_some() {
        return Ok(());
    }
    let started = std::time::Instant::now();
    let company = admin.create_company(DEMO_COMPANY).await?;
    let c = company.id;
    admin
        .create_user(c, Role::Manager, MANAGER, Some("13910000001"), None)
        .await?;
    let li = admin
        .create_user(c, Role::Rep, MAIN_REP, Some("13810000002"), None)
        .await?;
    let wang = admin
        .create_user(c, Role::Rep, SECOND_REP, Some("13810000003"), None)
        .await?;
    let partners = invites::seed(
        &admin.db,
        [li.clone(), wang.clone()],
        PARTNERS,
        public_url.into(),
        now,
    )
    .await?;
    let items = seed_items(admin, c).await?;
    let art = admin
        .store_media(c, "image/jpeg", images::poster_artwork()?)
        .await?;
    admin.set_poster_artwork(c, Some(art.id)).await?;
    let logo = admin.store_media(c, "image/png", images::logo()?).await?;
    let profile = CompanyProfile {
        name: DEMO_COMPANY.into(),
        logo_media_id: Some(logo.id),
        poster_slogan: Some(DEMO_SLOGAN.into()),
        commission_promise: Some(DEMO_PROMISE.into()),
    };
    admin.set_company_profile(c, profile).await?;
    let mut rng = StdRng::seed_from_u64(20_261_123);
    let sharing: Vec<(User, bool)> = SHARING
        .map(|i| (partners[i].clone(), DORMANT.contains(&i)))
        .collect();
    let viewers = seed_activity(admin, &sharing, &items, now, &mut rng).await?;
    let leads = leads::capture(admin, &spread(&viewers, 12)).await?;
    for rep in [li.id, wang.id] {
        leads::mark_man(admin, rep, &leads, &mut rng).await?;
    }
    tracing::info!(
        items = items.len(),
        visits = viewers.len(),
        leads = leads.len(),
        ms = started.elapsed().as_millis() as u64,
        "seeded the demo company {DEMO_COMPANY}"
    );
    Ok(())
}

async fn seed_items(admin: &Admin, company_id: i64) -> Result<Vec<ContentItem>, ServerError> {
    let mut items = Vec::new();
    for (i, it) in content::ITEMS.iter().enumerate() {
        let seed = i as u32;
        let art = match it.kind {
            ContentKind::Poster => images::poster(seed, it.title.contains("抵用券"))?,
            _ => images::cover(seed)?,
        };
        let cover = admin.store_media(company_id, "image/png", art).await?;
        let video = match it.kind {
            ContentKind::Video => Some(
                admin
                    .store_media(company_id, "video/mp4", VIDEOS[i % 2].to_vec())
                    .await?,
            ),
            _ => None,
        };
        let new = NewContentItem {
            kind: it.kind,
            title: it.title.into(),
            summary: it.summary.into(),
            body: it.body.into(),
            cover_media_id: Some(cover.id),
            video_media_id: video.map(|v| v.id),
        };
        items.push(admin.create_content_item(company_id, new).await?);
    }
    Ok(items)
}

/// `n` viewers taken evenly from all, so leads come from many partners.
fn spread(all: &[leads::Viewer], n: usize) -> Vec<leads::Viewer> {
    let step = (all.len() / n.max(1)).max(1);
    all.iter()
        .step_by(step)
        .take(n)
        .map(|v| leads::Viewer {
            token: v.token.clone(),
            visitor_id: v.visitor_id.clone(),
        })
        .collect()
}

/// Partners activate a device, share items between joining and a day ago
/// (dormant ones: a month ago) as sync mutations, and friends view them (as
/// beacons, at past times). Returns who viewed what.
async fn seed_activity(
    admin: &Admin,
    partners: &[(User, bool)],
    items: &[ContentItem],
    now: i64,
    rng: &mut StdRng,
) -> Result<Vec<leads::Viewer>, ServerError> {
    let mut visits = Vec::new();
    for (partner, dormant) in partners {
        let latest = now - if *dormant { 31 } else { 1 } * DAY_MS;
        let earliest = (partner.joined_at_ms + 3_600_000).min(latest - 1);
        let code = admin.create_activation_code(partner.id).await?;
        let device =
            services::accounts::activate(&admin.db, code, "演示设备".into(), "demo".into()).await?;
        let caller = services::accounts::authenticate(&admin.db, device.token).await?;
        let key = services::push::share_key(&admin.db, device.device_id);
        let shares = rng.gen_range(2..=6);
        for share_no in 1..=shares {
            let item = &items[rng.gen_range(0..items.len())];
            let channel = Channel::ALL[rng.gen_range(0..Channel::ALL.len())];
            let created = rng.gen_range(earliest..latest);
            let token = ShareClaim {
                device_id: device.device_id as u64,
                share_no: share_no as u64,
                item_id: item.id as u64,
                channel,
            }
            .sign(&key);
            let m = Mutation {
                mutation_id: uuid::Uuid::now_v7().to_string(),
                seq: share_no,
                schema_version: SCHEMA_VERSION,
                body: MutationBody::CreateShare {
                    share_no,
                    item_id: item.id,
                    channel,
                    token: token.clone(),
                    created_at_ms: created,
                },
            };
            services::push::push_one(&admin.db, caller.clone(), m).await?;
            visits.extend(seed_visits(admin, &token, created, now, rng).await?);
        }
    }
    Ok(visits)
}

async fn seed_visits(
    admin: &Admin,
    token: &str,
    created: i64,
    now: i64,
    rng: &mut StdRng,
) -> Result<Vec<leads::Viewer>, ServerError> {
    // Most shares get a handful of views; a few travel far.
    let n = if rng.gen_bool(0.15) {
        rng.gen_range(8..=15)
    } else {
        rng.gen_range(0..=6)
    };
    let mut viewers = Vec::new();
    for _ in 0..n {
        let opened = (created + rng.gen_range(0..3 * DAY_MS)).min(now - 60_000);
        // Skimmers, readers and a few who watch or read everything.
        let dwell = match rng.gen_range(0..10) {
            0..=3 => rng.gen_range(2_000..15_000),
            4..=7 => rng.gen_range(15_000..90_000),
            _ => rng.gen_range(90_000..420_000),
        };
        let visitor_id = format!("demo-visitor-{}", rng.gen_range(0..400));
        let input = BeaconInput {
            page_view: format!("demo-{}", uuid::Uuid::new_v4().simple()),
            visitor_id: visitor_id.clone(),
            ip_hash: None,
            dwell_ms: dwell,
            scroll_pct: Some((dwell / 1_000).clamp(5, 100)),
            now_ms: opened,
            ..Default::default()
        };
        services::shares::beacon(&admin.db, token.to_string(), input).await?;
        viewers.push(leads::Viewer {
            token: token.to_string(),
            visitor_id,
        });
    }
    Ok(viewers)
}

/// The demo's main user of a role: rep 李明, his first partner, the manager.
pub async fn main_user(admin: &Admin, role: Role) -> Result<User, ServerError> {
    let missing = || {
        ServerError::NotFound(
            "the demo company is not there; start the server with --demo first".into(),
        )
    };
    let company = admin
        .find_company(DEMO_COMPANY)
        .await?
        .ok_or_else(missing)?;
    let users = admin.company_users(company.id).await?;
    let rep = users
        .iter()
        .find(|u| u.role == Role::Rep && u.name == MAIN_REP);
    let found = match role {
        Role::Rep => rep,
        Role::Manager => users.iter().find(|u| u.role == Role::Manager),
        Role::Partner => {
            let rep_id = rep.map(|r| r.id);
            users
                .iter()
                .find(|u| u.role == Role::Partner && u.rep_id.is_some() && u.rep_id == rep_id)
        }
    };
    found.cloned().ok_or_else(missing)
}
