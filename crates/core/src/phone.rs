//! Phone numbers: validated and stored in E.164.

use crate::error::CoreError;

/// A validated phone number in E.164 form (`+8613800138000`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    /// Accepts a mainland mobile number (11 digits starting with 1[3-9],
    /// optionally prefixed with +86 / 0086 / 86) or any E.164 number with a `+`.
    /// Spaces, dashes and parentheses people type are ignored.
    pub fn parse(input: &str) -> Result<Phone, CoreError> {
        let bad = || CoreError::InvalidPhone(input.trim().to_string());
        let trimmed = input.trim();
        let plus = trimmed.starts_with('+');
        let digits: String = trimmed
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '+' | '\u{3000}'))
            .collect();
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        let national = if plus {
            digits.strip_prefix("86").map(str::to_string)
        } else if let Some(rest) = digits.strip_prefix("0086") {
            Some(rest.to_string())
        } else if digits.len() == 13 && digits.starts_with("86") {
            Some(digits[2..].to_string())
        } else {
            Some(digits.clone())
        };
        match national {
            Some(n) if !plus || digits.starts_with("86") => {
                if is_mainland_mobile(&n) {
                    Ok(Phone(format!("+86{n}")))
                } else {
                    Err(bad())
                }
            }
            _ => {
                // Other countries: E.164 allows at most 15 digits, country code never starts with 0.
                if (8..=15).contains(&digits.len()) && !digits.starts_with('0') {
                    Ok(Phone(format!("+{digits}")))
                } else {
                    Err(bad())
                }
            }
        }
    }

    pub fn as_e164(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

fn is_mainland_mobile(n: &str) -> bool {
    let b = n.as_bytes();
    n.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1])
}

/// "+8613800138000" → "+86138****8000": the four digits before the last
/// four hidden, what a partner sees of a lead's phone. Too short to keep
/// anything hidden: all of it is.
pub fn mask(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() < 8 {
        return "****".into();
    }
    let start = chars.len() - 8;
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if (start..start + 4).contains(&i) {
                '*'
            } else {
                *c
            }
        })
        .collect()
}

impl std::fmt::Display for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn masks_the_middle_of_a_phone() {
        let table = [
            ("+8613800138000", "+86138****8000"),
            ("+14155552671", "+141****2671"),
            ("+1234567", "****4567"),
            ("+123456", "****"),
            ("+1", "****"),
            ("", "****"),
        ];
        for (phone, masked) in table {
            assert_eq!(super::mask(phone), masked, "{phone}");
        }
    }

    use super::*;

    #[test]
    fn accepts_mainland_forms() {
        for input in [
            "13800138000",
            "138 0013 8000",
            "138-0013-8000",
            "+86 138 0013 8000",
            "008613800138000",
            "8613800138000",
        ] {
            assert_eq!(
                Phone::parse(input).unwrap().as_e164(),
                "+8613800138000",
                "{input}"
            );
        }
    }

    #[test]
    fn accepts_foreign_e164() {
        assert_eq!(
            Phone::parse("+1 (415) 555-2671").unwrap().as_e164(),
            "+14155552671"
        );
    }

    #[test]
    fn rejects_what_is_not_a_phone() {
        for input in [
            "",
            "abc",
            "12345",
            "12800138000",
            "+86 12800138000",
            "1380013800",
            "138001380001",
            "+0123456789",
            "13800138000x",
        ] {
            assert!(Phone::parse(input).is_err(), "{input}");
        }
    }
}
