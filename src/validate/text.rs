//! What stored text may hold: names, labels, reasons and the like are text shown to people
//! and written to logs, so none of them may carry characters that control how text is laid
//! out instead of being text: a forged line in a log (`\n`), a tab that shifts a column, a
//! right-to-left override that shows `gpj.exe` as `exe.jpg`.

/// Whether `c` is control rather than text: a control character (general category Cc, which
/// includes newline, carriage return and tab), the line or paragraph separator (U+2028,
/// U+2029), or a bidirectional formatting control (the Bidi_Control property: the
/// left-to-right and right-to-left marks, the Arabic letter mark, the embeddings, overrides
/// and isolates).
#[must_use]
pub fn is_control(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// Whether `text` holds any character that [`is_control`].
#[must_use]
pub fn holds_control(text: &str) -> bool {
    text.chars().any(is_control)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_controls_are_refused_and_text_of_any_script_is_not() {
        for bad in [
            "Касса\nERROR forged",
            "a\rb",
            "a\tb",
            "nul\0",
            "del\u{7f}",
            "c1\u{85}",
            "line\u{2028}sep",
            "para\u{2029}sep",
            "\u{202E}gpj.exe",
            "\u{2066}isolate\u{2069}",
            "mark\u{200F}",
            "mark\u{200E}",
            "arabic\u{061C}mark",
            "embed\u{202A}",
        ] {
            assert!(holds_control(bad), "{bad:?}");
        }
        for good in [
            "Касса 1",
            "Иван Иванов",
            "O'Brien-Smith",
            "محمد",
            "שלום",
            "г. Ташкент, ул. Навои, 25",
            "Zero\u{200D}joiner",
            "",
        ] {
            assert!(!holds_control(good), "{good:?}");
        }
    }
}
