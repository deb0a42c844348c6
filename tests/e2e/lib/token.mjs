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
