//! The doctor's probe of the public URL: `GET /healthz/doctor?nonce=&mac=`.
//!
//! Both ends hold the database's master secret (the server loaded it, the
//! doctor reads it from the same database), so each proves itself to the
//! other with a MAC over a fresh nonce: the server answers only a doctor of
//! its own database (anyone else learns nothing, not even the proxy's
//! address), and the doctor knows the answer came from a server on this
//! database, not from another Warmlead server or a stale proxy upstream.
//! The MAC key is derived for this probe alone, so answering it signs
//! nothing that counts anywhere else.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Where the probe is served.
pub const PATH: &str = "/healthz/doctor";

/// Longest nonce accepted (the doctor sends 32 characters).
pub(crate) const MAX_NONCE_CHARS: usize = 128;

/// What the server saw of the doctor's request, and how it is set up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeAnswer {
    /// MAC over "answer" and the nonce: the server holds this database's secret.
    pub proof: String,
    /// The base of the links this server hands out.
    pub public_url: String,
    /// The TCP peer: the doctor, or the proxy in front.
    pub peer: String,
    /// Whether `peer` is one of the server's trusted proxies.
    pub peer_trusted: bool,
    /// Whether the request carried `X-Forwarded-For`, `X-Real-IP` or `Forwarded`.
    pub forwarded: bool,
    /// Whether any trusted proxy is configured.
    pub trusted_proxies_set: bool,
}

fn mac(master: &[u8], purpose: &str, nonce: &str) -> Hmac<Sha256> {
    let mut derive =
        <Hmac<Sha256> as Mac>::new_from_slice(master).expect("HMAC accepts keys of any length");
    derive.update(b"warmlead doctor probe v1");
    let key = derive.finalize().into_bytes();
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(&key).expect("HMAC accepts keys of any length");
    mac.update(purpose.as_bytes());
    mac.update(b"\n");
    mac.update(nonce.as_bytes());
    mac
}

fn encode(mac: Hmac<Sha256>) -> String {
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

fn verify(mac: Hmac<Sha256>, claimed: &str) -> bool {
    URL_SAFE_NO_PAD
        .decode(claimed)
        .is_ok_and(|bytes| mac.verify_slice(&bytes).is_ok())
}

/// The doctor's side: the MAC it sends with `nonce`.
pub(crate) fn request_mac(master: &[u8], nonce: &str) -> String {
    encode(mac(master, "ask", nonce))
}

/// The server's side: whether the request was made with this database's secret.
pub(crate) fn verify_request(master: &[u8], nonce: &str, claimed: &str) -> bool {
    verify(mac(master, "ask", nonce), claimed)
}

/// The server's proof for `nonce`.
pub(crate) fn answer_proof(master: &[u8], nonce: &str) -> String {
    encode(mac(master, "answer", nonce))
}

/// The doctor's check of the server's proof.
pub(crate) fn verify_answer(master: &[u8], nonce: &str, proof: &str) -> bool {
    verify(mac(master, "answer", nonce), proof)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_side_proves_the_same_secret_and_nothing_else() {
        let (ours, theirs) = (b"our master secret".as_slice(), b"another".as_slice());
        let nonce = "0123456789abcdef";
        let ask = request_mac(ours, nonce);
        assert!(verify_request(ours, nonce, &ask));
        assert!(!verify_request(theirs, nonce, &ask));
        assert!(!verify_request(ours, "another nonce", &ask));
        assert!(!verify_request(ours, nonce, "not base64 !"));
        let proof = answer_proof(ours, nonce);
        assert!(verify_answer(ours, nonce, &proof));
        assert!(!verify_answer(theirs, nonce, &proof));
        // The request's MAC is no answer: a replayed request proves nothing.
        assert!(!verify_answer(ours, nonce, &ask));
    }
}
