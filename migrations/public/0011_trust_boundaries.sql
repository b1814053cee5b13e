-- What each credential reaches. Additive: the previous release never reads the new column.

-- The till lock counts every wrong PIN typed on a till within a window that starts with the
-- first of them: a right PIN gives back only its own attempt, so one member's right PINs
-- cannot clear the wrong ones typed against a colleague's. Null: no window open.
alter table devices add column pin_failures_since timestamptz;
