//! Invitations made on the rep's device with no network (face to face at a
//! customer's home, a poster at a trade fair), signed like shares: the
//! token carries what the server needs (which device, which invitation,
//! channel, how many may accept, until when) and a MAC under a key derived
//! from the device's share key, which the server derives from its master
//! secret. So the friend's phone can open the link and join before the
//! rep's app has synced, and nobody can forge or alter one.
//!
//! Layout (then base64url without padding):
//! `version(2) | varint device_id | varint invite_no | channel(1) |
//!  varint max_uses (0: any number) | varint expires_at (minutes since the
//!  Unix epoch) | mac(10)`
//! At least 19 bytes (26 characters): never the 22 characters of a token
//! the server draws at random, so the two kinds cannot be mistaken.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::terms::{self, Refused};
use super::{Invitation, InvitationStatus, InviteChannel, NewInvitation, MAX_INVITATION_HOURS};
use crate::domain::Role;
use crate::error::CoreError;
use crate::token::{mac, put_varint, take_varint, MAC_LEN, MAX_TOKEN_LEN};

/// Share tokens are version 1; this byte keeps the two kinds apart.
const VERSION: u8 = 2;
const MINUTE_MS: i64 = 60_000;
/// A device's clock may run ahead of the server's by this much before its
/// invitations' expiry looks longer than the longest allowed.
pub const CLOCK_SLACK_MS: i64 = 24 * 3600 * 1000;
/// Length of the tokens the server draws at random (16 bytes, base64url).
pub const SERVER_TOKEN_LEN: usize = 22;

/// No 0/O, 1/I/L: short codes are read off a screen and typed by hand.
pub const SHORT_CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
pub const SHORT_CODE_LEN: usize = 6;

type HmacSha256 = Hmac<Sha256>;

/// The key that signs a device's invitations, derived from its share key
/// (a different key from the shares', so a token of one kind can never be
/// replayed as the other).
pub fn derive_invite_key(share_key: &[u8]) -> [u8; 32] {
    mac(share_key, b"warmlead-invite-key-v1")
}

/// What an offline invitation token says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InviteClaim {
    pub device_id: u64,
    /// The device's own counter, 1, 2, 3, ...
    pub invite_no: u64,
    pub channel: InviteChannel,
    /// `None`: any number of people may accept.
    pub max_uses: Option<u32>,
    /// Minutes since the Unix epoch (a minute's precision keeps it short).
    pub expires_at_min: u64,
}

/// Why a device may not make this invitation offline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfflineRefused {
    Terms(Refused),
    /// SMS invitations are sent by the server: they need the network.
    NeedsServer,
}

fn channel_code(c: InviteChannel) -> u8 {
    match c {
        InviteChannel::Qr => 1,
        InviteChannel::Sms => 2,
        InviteChannel::Poster => 3,
    }
}

fn channel_of(code: u8) -> Option<InviteChannel> {
    InviteChannel::ALL
        .into_iter()
        .find(|c| channel_code(*c) == code)
}

impl InviteClaim {
    /// The claim of invitation `invite_no` of device `device_id`, made by a
    /// user of `role` at `now_ms` with the same terms as one the server makes.
    pub fn new(
        device_id: u64,
        invite_no: u64,
        role: Role,
        new: &NewInvitation,
        now_ms: i64,
    ) -> Result<InviteClaim, OfflineRefused> {
        let t = terms::terms(role, new, now_ms).map_err(OfflineRefused::Terms)?;
        if new.channel == InviteChannel::Sms {
            return Err(OfflineRefused::NeedsServer);
        }
        // Rounded up to the minute: never shorter than asked.
        let expires_at_min = (t.expires_at_ms + MINUTE_MS - 1).div_euclid(MINUTE_MS);
        Ok(InviteClaim {
            device_id,
            invite_no,
            channel: new.channel,
            max_uses: t.max_uses.map(|m| m as u32),
            expires_at_min: expires_at_min.max(0) as u64,
        })
    }

    pub fn expires_at_ms(&self) -> i64 {
        i64::try_from(self.expires_at_min)
            .ok()
            .and_then(|m| m.checked_mul(MINUTE_MS))
            .unwrap_or(i64::MAX)
    }

    pub fn max_uses_i64(&self) -> Option<i64> {
        self.max_uses.map(i64::from)
    }

    fn payload(&self) -> Vec<u8> {
        let mut buf = Vec::with_capacity(32);
        buf.push(VERSION);
        put_varint(&mut buf, self.device_id);
        put_varint(&mut buf, self.invite_no);
        buf.push(channel_code(self.channel));
        put_varint(&mut buf, u64::from(self.max_uses.unwrap_or(0)));
        put_varint(&mut buf, self.expires_at_min);
        buf
    }

