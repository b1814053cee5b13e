//! The kinds of text field a request body carries, each a type that holds its rule twice
//! over: the check ([`Form::take`]) and the OpenAPI schema (`schema_with = …` on the field).
//! A field's limit lives in its type (`NonBlank<150>`), so the document cannot drift from
//! what is refused.
//!
//! Deserialising takes any JSON string as it is: the content is checked by [`Form::take`],
//! so that every problem of a body is reported at once, field by field (docs/contract.md
//! §7), rather than the first one only, which is all a failing deserialiser can say.
//!
//! The schemas are written as the request bodies state them; the text rule
//! ([`crate::http::openapi::TextRule`]) then adds "no control character" to each, once, for
//! the whole document.

use serde::Deserialize;
use utoipa::openapi::schema::{Object, ObjectBuilder, SchemaType, Type};

use crate::validate::{Form, MAX_EMAIL_CHARS};

/// The white space a "not blank" field may not consist of, as the request schemas write it.
pub const WHITE_SPACE: &str = r"\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";

/// Longest phone number as sent (brackets, dashes and spaces included).
pub const MAX_PHONE_CHARS: usize = 32;

/// A field of a request body, checked by [`Form::take`].
pub trait Field: Sized {
    /// What the field is once checked.
    type Checked;

    /// Checks `given` (`None`: left out or `null`) as `field`, recording what is wrong.
    fn check(form: &mut Form, field: &str, given: Option<Self>) -> Self::Checked;
}

impl Form {
    /// Checks the field `field` by the rule of its type (see [`Field`]).
    pub fn take<F: Field>(&mut self, field: &str, given: Option<F>) -> F::Checked {
        F::check(self, field, given)
    }
}

/// Required text: present, not blank, at most `MAX` characters, trimmed ([`Form::required`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct NonBlank<const MAX: usize>(pub String);

/// Optional text: at most `MAX` characters, trimmed, empty when left out ([`Form::optional`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct Text<const MAX: usize>(pub String);

/// An optional email address ([`Form::email`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct Email(pub String);

/// An optional phone number in international form ([`Form::phone`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct Phone(pub String);

impl<const MAX: usize> Field for NonBlank<MAX> {
    type Checked = String;

    fn check(form: &mut Form, field: &str, given: Option<Self>) -> String {
        form.required(field, given.map(|text| text.0), MAX)
    }
}

impl<const MAX: usize> Field for Text<MAX> {
    type Checked = String;

    fn check(form: &mut Form, field: &str, given: Option<Self>) -> String {
        form.optional(field, given.map(|text| text.0), MAX)
    }
}

impl Field for Email {
    type Checked = String;

    fn check(form: &mut Form, field: &str, given: Option<Self>) -> String {
        form.email(field, given.map(|email| email.0))
    }
}

impl Field for Phone {
    type Checked = String;

    fn check(form: &mut Form, field: &str, given: Option<Self>) -> String {
        form.phone(field, given.map(|phone| phone.0))
    }
}

/// A string, or `null` when `nullable`.
fn text(nullable: bool) -> ObjectBuilder {
    let schema_type = if nullable {
        SchemaType::from_iter([Type::String, Type::Null])
    } else {
        SchemaType::new(Type::String)
    };
    ObjectBuilder::new().schema_type(schema_type)
}

/// The pattern of "not blank": one character at least that is not white space.
#[must_use]
pub fn not_blank_pattern() -> String {
    format!("[^{WHITE_SPACE}]")
}

impl<const MAX: usize> NonBlank<MAX> {
    fn builder(nullable: bool) -> ObjectBuilder {
        text(nullable).max_length(Some(MAX)).pattern(Some(not_blank_pattern()))
    }

    /// The schema of the field where it is required (and so never `null`).
    #[must_use]
    pub fn required() -> Object {
        Self::builder(false).build()
    }

    /// The schema of the field where it may be left out (a change: it keeps its value).
    #[must_use]
    pub fn changed() -> Object {
        Self::builder(true).build()
    }

    /// [`NonBlank::required`] with an example value.
    #[must_use]
    pub fn required_like(example: &str) -> Object {
        // The bodies state examples as `example`, which OpenAPI 3.1 keeps for compatibility.
        #[allow(deprecated)]
        let builder = Self::builder(false).example(Some(example.into()));
        builder.build()
    }
}

impl<const MAX: usize> Text<MAX> {
    /// The schema of the field: a string or `null`, at most `MAX` characters.
    #[must_use]
    pub fn schema() -> Object {
        text(true).max_length(Some(MAX)).build()
    }
}

impl Email {
    /// One `@`, a dotted domain, no white space: what [`Form::email`] checks, or empty.
    #[must_use]
    pub fn pattern() -> String {
        let part = format!("[^@{WHITE_SPACE}]+");
        let label = format!("[^@.{WHITE_SPACE}]+");
        format!(r"^(?:{part}@{label}(?:\.{label})+)?$")
    }

    /// The schema of the field: a string or `null`.
    #[must_use]
    pub fn schema() -> Object {
        text(true).max_length(Some(MAX_EMAIL_CHARS)).pattern(Some(Self::pattern())).build()
    }
}

impl Phone {
    /// E.164 as [`Form::phone`] reads it (brackets, dashes and spaces anywhere), or empty.
    pub const PATTERN: &str = r"^[ ()-]*(?:\+[ ()-]*[1-9](?:[ ()-]*[0-9]){7,14}[ ()-]*)?$";

    /// The schema of the field: a string or `null`.
    #[must_use]
    pub fn schema() -> Object {
        text(true)
            .description(Some(
                "International format, e.g. `+998901234567`; spaces, dashes and brackets are dropped.",
            ))
            .max_length(Some(MAX_PHONE_CHARS))
            .pattern(Some(Self::PATTERN))
            .build()
    }
}
