//! Share tokens: short, signed, and made on the device, so a link shared
//! offline resolves on the server before the app has synced.
//!
//! Layout (then base64url without padding):
//! `version(3) | varint device_id | varint share_no | varint item_id | channel(1) | nonce(3) | mac(10)`
//! The MAC is HMAC-SHA256 under the device's share key, truncated to 80 bits:
//! plenty against online guessing, and it keeps a share URL near 55 characters
//! so its QR code stays low-density.
//!
//! The nonce is 24 random bits drawn when the share is made. The share
//! number alone cannot make a token unique: a desktop cache restored from an
//! older copy (or copied to a second computer) numbers its shares again from
//! where the copy stood, possibly offline and before it could learn the
//! server's numbers, and a new share of the same item on the same channel
//! would then be an older share's exact token (the server would merge the
//! two). With the nonce two shares collide only if they also draw the same
//! 24 bits (1 in 16.7 million, and only for a reused number). Three bytes,
//! not more, keep the longest URL within the same QR version as before.
//! Version 1 (no nonce) is still read: links already out there keep working.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::domain::Channel;
use crate::error::CoreError;

/// Tokens without a nonce, made before version 3; still accepted.
const VERSION_PLAIN: u8 = 1;
/// Version 2 is the offline invitation's (`invite::offline`).
const VERSION: u8 = 3;
/// Random bytes that make a token unique whatever its share number.
pub const NONCE_LEN: usize = 3;
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
    /// Encodes and signs the claim with the device's share key, with
    /// `nonce` (random bytes the caller draws) making the token unique even
    /// when the share number repeats. What devices make.
    pub fn sign_unique(&self, share_key: &[u8], nonce: [u8; NONCE_LEN]) -> String {
        self.encode(share_key, VERSION, &nonce)
    }

    /// A token without a nonce (version 1), as devices made them before
    /// version 3: its identity is the claim alone.
    pub fn sign(&self, share_key: &[u8]) -> String {
        self.encode(share_key, VERSION_PLAIN, &[])
    }

    fn encode(&self, share_key: &[u8], version: u8, nonce: &[u8]) -> String {
        let mut buf = Vec::with_capacity(40);
        buf.push(version);
        put_varint(&mut buf, self.device_id);
        put_varint(&mut buf, self.share_no);
        put_varint(&mut buf, self.item_id);
        buf.push(self.channel.code());
        buf.extend_from_slice(nonce);
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
        let nonce_len = match bytes.first() {
            Some(&VERSION_PLAIN) => 0,
            Some(&VERSION) => NONCE_LEN,
            _ => return Err(CoreError::MalformedToken),
        };
        if bytes.len() < 1 + 3 + 1 + nonce_len + MAC_LEN {
            return Err(CoreError::MalformedToken);
        }
        let (signed, tag) = bytes.split_at(bytes.len() - MAC_LEN);
        let mut rest = &signed[1..];
        let device_id = take_varint(&mut rest)?;
        let share_no = take_varint(&mut rest)?;
        let item_id = take_varint(&mut rest)?;
        // The channel, then the nonce (if any), then nothing.
        let channel = match rest.split_first() {
            Some((code, nonce)) if nonce.len() == nonce_len => {
                Channel::from_code(*code).ok_or(CoreError::MalformedToken)?
            }
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
        // With the nonce, 62 at most: still a version-4 QR code at level M
        // (62 bytes), the version the longest URL had without it.
        let unique = big.sign_unique(&key, [0xff; NONCE_LEN]);
        assert!(unique.len() <= 38, "{unique}");
    }

    #[test]
    fn a_unique_token_round_trips_and_differs_by_its_nonce() {
        let key = derive_share_key(b"master", 123_456);
        let a = claim().sign_unique(&key, [1, 2, 3]);
        let b = claim().sign_unique(&key, [1, 2, 4]);
        assert_ne!(a, b, "the same claim, two shares");
        for t in [&a, &b] {
            let back = UnverifiedToken::parse(t).unwrap().verify(&key).unwrap();
            assert_eq!(back, claim());
        }
        // Tokens made before the nonce still resolve, and are neither.
        let plain = claim().sign(&key);
        assert!(plain != a && plain != b);
        let back = UnverifiedToken::parse(&plain)
            .unwrap()
            .verify(&key)
            .unwrap();
        assert_eq!(back, claim());
    }

    #[test]
    fn a_changed_nonce_does_not_verify() {
        let key = derive_share_key(b"master", 123_456);
        let token = claim().sign_unique(&key, [9, 9, 9]);
        let mut bytes = URL_SAFE_NO_PAD.decode(&token).unwrap();
        let nonce_at = bytes.len() - MAC_LEN - 1;
        bytes[nonce_at] ^= 1;
        let altered = URL_SAFE_NO_PAD.encode(&bytes);
        let parsed = UnverifiedToken::parse(&altered).unwrap();
        assert!(matches!(parsed.verify(&key), Err(CoreError::ForgedToken)));
        // Dropping the nonce (passing it off as version 1) is malformed or forged.
        let mut v1 = bytes.clone();
        v1[0] = VERSION_PLAIN;
        v1.drain(nonce_at - 2..=nonce_at);
        let as_plain = URL_SAFE_NO_PAD.encode(&v1);
        assert!(UnverifiedToken::parse(&as_plain)
            .and_then(|t| t.verify(&key))
            .is_err());
    }

    #[test]
    fn a_unique_token_of_everyday_numbers_stays_near_fifty_characters() {
        let key = derive_share_key(b"master", 9_000);
        let everyday = ShareClaim {
            device_id: 9_000,
            share_no: 9_000,
            item_id: 9_000,
            channel: Channel::Moments,
        };
        let token = everyday.sign_unique(&key, [0xff; NONCE_LEN]);
        // With "https://r.example.com/s/" (24 characters): a 52-character URL.
        assert_eq!(token.len(), 28, "{token}");
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
