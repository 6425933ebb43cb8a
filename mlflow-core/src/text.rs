//! Text shown to people: [`escape_controls`] makes input safe to echo in a message.
//!
//! Error messages quote what they were given (a file name, a CSV header, a field, a feature name
//! sent over HTTP). Printed raw, such text can drive the terminal that shows the message (an
//! `ESC ]0;...BEL` sequence retitles the window, others move the cursor or rewrite earlier lines),
//! and Unicode bidirectional overrides can make the message read differently from what it says.
//! Escape it where the message is built, so whoever prints the error is safe.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` must not reach a terminal raw: a C0 control (U+0000–U+001F, including tab and
/// newline), DEL (U+007F), a C1 control (U+0080–U+009F), or a bidirectional embedding, override
/// or isolate (U+202A–U+202E, U+2066–U+2069).
///
/// ```
/// use mlflow_core::text::is_unsafe_char;
/// assert!(is_unsafe_char('\x1b') && is_unsafe_char('\r') && is_unsafe_char('\u{9b}'));
/// assert!(is_unsafe_char('\u{202e}') && is_unsafe_char('\u{2068}'));
/// assert!(!is_unsafe_char('a') && !is_unsafe_char('é') && !is_unsafe_char('→'));
/// ```
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `s` with every character of [`is_unsafe_char`] written as a Rust-style escape (`\u{1b}` for
/// ESC, `\u{d}` for a carriage return, `\u{202e}` for a right-to-left override); everything else,
/// backslashes included, is left as it is. Borrows `s` when there is nothing to escape.
///
/// ```
/// use mlflow_core::text::escape_controls;
/// assert_eq!(escape_controls("\x1b]0;pwned\x07Age"), "\\u{1b}]0;pwned\\u{7}Age");
/// assert_eq!(escape_controls("a\r\nb\tc"), "a\\u{d}\\u{a}b\\u{9}c");
/// assert_eq!(escape_controls("user\u{202e}gnp.exe"), "user\\u{202e}gnp.exe");
/// // Plain text, accents and symbols are borrowed unchanged.
/// assert!(matches!(escape_controls("Passagier Größe → ok"), std::borrow::Cow::Borrowed(_)));
/// ```
pub fn escape_controls(s: &str) -> Cow<'_, str> {
    let Some(first) = s.find(is_unsafe_char) else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len() + 8);
    out.push_str(&s[..first]);
    for c in s[first..].chars() {
        if is_unsafe_char(c) {
            // Writing to a String cannot fail.
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unsafe_range_is_escaped_and_nothing_else() {
        for c in [
            '\0', '\x07', '\x1b', '\x1f', '\x7f', '\u{80}', '\u{9f}', '\u{202a}', '\u{202e}', '\u{2066}',
            '\u{2069}',
        ] {
            let escaped = escape_controls(&c.to_string()).into_owned();
            assert_eq!(escaped, format!("\\u{{{:x}}}", c as u32));
            assert!(!escaped.chars().any(is_unsafe_char));
        }
        for c in [' ', '~', '\u{a0}', '\u{2029}', '\u{2065}', '\u{206a}', '\u{202f}', '\u{200f}', '😀'] {
            assert_eq!(escape_controls(&c.to_string()), c.to_string(), "{:x}", c as u32);
        }
    }

    #[test]
    fn escapes_in_the_middle_keep_the_rest() {
        assert_eq!(escape_controls("ok\x1b[2Jstill ok\u{85}é"), "ok\\u{1b}[2Jstill ok\\u{85}é");
        assert_eq!(escape_controls(""), "");
    }
}
