// The one typed bridge to Rust. Every `invoke` lives here, typed with the
// types generated from warmlead-core (src/bindings); errors arrive as
// ApiError {code, message}: show the message, branch on the code.
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";

import { ERROR_CODES } from "./bindings/ErrorCodes";

import type {
  ApiError,
  BriefcaseItem,
  BriefcaseQuery,
  Channel,
  CodeSmsSent,
  Company,
  CompanyProfile,
  ContentDraft,
  ContentItem,
  ContentStatus,
  ErrorCode,
  LibraryItem,
  LibraryQuery,
  ImportPreview,
  ImportRow,
  Invitation,
  InviteDashboard,
  LeadDetail,
  LeadPage,
  LeadQuery,
  LeadSummary,
  ManFlags,
  MediaRef,
  NewInvitation,
  PartnerCounts,
  PartnerDetail,
  PartnerImportResult,
  PartnerPage,
  PartnerQuery,
  PosterInvitation,
  IssuedCode,
  NewTeamMember,
  TeamMember,
  RadarEntry,
  Session,
  ShareResult,
  SignedOut,
  SmsInviteRequest,
  SmsInviteResult,
  SmsRecord,
  SyncStatus,
  User,
} from "./bindings";

export type { ApiError, ErrorCode };



export function isApiError(e: unknown): e is ApiError {
  if (typeof e !== "object" || e === null) return false;
  const { code, message } = e as Record<string, unknown>;
  return (
    typeof message === "string" && ERROR_CODES.includes(code as ErrorCode)
  );
}

/** Whatever was thrown, as an ApiError (Tauri itself may throw strings). */
export function toApiError(e: unknown): ApiError {
  if (isApiError(e)) return e;
  return { code: "internal", message: e instanceof Error ? e.message : String(e) };
}

/** The company switched this account or this device off: the app signs out. */
export function isSwitchedOff(e: ApiError): boolean {
  return e.code === "account_disabled" || e.code === "device_revoked";
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    const err = toApiError(e);
    // Any call may be the first to hear it: Rust asks the server again, signs
    // out, wipes the cache and emits `signed-out` (the sign-in screen shows it).
    // Activation answers it too, for a code of a switched-off account: nothing
    // is signed in then, so there is nothing to report.
    if (isSwitchedOff(err) && cmd !== "activate") {
      invoke("report_switched_off").catch(() => undefined);
    }
    throw err;
  }
}

/** Name of the event the app emits with a SyncStatus on every change. */
const SYNC_STATUS_EVENT = "sync-status";
/** Emitted (no payload) after a sync that brought leads, signals or visits. */
const RADAR_CHANGED_EVENT = "radar-changed";
/** Emitted after a sync that brought any change (partners, invitations, SMS records). */
const SYNC_CHANGED_EVENT = "sync-changed";

const SESSION_CHANGED_EVENT = "session-changed";
/** `{upload_id, sent, total}` while a media upload runs. */
const UPLOAD_PROGRESS_EVENT = "upload-progress";

export type UploadProgress = { upload_id: string; sent: number; total: number };
const DEEP_LINK_REFUSED_EVENT = "deep-link-refused";
/** Emitted with a SignedOut after the app signed itself out (switched off). */
const SIGNED_OUT_EVENT = "signed-out";

/** Listens to several events with one callback; one function stops them all. */
async function listenAll(events: readonly string[], cb: () => void): Promise<UnlistenFn> {
  const stops = await Promise.all(events.map((name) => listen(name, () => cb())));
  return () => stops.forEach((stop) => stop());
}

