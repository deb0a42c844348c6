//! Companies, users, devices and activation codes in the SQL both
//! databases share ([`AccountStore`]; the interface and its row types are
//! `account_store.rs`, the rules and orchestration `services::accounts`).
//! `B` is the backend's own part, telling other processes that cached
//! shares are stale ([`SharesNotice`]).

use std::collections::HashMap;
use std::marker::PhantomData;

use crate::storage::sql::{self, params, Connection, OptionalExtension, Row};
use sha2::{Digest, Sha256};
use warmlead_core::activation::Window;
use warmlead_core::api::{DeviceInfo, OpenCode};
use warmlead_core::company::CleanProfile;
use warmlead_core::domain::{Company, MediaRef, Role, User};
use warmlead_core::invite::PartnerSource;
use warmlead_core::sync::ChangeBody;

use super::account_store::{
    AccountStore, CodeState, CompanyCounts, DeviceOwner, SharesNotice, TeamRows, TokenDevice,
};
use super::changes::{self, Scope};
use crate::error::ServerError;

pub(crate) use warmlead_core::domain::normalize_code;

pub(crate) fn sha256(data: &[u8]) -> Vec<u8> {
    Sha256::digest(data).to_vec()
}

pub(crate) struct AccountSql<'c, B> {
    conn: &'c Connection,
    backend: PhantomData<B>,
}

impl<'c, B> AccountSql<'c, B> {
    pub(crate) fn new(conn: &'c Connection) -> Self {
        AccountSql {
            conn,
            backend: PhantomData,
        }
    }
}

fn user_from_row(r: &Row) -> sql::Result<User> {
    let role: String = r.get(2)?;
    Ok(User {
        id: r.get(0)?,
        company_id: r.get(1)?,
        role: Role::parse(&role).unwrap_or(Role::Partner),
        name: r.get(3)?,
        phone: r.get(4)?,
        rep_id: r.get(5)?,
        joined_at_ms: r.get(6)?,
        source: r
            .get::<_, Option<String>>(7)?
            .as_deref()
            .and_then(PartnerSource::parse),
        invited_by: r.get(8)?,
        invitation_id: r.get(9)?,
    })
}

const USER_COLS: &str =
    "id, company_id, role, name, phone, rep_id, created_at, source, invited_by, invitation_id";

/// Companies with their poster artwork's and logo's media, if any.
const COMPANY_SELECT: &str =
    "SELECT c.id, c.name, m.id, m.content_type, m.size, m.public_key, c.poster_slogan,
            l.id, l.content_type, l.size, l.public_key, c.commission_promise
     FROM companies c LEFT JOIN media m ON m.id = c.poster_media_id
     LEFT JOIN media l ON l.id = c.logo_media_id";

/// The media reference in columns `at..at + 4` (id, type, size, key), if any.
fn media_at(r: &Row, at: usize) -> sql::Result<Option<MediaRef>> {
    let id: Option<i64> = r.get(at)?;
    Ok(match id {
        Some(id) => Some(MediaRef {
            id,
            content_type: r.get(at + 1)?,
            size: r.get(at + 2)?,
            key: r.get(at + 3)?,
        }),
        None => None,
    })
}

fn company_from_row(r: &Row) -> sql::Result<Company> {
    Ok(Company {
        id: r.get(0)?,
        name: r.get(1)?,
        poster_artwork: media_at(r, 2)?,
        poster_slogan: r.get(6)?,
        logo: media_at(r, 7)?,
        commission_promise: r.get(11)?,
    })
}

fn window_of((start_ms, hits): (i64, i64)) -> Window {
    Window { start_ms, hits }
}

