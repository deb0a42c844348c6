//! Every event the app emits to the window, in one list: its name and its
//! payload's type. Emitters send through these constants (`Event::emit`
//! takes only the declared payload), and the UI's listeners are generated
//! from the same list (`bridge.rs` -> `ui/src/bindings/bridge.ts`).

use std::marker::PhantomData;

use serde::Serialize;
use tauri::{Emitter, Runtime};
use ts_rs::TS;
use warmlead_core::app::{LinkActivation, SignedOut, SyncStatus, UpdateStatus};

/// An event's name, typed by its payload.
pub struct Event<P> {
    pub name: &'static str,
    payload: PhantomData<fn(P)>,
}

impl<P: Serialize + Clone> Event<P> {
    const fn new(name: &'static str) -> Event<P> {
        Event {
            name,
            payload: PhantomData,
        }
    }

    /// Sends `payload` to the window. A failure (the window is closing) is
    /// only logged: nothing waits for an event.
    // The one place allowed to emit (src-tauri/clippy.toml).
    #[allow(clippy::disallowed_methods)]
    pub fn emit<R: Runtime>(&self, to: &impl Emitter<R>, payload: P) {
        if let Err(e) = to.emit(self.name, payload) {
            tracing::warn!("cannot emit {}: {e}", self.name);
        }
    }
}

/// While a media upload runs (`upload_media`): bytes sent of the total.
#[derive(Clone, Serialize, TS)]
pub struct UploadProgress {
    /// The id the UI gave the upload.
    pub upload_id: String,
    pub sent: u64,
    pub total: u64,
}

/// Declares each event's constant and, for the tests that render the
/// TypeScript, the list of all of them.
macro_rules! events {
    ($($(#[doc = $doc:literal])+ $name:ident: $payload:ty = $wire:literal;)+) => {
        $($(#[doc = $doc])+ pub const $name: Event<$payload> = Event::new($wire);)+

        /// Every event, in this order, for the generated TypeScript.
        #[cfg(test)]
        pub fn signatures(cfg: &ts_rs::Config) -> Vec<crate::bridge::EventSig> {
            vec![$(crate::bridge::EventSig::new::<$payload>(
                cfg,
                stringify!($name),
                $wire,
                &[$($doc),+],
            )),+]
        }
    };
}

events! {
    /// A `SyncStatus` on every change of the sync engine's state.
    SYNC_STATUS: SyncStatus = "sync-status";
    /// After every sync that pulled main-stream changes: new or changed
    /// partners, invitations, SMS records, content, shares, visits.
    SYNC_CHANGED: () = "sync-changed";
    /// After every sync that brought radar changes (leads, signals, visits).
    RADAR_CHANGED: () = "radar-changed";
    /// A `warmlead://activate` link arrived while the window was open and
    /// not signed in: ask the person, naming its host, before it is used.
    DEEP_LINK_PENDING: LinkActivation = "deep-link-pending";
    /// A `warmlead://` link was not used; the payload says why (in Chinese, then English).
    DEEP_LINK_REFUSED: String = "deep-link-refused";
    /// The company switched this account or device off; the cache is wiped.
    SIGNED_OUT: SignedOut = "signed-out";
    /// Progress of a running media upload.
    UPLOAD_PROGRESS: UploadProgress = "upload-progress";
    /// After each update check that the server answered, and when an install was refused.
    UPDATE_STATUS: UpdateStatus = "update-status";
}

/// The payload types declared in this crate, rendered like warmlead-core's
/// (file name, TypeScript).
#[cfg(test)]
pub fn local_types(cfg: &ts_rs::Config) -> Vec<(String, String)> {
    vec![(
        format!("{}.ts", UploadProgress::name(cfg)),
        UploadProgress::export_to_string(cfg).expect("render UploadProgress"),
    )]
}
