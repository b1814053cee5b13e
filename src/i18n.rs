//! Human-readable messages in Russian and English.
//!
//! Every message a client can read is a [`Message`] variant, so the catalogue is closed and
//! each text exists in both languages (docs/contract.md §5: messages follow `Accept-Language`, default
//! `DEFAULT_LANGUAGE`). The language of the request being served is negotiated once by the
//! error-envelope middleware and kept in a task-local, so an error rendered anywhere on the
//! request path speaks the caller's language without threading it through every function.

use std::borrow::Cow;
use std::future::Future;
use std::str::FromStr;

/// A language kassa speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ru,
    En,
}

impl FromStr for Lang {
    type Err = ();

    /// Accepts a language tag such as `ru`, `ru-RU`, `en`, `en-US` (case-insensitive).
    fn from_str(tag: &str) -> Result<Self, Self::Err> {
        let primary = tag.trim().split(['-', '_']).next().unwrap_or_default();
        match primary.to_ascii_lowercase().as_str() {
            "ru" => Ok(Lang::Ru),
            "en" => Ok(Lang::En),
            _ => Err(()),
        }
    }
}

impl Lang {
    /// Picks the best supported language from an `Accept-Language` header (RFC 9110 §12.5.4):
    /// the highest `q` wins, ties keep header order, `q=0` means "not this one".
    #[must_use]
    pub fn negotiate(accept_language: Option<&str>, default: Lang) -> Lang {
        let Some(header) = accept_language else {
            return default;
        };
        let mut best: Option<(Lang, f32)> = None;
        for item in header.split(',') {
            let mut parts = item.split(';');
            let Ok(lang) = parts.next().unwrap_or_default().parse::<Lang>() else {
                continue;
            };
            let quality = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if quality > 0.0 && best.is_none_or(|(_, q)| quality > q) {
                best = Some((lang, quality));
            }
        }
        best.map_or(default, |(lang, _)| lang)
    }
}

tokio::task_local! {
    static REQUEST_LANG: Lang;
}

/// Runs `fut` with `lang` as the language of the request it serves.
pub async fn with_lang<F: Future>(lang: Lang, fut: F) -> F::Output {
    REQUEST_LANG.scope(lang, fut).await
}

/// The language of the request being served; Russian outside a request (the peer's default).
#[must_use]
pub fn current_lang() -> Lang {
    REQUEST_LANG.try_with(|lang| *lang).unwrap_or(Lang::Ru)
}

