//! Two-step sign-in's machinery (docs/contract.md §16), shared by the password sign-in
//! (which asks for the second step) and the `/auth/2fa/` routes (which enrol and answer it).
//!
//! Codes are RFC 6238 (SHA-1, 6 digits, 30-second steps, ±1 step) computed by `totp-rs`;
//! kassa writes no TOTP of its own. The secret is sealed at rest (`secrets`) for the context
//! `totp secret <user id>`. A code is accepted once: the step it matched must be later than
//! the last accepted one, a compare-and-set in one statement. Recovery codes and challenges
//! carry 80 and 256 random bits and are kept as their SHA-256 only.

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use sqlx::{AssertSqlSafe, PgConnection};
use totp_rs::{Algorithm, Builder, Secret, Totp};
use uuid::Uuid;

use crate::credentials::throttle;
use crate::db::{Db, Session};
use crate::error::{ApiError, ApiResult, PendingSecondStep, ThrottleKind};
use crate::http::client::ClientInfo;
use crate::random::{crockford_symbols, random_hex};
use crate::secrets::SecretSealer;

/// How long a sign-in's challenge can be answered.
const CHALLENGE_MINUTES: i32 = 5;
/// Wrong answers one challenge takes before it stops working.
const CHALLENGE_ATTEMPTS: i32 = 5;
/// Recovery codes handed over when two-step sign-in is turned on.
pub const RECOVERY_CODE_COUNT: usize = 10;
/// Crockford symbols per recovery code: 16 × 5 = 80 random bits.
const RECOVERY_CODE_SYMBOLS: usize = 16;
/// The name authenticator apps show beside the account.
const ISSUER: &str = "kassa";

/// One account's authenticator: its secret and the RFC 6238 parameters apps assume.
pub struct Authenticator(Totp);

impl Authenticator {
    /// A new authenticator with a fresh 160-bit secret (RFC 4226 §4 recommends 160).
    pub fn generate(username: &str) -> ApiResult<Self> {
        Self::build(username, Secret::generate())
    }

    /// The authenticator whose base32 secret was sealed for `user_id`.
    pub fn open(sealer: &SecretSealer, user_id: i64, sealed: &str) -> ApiResult<Self> {
        let secret = sealer.open(sealed, &secret_context(user_id)).map_err(ApiError::internal)?;
        let secret = Secret::try_from_base32(secret.expose_secret()).map_err(ApiError::internal)?;
        // The account name only matters to the URI, which is shown at enrolment alone.
        Self::build("", secret)
    }

    fn build(username: &str, secret: Secret) -> ApiResult<Self> {
        let totp = Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(6)
            .with_skew(1)
            .with_step_duration(30)
            .with_secret(secret)
            .with_issuer(Some(ISSUER))
            // A colon would end the label's account part (Key URI format); usernames have none,
            // this keeps it so.
            .with_account_name(username.replace(':', "_"))
            .build()
            .map_err(ApiError::internal)?;
        Ok(Authenticator(totp))
    }

    /// The secret as apps take it typed in: RFC 4648 base32.
    pub fn secret_base32(&self) -> SecretString {
        SecretString::from(self.0.secret().to_base32())
    }

    /// The secret sealed for `user_id`, to store.
    pub fn seal(&self, sealer: &SecretSealer, user_id: i64) -> ApiResult<String> {
        sealer.seal(&self.secret_base32(), &secret_context(user_id)).map_err(ApiError::internal)
    }

    /// The `otpauth://totp/…` URI apps scan (Key URI format).
    pub fn otpauth_uri(&self) -> ApiResult<SecretString> {
        self.0.to_url().map(SecretString::from).map_err(ApiError::internal)
    }

    /// The step `code` matches now, within one step either side; `None` when it matches none
    /// (or is not six digits).
    #[must_use]
    pub fn matching_step(&self, code: &str) -> Option<i64> {
        let now = u64::try_from(Utc::now().timestamp()).ok()?;
        let code = code.trim();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        self.0.check(code, now).and_then(|step| i64::try_from(step).ok())
    }
}

