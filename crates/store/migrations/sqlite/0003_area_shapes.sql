-- Grid layers: the polygon of each area (street, community, grid cell), WGS84, as a GeoJSON geometry.
-- Kept apart from `areas` because reference data is replaced wholesale while layers are imported
-- level by level; an area may have no shape (a retired cell that old cases still name).
CREATE TABLE area_shapes (
    code        TEXT PRIMARY KEY,
    level       TEXT NOT NULL CHECK (level IN ('district', 'street', 'community', 'cell')),
    geometry    TEXT NOT NULL,
    -- 1 when the outline is known to be approximate (e.g. Dongli's streets: no public polygons).
    approximate INTEGER NOT NULL DEFAULT 0,
    imported_at TEXT NOT NULL
) STRICT;

CREATE INDEX area_shapes_level ON area_shapes (level);
