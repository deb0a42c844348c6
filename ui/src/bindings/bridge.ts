// Generated from src-tauri by `cargo xtask bindings` (src-tauri/src/bridge.rs):
// every command's name, argument keys and types and answer, every event's name
// and payload. Do not edit: change the Rust side and regenerate.
import { listen, type UnlistenFn } from "@tauri-apps/api/event";

import type { BriefcaseItem } from "./BriefcaseItem";
import type { BriefcaseQuery } from "./BriefcaseQuery";
import type { Channel } from "./Channel";
import type { CodeSmsSent } from "./CodeSmsSent";
import type { Company } from "./Company";
import type { CompanyProfile } from "./CompanyProfile";
import type { ContentDraft } from "./ContentDraft";
import type { ContentItem } from "./ContentItem";
import type { ContentStatus } from "./ContentStatus";
import type { ImportPreview } from "./ImportPreview";
import type { ImportRow } from "./ImportRow";
import type { Invitation } from "./Invitation";
import type { InviteDashboard } from "./InviteDashboard";
import type { IssuedCode } from "./IssuedCode";
import type { LeadDetail } from "./LeadDetail";
import type { LeadPage } from "./LeadPage";
import type { LeadQuery } from "./LeadQuery";
import type { LeadSummary } from "./LeadSummary";
import type { LibraryItem } from "./LibraryItem";
import type { LibraryQuery } from "./LibraryQuery";
import type { LinkActivation } from "./LinkActivation";
import type { ManFlags } from "./ManFlags";
import type { MediaRef } from "./MediaRef";
import type { MediaUsage } from "./MediaUsage";
import type { NewInvitation } from "./NewInvitation";
import type { NewTeamMember } from "./NewTeamMember";
import type { PartnerCounts } from "./PartnerCounts";
import type { PartnerDetail } from "./PartnerDetail";
import type { PartnerImportResult } from "./PartnerImportResult";
import type { PartnerPage } from "./PartnerPage";
import type { PartnerQuery } from "./PartnerQuery";
import type { PosterInvitation } from "./PosterInvitation";
import type { RadarEntry } from "./RadarEntry";
import type { Session } from "./Session";
import type { ShareResult } from "./ShareResult";
import type { SignInFields } from "./SignInFields";
import type { SignedOut } from "./SignedOut";
import type { SmsInviteRequest } from "./SmsInviteRequest";
import type { SmsInviteResult } from "./SmsInviteResult";
import type { SmsRecord } from "./SmsRecord";
import type { SyncStatus } from "./SyncStatus";
import type { TeamImportResult } from "./TeamImportResult";
import type { TeamMember } from "./TeamMember";
import type { TeamScreen } from "./TeamScreen";
import type { TokenPlace } from "./TokenPlace";
import type { UpdateStatus } from "./UpdateStatus";
import type { UploadProgress } from "./UploadProgress";
import type { User } from "./User";

/** The name of every command the app registers. */
export type CommandName =
  | "session"
  | "activate"
  | "read_sign_in"
  | "sign_out"
  | "token_place"
  | "briefcase"
  | "content_item"
  | "create_share"
  | "radar"
  | "sync_status"
  | "sync_now"
  | "dismiss_rejected"
  | "save_qr_png"
  | "qr_png"
  | "copy_text"
  | "leads"
  | "lead_detail"
  | "set_man_flags"
  | "set_locale"
  | "create_invitation"
  | "invitation"
  | "revoke_invitation"
  | "set_poster_slogan"
  | "invitations"
  | "invite_dashboard"
  | "sms_invite"
  | "sms_records"
  | "poster_invitation"
  | "save_png"
  | "share_poster"
  | "copy_png"
  | "upload_logo"
  | "set_company_profile"
  | "media_usage"
  | "partners"
  | "partner_counts"
  | "partner_detail"
  | "preview_partner_import"
  | "import_partners"
  | "export_partners"
  | "team"
  | "add_team_member"
  | "issue_activation_code"
  | "sms_activation_code"
  | "set_member_active"
  | "revoke_device"
  | "revoke_activation_code"
  | "import_team"
  | "export_codes_csv"
  | "library"
  | "library_reps"
  | "save_content"
  | "set_content_status"
  | "delete_draft"
  | "upload_media"
  | "cancel_upload"
  | "add_article_image"
  | "media_data_url"
  | "pick_media_file"
  | "sanitize_article"
  | "signed_out_notice"
  | "pending_link"
  | "confirm_link"
  | "cancel_link"
  | "report_switched_off"
  | "update_status"
  | "check_for_update"
  | "install_update";

