// The command center (指挥中心): the grid as the map, the cases as markers by deadline colour, the
// filters, the heat layer, district-tier events and live updates through the feed.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { pointInside } from './fixtures.mjs';
import { focusVisible, newPage, PASSWORD, shot, signIn, startBrowser, startServer, tabUntil } from './harness.mjs';

let server;
let browser;
before(async () => {
  server = await startServer();
  browser = await startBrowser({ width: 1440, height: 900 });
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

async function login(account) {
  const response = await fetch(`${server.base}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ person: account, password: PASSWORD }),
  });
  assert.equal(response.status, 200, `${account} signs in`);
  return (await response.json()).token;
}

async function call(tokenValue, path, { method = 'GET', body } = {}) {
  const response = await fetch(`${server.base}${path}`, {
    method,
    headers: { authorization: `Bearer ${tokenValue}`, 'content-type': 'application/json', accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/** Every case the account may read with these filters, following the cursor. */
async function allCases(tokenValue, query = {}) {
  const items = [];
  let afterId;
  do {
    const params = new URLSearchParams({ limit: '500', ...query, ...(afterId ? { after: String(afterId) } : {}) });
    const page = await call(tokenValue, `/api/cases?${params}`);
    assert.equal(page.status, 200);
    items.push(...page.body.items);
    afterId = page.body.next_after;
  } while (afterId);
  return items;
}

const shown = (page) => page.$eval('#summary', (node) => Number(node.dataset.shown));
const markerColours = (page) =>
  page.$$eval('.leaflet-marker-pane [data-colour]', (nodes) => nodes.map((node) => node.dataset.colour));

async function waitForShown(page, count) {
  await page.waitForFunction((n) => Number(document.getElementById('summary').dataset.shown) === n, count, { timeout: 20000 });
}

test('the commander sees the grid, the cases by deadline colour, filters, heat and live updates', async () => {
  const commander = await login('commander');
  const everything = await allCases(commander);
  const withPoint = everything.filter((c) => c.point).length;
  const majors = (await allCases(commander, { tier: 'district' })).filter((c) => !['closed', 'rejected', 'merged'].includes(c.state));

  const page = await newPage(browser);
  await signIn(page, server.base, 'commander');
  assert.match(page.url(), /\/ui\/command\.html/);
  await page.waitForSelector('#summary[data-shown]');
  await waitForShown(page, withPoint);
  assert.ok(withPoint > 600, `the demo has its ~650 cases (${withPoint})`);

  // The grid is the map: streets bold, communities thinner, the cells only when zoomed in.
  assert.ok((await page.locator('.leaflet-gridStreets-pane path').count()) >= 10, 'street outlines are drawn');
  assert.ok((await page.locator('.leaflet-gridCommunities-pane path').count()) >= 50, 'community outlines are drawn');
  assert.equal(await page.locator('.leaflet-gridCells-pane path').count(), 0, 'no cell outlines at district zoom');
  const streetWidth = await page.$eval('.leaflet-gridStreets-pane path', (p) => Number(p.getAttribute('stroke-width')));
  const communityWidth = await page.$eval('.leaflet-gridCommunities-pane path', (p) => Number(p.getAttribute('stroke-width')));
  assert.ok(streetWidth > communityWidth, 'street outlines are bolder than community outlines');

  // Markers and groups, coloured by deadline; the counts agree with the API.
  const red = everything.filter((c) => c.point && c.deadline?.colour === 'red').length;
  assert.ok(red > 0, 'the demo has overdue cases');
  assert.equal(Number(await page.textContent('[data-tile="red"] dd')), red, 'the red count is the API’s');
  assert.ok((await markerColours(page)).includes('red'), 'a red marker or group is on the map');
  const worst = await page.$$eval('.cluster-ring', (nodes) => nodes.map((n) => n.dataset.colour));
  assert.ok(worst.length > 0 && worst.includes('red'), 'groups show the worst colour inside');

  // KPIs for the district and the live indicator.
  await page.waitForFunction(() => /\d/.test(document.querySelector('[data-kpi="reported"] dd')?.textContent || ''));
  await page.waitForSelector('#live.on');

  // District-tier events: as many cards as the API has open ones (the demo may have none).
  if (majors.length) await page.waitForSelector('.major-card');
  assert.equal(await page.locator('.major-card').count(), majors.length, 'the district-tier panel lists the open district-tier events');

  // Zoomed in, the cells appear and say their name and code on hover.
  for (let i = 0; i < 6; i++) {
    await page.click('.leaflet-control-zoom-in');
    await page.waitForTimeout(350);
  }
  await page.waitForFunction(() => document.querySelectorAll('.leaflet-gridCells-pane path').length > 100);
  const box = await page.locator('#map').boundingBox();
  let tip = null;
  for (const [dx, dy] of [[0.3, 0.3], [0.7, 0.6], [0.4, 0.8], [0.6, 0.25]]) {
    await page.mouse.move(box.x + box.width * dx, box.y + box.height * dy);
    await page.waitForTimeout(250);
    tip = await page.$('.grid-tip .mono');
    if (tip) break;
  }
  assert.ok(tip, 'hovering the grid shows an area');
  assert.match(await tip.textContent(), /^120110\d{3,9}$/, 'the tooltip shows the area code');
  await page.click('#fit-district');
  await page.waitForTimeout(600);

  // Filters re-query: only closed cases, all grey.
  const closed = everything.filter((c) => c.point && c.state === 'closed').length;
  await page.selectOption('#f-state', 'closed');
  await waitForShown(page, closed);
  const colours = await markerColours(page);
  assert.ok(colours.length > 0);
  assert.deepEqual([...new Set(colours)], ['none'], 'closed cases are grey');
  assert.equal(Number(await page.textContent('[data-tile="red"] dd')), 0);
  // A street narrows further.
  const street = await page.$eval('#f-area option:nth-child(2)', (o) => o.value);
  await page.selectOption('#f-area', street);
  await waitForShown(page, everything.filter((c) => c.point && c.state === 'closed' && c.cell.startsWith(street)).length);
  assert.match(page.url(), /state=closed/, 'the filters are kept in the address');
  await page.click('#filters-reset');
  await waitForShown(page, withPoint);

  // The heat layer fills the cells by case count, with a legend.
  await page.click('#heat-toggle');
  await page.waitForSelector('#heat-legend:not(.hidden) .heat-swatch');
  assert.ok((await page.locator('.leaflet-gridCells-pane path').count()) > 1000, 'the heat layer draws every cell');
  const filled = await page.$$eval('.leaflet-gridCells-pane path', (paths) => paths.filter((p) => Number(p.getAttribute('fill-opacity')) > 0).length);
  assert.ok(filled > 100, `cells with cases are filled (${filled})`);
  await page.click('#markers-toggle');
  await page.waitForFunction(() => !document.querySelector('.leaflet-marker-pane [data-colour]'));
  await page.waitForTimeout(400);
  await shot(page, 'command-center-heat');
  await page.click('#markers-toggle');
  await page.click('#heat-toggle');
  await page.waitForSelector('#heat-legend.hidden', { state: 'attached' });

  // A citizen reports while the page is open: the case arrives through the feed, without a reload.
  const cells = await (await fetch(`${server.base}/api/grid/cell`)).json();
  const cell = cells.features[Math.floor(cells.features.length / 3)];
  const point = pointInside(cell);
  const citizen = await login('citizen');
  const reported = await call(citizen, '/api/cases', {
    method: 'POST',
    body: {
      title: '指挥中心测试：楼道里的消防通道被杂物堵住',
      description: `楼道消防通道堆满纸箱和旧家具，已经堵了三天，请尽快清理。（测试 ${Date.now()}）`,
      location: { lon: point.lon, lat: point.lat },
    },
  });
  assert.equal(reported.status, 201, JSON.stringify(reported.body));
  const id = reported.body.case.id;
  await page.waitForSelector(`.activity-item[data-case="${id}"]`);
  await waitForShown(page, withPoint + 1);
  await page.click(`.activity-item[data-case="${id}"]`);
  await page.waitForSelector(`.leaflet-marker-pane [data-case="${id}"]`);
  await page.waitForSelector(`.case-pop[data-case="${id}"]`);
  assert.match(await page.textContent(`.case-pop[data-case="${id}"]`), /消防通道/);
  assert.equal(
    await page.getAttribute(`.case-pop[data-case="${id}"] a.pop-open`, 'href'),
    `/ui/desk.html#case=${id}`,
    'the popup links to the case desk',
  );

  // The command center makes it a district-tier event: it is pinned in the side panel, in red,
  // with its departments, and a click flies to it.
  const departments = (await call(commander, '/api/departments')).body;
  const co = departments.slice(0, 2);
  const escalated = await call(commander, `/api/cases/${id}/commands`, {
    method: 'POST',
    body: { command: 'escalate', to: 'district', co_departments: co.map((d) => d.code), reason: '测试：全网联动' },
  });
  assert.equal(escalated.status, 200, JSON.stringify(escalated.body));
  const card = page.locator(`.major-card[data-case="${id}"]`);
  await card.waitFor();
  const cardText = await card.textContent();
  for (const d of co) assert.ok(cardText.includes(d.short_name) || cardText.includes(d.name), `the card names ${d.name}`);
  assert.equal(await card.evaluate((node) => node.tagName), 'BUTTON', 'the cards are buttons');
  await page.click('#fit-district');
  await page.waitForTimeout(900);
  await card.click();
  await page.waitForSelector(`.case-pop[data-case="${id}"]`);
  assert.equal(await page.getAttribute(`.leaflet-marker-pane [data-case="${id}"]`, 'data-tier'), 'district');

  await page.click('.leaflet-popup-close-button');
  await page.click('#fit-district');
  await page.waitForTimeout(1000);
  await shot(page, 'command-center');
  assert.deepEqual(page.problems, []);
  assert.deepEqual(browser.outside, [], 'nothing is loaded from outside the server');
});

test('on a command-center wall, on a phone and in English', async () => {
  const wall = await startBrowser({ width: 1920, height: 1080 });
  try {
    const page = await newPage(wall);
    await signIn(page, server.base, 'commander');
    await page.waitForSelector('#summary[data-shown]');
    await page.waitForSelector('#live.on');
    await page.waitForFunction(() => /\d/.test(document.querySelector('[data-kpi="reported"] dd')?.textContent || ''));
    await page.waitForTimeout(800);
    const side = await page.locator('.side').boundingBox();
    const map = await page.locator('#map').boundingBox();
    assert.ok(side.x + side.width <= map.x + 1, 'the side panel is beside the map');
    assert.ok(map.width > 1400 && map.height > 800, `the map fills the wall (${map.width}×${map.height})`);
    await shot(page, 'command-center-wall');
    assert.deepEqual(page.problems, []);
  } finally {
    await wall.close();
  }

  const phone = await startBrowser({ width: 390, height: 844, mobile: true });
  try {
    const page = await newPage(phone);
    await signIn(page, server.base, 'supervisor'); // a supervisor starts on the KPIs: open the map
    await page.goto(`${server.base}/ui/command.html`);
    await page.waitForSelector('#summary[data-shown]');
    await page.waitForSelector('#live.on');
    await page.waitForFunction(() => /\d/.test(document.querySelector('[data-kpi="reported"] dd')?.textContent || ''));
    await page.waitForTimeout(800);
    const map = await page.locator('#map').boundingBox();
    const filters = await page.locator('#filters').boundingBox();
    assert.ok(map.width >= 380, 'the map takes the phone’s width');
    assert.ok(filters.y >= map.y + map.height, 'the filters come below the map');
    await shot(page, 'command-center-phone', { fullPage: true });
    assert.deepEqual(page.problems, []);
  } finally {
    await phone.close();
  }

  const page = await newPage(browser);
  await signIn(page, server.base, 'commander');
  await page.waitForSelector('#summary[data-shown]');
  await page.click('#topbar button:has-text("English")');
  await page.waitForSelector('#filters-title:has-text("Filters")');
  // The summary first says how many cases have loaded so far, then how many are on the map.
  await page.waitForFunction(() => /cases on the map/.test(document.querySelector('#summary')?.textContent || ''));
  await page.waitForSelector('#live.on');
  await page.waitForTimeout(800);
  await shot(page, 'command-center-en');
  await page.click('#topbar button:has-text("中文")');
  await page.waitForSelector('#filters-title:has-text("筛选")');
  assert.deepEqual(page.problems, []);
});

test('an administrator sees the grid without case data, and no errors', async () => {
  const page = await newPage(browser);
  await signIn(page, server.base, 'admin');
  assert.match(page.url(), /\/ui\/command\.html/);
  await page.waitForFunction(() => document.querySelectorAll('.leaflet-gridStreets-pane path').length > 0);
  assert.match(await page.textContent('#summary'), /管理员/);
  assert.equal(await page.locator('.leaflet-marker-pane [data-case]').count(), 0);
  await page.waitForTimeout(600);
  await shot(page, 'command-center-admin');
  assert.deepEqual(page.problems, []);
});

/** Font size in px of the first element matching `selector`. */
const fontSize = (page, selector) => page.$eval(selector, (node) => parseFloat(getComputedStyle(node).fontSize));

test('on 2560 and 4K walls the text, markers and panel grow with the screen', async () => {
  // At 1440 wide, the reference sizes.
  const page = await newPage(browser);
  await signIn(page, server.base, 'commander');
  await page.waitForSelector('.cluster-ring');
  const base = {
    kpi: await fontSize(page, '[data-kpi="reported"] dd'),
    label: await fontSize(page, '.filters label'),
  };
  await page.close();

  for (const [width, height, grow] of [[2560, 1440, 1.3], [3840, 2160, 1.9]]) {
    const wall = await startBrowser({ width, height });
    try {
      const page = await newPage(wall);
      await signIn(page, server.base, 'commander');
      await page.waitForSelector('#summary[data-shown]');
      await page.waitForSelector('#live.on');
      await page.waitForFunction(() => /\d/.test(document.querySelector('[data-kpi="reported"] dd')?.textContent || ''));
      await page.waitForSelector('.cluster-ring');
      await page.waitForTimeout(1000);
      // Read from metres away: the type grows with the screen.
      const kpi = await fontSize(page, '[data-kpi="reported"] dd');
      const label = await fontSize(page, '.filters label');
      assert.ok(kpi >= base.kpi * grow, `KPI figures grow at ${width} (${kpi}px vs ${base.kpi}px)`);
      assert.ok(label >= base.label * grow, `filter labels grow at ${width} (${label}px vs ${base.label}px)`);
      assert.ok(await fontSize(page, '#topbar nav.pages a') >= 15 * grow, 'the top bar grows too');
      // Markers and groups are drawn larger than their Leaflet box.
      const ring = await page.locator('.cluster-ring').first().boundingBox();
      const box = await page.locator('.leaflet-marker-icon.case-cluster').first().boundingBox();
      assert.ok(ring.width >= box.width * 1.35, `groups are scaled up (${ring.width} in a ${box.width} box)`);
      // The panel sits beside the map, wider than at desk size; the map takes the rest.
      const side = await page.locator('.side').boundingBox();
      const map = await page.locator('#map').boundingBox();
      assert.ok(side.x + side.width <= map.x + 1, 'the side panel is beside the map');
      assert.ok(side.width >= 360 * grow, `the side panel widens (${side.width}px)`);
      assert.ok(map.width >= width * 0.7 && map.height >= height * 0.8, `the map fills the wall (${map.width}×${map.height})`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `nothing sticks out sideways (${overflow}px)`);
      await shot(page, `command-wall-${width}`);
      assert.deepEqual(page.problems, []);
      assert.deepEqual(wall.outside, []);
    } finally {
      await wall.close();
    }
  }
});

test('the command center is usable with the keyboard alone', async () => {
  const page = await newPage(browser);
  await signIn(page, server.base, 'commander');
  await page.waitForSelector('#summary[data-shown]');
  await page.waitForSelector('#live.on');
  const all = Number(await page.$eval('#summary', (node) => node.dataset.shown));

  // A case arrives on the feed while the page is open.
  const [cell] = (await (await fetch(`${server.base}/api/grid/cell`)).json()).features.slice(40, 41);
  const point = pointInside(cell);
  const reported = await call(await login('citizen'), '/api/cases', {
    method: 'POST',
    body: { title: '键盘测试：路口信号灯不亮', description: `十字路口的信号灯全部不亮，车辆通行混乱。（测试 ${Date.now()}）`, location: point },
  });
  assert.equal(reported.status, 201, JSON.stringify(reported.body));
  const id = reported.body.case.id;
  await page.waitForSelector(`.activity-item[data-case="${id}"]`);
  await waitForShown(page, all + 1);

  // Tab from the top of the page to the state filter; pick 待受理 with the arrow keys.
  await page.evaluate(() => document.activeElement?.blur());
  await tabUntil(page, () => document.activeElement?.id === 'f-state', 'the state filter');
  assert.ok(await focusVisible(page), 'the focused filter shows a focus ring');
  const options = await page.$$eval('#f-state option', (o) => o.map((x) => x.value));
  const reportedAt = options.indexOf('reported');
  assert.ok(reportedAt > 0, options.join());
  for (let i = 0; i < reportedAt; i += 1) await page.keyboard.press('ArrowDown');
  assert.equal(await page.inputValue('#f-state'), 'reported');
  await page.waitForFunction((n) => Number(document.getElementById('summary').dataset.shown) < n, all + 1);
  assert.match(page.url(), /state=reported/);
  await shot(page, 'command-keyboard-filter');

  // On to the live feed: the new case's line; Enter flies to it and opens its popup.
  await tabUntil(page, (caseId) => document.activeElement?.dataset?.case === String(caseId) && document.activeElement.classList.contains('activity-item'), 'the new case in the live feed', { arg: id });
  assert.ok(await focusVisible(page), 'the focused feed line shows a focus ring');
  await page.keyboard.press('Enter');
  await page.waitForSelector(`.case-pop[data-case="${id}"]`);
  assert.match(await page.textContent(`.case-pop[data-case="${id}"]`), /信号灯不亮/);
  await page.waitForTimeout(400);
  // Focus moved into the popup: 「打开案件」 is where Enter would go next.
  await page.waitForFunction(() => document.activeElement?.matches('.leaflet-popup a.pop-open'));
  assert.ok(await focusVisible(page), 'the popup’s open link shows a focus ring');
  await shot(page, 'command-keyboard-popup');
  // Back to the map itself, then forward to its cases and groups, each with a visible ring.
  await tabUntil(page, () => document.activeElement?.id === 'map', 'the map', { backwards: true });
  assert.ok(await focusVisible(page), 'the focused map shows a focus ring');
  await tabUntil(page, () => document.activeElement?.matches('.leaflet-marker-icon'), 'a case or group on the map', { limit: 10 });
  const ring = await page.evaluate(() => {
    const dot = document.activeElement.querySelector('.case-dot, .cluster-ring');
    const style = getComputedStyle(dot);
    return style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
  });
  assert.ok(ring, 'the focused marker shows a focus ring');
  // Back to all cases with the keyboard: the reset button.
  await page.focus('#f-area');
  await page.keyboard.press('Shift+Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'filters-reset');
  await page.keyboard.press('Enter');
  await waitForShown(page, all + 1);
  assert.deepEqual(page.problems, []);
  assert.deepEqual(browser.outside, []);
});
