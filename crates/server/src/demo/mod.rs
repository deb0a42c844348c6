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

/// The demo's main user of a role: rep 李明, his first partner, the manager.
pub async fn main_user(
    admin: &Admin,
    role: warmlead_core::domain::Role,
) -> Result<warmlead_core::domain::User, ServerError> {
    use warmlead_core::domain::Role;
    let missing = || {
        ServerError::NotFound(
            "the demo company is not there; start the server with --demo first".into(),
        )
    };
    let company = admin.find_company(DEMO_COMPANY).await?.ok_or_else(missing)?;
    let users = admin.company_users(company.id).await?;
    let rep = users.iter().find(|u| u.role == Role::Rep && u.name == MAIN_REP);
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

pub const MAIN_REP: &str = "李明";
