-- PINs for the store's shared tills (docs/contract.md §11): one per member of staff, per store (a
-- person who works in two stores has a PIN in each, or none). argon2id, like passwords;
-- never the PIN itself. Additive: the previous release never reads it.
create table employee_pins (
    employee_id bigint primary key references employees (id),
    pin_hash text not null,
    set_at timestamptz not null default now()
);
