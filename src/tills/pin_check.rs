//! Checking a PIN typed on a till (docs/contract.md §11), for PIN sign-in and for a manager's approval.
//!
//! Every failure answers the same 401 `invalid_pin` in the same time: an unknown or inactive
//! employee, one without a PIN and a wrong PIN all cost one claim on each counter
//! (`tills::lockout`) and one argon2 verification (against a dummy hash when there is no
//! PIN), and nothing else unless the failure used up the employee's attempts.

use std::sync::Arc;

use secrecy::SecretString;
use sqlx::{Postgres, Transaction};

use crate::access::StoreRole;
use crate::audit::queries::{NewAuditEvent, record};
use crate::audit::{AuditAction, Changes};
use crate::db::Session;
use crate::error::{ApiError, ApiResult};
use crate::i18n::Message;
use crate::state::AppState;
use crate::tills::device_auth::TillDevice;
use crate::tills::lockout::{self, CheckedPin, PinHolder};

/// Longest PIN field read; a longer one is a wrong PIN like any other.
const MAX_PIN_FIELD_CHARS: usize = 64;

/// The member a right PIN names.
#[derive(Debug, Clone)]
pub struct PinMember {
    pub employee_id: i64,
    pub user_id: i64,
    pub full_name: String,
    /// Their role, as the store defines it now.
    pub role: Arc<StoreRole>,
}

/// A PIN typed for an employee on a till, as the body gave it.
pub struct TypedPin {
    pub employee_id: i64,
    pub pin: SecretString,
}

impl TypedPin {
    /// Reads the employee (the field `employee_field`) and `pin`, both required, into
    /// `form`; `None` when either is missing or the PIN field is far too long.
    pub fn read(
        form: &mut crate::validate::Form,
        employee_field: &str,
        employee_id: Option<i64>,
        pin: Option<String>,
    ) -> Option<TypedPin> {
        if employee_id.is_none() {
            form.add(employee_field, Message::FieldRequired);
        }
        match &pin {
            None => form.add("pin", Message::FieldRequired),
            Some(pin) if pin.chars().count() > MAX_PIN_FIELD_CHARS => form.add("pin", Message::FieldInvalid),
            Some(_) => {}
        }
        match (employee_id, pin) {
            (Some(employee_id), Some(pin)) if pin.chars().count() <= MAX_PIN_FIELD_CHARS => {
                Some(TypedPin { employee_id, pin: SecretString::from(pin) })
            }
            _ => None,
        }
    }

    /// [`TypedPin::read`] alone: a PIN sign-in's body.
    pub fn parse(employee_id: Option<i64>, pin: Option<String>, employee_field: &str) -> ApiResult<TypedPin> {
        let mut form = crate::validate::Form::new();
        let typed = TypedPin::read(&mut form, employee_field, employee_id, pin);
        form.finish(typed)?
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("a finished form missed a field")))
    }
}

/// Checks `typed` on `till`: the device lock first (429), then the PIN (401 `invalid_pin`).
/// On success, the open transaction that has given back both claims and holds the
/// credentials it proved current locked (`lockout::settle_right_pin`): the caller opens its
/// session or grants its approval in it and commits, so no change to those credentials can
/// slip between the check and the commit.
pub async fn check_pin(
    app: &AppState,
    till: &TillDevice,
    typed: TypedPin,
) -> ApiResult<(PinMember, Transaction<'static, Postgres>)> {
    let tables = &till.store.schema.tables();
    // Both claims are kept whatever follows, and the connection goes back to the pool while
    // argon2 runs.
    let mut session = Session::open(&app.db).await?;
    let attempt = (till.store.id, typed.employee_id);
    let holder =
        lockout::claim_attempt(&mut session, till.device.id, app.config.pin_lock, tables, attempt).await?;
    session.finish().await?;

    let stored = holder.as_ref().map(|holder| holder.pin_hash.clone());
    let verified = app.hasher.verify(typed.pin, stored).await.map_err(ApiError::internal)?;
    let holder = match holder {
        Some(holder) if verified.matches => holder,
        Some(holder) => return Err(wrong_pin(app, till, &holder).await),
        None => return Err(ApiError::InvalidPin),
    };

    let mut tx = app.db.begin().await?;
    let checked = CheckedPin {
        store_id: till.store.id,
        user_id: holder.user_id,
        employee_id: holder.employee_id,
        pin_hash: &holder.pin_hash,
    };
    lockout::settle_right_pin(&mut tx, till.device.id, tables, &checked).await?;
    let roles = app.roles.current(&mut tx, till.store.id, tables, holder.roles_version).await?;
    let role = roles.resolve(&holder.role).map_err(ApiError::internal)?;
    let member = PinMember {
        employee_id: holder.employee_id,
        user_id: holder.user_id,
        full_name: crate::credentials::full_name(&holder.first_name, &holder.last_name),
        role,
    };
    Ok((member, tx))
}

/// A wrong PIN for `holder`: when it was their last attempt of the day, their PIN is
/// cleared (`pin.locked`). Always the error to answer.
async fn wrong_pin(app: &AppState, till: &TillDevice, holder: &PinHolder) -> ApiError {
    if holder.failures < lockout::EMPLOYEE_FAILURES_BEFORE_CLEARING {
        return ApiError::InvalidPin;
    }
    match clear_locked_pin(app, till, holder.employee_id).await {
        Ok(()) => ApiError::InvalidPin,
        Err(error) => error,
    }
}

async fn clear_locked_pin(app: &AppState, till: &TillDevice, employee_id: i64) -> ApiResult<()> {
    let tables = &till.store.schema.tables();
    let mut tx = app.db.begin().await?;
    if lockout::clear_exhausted_pin(&mut tx, tables, employee_id).await? {
        let mut changes = Changes::default();
        changes.field("has_pin", &true, &false);
        changes.created("device_id", &till.device.id);
        let event = NewAuditEvent {
            actor_user_id: None,
            action: AuditAction::PinLocked,
            employee_id: Some(employee_id),
            changes,
        };
        record(tables, &mut tx, event).await?;
        tracing::warn!(
            store.id = till.store.id,
            employee.id = employee_id,
            device.id = till.device.id,
            "too many wrong PINs for employee {employee_id}: their PIN is cleared"
        );
    }
    tx.commit().await?;
    Ok(())
}
