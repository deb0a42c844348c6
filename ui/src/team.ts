// The team screen's search and SMS errors, apart from the screens (the
// team screen and the import dialog) so they are tested alone.
import type { ApiError } from "./api";
import type { TeamMember } from "./bindings";

/** Whether `m` matches what was typed in the search box: part of the name,
 * or digits of the phone (spaces, dashes, brackets and + ignored). */
export function matchesTeamSearch(m: TeamMember, query: string): boolean {
  const q = query.trim().toLowerCase();
  if (!q) return true;
  if (m.user.name.toLowerCase().includes(q)) return true;
  const digits = q.replace(/[\s+()-]/g, "");
  const phone = (m.user.phone ?? "").replace(/\D/g, "");
  return /^\d+$/.test(digits) && phone.includes(digits);
}

/** Why an activation code SMS did not go out, in the UI's language. */
export function smsError(e: ApiError, t: (key: string, o?: Record<string, unknown>) => string): string {
  switch (e.code) {
    case "rate_limited":
      return t("team.smsTooSoon");
    case "conflict":
      return t("team.smsOptedOut");
    case "offline":
      return t("team.smsFailed");
    default:
      return t("error.generic", { message: e.message });
  }
}
