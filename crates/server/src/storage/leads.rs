//! Leads: made from the contact form, merged by phone within a company,
//! scored from their visitors' signals.

use rusqlite::Connection;

use super::signals::Touched;
use crate::error::ServerError;

/// Rescores the leads whose visitors' signals changed in a tracking batch.
pub(crate) fn after_signals(
    _tx: &Connection,
    _touched: &Touched,
    _now: i64,
) -> Result<(), ServerError> {
    Ok(())
}

/// The rep of the lead (or a manager) records MAN; the lead is regraded.
pub(crate) fn set_man_flags(
    _tx: &Connection,
    _caller: &super::Caller,
    lead_id: i64,
    _man: warmlead_core::lead::ManFlags,
) -> Result<(), ServerError> {
    Err(ServerError::NotFound(format!("no lead {lead_id}")))
}
