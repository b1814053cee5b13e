-- Employees without an account, and the employee's `sex`. Additive for the previous release:
-- its reads join employees to accounts and memberships, so a row without an account is
-- invisible to it, and it never reads `sex` or `removed_at`.

-- A cashier who never signs in (the till signs in as the store's shared account, or a
-- manager's session, and names the cashier by employee id) has a profile and no account.
alter table employees alter column user_id drop not null;

-- An employee with an account is on the staff while their membership exists; one without an
-- account has no membership, so their removal is recorded on the row itself.
alter table employees add column removed_at timestamptz;

alter table employees add column sex text;
alter table employees add constraint employees_sex_check check (sex in ('male', 'female'));

-- Without an account, the profile's name is all that tells the cashier apart.
alter table employees add constraint employees_named_without_account
    check (user_id is not null or first_name <> '');

-- The till's cashier picker reads these, newest first.
create index employees_without_account_idx on employees (created_at desc, id desc)
    where user_id is null and removed_at is null;