/// Every client-facing text. Add a variant, not a string, when a new message is needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    // Envelope messages, one per error code (docs/contract.md §7).
    ValidationFailed,
    NotAuthenticated,
    InvalidCredentials,
    /// A service client's HTTP Basic credentials are missing or wrong (RFC 6749 §5.2).
    InvalidClient,
    TokenInvalid,
    TokenExpired,
    TokenReused,
    MissingTenantKey,
    InvalidTenantKey,
    InactiveTenant,
    NotAMember,
    PermissionDenied,
    AccountElsewhere,
    PasswordChangeRequired,
    /// A second step (docs/contract.md §16): a sign-in's challenge, or a fresh code for step-up.
    TwoFactorRequired,
    /// An enrolment-only session (docs/contract.md §16: the store policy).
    TwoFactorEnrolmentRequired,
    /// Two-step sign-in is on already: turn it off before enrolling again.
    TwoFactorAlreadyOn,
    /// A code that is not the authenticator's current one (or was used already).
    WrongTwoFactorCode,
    /// No enrolment waits for a code: start one with `POST /auth/2fa/totp/`.
    NoTwoFactorEnrolment,
    /// Two-step sign-in is not on.
    TwoFactorNotOn,
    /// Turning two-step sign-in off needs the password or a recovery code.
    PasswordOrRecoveryCodeNeeded,
    NotFound,
    PageNotFound,
    MethodNotAllowed,
    UsernameTaken,
    NoAccount,
    AccountExists,
    SlugTaken,
    RoleTaken,
    RoleInUse,
    DeviceInvalid,
    InvalidPairingCode,
    InvalidSetupCode,
    InvalidPin,
    ApprovalInvalid,
    PayloadTooLarge,
    UnsupportedMediaType,
    TooManyAttempts,
    StoreLimitReached {
        max: u32,
    },
    InternalError,
    ServiceUnavailable,
    RequestTimeout,
    // Field-level messages.
    FieldRequired,
    FieldInvalid,
    BodyNotJson {
        line: usize,
        column: usize,
    },
    BodyNotObject,
    FieldBlank,
    FieldTooLong {
        max: usize,
    },
    ControlCharacters,
    FieldImmutable,
    FieldUnknown,
    PositiveIntegerExpected,
    BooleanExpected,
    DateExpected,
    RoleInvalid,
    RoleCodeInvalid,
    PinFormat {
        min: usize,
        max: usize,
    },
    PinTooSimple,
    PinTooCommon,
    RoleRankOutOfRange,
    PolicyRankOutOfRange,
    OwnTwoFactorFirst,
    PermissionInvalid,
    PermissionRepeated,
    TooManyPermissions {
        max: usize,
    },
    ChoiceInvalid {
        choices: &'static [&'static str],
    },
    UsernameInvalid,
    UsernameRequiredForRole,
    UsernameRequiredWithPassword,
    UsernameRequiredWithSetupCode,
    PasswordWithSetupCode,
    SexMale,
    SexFemale,
    UsernameReserved,
    EmailInvalid,
    PhoneInvalid,
    SlugInvalid,
    PasswordsDoNotMatch,
    PasswordTooShort {
        min: usize,
    },
    PasswordTooLong {
        max: usize,
    },
    PasswordTooCommon,
    PasswordTooSimilar,
    PasswordNeedsUppercase,
    PasswordNeedsLowercase,
    PasswordNeedsDigit,
    PasswordNeedsSymbol,
    // Success messages.
    RegistrationSucceeded,
    StoreCreated,
    StoreUpdated,
    PasswordChanged,
    LoggedOut,
    TwoFactorOff,
    EmployeeCreated,
    UserCreated,
    EmployeeLinked,
    AccountGiven,
    EmployeePasswordReset,
    WrongCurrentPassword,
    // The users API (`/users/`).
    UserProfileUpdated,
    UserEmployeeUpdated,
    UserPasswordChanged {
        username: String,
    },
    /// A PUT or PATCH of `/users/{id}/`: employees change through `update-employee`.
    UsersChangeThroughUpdateEmployee,
    /// The route to use instead, for the user id the request named.
    UsersTryUpdateEmployee {
        id: String,
    },
    /// A DELETE of `/users/{id}/`: employees are removed through the employee API.
    UsersRemoveThroughEmployees,
    StaffAccountNote,
    StaffCredentialsNote,
    StaffPasswordUnreadable,
    StaffPasswordRotated,
    StaffAccountSwitched,
}