    /// Encodes and signs the claim with the device's invitation key.
    pub fn sign(&self, invite_key: &[u8]) -> String {
        let mut buf = self.payload();
        let tag = mac(invite_key, &buf);
        buf.extend_from_slice(&tag[..MAC_LEN]);
        URL_SAFE_NO_PAD.encode(buf)
    }

    /// The invitation this claim is, as stored under `id` with `url`.
    pub fn invitation(&self, ids: Owner, url: String, short_code: String) -> Invitation {
        Invitation {
            id: ids.id,
            company_id: ids.company_id,
            rep_id: ids.rep_id,
            channel: self.channel,
            status: InvitationStatus::Pending,
            max_uses: self.max_uses_i64(),
            uses: 0,
            created_at_ms: ids.created_at_ms,
            expires_at_ms: self.expires_at_ms(),
            url,
            short_code,
            recipient_name: None,
            recipient_phone: None,
        }
    }
}

/// Who an offline invitation belongs to, and its row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    pub id: i64,
    pub company_id: i64,
    pub rep_id: i64,
    pub created_at_ms: i64,
}

/// Whether `token` has the shape of an offline invitation token (as
/// opposed to one the server drew): its length alone tells.
pub fn is_offline_token(token: &str) -> bool {
    token.len() > SERVER_TOKEN_LEN && token.len() <= MAX_TOKEN_LEN
}

/// A decoded but not yet verified invitation token: the server reads
/// `claim.device_id` to derive the key, then calls [`UnverifiedInvite::verify`].
#[derive(Debug, Clone)]
pub struct UnverifiedInvite {
    pub claim: InviteClaim,
    signed: Vec<u8>,
    tag: [u8; MAC_LEN],
}

impl UnverifiedInvite {
    pub fn parse(token: &str) -> Result<UnverifiedInvite, CoreError> {
        if !is_offline_token(token) {
            return Err(CoreError::MalformedToken);
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| CoreError::MalformedToken)?;
        if bytes.len() < 1 + 5 + MAC_LEN || bytes[0] != VERSION {
            return Err(CoreError::MalformedToken);
        }
        let (signed, tag) = bytes.split_at(bytes.len() - MAC_LEN);
        let mut rest = &signed[1..];
        let device_id = take_varint(&mut rest)?;
        let invite_no = take_varint(&mut rest)?;
        let (&code, tail) = rest.split_first().ok_or(CoreError::MalformedToken)?;
        rest = tail;
        let channel = channel_of(code).ok_or(CoreError::MalformedToken)?;
        let max_uses = match take_varint(&mut rest)? {
            0 => None,
            n => Some(u32::try_from(n).map_err(|_| CoreError::MalformedToken)?),
        };
        let expires_at_min = take_varint(&mut rest)?;
        if !rest.is_empty() {
            return Err(CoreError::MalformedToken);
        }
        Ok(UnverifiedInvite {
            claim: InviteClaim {
                device_id,
                invite_no,
                channel,
                max_uses,
                expires_at_min,
            },
            signed: signed.to_vec(),
            tag: tag.try_into().expect("split at MAC_LEN"),
        })
    }

    /// Checks the signature in constant time.
    pub fn verify(self, invite_key: &[u8]) -> Result<InviteClaim, CoreError> {
        let mut m = HmacSha256::new_from_slice(invite_key).expect("hmac takes any key length");
        m.update(&self.signed);
        m.verify_truncated_left(&self.tag)
            .map_err(|_| CoreError::ForgedToken)?;
        Ok(self.claim)
    }
}

/// The six characters typed at `/j` when scanning fails, derived from the
/// token so the device and the server agree on it without talking. The
/// server can look it up only once it has recorded the invitation (first
/// open of the link, or the rep's sync).
pub fn short_code(invite_key: &[u8], token: &str) -> String {
    let mut m = HmacSha256::new_from_slice(invite_key).expect("hmac takes any key length");
    m.update(b"short-code\0");
    m.update(token.as_bytes());
    let digest = m.finalize().into_bytes();
    let n = SHORT_CODE_ALPHABET.len() as u64;
    let mut v = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
    (0..SHORT_CODE_LEN)
        .map(|_| {
            let c = SHORT_CODE_ALPHABET[(v % n) as usize] as char;
            v /= n;
            c
        })
        .collect()
}

/// Why the server will not take a claim whose signature verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unacceptable {
    /// SMS invitations are never made offline.
    Sms,
    /// Lives longer from now than any invitation may (with clock slack).
    TooLong,
}

/// Whether the server takes a verified claim at `now_ms`. An expired one
/// is taken (it is recorded, and its page says it expired).
pub fn check(claim: &InviteClaim, now_ms: i64) -> Result<(), Unacceptable> {
    if claim.channel == InviteChannel::Sms {
        return Err(Unacceptable::Sms);
    }
    let longest = i64::from(MAX_INVITATION_HOURS) * 3600 * 1000 + CLOCK_SLACK_MS;
    if claim.expires_at_ms() > now_ms.saturating_add(longest) {
        return Err(Unacceptable::TooLong);
    }
    Ok(())
}

