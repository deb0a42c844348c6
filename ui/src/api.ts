// The one typed bridge to Rust. Every command and event comes from
// src/bindings/bridge.ts, generated from the Rust commands and events
// (`cargo xtask bindings`): no command name, event name or argument key is
// written here. Errors arrive as ApiError {code, message}: show the message,
// branch on the code.
import { convertFileSrc, invoke } from "@tauri-apps/api/core";
import type { UnlistenFn } from "@tauri-apps/api/event";

import { ERROR_CODES } from "./bindings/ErrorCodes";
import { commands, events, type CommandName } from "./bindings/bridge";

import type { ApiError, ErrorCode } from "./bindings";

export type { ApiError, ErrorCode };
export type { UploadProgress } from "./bindings/UploadProgress";

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

/** The scheme the app serves the company's images on (src-tauri/src/media.rs;
 * the window's CSP allows images from it and from no server). */
const MEDIA_SCHEME = "wlmedia";

/** Where the window loads the image of media `key`: from the app, which
 * takes it from its cache or the signed-in server. */
export function mediaUrl(key: string): string {
  return convertFileSrc(key, MEDIA_SCHEME);
}

/** Sends a command; what it throws arrives as an ApiError. */
async function send<T>(command: CommandName, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (e) {
    throw toApiError(e);
  }
}

/**
 * The commands that do not report a switched-off answer: activation answers
 * it for a code of a switched-off account (nothing is signed in then, so
 * there is nothing to report), and the report itself.
 */
const unchecked = commands(send);

async function call<T>(command: CommandName, args?: Record<string, unknown>): Promise<T> {
  try {
    return await send<T>(command, args);
  } catch (e) {
    // Any call may be the first to hear it: Rust asks the server again, signs
    // out, wipes the cache and emits `signed-out` (the sign-in screen shows it).
    if (isSwitchedOff(e as ApiError)) {
      unchecked.reportSwitchedOff().catch(() => undefined);
    }
    throw e;
  }
}

const rust = commands(call);

/** Listens to several events with one callback; one function stops them all. */
async function listenAll(
  listeners: readonly ((cb: () => void) => Promise<UnlistenFn>)[],
  cb: () => void,
): Promise<UnlistenFn> {
  const stops = await Promise.all(listeners.map((listen) => listen(() => cb())));
  return () => stops.forEach((stop) => stop());
}

