//! A migration's text as the statements it holds, sent one at a time.
//!
//! Why: a Citus coordinator refuses several commands in one query string once they reach a
//! distributed schema ("cannot insert multiple commands into a prepared statement"), so a
//! tenant migration runs statement by statement on every server alike. The text itself is
//! left as released (its checksum is pinned in every store's ledger); only its execution is
//! split.

/// The statements of `sql`, in order, each without its closing `;`; comments between
/// statements and empty statements are dropped. Understands what may hide a `;` in
/// PostgreSQL text: `'…'` and `"…"` quotes, `$tag$…$tag$` bodies, `--` and `/* */` comments.
#[must_use]
pub fn split(sql: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut current = String::new();
    let mut rest = sql;
    while let Some(c) = rest.chars().next() {
        let token_len = match c {
            '\'' | '"' => quoted_len(rest, c),
            '-' if rest.starts_with("--") => {
                rest = &rest[rest.find('\n').unwrap_or(rest.len())..];
                continue;
            }
            '/' if rest.starts_with("/*") => {
                rest = rest.find("*/").map_or("", |end| &rest[end + 2..]);
                current.push(' ');
                continue;
            }
            '$' => dollar_quoted_len(rest).unwrap_or(1),
            ';' => {
                push_statement(&mut statements, &current);
                current.clear();
                rest = &rest[1..];
                continue;
            }
            other => other.len_utf8(),
        };
        current.push_str(&rest[..token_len]);
        rest = &rest[token_len..];
    }
    push_statement(&mut statements, &current);
    statements
}

fn push_statement(statements: &mut Vec<String>, text: &str) {
    let trimmed = text.trim();
    if !trimmed.is_empty() {
        statements.push(trimmed.to_owned());
    }
}

/// Length of the quoted token at the start of `text` (`quote` doubled inside is escaped);
/// the rest of the text when it never closes (the server reports the error).
fn quoted_len(text: &str, quote: char) -> usize {
    let mut at = 1;
    while let Some(offset) = text[at..].find(quote) {
        at += offset + 1;
        if !text[at..].starts_with(quote) {
            return at;
        }
        at += 1;
    }
    text.len()
}

/// Length of the `$tag$…$tag$` token at the start of `text`, if one starts there.
fn dollar_quoted_len(text: &str) -> Option<usize> {
    let tag_end = text[1..].find('$')? + 2;
    let tag = &text[..tag_end];
    if !tag[1..tag_end - 1].chars().all(|c| c.is_alphanumeric() || c == '_') {
        return None;
    }
    let body_end = text[tag_end..].find(tag).map_or(text.len(), |at| tag_end + at + tag.len());
    Some(body_end)
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn statements_split_at_semicolons_outside_quotes_and_comments() {
        let sql = "-- a comment; with a semicolon\ncreate table t (a text default ';');\n\
                   /* block; comment */ insert into t values ('it''s; fine');\n\
                   create function f() returns int language sql as $body$ select 1; $body$;\n\
                   select \"odd;name\" from t;;\n";
        assert_eq!(
            split(sql),
            vec![
                "create table t (a text default ';')",
                "insert into t values ('it''s; fine')",
                "create function f() returns int language sql as $body$ select 1; $body$",
                "select \"odd;name\" from t",
            ]
        );
    }

    #[test]
    fn a_trailing_statement_without_a_semicolon_is_kept_and_a_comment_alone_is_not() {
        assert_eq!(split("select 1; select $1"), vec!["select 1", "select $1"]);
        assert!(split("-- only a comment\n").is_empty());
    }
}
