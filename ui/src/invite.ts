// Pure helpers of the Invite section: recipients read from pasted text, the
// status an invitation shows, conversion rates, SMS plans and statuses in
// words. Kept out of the components so vitest can check them.
import type {
  ChannelConversion,
  Invitation,
  InvitationStatus,
  SmsInviteItem,
  SmsRecipient,
  SmsRefusal,
} from "./bindings";
import { LIMITS } from "./bindings/Limits";
import { formatWhen, type Translate } from "./format";

/** Most recipients of one send (generated from warmlead-core's limits). */
export const MAX_SMS_RECIPIENTS = LIMITS.maxSmsRecipients;

export type BadLine = { line: number; text: string };
/** `lines[i]` is the 1-based line `recipients[i]` came from. */
export type ParsedRecipients = { recipients: SmsRecipient[]; lines: number[]; bad: BadLine[] };

/** Full-width forms a Chinese keyboard types (，；０-９＋ and the ideographic space) as ASCII. */
function halfWidth(s: string): string {
  return s
    .replace(/[\uFF01-\uFF5E]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0))
    .replace(/[\u3000\u00A0]/g, " ")
    .replace(/[、]/g, ",");
}

// A phone: digits, maybe a leading +, maybe grouped by spaces or dashes.
const PHONE = String.raw`\+?\d[\d -]{3,}\d`;
const NAME_THEN_PHONE = new RegExp(String.raw`^(.+?)[\s,;\t]*(${PHONE})$`);
const PHONE_THEN_NAME = new RegExp(String.raw`^(${PHONE})[\s,;\t]+(.+)$`);

/**
 * Recipients from pasted text, one a line: "姓名 手机", "姓名,手机" (also
 * full-width 、，； and spaces) or the phone first. Blank lines are skipped;
 * lines without both a name and a phone come back in `bad` with their number.
 * The server still checks every phone and says why one cannot be used.
 */
export function parseRecipients(text: string): ParsedRecipients {
  const recipients: SmsRecipient[] = [];
  const lines: number[] = [];
  const bad: BadLine[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    // Trailing separators: what a copy from a spreadsheet leaves.
    const line = halfWidth(raw).replace(/[\s,;]+$/, "").trim();
    if (line === "") return;
    const m = NAME_THEN_PHONE.exec(line);
    const r = PHONE_THEN_NAME.exec(line);
    let name: string | undefined;
    let phone: string | undefined;
    if (m && /\D/.test(m[1] ?? "")) [name, phone] = [m[1], m[2]];
    else if (r) [phone, name] = [r[1], r[2]];
    name = name?.replace(/[\s,;]+$/, "").trim();
    // A name longer than the server's limit would only come back refused.
    if (!name || !phone || /\d{5,}/.test(name) || [...name].length > LIMITS.maxNameChars) {
      bad.push({ line: i + 1, text: raw.trim() });
      return;
    }
    recipients.push({ name, phone: phone.replace(/[ -]/g, "") });
    lines.push(i + 1);
  });
  return { recipients, lines, bad };
}

/** `text` without its 1-based line `line` (a recipient removed from the box). */
export function withoutLine(text: string, line: number): string {
  return text
    .split(/\r?\n/)
    .filter((_, i) => i !== line - 1)
    .join("\n");
}

/** The status to show at `nowMs` (pending turns expired past expires_at_ms). */
export function invitationStatusAt(inv: Invitation, nowMs: number): InvitationStatus {
  return inv.status === "pending" && nowMs >= inv.expires_at_ms ? "expired" : inv.status;
}

/**
 * Made on this computer (signed offline) and waiting to be recorded by the
 * server: the desktop cache keeps such an invitation under a negative id
 * until the server's row arrives (one the server refused shows as revoked).
 * Its link already works on any phone.
 */
export function isUnsynced(inv: Invitation): boolean {
  return inv.id < 0 && inv.status !== "revoked";
}

/** Only invitations still open can be revoked. */
export function canRevoke(inv: Invitation, nowMs: number): boolean {
  return invitationStatusAt(inv, nowMs) === "pending";
}

/** Share of invitations accepted at least once, 0..1; null with no invitations. */
export function conversionRate(c: ChannelConversion): number | null {
  if (c.invitations <= 0) return null;
  return Math.min(1, c.accepted / c.invitations);
}

/** A 0..1 rate as a percentage for `lang` ("37.5%"); a dash when there is none. */
export function formatPercent(rate: number | null, lang: string): string {
  if (rate === null) return "—";
  return new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 1 }).format(rate);
}

/** "1/1", "3/∞": uses of an invitation against its limit. */
export function usesText(inv: Invitation, t: Translate): string {
  return inv.max_uses === null
    ? t("invite.usesUnlimited", { uses: inv.uses })
    : t("invite.uses", { uses: inv.uses, max: inv.max_uses });
}

export function refusalText(reason: SmsRefusal, t: Translate): string {
  return t(`invite.sms.refusal.${reason}`);
}

/** What will happen (or happened) to one recipient, in words. */
export function smsPlanText(item: SmsInviteItem, nowMs: number, t: Translate): string {
  const p = item.plan;
  switch (p.plan) {
    case "send":
      return t("invite.sms.plan.send");
    case "queue":
      return t("invite.sms.plan.queue", { when: formatWhen(p.until_ms, nowMs, t, true) });
    case "refuse":
      return t("invite.sms.plan.refuse", { reason: refusalText(p.reason, t) });
  }
}

/** The message the preview shows: the first one that would go out. */
export function sampleText(items: readonly SmsInviteItem[]): string | null {
  return items.find((i) => i.text !== null && i.plan.plan !== "refuse")?.text ?? null;
}
