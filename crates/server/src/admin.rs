//! Direct operations for tests, the CLI and the demo seed. They go through
//! the same storage code as the HTTP API, so they log the same changes.

use warmlead_core::api::NewContentItem;
use warmlead_core::domain::{Company, ContentItem, MediaRef, Role, Share, User, Visit};
use warmlead_core::lead::{Lead, Signal, VisitStats};

use std::path::Path;

use crate::error::ServerError;
use crate::services::{accounts, content};
pub use crate::storage::backup::{BackupReport, RestoreReport};
use crate::storage::{backup, media_extension, Database, DatabaseUrl, MediaOwner};

#[derive(Clone)]
pub struct Admin {
    pub(crate) db: Database,
}

/// What `company create` made.
#[derive(Debug, Clone)]
pub struct NewCompany {
    pub company: Company,
    pub manager: User,
    /// One-time, valid 7 days: the manager signs the desktop app in with it.
    pub activation_code: String,
}

/// A company and how many users of each role it has.
#[derive(Debug, Clone)]
pub struct CompanySummary {
    pub company: Company,
    pub managers: i64,
    pub reps: i64,
    pub partners: i64,
    pub created_at_ms: i64,
}

/// Opens (and migrates) the database at `database_url` without serving it.
pub async fn open_admin(database_url: &str) -> Result<Admin, ServerError> {
    open_admin_with(database_url, &crate::StorageOptions::default()).await
}

/// `open_admin` with the storage settings (PostgreSQL pool, media folder).
pub async fn open_admin_with(
    database_url: &str,
    storage: &crate::StorageOptions,
) -> Result<Admin, ServerError> {
    Ok(Admin {
        db: Database::open_with(database_url, storage).await?,
    })
}

impl Admin {
    pub async fn create_company(&self, name: &str) -> Result<Company, ServerError> {
        accounts::new_company(&self.db, name.to_string()).await
    }

    /// A company, its first manager and the manager's one-time activation
    /// code, in one transaction.
    pub async fn create_company_with_manager(
        &self,
        name: &str,
        manager_name: &str,
        manager_phone: &str,
    ) -> Result<NewCompany, ServerError> {
        let (company, manager, activation_code) = accounts::new_company_with_manager(
            &self.db,
            name.to_string(),
            manager_name.to_string(),
            manager_phone.to_string(),
        )
        .await?;
        Ok(NewCompany {
            company,
            manager,
            activation_code,
        })
    }

    /// Every company on this server, oldest first.
    pub async fn list_companies(&self) -> Result<Vec<CompanySummary>, ServerError> {
        Ok(accounts::list_companies(&self.db)
            .await?
            .into_iter()
            .map(|c| {
                let [managers, reps, partners] = c.per_role;
                CompanySummary {
                    company: c.company,
                    managers,
                    reps,
                    partners,
                    created_at_ms: c.created_at_ms,
                }
            })
            .collect())
    }

    pub async fn create_user(
        &self,
        company_id: i64,
        role: Role,
        name: &str,
        phone: Option<&str>,
        rep_id: Option<i64>,
    ) -> Result<User, ServerError> {
        accounts::new_user(
            &self.db,
            company_id,
            role,
            name.to_string(),
            phone.map(str::to_string),
            rep_id,
        )
        .await
    }

    /// A fresh one-time code (valid 7 days) for the user's next device.
    pub async fn create_activation_code(&self, user_id: i64) -> Result<String, ServerError> {
        accounts::activation_code(&self.db, user_id).await
    }

    pub async fn create_content_item(
        &self,
        company_id: i64,
        item: NewContentItem,
    ) -> Result<ContentItem, ServerError> {
        content::create(&self.db, company_id, None, item).await
    }

    pub async fn count_visits(&self) -> Result<i64, ServerError> {
        self.db.count_visits().await
    }

    pub async fn visits_for_share(&self, token: &str) -> Result<Vec<Visit>, ServerError> {
        self.db.visits_for_share(token.to_string()).await
    }

    /// Signals stored (after writing what is queued).
    pub async fn count_signals(&self) -> Result<i64, ServerError> {
        self.db.count_signals().await
    }

