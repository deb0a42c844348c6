//! Share tokens: short, signed, and made on the device, so a link shared
//! offline resolves on the server before the app has synced.
//!
//! Layout (then base64url without padding):
//! `version(1) | varint device_id | varint share_no | varint item_id | channel(1) | mac(10)`
//! The MAC is HMAC-SHA256 under the device's share key, truncated to 80 bits:
//! plenty against online guessing, and it keeps a share URL near 50 characters
//! so its QR code stays low-density.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::domain::Channel;
use crate::error::CoreError;

const VERSION: u8 = 1;
pub(crate) const MAC_LEN: usize = 10;
/// Longest token we will even try to decode (bounds work on hostile input).
pub const MAX_TOKEN_LEN: usize = 64;

type HmacSha256 = Hmac<Sha256>;

/// What a share token says: who shared which item where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShareClaim {
    pub device_id: u64,
    pub share_no: u64,
    pub item_id: u64,
    pub channel: Channel,
}

/// The per-device key that signs its shares. The server derives it from its
/// master secret, so it stores nothing per device to verify a token.
pub fn derive_share_key(master_secret: &[u8], device_id: u64) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(master_secret).expect("hmac takes any key length");
    mac.update(b"warmlead-share-key-v1");
    mac.update(&device_id.to_be_bytes());
    mac.finalize().into_bytes().into()
}

impl ShareClaim {
    /// Encodes and signs the claim with the device's share key.
    pub fn sign(&self, share_key: &[u8]) -> String {
        let mut buf = Vec::with_capacity(32);
        buf.push(VERSION);
        put_varint(&mut buf, self.device_id);
        put_varint(&mut buf, self.share_no);
        put_varint(&mut buf, self.item_id);
        buf.push(self.channel.code());
        let tag = mac(share_key, &buf);
        buf.extend_from_slice(&tag[..MAC_LEN]);
        URL_SAFE_NO_PAD.encode(buf)
    }
}

/// A decoded but not yet verified token. The server reads `claim.device_id`
/// to derive the key, then calls [`UnverifiedToken::verify`].
#[derive(Debug, Clone)]
pub struct UnverifiedToken {
    pub claim: ShareClaim,
    signed: Vec<u8>,
    tag: [u8; MAC_LEN],
}

impl UnverifiedToken {
    pub fn parse(token: &str) -> Result<UnverifiedToken, CoreError> {
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Err(CoreError::MalformedToken);
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| CoreError::MalformedToken)?;
        if bytes.len() < 1 + 3 + 1 + MAC_LEN || bytes[0] != VERSION {
            return Err(CoreError::MalformedToken);
        }
        let (signed, tag) = bytes.split_at(bytes.len() - MAC_LEN);
        let mut rest = &signed[1..];
        let device_id = take_varint(&mut rest)?;
        let share_no = take_varint(&mut rest)?;
        let item_id = take_varint(&mut rest)?;
        let channel = match rest {
            [code] => Channel::from_code(*code).ok_or(CoreError::MalformedToken)?,
            _ => return Err(CoreError::MalformedToken),
        };
        Ok(UnverifiedToken {
            claim: ShareClaim {
                device_id,
                share_no,
                item_id,
                channel,
            },
            signed: signed.to_vec(),
            tag: tag.try_into().expect("split at MAC_LEN"),
        })
    }

    /// Checks the signature in constant time.
    pub fn verify(self, share_key: &[u8]) -> Result<ShareClaim, CoreError> {
        let mut m = HmacSha256::new_from_slice(share_key).expect("hmac takes any key length");
        m.update(&self.signed);
        m.verify_truncated_left(&self.tag)
            .map_err(|_| CoreError::ForgedToken)?;
        Ok(self.claim)
    }
}

pub(crate) fn mac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut m = HmacSha256::new_from_slice(key).expect("hmac takes any key length");
    m.update(data);
    m.finalize().into_bytes().into()
}

pub(crate) fn put_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

pub(crate) fn take_varint(rest: &mut &[u8]) -> Result<u64, CoreError> {
    let mut v: u64 = 0;
    for i in 0..10 {
        let (&b, tail) = rest.split_first().ok_or(CoreError::MalformedToken)?;
        *rest = tail;
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(CoreError::MalformedToken)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim() -> ShareClaim {
        ShareClaim {
            device_id: 123_456,
            share_no: 42,
            item_id: 9_001,
            channel: Channel::Group,
        }
    }

    #[test]
    fn round_trips() {
        let key = derive_share_key(b"master", 123_456);
        let token = claim().sign(&key);
        let back = UnverifiedToken::parse(&token)
            .unwrap()
            .verify(&key)
            .unwrap();
        assert_eq!(back, claim());
    }

    #[test]
    fn stays_short_enough_for_a_low_density_qr() {
        let key = derive_share_key(b"master", u32::MAX as u64);
        let big = ShareClaim {
            device_id: u32::MAX as u64,
            share_no: 10_000_000,
            item_id: 10_000_000,
            channel: Channel::Direct,
        };
        // "https://r.example.com/s/" is 24 characters; the whole URL stays under 60.
        assert!(big.sign(&key).len() <= 34, "{}", big.sign(&key));
    }

    #[test]
    fn altered_token_is_forged() {
        let key = derive_share_key(b"master", 123_456);
        let token = claim().sign(&key);
        let other = ShareClaim {
            item_id: 9_002,
            ..claim()
        };
        // Re-encode a different item with the original tag.
        let forged_payload = other.sign(b"not the key");
        assert!(matches!(
            UnverifiedToken::parse(&forged_payload)
                .unwrap()
                .verify(&key),
            Err(CoreError::ForgedToken)
        ));
        // Flip one character of a genuine token.
        let mut chars: Vec<char> = token.chars().collect();
        chars[3] = if chars[3] == 'A' { 'B' } else { 'A' };
        let flipped: String = chars.into_iter().collect();
        let result = UnverifiedToken::parse(&flipped).and_then(|t| t.verify(&key));
        assert!(result.is_err());
    }

    #[test]
    fn another_devices_key_does_not_verify() {
        let key = derive_share_key(b"master", 123_456);
        let token = claim().sign(&key);
        let wrong = derive_share_key(b"master", 123_457);
        assert!(UnverifiedToken::parse(&token)
            .unwrap()
            .verify(&wrong)
            .is_err());
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        for t in [
            "",
            "!!!!",
            "AQ",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            &"A".repeat(500),
            "/////////////////////////w",
        ] {
            assert!(UnverifiedToken::parse(t).is_err(), "{t}");
        }
    }
}