/// Whether a verified token of device `device_id` is the invitation pushed
/// with these fields (invitation numbers start at 1).
pub fn claim_matches(
    claim: &InviteClaim,
    device_id: u64,
    invite_no: i64,
    channel: InviteChannel,
    max_uses: Option<i64>,
    expires_at_ms: i64,
) -> bool {
    invite_no >= 1
        && claim.device_id == device_id
        && i64::try_from(claim.invite_no) == Ok(invite_no)
        && claim.channel == channel
        && claim.max_uses_i64() == max_uses
        && claim.expires_at_ms() == expires_at_ms
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::derive_share_key;

    const NOW: i64 = 1_800_000_000_000;
    const HOUR: i64 = 3600 * 1000;

    fn key(device: u64) -> [u8; 32] {
        derive_invite_key(&derive_share_key(b"master", device))
    }

    fn claim() -> InviteClaim {
        InviteClaim {
            device_id: 123_456,
            invite_no: 42,
            channel: InviteChannel::Qr,
            max_uses: Some(1),
            expires_at_min: (NOW / MINUTE_MS) as u64 + 24 * 60,
        }
    }

    fn verify(token: &str, key: &[u8]) -> Result<InviteClaim, CoreError> {
        UnverifiedInvite::parse(token).and_then(|t| t.verify(key))
    }

    #[test]
    fn round_trips_and_stays_short() {
        let big = InviteClaim {
            device_id: u32::MAX as u64,
            invite_no: 10_000_000,
            channel: InviteChannel::Poster,
            max_uses: None,
            expires_at_min: u32::MAX as u64,
        };
        for c in [claim(), big] {
            let k = key(c.device_id);
            let token = c.sign(&k);
            assert_eq!(verify(&token, &k).unwrap(), c);
            // "https://r.example.com/i/" is 24 characters; the URL stays near 60.
            assert!(token.len() <= 36, "{token}");
            assert!(is_offline_token(&token), "{token}");
        }
        assert!(!is_offline_token(&"A".repeat(SERVER_TOKEN_LEN)));
    }

    /// Each field changed under the original signature: the MAC refuses it.
    #[test]
    fn every_altered_field_is_forged() {
        let k = key(123_456);
        let genuine = claim().sign(&k);
        let tag = &URL_SAFE_NO_PAD.decode(&genuine).unwrap()[..];
        let tag = &tag[tag.len() - MAC_LEN..];
        let altered = [
            InviteClaim {
                device_id: 123_457,
                ..claim()
            },
            InviteClaim {
                invite_no: 43,
                ..claim()
            },
            InviteClaim {
                channel: InviteChannel::Poster,
                ..claim()
            },
            InviteClaim {
                max_uses: None,
                ..claim()
            },
            InviteClaim {
                max_uses: Some(2),
                ..claim()
            },
            InviteClaim {
                expires_at_min: claim().expires_at_min + 60,
                ..claim()
            },
        ];
        for c in altered {
            let mut bytes = c.payload();
            bytes.extend_from_slice(tag);
            let token = URL_SAFE_NO_PAD.encode(bytes);
            let parsed = UnverifiedInvite::parse(&token).expect("well formed");
            assert_eq!(parsed.claim, c);
            assert!(
                matches!(parsed.verify(&k), Err(CoreError::ForgedToken)),
                "{c:?}"
            );
        }
        // Any one character flipped: malformed or forged, never accepted.
        for i in 0..genuine.len() {
            let mut chars: Vec<char> = genuine.chars().collect();
            chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
            let flipped: String = chars.into_iter().collect();
            assert!(verify(&flipped, &k).is_err(), "position {i}");
        }
    }

    #[test]
    fn another_devices_key_or_the_share_key_does_not_verify() {
        let token = claim().sign(&key(123_456));
        assert!(matches!(
            verify(&token, &key(123_457)),
            Err(CoreError::ForgedToken)
        ));
        let share_key = derive_share_key(b"master", 123_456);
        assert!(verify(&token, &share_key).is_err());
        assert!(verify(
            &token,
            &derive_invite_key(&derive_share_key(b"other", 123_456))
        )
        .is_err());
    }

    #[test]
    fn share_tokens_and_garbage_are_malformed_not_a_panic() {
        let share = crate::token::ShareClaim {
            device_id: 123_456,
            share_no: 42,
            item_id: 9_001_000,
            channel: crate::domain::Channel::Group,
        }
        .sign(&derive_share_key(b"master", 123_456));
        let mut truncated = claim().sign(&key(123_456));
        truncated.truncate(truncated.len() - 4);
        for t in [
            share.as_str(),
            "",
            "!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
            &"A".repeat(30),
            &"/".repeat(40),
            &"A".repeat(500),
            &truncated,
        ] {
            assert!(UnverifiedInvite::parse(t).is_err(), "{t}");
        }
    }

    #[test]
    fn claims_take_the_servers_terms() {
        let new = |channel, multi_use, hours| NewInvitation {
            channel,
            multi_use,
            expires_in_hours: hours,
        };
        let (qr, poster, sms) = (InviteChannel::Qr, InviteChannel::Poster, InviteChannel::Sms);
        // role, request -> max uses and expiry (ms after NOW), or why not
        type Want = Result<(Option<u32>, i64), OfflineRefused>;
        let table: [(Role, NewInvitation, Want); 6] = [
            (
                Role::Rep,
                new(qr, false, Some(24)),
                Ok((Some(1), 24 * HOUR)),
            ),
            (
                Role::Manager,
                new(poster, true, None),
                Ok((None, 7 * 24 * HOUR)),
            ),
            (
                Role::Rep,
                new(sms, false, None),
                Err(OfflineRefused::NeedsServer),
            ),
            (
                Role::Partner,
                new(qr, false, None),
                Err(OfflineRefused::Terms(Refused::NotAnInviter)),
            ),
            (
                Role::Rep,
                new(qr, false, Some(0)),
                Err(OfflineRefused::Terms(Refused::BadHours(0))),
            ),
            (
                Role::Rep,
                new(qr, false, Some(MAX_INVITATION_HOURS + 1)),
                Err(OfflineRefused::Terms(Refused::BadHours(
                    MAX_INVITATION_HOURS + 1,
                ))),
            ),
        ];
        for (role, n, want) in table {
            let got = InviteClaim::new(7, 1, role, &n, NOW)
                .map(|c| (c.max_uses, c.expires_at_ms() - NOW));
            assert_eq!(got, want, "{role:?} {n:?}");
        }
        // Rounded up to the minute, never shorter than asked.
        let odd = InviteClaim::new(7, 1, Role::Rep, &new(qr, false, Some(1)), NOW + 1).unwrap();
        assert!(odd.expires_at_ms() >= NOW + 1 + HOUR);
        assert!(odd.expires_at_ms() < NOW + 1 + HOUR + MINUTE_MS);
    }

    #[test]
    fn the_server_takes_expired_claims_but_not_overlong_ones() {
        let at = |ms: i64| InviteClaim {
            expires_at_min: (ms / MINUTE_MS) as u64,
            ..claim()
        };
        let max = i64::from(MAX_INVITATION_HOURS) * HOUR;
        let table = [
            (at(NOW - HOUR), Ok(())),
            (at(NOW + max), Ok(())),
            (at(NOW + max + CLOCK_SLACK_MS), Ok(())),
            (
                at(NOW + max + CLOCK_SLACK_MS + MINUTE_MS),
                Err(Unacceptable::TooLong),
            ),
            (
                InviteClaim {
                    channel: InviteChannel::Sms,
                    ..claim()
                },
                Err(Unacceptable::Sms),
            ),
            (
                InviteClaim {
                    expires_at_min: u64::MAX,
                    ..claim()
                },
                Err(Unacceptable::TooLong),
            ),
        ];
        for (c, want) in table {
            assert_eq!(check(&c, NOW), want, "{c:?}");
        }
    }

    #[test]
    fn pushed_fields_must_be_the_tokens() {
        let c = claim();
        let (dev, exp) = (c.device_id, c.expires_at_ms());
        let qr = InviteChannel::Qr;
        let table = [
            (dev, 42, qr, Some(1), exp, true),
            (dev + 1, 42, qr, Some(1), exp, false),
            (dev, 41, qr, Some(1), exp, false),
            (dev, 42, InviteChannel::Poster, Some(1), exp, false),
            (dev, 42, qr, None, exp, false),
            (dev, 42, qr, Some(1), exp + 1, false),
            (dev, 0, qr, Some(1), exp, false),
        ];
        for (d, no, ch, max, e, want) in table {
            assert_eq!(
                claim_matches(&c, d, no, ch, max, e),
                want,
                "{d} {no} {ch:?} {max:?} {e}"
            );
        }
    }

    #[test]
    fn short_codes_are_typeable_and_follow_the_token() {
        let k = key(123_456);
        let a = claim().sign(&k);
        let b = InviteClaim {
            invite_no: 43,
            ..claim()
        }
        .sign(&k);
        let code = short_code(&k, &a);
        assert_eq!(code.len(), SHORT_CODE_LEN);
        assert!(code.bytes().all(|c| SHORT_CODE_ALPHABET.contains(&c)));
        assert_eq!(code, short_code(&k, &a));
        assert_ne!(code, short_code(&k, &b));
    }
}
