#!/usr/bin/env python3
"""Writes the seed inputs of the fuzz targets into seeds/ (run from crates/geo/fuzz).

geojson seeds: one byte choosing the coordinate system (0 WGS84, 1 GCJ-02, 2 BD-09), then GeoJSON text.
shapefile seeds: the layout documented in fuzz_targets/shapefile.rs, built from a hand-written minimal
polygon shapefile (one feature with a hole, GBK names) so that the fuzzer starts from valid files.
"""
import json
import pathlib
import struct

SEEDS = pathlib.Path(__file__).parent / "seeds"

SQUARE = [[117.20, 39.05], [117.21, 39.05], [117.21, 39.06], [117.20, 39.06], [117.20, 39.05]]
HOLE = [[117.202, 39.052], [117.202, 39.054], [117.204, 39.054], [117.204, 39.052], [117.202, 39.052]]


def feature(props, geometry):
    return {"type": "Feature", "properties": props, "geometry": geometry}


def geojson_seeds():
    yield 0, {"type": "FeatureCollection", "features": [
        feature({"code": "120110001001001", "name": "第一网格", "parent": "120110001001"},
                {"type": "Polygon", "coordinates": [SQUARE, HOLE]}),
        feature({"adcode": 120110, "name": "东丽区"},
                {"type": "MultiPolygon", "coordinates": [[SQUARE]]}),
    ]}
    yield 1, [feature({"WGBM": 120110001001002.0, "WGMC": "乙"},
                      {"type": "Polygon", "coordinates": [SQUARE[:-1]]})]
    yield 2, {"type": "Polygon", "coordinates": [[[y, x] for x, y in SQUARE]]}
    yield 0, {"type": "FeatureCollection", "features": [
        feature({"code": "1"}, {"type": "Point", "coordinates": [117.2, 39.1]}),
        feature({"code": "2"}, {"type": "Polygon", "coordinates": [[SQUARE[0], SQUARE[1], SQUARE[0]], []]}),
        feature({"code": "3"}, None),
    ]}


def shp(rings):
    """A .shp and .shx with one Polygon record (shape type 5)."""
    points = [p for ring in rings for p in ring]
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    bbox = struct.pack("<4d", min(xs), min(ys), max(xs), max(ys))
    parts, start = [], 0
    for ring in rings:
        parts.append(start)
        start += len(ring)
    content = struct.pack("<i", 5) + bbox + struct.pack("<2i", len(rings), len(points))
    content += struct.pack(f"<{len(parts)}i", *parts)
    content += b"".join(struct.pack("<2d", x, y) for x, y in points)
    record = struct.pack(">2i", 1, len(content) // 2) + content

    def header(length_bytes):
        return (struct.pack(">7i", 9994, 0, 0, 0, 0, 0, length_bytes // 2)
                + struct.pack("<2i", 1000, 5) + bbox + struct.pack("<4d", 0, 0, 0, 0))

    shp_bytes = header(100 + len(record)) + record
    shx_bytes = header(108) + struct.pack(">2i", 50, len(content) // 2)
    return shp_bytes, shx_bytes


def dbf(fields, rows, ldid):
    """A dBase III table: fields are (name, type, length, decimals); rows are lists of encoded bytes."""
    record_len = 1 + sum(f[2] for f in fields)
    header_len = 32 + 32 * len(fields) + 1
    out = struct.pack("<B3BIHH", 3, 124, 1, 1, len(rows), header_len, record_len)
    out += bytes(17) + bytes([ldid]) + bytes(2)
    for name, kind, length, decimals in fields:
        out += name.encode().ljust(11, b"\0") + kind.encode() + bytes(4) + bytes([length, decimals]) + bytes(14)
    out += b"\r"
    for row in rows:
        out += b" " + b"".join(value.ljust(f[2], b" ")[: f[2]] for value, f in zip(row, fields))
    return out + b"\x1a"


def shapefile_seed(flags, shp_bytes, shx_bytes, dbf_bytes):
    return struct.pack("<BHH", flags, len(shp_bytes), len(shx_bytes)) + shp_bytes + shx_bytes + dbf_bytes


def main():
    (SEEDS / "geojson").mkdir(parents=True, exist_ok=True)
    (SEEDS / "shapefile").mkdir(parents=True, exist_ok=True)
    for i, (crs, doc) in enumerate(geojson_seeds()):
        text = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
        (SEEDS / "geojson" / f"seed-{i}").write_bytes(bytes([crs]) + text)

    # Shapefile outer rings are clockwise, holes counter-clockwise.
    outer = list(reversed(SQUARE))
    shp_bytes, shx_bytes = shp([outer, list(reversed(HOLE))])
    fields = [("WGBM", "C", 15, 0), ("WGMC", "C", 20, 0)]
    gbk_rows = [[b"120110001001001", "张贵庄第一网格".encode("gbk")]]
    numeric = dbf([("WGBM", "N", 18, 0), ("WGMC", "C", 20, 0)], [[b"120110001001001", b"one"]], 0x00)
    seeds = [
        shapefile_seed(1, shp_bytes, shx_bytes, dbf(fields, gbk_rows, 0x00)),  # .cpg GBK
        shapefile_seed(4, shp_bytes, shx_bytes, dbf(fields, gbk_rows, 0x4D)),  # LDID GBK, with .shx
        shapefile_seed(0, shp_bytes, b"", numeric),
    ]
    for i, seed in enumerate(seeds):
        (SEEDS / "shapefile" / f"seed-{i}").write_bytes(seed)


if __name__ == "__main__":
    main()
