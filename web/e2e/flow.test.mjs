// The closed loop (闭环), entirely through the pages: a citizen reports with a photo on the phone page;
// the commander's map picks the case up live; the dispatcher accepts and dispatches it to 城管 on the
// desk; the department gives feedback with a photo; the grid worker verifies it on the phone; the
// dispatcher closes it; the citizen rates it. While the department works on it, the server's business
// clock (a test server: `--adjustable-clock`) is moved to a minute before the handling deadline and
// then past it, so the map shows the case turn yellow and red. The map marker follows every step
// (state and deadline colour), the KPI dashboard counts the case and its workbook agrees, and the case page shows the whole
// history with a verified hash chain. The API is only read here, to check what the pages show.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { COMMUNITY, DESKTOP, PHONE, png, pointInside } from './fixtures.mjs';
import { PASSWORD, newPage, shot, signIn, startBrowser, startServer } from './harness.mjs';

const DAY = 24 * 3600 * 1000;

// ---------------------------------------------------------------- helpers

/** A bearer token, for reading only. */
async function login(person) {
  const response = await fetch(`${server.base}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ person, password: PASSWORD }),
  });
  assert.equal(response.status, 200, `${person} signs in`);
  return (await response.json()).token;
}

/** GET only: the API is used to check what the pages show, never to act. */
async function read(token, path) {
  const response = await fetch(`${server.base}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const text = await response.text();
  assert.equal(response.status, 200, `GET ${path}: ${text}`);
  return JSON.parse(text);
}

async function allCases(token, query = {}) {
  const items = [];
  let afterId;
  do {
    const params = new URLSearchParams({ limit: '500', ...query, ...(afterId ? { after: String(afterId) } : {}) });
    const page = await read(token, `/api/cases?${params}`);
    items.push(...page.items);
    afterId = page.next_after;
  } while (afterId);
  return items;
}

const count = (text) => Number(String(text).replace(/[^\d]/g, ''));
const rate = (value) => (value === null || value === undefined ? '—' : `${(value * 100).toFixed(1)}%`);

/** The KPI tiles as the dashboard shows them (the closed count is in the 结案率 tile's line). */
async function kpiTiles(page) {
  await page.waitForSelector('.tile[data-kpi="reported"] .tile-value:not(:text("…"))');
  await page.waitForFunction(() => !document.querySelector('main.kpi').className.includes('busy-'));
  const text = (kpi, part = 'value') => page.textContent(`.tile[data-kpi="${kpi}"] .tile-${part}`);
  const closed = (await text('closure_rate', 'sub')).match(/结案\s*([\d,]+)/);
  assert.ok(closed, 'the 结案率 tile names the closed count');
  return {
    reported: count(await text('reported')),
    closed: count(closed[1]),
    overdue: count(await text('overdue')),
    closure_rate: await text('closure_rate'),
    on_time_handling_rate: await text('on_time_handling_rate'),
    rework_rate: await text('rework_rate'),
    satisfaction_rate: await text('satisfaction_rate'),
  };
}

/** The sheets of an XLSX as arrays of rows, read back by Python's openpyxl. */
function readWorkbook(path) {
  const script = `
import json, sys, openpyxl
book = openpyxl.load_workbook(sys.argv[1], read_only=True)
print(json.dumps({ws.title: [list(row) for row in ws.iter_rows(values_only=True)] for ws in book.worksheets}, ensure_ascii=False, default=str))
`;
  return JSON.parse(execFileSync('python3', ['-c', script, path], { encoding: 'utf8' }));
}

/** Waits until a desk page shows case `id` with `n` history entries. */
async function waitForHistory(page, id, n) {
  await page.waitForSelector(`#case-view .case-kicker:has-text("#${id}")`);
  await page.waitForFunction((want) => document.querySelectorAll('#case-view .timeline > li').length === want, n);
}

/** Opens a command's dialog on the desk, lets `fill` fill it, submits, and waits for the history to grow. */
async function deskCommand(page, id, action, fill = async () => {}) {
  const before = await page.locator('#case-view .timeline > li').count();
  await page.click(`#case-view .actions-bar button[data-action="${action}"]`);
  await page.waitForSelector('#command-dialog[open]');
  await fill();
  await page.click('#command-submit');
  await page.waitForSelector('#command-dialog:not([open])', { state: 'attached' });
  await waitForHistory(page, id, before + 1);
}

/** Waits until the map's popup for case `id` is open and has faded in. */
async function popupShown(page, id) {
  await page.waitForSelector(`.case-pop[data-case="${id}"]`);
  await page.waitForFunction((caseId) => {
    const popup = document.querySelector(`.case-pop[data-case="${caseId}"]`)?.closest('.leaflet-popup');
    return popup && getComputedStyle(popup).opacity === '1';
  }, id);
}

/** Removes the toasts so a screenshot shows the page itself. */
const clearToasts = (page) => page.evaluate(() => document.querySelectorAll('#toasts .toast').forEach((toast) => toast.remove()));

// ---------------------------------------------------------------- the loop

let server;
const browsers = [];
before(async () => {
  server = await startServer(['--adjustable-clock']);
});
after(async () => {
  for (const browser of browsers) await browser.close().catch(() => {});
  await server?.stop();
});

async function open(options) {
  const browser = await startBrowser(options);
  browsers.push(browser);
  return browser;
}

test('the closed loop through the pages: report, dispatch, handle, verify, close, rate — live on the map, counted in the KPIs', { timeout: 120000 }, async () => {
  const cells = (await (await fetch(`${server.base}/api/grid/cell`)).json()).features.filter((f) => f.properties.parent === COMMUNITY);
  assert.ok(cells.length > 2, `community ${COMMUNITY} has cells`);
  const cell = cells[2];
  const point = pointInside(cell);
  const commanderToken = await login('commander');
  const supervisorToken = await login('supervisor');
  const pages = [];
  const watch = (page, name) => {
    page.flowName = name;
    pages.push(page);
    return page;
  };

  // ---- before: the KPI dashboard (supervisor, 7 days), the commander's map and the dispatcher's desk are open.
  const kpiBrowser = await open(DESKTOP);
  const kpi = watch(await newPage(kpiBrowser), 'kpi');
  await signIn(kpi, server.base, 'supervisor');
  assert.match(kpi.url(), /\/ui\/kpi\.html/);
  await kpiTiles(kpi);
  await Promise.all([
    kpi.waitForResponse((r) => r.url().includes('/api/kpis/trend') && r.url().includes('days=7')),
    kpi.click('label[for="days-7"]'),
  ]);
  await kpi.waitForURL(/days=7/);
  const windowStart = Date.now();
  const tilesBefore = await kpiTiles(kpi);
  const apiBefore = (await read(supervisorToken, '/api/kpis?by=district&days=7'))[0].figures;
  assert.equal(tilesBefore.reported, apiBefore.reported, 'the 7-day tile is the API’s');
  assert.equal(tilesBefore.closed, apiBefore.closed, 'the 7-day closed count is the API’s');

  const commandBrowser = await open(DESKTOP);
  const command = watch(await newPage(commandBrowser), 'command');
  await signIn(command, server.base, 'commander');
  assert.match(command.url(), /\/ui\/command\.html/);
  await command.waitForSelector('#summary[data-shown]');
  await command.waitForSelector('#live.on');
  const shownBefore = await command.$eval('#summary', (node) => Number(node.dataset.shown));
  // Record every (state, colour) the map shows for each case marker, as markers come and go.
  await command.evaluate(() => {
    window.flowSeen = {};
    const note = (dot) => {
      const id = dot.dataset.case;
      const seen = (window.flowSeen[id] ||= []);
      const pair = `${dot.dataset.state}/${dot.dataset.colour}`;
      if (seen[seen.length - 1] !== pair) seen.push(pair);
    };
    new MutationObserver((records) => {
      for (const record of records) {
        for (const node of record.addedNodes) {
          if (!(node instanceof Element)) continue;
          if (node.matches('.case-dot[data-case]')) note(node);
          node.querySelectorAll('.case-dot[data-case]').forEach(note);
        }
      }
    }).observe(document.querySelector('.leaflet-marker-pane'), { childList: true, subtree: true });
  });

  const deskBrowser = await open(DESKTOP);
  const desk = watch(await newPage(deskBrowser), 'desk');
  await signIn(desk, server.base, 'dispatcher');
  assert.match(desk.url(), /\/ui\/desk\.html/);
  await desk.waitForSelector('#queue-list a.qrow');

  // ---- 1. The citizen reports on the phone with a photo, at a GPS point inside a cell of the community.
  const citizenBrowser = await open(PHONE);
  await citizenBrowser.context.grantPermissions(['geolocation'], { origin: server.base });
  await citizenBrowser.context.setGeolocation({ latitude: point.lat, longitude: point.lon, accuracy: 15 });
  const citizen = watch(await newPage(citizenBrowser), 'citizen');
  await signIn(citizen, server.base, 'citizen');
  assert.match(citizen.url(), /\/ui\/citizen\.html/);
  await citizen.waitForSelector('#report-position-status:has-text("已用手机定位")');
  await citizen.setInputFiles('#report-photo', { name: 'rubbish.png', mimeType: 'image/png', buffer: png() });
  await citizen.waitForSelector('#report-form .thumbs img');
  const tag = `闭环测试${Date.now().toString(36)}`; // to find this very case in the queues
  const description = `幸福里小区南门口堆了一大堆生活垃圾，好几天没人清运，气味很大，请尽快处理。（${tag}）`;
  await citizen.fill('#report-description', description);
  const sent = citizen.waitForResponse((r) => r.url().endsWith('/api/cases/upload'));
  await citizen.click('#report-submit');
  assert.equal((await sent).status(), 201);
  await citizen.waitForSelector('#outcome-case');
  const id = Number(await citizen.textContent('#outcome-case'));
  assert.ok(id > 0, 'the page shows the case number');
  assert.match(await citizen.textContent('#outcome .case-number'), new RegExp(`您的案件编号：\\s*${id}`));
  await shot(citizen, 'flow-1-citizen-reported');

  let view = (await read(commanderToken, `/api/cases/${id}`)).case;
  assert.equal(view.state, 'reported');
  assert.equal(view.cell, cell.properties.code, 'the case is in the cell the phone stood in');
  assert.equal(view.photos.length, 1, 'the photo went with the report');
  assert.equal(view.deadline.colour, 'green', 'a fresh report is within its deadline');

  // ---- 2. The commander's map: the case arrives through the live feed, no reload.
  const dot = `.leaflet-marker-pane .case-dot[data-case="${id}"]`;
  /** Waits for the map's marker to show `state` (and `colour`), then checks its colour against the API's. */
  const mapFollows = async (state, colour) => {
    await command.waitForSelector(`${dot}[data-state="${state}"]${colour ? `[data-colour="${colour}"]` : ''}`);
    const current = (await read(commanderToken, `/api/cases/${id}`)).case;
    assert.equal(current.state, state);
    const shown = await command.getAttribute(dot, 'data-colour');
    assert.equal(shown, current.deadline?.colour ?? 'none', `the marker’s colour is the deadline’s (${state})`);
    return [state, shown];
  };
  const pageLoads = await command.evaluate(() => performance.getEntriesByType('navigation').length);
  await command.waitForSelector(`.activity-item[data-case="${id}"]`);
  await command.waitForFunction((n) => Number(document.getElementById('summary').dataset.shown) === n, shownBefore + 1);
  await command.click(`.activity-item[data-case="${id}"]`);
  await command.waitForSelector(`.case-pop[data-case="${id}"]`);
  const sequence = [await mapFollows('reported')];
  assert.equal(sequence[0][1], 'green', 'green at report time');
  assert.match(await command.textContent(`.case-pop[data-case="${id}"]`), /幸福里小区南门口/);
  await popupShown(command, id);
  await shot(command, 'flow-2-command-new-marker');

  // ---- 3. The dispatcher finds it in the queue, accepts it and dispatches it to 城管.
  await desk.fill('#queue-text', tag);
  await desk.waitForSelector(`#queue-list a.qrow[data-id="${id}"]`);
  await desk.click(`#queue-list a.qrow[data-id="${id}"]`);
  await waitForHistory(desk, id, 1);
  await deskCommand(desk, id, 'accept', async () => {
    await desk.waitForSelector('#f-category');
    await desk.selectOption('#f-category', 'S0101'); // 暴露垃圾, a 城管 category
  });
  await desk.waitForSelector('#case-view .badge.state:has-text("已立案")');
  sequence.push(await mapFollows('accepted'));
  await deskCommand(desk, id, 'dispatch', async () => {
    await desk.waitForSelector('#f-department');
    await desk.selectOption('#f-department', 'chengguan');
  });
  await desk.waitForSelector('#case-view .badge.state:has-text("处置中")');
  assert.match(await desk.textContent('#case-view .facts'), /区城市管理委员会/);
  sequence.push(await mapFollows('handling'));
  await desk.waitForSelector('#case-view .map-inset path.cell-outline');
  await clearToasts(desk);
  await shot(desk, 'flow-3-dispatched');

  // ---- 3b. Time passes (the test server's clock is moved): the handling deadline turns yellow, then red.
  const adminToken = await login('admin');
  const moveClock = async (to) => {
    const response = await fetch(`${server.base}/api/clock`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
      body: JSON.stringify({ now: to.toISOString() }),
    });
    assert.equal(response.status, 200, `the clock moves to ${to.toISOString()}: ${await response.text()}`);
  };
  const due = new Date((await read(commanderToken, `/api/cases/${id}`)).case.deadline.due_at);
  await moveClock(new Date(due.getTime() - 60000));
  sequence.push(await mapFollows('handling', 'yellow'));
  await desk.waitForSelector('#case-view .badge.deadline.yellow'); // the desk follows the clock too
  await moveClock(new Date(due.getTime() + 60000));
  sequence.push(await mapFollows('handling', 'red'));
  await desk.waitForSelector('#case-view .badge.deadline.red');
  await desk.waitForSelector(`#queue-list a.qrow[data-id="${id}"]`);
  await clearToasts(desk);
  await shot(desk, 'flow-3c-desk-overdue');
  await command.click(`.activity-item[data-case="${id}"]`);
  await popupShown(command, id);
  await clearToasts(command);
  await shot(command, 'flow-3b-command-overdue');

  // ---- 4. The 城管 handler opens it on the desk and gives feedback with a photo.
  const handlerBrowser = await open(DESKTOP);
  const handler = watch(await newPage(handlerBrowser), 'handler');
  await signIn(handler, server.base, 'handler');
  assert.match(handler.url(), /\/ui\/desk\.html/);
  await handler.fill('#queue-text', tag);
  await handler.waitForSelector(`#queue-list a.qrow[data-id="${id}"]`);
  await handler.click(`#queue-list a.qrow[data-id="${id}"]`);
  await waitForHistory(handler, id, 3);
  await deskCommand(handler, id, 'feedback', async () => {
    await handler.setInputFiles('#f-photos', { name: 'cleared.png', mimeType: 'image/png', buffer: png(40, 30, [40, 140, 70]) });
    await handler.waitForSelector('#command-dialog .photos.preview img');
    await handler.fill('#command-dialog textarea', '垃圾已全部清运，地面已冲洗干净。');
  });
  await handler.waitForSelector('#case-view .badge.state:has-text("待核查")');
  await handler.waitForFunction(() => [...document.querySelectorAll('#case-view .timeline .photos img')].some((img) => img.complete && img.naturalWidth === 40));
  sequence.push(await mapFollows('awaiting_verification'));
  await handler.waitForSelector('#case-view .map-inset path.cell-outline');
  await clearToasts(handler);
  await shot(handler, 'flow-4-feedback');

  // ---- 5. The grid worker verifies it on the phone (核查通过).
  const workerBrowser = await open(PHONE);
  await workerBrowser.context.grantPermissions(['geolocation'], { origin: server.base });
  await workerBrowser.context.setGeolocation({ latitude: point.lat, longitude: point.lon, accuracy: 10 });
  const worker = watch(await newPage(workerBrowser), 'worker');
  await signIn(worker, server.base, 'gridworker');
  assert.match(worker.url(), /\/ui\/worker\.html/);
  // The page reads the verification tasks when it opens (the tab's count) and again when the tab is
  // shown: wait for that second reading, so that the note is typed into the card that stays.
  await worker.waitForSelector('#tab-verify .count:not(.hidden)');
  await worker.$$eval('#verify-list > li', (items) => items.forEach((li) => (li.dataset.earlier = 'yes')));
  await worker.click('#tab-verify');
  const task = worker.locator(`#verify-list li[data-case="${id}"]:not([data-earlier])`);
  await task.waitFor();
  assert.match(await task.locator('.feedback-note').textContent(), /垃圾已全部清运/);
  await worker.waitForFunction(
    (caseId) => {
      const img = document.querySelector(`#verify-list li[data-case="${caseId}"] img[data-photo]`);
      return img && img.complete && img.naturalWidth > 0;
    },
    id,
  );
  await task.locator('textarea').fill('已到现场查看，垃圾清运干净。');
  await task.locator('button:has-text("核查通过")').click();
  await task.waitFor({ state: 'detached' });
  sequence.push(await mapFollows('verified'));
  await worker.evaluate(() => window.scrollTo(0, 0));
  await shot(worker, 'flow-5-verified');

  // ---- 6. Closing: whoever the workflow allows — on the desk, the dispatcher.
  await waitForHistory(desk, id, 5); // the desk followed the feedback and the verification live
  assert.ok((await read(await login('dispatcher'), `/api/cases/${id}`)).allowed_commands.includes('close'), 'a dispatcher may close');
  await desk.waitForSelector('#case-view .actions-bar button[data-command="close"]');
  await deskCommand(desk, id, 'close', async () => {
    await desk.fill('#command-dialog textarea', '已核查通过，予以结案。');
  });
  await desk.waitForSelector('#case-view .badge.state:has-text("已结案")');
  sequence.push(await mapFollows('closed'));
  assert.equal(sequence[sequence.length - 1][1], 'none', 'a closed case is grey');
  await clearToasts(desk);
  await shot(desk, 'flow-6-closed');

  // ---- 7. The citizen rates it five stars on the phone.
  await citizen.click('#tab-track');
  const card = citizen.locator(`#my-cases li[data-case="${id}"]`);
  await card.locator('.badge.state.s-closed').waitFor();
  if ((await card.locator('.case-head').getAttribute('aria-expanded')) !== 'true') await card.locator('.case-head').click();
  await card.locator('form.rate').waitFor();
  await card.locator('label[for$="-5"]').click();
  assert.equal(await card.locator('input[type=radio]:checked').getAttribute('value'), '5');
  await card.locator('textarea').fill('处理得很及时，谢谢！');
  await card.locator('form.rate button[type=submit]').click();
  await card.locator('.rating-shown').waitFor();
  assert.match(await card.locator('.rating-shown').textContent(), /5 星/);
  assert.match(await card.locator('.rating-shown').textContent(), /处理得很及时/);
  await card.locator('.rating-shown').scrollIntoViewIfNeeded();
  await shot(citizen, 'flow-7-rated');

  // ---- 8. The map followed every step live; the rating keeps the case closed and grey.
  // The rating's event has been read (the feed entry gets the case's title once it is).
  await command.waitForFunction(
    (caseId) => /幸福里/.test(document.querySelector(`.activity-item[data-case="${caseId}"]:has(.kind-rated) .what`)?.textContent || ''),
    id,
  );
  sequence.push(await mapFollows('closed'));
  view = (await read(commanderToken, `/api/cases/${id}`)).case;
  assert.deepEqual(view.rating, { score: 5, comment: '处理得很及时，谢谢！' });
  assert.equal(view.deadline, null, 'no deadline runs once closed');
  assert.deepEqual(sequence, [
    ['reported', 'green'],
    ['accepted', 'green'],
    ['handling', 'green'],
    ['handling', 'yellow'],
    ['handling', 'red'],
    ['awaiting_verification', 'green'],
    ['verified', 'green'],
    ['closed', 'none'],
    ['closed', 'none'],
  ]);
  const seen = await command.evaluate((caseId) => window.flowSeen[caseId], id);
  assert.deepEqual(
    seen,
    ['reported/green', 'accepted/green', 'handling/green', 'handling/yellow', 'handling/red', 'awaiting_verification/green', 'verified/green', 'closed/none'],
    'the map showed each state in turn',
  );
  assert.equal(await command.evaluate(() => performance.getEntriesByType('navigation').length), pageLoads, 'the map was never reloaded');
  await popupShown(command, id);
  await clearToasts(command);
  await shot(command, 'flow-8-command-closed');

  // ---- 9. The KPI dashboard counts it; the workbook's total row agrees with the tiles.
  await kpi.reload();
  assert.equal(await kpi.isChecked('#days-7'), true, 'the window stays at 7 days');
  const tilesAfter = await kpiTiles(kpi);
  // The window ends at the server's now, which the test moved past the handling deadline.
  const windowEnd = Date.parse((await (await fetch(`${server.base}/api/clock`)).json()).now);
  const apiAfter = (await read(supervisorToken, '/api/kpis?by=district&days=7'))[0].figures;
  assert.equal(tilesAfter.reported, apiAfter.reported);
  assert.equal(tilesAfter.closed, apiAfter.closed);
  // The window slides while the test runs: a demo case reported just 7 days ago may leave it meanwhile.
  const slid = (await allCases(commanderToken, { from: new Date(windowStart - 7 * DAY - 60000).toISOString(), to: new Date(windowEnd - 7 * DAY + 60000).toISOString() }));
  const mayLeave = { reported: slid.length, closed: slid.filter((c) => c.state === 'closed').length };
  for (const field of ['reported', 'closed']) {
    const grew = tilesAfter[field] - tilesBefore[field];
    if (mayLeave[field] === 0) assert.equal(grew, 1, `the ${field} count went up by one`);
    else assert.ok(grew <= 1 && grew >= 1 - mayLeave[field], `the ${field} count went up by one (less ${mayLeave[field]} that may have left the window): ${grew}`);
  }
  await shot(kpi, 'flow-9-kpi');

  const [download] = await Promise.all([kpi.waitForEvent('download'), kpi.click('#export')]);
  assert.match(download.suggestedFilename(), /^onegrid-kpi-street-7d-\d{8}\.xlsx$/);
  const dir = mkdtempSync(join(tmpdir(), 'onegrid-flow-'));
  try {
    const path = join(dir, download.suggestedFilename());
    await download.saveAs(path);
    const sheet = readWorkbook(path)['考核指标'];
    const header = sheet[0];
    const total = sheet[sheet.length - 1];
    assert.equal(total[0], '合计');
    const cellOf = (name) => {
      assert.ok(header.includes(name), `the workbook has a ${name} column`);
      return total[header.indexOf(name)];
    };
    assert.equal(cellOf('上报数'), tilesAfter.reported);
    assert.equal(cellOf('结案数'), tilesAfter.closed);
    assert.equal(cellOf('超期数'), tilesAfter.overdue);
    const asRate = (value) => (typeof value === 'number' ? rate(value) : value);
    assert.equal(asRate(cellOf('结案率')), tilesAfter.closure_rate);
    assert.equal(asRate(cellOf('按期处置率')), tilesAfter.on_time_handling_rate);
    assert.equal(asRate(cellOf('返工率')), tilesAfter.rework_rate);
    assert.equal(asRate(cellOf('满意率')), tilesAfter.satisfaction_rate);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // ---- 10. The case page shows the whole history, and the chain verifies.
  await waitForHistory(desk, id, 7);
  const kinds = await desk.$$eval('#case-view .timeline > li', (items) => items.map((li) => li.dataset.kind));
  assert.deepEqual(kinds, ['reported', 'accepted', 'dispatched', 'feedback_given', 'verified', 'closed', 'rated']);
  const history = await desk.textContent('#case-view .timeline');
  for (const words of ['主办：区城市管理委员会', '垃圾已全部清运', '已到现场查看', '予以结案', '5 分', '处理得很及时']) {
    assert.ok(history.includes(words), `the history says ${words}`);
  }
  assert.match(await desk.textContent('#case-view .chain'), /留痕完整，哈希链校验通过/);

  for (const page of pages) assert.deepEqual(page.problems, [], `no problems on the ${page.flowName} page`);
  for (const browser of browsers) assert.deepEqual(browser.outside, [], 'nothing is loaded from outside the server');
});
