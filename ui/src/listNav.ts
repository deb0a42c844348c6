// What the three virtualized lists (radar, leads, partners) share: the
// keyboard moves of a listbox and the virtualizer that asks for the next page
// as the user nears the end.
import { useEffect, type RefObject } from "react";
import { useVirtualizer } from "@tanstack/react-virtual";

/** The row the keyboard moves to from `current` in a list of `length`, or null for other keys. */
export function keyTarget(key: string, current: number, length: number): number | null {
  const moves: Record<string, number> = {
    ArrowDown: current + 1,
    ArrowUp: current - 1,
    PageDown: current + 10,
    PageUp: current - 10,
    Home: 0,
    End: length - 1,
  };
  const to = moves[key];
  if (to === undefined || length === 0) return null;
  return Math.max(0, Math.min(length - 1, to));
}

/**
 * A virtualizer over `count` rows of `rowPx` in `scrollRef`; calls `onNearEnd`
 * when a row within `prefetch` of the end is on screen (keyset paging).
 */
export function useVirtualRows(
  count: number,
  rowPx: number,
  scrollRef: RefObject<HTMLDivElement | null>,
  onNearEnd?: () => void,
  prefetch = 10,
) {
  // The virtualizer is not memoizable by the React Compiler; these lists
  // re-render on scroll anyway, which is what the virtualizer needs.
  // eslint-disable-next-line react-hooks/incompatible-library
  const virtualizer = useVirtualizer({
    count,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => rowPx,
    overscan: 8,
  });
  const visible = virtualizer.getVirtualItems();
  const last = visible[visible.length - 1];
  useEffect(() => {
    if (onNearEnd && last && last.index >= count - prefetch) onNearEnd();
  }, [last, count, prefetch, onNearEnd]);
  return virtualizer;
}
