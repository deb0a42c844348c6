// The window: sign-in until activated, then the role's sections. Holds the
// session and the live sync status (pushed by the app as `sync-status`).
import { useCallback, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";

import { api, type ApiError } from "./api";
import type { Session, SignedOut, SyncStatus, UpdateStatus } from "./bindings";
import { Sidebar } from "./components/Sidebar";
import { useToast } from "./components/Toast";
import { UpdateBanner } from "./components/UpdateBanner";
import { Briefcase } from "./screens/Briefcase";
import { Library } from "./screens/Library";
import { ComingSoon } from "./screens/ComingSoon";
import { Team } from "./screens/Team";
import { Invite } from "./screens/Invite";
import { Leads } from "./screens/Leads";
import { Overview } from "./screens/Overview";
import { Partners } from "./screens/Partners";
import { Radar } from "./screens/Radar";
import { Settings } from "./screens/Settings";
import { SignIn } from "./screens/SignIn";
import { currentLanguage, setLanguage } from "./i18n";
import { SECTIONS, type SectionId } from "./sections";

function firstSection(s: Session): SectionId {
  return SECTIONS[s.user.role][0] ?? "settings";
}

export function App() {
  const { t, i18n } = useTranslation();
  const toast = useToast();
  // undefined: still asking Rust; null: not signed in.
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [section, setSection] = useState<SectionId>("briefcase");
  const [status, setStatus] = useState<SyncStatus | null>(null);
  const [syncing, setSyncing] = useState(false);
  const [loadError, setLoadError] = useState<ApiError | null>(null);
  // Why the app signed itself out (the company switched this account off).
  const [signedOut, setSignedOut] = useState<SignedOut | null>(null);
  // New versions on the company's server (the app checks; see update.rs).
  const [update, setUpdate] = useState<UpdateStatus | null>(null);

  useEffect(() => {
    api
      .session()
      .then((s) => {
        setSession(s);
        if (s) setSection(firstSection(s));
        else api.signedOutNotice().then(setSignedOut, () => undefined);
      })
      .catch((e: ApiError) => setLoadError(e));
  }, []);

  // A warmlead:// activation link can arrive while the window is open: the
  // sign-in screen asks before it is used; signed in, say why it was not.
  useEffect(() => {
    const stops: (() => void)[] = [];
    let live = true;
    const keep = (u: () => void) => (live ? stops.push(u) : u());
    void api.onDeepLinkRefused((message) => toast(message)).then(keep);
    void api
      .onSignedOut((n) => {
        // The app cleared the webview's data; the language is the person's.
        setLanguage(currentLanguage());
        setSignedOut(n);
        setStatus(null);
        setSession(null);
      })
      .then(keep);
    return () => {
      live = false;
      stops.forEach((u) => u());
    };
  }, [toast]);

  // Desktop notifications speak the UI's language.
  useEffect(() => {
    if (session) api.setLocale(i18n.language).catch(() => undefined);
  }, [session, i18n.language]);

  // Live badge: the initial status, then every change the engine reports.
  useEffect(() => {
    if (!session) return;
    let unlisten: (() => void) | undefined;
    let live = true;
    void api.onSyncStatus((s) => setStatus(s)).then((u) => {
      if (live) unlisten = u;
      else u();
    });
    api
      .syncStatus()
      .then((s) => live && setStatus(s))
      .catch(() => undefined);
    return () => {
      live = false;
      unlisten?.();
    };
  }, [session]);

  // Updates: where they stand now, then every check the app reports.
  useEffect(() => {
    if (!session) return;
    let unlisten: (() => void) | undefined;
    let live = true;
    void api.onUpdateStatus((u) => setUpdate(u)).then((u) => {
      if (live) unlisten = u;
      else u();
    });
    api
      .updateStatus()
      .then((u) => live && setUpdate(u))
      .catch(() => undefined);
    return () => {
      live = false;
      unlisten?.();
    };
  }, [session]);

  const syncNow = useCallback(async () => {
    setSyncing(true);
    try {
      setStatus(await api.syncNow());
    } catch (e) {
      toast(t("error.generic", { message: (e as ApiError).message }));
    } finally {
      setSyncing(false);
    }
  }, [t, toast]);

  // Forgets a refused change the user has seen (it was undone when refused).
  const dismissRejected = useCallback(
    async (mutationId: string) => {
      try {
        setStatus(await api.dismissRejected(mutationId));
      } catch (e) {
        toast(t("error.generic", { message: (e as ApiError).message }));
      }
    },
    [t, toast],
  );

  if (loadError) {
    return (
      <div className="empty">
        <h2>{t("error.generic", { message: loadError.message })}</h2>
      </div>
    );
  }
  if (session === undefined) {
    return (
      <div className="empty" aria-busy="true">
        {t("app.loading")}
      </div>
    );
  }
  if (session === null) {
    return (
      <SignIn
        signedOut={signedOut}
        onSignedIn={(s) => {
          setSignedOut(null);
          setSession(s);
          setSection(firstSection(s));
        }}
      />
    );
  }

  const offline = status?.state === "offline";
  const content = (() => {
    switch (section) {
      case "content":
        return <Library session={session} status={status} />;
      case "briefcase":
        return (
          <Briefcase
            status={status}
            offline={offline}
            onDismiss={dismissRejected}
            title={t(`section.${section}`)}
            canShare={session.user.role !== "manager"}
          />
        );
      case "radar":
        return <Radar role={session.user.role} status={status} />;
      case "leads":
        return <Leads role={session.user.role} status={status} />;
      case "partners":
        return <Partners status={status} onInvite={() => setSection("invite")} />;
      case "invite":
        return <Invite session={session} status={status} />;
      case "team":
        return <Team session={session} />;
      case "overview":
        return <Overview status={status} onGo={setSection} />;
      case "settings":
        return (
          <Settings
            session={session}
            status={status}
            update={update}
            onUpdate={setUpdate}
            onSignedOut={() => {
              setSession(null);
              setStatus(null);
            }}
          />
        );
      default:
        return <ComingSoon section={section} />;
    }
  })();

  return (
    <div className="shell">
      <Sidebar
        session={session}
        current={section}
        onSelect={setSection}
        status={status}
        syncing={syncing}
        onSyncNow={() => void syncNow()}
        onDismiss={dismissRejected}
      />
      {content}
      <UpdateBanner status={update} onStatus={setUpdate} />
    </div>
  );
}
