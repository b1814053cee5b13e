//! Request validation that reports every problem at once, field by field (docs/contract.md §7).
//!
//! A [`Form`] collects [`Message`]s per field while a request is parsed into a validated
//! value; `finish` hands the value over only when nothing was wrong. Text is trimmed (as DRF
//! does) except passwords, which are compared exactly (docs/contract.md §4). Every text field, whatever
//! it names, is refused when it holds layout controls ([`text::holds_control`]): that rule
//! lives here, in the one path all of them take.

pub mod fields;
pub mod password;
pub mod pin;
pub mod text;
pub mod username;

use chrono::{DateTime, NaiveDate, Utc};

use crate::config::PasswordPolicy;
use crate::error::{ApiError, FieldErrors};
use crate::i18n::Message;
use crate::validate::password::policy_violations;

/// Longest username, as Django allows.
pub const MAX_USERNAME_CHARS: usize = 150;
/// Longest name-like field.
pub const MAX_NAME_CHARS: usize = 150;
/// Longest free-text field (descriptions, addresses).
pub const MAX_TEXT_CHARS: usize = 1000;
/// Longest email address (RFC 5321 path limit).
pub const MAX_EMAIL_CHARS: usize = 254;

/// Largest whole number a query parameter may carry.
pub const MAX_QUERY_INTEGER: i64 = 1_000_000_000_000;

/// Which instant a bare date stands for in [`Form::instant`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayEdge {
    /// The day's first instant (a lower bound, inclusive).
    Start,
    /// The next day's first instant (an upper bound, exclusive).
    End,
}

/// Collects field errors while a request is validated.
#[derive(Debug, Default)]
pub struct Form {
    errors: FieldErrors,
}

impl Form {
    #[must_use]
    pub fn new() -> Self {
        Form::default()
    }

    /// Records `message` against `field`.
    pub fn add(&mut self, field: &str, message: Message) {
        self.errors.entry(field.to_owned()).or_default().push(message);
    }

    /// True when `field` already has an error.
    #[must_use]
    pub fn has_error(&self, field: &str) -> bool {
        self.errors.contains_key(field)
    }

    /// A required text field: present, not blank, at most `max` characters, no layout
    /// controls. Trimmed.
    pub fn required(&mut self, field: &str, value: Option<String>, max: usize) -> String {
        match self.present(field, value.map(|v| v.trim().to_owned())) {
            Some(v) => self.bounded(field, v, max),
            None => String::new(),
        }
    }

    /// An optional text field; absent means empty. Trimmed, at most `max` characters, no
    /// layout controls.
    pub fn optional(&mut self, field: &str, value: Option<String>, max: usize) -> String {
        let value = value.map(|v| v.trim().to_owned()).unwrap_or_default();
        self.bounded(field, value, max)
    }

    /// A required password: present and non-empty, never trimmed.
    pub fn password(&mut self, field: &str, value: Option<String>) -> String {
        self.present(field, value).unwrap_or_default()
    }

    /// `value` when it is there and not empty; else `None`, with `field_required` (absent)
    /// or `field_blank` (empty) recorded for `field`.
    fn present(&mut self, field: &str, value: Option<String>) -> Option<String> {
        match value {
            None => {
                self.add(field, Message::FieldRequired);
                None
            }
            Some(v) if v.is_empty() => {
                self.add(field, Message::FieldBlank);
                None
            }
            Some(v) => Some(v),
        }
    }

    /// A new password: required like [`Form::password`], and held to `policy`; `context`
    /// holds words it must not contain (the username).
    pub fn new_password(
        &mut self,
        field: &str,
        value: Option<String>,
        policy: &PasswordPolicy,
        context: &[&str],
    ) -> String {
        let password = self.password(field, value);
        if !password.is_empty() {
            for problem in policy_violations(&password, policy, context) {
                self.add(field, problem);
            }
        }
        password
    }

    /// A Django-style username: letters, digits and `@.+-_`, at most 150 characters.
    pub fn username(&mut self, field: &str, value: Option<String>) -> String {
        let username = self.required(field, value, MAX_USERNAME_CHARS);
        if !username.is_empty() && !self.has_error(field) && !is_valid_username(&username) {
            self.add(field, Message::UsernameInvalid);
        }
        if !self.has_error(field) && username::is_reserved(&username) {
            self.add(field, Message::UsernameReserved);
        }
        username
    }

