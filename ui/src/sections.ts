// Which sections each role sees, in sidebar order (UI.md).
import type { Role } from "./bindings";

export type SectionId =
  | "briefcase"
  | "referrals"
  | "radar"
  | "earnings"
  | "settings"
  | "leads"
  | "partners"
  | "invite"
  | "targets"
  | "overview"
  | "team"
  | "content"
  | "commissions";

export const SECTIONS: Record<Role, readonly SectionId[]> = {
  partner: ["briefcase", "referrals", "radar", "earnings", "settings"],
  rep: ["radar", "leads", "partners", "invite", "briefcase", "content", "targets", "settings"],
  manager: ["overview", "team", "leads", "partners", "content", "commissions", "settings"],
};

/** Sections built in this release; the rest show what will be there. */
export const BUILT: ReadonlySet<SectionId> = new Set([
  "briefcase",
  "radar",
  "leads",
  "partners",
  "invite",
  "settings",
  "content",
  "team",
]);
