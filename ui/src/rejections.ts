// Wording of a change the server refused: what it was (kind and subject),
// why, in the user's language, and what became of it here. Kept out of the
// component so vitest can check it.
import type { RejectedChange } from "./bindings";
import type { Translate } from "./format";

/** Kinds with their own name; a kind added later reads "Change" until named. */
const KINDS = new Set([
  "create_share",
  "delete_content_item",
  "rename_self",
  "save_content",
  "publish_content",
  "archive_content",
  "set_man_flags",
  "create_invitation",
  "upload_image",
]);

/** Reasons worded for one kind (`kind_code`), then for any kind (`code`). */
const KIND_REASONS = new Set(["create_share_not_found"]);
const REASONS = new Set(["invalid_input", "forbidden", "not_found"]);

export type RejectionText = {
  kind: string;
  subject: string | null;
  reason: string;
  /** What became of the change on this computer. */
  after: string;
};

export function rejectionText(r: RejectedChange, t: Translate): RejectionText {
  const kind = t(`rejected.kind.${KINDS.has(r.name) ? r.name : "other"}`);
  const specific = `${r.name}_${r.code}`;
  const reason = KIND_REASONS.has(specific)
    ? t(`rejected.reason.${specific}`)
    : t(`rejected.reason.${REASONS.has(r.code) ? r.code : "other"}`, {
        message: r.message,
      });
  // A refused edit keeps what was typed; every other change is undone.
  const after = t(r.name === "save_content" ? "rejected.kept" : "rejected.undone");
  return { kind, subject: r.subject, reason, after };
}

/** Refused shares: what the partner's share list shows. */
export function refusedShares(rejected: readonly RejectedChange[]): RejectedChange[] {
  return rejected.filter((r) => r.name === "create_share");
}
