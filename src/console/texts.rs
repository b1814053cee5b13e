//! The console's words in Russian and English: one struct, so a template that names a text
//! missing in one language does not compile.

use crate::i18n::Lang;

/// Every text the console's templates show.
#[derive(Debug)]
pub struct Texts {
    pub lang: &'static str,
    pub other_lang: &'static str,
    pub other_lang_name: &'static str,
    pub title: &'static str,
    pub sign_in: &'static str,
    pub username: &'static str,
    pub password: &'static str,
    pub sign_out: &'static str,
    pub signed_in_as: &'static str,
    pub stores: &'static str,
    pub pick_store: &'static str,
    pub no_stores: &'static str,
    pub staff: &'static str,
    pub search: &'static str,
    pub role: &'static str,
    pub any_role: &'static str,
    pub status: &'static str,
    pub any_status: &'static str,
    pub active: &'static str,
    pub inactive: &'static str,
    pub filter: &'static str,
    pub name: &'static str,
    pub phone: &'static str,
    pub position: &'static str,
    pub nobody: &'static str,
    pub previous: &'static str,
    pub next: &'static str,
    pub found: &'static str,
    pub form_expired: &'static str,
    pub back: &'static str,
}

const RU: Texts = Texts {
    lang: "ru",
    other_lang: "en",
    other_lang_name: "English",
    title: "Консоль магазина",
    sign_in: "Войти",
    username: "Логин",
    password: "Пароль",
    sign_out: "Выйти",
    signed_in_as: "Вы вошли как",
    stores: "Магазины",
    pick_store: "Выберите магазин",
    no_stores: "Консоль — для владельцев и менеджеров магазинов. В ваших магазинах у вас нет такой роли.",
    staff: "Сотрудники",
    search: "Поиск",
    role: "Роль",
    any_role: "Любая роль",
    status: "Статус",
    any_status: "Любой статус",
    active: "Работает",
    inactive: "Отключён",
    filter: "Показать",
    name: "Имя",
    phone: "Телефон",
    position: "Должность",
    nobody: "Никого не нашлось.",
    previous: "← Назад",
    next: "Дальше →",
    found: "Найдено",
    form_expired: "Форма устарела: откройте страницу заново и повторите.",
    back: "Назад",
};

const EN: Texts = Texts {
    lang: "en",
    other_lang: "ru",
    other_lang_name: "Русский",
    title: "Store console",
    sign_in: "Sign in",
    username: "Username",
    password: "Password",
    sign_out: "Sign out",
    signed_in_as: "Signed in as",
    stores: "Stores",
    pick_store: "Pick a store",
    no_stores: "The console is for store owners and managers. You have no such role in your stores.",
    staff: "Staff",
    search: "Search",
    role: "Role",
    any_role: "Any role",
    status: "Status",
    any_status: "Any status",
    active: "Active",
    inactive: "Deactivated",
    filter: "Show",
    name: "Name",
    phone: "Phone",
    position: "Position",
    nobody: "Nobody found.",
    previous: "← Previous",
    next: "Next →",
    found: "Found",
    form_expired: "This form has expired: open the page again and retry.",
    back: "Back",
};

/// The texts of `lang`.
#[must_use]
pub fn texts(lang: Lang) -> &'static Texts {
    match lang {
        Lang::Ru => &RU,
        Lang::En => &EN,
    }
}
