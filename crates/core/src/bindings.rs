//! The TypeScript the UI imports, rendered from the Rust types above.
//! `cargo xtask bindings` writes it to `ui/src/bindings/`; a test fails when
//! the committed files differ from what the types render today.

use ts_rs::TS;

use crate::{api, app, botfilter, company, csv_import, domain, error, invite, lead, scoring, sync};

/// (file name, TypeScript source) of every exported type.
pub fn render_all() -> Vec<(String, String)> {
    // i64 crosses as a JSON number; every id and millisecond time fits in 2^53.
    let cfg = ts_rs::Config::new().with_large_int("number");
    let mut out = Vec::new();
    macro_rules! add {
        ($($t:ty),* $(,)?) => {$(
            out.push((format!("{}.ts", <$t as TS>::name(&cfg)), <$t as TS>::export_to_string(&cfg).expect("render ts")));
        )*};
    }
    add!(
        domain::Role,
        domain::ContentKind,
        domain::Channel,
        domain::Company,
        domain::User,
        domain::MediaRef,
        domain::ContentItem,
        domain::ContentStatus,
        domain::ContentAudience,
        domain::CaseStudy,
        domain::Share,
        domain::Visit,
        error::ErrorCode,
        error::ApiError,
        api::ActivateRequest,
        api::ActivateResponse,
        api::MeResponse,
        api::DeviceInfo,
        api::OpenCode,
        api::TeamMember,
        api::TeamQuery,
        api::NewTeamMember,
        api::IssuedCode,
        api::TeamImportRequest,
        api::TeamImportAdded,
        api::TeamImportResult,
        api::PosterArtworkRequest,
        api::PosterSloganRequest,
        api::MediaUsage,
        company::CompanyProfile,
        api::NewContentItem,
        api::ContentDraft,
        api::Beacon,
        sync::MutationBody,
        sync::Mutation,
        sync::Outcome,
        sync::EntityKind,
        app::Session,
        api::CodeSmsRequest,
        api::CodeSmsSent,
        app::SignedOut,
        app::TokenPlace,
        app::LinkActivation,
        app::SignInFields,
        app::SyncState,
        app::RejectedChange,
        app::SyncStatus,
        app::UpdateStatus,
        app::AvailableUpdate,
        app::BriefcaseItem,
        app::BriefcaseQuery,
        app::LibraryItem,
        app::LibraryQuery,
        app::ShareResult,
        app::RadarEntry,
        app::LeadCursor,
        app::LeadQuery,
        app::LeadSummary,
        app::LeadPage,
        app::ChainNode,
        app::LeadDetail,
        app::KnownCode,
        app::TeamScreen,
        api::TrackBeacon,
        api::ForwardRequest,
        api::ForwardResponse,
        botfilter::FilterReason,
        lead::Grade,
        lead::LeadSource,
        lead::ManFlags,
        lead::LeadStage,
        lead::SignalKind,
        lead::ReasonCode,
        lead::Reason,
        lead::Lead,
        lead::Signal,
        lead::VisitStats,
        lead::ChildShare,
        lead::RadarBody,
        lead::RadarChange,
        lead::RadarPullResponse,
        lead::ContactForm,
        lead::LiveEvent,
        lead::FilteredStats,
        lead::FilteredCount,
        lead::TrackingStats,
        scoring::ScoringRules,
        csv_import::ImportEncoding,
        csv_import::ImportFileError,
        csv_import::ImportColumn,
        csv_import::ImportReason,
        csv_import::ImportRow,
        csv_import::ImportRowError,
        csv_import::ImportPreview,
        invite::InviteChannel,
        invite::PartnerSource,
        invite::InvitationStatus,
        invite::Invitation,
        invite::NewInvitation,
        invite::SmsRecipient,
        invite::SmsInviteRequest,
        invite::SmsRefusal,
        invite::SmsPlan,
        invite::SmsInviteItem,
        invite::SmsInviteResult,
        invite::SmsStatus,
        invite::SmsRecord,
        invite::PartnerImportRequest,
        invite::PartnerImportResult,
        invite::PartnerStage,
        invite::LifecycleRules,
        invite::PartnerActivity,
        invite::PartnerFilter,
        invite::PartnerCursor,
        invite::PartnerQuery,
        invite::PartnerSummary,
        invite::PartnerPage,
        invite::PartnerCounts,
        invite::PartnerDetail,
        invite::ChannelConversion,
        invite::InviteDashboard,
        invite::PosterInvitation,
    );
    // Values, not types: ts-rs renders types only.
    out.push(("Limits.ts".to_string(), crate::limits::typescript()));
    out.push(("ErrorCodes.ts".to_string(), crate::error::typescript()));
    out
}

/// Where the generated files live, relative to the workspace root.
pub const BINDINGS_DIR: &str = "ui/src/bindings";

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Fails when a Rust type changed and `cargo xtask bindings` was not run.
    #[test]
    fn committed_typescript_bindings_are_fresh() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(super::BINDINGS_DIR);
        let mut stale = Vec::new();
        for (file, source) in super::render_all() {
            match std::fs::read_to_string(dir.join(&file)) {
                Ok(committed) if committed == source => {}
                _ => stale.push(file),
            }
        }
        assert!(
            stale.is_empty(),
            "stale TypeScript bindings {stale:?}: run `cargo xtask bindings` and commit"
        );
    }
}
