//! Shared helpers: a real server (temp SQLite file, port 0) and devices that
//! talk to it over HTTP exactly as the desktop app does.
#![allow(dead_code)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::StatusCode;
use warmlead_core::api::{ActivateRequest, ActivateResponse, NewContentItem, PATH_ACTIVATE};
use warmlead_core::domain::{Channel, Company, ContentItem, ContentKind, Role, User};
use warmlead_core::error::ApiError;
use warmlead_core::sync::{
    Change, Mutation, MutationBody, PullResponse, PushRequest, PushResponse, SCHEMA_VERSION,
};
use warmlead_core::token::ShareClaim;
use warmlead_server::testing::TestServer;

pub struct Device {
    pub http: reqwest::Client,
    pub base: String,
    pub act: ActivateResponse,
}

pub async fn activate(ts: &TestServer, user_id: i64) -> Device {
    let code = ts.admin().create_activation_code(user_id).await.unwrap();
    activate_with_code(ts, &code).await
}

/// Signs a new device in with `code`, as the desktop app does.
pub async fn activate_with_code(ts: &TestServer, code: &str) -> Device {
    let code = code.to_string();
    let http = reqwest::Client::new();
    let res = http
        .post(format!("{}{PATH_ACTIVATE}", ts.url()))
        .json(&ActivateRequest {
            code,
            device_name: "test laptop".into(),
        })
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let act: ActivateResponse = res.json().await.unwrap();
    Device {
        http,
        base: ts.url(),
        act,
    }
}

pub fn mutation(seq: i64, body: MutationBody) -> Mutation {
    Mutation {
        mutation_id: uuid::Uuid::now_v7().to_string(),
        seq,
        schema_version: SCHEMA_VERSION,
        body,
    }
}

impl Device {
    pub fn id(&self) -> i64 {
        self.act.device_id
    }

    pub fn share_key(&self) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(&self.act.share_key).unwrap()
    }

    /// Signs a share token on the "device", offline.
    pub fn sign(&self, share_no: i64, item_id: i64, channel: Channel) -> String {
        ShareClaim {
            device_id: self.id() as u64,
            share_no: share_no as u64,
            item_id: item_id as u64,
            channel,
        }
        .sign(&self.share_key())
    }

    pub fn create_share(&self, seq: i64, share_no: i64, item_id: i64) -> Mutation {
        mutation(
            seq,
            MutationBody::CreateShare {
                share_no,
                item_id,
                channel: Channel::Moments,
                token: self.sign(share_no, item_id, Channel::Moments),
                created_at_ms: 1_700_000_000_000 + share_no,
            },
        )
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.act.device_token)
    }

    pub fn put(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .put(format!("{}{path}", self.base))
            .bearer_auth(&self.act.device_token)
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.act.device_token)
    }

    pub async fn push_raw(&self, mutations: Vec<Mutation>) -> reqwest::Response {
        self.post(warmlead_core::api::PATH_PUSH)
            .json(&PushRequest {
                client_id: self.id().to_string(),
                mutations,
            })
            .send()
            .await
            .unwrap()
    }

    pub async fn push(&self, mutations: Vec<Mutation>) -> PushResponse {
        let res = self.push_raw(mutations).await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }

    pub async fn pull(&self, after: i64, limit: Option<u32>) -> PullResponse {
        let mut path = format!("{}?after={after}", warmlead_core::api::PATH_PULL);
        if let Some(l) = limit {
            path.push_str(&format!("&limit={l}"));
        }
        let res = self.get(&path).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }

    /// Every change visible to this device, following the cursor.
    pub async fn pull_all(&self) -> Vec<Change> {
        let mut all = Vec::new();
        let mut after = 0;
        loop {
            let page = self.pull(after, None).await;
            all.extend(page.changes);
            after = page.cursor;
            if !page.has_more {
                return all;
            }
        }
    }
}

pub async fn api_error(res: reqwest::Response) -> ApiError {
    let text = res.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not an ApiError: {text}"))
}

/// A company with a manager, two reps, three partners and one item.
pub struct World {
    pub ts: TestServer,
    pub company: Company,
    pub manager: User,
    pub rep_a: User,
    pub rep_b: User,
    pub partner_a1: User,
    pub partner_a2: User,
    pub partner_b1: User,
    pub item: ContentItem,
}

pub fn article(title: &str) -> NewContentItem {
    NewContentItem {
        kind: ContentKind::Article,
        title: title.into(),
        summary: "摘要".into(),
        body: "第一段。\n\n第二段 <b>不是标签</b>。".into(),
        cover_media_id: None,
        video_media_id: None,
    }
}

pub async fn world() -> World {
    world_on(warmlead_server::testing::Backend::selected()).await
}