/** Sends one command: Tauri's `invoke`, or a wrapper of it. */
export type Invoke = <T>(command: CommandName, args?: Record<string, unknown>) => Promise<T>;

/** Every command, typed from its Rust signature, sent through `invoke`. */
export function commands(invoke: Invoke) {
  return {
    session: (): Promise<Session | null> =>
      invoke<Session | null>("session"),
    /** Signs in by hand, with the fields as typed (or a link pasted into one). */
    activate: (serverUrl: string, code: string): Promise<Session> =>
      invoke<Session>("activate", { serverUrl, code }),
    /**
     * The sign-in fields as they will be used: a pasted `warmlead://` link in
     * either field becomes its server and code, a typed address its full form.
     * The screen shows them back before it signs in.
     */
    readSignIn: (serverUrl: string, code: string): Promise<SignInFields> =>
      invoke<SignInFields>("read_sign_in", { serverUrl, code }),
    /** Signs out; without `force` it refuses while changes wait to sync. */
    signOut: (force: boolean): Promise<null> =>
      invoke<null>("sign_out", { force }),
    /**
     * Where this computer keeps the device token, for Settings: the session's
     * place when signed in, else where a sign-in would put it.
     */
    tokenPlace: (): Promise<TokenPlace> =>
      invoke<TokenPlace>("token_place"),
    briefcase: (query: BriefcaseQuery): Promise<Array<BriefcaseItem>> =>
      invoke<Array<BriefcaseItem>>("briefcase", { query }),
    contentItem: (id: number): Promise<ContentItem> =>
      invoke<ContentItem>("content_item", { id }),
    /**
     * Creates a share (offline too) with its link and QR code. The suggested
     * message is left empty: the UI writes it in the user's language.
     */
    createShare: (itemId: number, channel: Channel): Promise<ShareResult> =>
      invoke<ShareResult>("create_share", { itemId, channel }),
    radar: (limit: number): Promise<Array<RadarEntry>> =>
      invoke<Array<RadarEntry>>("radar", { limit }),
    syncStatus: (): Promise<SyncStatus> =>
      invoke<SyncStatus>("sync_status"),
    /** Syncs now; a failed attempt is not an error here: the status says why. */
    syncNow: (): Promise<SyncStatus> =>
      invoke<SyncStatus>("sync_now"),
    /**
     * Forgets a rejected change the user has seen. Only the record goes: the
     * change itself was undone when the server refused it. Answers the badge's
     * status without it.
     */
    dismissRejected: (mutationId: string): Promise<SyncStatus> =>
      invoke<SyncStatus>("dismiss_rejected", { mutationId }),
    /**
     * Saves the QR code of `url` as a PNG where the user chooses (a save
     * dialog that opens on Downloads); the path written, `None` when they
     * cancelled.
     */
    saveQrPng: (url: string, fileName: string): Promise<string | null> =>
      invoke<string | null>("save_qr_png", { url, fileName }),
    /**
     * The QR code of `text` as a PNG (base64), drawn by the same Rust code as
     * the posters' QR, for the screens to show (an activation link, a share).
     */
    qrPng: (text: string): Promise<string> =>
      invoke<string>("qr_png", { text }),
    copyText: (text: string): Promise<null> =>
      invoke<null>("copy_text", { text }),
    leads: (query: LeadQuery): Promise<LeadPage> =>
      invoke<LeadPage>("leads", { query }),
    leadDetail: (id: number): Promise<LeadDetail> =>
      invoke<LeadDetail>("lead_detail", { id }),
    /**
     * Saves the flags with their outbox row and asks for a sync; the new grade
     * comes back from the server.
     */
    setManFlags: (id: number, flags: ManFlags): Promise<LeadSummary> =>
      invoke<LeadSummary>("set_man_flags", { id, flags }),
    setLocale: (lang: string): Promise<null> =>
      invoke<null>("set_locale", { lang }),
    /**
     * Makes a QR or poster invitation on this device (no network needed: the
     * link works as soon as a phone opens it) and asks for a sync so the
     * server records it too. SMS invitations are sent by the server
     * (`sms_invite`).
     */
    createInvitation: (req: NewInvitation): Promise<Invitation> =>
      invoke<Invitation>("create_invitation", { req }),
    /**
     * The invitation as the cache has it; for one the server has recorded,
     * fresh from the server (uses, status) when it can be reached. A negative
     * id (made on this device) finds it also after the server's row arrived.
     */
    invitation: (id: number): Promise<Invitation> =>
      invoke<Invitation>("invitation", { id }),
    /**
     * Revokes an invitation on the server. One made on this device is first
     * pushed (a sync), since the server can only revoke what it has recorded.
     */
    revokeInvitation: (id: number): Promise<Invitation> =>
      invoke<Invitation>("revoke_invitation", { id }),
    /**
     * Managers: the company's poster slogan (None or blank: the neutral
     * default). The answer is the Company; a sync brings it to the cache.
     */
    setPosterSlogan: (slogan: string | null): Promise<Company> =>
      invoke<Company>("set_poster_slogan", { slogan }),
    invitations: (limit: number): Promise<Array<Invitation>> =>
      invoke<Array<Invitation>>("invitations", { limit }),
    inviteDashboard: (): Promise<InviteDashboard> =>
      invoke<InviteDashboard>("invite_dashboard"),
    /**
     * A dry run is the preview; a real send is followed by a sync so the
     * records and invitations appear in the lists.
     */
    smsInvite: (req: SmsInviteRequest): Promise<SmsInviteResult> =>
      invoke<SmsInviteResult>("sms_invite", { req }),
    smsRecords: (limit: number): Promise<Array<SmsRecord>> =>
      invoke<Array<SmsRecord>>("sms_records", { limit }),
    /**
     * Makes a multi-use poster invitation on this device and renders its
     * 1080x1920 poster.
     */
    posterInvitation: (): Promise<PosterInvitation> =>
      invoke<PosterInvitation>("poster_invitation"),
    /**
     * Saves a PNG the UI has (a poster) where the user chooses (a save dialog
     * that opens on Downloads); the path written, `None` when cancelled.
     */
    savePng: (pngBase64: string, fileName: string): Promise<string | null> =>
      invoke<string | null>("save_png", { pngBase64, fileName }),
    /**
     * The 1080x1920 poster (PNG, base64) of item `item_id` with the QR of this
     * user's share `token` (made by `create_share`, on this device). Works
     * offline: the link is signed here and images come from the cache.
     */
    sharePoster: (itemId: number, token: string): Promise<string> =>
      invoke<string>("share_poster", { itemId, token }),
    /**
     * Puts a PNG the UI has (a poster) on the clipboard as an image, to paste
     * into a chat.
     */
    copyPng: (pngBase64: string): Promise<null> =>
      invoke<null>("copy_png", { pngBase64 }),
    /**
     * Managers: uploads a logo (PNG or JPEG, at most `MAX_LOGO_BYTES`) and
     * answers its media, to put in the profile.
     */
    uploadLogo: (contentType: string, bytesBase64: string): Promise<MediaRef> =>
      invoke<MediaRef>("upload_logo", { contentType, bytesBase64 }),
    /**
     * Managers: the company's whole profile. The answer is the Company; a sync
     * brings it to this cache and every other device.
     */
    setCompanyProfile: (profile: CompanyProfile): Promise<Company> =>
      invoke<Company>("set_company_profile", { profile }),
    /**
     * Managers: the room the company's uploaded media take on the server, of
     * its quota (shown in Settings; needs the network).
     */
    mediaUsage: (): Promise<MediaUsage> =>
      invoke<MediaUsage>("media_usage"),
    partners: (query: PartnerQuery): Promise<PartnerPage> =>
      invoke<PartnerPage>("partners", { query }),
    partnerCounts: (): Promise<PartnerCounts> =>
      invoke<PartnerCounts>("partner_counts"),
    partnerDetail: (id: number): Promise<PartnerDetail> =>
      invoke<PartnerDetail>("partner_detail", { id }),
    /** Reads a CSV file the UI picked (base64 of its bytes): nothing is written. */
    previewPartnerImport: (bytesBase64: string): Promise<ImportPreview> =>
      invoke<ImportPreview>("preview_partner_import", { bytesBase64 }),
    /**
     * Imports checked rows on the server, all or none. Rows the server refuses
     * (e.g. already partners) come back in `errors` with `imported: 0`. A
     * `dry_run` only asks the server what it would refuse (the preview).
     */
    importPartners: (rows: Array<ImportRow>, dryRun: boolean): Promise<PartnerImportResult> =>
      invoke<PartnerImportResult>("import_partners", { rows, dryRun }),
    /** Writes every partner in scope as CSV into Downloads; returns the path. */
    exportPartners: (fileName: string): Promise<string> =>
      invoke<string>("export_partners", { fileName }),
    /**
     * The company's people and the open codes this device knows; shares
     * counted from `shares_since` (UTC ms, the UI's start of the month).
     */
    team: (sharesSince: number): Promise<TeamScreen> =>
      invoke<TeamScreen>("team", { sharesSince }),
    addTeamMember: (newValue: NewTeamMember): Promise<IssuedCode> =>
      invoke<IssuedCode>("add_team_member", { new: newValue }),
    issueActivationCode: (userId: number): Promise<IssuedCode> =>
      invoke<IssuedCode>("issue_activation_code", { userId }),
    /** Sends an open activation code this device knows to the person's phone. */
    smsActivationCode: (userId: number, activationCode: string): Promise<CodeSmsSent> =>
      invoke<CodeSmsSent>("sms_activation_code", { userId, activationCode }),
    setMemberActive: (userId: number, active: boolean, reopenInvitations: boolean): Promise<TeamMember> =>
      invoke<TeamMember>("set_member_active", { userId, active, reopenInvitations }),
    revokeDevice: (deviceId: number): Promise<TeamMember> =>
      invoke<TeamMember>("revoke_device", { deviceId }),
    /** Withdraws one open activation code of the person; this device forgets it. */
    revokeActivationCode: (userId: number, codeId: number): Promise<TeamMember> =>
      invoke<TeamMember>("revoke_activation_code", { userId, codeId }),
    /**
     * Adds reps from a file's checked rows, all or none, each with a first
     * code (kept here like any code this device issued); `dry_run` only asks
     * the server what it would refuse (phones already in the company).
     */
    importTeam: (rows: Array<ImportRow>, dryRun: boolean): Promise<TeamImportResult> =>
      invoke<TeamImportResult>("import_team", { rows, dryRun }),
    /**
     * Saves the codes an import gave out (name, phone, code, link) as a CSV
     * file where the manager chooses, Downloads first; the path written, or
     * None when the save dialog was closed.
     */
    exportCodesCsv: (fileName: string, codes: Array<IssuedCode>): Promise<string | null> =>
      invoke<string | null>("export_codes_csv", { fileName, codes }),
    library: (query: LibraryQuery): Promise<Array<LibraryItem>> =>
      invoke<Array<LibraryItem>>("library", { query }),
    /** The company's reps from the cache (offline too), for the audience picker. */
    libraryReps: (): Promise<Array<User>> =>
      invoke<Array<User>>("library_reps"),
    /**
     * Saves the author's whole draft here (nothing typed is lost, offline
     * too) and asks for a sync. The UI calls it as the author types, debounced.
     */
    saveContent: (key: string, draft: ContentDraft): Promise<LibraryItem> =>
      invoke<LibraryItem>("save_content", { key, draft }),
    /**
     * Publishes (`live`) or archives an item, here at once and on the server
     * at the next sync.
     */
    setContentStatus: (key: string, status: ContentStatus): Promise<LibraryItem> =>
      invoke<LibraryItem>("set_content_status", { key, status }),
    /**
     * Deletes a draft here at once and on the server at the next sync; the
     * error says when it must sync first.
     */
    deleteDraft: (key: string): Promise<null> =>
      invoke<null>("delete_draft", { key }),
    /**
     * Uploads a file chosen by the user, streamed from disk; progress goes out
     * as `upload-progress` events. Needs the network; a failure leaves nothing
     * on the server, so the UI simply offers to try again.
     */
    uploadMedia: (uploadId: string, path: string): Promise<MediaRef> =>
      invoke<MediaRef>("upload_media", { uploadId, path }),
    /** Stops a running upload (its command then answers "cancelled"). */
    cancelUpload: (uploadId: string): Promise<null> =>
      invoke<null>("cancel_upload", { uploadId }),
    /**
     * Keeps an image the author placed in an article (pasted, dropped or
     * chosen) in the cache under a new key, offline too; the next sync uploads
     * it before the article. Answers its media for the `<img>`.
     */
    addArticleImage: (contentType: string, bytesBase64: string): Promise<MediaRef> =>
      invoke<MediaRef>("add_article_image", { contentType, bytesBase64 }),
    /**
     * An image of the company as a `data:` URL, for the editor and the phone
     * preview (a draft's images are not public, so the webview cannot load
     * them by address). An image still waiting for the network comes from the
     * cache.
     */
    mediaDataUrl: (key: string): Promise<string> =>
      invoke<string>("media_data_url", { key }),
    /**
     * Lets the user choose a poster image (`video` false) or a video file.
     * `None` when they close the dialog.
     */
    pickMediaFile: (video: boolean): Promise<string | null> =>
      invoke<string | null>("pick_media_file", { video }),
    /**
     * The safe form of an article body: what the server will store and the
     * public page show, so the phone preview is exact even offline.
     */
    sanitizeArticle: (html: string): Promise<string> =>
      invoke<string>("sanitize_article", { html }),
    /**
     * Why the app last signed itself out, for the sign-in screen (None after a
     * new activation or an ordinary sign-out).
     */
    signedOutNotice: (): Promise<SignedOut | null> =>
      invoke<SignedOut | null>("signed_out_notice"),
    /** The activation link waiting for the person's answer, if any. */
    pendingLink: (): Promise<LinkActivation | null> =>
      invoke<LinkActivation | null>("pending_link"),
    /**
     * The person read the server's name and continued: sign in with the link
     * they saw. `server_url` is the address the dialog showed; a link that
     * replaced it meanwhile is not used under that name.
     */
    confirmLink: (serverUrl: string): Promise<Session> =>
      invoke<Session>("confirm_link", { serverUrl }),
    /**
     * The person cancelled: the link is forgotten, nothing was sent anywhere;
     * opening it again asks again.
     */
    cancelLink: (): Promise<null> =>
      invoke<null>("cancel_link"),
    /**
     * The UI got `account_disabled` or `device_revoked` from an API call: ask
     * the server once more with this device's token, and sign out if it says so.
     */
    reportSwitchedOff: (): Promise<null> =>
      invoke<null>("report_switched_off"),
    /**
     * Where updates stand (the banner and Settings ask at start, then listen
     * to `update-status`).
     */
    updateStatus: (): Promise<UpdateStatus> =>
      invoke<UpdateStatus>("update_status"),
    /** Asks the server now (Settings' 检查更新 button). */
    checkForUpdate: (): Promise<UpdateStatus> =>
      invoke<UpdateStatus>("check_for_update"),
    /**
     * Downloads, verifies and installs the offered version, then restarts the
     * app. A package or signature that does not verify installs nothing and
     * comes back as `refused`; a download that fails is an `offline` error.
     */
    installUpdate: (): Promise<UpdateStatus> =>
      invoke<UpdateStatus>("install_update"),
  };
}

