-- The audit trail is read filtered by who acted and by which employee it concerns
-- (GET /api/users/audit-events/?actor=…&employee=…), newest first.
-- Indexes only: code of the previous release runs unchanged against this version.

create index audit_events_actor_idx on audit_events (actor_user_id, created_at desc);
create index audit_events_employee_idx on audit_events (target_employee_id, created_at desc);
