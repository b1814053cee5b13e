-- A refresh looks its session up by the presented token in either of two columns: the
-- current token, or the one just rotated out (grace period for a retried request). Without
-- an index on the second, the OR made every refresh scan all sessions (74 refreshes/s at
-- 80,000 sessions in the load benchmark); with it, PostgreSQL combines both indexes.
create index sessions_previous_refresh_token_hash_idx on sessions (previous_refresh_token_hash)
    where previous_refresh_token_hash is not null;
