-- +goose Up
-- A job has an owner (the runner working it, a random id per runner) and
-- a lease: another runner may take the job over only once lease_until has
-- passed (or the owner is known to be gone). Every write transaction of
-- the owner checks that it still owns the job and renews the lease, so a
-- job is never worked by two runners at once. '' is no owner, no lease.
ALTER TABLE jobs ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN lease_until TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE jobs DROP COLUMN lease_until;
ALTER TABLE jobs DROP COLUMN owner;
