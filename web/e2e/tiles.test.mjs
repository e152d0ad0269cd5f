// A base map from a configured XYZ tile URL: a tiny tile server on loopback serves one generated PNG
// for every /{z}/{x}/{y}.png and counts the requests; onegrid runs with --tile-url and
// --tile-attribution. The command center and the desk's map inset draw the tiles under the grid and
// name the source; without the setting nothing asks for tiles (the other test files).
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';
import { COMMUNITY, call, cellsOf, login, png, pointInside } from './fixtures.mjs';
import { newPage, shot, signIn, startBrowser, startServer } from './harness.mjs';

const ATTRIBUTION = '测试底图';

/** Serves one 256×256 PNG for any /{z}/{x}/{y}.png on a free loopback port; counts what it served. */
async function startTileServer() {
  const tile = png(256, 256, [214, 226, 205]);
  const served = [];
  const refused = [];
  const server = createServer((request, response) => {
    const found = request.url.match(/^\/(\d+)\/(\d+)\/(\d+)\.png$/);
    if (!found) {
      refused.push(request.url);
      response.writeHead(404).end();
      return;
    }
    const [z, x, y] = found.slice(1).map(Number);
    served.push({ z, x, y });
    response.writeHead(200, { 'content-type': 'image/png', 'content-length': tile.length, 'cache-control': 'no-store' });
    response.end(tile);
  });
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/{z}/{x}/{y}.png`,
    served,
    refused,
    stop: () => new Promise((done) => server.close(done)),
  };
}

/** The XYZ tile holding a point at zoom z (Web Mercator, as Leaflet asks for them). */
function tileOf(lon, lat, z) {
  const n = 2 ** z;
  const rad = (lat * Math.PI) / 180;
  return {
    x: Math.floor(((lon + 180) / 360) * n),
    y: Math.floor(((1 - Math.log(Math.tan(rad) + 1 / Math.cos(rad)) / Math.PI) / 2) * n),
  };
}

let tiles;
let server;
let browser;
before(async () => {
  tiles = await startTileServer();
  server = await startServer(['--tile-url', tiles.url, '--tile-attribution', ATTRIBUTION]);
  browser = await startBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
  await tiles?.stop();
});

test('the command center draws the tiles under the grid and names their source', async () => {
  // The pages are told the URL and its attribution.
  const config = await (await fetch(`${server.base}/ui/config.json`)).json();
  assert.equal(config.tile_url, tiles.url);
  assert.equal(config.tile_attribution, ATTRIBUTION);

  const page = await newPage(browser);
  await signIn(page, server.base, 'commander');
  await page.waitForSelector('#summary[data-shown]');
  await page.waitForFunction(() => document.querySelectorAll('.leaflet-gridStreets-pane path').length > 0);
  await page.waitForFunction(() => document.querySelectorAll('img.leaflet-tile.leaflet-tile-loaded').length >= 4);
  await page.waitForTimeout(800);

  // The tiles came from the tile server, around the district (Dongli, Tianjin), at map zooms.
  assert.ok(tiles.served.length >= 4, `tiles were asked for (${tiles.served.length})`);
  assert.deepEqual(tiles.refused, []);
  const src = await page.getAttribute('.leaflet-tile-pane img.leaflet-tile-loaded', 'src');
  assert.ok(src.startsWith(tiles.url.split('{z}')[0]), `a tile is an image from the tile server (${src})`);
  const [cell] = await cellsOf(server.base, COMMUNITY);
  const inside = pointInside(cell);
  const zooms = [...new Set(tiles.served.map((t) => t.z))];
  assert.ok(zooms.every((z) => z >= 9 && z <= 19), `zooms ${zooms}`);
  const z = tiles.served[0].z;
  const near = tileOf(inside.lon, inside.lat, z);
  assert.ok(
    tiles.served.some((t) => t.z === z && Math.abs(t.x - near.x) <= 3 && Math.abs(t.y - near.y) <= 3),
    `the tiles cover the district (around ${z}/${near.x}/${near.y})`,
  );
  // Every tile on the page loaded, as a real 256-pixel image.
  const images = await page.$$eval('img.leaflet-tile', (imgs) => imgs.map((img) => ({ done: img.complete, width: img.naturalWidth })));
  assert.ok(images.length >= 4);
  assert.ok(images.every((img) => img.done && img.width === 256), JSON.stringify(images.slice(0, 5)));

  // Under the grid: the tile pane is below the grid's panes, and the district's land lets them show.
  const order = await page.evaluate(() => {
    const z = (name) => Number(getComputedStyle(document.querySelector(`.leaflet-${name}-pane`)).zIndex);
    return { tiles: z('tile'), land: z('gridLand'), streets: z('gridStreets'), markers: z('marker') };
  });
  assert.ok(order.tiles < order.land && order.land < order.streets && order.tiles < order.markers, JSON.stringify(order));
  const landOpacity = await page.$$eval('.leaflet-gridLand-pane path', (paths) => paths.map((p) => Number(p.getAttribute('fill-opacity') ?? 1)));
  assert.ok(landOpacity.length > 0 && landOpacity.every((o) => o === 0), `the land fill is clear over tiles (${landOpacity})`);
  assert.equal(await page.getAttribute('#map', 'class').then((c) => c.includes('with-tiles')), true);
  // The markers and groups are still drawn on top.
  assert.ok((await page.locator('.leaflet-marker-pane [data-colour]').count()) > 0);

  // The attribution names the source, and nothing else (no link out of a closed network).
  const attribution = await page.textContent('#map .leaflet-control-attribution');
  assert.equal(attribution.trim(), ATTRIBUTION);
  assert.equal(await page.locator('#map .leaflet-control-attribution a').count(), 0);

  // Zooming in (the buttons step half a zoom) asks for the next zoom's tiles.
  const deepest = Math.max(...tiles.served.map((t) => t.z));
  for (let i = 0; i < 3; i += 1) {
    await page.click('.leaflet-control-zoom-in');
    await page.waitForTimeout(350);
  }
  for (let i = 0; i < 50 && !tiles.served.some((t) => t.z > deepest); i += 1) await page.waitForTimeout(100);
  assert.ok(tiles.served.some((t) => t.z > deepest), 'zooming in fetched the next zoom’s tiles');
  await page.click('#fit-district');
  await page.waitForTimeout(1000);
  await shot(page, 'command-center-tiles');
  assert.deepEqual(page.problems, []);
  assert.deepEqual(browser.outside, [], 'the tiles come from the configured server only');
});

test('the desk’s map inset draws the tiles under the cell', async () => {
  const [cell] = await cellsOf(server.base, COMMUNITY);
  const point = pointInside(cell);
  const citizen = await login(server.base, 'citizen');
  const { case: reported } = await call(server.base, citizen, '/api/cases', {
    method: 'POST',
    body: { title: '底图测试：路边广告牌松动', description: '商场门口的广告牌有一角松动了，大风天很危险。', location: point },
  });
  const before = tiles.served.length;
  const page = await newPage(browser);
  await signIn(page, server.base, 'dispatcher');
  await page.goto(`${server.base}/ui/desk.html#case=${reported.id}`);
  await page.waitForSelector(`#case-view .case-kicker:has-text("#${reported.id}")`);
  await page.waitForSelector('#case-view .map-inset path.cell-outline');
  await page.waitForFunction(() => {
    const imgs = [...document.querySelectorAll('#case-view .map-inset img.leaflet-tile')];
    return imgs.length > 0 && imgs.every((img) => img.complete && img.naturalWidth === 256);
  });
  assert.ok(tiles.served.length > before, 'the inset asked for tiles');
  // The inset is framed close up on the case: its tiles are at a street zoom, over the point.
  const insetZooms = [...new Set(tiles.served.slice(before).map((t) => t.z))];
  const z = Math.max(...insetZooms);
  assert.ok(z >= 14, `the inset zooms in to the street (${insetZooms})`);
  const at = tileOf(point.lon, point.lat, z);
  assert.ok(tiles.served.slice(before).some((t) => t.z === z && t.x === at.x && t.y === at.y), `the tile under the case (${z}/${at.x}/${at.y}) was drawn`);
  assert.match(await page.textContent('#case-view .map-inset .leaflet-control-attribution'), new RegExp(ATTRIBUTION));
  await page.evaluate(() => document.querySelectorAll('#toasts .toast').forEach((toast) => toast.remove()));
  await shot(page, 'case-desk-tiles');
  assert.deepEqual(page.problems, []);
  assert.deepEqual(browser.outside, []);
});