/// [`world`] on a given backend (tests of SQLite's file backup).
pub async fn world_on(backend: warmlead_server::testing::Backend) -> World {
    world_with(backend, Default::default()).await
}

/// [`world`] on a server with these options (a small media quota, a short
/// upload stall).
pub async fn world_with(
    backend: warmlead_server::testing::Backend,
    options: warmlead_server::Options,
) -> World {
    let ts = TestServer::start_on(backend, false, None, options).await;
    let a = ts.admin();
    let company = a.create_company("暖居装修").await.unwrap();
    let c = company.id;
    let manager = a
        .create_user(c, Role::Manager, "陈静", Some("13800138000"), None)
        .await
        .unwrap();
    let rep_a = a
        .create_user(c, Role::Rep, "李明", Some("13900139000"), None)
        .await
        .unwrap();
    let rep_b = a
        .create_user(c, Role::Rep, "王芳", None, None)
        .await
        .unwrap();
    let partner_a1 = a
        .create_user(
            c,
            Role::Partner,
            "张三",
            Some("+86 137 0013 7000"),
            Some(rep_a.id),
        )
        .await
        .unwrap();
    let partner_a2 = a
        .create_user(c, Role::Partner, "李四", None, Some(rep_a.id))
        .await
        .unwrap();
    let partner_b1 = a
        .create_user(c, Role::Partner, "王五", None, Some(rep_b.id))
        .await
        .unwrap();
    let item = a
        .create_content_item(c, article("装修避坑指南"))
        .await
        .unwrap();
    World {
        ts,
        company,
        manager,
        rep_a,
        rep_b,
        partner_a1,
        partner_a2,
        partner_b1,
        item,
    }
}

/// Reads SSE frames until `pred` accepts one (or the deadline passes).
pub async fn next_event(
    res: &mut reqwest::Response,
    buf: &mut String,
    pred: impl Fn(&warmlead_core::lead::LiveEvent) -> bool,
) -> warmlead_core::lead::LiveEvent {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            let data = frame.lines().find_map(|l| l.strip_prefix("data:"));
            if let Some(ev) = data
                .and_then(|d| serde_json::from_str::<warmlead_core::lead::LiveEvent>(d.trim()).ok())
            {
                if pred(&ev) {
                    return ev;
                }
            }
        }
        let chunk = tokio::time::timeout_at(deadline, res.chunk())
            .await
            .expect("an event in time")
            .unwrap()
            .expect("stream still open");
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
}

/// The newest Company change a device pulls.
pub fn last_company(changes: &[Change]) -> Company {
    changes
        .iter()
        .rev()
        .find_map(|c| match &c.body {
            warmlead_core::sync::ChangeBody::Company(c) => Some(c.clone()),
            _ => None,
        })
        .expect("a Company change")
}

/// A friend leaves a name and number on the share page's form (the JSON
/// answer the page's script asks for), as a browser at `base` would.
pub async fn leave_phone(base: &str, token: &str, name: &str, phone: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}{}", warmlead_core::api::PATH_LEAD_FORM))
        .header("accept", "application/json")
        .form(&[
            ("t", token),
            ("name", name),
            ("phone", phone),
            ("consent", "yes"),
        ])
        .send()
        .await
        .unwrap()
}

/// Polls `check` until it holds, failing with `what` after `secs` seconds.
pub async fn eventually<F, Fut>(what: &str, secs: u64, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A request body of `len` bytes of `byte`, streamed in 1 MiB chunks (so
/// a test of a limit of hundreds of megabytes holds one chunk in memory).
pub fn stream_of(byte: u8, len: usize) -> reqwest::Body {
    const CHUNK: usize = 1 << 20;
    let chunks = (0..len.div_ceil(CHUNK)).map(move |i| {
        let n = CHUNK.min(len - i * CHUNK);
        Ok::<_, std::io::Error>(vec![byte; n])
    });
    reqwest::Body::wrap_stream(futures_util::stream::iter(chunks))
}

/// Uploads `bytes` as a media file of `content_type`; it must be accepted.
pub async fn upload(
    d: &Device,
    content_type: &str,
    bytes: Vec<u8>,
) -> warmlead_core::domain::MediaRef {
    let res = d
        .post(warmlead_core::api::PATH_MEDIA)
        .header("content-type", content_type)
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    res.json().await.unwrap()
}

/// Reads an SSE response until the server ends it, failing after `secs`
/// seconds with `what` (a stream that stays open past the deadline).
pub async fn stream_ends(res: &mut reqwest::Response, what: &str, secs: u64) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        match tokio::time::timeout_at(deadline, res.chunk()).await {
            Err(_) => panic!("still open after {secs} s: {what}"),
            Ok(Ok(None)) | Ok(Err(_)) => return,
            Ok(Ok(Some(_))) => {}
        }
    }
}