export const api = {
  session: () => call<Session | null>("session"),
  activate: (serverUrl: string, code: string) =>
    call<Session>("activate", { serverUrl, code }),
  signOut: (force: boolean) => call<null>("sign_out", { force }),
  briefcase: (query: BriefcaseQuery) =>
    call<BriefcaseItem[]>("briefcase", { query }),
  contentItem: (id: number) => call<ContentItem>("content_item", { id }),
  createShare: (itemId: number, channel: Channel) =>
    call<ShareResult>("create_share", { itemId, channel }),
  radar: (limit: number) => call<RadarEntry[]>("radar", { limit }),
  leads: (query: LeadQuery) => call<LeadPage>("leads", { query }),
  leadDetail: (id: number) => call<LeadDetail>("lead_detail", { id }),
  setManFlags: (id: number, flags: ManFlags) =>
    call<LeadSummary>("set_man_flags", { id, flags }),
  /** Tells the app the UI language (for desktop notifications). */
  setLocale: (lang: string) => call<null>("set_locale", { lang }),
  onRadarChanged: (cb: () => void): Promise<UnlistenFn> =>
    listen(RADAR_CHANGED_EVENT, () => cb()),
  syncStatus: () => call<SyncStatus>("sync_status"),
  syncNow: () => call<SyncStatus>("sync_now"),
  /** Writes the QR code of `url` as a PNG into the Downloads folder; returns the path. */
  saveQrPng: (url: string, fileName: string) =>
    call<string>("save_qr_png", { url, fileName }),
  copyText: (text: string) => call<null>("copy_text", { text }),
  /** The 1080x1920 share poster (PNG, base64) of an item with the QR of share `token`. */
  sharePoster: (itemId: number, token: string) =>
    call<string>("share_poster", { itemId, token }),
  /** Puts a PNG (a poster) on the clipboard as an image. */
  copyPng: (pngBase64: string) => call<null>("copy_png", { pngBase64 }),
  /** Managers: uploads the company logo (PNG or JPEG); answers its media. */
  uploadLogo: (contentType: string, bytesBase64: string) =>
    call<MediaRef>("upload_logo", { contentType, bytesBase64 }),
  setCompanyProfile: (profile: CompanyProfile) =>
    call<Company>("set_company_profile", { profile }),
  // Recruiting (issue 4): invitations, SMS, posters, partners, CSV.
  createInvitation: (req: NewInvitation) => call<Invitation>("create_invitation", { req }),
  /** The invitation fresh from the server (uses, status). */
  invitation: (id: number) => call<Invitation>("invitation", { id }),
  revokeInvitation: (id: number) => call<Invitation>("revoke_invitation", { id }),
  setPosterSlogan: (slogan: string | null) => call<Company>("set_poster_slogan", { slogan }),
  invitations: (limit: number) => call<Invitation[]>("invitations", { limit }),
  inviteDashboard: () => call<InviteDashboard>("invite_dashboard"),
  /** With `req.dry_run` nothing is sent: the answer is the preview. */
  smsInvite: (req: SmsInviteRequest) => call<SmsInviteResult>("sms_invite", { req }),
  smsRecords: (limit: number) => call<SmsRecord[]>("sms_records", { limit }),
  posterInvitation: () => call<PosterInvitation>("poster_invitation"),
  /** Writes a PNG into the Downloads folder; returns the path. */
  savePng: (pngBase64: string, fileName: string) =>
    call<string>("save_png", { pngBase64, fileName }),
  partners: (query: PartnerQuery) => call<PartnerPage>("partners", { query }),
  partnerCounts: () => call<PartnerCounts>("partner_counts"),
  partnerDetail: (id: number) => call<PartnerDetail>("partner_detail", { id }),
  previewPartnerImport: (bytesBase64: string) =>
    call<ImportPreview>("preview_partner_import", { bytesBase64 }),
  /** All or nothing: `errors` non-empty means nothing was written. */
  importPartners: (rows: ImportRow[]) => call<PartnerImportResult>("import_partners", { rows }),
  /** Writes the CSV into the Downloads folder; returns the path. */
  exportPartners: (fileName: string) => call<string>("export_partners", { fileName }),
  // Team (managers): people, devices, switching off, activation codes.
  team: (sharesSince: number) => call<TeamMember[]>("team", { sharesSince }),
  addTeamMember: (newMember: NewTeamMember) =>
    call<IssuedCode>("add_team_member", { new: newMember }),
  issueActivationCode: (userId: number) => call<IssuedCode>("issue_activation_code", { userId }),
  smsActivationCode: (userId: number, activationCode: string) =>
    call<CodeSmsSent>("sms_activation_code", { userId, activationCode }),
  setMemberActive: (userId: number, active: boolean) =>
    call<TeamMember>("set_member_active", { userId, active }),
  revokeDevice: (deviceId: number) => call<TeamMember>("revoke_device", { deviceId }),
  // Content library (managers; reps for their own items).
  library: (query: LibraryQuery) => call<LibraryItem[]>("library", { query }),
  /** The company's reps as last synced (offline too), by name. */
  libraryReps: () => call<User[]>("library_reps"),
  /** Saved here at once (offline too), pushed at the next sync. */
  saveContent: (key: string, draft: ContentDraft) =>
    call<LibraryItem>("save_content", { key, draft }),
  setContentStatus: (key: string, status: ContentStatus) =>
    call<LibraryItem>("set_content_status", { key, status }),
  /** The file dialog; null when closed without a choice. */
  pickMediaFile: (video: boolean) => call<string | null>("pick_media_file", { video }),
  /** Streams the file to the server; progress arrives through `onUploadProgress`. */
  uploadMedia: (uploadId: string, path: string) =>
    call<MediaRef>("upload_media", { uploadId, path }),
  cancelUpload: (uploadId: string) => call<null>("cancel_upload", { uploadId }),
  onUploadProgress: (cb: (p: UploadProgress) => void): Promise<UnlistenFn> =>
    listen<UploadProgress>(UPLOAD_PROGRESS_EVENT, (e) => cb(e.payload)),
  /** The article HTML exactly as the server will store it. */
  sanitizeArticle: (html: string) => call<string>("sanitize_article", { html }),
  /** Keeps an image placed in an article here (offline too) under a new
   * key; the next sync uploads it before the article. */
  addArticleImage: (contentType: string, bytesBase64: string) =>
    call<MediaRef>("add_article_image", { contentType, bytesBase64 }),
  /** A media of the company as a data: URL (drafts' images are not public). */
  mediaDataUrl: (key: string) => call<string>("media_data_url", { key }),
  /** The QR code of `text` as a base64 PNG, drawn by the Rust side. */
  qrPng: (text: string) => call<string>("qr_png", { text }),
  /** A sync brought changes: `sync-changed`, and `radar-changed` for radar news. */
  onSyncChanged: (cb: () => void): Promise<UnlistenFn> =>
    listenAll([SYNC_CHANGED_EVENT, RADAR_CHANGED_EVENT], cb),
  onSyncStatus: (cb: (s: SyncStatus) => void): Promise<UnlistenFn> =>
    listen<SyncStatus>(SYNC_STATUS_EVENT, (e) => cb(e.payload)),
  /** A warmlead:// link signed this device in while the window was open. */
  onSessionChanged: (cb: (s: Session) => void): Promise<UnlistenFn> =>
    listen<Session>(SESSION_CHANGED_EVENT, (e) => cb(e.payload)),
  /** A warmlead:// link was not used; the payload says why (in Chinese). */
  onDeepLinkRefused: (cb: (message: string) => void): Promise<UnlistenFn> =>
    listen<string>(DEEP_LINK_REFUSED_EVENT, (e) => cb(e.payload)),
  /** The company switched this account or device off; the cache is wiped. */
  onSignedOut: (cb: (n: SignedOut) => void): Promise<UnlistenFn> =>
    listen<SignedOut>(SIGNED_OUT_EVENT, (e) => cb(e.payload)),
  /** Why the app last signed itself out, if it did. */
  signedOutNotice: () => call<SignedOut | null>("signed_out_notice"),
};
