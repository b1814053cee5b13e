-- Registrations per client address in a fixed one-hour window. Each registration provisions
-- a schema, so the public endpoint is bounded: a row is claimed with an atomic upsert before
-- anything else is done for the request (parallel registrations cannot exceed the limit),
-- and every instance shares it. Additive: the previous release never reads it.
create table registration_throttle (
    client_ip text not null,
    window_started_at timestamptz not null,
    attempts integer not null,
    constraint registration_throttle_pkey primary key (client_ip)
);
