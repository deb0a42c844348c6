//! Shared helpers for the cross-program tests: a real server on a loopback
//! port over a real database (a SQLite file, or a PostgreSQL database when
//! `WARMLEAD_TEST_BACKEND=postgres`), a small company in it, and devices
//! activated through the real API into real store files.

use std::net::SocketAddr;
use std::path::PathBuf;

use warmlead_core::api::{ActivateResponse, NewContentItem};
use warmlead_core::domain::{Company, ContentItem, ContentKind, Role, User};
use warmlead_server::testing::{Backend, TestSql};
use warmlead_server::{start, Admin, Config, RunningServer};
use warmlead_store::{Store, TokenRef};

/// A running server and the company the tests work in:
/// rep Li with partner Zhang, rep Wang with partner Zhao, a manager, items.
pub struct World {
    pub server: Option<RunningServer>,
    pub dir: tempfile::TempDir,
    /// The server's database (kept across restarts).
    pub db_url: String,
    addr: Option<SocketAddr>,
    pub company: Company,
    pub manager: User,
    pub rep: User,
    pub partner: User,
    pub other_rep: User,
    pub other_partner: User,
    pub items: Vec<ContentItem>,
}

/// One activated desktop: its store file and what activation returned.
pub struct Device {
    pub path: PathBuf,
    pub activation: ActivateResponse,
}

impl World {
    /// Starts a server on 127.0.0.1:0 and creates the company with `n_items` items.
    pub async fn start(n_items: usize) -> World {
        Self::start_on(Backend::selected(), n_items).await
    }

    /// On a given backend (the SQLite file backup tests).
    pub async fn start_on(backend: Backend, n_items: usize) -> World {
        let dir = tempfile::tempdir().expect("temp dir");
        let db_url = backend.database_url(dir.path()).await;
        let server = serve(&db_url, "127.0.0.1:0".parse().expect("addr")).await;
        let admin = server.admin();
        let company = admin.create_company("暖居装修").await.expect("company");
        let user = |role, name: &'static str, rep: Option<i64>| {
            let admin = admin.clone();
            async move {
                admin
                    .create_user(company.id, role, name, None, rep)
                    .await
                    .expect("user")
            }
        };
        let manager = user(Role::Manager, "陈经理", None).await;
        let rep = user(Role::Rep, "李明", None).await;
        let other_rep = user(Role::Rep, "王芳", None).await;
        let partner = user(Role::Partner, "张三", Some(rep.id)).await;
        let other_partner = user(Role::Partner, "赵六", Some(other_rep.id)).await;
        let mut items = Vec::new();
        for i in 0..n_items {
            items.push(create_item(&admin, company.id, i).await);
        }
        World {
            server: Some(server),
            dir,
            db_url,
            addr: None,
            company,
            manager,
            rep,
            partner,
            other_rep,
            other_partner,
            items,
        }
    }

    pub fn server(&self) -> &RunningServer {
        self.server.as_ref().expect("server is running")
    }

    pub fn url(&self) -> String {
        self.server().base_url()
    }

    pub fn admin(&self) -> Admin {
        self.server().admin()
    }

    /// SQL on the server's database (tests count rows with it).
    pub fn sql(&self) -> TestSql {
        TestSql::new(&self.db_url)
    }

    /// Activates a new device for `user` through the real API and saves it
    /// into a fresh store file named `name`.
    pub async fn device(&self, user: &User, name: &str) -> Device {
        let code = self
            .admin()
            .create_activation_code(user.id)
            .await
            .expect("activation code");
        let activation = warmlead_sync::activate(&self.url(), &code, name)
            .await
            .expect("activation");
        let path = self
            .dir
            .path()
            .join("devices")
            .join(format!("{name}.sqlite"));
        Store::open(&path)
            .expect("store")
            .save_activation(
                &self.url(),
                &activation,
                &TokenRef::fresh(warmlead_store::Place::File),
            )
            .expect("save activation");
        Device { path, activation }
    }

    /// Stops the server and starts it again on the same address and
    /// database, after `between` ran on the stopped database's URL.
    pub async fn restart(&mut self, between: impl FnOnce(&str)) {
        self.stop_server().await;
        between(&self.db_url);
        self.start_again().await;
    }

    /// Stops the server (see [`World::start_again`]).
    pub async fn stop_server(&mut self) {
        let server = self.server.take().expect("server is running");
        self.addr = Some(server.addr());
        server.shutdown().await;
    }

    /// Starts the stopped server again on its address and database.
    pub async fn start_again(&mut self) {
        let addr = self.addr.take().expect("server was stopped");
        self.server = Some(serve(&self.db_url, addr).await);
    }

    /// Rows of a COUNT query on the server's database, `?1` being `arg`
    /// (a test's own value, quoted here).
    pub async fn server_count(&self, sql: &str, arg: &str) -> i64 {
        let quoted = format!("'{}'", arg.replace('\'', "''"));
        self.sql().i64(&sql.replace("?1", &quoted)).await
    }
}

impl Device {
    pub fn store(&self) -> Store {
        Store::open(&self.path).expect("open store")
    }

    /// Points the device at another server address (e.g. a closed port).
    pub fn set_server_url(&self, url: &str) {
        self.store()
            .save_activation(
                url,
                &self.activation,
                &TokenRef::fresh(warmlead_store::Place::File),
            )
            .expect("save activation");
    }

    pub fn client(&self, url: &str) -> warmlead_sync::Client {
        warmlead_sync::Client::new(url, &self.activation.device_token).expect("client")
    }
}

async fn serve(db_url: &str, listen: SocketAddr) -> RunningServer {
    start(Config {
        listen,
        database_url: db_url.to_string(),
        public_url: None,
        demo: false,
    })
    .await
    .expect("server starts")
}

async fn create_item(admin: &Admin, company_id: i64, i: usize) -> ContentItem {
    let kind = [
        ContentKind::Article,
        ContentKind::Poster,
        ContentKind::CaseStudy,
    ][i % 3];
    admin
        .create_content_item(
            company_id,
            NewContentItem {
                kind,
                title: format!("装修避坑指南 第{}篇", i + 1),
                summary: format!("第{}篇的摘要", i + 1),
                body: "正文第一段。\n\n正文第二段。".into(),
                cover_media_id: None,
                video_media_id: None,
            },
        )
        .await
        .expect("content item")
}

/// An address where nothing listens: a bound-then-dropped loopback port.
pub fn closed_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A consistent copy of a store file, as a backup tool (or a copy to a
/// second computer) would make it.
pub fn backup_store(store_path: &std::path::Path, to: &std::path::Path) {
    let conn = rusqlite::Connection::open(store_path).unwrap();
    conn.execute("VACUUM INTO ?1", [to.to_str().unwrap()])
        .unwrap();
}

/// Puts a backup back in place of the live store file (its WAL files removed).
pub fn restore_store(backup: &std::path::Path, store_path: &std::path::Path) {
    for ext in ["-wal", "-shm"] {
        let mut p = store_path.as_os_str().to_owned();
        p.push(ext);
        let _ = std::fs::remove_file(std::path::PathBuf::from(p));
    }
    std::fs::copy(backup, store_path).unwrap();
}
