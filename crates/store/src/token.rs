//! The session's device token and the vault that keeps it (issue 20):
//! signing in keeps it there before the session names it, a start reads it
//! from there (moving a token still in clear in an older file first), and
//! signing out forgets it there.

use warmlead_core::api::ActivateResponse;
use warmlead_secrets::{Place, Secret, Vault};

use crate::session::hold_token;
use crate::{Store, StoreError, TokenRef};

impl Store {
    /// Signs in: the token goes into `vault` (read back from there), then
    /// the session row names it. Answers where the token is kept.
    pub fn sign_in_with(
        &self,
        vault: &Vault,
        server_url: &str,
        resp: &ActivateResponse,
    ) -> Result<Place, StoreError> {
        let previous = self.token_ref()?;
        let mut token = TokenRef::fresh(vault.preferred());
        token.place = vault.put(&token.id, &Secret::new(resp.device_token.as_str()))?;
        if let Err(e) = self.save_activation(server_url, resp, &token) {
            // Not signed in: nothing may name this token, so none stays.
            let _ = vault.remove(token.place, &token.id);
            return Err(e);
        }
        if let Some(previous) = previous {
            forget_in(vault, &previous);
        }
        Ok(token.place)
    }

    /// At start: makes the session's token usable by every `Store` of this
    /// process. A file written before tokens moved out still holds it in
    /// clear: it goes into `vault` first, in steps that lose nothing if the
    /// app stops between any two (the row names the token's place; the
    /// token is written there and read back; only then is it erased here).
    /// Answers where the token is kept, None when signed out.
    pub fn unlock_token(&self, vault: &Vault) -> Result<Option<Place>, StoreError> {
        if self.session()?.is_none() {
            return Ok(None);
        }
        let named = self.token_ref()?;
        if let Some(clear) = self.token_in_clear()? {
            // A move cut short left its name: the same entry is written again.
            let mut token = named.unwrap_or_else(|| TokenRef::fresh(vault.preferred()));
            self.set_token_ref(&token)?;
            let place = vault.put(&token.id, &Secret::new(clear.as_str()))?;
            if place != token.place {
                // The keychain came or went since the move began.
                let _ = vault.remove(token.place, &token.id);
                token.place = place;
                self.set_token_ref(&token)?;
            }
            self.erase_token_in_clear(&clear)?;
            return Ok(Some(place));
        }
        let Some(token) = named else {
            return Err(StoreError::TokenUnavailable);
        };
        match vault.get(token.place, &token.id)? {
            Some(secret) => {
                hold_token(&token.id, secret.expose());
                Ok(Some(token.place))
            }
            None => Err(StoreError::TokenUnavailable),
        }
    }

    /// Where the session's token is kept (None when signed out, or while an
    /// older file still holds it in clear).
    pub fn token_place(&self) -> Result<Option<Place>, StoreError> {
        if self.token_in_clear()?.is_some() {
            return Ok(None);
        }
        Ok(self.token_ref()?.map(|t| t.place))
    }

    /// Signs out (`force`: unsynced changes too), then forgets the token in
    /// `vault`.
    pub fn sign_out_with(&self, vault: &Vault, force: bool) -> Result<(), StoreError> {
        let token = self.token_ref()?;
        if force {
            self.sign_out_force()?;
        } else {
            self.sign_out()?;
        }
        if let Some(token) = token {
            forget_in(vault, &token);
        }
        Ok(())
    }
}

/// Signing out has happened by now: a token the vault cannot forget is no
/// reason to say it has not (the server revokes it; the next sign-in gets
/// a new name).
fn forget_in(vault: &Vault, token: &TokenRef) {
    if let Err(e) = vault.remove(token.place, &token.id) {
        tracing::warn!(
            "signed out, but the old device token stays in the {}: {e}",
            token.place.as_str()
        );
    }
}
