// Pure helpers of the Partners section and the CSV import: filter chips,
// stage rules in words, import problems in words, export file names. Kept
// out of the components so vitest can check them.
import type {
  ImportColumn,
  ImportFileError,
  ImportReason,
  ImportRowError,
  LifecycleRules,
  PartnerCounts,
  PartnerFilter,
  PartnerPage,
  PartnerQuery,
  PartnerStage,
} from "./bindings";
import { LIMITS } from "./bindings/Limits";
import type { Translate } from "./format";

/** The chips, in the order the screen shows them. */
export const PARTNER_FILTERS: readonly PartnerFilter[] = [
  "all",
  "active",
  "dormant",
  "never_shared",
  "new",
  "churned",
];

/** Every stage, for tests and legends. */
export const PARTNER_STAGES: readonly PartnerStage[] = ["new", "active", "dormant", "churned"];

/** The day counts the app uses (LifecycleRules::default in warmlead-core). */
export const LIFECYCLE_RULES: LifecycleRules = {
  new_for_days: 14,
  dormant_after_days: 30,
  churned_after_days: 90,
};

/** The number on a filter chip. */
export function countFor(counts: PartnerCounts, filter: PartnerFilter): number {
  return counts[filter];
}

/** First page of the list for a filter chip and the search box. */
export function buildPartnerQuery(filter: PartnerFilter, search: string): PartnerQuery {
  const s = search.trim();
  return {
    search: s === "" ? null : s,
    filter: filter === "all" ? null : filter,
    after: null,
    limit: 100,
  };
}

/** The rule behind a stage, in words ("30 天没有分享"). */
export function stageRule(stage: PartnerStage, t: Translate, rules = LIFECYCLE_RULES): string {
  switch (stage) {
    case "new":
      return t("partners.rule.new", { count: rules.new_for_days });
    case "active":
      return t("partners.rule.active", { count: rules.dormant_after_days });
    case "dormant":
      return t("partners.rule.dormant", { count: rules.dormant_after_days });
    case "churned":
      return t("partners.rule.churned", { count: rules.churned_after_days });
  }
}

/** Why a row cannot be imported, in words (with the earlier row of a duplicate). */
export function importReasonText(e: Pick<ImportRowError, "reason" | "duplicate_of">, t: Translate): string {
  const reason: ImportReason = e.reason;
  if (reason === "duplicate_phone") {
    return e.duplicate_of === null
      ? t("import.reason.duplicate_phone_known")
      : t("import.reason.duplicate_phone", { row: e.duplicate_of });
  }
  return t(`import.reason.${reason}`);
}

/** Why the whole file is refused, in words with what to do. */
export function importFileErrorText(e: ImportFileError, t: Translate): string {
  return t(`import.fileError.${e}`, {
    mb: LIMITS.maxImportUnzippedBytes / (1024 * 1024),
    cells: LIMITS.maxImportCells,
  });
}

/** A column's name as the person's spreadsheet calls it; "整行" for a whole-row problem. */
export function importColumnText(c: ImportColumn | null, t: Translate): string {
  return t(`import.column.${c ?? "row"}`);
}

const pad2 = (n: number) => String(n).padStart(2, "0");

/** `warmlead-partners-2026-11-23.csv` for the local date of `nowMs`. */
export function exportFileName(nowMs: number): string {
  const d = new Date(nowMs);
  return `warmlead-partners-${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}.csv`;
}

/** Standard base64 of file bytes (what preview_partner_import takes). */
export function bytesToBase64(bytes: ArrayBuffer | Uint8Array): string {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let bin = "";
  // In slices: String.fromCharCode with 2 MiB of arguments overflows the stack.
  for (let i = 0; i < u8.length; i += 0x8000) {
    bin += String.fromCharCode(...u8.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

/** A picked file's bytes as base64 (CSV previews run in Rust). */
export async function fileToBase64(file: Blob): Promise<string> {
  return bytesToBase64(await file.arrayBuffer());
}

/** Largest page the app answers (PartnerQuery.limit). */
const MAX_PAGE = 500;

/**
 * The first `want` rows of a query (at least one page), fetched page by page.
 * A sync refresh reloads as many rows as the list holds, so someone deep in
 * 10,000 partners keeps their place instead of falling back to the top.
 */
export async function loadRows(
  fetchPage: (q: PartnerQuery) => Promise<PartnerPage>,
  query: PartnerQuery,
  want: number,
): Promise<PartnerPage> {
  const first = query.limit ?? 100;
  let page = await fetchPage({ ...query, limit: Math.min(MAX_PAGE, Math.max(first, want)) });
  const rows = [...page.partners];
  while (rows.length < want && page.next) {
    const limit = Math.min(MAX_PAGE, Math.max(first, want - rows.length));
    page = await fetchPage({ ...query, after: page.next, limit });
    rows.push(...page.partners);
  }
  return { partners: rows, next: page.next };
}