fn secret_context(user_id: i64) -> String {
    format!("totp secret {user_id}")
}

/// Whether `user_id` has a confirmed authenticator: sign-in then asks for a second step.
pub async fn totp_is_on(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<bool> {
    crate::db::query_scalar(
        "select exists (select 1 from public.user_totp where user_id = $1 and confirmed_at is not null)",
    )
    .bind(user_id)
    .fetch_one(conn)
    .await
}

/// Checks a TOTP `code` of `user_id`'s confirmed authenticator (`confirmed`), or of the one
/// waiting for confirmation, and records its step so it is never accepted again. The check
/// is claimed against the account's second-step throttle first; a right code gives the
/// claim back. Commits as it goes: the claim must hold whatever the caller does next.
pub async fn check_totp(
    conn: &mut PgConnection,
    sealer: &SecretSealer,
    user_id: i64,
    code: &str,
    confirmed: bool,
) -> ApiResult<bool> {
    let claim = throttle::claim_second_step(conn, user_id).await?;
    let sealed: Option<String> = crate::db::query_scalar(
        "select secret_sealed from public.user_totp where user_id = $1 and (confirmed_at is not null) = $2",
    )
    .bind(user_id)
    .bind(confirmed)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(sealed) = sealed else { return Ok(false) };
    let Some(step) = Authenticator::open(sealer, user_id, &sealed)?.matching_step(code) else {
        return Ok(false);
    };
    // The compare-and-set that makes a code single use, also between parallel requests.
    let accepted = crate::db::query(
        "update public.user_totp set last_used_step = $2
         where user_id = $1 and (last_used_step is null or last_used_step < $2)",
    )
    .bind(user_id)
    .bind(step)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if accepted {
        throttle::release_second_step(conn, user_id, claim).await?;
    }
    Ok(accepted)
}

/// The header that carries a fresh code for what cannot be undone (docs/contract.md §16).
pub const STEP_UP_HEADER: &str = "x-totp-code";

/// Step-up (docs/contract.md §16): when `user_id` has two-step sign-in on, the request must
/// carry a fresh code of theirs in `X-TOTP-Code` (accepted once, throttled like any second
/// step), else 401 `two_factor_required`. Without it on, nothing more is asked.
pub async fn require_step_up(
    db: &Db,
    sealer: &SecretSealer,
    user_id: i64,
    headers: &HeaderMap,
) -> ApiResult<()> {
    let mut conn = Session::open(db).await?;
    if !totp_is_on(&mut conn, user_id).await? {
        conn.finish().await?;
        return Ok(());
    }
    let code = headers.get(STEP_UP_HEADER).and_then(|value| value.to_str().ok()).map(str::trim);
    let Some(code) = code.filter(|code| !code.is_empty()) else {
        return Err(ApiError::TwoFactorRequired(None));
    };
    let right = check_totp(&mut conn, sealer, user_id, code, true).await?;
    conn.finish().await?;
    match right {
        true => Ok(()),
        false => Err(ApiError::TwoFactorRequired(None)),
    }
}

/// Spends one of `user_id`'s recovery codes, under the same throttle as codes; false when
/// `code` is not an unused one of theirs.
pub async fn spend_recovery_code(conn: &mut PgConnection, user_id: i64, code: &str) -> ApiResult<bool> {
    let claim = throttle::claim_second_step(conn, user_id).await?;
    let spent = crate::db::query(
        "update public.recovery_codes set used_at = now()
         where user_id = $1 and code_hash = $2 and used_at is null",
    )
    .bind(user_id)
    .bind(recovery_code_digest(code))
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if spent {
        throttle::release_second_step(conn, user_id, claim).await?;
        tracing::info!(user.id = user_id, "a recovery code was used");
    }
    Ok(spent)
}

/// Ten fresh recovery codes, `XXXX-XXXX-XXXX-XXXX` in Crockford's alphabet.
#[must_use]
pub fn new_recovery_codes() -> Vec<SecretString> {
    (0..RECOVERY_CODE_COUNT)
        .map(|_| {
            let symbols = crockford_symbols(RECOVERY_CODE_SYMBOLS);
            let groups: Vec<&str> =
                (0..RECOVERY_CODE_SYMBOLS).step_by(4).map(|at| &symbols[at..at + 4]).collect();
            SecretString::from(groups.join("-"))
        })
        .collect()
}

/// What is stored of a recovery code: the SHA-256 of its symbols, read as typed in any case,
/// with or without dashes and spaces.
#[must_use]
pub fn recovery_code_digest(code: &str) -> Vec<u8> {
    let symbols: String =
        code.chars().filter(|c| !c.is_whitespace() && *c != '-').map(|c| c.to_ascii_uppercase()).collect();
    Sha256::digest(symbols.as_bytes()).to_vec()
}

/// The challenge of a sign-in whose password was right, and the user it belongs to.
pub struct ChallengeOwner {
    pub user_id: i64,
    /// The SHA-256 of the password hash the first step checked.
    pub password_digest: Vec<u8>,
}

/// Records a challenge for `user_id`, whose password (hashed as `password_hash`) was just
/// checked by `client`, and hands it over: the 401 that asks for the second step.
pub async fn issue_challenge(
    conn: &mut PgConnection,
    user_id: i64,
    password_hash: &str,
    client: &ClientInfo,
) -> ApiResult<PendingSecondStep> {
    // Challenges that can no longer be answered go when the account earns a new one.
    crate::db::query("delete from public.two_factor_challenges where user_id = $1 and expires_at <= now()")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    let challenge = random_hex(32);
    let expires_at: DateTime<Utc> = crate::db::query_scalar(
        "insert into public.two_factor_challenges
             (challenge_hash, user_id, password_digest, client_ip, user_agent, expires_at)
         values ($1, $2, $3, $4, $5, now() + make_interval(mins => $6))
         returning expires_at",
    )
    .bind(Sha256::digest(challenge.as_bytes()).to_vec())
    .bind(user_id)
    .bind(password_digest(password_hash))
    .bind(client.ip_key())
    .bind(&client.user_agent)
    .bind(CHALLENGE_MINUTES)
    .fetch_one(conn)
    .await?;
    Ok(PendingSecondStep { challenge, methods: vec!["totp", "recovery_code"], expires_at })
}

/// The SHA-256 of a password hash: ties a challenge to the password it followed.
#[must_use]
pub fn password_digest(password_hash: &str) -> Vec<u8> {
    Sha256::digest(password_hash.as_bytes()).to_vec()
}

/// Claims one answer to `challenge` from `client`: its owner while the challenge is live,
/// unused, this client's, and has answers left. Atomic: of parallel answers at most
/// [`CHALLENGE_ATTEMPTS`] get past this. 401 `authentication_failed` otherwise (429 once
/// its answers are used up).
pub async fn claim_challenge(
    conn: &mut PgConnection,
    challenge: &str,
    client: &ClientInfo,
) -> ApiResult<ChallengeOwner> {
    let claimed: Option<(i64, Vec<u8>, i32, DateTime<Utc>)> = crate::db::query_as(
        "update public.two_factor_challenges set failures = failures + 1
         where challenge_hash = $1 and used_at is null and expires_at > now()
           and client_ip = $2 and user_agent = $3
         returning user_id, password_digest, failures, expires_at",
    )
    .bind(Sha256::digest(challenge.as_bytes()).to_vec())
    .bind(client.ip_key())
    .bind(&client.user_agent)
    .fetch_optional(conn)
    .await?;
    let (user_id, password_digest, attempts, expires_at) = claimed.ok_or(ApiError::InvalidCredentials)?;
    if attempts > CHALLENGE_ATTEMPTS {
        let left = (expires_at - Utc::now()).num_seconds().max(1);
        return Err(ApiError::TooManyAttempts {
            retry_after_secs: u64::try_from(left).unwrap_or(1),
            kind: ThrottleKind::Code,
        });
    }
    Ok(ChallengeOwner { user_id, password_digest })
}

/// Marks `challenge` used; false when a parallel answer used it first.
pub async fn use_challenge(conn: &mut PgConnection, challenge: &str) -> sqlx::Result<bool> {
    crate::db::query(
        "update public.two_factor_challenges set used_at = now() where challenge_hash = $1 and used_at is null",
    )
    .bind(Sha256::digest(challenge.as_bytes()).to_vec())
    .execute(conn)
    .await
    .map(|done| done.rows_affected() == 1)
}

/// The memberships where a store's policy requires two-step sign-in at the member's rank
/// (docs/contract.md §16), as a `from … where` tail on `public.store_memberships m` joined
/// with `public.stores s`: each store's own role definitions decide the rank.
const REQUIRED_BY_POLICY: &str = "from public.store_memberships m
     join public.stores s on s.id = m.store_id
     cross join lateral public.store_role(s.schema_name, m.role) r
     where m.is_active and s.is_active and s.require_2fa_from_rank is not null
       and r.role_rank >= s.require_2fa_from_rank";

/// Whether a store where `user_id` works requires them to sign in with two steps.
pub async fn required_by_a_store(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<bool> {
    crate::db::query_scalar(AssertSqlSafe(format!(
        "select exists (select 1 {REQUIRED_BY_POLICY} and m.user_id = $1)"
    )))
    .bind(user_id)
    .fetch_one(conn)
    .await
}

/// Brings the live sessions (opened with a password) of `store_id`'s members in line with
/// its policy, just changed: restricted to enrolment where some store now requires two-step
/// sign-in of a member with no authenticator, unrestricted where none does any more. Either
/// takes effect at the session's next token refresh.
pub async fn apply_store_policy(conn: &mut PgConnection, store_id: i64) -> sqlx::Result<()> {
    crate::db::query(AssertSqlSafe(format!(
        "update public.sessions ss
         set enrolment_only = ss.user_id in (select m.user_id {REQUIRED_BY_POLICY} and m.user_id = ss.user_id)
         where ss.revoked_at is null and ss.expires_at > now() and ss.store_id is null
           and ss.user_id in (select user_id from public.store_memberships where store_id = $1)
           and not exists (select 1 from public.user_totp t
                           where t.user_id = ss.user_id and t.confirmed_at is not null)"
    )))
    .bind(store_id)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Marks one session as reaching only enrolment (its user turned two-step sign-in off while
/// a store requires it); it takes effect at the session's next token refresh.
pub async fn restrict_session(conn: &mut PgConnection, session_id: Uuid) -> sqlx::Result<()> {
    crate::db::query("update public.sessions set enrolment_only = true where id = $1")
        .bind(session_id)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Lifts the enrolment-only restriction from every session of `user_id`, who now has an
/// authenticator: their next token refresh hands out unrestricted tokens.
pub async fn lift_enrolment_restriction(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<()> {
    crate::db::query(
        "update public.sessions set enrolment_only = false where user_id = $1 and enrolment_only",
    )
    .bind(user_id)
    .execute(conn)
    .await
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_carry_80_bits_and_read_in_any_case() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODE_COUNT);
        let code = codes[0].expose_secret();
        assert_eq!(code.len(), 19);
        let typed = code.replace('-', " ").to_lowercase();
        assert_eq!(recovery_code_digest(&typed), recovery_code_digest(code));
        assert_ne!(recovery_code_digest(codes[1].expose_secret()), recovery_code_digest(code));
    }

    #[test]
    fn only_six_digits_are_checked() {
        let authenticator = Authenticator::generate("anna").unwrap();
        assert_eq!(authenticator.matching_step("12345"), None);
        assert_eq!(authenticator.matching_step("abcdef"), None);
        assert!(
            authenticator.otpauth_uri().unwrap().expose_secret().starts_with("otpauth://totp/kassa:anna?")
        );
    }
}
