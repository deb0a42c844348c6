//! A contact form sent by a phone the company already has a lead for is the
//! same person: it merges into that lead instead of making a second one.
//! The first referrer wins: the merged lead keeps its partner, rep and share
//! (the new contact only adds a note line and counts once more).

use crate::limits::MAX_MERGED_NOTE_CHARS;

/// The company's lead with the contact's phone, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Existing {
    pub id: i64,
    pub note: String,
}

/// What to store for a contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Update lead `id`: this note, one more contact; referrer unchanged.
    Merge { id: i64, note: String },
    /// A new lead credited to the share's partner and rep, with this note.
    New { note: String },
}

/// Merge into `existing` when there is one, else a new lead.
pub fn on_contact(existing: Option<Existing>, note: &str) -> Decision {
    match existing {
        Some(e) => Decision::Merge {
            id: e.id,
            note: merge_note(&e.note, note),
        },
        None => Decision::New {
            note: note.to_string(),
        },
    }
}

/// Appends a new note line unless it is empty or already there; the whole
/// note stays within [`MAX_MERGED_NOTE_CHARS`].
pub fn merge_note(old: &str, new: &str) -> String {
    let new = new.trim();
    if new.is_empty() || old.contains(new) {
        return old.to_string();
    }
    let joined = if old.is_empty() {
        new.to_string()
    } else {
        format!("{old}\n{new}")
    };
    joined.chars().take(MAX_MERGED_NOTE_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_notes_without_repeats() {
        let long = "长".repeat(MAX_MERGED_NOTE_CHARS);
        let cut = format!("{}\n", "长".repeat(MAX_MERGED_NOTE_CHARS - 1));
        // old, new -> merged
        let table = [
            ("", "想看看", "想看看"),
            ("想看看", "想看看", "想看看"),
            ("a", " b ", "a\nb"),
            ("a", "   ", "a"),
            ("ab", "b", "ab"),
            (&long[..], "x", &long[..]),
            (&cut[..cut.len() - 1], "x", &cut[..]),
        ];
        for (old, new, expected) in table {
            assert_eq!(merge_note(old, new), expected, "{old:?} + {new:?}");
        }
    }

    #[test]
    fn a_known_phone_merges_and_keeps_its_referrer() {
        let e = |id, note: &str| Existing {
            id,
            note: note.into(),
        };
        let table = [
            (None, "hi", Decision::New { note: "hi".into() }),
            (None, "", Decision::New { note: "".into() }),
            (
                Some(e(5, "hi")),
                "again",
                Decision::Merge {
                    id: 5,
                    note: "hi\nagain".into(),
                },
            ),
            (
                Some(e(5, "hi")),
                "hi",
                Decision::Merge {
                    id: 5,
                    note: "hi".into(),
                },
            ),
        ];
        for (existing, note, expected) in table {
            assert_eq!(on_contact(existing.clone(), note), expected, "{existing:?}");
        }
    }
}