/** The name of every event the app emits. */
export const EVENTS = {
  syncStatus: "sync-status",
  syncChanged: "sync-changed",
  radarChanged: "radar-changed",
  deepLinkPending: "deep-link-pending",
  deepLinkRefused: "deep-link-refused",
  signedOut: "signed-out",
  uploadProgress: "upload-progress",
  updateStatus: "update-status",
} as const;

/** Listens to one event, its payload typed from Rust; resolves to the function that stops. */
export const events = {
  /** A `SyncStatus` on every change of the sync engine's state. */
  syncStatus: (cb: (payload: SyncStatus) => void): Promise<UnlistenFn> =>
    listen<SyncStatus>(EVENTS.syncStatus, (e) => cb(e.payload)),
  /**
   * After every sync that pulled main-stream changes: new or changed
   * partners, invitations, SMS records, content, shares, visits.
   */
  syncChanged: (cb: (payload: null) => void): Promise<UnlistenFn> =>
    listen<null>(EVENTS.syncChanged, (e) => cb(e.payload)),
  /** After every sync that brought radar changes (leads, signals, visits). */
  radarChanged: (cb: (payload: null) => void): Promise<UnlistenFn> =>
    listen<null>(EVENTS.radarChanged, (e) => cb(e.payload)),
  /**
   * A `warmlead://activate` link arrived while the window was open and
   * not signed in: ask the person, naming its host, before it is used.
   */
  deepLinkPending: (cb: (payload: LinkActivation) => void): Promise<UnlistenFn> =>
    listen<LinkActivation>(EVENTS.deepLinkPending, (e) => cb(e.payload)),
  /** A `warmlead://` link was not used; the payload says why (in Chinese, then English). */
  deepLinkRefused: (cb: (payload: string) => void): Promise<UnlistenFn> =>
    listen<string>(EVENTS.deepLinkRefused, (e) => cb(e.payload)),
  /** The company switched this account or device off; the cache is wiped. */
  signedOut: (cb: (payload: SignedOut) => void): Promise<UnlistenFn> =>
    listen<SignedOut>(EVENTS.signedOut, (e) => cb(e.payload)),
  /** Progress of a running media upload. */
  uploadProgress: (cb: (payload: UploadProgress) => void): Promise<UnlistenFn> =>
    listen<UploadProgress>(EVENTS.uploadProgress, (e) => cb(e.payload)),
  /** After each update check that the server answered, and when an install was refused. */
  updateStatus: (cb: (payload: UpdateStatus) => void): Promise<UnlistenFn> =>
    listen<UpdateStatus>(EVENTS.updateStatus, (e) => cb(e.payload)),
};
