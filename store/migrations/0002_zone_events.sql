-- Audit trail of ownership: one row per grant (seed or move), written in the same
-- transaction as the change it records.
CREATE TABLE zone_events (
    id        bigserial   PRIMARY KEY,
    zone_id   text        NOT NULL REFERENCES zones (id) ON DELETE CASCADE,
    -- NULL when the zone was created (seeded).
    old_owner text        NULL,
    new_owner text        NOT NULL,
    epoch     bigint      NOT NULL,
    at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX zone_events_by_zone ON zone_events (zone_id, epoch);