    /// An optional email address; empty when absent.
    pub fn email(&mut self, field: &str, value: Option<String>) -> String {
        let email = self.optional(field, value, MAX_EMAIL_CHARS);
        if !email.is_empty() && !self.has_error(field) && !is_plausible_email(&email) {
            self.add(field, Message::EmailInvalid);
        }
        email
    }

    /// An optional phone number in international form; spaces, dashes and brackets are
    /// dropped, so `+998 (90) 123-45-67` is stored as `+998901234567`.
    pub fn phone(&mut self, field: &str, value: Option<String>) -> String {
        let raw = self.optional(field, value, 32);
        let phone: String = raw.chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')')).collect();
        if !phone.is_empty() && !self.has_error(field) && !is_e164(&phone) {
            self.add(field, Message::PhoneInvalid);
        }
        phone
    }

    /// An optional positive whole number from a query parameter (ids, page numbers). Bounded
    /// so arithmetic on it (page offsets) cannot overflow.
    pub fn positive_integer(&mut self, field: &str, value: Option<&str>) -> Option<i64> {
        let value = value?;
        match value.trim().parse::<i64>() {
            Ok(number) if (1..=MAX_QUERY_INTEGER).contains(&number) => Some(number),
            _ => {
                self.add(field, Message::PositiveIntegerExpected);
                None
            }
        }
    }

    /// An optional boolean from a query parameter: `true`/`false`, `1`/`0` (any case), as
    /// django-filter accepts them.
    pub fn boolean(&mut self, field: &str, value: Option<&str>) -> Option<bool> {
        match value?.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => {
                self.add(field, Message::BooleanExpected);
                None
            }
        }
    }

    /// An optional instant from a query parameter: an RFC 3339 date-time, or a date
    /// (`YYYY-MM-DD`, UTC) meaning its first instant, or with [`DayEdge::End`] the first
    /// instant of the next day (for exclusive upper bounds that include the whole day).
    pub fn instant(&mut self, field: &str, value: Option<&str>, edge: DayEdge) -> Option<DateTime<Utc>> {
        let value = value?.trim();
        if let Ok(instant) = DateTime::parse_from_rfc3339(value) {
            let instant = instant.with_timezone(&Utc);
            // A given instant is inclusive: the exclusive bound is one tick (1 µs) later.
            return Some(match edge {
                DayEdge::Start => instant,
                DayEdge::End => instant + chrono::TimeDelta::microseconds(1),
            });
        }
        let day = NaiveDate::parse_from_str(value, "%Y-%m-%d").ok().and_then(|day| match edge {
            DayEdge::Start => Some(day),
            DayEdge::End => day.succ_opt(),
        });
        match day.and_then(|day| day.and_hms_opt(0, 0, 0)) {
            Some(midnight) => Some(midnight.and_utc()),
            None => {
                self.add(field, Message::DateExpected);
                None
            }
        }
    }

    /// `value` once every field passed; otherwise every error collected.
    pub fn finish<T>(self, value: T) -> Result<T, ApiError> {
        if self.errors.is_empty() { Ok(value) } else { Err(ApiError::Validation(self.errors)) }
    }

    /// Every text field ends here: its length, and that it is text and not control.
    fn bounded(&mut self, field: &str, value: String, max: usize) -> String {
        if value.chars().count() > max {
            self.add(field, Message::FieldTooLong { max });
        }
        if text::holds_control(&value) {
            self.add(field, Message::ControlCharacters);
        }
        value
    }
}

fn is_valid_username(username: &str) -> bool {
    username.chars().all(|c| c.is_alphanumeric() || matches!(c, '@' | '.' | '+' | '-' | '_'))
}

/// A deliberately loose check (one `@`, a dotted domain, no spaces): the only real test of
/// an address is mail reaching it.
fn is_plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.split('.').count() >= 2
        && domain.split('.').all(|label| !label.is_empty())
        && !email.chars().any(char::is_whitespace)
}