impl<'c, B> AccountSql<'c, B> {
    fn users_where(
        &self,
        condition: &str,
        args: impl sql::Params,
    ) -> Result<Vec<User>, ServerError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {USER_COLS} FROM users WHERE {condition} ORDER BY id"
        ))?;
        let users = stmt.query_map(args, user_from_row)?;
        Ok(users.collect::<Result<_, _>>()?)
    }

    /// Per user id of a company: one count from `sql` (`?1` the company,
    /// `?2` `since`), whose rows are (user id, count).
    fn counts(
        &self,
        sql: &str,
        company_id: i64,
        since: i64,
    ) -> Result<HashMap<i64, i64>, ServerError> {
        Ok(self
            .conn
            .prepare_cached(sql)?
            .query_map(params![company_id, since], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?)
    }

    fn partners_per_rep(&self, company_id: i64) -> Result<HashMap<i64, i64>, ServerError> {
        self.counts(
            "SELECT rep_id, CAST(COUNT(*) AS BIGINT) FROM users
             WHERE company_id = ?1 AND role = 'partner' AND rep_id IS NOT NULL AND ?2 = ?2
             GROUP BY rep_id",
            company_id,
            0,
        )
    }

    /// Leads per rep and per partner (a user is one or the other).
    fn leads_per_user(&self, company_id: i64) -> Result<HashMap<i64, i64>, ServerError> {
        let mut leads = self.counts(
            "SELECT rep_id, CAST(COUNT(*) AS BIGINT) FROM leads
             WHERE company_id = ?1 AND rep_id IS NOT NULL AND ?2 = ?2 GROUP BY rep_id",
            company_id,
            0,
        )?;
        leads.extend(self.counts(
            "SELECT partner_id, CAST(COUNT(*) AS BIGINT) FROM leads
             WHERE company_id = ?1 AND ?2 = ?2 GROUP BY partner_id",
            company_id,
            0,
        )?);
        Ok(leads)
    }

    /// Shares since `since` per partner, and per rep of their own.
    fn shares_per_user(
        &self,
        company_id: i64,
        since: i64,
    ) -> Result<HashMap<i64, i64>, ServerError> {
        let mut shares = self.counts(
            "SELECT s.partner_id, CAST(COUNT(*) AS BIGINT) FROM shares s
             JOIN users u ON u.id = s.partner_id
             WHERE u.company_id = ?1 AND s.created_at >= ?2 GROUP BY s.partner_id",
            company_id,
            since,
        )?;
        shares.extend(self.counts(
            "SELECT s.rep_id, CAST(COUNT(*) AS BIGINT) FROM shares s
             JOIN users u ON u.id = s.rep_id
             WHERE u.company_id = ?1 AND s.created_at >= ?2 AND s.rep_id <> s.partner_id
             GROUP BY s.rep_id",
            company_id,
            since,
        )?);
        Ok(shares)
    }

    fn devices_of_company(&self, company_id: i64) -> Result<Vec<(i64, DeviceInfo)>, ServerError> {
        Ok(self
            .conn
            .prepare(
                "SELECT d.user_id, d.id, d.name, d.created_at, d.revoked_at, d.last_seen_at
                 FROM devices d JOIN users u ON u.id = d.user_id
                 WHERE u.company_id = ?1 ORDER BY d.id",
            )?
            .query_map([company_id], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    DeviceInfo {
                        id: r.get(1)?,
                        name: r.get(2)?,
                        created_at_ms: r.get(3)?,
                        revoked_at_ms: r.get(4)?,
                        last_seen_at_ms: r.get(5)?,
                    },
                ))
            })?
            .collect::<Result<_, _>>()?)
    }

    fn open_codes_of_company(
        &self,
        company_id: i64,
        now: i64,
    ) -> Result<Vec<(i64, OpenCode)>, ServerError> {
        Ok(self
            .conn
            .prepare(
                "SELECT a.user_id, a.id, a.created_at, a.expires_at
                 FROM activation_codes a JOIN users u ON u.id = a.user_id
                 WHERE u.company_id = ?1 AND a.used_at IS NULL AND a.revoked_at IS NULL
                   AND a.expires_at > ?2
                 ORDER BY a.id",
            )?
            .query_map(params![company_id, now], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    OpenCode {
                        id: r.get(1)?,
                        created_at_ms: r.get(2)?,
                        expires_at_ms: r.get(3)?,
                    },
                ))
            })?
            .collect::<Result<_, _>>()?)
    }
}

