//! Limits on what people type and send, one constant each. The server, the
//! desktop cache and the UI all use these (the UI through the generated
//! `ui/src/bindings/Limits.ts`, see [`typescript`]), so a value one accepts
//! is never refused by another.

/// A person's name: a user, a partner, a lead, an SMS recipient.
pub const MAX_NAME_CHARS: usize = 40;
/// A company's name.
pub const MAX_COMPANY_NAME_CHARS: usize = 100;
/// The one-line commission promise of a company's invitation pages.
pub const MAX_COMMISSION_PROMISE_CHARS: usize = 80;
/// A company logo's file (PNG or JPEG): small, it is on every page and poster.
pub const MAX_LOGO_BYTES: usize = 512 * 1024;
/// A phone number as typed, before it is read as E.164.
pub const MAX_PHONE_CHARS: usize = 32;
/// A note: on a lead, on an imported partner.
pub const MAX_NOTE_CHARS: usize = 500;
/// A content item's title.
pub const MAX_TITLE_CHARS: usize = 120;
/// A content item's summary.
pub const MAX_SUMMARY_CHARS: usize = 500;
/// A content item's body (an article's text).
pub const MAX_BODY_CHARS: usize = 50_000;
/// A case study's field (customer, problem, solution, result, quote).
pub const MAX_CASE_FIELD_CHARS: usize = 2_000;
/// Photos of one case study.
pub const MAX_CASE_IMAGES: usize = 12;
/// Reps one item may be addressed to.
pub const MAX_AUDIENCE_REPS: usize = 500;
/// Largest media upload: a 300 MB video fits, with room to spare.
pub const MAX_MEDIA_BYTES: usize = 320 * 1024 * 1024;
/// Each company's room for media on the server, in MiB, unless its
/// operator sets another (`--media-quota-mb`): 5 GiB, some fifteen 300 MB
/// videos and thousands of images. Not in [`ALL`]: devices learn the
/// server's own setting (`MediaUsage`).
pub const DEFAULT_MEDIA_QUOTA_MB: u64 = 5 * 1024;
/// An upload that sends nothing for this long is cut off (408) and its
/// temporary file removed, so a stalled client holds no disk or quota.
pub const MEDIA_UPLOAD_STALL_SECS: u64 = 60;
/// Media that no item (of any state), no company profile and no upload
/// under way uses are removed once this old: a week, so a cover uploaded
/// for a draft that waits in an offline laptop's outbox over a long
/// weekend is still there when the draft is pushed.
pub const MEDIA_SWEEP_GRACE_HOURS: u64 = 7 * 24;
/// An upload's temporary file untouched this long, or its reserved room
/// not renewed this long, is a crashed upload's (a live one writes at
/// least every [`MEDIA_UPLOAD_STALL_SECS`]): the sweep removes it.
pub const MEDIA_UPLOAD_STALE_MINUTES: u64 = 60;
/// An image placed in an article (kept in the desktop cache until the
/// network is back, so it is bounded well below a video).
pub const MAX_ARTICLE_IMAGE_BYTES: usize = 16 * 1024 * 1024;
/// What an image placed in an article may be (the server checks the bytes).
pub const ARTICLE_IMAGE_TYPES: &[&str] = &["image/png", "image/jpeg", "image/webp"];
/// An import file (CSV or Excel workbook): 10,000 rows of name, phone and a
/// note fit easily.
pub const MAX_IMPORT_BYTES: usize = 2 * 1024 * 1024;
/// Partners one import may bring (not counting the header and blank rows).
pub const MAX_IMPORT_ROWS: usize = 10_000;
/// Columns of an imported workbook kept as they are; a filled cell further
/// right is kept as one extra cell (so the row says "too many columns").
pub const MAX_IMPORT_COLUMNS: usize = 64;
/// Filled cells one imported sheet may have: every allowed row full, the
/// header too. Counted while the cells are read.
pub const MAX_IMPORT_CELLS: usize = (MAX_IMPORT_ROWS + 1) * MAX_IMPORT_COLUMNS;
/// What a .xlsx (a zip) may unpack to, all its parts together, by the sizes
/// its zip declares (checked before anything is inflated; the zip reader
/// stops at the declared size). A full 2 MB workbook of partners unpacks to
/// far less; a "zip bomb" of a few KB declares gigabytes.
pub const MAX_IMPORT_UNZIPPED_BYTES: usize = 64 * 1024 * 1024;
/// Distinct texts (shared strings) a .xlsx may hold: no sheet can use more
/// than it has cells. Counted while streaming them, before they are loaded.
pub const MAX_IMPORT_SHARED_STRINGS: usize = MAX_IMPORT_CELLS;
/// Recipients of one SMS invitation send.
pub const MAX_SMS_RECIPIENTS: usize = 200;
/// Wrong activation codes one network may try within
/// [`ACTIVATION_WINDOW_SECS`]; then activation from it pauses until the
/// window ends, even with a correct code.
pub const MAX_ACTIVATION_FAILURES_PER_ADDRESS: usize = 10;
/// Wrong activation codes the whole server takes within
/// [`ACTIVATION_WINDOW_SECS`], from every network together (guessing from
/// many addresses at once); then every activation pauses until it ends.
pub const MAX_ACTIVATION_FAILURES_OVERALL: usize = 500;
/// The window, in seconds, over which wrong activation codes are counted.
pub const ACTIVATION_WINDOW_SECS: usize = 15 * 60;
/// A lead's note after merged contacts appended theirs (never typed at once,
/// so not in [`ALL`]).
pub const MAX_MERGED_NOTE_CHARS: usize = 2_000;
/// `warmlead-server doctor` fails when the media folder's disk has less
/// free than this, in MiB: a large video upload (up to [`MAX_MEDIA_BYTES`])
/// and what else is written beside it may no longer fit. Operators' limits,
/// not in [`ALL`].
pub const DOCTOR_FAIL_FREE_MEDIA_MB: u64 = 1024;
/// `doctor` warns below this much free for media, in MiB: less than one
/// company's default media room.
pub const DOCTOR_WARN_FREE_MEDIA_MB: u64 = DEFAULT_MEDIA_QUOTA_MB;
/// `doctor` warns when the newest backup is older than this, in hours: a
/// nightly backup, with a couple of hours' slack.
pub const DOCTOR_WARN_BACKUP_AGE_HOURS: u64 = 26;
/// `doctor` fails when the newest backup is older than this, in hours: a
/// week of a team's work would be lost with the disk.
pub const DOCTOR_FAIL_BACKUP_AGE_HOURS: u64 = 7 * 24;

