//! Setting a company up from the server's command line: what
//! `warmlead-server company create` and `company list` print.

use warmlead_core::invite::activation_link;

use crate::admin::{CompanySummary, NewCompany};

/// The command that makes a company on this server, as the empty server's
/// log and `company list` say it: with the database this server uses and
/// the address its sign-in links must carry (or a blank for it), so that
/// only the three names in `<...>` are left to fill in. Without them the
/// command would make the company in the default database and hand out a
/// link to 127.0.0.1:8787.
pub fn create_hint(database_url: &str, public_url: Option<&str>) -> String {
    let public = public_url.map_or_else(|| "'<this server's address>'".to_string(), shell_word);
    format!(
        "warmlead-server company create --database-url {} --public-url {public} \
         --name '<company name>' --manager-name '<manager name>' \
         --manager-phone '<manager phone, e.g. +8613800000000>'",
        shell_word(&without_password(database_url)),
    )
}

/// The command that prints another activation code for `user_id`, with its
/// sign-in link, against the same database and address.
pub fn more_codes_hint(database_url: &str, public_url: &str, user_id: i64) -> String {
    format!(
        "warmlead-server activation-code --database-url {} --public-url {} --user {user_id}",
        shell_word(&without_password(database_url)),
        shell_word(public_url),
    )
}

/// A database URL fit for a log or a terminal: a password in it becomes
/// `<password>` (secrets are never logged; the operator knows it).
pub fn without_password(database_url: &str) -> String {
    let Some((scheme, rest)) = database_url.split_once("://") else {
        return database_url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return database_url.to_string();
    };
    match rest[..at].split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:<password>{}", &rest[at..]),
        None => database_url.to_string(),
    }
}

/// `s` as one word for a POSIX shell: as it is when it needs no quoting,
/// else in single quotes.
fn shell_word(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// What the operator hands the new manager: the activation code, the link
/// that signs the desktop app in, and the link as a QR code to scan; and
/// the command for more codes, against the same database and address.
pub fn new_company_text(made: &NewCompany, server_url: &str, database_url: &str) -> String {
    let link = activation_link(server_url, &made.activation_code);
    format!(
        "company {} (id {}) created\n\
         manager: {} {}\n\
         activation code (one device, valid 7 days): {}\n\
         sign-in link: {link}\n\
         {}\n\
         The manager installs Warmlead, then opens the link (or scans the QR) or types\n\
         the server address {server_url} and the code. More codes later:\n\
         {}\n",
        made.company.name,
        made.company.id,
        made.manager.name,
        made.manager.phone.as_deref().unwrap_or(""),
        made.activation_code,
        terminal_qr(&link),
        more_codes_hint(database_url, server_url, made.manager.id),
    )
}

/// `text` as a QR code drawn with Unicode half blocks (two modules per
/// character cell), dark on light, with its quiet zone.
pub fn terminal_qr(text: &str) -> String {
    match qrcode::QrCode::new(text.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::unicode::Dense1x2>()
            .dark_color(qrcode::render::unicode::Dense1x2::Light)
            .light_color(qrcode::render::unicode::Dense1x2::Dark)
            .build(),
        Err(e) => format!("(no QR code: {e})"),
    }
}

/// One line per company: id, name, users per role, created (UTC date).
pub fn companies_table(list: &[CompanySummary], database_url: &str) -> String {
    if list.is_empty() {
        return format!(
            "no company yet; create one with:\n  {}\n",
            create_hint(database_url, None)
        );
    }
    let mut out = String::from("id\tname\tmanagers\treps\tpartners\tcreated (UTC)\n");
    for c in list {
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\n",
            c.company.id,
            c.company.name,
            c.managers,
            c.reps,
            c.partners,
            utc_date(c.created_at_ms)
        ));
    }
    out
}

/// `YYYY-MM-DD` of a UTC time in ms (core's calendar, in seconds).
fn utc_date(ms: i64) -> String {
    warmlead_core::time::utc_date(ms.div_euclid(1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        let table = [
            (0, "1970-01-01"),
            (951_782_400_000, "2000-02-29"),
            (1_795_996_800_000, "2026-11-30"),
            (1_796_083_199_999, "2026-11-30"),
            (-86_400_000, "1969-12-31"),
        ];
        for (ms, want) in table {
            assert_eq!(utc_date(ms), want, "{ms}");
        }
    }

    #[test]
    fn hints_quote_what_a_shell_would_split_and_hide_passwords() {
        let table = [
            (
                "sqlite:///var/lib/warmlead/server.db",
                "sqlite:///var/lib/warmlead/server.db",
            ),
            (
                "sqlite:///home/qs/my data/s.db",
                "'sqlite:///home/qs/my data/s.db'",
            ),
            ("sqlite:///it's.db", "'sqlite:///it'\\''s.db'"),
            (
                "postgres://warmlead:s3cret@db.internal:5432/warmlead",
                "'postgres://warmlead:<password>@db.internal:5432/warmlead'",
            ),
            (
                "postgres://warmlead@db/warmlead",
                "postgres://warmlead@db/warmlead",
            ),
        ];
        for (url, want) in table {
            assert_eq!(shell_word(&without_password(url)), want, "{url}");
        }
        let hint = more_codes_hint("postgres://u:pw@h/d", "http://10.0.0.5:8787", 7);
        assert!(!hint.contains("pw@"), "{hint}");
        assert!(
            hint.ends_with("--public-url http://10.0.0.5:8787 --user 7"),
            "{hint}"
        );
    }

    #[test]
    fn the_qr_is_drawn_in_half_blocks() {
        let qr = terminal_qr("warmlead://activate?server=x&code=y");
        let lines: Vec<&str> = qr.lines().collect();
        assert!(lines.len() > 10, "{qr}");
        assert!(qr.contains('█') || qr.contains('▀') || qr.contains('▄'));
        let width = lines[0].chars().count();
        assert!(
            lines.iter().all(|l| l.chars().count() == width),
            "square rows"
        );
    }
}