impl<B: SharesNotice> AccountStore for AccountSql<'_, B> {
    fn insert_company(&self, name: &str, now: i64) -> Result<Company, ServerError> {
        let id = self.conn.query_row(
            "INSERT INTO companies (name, created_at) VALUES (?1, ?2) RETURNING id",
            params![name, now],
            |r| r.get::<_, i64>(0),
        )?;
        let company = Company {
            id,
            name: name.to_string(),
            poster_artwork: None,
            poster_slogan: None,
            logo: None,
            commission_promise: None,
        };
        changes::append(
            self.conn,
            id,
            Scope::Company,
            &ChangeBody::Company(company.clone()),
            now,
        )?;
        Ok(company)
    }

    fn company(&self, id: i64) -> Result<Option<Company>, ServerError> {
        Ok(self
            .conn
            .query_row(
                &format!("{COMPANY_SELECT} WHERE c.id = ?1"),
                [id],
                company_from_row,
            )
            .optional()?)
    }

    fn company_named(&self, name: &str) -> Result<Option<Company>, ServerError> {
        Ok(self
            .conn
            .query_row(
                &format!("{COMPANY_SELECT} WHERE c.name = ?1 ORDER BY c.id LIMIT 1"),
                [name],
                company_from_row,
            )
            .optional()?)
    }

    fn company_ids(&self, limit: i64) -> Result<Vec<i64>, ServerError> {
        Ok(self
            .conn
            .prepare("SELECT id FROM companies ORDER BY id LIMIT ?1")?
            .query_map([limit], |r| r.get(0))?
            .collect::<Result<_, _>>()?)
    }

    fn company_counts(&self) -> Result<Vec<CompanyCounts>, ServerError> {
        let rows: Vec<(i64, [i64; 3], i64)> = self
            .conn
            .prepare(
                "SELECT c.id, c.created_at,
                        CAST(COUNT(CASE WHEN u.role = 'manager' THEN 1 END) AS BIGINT),
                        CAST(COUNT(CASE WHEN u.role = 'rep' THEN 1 END) AS BIGINT),
                        CAST(COUNT(CASE WHEN u.role = 'partner' THEN 1 END) AS BIGINT)
                 FROM companies c LEFT JOIN users u ON u.company_id = c.id
                 GROUP BY c.id, c.created_at ORDER BY c.id",
            )?
            .query_map((), |r| {
                Ok((r.get(0)?, [r.get(2)?, r.get(3)?, r.get(4)?], r.get(1)?))
            })?
            .collect::<Result<_, _>>()?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, per_role, created_at_ms) in rows {
            if let Some(company) = self.company(id)? {
                out.push(CompanyCounts {
                    company,
                    per_role,
                    created_at_ms,
                });
            }
        }
        Ok(out)
    }

    fn company_media(
        &self,
        company_id: i64,
        id: i64,
    ) -> Result<Option<(String, i64)>, ServerError> {
        Ok(self
            .conn
            .query_row(
                "SELECT content_type, size FROM media WHERE id = ?1 AND company_id = ?2",
                params![id, company_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    fn set_poster_media(&self, company_id: i64, media_id: Option<i64>) -> Result<(), ServerError> {
        self.conn.execute(
            "UPDATE companies SET poster_media_id = ?1 WHERE id = ?2",
            params![media_id, company_id],
        )?;
        Ok(())
    }

    fn set_poster_slogan(&self, company_id: i64, slogan: Option<&str>) -> Result<(), ServerError> {
        self.conn.execute(
            "UPDATE companies SET poster_slogan = ?1 WHERE id = ?2",
            params![slogan, company_id],
        )?;
        Ok(())
    }

    fn set_profile(&self, company_id: i64, p: &CleanProfile) -> Result<(), ServerError> {
        self.conn.execute(
            "UPDATE companies SET name = ?1, logo_media_id = ?2, poster_slogan = ?3,
                    commission_promise = ?4
             WHERE id = ?5",
            params![
                p.name,
                p.logo_media_id,
                p.poster_slogan,
                p.commission_promise,
                company_id
            ],
        )?;
        Ok(())
    }

    fn announce_company(&self, company_id: i64, now: i64) -> Result<Company, ServerError> {
        let company = self
            .company(company_id)?
            .ok_or_else(|| ServerError::NotFound(format!("no company {company_id}")))?;
        changes::append(
            self.conn,
            company.id,
            Scope::Company,
            &ChangeBody::Company(company.clone()),
            now,
        )?;
        Ok(company)
    }

    fn shares_changed(&self, company_id: i64) -> Result<(), ServerError> {
        B::shares_changed(self.conn, company_id)
    }

    fn user(&self, id: i64) -> Result<Option<User>, ServerError> {
        Ok(self.users_where("id = ?1", [id])?.pop())
    }

    fn user_in(&self, company_id: i64, id: i64) -> Result<Option<User>, ServerError> {
        Ok(self
            .users_where("id = ?1 AND company_id = ?2", params![id, company_id])?
            .pop())
    }

    fn user_by_phone(&self, company_id: i64, phone: &str) -> Result<Option<User>, ServerError> {
        Ok(self
            .users_where("company_id = ?1 AND phone = ?2", params![company_id, phone])?
            .into_iter()
            .next())
    }

    fn users_of(&self, company_id: i64) -> Result<Vec<User>, ServerError> {
        self.users_where("company_id = ?1", [company_id])
    }

    fn users_with_phone(&self, phone: &str) -> Result<Vec<User>, ServerError> {
        self.users_where("phone = ?1", [phone])
    }

    fn users_named(&self, name: &str) -> Result<Vec<User>, ServerError> {
        self.users_where("name = ?1", [name])
    }

    fn insert_user(&self, user: &User) -> Result<Option<User>, ServerError> {
        let inserted = self.conn.savepoint(|sp| {
            sp.prepare_cached(
                "INSERT INTO users (company_id, role, name, phone, rep_id, created_at,
                                    source, invited_by, invitation_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING id",
            )?
            .query_row(
                params![
                    user.company_id,
                    user.role.as_str(),
                    user.name,
                    user.phone,
                    user.rep_id,
                    user.joined_at_ms,
                    user.source.map(PartnerSource::as_str),
                    user.invited_by,
                    user.invitation_id
                ],
                |r| r.get::<_, i64>(0),
            )
        });
        match inserted {
            Ok(id) => Ok(Some(User { id, ..user.clone() })),
            Err(sql::Error::Unique(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn rename_user(&self, company_id: i64, id: i64, name: &str) -> Result<(), ServerError> {
        self.conn.execute(
            "UPDATE users SET name = ?1 WHERE id = ?2 AND company_id = ?3",
            params![name, id, company_id],
        )?;
        Ok(())
    }

    fn announce_user(&self, user: &User, now: i64) -> Result<(), ServerError> {
        changes::append(
            self.conn,
            user.company_id,
            changes::user_scope(user),
            &ChangeBody::User(user.clone()),
            now,
        )?;
        Ok(())
    }

    fn off_since(&self, id: i64) -> Result<Option<i64>, ServerError> {
        let at: Option<Option<i64>> = self
            .conn
            .query_row(
                "SELECT deactivated_at FROM users WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(at.flatten())
    }

    fn switch_off(&self, company_id: i64, id: i64, now: i64) -> Result<(), ServerError> {
        self.conn.execute(
            "UPDATE users SET deactivated_at = COALESCE(deactivated_at, ?1)
             WHERE id = ?2 AND company_id = ?3",
            params![now, id, company_id],
        )?;
        Ok(())
    }

    fn switch_on(&self, company_id: i64, id: i64) -> Result<(), ServerError> {
        self.conn.execute(
            "UPDATE users SET deactivated_at = NULL WHERE id = ?1 AND company_id = ?2",
            params![id, company_id],
        )?;
        Ok(())
    }

    fn insert_device(
        &self,
        user_id: i64,
        name: &str,
        token_hash: &[u8],
        now: i64,
    ) -> Result<i64, ServerError> {
        Ok(self.conn.query_row(
            "INSERT INTO devices (user_id, name, token_hash, created_at)
             VALUES (?1, ?2, ?3, ?4) RETURNING id",
            params![user_id, name, token_hash, now],
            |r| r.get::<_, i64>(0),
        )?)
    }

    fn device_by_token(&self, token_hash: &[u8]) -> Result<Option<TokenDevice>, ServerError> {
        Ok(self
            .conn
            .query_row(
                "SELECT d.id, d.user_id, d.revoked_at, u.deactivated_at, d.last_seen_at
                 FROM devices d JOIN users u ON u.id = d.user_id WHERE d.token_hash = ?1",
                [token_hash],
                |r| {
                    Ok(TokenDevice {
                        device_id: r.get(0)?,
                        user_id: r.get(1)?,
                        revoked_at_ms: r.get(2)?,
                        off_since_ms: r.get(3)?,
                        last_seen_ms: r.get(4)?,
                    })
                },
            )
            .optional()?)
    }

    fn device_owner(&self, device_id: i64) -> Result<Option<DeviceOwner>, ServerError> {
        let row: Option<(i64, Option<i64>, Option<i64>)> = self
            .conn
            .query_row(
                "SELECT d.user_id, d.revoked_at, u.deactivated_at
                 FROM devices d JOIN users u ON u.id = d.user_id WHERE d.id = ?1",
                [device_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((user_id, revoked_at_ms, off_since_ms)) = row else {
            return Ok(None);
        };
        Ok(self.user(user_id)?.map(|user| DeviceOwner {
            user,
            revoked_at_ms,
            off_since_ms,
        }))
    }

    fn device_is_live(&self, device_id: i64) -> Result<bool, ServerError> {
        let live: Option<i64> = self
            .conn
            .query_row(
                "SELECT d.id FROM devices d JOIN users u ON u.id = d.user_id
                 WHERE d.id = ?1 AND d.revoked_at IS NULL AND u.deactivated_at IS NULL",
                [device_id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(live.is_some())
    }

    fn device_user_in(&self, company_id: i64, id: i64) -> Result<Option<i64>, ServerError> {
        Ok(self
            .conn
            .query_row(
                "SELECT d.user_id FROM devices d JOIN users u ON u.id = d.user_id
                 WHERE d.id = ?1 AND u.company_id = ?2",
                params![id, company_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn revoke_device(&self, id: i64, now: i64) -> Result<(), ServerError> {
        self.conn.execute(
            "UPDATE devices SET revoked_at = COALESCE(revoked_at, ?1) WHERE id = ?2",
            params![now, id],
        )?;
        Ok(())
    }

    fn touch_device(&self, id: i64, now: i64) -> Result<(), ServerError> {
        self.conn.execute(
            "UPDATE devices SET last_seen_at = ?1 WHERE id = ?2",
            params![now, id],
        )?;
        Ok(())
    }

    fn insert_code(
        &self,
        user_id: i64,
        code_hash: &[u8],
        now: i64,
        expires_at_ms: i64,
    ) -> Result<Option<i64>, ServerError> {
        let made = self.conn.savepoint(|sp| {
            sp.execute(
                "UPDATE activation_codes SET revoked_at = ?1
                 WHERE user_id = ?2 AND used_at IS NULL AND revoked_at IS NULL",
                params![now, user_id],
            )?;
            sp.query_row(
                "INSERT INTO activation_codes (code_hash, user_id, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4) RETURNING id",
                params![code_hash, user_id, now, expires_at_ms],
                |r| r.get::<_, i64>(0),
            )
        });
        match made {
            Ok(id) => Ok(Some(id)),
            Err(sql::Error::Unique(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn code_state(&self, code_hash: &[u8]) -> Result<Option<CodeState>, ServerError> {
        Ok(self
            .conn
            .query_row(
                "SELECT expires_at, used_at, revoked_at FROM activation_codes
                 WHERE code_hash = ?1",
                [code_hash],
                |r| {
                    Ok(CodeState {
                        expires_at_ms: r.get(0)?,
                        used_at_ms: r.get(1)?,
                        revoked_at_ms: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    fn spend_code(&self, code_hash: &[u8], now: i64) -> Result<Option<i64>, ServerError> {
        Ok(self
            .conn
            .query_row(
                "UPDATE activation_codes SET used_at = ?1
                 WHERE code_hash = ?2 AND used_at IS NULL AND revoked_at IS NULL
                       AND expires_at > ?1
                 RETURNING user_id",
                params![now, code_hash],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn has_code(&self, user_id: i64, id: i64) -> Result<bool, ServerError> {
        let found: Option<i64> = self
            .conn
            .query_row(
                "SELECT id FROM activation_codes WHERE id = ?1 AND user_id = ?2",
                params![id, user_id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(found.is_some())
    }

    fn revoke_code(&self, user_id: i64, id: i64, now: i64) -> Result<(), ServerError> {
        self.conn.execute(
            "UPDATE activation_codes SET revoked_at = ?1
             WHERE id = ?2 AND user_id = ?3 AND used_at IS NULL AND revoked_at IS NULL",
            params![now, id, user_id],
        )?;
        Ok(())
    }

    fn is_open_code_of(
        &self,
        user_id: i64,
        code_hash: &[u8],
        now: i64,
    ) -> Result<bool, ServerError> {
        let open: Option<i64> = self
            .conn
            .query_row(
                "SELECT user_id FROM activation_codes
                 WHERE code_hash = ?1 AND user_id = ?2 AND used_at IS NULL
                       AND revoked_at IS NULL AND expires_at > ?3",
                params![code_hash, user_id, now],
                |r| r.get(0),
            )
            .optional()?;
        Ok(open.is_some())
    }

    fn attempt_window(&self, key: &str) -> Result<Option<Window>, ServerError> {
        Ok(super::limits::window(self.conn, key)?.map(window_of))
    }

    fn count_attempt(&self, key: &str, now: i64, window_ms: i64) -> Result<Window, ServerError> {
        Ok(window_of(super::limits::hit_window(
            self.conn, key, now, window_ms,
        )?))
    }

    fn uncount_attempt(&self, key: &str, start_ms: i64) -> Result<(), ServerError> {
        super::limits::unhit(self.conn, key, start_ms)
    }

    fn team_rows(&self, company_id: i64, since: i64, now: i64) -> Result<TeamRows, ServerError> {
        let off_since = self
            .conn
            .prepare(
                "SELECT id, deactivated_at FROM users
                 WHERE company_id = ?1 AND deactivated_at IS NOT NULL",
            )?
            .query_map([company_id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        Ok(TeamRows {
            partners: self.partners_per_rep(company_id)?,
            leads: self.leads_per_user(company_id)?,
            shares: self.shares_per_user(company_id, since)?,
            users: self.users_of(company_id)?,
            off_since,
            devices: self.devices_of_company(company_id)?,
            open_codes: self.open_codes_of_company(company_id, now)?,
        })
    }
}

/// The first storage tests (and the tracking tests) make their company and
/// people on a bare connection: the service's rules, on that transaction.
#[cfg(test)]
pub(crate) fn create_company(conn: &Connection, name: &str) -> Result<Company, ServerError> {
    crate::services::accounts::create_company(&test_stores(conn), name, super::now_ms())
}

/// See [`create_company`].
#[cfg(test)]
pub(crate) fn create_user(
    conn: &Connection,
    company_id: i64,
    role: Role,
    name: &str,
    phone: Option<&str>,
    rep_id: Option<i64>,
) -> Result<User, ServerError> {
    let new = crate::services::accounts::NewUser {
        company_id,
        role,
        name,
        phone,
        rep_id,
    };
    crate::services::accounts::create_user(&test_stores(conn), &new, super::now_ms())
}

/// Stores over `conn` for tests that need no secrets.
#[cfg(test)]
fn test_stores(conn: &Connection) -> super::Stores<'_> {
    static SECRETS: std::sync::OnceLock<super::Secrets> = std::sync::OnceLock::new();
    let secrets = SECRETS.get_or_init(|| super::Secrets {
        master: vec![7; 32],
        epoch: "test".into(),
    });
    super::Stores::new(conn, secrets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::accounts::{new_code, spend_code};
    use crate::storage::testdb;

    /// A rep of a new company, made and committed on `conn`.
    fn rep(conn: &Connection) -> User {
        testdb::begin(conn);
        let company = create_company(conn, "测试公司").unwrap();
        let rep = create_user(conn, company.id, Role::Rep, "李明", None, None).unwrap();
        conn.execute_batch("COMMIT").unwrap();
        rep
    }

    fn count(conn: &Connection, sql: &str, user_id: i64) -> i64 {
        conn.query_row(sql, [user_id], |r| r.get(0)).unwrap()
    }

    /// Two devices spend one code at once on PostgreSQL (READ COMMITTED):
    /// the first has spent it and made its device but not committed when
    /// the second starts, which then waits on the code's row. Once the
    /// first commits, the second must be told the code is used, not make a
    /// second device. (SQLite: the second waits to begin, with the same end.)
    #[test]
    fn two_devices_spending_one_code_at_once_get_one_device() {
        let (mut conns, _dir) = testdb::racing_connections(3);
        let (first, second, watcher) = (conns.remove(0), conns.remove(0), conns.remove(0));
        let rep = rep(&first);
        testdb::begin(&first);
        let (_, code) = new_code(&test_stores(&first), rep.id, super::super::now_ms()).unwrap();
        first.execute_batch("COMMIT").unwrap();

        testdb::begin(&first);
        let now = super::super::now_ms();
        spend_code(&test_stores(&first), &code, "first laptop", now).unwrap();
        let racing = code.clone();
        let racer = std::thread::spawn(move || {
            testdb::begin(&second);
            let got = spend_code(&test_stores(&second), &racing, "second laptop", now)
                .map(|a| a.device_id);
            let end = if got.is_ok() { "COMMIT" } else { "ROLLBACK" };
            second.execute_batch(end).unwrap();
            got
        });
        testdb::wait_for_lock_waiter(&watcher);
        first.execute_batch("COMMIT").unwrap();
        let second = racer.join().unwrap();

        let err = second.expect_err("the code was spent by the first device");
        assert!(
            matches!(&err, ServerError::Unauthorized(m) if m.contains("already been used")),
            "{err:?}"
        );
        assert_eq!(
            count(
                &watcher,
                "SELECT COUNT(*) FROM devices WHERE user_id = ?1",
                rep.id
            ),
            1
        );
    }

    /// Two codes for one person issued at once on PostgreSQL: the second
    /// waits for the first (the one-open-code index), then retires it; one
    /// code stays open, the newer.
    #[test]
    fn two_codes_issued_at_once_leave_one_open() {
        let (mut conns, _dir) = testdb::racing_connections(3);
        let (first, second, watcher) = (conns.remove(0), conns.remove(0), conns.remove(0));
        let rep = rep(&first);
        testdb::begin(&first);
        let now = super::super::now_ms();
        let (first_id, _) = new_code(&test_stores(&first), rep.id, now).unwrap();
        let user_id = rep.id;
        let racer = std::thread::spawn(move || {
            testdb::begin(&second);
            let (id, _) = new_code(&test_stores(&second), user_id, now).unwrap();
            second.execute_batch("COMMIT").unwrap();
            id
        });
        testdb::wait_for_lock_waiter(&watcher);
        first.execute_batch("COMMIT").unwrap();
        let second_id = racer.join().unwrap();
        assert!(second_id > first_id);
        let open: Vec<i64> = watcher
            .prepare(
                "SELECT id FROM activation_codes
                 WHERE user_id = ?1 AND used_at IS NULL AND revoked_at IS NULL",
            )
            .unwrap()
            .query_map([rep.id], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(open, [second_id]);
    }
}