impl Message {
    /// The text in `lang`.
    #[must_use]
    pub fn text(&self, lang: Lang) -> Cow<'static, str> {
        use Message as M;
        let (ru, en): (&'static str, &'static str) = match self {
            M::ValidationFailed => ("Проверьте введённые данные.", "Check the submitted data."),
            M::NotAuthenticated => {
                ("Учетные данные не были предоставлены.", "Authentication credentials were not provided.")
            }
            M::TokenInvalid => ("Токен недействителен.", "The token is invalid."),
            M::TokenExpired => ("Срок действия токена истёк.", "The token has expired."),
            M::TokenReused => (
                "Токен обновления уже использован; сеанс завершён.",
                "The refresh token was already used; the session has been revoked.",
            ),
            M::MissingTenantKey => (
                "Заголовок X-Tenant-Key обязателен для этого запроса",
                "The X-Tenant-Key header is required for this request",
            ),
            M::InvalidTenantKey => ("Неверный ключ магазина", "Invalid store key"),
            M::InactiveTenant => ("Магазин деактивирован", "The store is deactivated"),
            M::NotAMember => {
                ("Вы не имеете доступа к данному магазину.", "You do not have access to this store.")
            }
            M::PermissionDenied => (
                "У вас недостаточно прав для выполнения данного действия.",
                "You do not have permission to perform this action.",
            ),
            M::AccountElsewhere => (
                "Этот сотрудник работает и в другом магазине, где у вас нет старшинства: изменить его учётную запись может он сам или тот, кто старше его во всех его магазинах.",
                "This person also works in a store where you do not outrank them: they change their account themselves, or someone who outranks them in every store does.",
            ),
            M::PasswordChangeRequired => ("Необходимо сменить пароль.", "You must change your password."),
            M::TwoFactorRequired => (
                "Нужен код из приложения-аутентификатора.",
                "A code from your authenticator app is required.",
            ),
            M::TwoFactorEnrolmentRequired => (
                "Магазин требует двухэтапный вход: сначала подключите приложение-аутентификатор.",
                "The store requires two-step sign-in: set up an authenticator app first.",
            ),
            M::TwoFactorAlreadyOn => (
                "Двухэтапный вход уже включён: сначала выключите его.",
                "Two-step sign-in is already on: turn it off first.",
            ),
            M::WrongTwoFactorCode => {
                ("Неверный или уже использованный код.", "The code is wrong or was used already.")
            }
            M::NoTwoFactorEnrolment => (
                "Нет начатого подключения аутентификатора: начните его заново.",
                "No authenticator set-up is waiting for a code: start one first.",
            ),
            M::TwoFactorNotOn => ("Двухэтапный вход не включён.", "Two-step sign-in is not on."),
            M::PasswordOrRecoveryCodeNeeded => {
                ("Укажите пароль или резервный код.", "Give your password or a recovery code.")
            }
            M::NotFound => ("Не найдено.", "Not found."),
            M::PageNotFound => ("Неправильная страница", "Invalid page."),
            M::MethodNotAllowed => {
                ("Метод не разрешён для этого адреса.", "The method is not allowed for this path.")
            }
            M::UsernameTaken => {
                ("Пользователь с таким логином уже существует", "A user with that username already exists")
            }
            M::SlugTaken => {
                ("Магазин с таким идентификатором уже существует", "A store with that slug already exists")
            }
            M::DeviceInvalid => (
                "Устройство не сопряжено с магазином или отключено.",
                "This device is not paired with the store, or was revoked.",
            ),
            M::InvalidPin => ("Неверный PIN-код.", "The PIN is wrong."),
            M::ApprovalInvalid => (
                "Подтверждение недействительно: использовано, истекло или выдано на другое действие.",
                "The approval is not valid: used, expired, or for another action.",
            ),
            M::InvalidPairingCode => (
                "Код сопряжения неверен, уже использован или истёк.",
                "The pairing code is wrong, used or expired.",
            ),
            M::InvalidSetupCode => (
                "Код настройки неверен, уже использован, заменён новым или истёк.",
                "The set-up code is wrong, used, replaced or expired.",
            ),
            M::RoleTaken => {
                ("Роль с таким кодом уже есть в магазине.", "The store already has a role with that code.")
            }
            M::RoleInUse => (
                "Роль назначена сотрудникам: сначала назначьте им другую роль.",
                "Employees hold this role: give them another role first.",
            ),
            M::PayloadTooLarge => (
                "Тело запроса слишком большое (не более 64 КиБ).",
                "The request body is too large (64 KiB at most).",
            ),
            M::UnsupportedMediaType => (
                "Ожидается тело запроса с Content-Type: application/json.",
                "Expected a request body with Content-Type: application/json.",
            ),
            M::TooManyAttempts => {
                ("Слишком много попыток. Повторите позже.", "Too many attempts. Try again later.")
            }
            M::InternalError => ("Внутренняя ошибка сервера", "Internal server error"),
            M::ServiceUnavailable => (
                "Сервис временно недоступен. Повторите позже.",
                "The service is temporarily unavailable. Try again later.",
            ),
            M::RequestTimeout => (
                "Запрос выполнялся слишком долго. Повторите позже.",
                "The request took too long. Try again later.",
            ),
            M::FieldRequired => ("Обязательное поле.", "This field is required."),
            M::FieldInvalid => ("Некорректное значение.", "Invalid value."),
            M::StoreLimitReached { max } => {
                return Cow::Owned(match lang {
                    Lang::Ru => format!("Один аккаунт может владеть не более чем {max} магазинами."),
                    Lang::En => format!("An account may own at most {max} stores."),
                });
            }
            M::FieldTooLong { max } => {
                return Cow::Owned(match lang {
                    Lang::Ru => format!("Убедитесь, что это значение содержит не более {max} символов."),
                    Lang::En => format!("Ensure this field has no more than {max} characters."),
                });
            }
            M::PasswordTooShort { min } => {
                return Cow::Owned(match lang {
                    Lang::Ru => format!(
                        "Введённый пароль слишком короткий. Он должен содержать как минимум {min} символов."
                    ),
                    Lang::En => {
                        format!("This password is too short. It must contain at least {min} characters.")
                    }
                });
            }
            M::PasswordTooLong { max } => {
                return Cow::Owned(match lang {
                    Lang::Ru => format!("Пароль слишком длинный: не более {max} символов."),
                    Lang::En => format!("This password is too long: at most {max} characters."),
                });
            }
            M::BodyNotJson { line, column } => {
                return Cow::Owned(match lang {
                    Lang::Ru => {
                        format!("Тело запроса не является корректным JSON (строка {line}, столбец {column}).")
                    }
                    Lang::En => {
                        format!("The request body is not valid JSON (line {line}, column {column}).")
                    }
                });
            }
            M::BodyNotObject => {
                ("Тело запроса должно быть JSON-объектом.", "The request body must be a JSON object.")
            }
            M::FieldBlank => ("Это поле не может быть пустым.", "This field may not be blank."),
            M::ControlCharacters => (
                "Поле не может содержать управляющие символы, переводы строки или знаки направления текста.",
                "This field may not contain control characters, line breaks or text direction marks.",
            ),
            M::FieldImmutable => ("Это поле нельзя изменить.", "This field cannot be changed."),
            M::FieldUnknown => ("Такого поля нет.", "There is no such field."),
            M::PositiveIntegerExpected => {
                ("Введите целое положительное число.", "Enter a positive whole number.")
            }
            M::BooleanExpected => ("Ожидается true или false.", "Expected true or false."),
            M::DateExpected => (
                "Введите дату в формате ГГГГ-ММ-ДД или дату и время по RFC 3339.",
                "Enter a date as YYYY-MM-DD or a date and time as RFC 3339.",
            ),
            M::RoleInvalid => (
                "Неизвестная роль: укажите код одной из ролей магазина (GET /api/users/store-roles/).",
                "Unknown role: give the code of one of the store's roles (GET /api/users/store-roles/).",
            ),
            M::RoleCodeInvalid => (
                "Код роли: от 2 до 32 символов, строчные латинские буквы, цифры и _, первой буквой.",
                "A role code is 2 to 32 characters: lowercase Latin letters, digits and _, starting with a letter.",
            ),
            M::PinFormat { min, max } => {
                return Cow::Owned(match lang {
                    Lang::Ru => format!("PIN-код — от {min} до {max} цифр."),
                    Lang::En => format!("A PIN is {min} to {max} digits."),
                });
            }
            M::PinTooSimple => (
                "PIN-код слишком простой: одна цифра подряд или цифры по порядку.",
                "This PIN is too simple: one digit repeated, or digits in a row.",
            ),
            M::PinTooCommon => (
                "Этот PIN-код слишком распространён: выберите другой.",
                "This PIN is one of the most common: choose another.",
            ),
            M::RoleRankOutOfRange => (
                "Ранг своей роли — целое число от 1 до 99.",
                "A custom role's rank is a whole number from 1 to 99.",
            ),
            M::PolicyRankOutOfRange => (
                "Ранг, с которого нужен двухэтапный вход, — целое число от 1 до 100, или null, чтобы не требовать.",
                "The rank from which two-step sign-in is required is a whole number from 1 to 100, or null for none.",
            ),
            M::OwnTwoFactorFirst => (
                "Сначала включите двухэтапный вход для себя: правило касается и владельца.",
                "Turn two-step sign-in on for yourself first: the rule applies to the owner too.",
            ),
            M::PermissionInvalid => (
                "Разрешение: от 2 до 64 символов, строчные латинские буквы, цифры и _, первой буквой.",
                "A permission is 2 to 64 characters: lowercase Latin letters, digits and _, starting with a letter.",
            ),
            M::PermissionRepeated => {
                ("Разрешения не должны повторяться.", "Each permission may appear only once.")
            }
            M::TooManyPermissions { max } => {
                return Cow::Owned(match lang {
                    Lang::Ru => format!("Не более {max} разрешений у роли."),
                    Lang::En => format!("A role has at most {max} permissions."),
                });
            }
            M::ChoiceInvalid { choices } => {
                let list = choices.join(", ");
                return Cow::Owned(match lang {
                    Lang::Ru => format!("Недопустимое значение. Допустимы: {list}."),
                    Lang::En => format!("Not an allowed value. Expected one of: {list}."),
                });
            }
            M::UsernameInvalid => (
                "Введите правильное имя пользователя. Оно может содержать только буквы, цифры и знаки @/./+/-/_.",
                "Enter a valid username. It may contain only letters, numbers, and @/./+/-/_ characters.",
            ),
            M::UsernameReserved => (
                "Имена пользователей, оканчивающиеся на «_staff», зарезервированы для общих аккаунтов магазинов.",
                "Usernames ending in “_staff” are reserved for stores' shared staff accounts.",
            ),
            M::EmailInvalid => {
                ("Введите правильный адрес электронной почты.", "Enter a valid email address.")
            }
            M::PhoneInvalid => (
                "Введите номер телефона в международном формате, например +998901234567.",
                "Enter a phone number in international format, e.g. +998901234567.",
            ),
            M::SlugInvalid => (
                "Идентификатор должен начинаться с латинской буквы и содержать только строчные латинские буквы, цифры, «-» и «_» (не более 56 символов).",
                "The slug must start with a Latin letter and contain only lowercase Latin letters, digits, '-' and '_' (56 characters at most).",
            ),
            M::PasswordsDoNotMatch => ("Пароли не совпадают", "The passwords do not match"),
            M::PasswordTooCommon => {
                ("Введённый пароль слишком широко распространён.", "This password is too common.")
            }
            M::PasswordTooSimilar => (
                "Введённый пароль слишком похож на имя пользователя.",
                "The password is too similar to the username.",
            ),
            M::PasswordNeedsUppercase => (
                "Пароль должен содержать хотя бы одну заглавную букву.",
                "The password must contain at least one uppercase letter.",
            ),
            M::PasswordNeedsLowercase => (
                "Пароль должен содержать хотя бы одну строчную букву.",
                "The password must contain at least one lowercase letter.",
            ),
            M::PasswordNeedsDigit => (
                "Пароль должен содержать хотя бы одну цифру.",
                "The password must contain at least one digit.",
            ),
            M::PasswordNeedsSymbol => (
                "Пароль должен содержать хотя бы один символ, не являющийся буквой или цифрой.",
                "The password must contain at least one character that is not a letter or digit.",
            ),
            M::RegistrationSucceeded => ("Регистрация успешна", "Registration successful"),
            M::StoreCreated => ("Магазин успешно создан", "Store created"),
            M::StoreUpdated => ("Магазин обновлён", "Store updated"),
            M::PasswordChanged => ("Пароль успешно изменен", "Password changed"),
            M::LoggedOut => ("Вы вышли из системы", "Signed out"),
            M::TwoFactorOff => ("Двухэтапный вход выключен", "Two-step sign-in is off"),
            M::EmployeeCreated => ("Сотрудник успешно создан", "Employee created"),
            M::UserCreated => ("Сотрудник создан", "Employee created"),
            M::EmployeeLinked => ("Сотрудник добавлен в магазин", "The employee was added to the store"),
            M::AccountGiven => ("Учётная запись сотрудника создана", "The employee's account was created"),
            M::AccountExists => {
                ("У этого сотрудника уже есть учётная запись", "This employee already has an account")
            }
            M::NoAccount => (
                "У этого сотрудника нет учётной записи: сначала создайте её",
                "This employee has no account: give them one first",
            ),
            M::UsernameRequiredForRole => (
                "Для этой роли требуется username",
                "This role needs a username: only cashiers may be added without an account",
            ),
            M::UsernameRequiredWithPassword => {
                ("Если указан password, необходимо указать username", "A password needs a username")
            }
            M::UsernameRequiredWithSetupCode => (
                "Для кода настройки нужен username: код задаёт пароль учётной записи",
                "A set-up code needs a username: it sets the password of an account",
            ),
            M::PasswordWithSetupCode => (
                "С кодом настройки пароль не указывают: сотрудник выберет его сам",
                "No password with a set-up code: the employee chooses their own",
            ),
            M::SexMale => ("Мужской", "Male"),
            M::SexFemale => ("Женский", "Female"),
            M::EmployeePasswordReset => {
                ("Пароль сотрудника успешно сброшен", "The employee's password was reset")
            }
            M::WrongCurrentPassword => ("Неверный текущий пароль", "The current password is wrong"),
            M::UserProfileUpdated => ("Профиль пользователя обновлен", "User profile updated"),
            M::UserEmployeeUpdated => ("Информация о сотруднике обновлена", "Employee information updated"),
            M::UserPasswordChanged { username } => {
                return Cow::Owned(match lang {
                    Lang::Ru => format!("Пароль для пользователя {username} успешно изменен"),
                    Lang::En => format!("The password of user {username} was changed"),
                });
            }
            M::UsersChangeThroughUpdateEmployee => (
                "Для обновления сотрудника используйте PATCH /api/users/users/{id}/update-employee/",
                "To update an employee, use PATCH /api/users/users/{id}/update-employee/",
            ),
            M::UsersTryUpdateEmployee { id } => {
                return Cow::Owned(match lang {
                    Lang::Ru => format!("Попробуйте: PATCH /api/users/users/{id}/update-employee/"),
                    Lang::En => format!("Try: PATCH /api/users/users/{id}/update-employee/"),
                });
            }
            M::UsersRemoveThroughEmployees => (
                "Используйте /api/users/employees/{id}/ для удаления сотрудника",
                "Use /api/users/employees/{id}/ to remove an employee",
            ),
            M::StaffAccountNote => {
                ("Общий аккаунт для всех сотрудников магазина", "The shared account of the store's staff")
            }
            M::StaffCredentialsNote => (
                "Общий аккаунт для всех сотрудников магазина. Используйте его для входа кассиров.",
                "The shared account of the store's staff. Cashiers sign in with it.",
            ),
            M::StaffPasswordUnreadable => (
                "Пароль нельзя прочитать: ключ шифрования (SECRET_KEY) сменился. Задайте новый пароль.",
                "The password cannot be read: the encryption key (SECRET_KEY) changed. Rotate it.",
            ),
            M::StaffPasswordRotated => (
                "Новый пароль общего аккаунта; прежние сеансы завершены",
                "The shared account has a new password; its sessions have ended",
            ),
            M::StaffAccountSwitched => ("Общий аккаунт обновлён", "The shared account was updated"),
            M::InvalidClient => (
                "Клиент не прошёл проверку: нужны client_id и client_secret в HTTP Basic.",
                "Client authentication failed: send client_id and client_secret with HTTP Basic.",
            ),
            M::InvalidCredentials => (
                "Неверное имя пользователя или пароль.",
                "No active account found with the given credentials",
            ),
        };
        Cow::Borrowed(match lang {
            Lang::Ru => ru,
            Lang::En => en,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_prefers_the_highest_quality_supported_language() {
        assert_eq!(Lang::negotiate(Some("en-US,en;q=0.9"), Lang::Ru), Lang::En);
        assert_eq!(Lang::negotiate(Some("de, en;q=0.5, ru;q=0.8"), Lang::En), Lang::Ru);
        assert_eq!(Lang::negotiate(Some("ru;q=0, en;q=0.1"), Lang::Ru), Lang::En);
        assert_eq!(Lang::negotiate(Some("fr, de"), Lang::En), Lang::En);
        assert_eq!(Lang::negotiate(None, Lang::Ru), Lang::Ru);
        assert_eq!(Lang::negotiate(Some(";;;,,q=x"), Lang::Ru), Lang::Ru);
    }

    #[tokio::test]
    async fn the_request_language_is_visible_inside_the_scope_only() {
        assert_eq!(current_lang(), Lang::Ru);
        assert_eq!(with_lang(Lang::En, async { current_lang() }).await, Lang::En);
    }
}
