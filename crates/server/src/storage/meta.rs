//! The server's secrets and epoch (table `meta`), made once and then only read.

use rand::RngCore;

use super::sql::{params, Connection, OptionalExtension};
use super::Secrets;
use crate::error::ServerError;

/// Reads the secrets, making the missing ones. Two processes starting on an
/// empty PostgreSQL database at once both try; the key's constraint keeps
/// the first and both read it back.
pub(crate) fn load_or_create_secrets(conn: &Connection) -> Result<Secrets, ServerError> {
    let mut master = vec![0u8; 32];
    rand::thread_rng().fill_bytes(&mut master);
    let master = get_or_insert(conn, "master_secret", &master)?;
    let epoch = uuid::Uuid::new_v4().to_string();
    let epoch = get_or_insert(conn, "epoch", epoch.as_bytes())?;
    Ok(Secrets {
        master,
        epoch: String::from_utf8_lossy(&epoch).into_owned(),
    })
}

fn get_or_insert(conn: &Connection, key: &str, value: &[u8]) -> Result<Vec<u8>, ServerError> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
        params![key, value],
    )?;
    let stored: Option<Vec<u8>> = conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?;
    stored.ok_or_else(|| ServerError::Config(format!("meta {key} vanished while starting")))
}
