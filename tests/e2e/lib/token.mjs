// Share tokens are signed on the device; this is warmlead_core::token in JS:
// version(1) | varint device_id | varint share_no | varint item_id | channel(1) | mac(10).
import { createHmac } from "node:crypto";

function varint(n) {
  const out = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

/** The token the partner's device (an activation: device_id, share_key) would sign. */
export function signShare(partner, shareNo, itemId, channel = 1) {
  const body = Buffer.from([1, ...varint(partner.device_id), ...varint(shareNo), ...varint(itemId), channel]);
  const key = Buffer.from(partner.share_key, "base64url");
  const mac = createHmac("sha256", key).update(body).digest().subarray(0, 10);
  return Buffer.concat([body, mac]).toString("base64url");
}

/**
 * An invitation made on the rep's device with no network (warmlead_core::invite::offline):
 * version(2) | varint device_id | varint invite_no | channel(1: qr, 3: poster) |
 * varint max_uses (0: any number) | varint expires_at (minutes) | mac(10), under
 * the invitation key HMAC(share_key, "warmlead-invite-key-v1").
 */
export function signInvitation(rep, inviteNo, { channel = 1, maxUses = 1, expiresAtMs }) {
  const minutes = Math.floor(expiresAtMs / 60_000);
  const body = Buffer.from([
    2,
    ...varint(rep.device_id),
    ...varint(inviteNo),
    channel,
    ...varint(maxUses),
    ...varint(minutes),
  ]);
  const shareKey = Buffer.from(rep.share_key, "base64url");
  const key = createHmac("sha256", shareKey).update("warmlead-invite-key-v1").digest();
  const mac = createHmac("sha256", key).update(body).digest().subarray(0, 10);
  return Buffer.concat([body, mac]).toString("base64url");
}