    /// The signals stored for a share, oldest first.
    pub async fn signals_for_share(&self, token: &str) -> Result<Vec<Signal>, ServerError> {
        self.db.signals_for_share(token.to_string()).await
    }

    /// Visit aggregates of a share and of the child shares forwarded from it.
    pub async fn visit_stats(&self, token: &str) -> Result<Vec<VisitStats>, ServerError> {
        self.db.visit_stats_for_share(token.to_string()).await
    }

    /// Applies a beacon directly at a given time (the demo seed; tests of
    /// time windows). `Ok(false)` when the token does not resolve.
    pub async fn beacon_at(
        &self,
        token: &str,
        page_view: &str,
        visitor_id: &str,
        dwell_ms: i64,
        at_ms: i64,
    ) -> Result<bool, ServerError> {
        let input = crate::storage::BeaconInput {
            page_view: page_view.to_string(),
            visitor_id: visitor_id.to_string(),
            dwell_ms,
            now_ms: at_ms,
            ..Default::default()
        };
        crate::services::shares::beacon(&self.db, token.to_string(), input).await
    }

    /// Leads of a company, oldest first.
    pub async fn leads(&self, company_id: i64) -> Result<Vec<Lead>, ServerError> {
        crate::services::leads::of_company(&self.db, company_id).await
    }

    pub async fn lead(&self, id: i64) -> Result<Option<Lead>, ServerError> {
        crate::services::leads::lead(&self.db, id).await
    }

    /// The retention purge, as the server's hourly job runs it.
    pub async fn purge_signals(
        &self,
        now_ms: i64,
        retention_days: u32,
    ) -> Result<crate::Purged, ServerError> {
        self.db.purge_signals(now_ms, retention_days).await
    }

    /// The media sweep, as the server's hourly job runs it at `now_ms`:
    /// media nothing uses made more than `MEDIA_SWEEP_GRACE_HOURS` before,
    /// and uploads that crashed (reservations and temp files untouched for
    /// `MEDIA_UPLOAD_STALE_MINUTES`).
    pub async fn sweep_media(&self, now_ms: i64) -> Result<crate::Swept, ServerError> {
        use warmlead_core::limits::{MEDIA_SWEEP_GRACE_HOURS, MEDIA_UPLOAD_STALE_MINUTES};
        let grace = (MEDIA_SWEEP_GRACE_HOURS * 3600 * 1000) as i64;
        let stale = (MEDIA_UPLOAD_STALE_MINUTES * 60 * 1000) as i64;
        crate::services::media::sweep(&self.db, now_ms, grace, stale).await
    }

    /// A company's media usage in bytes (its media and the room uploads
    /// under way hold), as the quota counts it.
    pub async fn media_usage(&self, company_id: i64) -> Result<i64, ServerError> {
        crate::services::media::usage(&self.db, company_id).await
    }

    /// The decay regrade, as the server's hourly job runs it: leads whose
    /// grade has cooled by `now_ms` get their new grade (and a change).
    pub async fn regrade_cooled_leads(&self, now_ms: i64) -> Result<usize, ServerError> {
        crate::services::leads::regrade_cooled(&self.db, now_ms).await
    }

    /// Waits until every tracking event queued so far is committed.
    pub async fn flush(&self) {
        self.db.flush().await
    }

    /// The share recorded with this token, as the server stored it.
    pub async fn share(&self, token: &str) -> Result<Option<Share>, ServerError> {
        self.db.share(token.to_string()).await
    }

    /// Whether the server has recorded the share with this token.
    pub async fn share_exists(&self, token: &str) -> Result<bool, ServerError> {
        Ok(self.db.share(token.to_string()).await?.is_some())
    }

    /// Media rows stored (for checking that failed uploads leave nothing).
    pub async fn count_media(&self) -> Result<i64, ServerError> {
        content::count_media(&self.db).await
    }

    /// The directory media files are written to.
    pub fn media_dir(&self) -> std::path::PathBuf {
        self.db.media_dir().to_path_buf()
    }

