-- PIN sign-in and approvals on the store's tills (docs/contract.md §11). Additive: the previous release
-- never reads them.

-- Wrong PINs for one employee, in a 24-hour window from the first: the tenth clears the PIN.
-- Kept on the PIN's own row, so a cleared or replaced PIN starts again from nothing.
alter table employee_pins
    add column failures integer not null default 0,
    add column failures_since timestamptz;

-- A manager's approval of one action on a till: valid 60 seconds, redeemed once. Only the
-- token's SHA-256 is kept. Employees are named by id without a foreign key, like the audit
-- trail: the record stays when someone leaves.
create table approvals (
    id bigint generated always as identity primary key,
    token_hash bytea not null,
    permission text not null,
    subject text,
    reason text,
    requester_employee_id bigint not null,
    approver_employee_id bigint not null,
    -- public.devices.id of the till it was granted on.
    device_id bigint not null,
    created_at timestamptz not null default now(),
    expires_at timestamptz not null,
    redeemed_at timestamptz,
    -- public.users.id of whoever redeemed it.
    redeemed_by bigint,
    constraint approvals_token_hash_key unique (token_hash)
);
