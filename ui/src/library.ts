// 内容库's pure rules, kept out of the screen so they are unit-tested.
import type { ContentStatus } from "./bindings";

/**
 * What an empty list says, by what hides items: the words searched, the
 * status picked, or 我的 alone (a rep's default: they have written nothing
 * yet), else the library is empty.
 */
export function emptyState(
  status: ContentStatus | null,
  mineOnly: boolean,
  search: string,
): { title: string; body: string } {
  if (search.trim() !== "") return { title: "library.noMatchTitle", body: "library.noMatchBody" };
  if (status !== null) return { title: "library.noStatusTitle", body: "library.noStatusBody" };
  if (mineOnly) return { title: "library.noMineTitle", body: "library.noMineBody" };
  return { title: "library.emptyTitle", body: "library.emptyBody" };
}