    /// A user by id, E.164 phone (or a number `Phone::parse` accepts) or exact name.
    pub async fn find_user(&self, spec: &str) -> Result<User, ServerError> {
        accounts::find_user(&self.db, spec.to_string()).await
    }

    pub async fn find_company(&self, name: &str) -> Result<Option<Company>, ServerError> {
        accounts::find_company(&self.db, name.to_string()).await
    }

    pub async fn company_users(&self, company_id: i64) -> Result<Vec<User>, ServerError> {
        accounts::company_users(&self.db, company_id).await
    }

    /// Stores a media file (temp file, rename, then the row), as an upload does.
    /// Sets (or clears) the company's poster template, as a manager's
    /// `PUT /api/v1/company/poster-artwork` does.
    pub async fn set_poster_artwork(
        &self,
        company_id: i64,
        media_id: Option<i64>,
    ) -> Result<Company, ServerError> {
        accounts::set_poster_artwork(&self.db, company_id, media_id).await
    }

    /// Sets the company's whole profile, as a manager's
    /// `PUT /api/v1/company/profile` does (the demo's seed).
    pub async fn set_company_profile(
        &self,
        company_id: i64,
        profile: warmlead_core::company::CompanyProfile,
    ) -> Result<Company, ServerError> {
        accounts::set_company_profile(&self.db, company_id, profile).await
    }

    /// Sets (or clears) the company's poster slogan, as a manager's
    /// `PUT /api/v1/company/poster-slogan` does.
    pub async fn set_poster_slogan(
        &self,
        company_id: i64,
        slogan: Option<&str>,
    ) -> Result<Company, ServerError> {
        accounts::set_poster_slogan(&self.db, company_id, slogan.map(str::to_string)).await
    }

    pub async fn store_media(
        &self,
        company_id: i64,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<MediaRef, ServerError> {
        let ext = media_extension(content_type).ok_or_else(|| {
            ServerError::InvalidInput(format!("unsupported media type {content_type:?}"))
        })?;
        let dir = self.db.media_dir().to_path_buf();
        let tmp = dir.join(format!(".upload-{}", uuid::Uuid::new_v4()));
        let name = format!("{}.{ext}", uuid::Uuid::new_v4());
        let size = bytes.len() as i64;
        let write = async {
            tokio::fs::write(&tmp, &bytes).await?;
            tokio::fs::rename(&tmp, dir.join(&name)).await
        };
        if let Err(e) = write.await {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(e.into());
        }
        let owner = MediaOwner {
            company_id,
            uploaded_by: None,
        };
        let inserted = content::store_media(
            &self.db,
            owner,
            content_type.to_string(),
            size,
            name.clone(),
            None,
        )
        .await;
        if inserted.is_err() {
            let _ = tokio::fs::remove_file(dir.join(&name)).await;
        }
        inserted
    }
}

/// Backup and restore work on the database file, not through a running
/// server (see `storage::backup`).
impl Admin {
    /// A consistent copy of the database at `database_url` (safe while the
    /// server is serving) at `to`, and its media in `media/` beside `to`.
    /// Refuses to replace an existing `to` unless `force`.
    pub fn backup(database_url: &str, to: &Path, force: bool) -> Result<BackupReport, ServerError> {
        backup::backup(&sqlite_file(database_url)?, to, force)
    }

    /// Puts the backup `from` in place of the database at `database_url`
    /// (server stopped; refused while the file is in use) with a new epoch,
    /// keeping the replaced file beside it.
    pub fn restore(database_url: &str, from: &Path) -> Result<RestoreReport, ServerError> {
        backup::restore(from, &sqlite_file(database_url)?)
    }
}

/// The SQLite file of `database_url`; PostgreSQL is backed up with its own tools.
fn sqlite_file(database_url: &str) -> Result<std::path::PathBuf, ServerError> {
    match DatabaseUrl::parse(database_url)? {
        DatabaseUrl::Sqlite(path) => Ok(path),
        DatabaseUrl::Postgres(_) => Err(ServerError::Config(
            "backup and restore here are for the SQLite file; back up PostgreSQL with pg_dump --format=custom and restore with pg_restore (see the README)".into(),
        )),
    }
}
