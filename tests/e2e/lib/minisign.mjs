// Updater keys and package signatures made at test time, in the format
// `tauri signer generate` / `tauri signer sign` write (minisign, Ed25519,
// the package prehashed with BLAKE2b-512; `.pub` and `.sig` files hold the
// minisign text base64-encoded). The private key never leaves memory.
import { createHash, generateKeyPairSync, randomBytes, sign } from "node:crypto";

/** A fresh updater key: `public` is the `.pub` file's text. */
export function makeUpdaterKey() {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const raw = Buffer.from(publicKey.export({ format: "jwk" }).x, "base64url");
  const keyId = randomBytes(8);
  const id = keyId.readBigUInt64LE().toString(16).toUpperCase();
  const box = `untrusted comment: minisign public key: ${id}\n${Buffer.concat([Buffer.from("Ed"), keyId, raw]).toString("base64")}\n`;
  return { public: Buffer.from(box).toString("base64"), privateKey, keyId };
}

/** The `.sig` file's text for `data`, signed as `file` of `version`. */
export function signPackage(key, data, { file, version }) {
  const hash = createHash("blake2b512").update(data).digest();
  const signature = sign(null, hash, key.privateKey);
  const trusted = `timestamp:${Math.floor(Date.now() / 1000)}\tfile:${file}\tversion:${version}`;
  const global = sign(null, Buffer.concat([signature, Buffer.from(trusted)]), key.privateKey);
  const text =
    "untrusted comment: signature from tauri secret key\n" +
    `${Buffer.concat([Buffer.from("ED"), key.keyId, signature]).toString("base64")}\n` +
    `trusted comment: ${trusted}\n` +
    `${global.toString("base64")}\n`;
  return Buffer.from(text).toString("base64");
}
