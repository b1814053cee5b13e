//! Account requests into validated values, every problem reported at once, field by field.
//! Registration's is [`crate::account::registration::Registration::parse`], which the
//! command line shares.

use secrecy::SecretString;

use crate::account::{ChangePasswordRequest, LoginRequest, RefreshRequest};
use crate::auth::tokens::RefreshToken;
use crate::config::PasswordPolicy;
use crate::error::ApiResult;
use crate::validate::{Form, MAX_USERNAME_CHARS};

/// Longest refresh token accepted; ours are far shorter.
const MAX_REFRESH_TOKEN_CHARS: usize = 512;

/// A sign-in attempt: the username trimmed, the password exactly as typed.
pub struct Credentials {
    pub username: String,
    pub password: SecretString,
}

impl Credentials {
    /// Both fields present and not blank. The password's length is not checked here: an
    /// overlong one is refused only after hashing, so the answer takes the usual time.
    pub fn parse(body: LoginRequest) -> ApiResult<Self> {
        let mut form = Form::new();
        let username = form.required("username", body.username, MAX_USERNAME_CHARS);
        let password = form.password("password", body.password);
        form.finish(Credentials { username, password: SecretString::from(password) })
    }
}

/// The refresh token a refresh request presents.
pub fn parse_refresh(body: RefreshRequest) -> ApiResult<RefreshToken> {
    let mut form = Form::new();
    let presented = form.required("refresh", body.refresh, MAX_REFRESH_TOKEN_CHARS);
    form.finish(presented).map(RefreshToken::presented)
}

/// A password change: the current password, and a new one held to the policy.
pub struct PasswordChange {
    pub old_password: SecretString,
    pub new_password: SecretString,
}

impl PasswordChange {
    /// `username` is the caller's: the new password must not contain it.
    pub fn parse(body: ChangePasswordRequest, policy: &PasswordPolicy, username: &str) -> ApiResult<Self> {
        let mut form = Form::new();
        let old_password = form.password("old_password", body.old_password);
        let new_password = form.new_password("new_password", body.new_password, policy, &[username]);
        form.finish(PasswordChange {
            old_password: SecretString::from(old_password),
            new_password: SecretString::from(new_password),
        })
    }
}