export const api = {
  session: rust.session,
  activate: unchecked.activate,
  /** The sign-in fields as they will be used (a pasted link in either field). */
  readSignIn: unchecked.readSignIn,
  signOut: rust.signOut,
  tokenPlace: rust.tokenPlace,
  briefcase: rust.briefcase,
  contentItem: rust.contentItem,
  createShare: rust.createShare,
  radar: rust.radar,
  leads: rust.leads,
  leadDetail: rust.leadDetail,
  setManFlags: rust.setManFlags,
  /** Tells the app the UI language (for desktop notifications). */
  setLocale: rust.setLocale,
  onRadarChanged: events.radarChanged,
  syncStatus: rust.syncStatus,
  syncNow: rust.syncNow,
  /** Forgets a refused change the user has seen; answers the new status. */
  dismissRejected: rust.dismissRejected,
  /** Writes the QR code of `url` as a PNG into the Downloads folder; returns the path. */
  saveQrPng: rust.saveQrPng,
  copyText: rust.copyText,
  /** The 1080x1920 share poster (PNG, base64) of an item with the QR of share `token`. */
  sharePoster: rust.sharePoster,
  /** Puts a PNG (a poster) on the clipboard as an image. */
  copyPng: rust.copyPng,
  /** Managers: uploads the company logo (PNG or JPEG); answers its media. */
  uploadLogo: rust.uploadLogo,
  setCompanyProfile: rust.setCompanyProfile,
  mediaUsage: rust.mediaUsage,
  // Recruiting (issue 4): invitations, SMS, posters, partners, CSV.
  createInvitation: rust.createInvitation,
  /** The invitation fresh from the server (uses, status). */
  invitation: rust.invitation,
  revokeInvitation: rust.revokeInvitation,
  setPosterSlogan: rust.setPosterSlogan,
  invitations: rust.invitations,
  inviteDashboard: rust.inviteDashboard,
  /** With `req.dry_run` nothing is sent: the answer is the preview. */
  smsInvite: rust.smsInvite,
  smsRecords: rust.smsRecords,
  posterInvitation: rust.posterInvitation,
  /** Writes a PNG into the Downloads folder; returns the path. */
  savePng: rust.savePng,
  partners: rust.partners,
  partnerCounts: rust.partnerCounts,
  partnerDetail: rust.partnerDetail,
  previewPartnerImport: rust.previewPartnerImport,
  /** All or nothing: `errors` non-empty means nothing was written; a dry
   * run only says what the server would refuse. */
  importPartners: rust.importPartners,
  /** Writes the CSV into the Downloads folder; returns the path. */
  exportPartners: rust.exportPartners,
  // Team (managers): people, devices, switching off, activation codes.
  team: rust.team,
  addTeamMember: rust.addTeamMember,
  issueActivationCode: rust.issueActivationCode,
  smsActivationCode: rust.smsActivationCode,
  setMemberActive: rust.setMemberActive,
  revokeDevice: rust.revokeDevice,
  revokeActivationCode: rust.revokeActivationCode,
  /** Reps from a file, all or nothing, each with a first code; a dry run
   * only says what the server would refuse. */
  importTeam: rust.importTeam,
  /** Saves the codes as CSV where the manager chooses; null: cancelled. */
  exportCodesCsv: rust.exportCodesCsv,
  // Content library (managers; reps for their own items).
  library: rust.library,
  /** The company's reps as last synced (offline too), by name. */
  libraryReps: rust.libraryReps,
  /** Saved here at once (offline too), pushed at the next sync. */
  saveContent: rust.saveContent,
  setContentStatus: rust.setContentStatus,
  deleteDraft: rust.deleteDraft,
  /** The file dialog; null when closed without a choice. */
  pickMediaFile: rust.pickMediaFile,
  /** Streams the file to the server; progress arrives through `onUploadProgress`. */
  uploadMedia: rust.uploadMedia,
  cancelUpload: rust.cancelUpload,
  onUploadProgress: events.uploadProgress,
  /** The article HTML exactly as the server will store it. */
  sanitizeArticle: rust.sanitizeArticle,
  /** Keeps an image placed in an article here (offline too) under a new
   * key; the next sync uploads it before the article. */
  addArticleImage: rust.addArticleImage,
  /** A media of the company as a data: URL (drafts' images are not public). */
  mediaDataUrl: rust.mediaDataUrl,
  /** The QR code of `text` as a base64 PNG, drawn by the Rust side. */
  qrPng: rust.qrPng,
  /** A sync brought changes: `sync-changed`, and `radar-changed` for radar news. */
  onSyncChanged: (cb: () => void): Promise<UnlistenFn> =>
    listenAll([events.syncChanged, events.radarChanged], cb),
  onSyncStatus: events.syncStatus,
  /** The warmlead://activate link waiting for the person's yes, if any. */
  pendingLink: unchecked.pendingLink,
  /** Signs in with the waiting link the dialog showed (its `server_url`). */
  confirmLink: unchecked.confirmLink,
  /** Forgets the waiting link. */
  cancelLink: unchecked.cancelLink,
  /** A warmlead://activate link arrived while the window was open: ask. */
  onDeepLinkPending: events.deepLinkPending,
  /** A warmlead:// link was not used; the payload says why (Chinese, then English). */
  onDeepLinkRefused: events.deepLinkRefused,
  /** The company switched this account or device off; the cache is wiped. */
  onSignedOut: events.signedOut,
  /** Why the app last signed itself out, if it did. */
  signedOutNotice: rust.signedOutNotice,
  /** The running version and what the company's server last offered. */
  updateStatus: rust.updateStatus,
  /** Asks the company's server for a newer version now. */
  checkForUpdate: rust.checkForUpdate,
  /** Downloads, verifies and installs the offered version, then restarts;
   * a package that does not verify comes back `refused`, nothing installed. */
  installUpdate: rust.installUpdate,
  /** After each update check the server answered, and after a refused install. */
  onUpdateStatus: events.updateStatus,
};
