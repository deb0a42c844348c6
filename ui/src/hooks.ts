import { useEffect, useState, type Dispatch, type SetStateAction } from "react";

import { api, type ApiError } from "./api";

/** The current time, refreshed every `everyMs` (for "2 min ago"). */
export function useNow(everyMs = 30_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(id);
  }, [everyMs]);
  return now;
}

/** Refreshes on `sync-changed`/`radar-changed`: returns a counter that moves. */
export function useSyncTick(): number {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let unlisten: (() => void) | undefined;
    let live = true;
    void api
      .onSyncChanged(() => setTick((n) => n + 1))
      .then((u) => {
        if (live) unlisten = u;
        else u();
      })
      .catch(() => undefined);
    return () => {
      live = false;
      unlisten?.();
    };
  }, []);
  return tick;
}

/**
 * What `load` answers, reloaded when `deps` change; an answer that arrives
 * after the next load started is dropped. The setters let a pane patch it.
 */
export function useLoad<T>(
  load: () => Promise<T>,
  deps: readonly unknown[],
): {
  data: T | null;
  error: ApiError | null;
  setData: Dispatch<SetStateAction<T | null>>;
  setError: Dispatch<SetStateAction<ApiError | null>>;
} {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  useEffect(() => {
    let live = true;
    load()
      .then((d) => {
        if (!live) return;
        setData(d);
        setError(null);
      })
      .catch((e: ApiError) => live && setError(e));
    return () => {
      live = false;
    };
    // The caller names what the load depends on.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  return { data, error, setData, setError };
}
