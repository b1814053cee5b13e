//! A store's profile and slug as requests carry them, into validated values, every problem
//! reported at once, field by field: `/stores/` and registration (as `store_name`,
//! `store_phone`, …) alike.
//!
//! Each profile field's rule (required or not, its length, phone or email) is written once,
//! in [`RawProfile::check_each`]; creating, registering, replacing and patching differ only
//! in which fields count as given.

use crate::i18n::Message;
use crate::registry::provision::SlugChoice;
use crate::registry::queries::{StoreChanges, StoreFields, StoreProfile};
use crate::registry::slug;
use crate::validate::{Form, MAX_NAME_CHARS, MAX_TEXT_CHARS, Replace};

/// Longest taxpayer id (INN and its foreign equivalents, with room to spare).
const MAX_TAX_ID_CHARS: usize = 32;

/// A store's profile fields as a request carries them, not yet checked.
#[derive(Debug)]
pub struct RawProfile(pub StoreFields<Option<String>>);

/// How one profile field is checked.
#[derive(Debug, Clone, Copy)]
enum Rule {
    /// Present, not blank, at most this many characters.
    Required(usize),
    /// Empty when absent; at most this many characters.
    Text(usize),
    Phone,
    Email,
}

impl Rule {
    fn check(self, form: &mut Form, field: &str, value: Option<String>) -> String {
        match self {
            Rule::Required(max) => form.required(field, value, max),
            Rule::Text(max) => form.optional(field, value, max),
            Rule::Phone => form.phone(field, value),
            Rule::Email => form.email(field, value),
        }
    }
}

impl RawProfile {
    /// The whole profile of a new store; `prefix` is `store_` on registration. A field left
    /// out is empty; `name` is required.
    pub fn parse(self, form: &mut Form, prefix: &str) -> StoreProfile {
        self.check_each(|field, rule, value| rule.check(form, &format!("{prefix}{field}"), value))
    }

    /// A change: with [`Replace::Everything`] (PUT) the whole profile, fields left out
    /// emptied; with [`Replace::GivenFields`] (PATCH) only the fields given, `None` for the rest.
    pub fn parse_changes(self, form: &mut Form, replace: Replace) -> StoreChanges {
        self.check_each(|field, rule, value| match (replace, value) {
            (Replace::GivenFields, None) => None,
            (_, value) => Some(rule.check(form, field, value)),
        })
    }

    /// Each field through `check`, with its name in the store endpoints and its rule.
    fn check_each<T>(self, mut check: impl FnMut(&'static str, Rule, Option<String>) -> T) -> StoreFields<T> {
        let raw = self.0;
        StoreFields {
            name: check("name", Rule::Required(MAX_NAME_CHARS), raw.name),
            description: check("description", Rule::Text(MAX_TEXT_CHARS), raw.description),
            address: check("address", Rule::Text(MAX_TEXT_CHARS), raw.address),
            city: check("city", Rule::Text(MAX_NAME_CHARS), raw.city),
            region: check("region", Rule::Text(MAX_NAME_CHARS), raw.region),
            phone: check("phone", Rule::Phone, raw.phone),
            email: check("email", Rule::Email, raw.email),
            legal_name: check("legal_name", Rule::Text(MAX_TEXT_CHARS), raw.legal_name),
            tax_id: check("tax_id", Rule::Text(MAX_TAX_ID_CHARS), raw.tax_id),
        }
    }
}

/// The slug a request asks for: validated when given, else made from the name.
pub fn parse_slug_choice(form: &mut Form, field: &'static str, value: Option<String>) -> SlugChoice {
    match value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) {
        None => SlugChoice::FromName { field },
        Some(chosen) if slug::is_valid(&chosen) => SlugChoice::Chosen { slug: chosen, field },
        Some(_) => {
            form.add(field, Message::SlugInvalid);
            SlugChoice::FromName { field }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(name: Option<&str>, city: Option<&str>) -> RawProfile {
        RawProfile(StoreFields {
            name: name.map(str::to_owned),
            city: city.map(str::to_owned),
            ..StoreFields::default()
        })
    }

    #[test]
    fn put_empties_what_it_leaves_out_and_patch_keeps_it() {
        let mut form = Form::new();
        let put = raw(Some(" Лавка "), None).parse_changes(&mut form, Replace::Everything);
        let patch = raw(None, Some("Ташкент")).parse_changes(&mut form, Replace::GivenFields);
        assert!(form.finish(()).is_ok());
        assert_eq!((put.name.as_deref(), put.city.as_deref()), (Some("Лавка"), Some("")));
        assert_eq!((patch.name, patch.city.as_deref(), patch.phone), (None, Some("Ташкент"), None));
    }

    #[test]
    fn a_whole_profile_reports_its_fields_under_the_requests_names() {
        let mut form = Form::new();
        let mut profile = raw(None, Some(&"x".repeat(151)));
        profile.0.phone = Some("12345".to_owned());
        profile.parse(&mut form, "store_");
        let Err(crate::error::ApiError::Validation(errors)) = form.finish(()) else {
            panic!("expected errors")
        };
        let fields: Vec<&str> = errors.keys().map(String::as_str).collect();
        assert_eq!(fields, ["store_city", "store_name", "store_phone"]);
    }
}
