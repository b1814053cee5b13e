//! The users API's input, validated: list filters, a profile change, a new password. Every
//! problem is collected per field ([`Form`]), so one `400 validation_error` reports them all.

use secrecy::SecretString;

use crate::config::PasswordPolicy;
use crate::error::ApiResult;
use crate::http::pagination::ListQuery;
use crate::i18n::Message;
use crate::staff::forms::{PasswordReset, search_text};
use crate::users::queries::{AccountProfile, ORDERINGS, UserFilter};
use crate::users::{SetUserPasswordRequest, UpdateProfileRequest};
use crate::validate::{Form, MAX_NAME_CHARS};

/// The list's order when the request names none: by username, as the apps expect.
const DEFAULT_ORDERING: &str = "username";

/// The list filters of `query` (`name`, `search`, `ordering`), their problems added to `form`.
pub fn list_filter(query: &ListQuery, form: &mut Form) -> UserFilter {
    // Exactly the documented values: no trimming, so the document's pattern says it all.
    let ordering = match query.get("ordering") {
        None | Some("") => DEFAULT_ORDERING,
        Some(asked) => ORDERINGS.iter().copied().find(|known| *known == asked).unwrap_or_else(|| {
            form.add("ordering", Message::ChoiceInvalid { choices: ORDERINGS });
            DEFAULT_ORDERING
        }),
    };
    UserFilter {
        name: search_text(query, form, "name"),
        search: search_text(query, form, "search"),
        ordering,
    }
}

/// The account's profile after applying `body` to `current`: fields left out keep their
/// value; a given username follows the username rule, a given first name may not be blank,
/// a given email must look like one (empty clears it).
pub fn profile_changes(body: UpdateProfileRequest, current: &AccountProfile) -> ApiResult<AccountProfile> {
    let mut form = Form::new();
    let username = match body.username {
        Some(username) => form.username("username", Some(username)),
        None => current.username.clone(),
    };
    let first_name = match body.first_name {
        Some(first_name) => form.required("first_name", Some(first_name), MAX_NAME_CHARS),
        None => current.first_name.clone(),
    };
    let last_name = match body.last_name {
        Some(last_name) => form.optional("last_name", Some(last_name), MAX_NAME_CHARS),
        None => current.last_name.clone(),
    };
    let email = match body.email {
        Some(email) => form.email("email", Some(email)),
        None => current.email.clone(),
    };
    form.finish(AccountProfile { username, first_name, last_name, email })
}

/// The password `body` sets for the account `username`: required, and held to `policy`
/// like every new password. The account need not change it again at its next sign-in.
pub fn new_password(
    body: SetUserPasswordRequest,
    policy: &PasswordPolicy,
    username: &str,
) -> ApiResult<PasswordReset> {
    let mut form = Form::new();
    let password = form.new_password("new_password", body.new_password, policy, &[username]);
    let password = form.finish(SecretString::from(password))?;
    Ok(PasswordReset { password, must_change: false })
}
