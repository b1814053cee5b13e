//! Values written into SQL text, for statements sent without bound parameters.
//!
//! PostgreSQL's simple query protocol (one message, several statements, one round trip) has
//! no bound parameters, so every value in such a statement is part of its text. That is
//! only sound for values whose rendering cannot contain a quote: integers, UUIDs, booleans
//! and fixed names such as roles (`roles` implements it for `Role`). [`Inline`] is implemented for exactly those, and statements
//! meant for that path take their values through it. User text (names, search terms) is
//! never inlined: reads that carry it use bound parameters (README "Performance").

use uuid::Uuid;

/// A value that renders as a SQL literal which cannot break out of its position.
pub trait Inline {
    /// The SQL literal, e.g. `42`, `true`, `'6f1c…'::uuid`, `'cashier'`.
    fn inline(&self) -> String;
}

impl Inline for i64 {
    fn inline(&self) -> String {
        self.to_string()
    }
}

impl Inline for bool {
    fn inline(&self) -> String {
        self.to_string()
    }
}

impl Inline for Uuid {
    /// Hyphenated hex digits: the alphabet holds no quote.
    fn inline(&self) -> String {
        format!("'{}'::uuid", self.hyphenated())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_plain() {
        assert_eq!((-7_i64).inline(), "-7");
        assert_eq!(false.inline(), "false");
        assert_eq!(Uuid::nil().inline(), "'00000000-0000-0000-0000-000000000000'::uuid");
    }
}
