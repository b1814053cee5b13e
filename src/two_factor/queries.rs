//! The statements of the two-step routes on `public.user_totp` and `public.recovery_codes`.

use sqlx::PgConnection;

/// Starts (or restarts) `user_id`'s enrolment with a new sealed secret; false when two-step
/// sign-in is on already (a confirmed authenticator is replaced only after turning it off).
pub async fn start_enrolment(
    conn: &mut PgConnection,
    user_id: i64,
    secret_sealed: &str,
) -> sqlx::Result<bool> {
    crate::db::query(
        "insert into public.user_totp as t (user_id, secret_sealed) values ($1, $2)
         on conflict (user_id) do update
             set secret_sealed = excluded.secret_sealed, last_used_step = null, created_at = now()
             where t.confirmed_at is null",
    )
    .bind(user_id)
    .bind(secret_sealed)
    .execute(conn)
    .await
    .map(|done| done.rows_affected() == 1)
}

/// Turns the waiting enrolment on and replaces the recovery codes with `code_hashes`, in
/// the caller's transaction; false when no enrolment was waiting.
pub async fn confirm_enrolment(
    conn: &mut PgConnection,
    user_id: i64,
    code_hashes: &[Vec<u8>],
) -> sqlx::Result<bool> {
    let confirmed = crate::db::query(
        "update public.user_totp set confirmed_at = now() where user_id = $1 and confirmed_at is null",
    )
    .bind(user_id)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if !confirmed {
        return Ok(false);
    }
    crate::db::query("delete from public.recovery_codes where user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    crate::db::query("insert into public.recovery_codes (user_id, code_hash) select $1, unnest($2::bytea[])")
        .bind(user_id)
        .bind(code_hashes)
        .execute(conn)
        .await?;
    Ok(true)
}

/// Forgets `user_id`'s authenticator and recovery codes; false when there was none on.
pub async fn remove_authenticator(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<bool> {
    crate::db::query("delete from public.recovery_codes where user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    crate::db::query("delete from public.user_totp where user_id = $1 and confirmed_at is not null")
        .bind(user_id)
        .execute(conn)
        .await
        .map(|done| done.rows_affected() == 1)
}
