-- Set-up codes (docs/contract.md §16): a new employee, or one who lost their password, chooses
-- it on their own phone with a code their manager hands over, so nobody else ever knows it.
-- In `public`, like pairing codes: the code is sent with no store key and names the account
-- whose password it sets, and accounts live here.

-- One live code per account: issuing a new one deletes the old. 8 symbols of Crockford's
-- base 32 (40 bits), single use, 72 hours; only its SHA-256 is kept, the code is shown once
-- to the manager who asked. `employee_id` is the employee's id in the store's own schema
-- (no foreign key into a store's schema), for the audit event when it is used.
create table setup_codes (
    code_hash bytea primary key,
    user_id bigint not null references users (id),
    store_id bigint not null references stores (id),
    employee_id bigint not null,
    created_by bigint not null references users (id),
    expires_at timestamptz not null,
    used_at timestamptz,
    created_at timestamptz not null default now()
);

create index setup_codes_user_id_idx on setup_codes (user_id);
create index setup_codes_expires_at_idx on setup_codes (expires_at);

-- Failed set-up codes per client address, in fixed one-minute windows, claimed before the
-- code is checked (like pairing), shared by every instance.
create table setup_throttle (
    client_ip text primary key,
    window_started_at timestamptz not null,
    failures integer not null
);
