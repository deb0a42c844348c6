//! The partner CSV export, written for Excel on a Chinese Windows: UTF-8
//! with a BOM (without it Excel reads GBK and garbles the names), CRLF, and
//! every cell that starts like a formula (= + - @) prefixed with `'` so a
//! spreadsheet shows it as text instead of running it. Phones are E.164
//! (`'+86...`); the importer (`warmlead_core::csv_import`) reads the file back.
//! Join times are UTC, ISO 8601 with `Z`, and the header says so.

use warmlead_core::api::IssuedCode;
use warmlead_core::invite::{PartnerSource, PartnerStage, PartnerSummary};

const BOM: &[u8] = b"\xEF\xBB\xBF";
pub(crate) const HEADER: [&str; 9] = [
    "姓名",
    "手机",
    "来源",
    "加入时间(UTC)",
    "分享",
    "浏览",
    "线索",
    "成交",
    "阶段",
];

pub(crate) fn header() -> Vec<u8> {
    let mut out = BOM.to_vec();
    line(&mut out, HEADER.iter().map(|s| s.to_string()));
    out
}

pub(crate) fn row(out: &mut Vec<u8>, p: &PartnerSummary) {
    let u = &p.partner;
    let a = &p.activity;
    line(
        out,
        [
            u.name.clone(),
            u.phone.clone().unwrap_or_default(),
            u.source.map(source_label).unwrap_or_default().to_string(),
            iso_utc(u.joined_at_ms),
            a.shares.to_string(),
            a.views.to_string(),
            a.leads.to_string(),
            a.deals.to_string(),
            stage_label(p.stage).to_string(),
        ],
    );
}

fn line(out: &mut Vec<u8>, cells: impl IntoIterator<Item = String>) {
    let cells: Vec<String> = cells.into_iter().map(|c| cell(&c)).collect();
    out.extend_from_slice(cells.join(",").as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// One cell: formula-looking text made inert, then quoted when needed.
pub(crate) fn cell(raw: &str) -> String {
    let text = if raw.starts_with(['=', '+', '-', '@']) {
        format!("'{raw}")
    } else {
        raw.to_string()
    };
    if text.contains([',', '"', '\n', '\r', ';', '\t']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// The codes a team import gave out, for the manager to hand on (a mail
/// merge, a printed list): name, phone, code and sign-in link per person,
/// in the partner export's form (BOM, CRLF, inert cells).
pub fn codes_csv(codes: &[IssuedCode]) -> Vec<u8> {
    let mut out = BOM.to_vec();
    line(
        &mut out,
        ["姓名", "手机", "激活码", "登录链接"].map(String::from),
    );
    for c in codes {
        line(
            &mut out,
            [
                c.user.name.clone(),
                c.user.phone.clone().unwrap_or_default(),
                c.activation_code.clone(),
                c.activation_link.clone(),
            ],
        );
    }
    out
}

fn source_label(s: PartnerSource) -> &'static str {
    match s {
        PartnerSource::Qr => "二维码",
        PartnerSource::Sms => "短信",
        PartnerSource::Poster => "海报",
        PartnerSource::Import => "导入",
        PartnerSource::Admin => "管理员添加",
    }
}

fn stage_label(s: PartnerStage) -> &'static str {
    match s {
        PartnerStage::New => "新加入",
        PartnerStage::Active => "活跃",
        PartnerStage::Dormant => "沉睡",
        PartnerStage::Churned => "流失",
    }
}

/// `2026-11-23T19:30:00Z` (empty for an unknown time, 0).
pub(crate) fn iso_utc(ms: i64) -> String {
    if ms <= 0 {
        return String::new();
    }
    warmlead_core::time::utc_iso8601(ms.div_euclid(1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_times_and_inert_cells() {
        assert_eq!(iso_utc(0), "");
        assert_eq!(iso_utc(1), "1970-01-01T00:00:00Z");
        assert_eq!(iso_utc(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(iso_utc(1_795_462_200_000), "2026-11-23T19:30:00Z");
        assert_eq!(cell("=1+1"), "'=1+1");
        assert_eq!(cell("+8613800138000"), "'+8613800138000");
        assert_eq!(cell("-x"), "'-x");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("a,\"b\""), "\"a,\"\"b\"\"\"");
        assert_eq!(cell("张三"), "张三");
    }

    #[test]
    fn the_codes_of_an_import_as_csv() {
        use warmlead_core::domain::{Role, User};
        let issued = |id: i64, name: &str, phone: &str, code: &str| IssuedCode {
            user: User {
                id,
                company_id: 1,
                role: Role::Rep,
                name: name.into(),
                phone: Some(phone.into()),
                rep_id: None,
                joined_at_ms: 0,
                source: None,
                invited_by: None,
                invitation_id: None,
            },
            code_id: id,
            activation_code: code.into(),
            activation_link: format!("warmlead://activate?server=http%3A%2F%2Fa&code={code}"),
        };
        let csv = codes_csv(&[
            issued(1, "孙丽", "+8613700001111", "ABC-DEF-GHJ"),
            issued(2, "周, 强", "+8613700002222", "KLM-NPQ-RST"),
        ]);
        let text = String::from_utf8(csv).unwrap();
        assert_eq!(
            text,
            "\u{FEFF}姓名,手机,激活码,登录链接\r\n\
             孙丽,'+8613700001111,ABC-DEF-GHJ,warmlead://activate?server=http%3A%2F%2Fa&code=ABC-DEF-GHJ\r\n\
             \"周, 强\",'+8613700002222,KLM-NPQ-RST,warmlead://activate?server=http%3A%2F%2Fa&code=KLM-NPQ-RST\r\n"
        );
    }
}
