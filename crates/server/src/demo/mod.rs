//! The demo company (UI.md): seeded once, through the same code paths.

use crate::{Admin, ServerError};

pub const DEMO_COMPANY: &str = "暖居装修";

pub async fn seed(admin: &Admin) -> Result<(), ServerError> {
    if admin.find_company(DEMO_COMPANY).await?.is_some() {
        return Ok(());
    }
    let _ = admin.create_company(DEMO_COMPANY).await?;
    Ok(())
}
