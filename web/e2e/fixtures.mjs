// What several browser tests share besides the harness: viewports, test photos, reading the API as an
// account, and points inside the demo's grid cells.
import assert from 'node:assert/strict';
import { crc32, deflateSync } from 'node:zlib';
import { PASSWORD } from './harness.mjs';

export const PHONE = { width: 390, height: 844, mobile: true };
export const DESKTOP = { width: 1440, height: 900 };
/** The community of the demo's `gridworker`, inside the `dispatcher`'s street. */
export const COMMUNITY = '120110001001';

/**
 * A small PNG of one colour with a light diagonal stripe. Photos are stored by content hash, so
 * different sizes or colours give different photos. Made here so that nothing comes from outside.
 */
export function png(width = 48, height = 36, [r, g, b] = [196, 80, 40]) {
  const chunk = (type, data) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // truecolour
  const rows = [];
  for (let y = 0; y < height; y += 1) {
    const row = [0];
    for (let x = 0; x < width; x += 1) {
      const stripe = Math.abs(x - y) < 4;
      row.push(stripe ? 250 : r, stripe ? 240 : g, stripe ? 200 : b);
    }
    rows.push(Buffer.from(row));
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A bearer token for a demo account. */
export async function login(base, person) {
  const response = await fetch(`${base}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ person, password: PASSWORD }),
  });
  assert.equal(response.status, 200, `${person} signs in`);
  return (await response.json()).token;
}

/** An API call as `token`: JSON `body` or a FormData `form`; throws with the problem on failure. */
export async function call(base, token, path, { method = 'GET', body, form } = {}) {
  const headers = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${base}${path}`, { method, headers, body: form ?? (body === undefined ? undefined : JSON.stringify(body)) });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

function ringContains(ring, [x, y]) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i, i += 1) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** A point well inside a cell: the middle of the widest inside run across the cell's middle rows. */
export function pointInside(feature) {
  const polygons = feature.geometry.type === 'Polygon' ? [feature.geometry.coordinates] : feature.geometry.coordinates;
  const ring = polygons[0][0];
  const xs = ring.map((p) => p[0]);
  const ys = ring.map((p) => p[1]);
  const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  for (const fy of [0.5, 0.4, 0.6, 0.3, 0.7]) {
    const y = minY + (maxY - minY) * fy;
    const run = [];
    for (let i = 1; i < 60; i += 1) {
      const x = minX + ((maxX - minX) * i) / 60;
      if (ringContains(ring, [x, y])) run.push(x);
      else if (run.length) break;
    }
    if (run.length > 4) return { lon: run[Math.floor(run.length / 2)], lat: y };
  }
  assert.fail(`no point inside cell ${feature.properties.code}`);
}

/** The demo's cells under an area code, as GeoJSON features. */
export async function cellsOf(base, area) {
  const layer = await (await fetch(`${base}/api/grid/cell`)).json();
  return layer.features.filter((f) => f.properties.code.startsWith(area));
}
