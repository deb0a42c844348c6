//! Setting a company up from the server's command line: what
//! `warmlead-server company create` and `company list` print.

use warmlead_core::invite::activation_link;

use crate::admin::{CompanySummary, NewCompany};

/// The command that makes a company, as the empty server's log says it.
pub const CREATE_HINT: &str = "warmlead-server company create --name <company name> \
     --manager-name <manager's name> --manager-phone <manager's phone, e.g. +8613800000000>";

/// What the operator hands the new manager: the activation code, the link
/// that signs the desktop app in, and the link as a QR code to scan.
pub fn new_company_text(made: &NewCompany, server_url: &str) -> String {
    let link = activation_link(server_url, &made.activation_code);
    format!(
        "company {} (id {}) created\n\
         manager: {} {}\n\
         activation code (one device, valid 7 days): {}\n\
         sign-in link: {link}\n\
         {}\n\
         The manager installs Warmlead, then opens the link (or scans the QR) or types\n\
         the server address {server_url} and the code. More codes later:\n\
         warmlead-server activation-code --user {}\n",
        made.company.name,
        made.company.id,
        made.manager.name,
        made.manager.phone.as_deref().unwrap_or(""),
        made.activation_code,
        terminal_qr(&link),
        made.manager.id,
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
pub fn companies_table(list: &[CompanySummary]) -> String {
    if list.is_empty() {
        return format!("no company yet; create one with:\n  {CREATE_HINT}\n");
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
