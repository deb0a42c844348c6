import { useEffect, useState } from "react";

import { api } from "./api";

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