/// (TypeScript name, value) of every limit, in the order above.
pub const ALL: &[(&str, usize)] = &[
    ("maxNameChars", MAX_NAME_CHARS),
    ("maxCompanyNameChars", MAX_COMPANY_NAME_CHARS),
    ("maxCommissionPromiseChars", MAX_COMMISSION_PROMISE_CHARS),
    ("maxLogoBytes", MAX_LOGO_BYTES),
    ("maxPhoneChars", MAX_PHONE_CHARS),
    ("maxNoteChars", MAX_NOTE_CHARS),
    ("maxTitleChars", MAX_TITLE_CHARS),
    ("maxSummaryChars", MAX_SUMMARY_CHARS),
    ("maxBodyChars", MAX_BODY_CHARS),
    ("maxSmsRecipients", MAX_SMS_RECIPIENTS),
    ("maxCaseFieldChars", MAX_CASE_FIELD_CHARS),
    ("maxCaseImages", MAX_CASE_IMAGES),
    ("maxAudienceReps", MAX_AUDIENCE_REPS),
    ("maxMediaBytes", MAX_MEDIA_BYTES),
    ("maxArticleImageBytes", MAX_ARTICLE_IMAGE_BYTES),
    ("maxImportBytes", MAX_IMPORT_BYTES),
    ("maxImportRows", MAX_IMPORT_ROWS),
    ("maxImportCells", MAX_IMPORT_CELLS),
    ("maxImportUnzippedBytes", MAX_IMPORT_UNZIPPED_BYTES),
    (
        "maxActivationFailuresPerAddress",
        MAX_ACTIVATION_FAILURES_PER_ADDRESS,
    ),
    (
        "maxActivationFailuresOverall",
        MAX_ACTIVATION_FAILURES_OVERALL,
    ),
    ("activationWindowSecs", ACTIVATION_WINDOW_SECS),
];

/// The TypeScript module the UI imports the limits from (`LIMITS` and its type).
pub fn typescript() -> String {
    let fields: String = ALL
        .iter()
        .map(|(name, value)| format!("  {name}: {value},\n"))
        .collect();
    format!(
        "// This file was generated from warmlead-core's limits.rs by `cargo xtask bindings`. Do not edit this file manually.\n\n\
         /** Limits on what people type and send, the same on the server and in the desktop cache. */\n\
         export const LIMITS = {{\n{fields}}} as const;\n\n\
         export type Limits = typeof LIMITS;\n\n\
         /** What an image placed in an article may be. */\n\
         export const ARTICLE_IMAGE_TYPES = [{}] as const;\n",
        ARTICLE_IMAGE_TYPES
            .iter()
            .map(|t| format!("{t:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_article_image_types_are_exported() {
        assert!(typescript().contains(
            "export const ARTICLE_IMAGE_TYPES = [\"image/png\", \"image/jpeg\", \"image/webp\"] as const;"
        ));
    }

    #[test]
    fn every_limit_is_exported_once_with_its_value() {
        let ts = typescript();
        for (name, value) in ALL {
            assert_eq!(
                ts.matches(&format!("  {name}: {value},\n")).count(),
                1,
                "{name}"
            );
        }
        let mut names: Vec<_> = ALL.iter().map(|(n, _)| *n).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
        assert!(ts.contains("export const LIMITS = {"));
    }
}
