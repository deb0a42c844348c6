//! The server's SQLite schema: numbered migrations embedded in the binary,
//! beside the PostgreSQL ones (`warmlead-server-postgres`) in the same
//! shape: the same numbers, the same names, one change each. The runner
//! lives with the storage that uses them (`warmlead-server`'s
//! `storage::migrations`: some migrations need work beyond SQL written
//! against today's queries). `warmlead-server-postgres`'s `tests/parity.rs`
//! compares the final schemas of both sets.

/// `(version, sql)`, in order. Append only; never edit a released migration.
pub const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/0001_init.sql")),
    (2, include_str!("../migrations/0002_radar.sql")),
    (3, include_str!("../migrations/0003_visit_indexes.sql")),
    (4, include_str!("../migrations/0004_invitations.sql")),
    (5, include_str!("../migrations/0005_sms.sql")),
    (6, include_str!("../migrations/0006_poster_artwork.sql")),
    (
        7,
        include_str!("../migrations/0007_share_token_identity.sql"),
    ),
    (8, include_str!("../migrations/0008_media_keys.sql")),
    (9, include_str!("../migrations/0009_poster_slogan.sql")),
    (10, include_str!("../migrations/0010_visits_network.sql")),
    (11, include_str!("../migrations/0011_rate_limits.sql")),
    (
        12,
        include_str!("../migrations/0012_unique_phone_and_short_code.sql"),
    ),
    (13, include_str!("../migrations/0013_page_views_visit.sql")),
    (14, include_str!("../migrations/0014_deactivation.sql")),
    (15, include_str!("../migrations/0015_visit_index_trim.sql")),
    (16, include_str!("../migrations/0016_content_library.sql")),
    (17, include_str!("../migrations/0017_company_profile.sql")),
    (
        18,
        include_str!("../migrations/0018_offline_invitations.sql"),
    ),
    (
        19,
        include_str!("../migrations/0019_visits_visitor_first.sql"),
    ),
    (20, include_str!("../migrations/0020_burst_window.sql")),
    (21, include_str!("../migrations/0021_switch_off.sql")),
    (
        22,
        include_str!("../migrations/0022_activation_code_ids.sql"),
    ),
    (
        23,
        include_str!("../migrations/0023_device_mutations_media_uploader.sql"),
    ),
    (24, include_str!("../migrations/0024_media_quota.sql")),
    (26, include_str!("../migrations/0026_app_releases.sql")),
    (27, include_str!("../migrations/0027_one_open_otp.sql")),
    (28, include_str!("../migrations/0028_tracking_keys.sql")),
];