/// E.164: `+`, a country code not starting with 0, at most 15 digits in all.
fn is_e164(phone: &str) -> bool {
    let Some(digits) = phone.strip_prefix('+') else {
        return false;
    };
    (8..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit()) && !digits.starts_with('0')
}

/// Whether fields left out of an update body are kept (PATCH) or emptied (PUT).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replace {
    Everything,
    GivenFields,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_reported_at_once() {
        let mut form = Form::new();
        form.required("first_name", None, 10);
        form.required("store_name", Some("   ".into()), 10);
        form.optional("description", Some("x".repeat(11)), 10);
        form.username("username", Some("has space".into()));
        form.email("email", Some("not-an-email".into()));
        form.phone("phone", Some("12345".into()));
        let Err(ApiError::Validation(errors)) = form.finish(()) else { panic!("expected errors") };
        let fields: Vec<&str> = errors.keys().map(String::as_str).collect();
        assert_eq!(fields, ["description", "email", "first_name", "phone", "store_name", "username"]);
    }

    #[test]
    fn good_values_pass_and_are_normalised() {
        let mut form = Form::new();
        let name = form.required("first_name", Some("  Иван ".into()), 10);
        let username = form.username("username", Some("ivan.petrov+pos@shop".into()));
        let email = form.email("email", Some("ivan@example.uz".into()));
        let phone = form.phone("phone", Some("+998 (90) 123-45-67".into()));
        let password = form.password("password", Some("  spaced  ".into()));
        assert!(form.finish(()).is_ok());
        assert_eq!((name.as_str(), username.as_str()), ("Иван", "ivan.petrov+pos@shop"));
        assert_eq!(
            (email.as_str(), phone.as_str(), password.as_str()),
            ("ivan@example.uz", "+998901234567", "  spaced  ")
        );
    }

    #[test]
    fn every_text_field_refuses_layout_controls_by_name() {
        let mut form = Form::new();
        form.required("name", Some("Касса\nERROR forged".into()), 64);
        form.optional("reason", Some("\u{202E}gpj.exe".into()), 200);
        form.username("username", Some("iv\u{2028}an".into()));
        form.email("email", Some("ivan\t@example.uz".into()));
        let Err(ApiError::Validation(errors)) = form.finish(()) else { panic!("expected errors") };
        for field in ["name", "reason", "username", "email"] {
            assert_eq!(errors[field], [Message::ControlCharacters], "{field}");
        }
    }

    #[test]
    fn query_parameters_parse_or_say_why_not() {
        let mut form = Form::new();
        assert_eq!(form.positive_integer("page", Some("3")), Some(3));
        assert_eq!(form.boolean("is_active", Some("FALSE")), Some(false));
        assert_eq!(form.boolean("is_active", Some("1")), Some(true));
        let day_start = form.instant("date_from", Some("2026-11-23"), DayEdge::Start).unwrap();
        let day_end = form.instant("date_to", Some("2026-11-23"), DayEdge::End).unwrap();
        assert_eq!((day_end - day_start).num_hours(), 24);
        let exact = form.instant("date_to", Some("2026-11-23T10:00:00+05:00"), DayEdge::Start).unwrap();
        assert_eq!(exact.to_rfc3339(), "2026-11-23T05:00:00+00:00");
        assert!(form.finish(()).is_ok());

        let mut form = Form::new();
        form.positive_integer("page", Some("0"));
        form.positive_integer("actor", Some("1.5"));
        form.boolean("is_active", Some("yes"));
        form.instant("date_from", Some("23.11.2026"), DayEdge::Start);
        form.instant("date_to", Some("2026-02-30"), DayEdge::End);
        let Err(ApiError::Validation(errors)) = form.finish(()) else { panic!("expected errors") };
        assert_eq!(errors.len(), 5, "{errors:?}");
    }

    #[test]
    fn phone_numbers_must_be_international() {
        for bad in ["998901234567", "+0123456789", "+12", "+99890123456789012", "+99890abc4567"] {
            assert!(!is_e164(bad), "{bad}");
        }
        assert!(is_e164("+998901234567"));
    }
}
