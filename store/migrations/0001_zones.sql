-- Zones: rectangles of chunk columns, each owned by one backend under an epoch.
-- A NULL side is unbounded; min is inclusive, max exclusive (as in zoning::ChunkRect).
CREATE TABLE zones (
    id          text        PRIMARY KEY CHECK (id <> ''),
    owner       text        NOT NULL CHECK (owner <> ''),
    -- Fencing token: only ever incremented, so a backend told "epoch N" can refuse
    -- anything from an older grant.
    epoch       bigint      NOT NULL CHECK (epoch >= 1),
    dimension   text        NOT NULL CHECK (dimension <> ''),
    min_chunk_x int         NULL,
    max_chunk_x int         NULL,
    min_chunk_z int         NULL,
    max_chunk_z int         NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT zones_x_not_empty CHECK (min_chunk_x IS NULL OR max_chunk_x IS NULL OR min_chunk_x < max_chunk_x),
    CONSTRAINT zones_z_not_empty CHECK (min_chunk_z IS NULL OR max_chunk_z IS NULL OR min_chunk_z < max_chunk_z)
);
