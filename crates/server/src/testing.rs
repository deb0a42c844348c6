//! A real server on 127.0.0.1:0 with a real SQLite file in a temporary
//! directory, for this crate's and other crates' tests (feature `testing`).

use crate::{start_with, Admin, Config, Options, RunningServer};

pub struct TestServer {
    pub server: RunningServer,
    _dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(false).await
    }

    /// With the demo company seeded.
    pub async fn start_demo() -> TestServer {
        Self::start_with(true).await
    }

    async fn start_with(demo: bool) -> TestServer {
        Self::start_configured(demo, None, Options::default()).await
    }

    /// With a public URL (e.g. `https://...`, as behind a TLS proxy) and options.
    pub async fn start_configured(
        demo: bool,
        public_url: Option<String>,
        options: Options,
    ) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = Config {
            listen: "127.0.0.1:0".parse().expect("loopback address"),
            database_url: format!("sqlite://{}", dir.path().join("server.db").display()),
            public_url,
            demo,
        };
        let server = start_with(config, options)
            .await
            .expect("test server starts");
        TestServer { server, _dir: dir }
    }

    /// Base URL of the API and the public pages, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        self.server.base_url()
    }

    pub fn admin(&self) -> Admin {
        self.server.admin()
    }

    /// Shuts the server down (writing what is queued) and hands back the
    /// directory, so a test can inspect the files it left.
    pub async fn stop(self) -> tempfile::TempDir {
        self.server.shutdown().await;
        self._dir
    }

    /// The temporary directory holding the database and media.
    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }
}
