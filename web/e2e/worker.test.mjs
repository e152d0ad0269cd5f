// The grid worker's phone page: report with a photo at a GPS point, settle it on the spot in two taps,
// verify a case a department says is done, and place the position by hand when there is no GPS.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { COMMUNITY, PHONE, call, cellsOf, login, png, pointInside } from './fixtures.mjs';
import { focusVisible, newPage, shot, signIn, startBrowser, startServer, tabUntil } from './harness.mjs';

// ---------------------------------------------------------------- helpers

/** A case reported by a citizen and handled by 城管, waiting for the grid worker's verification. */
async function caseAwaitingVerification(base, point, { title = '小区门口垃圾桶满溢', description = '垃圾桶已经满出来好几天了，气味很大。' } = {}) {
  const citizen = await login(base, 'citizen');
  const outcome = await call(base, citizen, '/api/cases', {
    method: 'POST',
    body: { title, description, location: point },
  });
  const id = outcome.case.id;
  const dispatcher = await login(base, 'dispatcher');
  await call(base, dispatcher, `/api/cases/${id}/commands`, { method: 'POST', body: { command: 'accept' } });
  await call(base, dispatcher, `/api/cases/${id}/commands`, { method: 'POST', body: { command: 'dispatch', department: 'chengguan' } });
  const handler = await login(base, 'handler');
  const form = new FormData();
  form.append('photo', new Blob([png(40, 30, [40, 140, 70])], { type: 'image/png' }), 'after.png');
  const { photos } = await call(base, handler, '/api/photos', { method: 'POST', form });
  await call(base, handler, `/api/cases/${id}/commands`, {
    method: 'POST',
    body: { command: 'feedback', evidence: photos, note: '已清运垃圾并冲洗地面。' },
  });
  return id;
}

// ---------------------------------------------------------------- tests

let server;
let cells;
before(async () => {
  server = await startServer();
  cells = await cellsOf(server.base, COMMUNITY);
  assert.ok(cells.length > 1, 'the worker’s community has cells');
});
after(async () => {
  await server?.stop();
});

test('a grid worker reports with a photo at the GPS point, settles it in two taps, and it leaves the open list', async () => {
  const point = pointInside(cells[0]);
  const browser = await startBrowser(PHONE);
  try {
    await browser.context.grantPermissions(['geolocation'], { origin: server.base });
    await browser.context.setGeolocation({ latitude: point.lat, longitude: point.lon, accuracy: 12 });
    const page = await newPage(browser);
    await signIn(page, server.base, 'gridworker');
    assert.match(page.url(), /\/ui\/worker\.html/);
    await page.waitForSelector('#report-position-status:has-text("已用手机定位")');
    await page.waitForSelector('#report-place:has-text("第1网格")');
    await page.setInputFiles('#report-photo', { name: 'loose-tiles.png', mimeType: 'image/png', buffer: png() });
    await page.waitForSelector('#report-form .thumbs img');
    await page.fill('#report-title', '人行道地砖松动');
    await page.fill('#report-description', '便民超市门前人行道有三块地砖松动翘起，行人容易绊倒。');
    await page.waitForFunction(() => document.querySelectorAll('#report-category option').length > 10);
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, 'grid-worker');

    const sent = page.waitForResponse((r) => r.url().endsWith('/api/cases/upload'));
    await page.click('#report-submit');
    assert.equal((await sent).status(), 201);
    await page.waitForSelector('#outcome-case');
    const id = Number((await page.textContent('#outcome-case')).replace('#', ''));
    assert.ok(id > 0, 'the case number is shown');
    assert.match(await page.textContent('#outcome-cell'), new RegExp(cells[0].properties.code));
    assert.match(await page.textContent('#outcome-category'), /系统根据描述识别/);

    // 自处置 in two taps.
    await page.waitForSelector('#outcome-settle');
    await shot(page, 'grid-worker-outcome');
    let taps = 0;
    await page.click('#outcome-settle');
    taps += 1;
    await page.waitForSelector('#settle-dialog[open]');
    assert.equal(await page.inputValue('#settle-note'), '网格员已现场处置完毕。');
    await shot(page, 'grid-worker-settle');
    await page.click('#settle-confirm');
    taps += 1;
    await page.waitForSelector('#outcome-state:has-text("待核查")');
    assert.equal(taps, 2);
    const worker = await login(server.base, 'gridworker');
    const detail = await call(server.base, worker, `/api/cases/${id}`);
    assert.equal(detail.case.state, 'awaiting_verification');
    assert.equal(detail.case.handler, 'grid');
    assert.equal(detail.case.photos.length, 1, 'the photo went with the report');

    // It leaves the open list (and waits for someone else in the verification list).
    await page.click('#tab-open');
    await page.waitForSelector('#open-list > li.case-card, #open-list > li.empty');
    assert.equal(await page.locator(`#open-list li[data-case="${id}"]`).count(), 0);
    await shot(page, 'grid-worker-open');
    await page.click('#tab-verify');
    await page.waitForSelector(`#verify-list li[data-case="${id}"] .not-mine`);

    // Back to reporting: a similar report nearby proposes the first case as a duplicate.
    await page.click('#tab-report');
    await page.click('#report-another');
    await page.waitForSelector('#report-form', { state: 'visible' });
    await page.fill('#report-title', '超市门口地砖翘起');
    await page.fill('#report-description', '超市门口人行道地砖翘起来了，请派人修一下。');
    await page.click('#report-submit');
    await page.waitForSelector('#outcome-duplicates');
    assert.match(await page.textContent('#outcome-duplicates'), new RegExp(`#${id} · 相似度 \\d+%`));
    await shot(page, 'grid-worker-duplicates');
    assert.deepEqual(page.problems, []);
    assert.deepEqual(browser.outside, [], 'nothing is loaded from outside the server');
  } finally {
    await browser.close();
  }
});

test('an open case of my cells can be settled from the list', async () => {
  const point = pointInside(cells[1]);
  const citizen = await login(server.base, 'citizen');
  const outcome = await call(server.base, citizen, '/api/cases', {
    method: 'POST',
    body: { title: '楼道里堆放杂物', description: '三号楼一单元楼道堆满纸箱，堵住消防通道。', location: point },
  });
  const id = outcome.case.id;
  const browser = await startBrowser(PHONE);
  try {
    const page = await newPage(browser);
    await signIn(page, server.base, 'gridworker');
    await page.click('#tab-open');
    const card = page.locator(`#open-list li[data-case="${id}"]`);
    await card.waitFor();
    assert.match(await card.textContent(), /待受理/);
    assert.match(await card.textContent(), /剩|超期/, 'the deadline is shown');
    await card.locator('.case-head').click();
    await card.locator('[data-settle]').click();
    await page.setInputFiles('#settle-photo', { name: 'cleared.png', mimeType: 'image/png', buffer: png(30, 30, [30, 120, 200]) });
    await page.waitForSelector('#settle-dialog .thumbs img');
    await page.fill('#settle-note', '已联系物业清走纸箱。');
    await shot(page, 'grid-worker-settle-list');
    await page.click('#settle-confirm');
    await page.waitForSelector(`#open-list li[data-case="${id}"]`, { state: 'detached' });
    const worker = await login(server.base, 'gridworker');
    const detail = await call(server.base, worker, `/api/cases/${id}`);
    assert.equal(detail.case.state, 'awaiting_verification');
    assert.match(detail.case.evidence[0], /^[0-9a-f]{64}$/, 'the evidence photo was uploaded first');
    assert.deepEqual(page.problems, []);
  } finally {
    await browser.close();
  }
});

test('a grid worker verifies a case a department says is done', async () => {
  const id = await caseAwaitingVerification(server.base, pointInside(cells[2]));
  const browser = await startBrowser(PHONE);
  try {
    const page = await newPage(browser);
    await signIn(page, server.base, 'gridworker');
    await page.click('#tab-verify');
    const card = page.locator(`#verify-list li[data-case="${id}"]`);
    await card.waitFor();
    assert.match(await card.locator('.feedback-note').textContent(), /已清运垃圾并冲洗地面/);
    assert.match(await card.textContent(), /区城市管理委员会/);
    // The evidence photo is fetched with the token and shown.
    await page.waitForFunction(
      (caseId) => {
        const img = document.querySelector(`#verify-list li[data-case="${caseId}"] img[data-photo]`);
        return img && img.complete && img.naturalWidth > 0;
      },
      id,
    );
    await shot(page, 'grid-worker-verify');
    // Tapping the photo opens it large.
    await card.locator('button.thumb').first().click();
    await page.waitForSelector('dialog.lightbox[open] img[src^="blob:"]');
    await page.click('dialog.lightbox[open] button');
    await page.waitForSelector('dialog.lightbox[open]', { state: 'detached' }).catch(() => {});
    assert.equal(await page.locator('dialog.lightbox[open]').count(), 0);

    // Not passing needs a note: nothing is sent without one.
    let commands = 0;
    page.on('request', (r) => r.url().includes(`/api/cases/${id}/commands`) && (commands += 1));
    await card.locator('button:has-text("核查不通过")').click();
    await card.locator('.form-error:has-text("请写明")').waitFor();
    assert.equal(commands, 0);

    await card.locator('textarea').fill('已到现场查看，地面干净。');
    await card.locator('button:has-text("核查通过")').click();
    await card.waitFor({ state: 'detached' });
    const worker = await login(server.base, 'gridworker');
    const detail = await call(server.base, worker, `/api/cases/${id}`);
    assert.equal(detail.case.state, 'verified');
    assert.deepEqual(page.problems, []);
  } finally {
    await browser.close();
  }
});

test('without GPS the worker places the position with a tap on the map of their cells', async () => {
  const target = cells[cells.length - 1];
  const point = pointInside(target);
  const browser = await startBrowser(PHONE);
  try {
    await browser.context.clearPermissions();
    const page = await newPage(browser);
    await signIn(page, server.base, 'gridworker');
    await page.waitForSelector('#report-position-status:has-text("地图上点一下")');
    await page.waitForSelector('#report-map path.leaflet-interactive, #report-map svg path');
    const cellCount = await page.locator('#report-map svg path').count();
    assert.equal(cellCount, cells.length, 'the map shows the worker’s cells only');
    // Nothing to send without a position.
    await page.fill('#report-title', '井盖缺失');
    await page.click('#report-submit');
    await page.waitForSelector('#report-error:has-text("还没有位置")');
    await shot(page, 'grid-worker-nogps');

    const map = page.locator('#report-map');
    await map.scrollIntoViewIfNeeded();
    const spot = await page.evaluate(({ lat, lon }) => {
      const box = document.getElementById('report-map');
      const p = box.leafletMap.latLngToContainerPoint([lat, lon]);
      return { x: p.x, y: p.y };
    }, point);
    const box = await map.boundingBox();
    await page.touchscreen.tap(box.x + spot.x, box.y + spot.y);
    await page.waitForSelector('#report-position-status:has-text("已在地图上选定位置")');
    assert.match(await page.textContent('#report-place'), new RegExp(target.properties.name));
    await page.fill('#report-description', '路口西侧雨水井盖丢失，已临时放置警示桶。');
    await page.click('#report-submit');
    await page.waitForSelector('#outcome-case');
    assert.match(await page.textContent('#outcome-cell'), new RegExp(target.properties.code));
    assert.deepEqual(page.problems, []);
  } finally {
    await browser.close();
  }
});

test('a verification that fails needs a note and sends the case back to the department', async () => {
  const id = await caseAwaitingVerification(server.base, pointInside(cells[3 % cells.length]), {
    title: '健身器材损坏',
    description: '小区广场的漫步机踏板断了，老人锻炼时容易受伤。',
  });
  const browser = await startBrowser(PHONE);
  try {
    const page = await newPage(browser);
    await signIn(page, server.base, 'gridworker');
    await page.click('#tab-verify');
    const card = page.locator(`#verify-list li[data-case="${id}"]`);
    await card.waitFor();
    await card.locator('textarea').fill('踏板只是用胶带缠了一下，没有更换，仍然不能使用。');
    await card.locator('button:has-text("核查不通过")').scrollIntoViewIfNeeded();
    await shot(page, 'grid-worker-verify-fail');
    await card.locator('button:has-text("核查不通过")').click();
    await card.waitFor({ state: 'detached' });
    await page.waitForSelector(`.toast.ok:has-text("#${id}")`);
    const worker = await login(server.base, 'gridworker');
    const detail = await call(server.base, worker, `/api/cases/${id}`);
    assert.equal(detail.case.state, 'handling', 'back with the department');
    assert.equal(detail.case.department, 'chengguan');
    assert.equal(detail.case.rework_count, 1);
    assert.equal(detail.case.reason, '踏板只是用胶带缠了一下，没有更换，仍然不能使用。');
    const last = detail.history.at(-1);
    assert.equal(last.kind.type, 'verification_failed');
    assert.equal(last.actor.role, 'grid_worker');
    assert.deepEqual(page.problems, []);
  } finally {
    await browser.close();
  }
});

test('the worker page works with the keyboard: tabs, a case of my cells, 自处置', async () => {
  const citizen = await login(server.base, 'citizen');
  const outcome = await call(server.base, citizen, '/api/cases', {
    method: 'POST',
    body: { title: '共享单车堵住盲道', description: '地铁站出口十几辆共享单车把盲道完全堵住了。', location: pointInside(cells[4 % cells.length]) },
  });
  const id = outcome.case.id;
  const browser = await startBrowser(PHONE);
  try {
    const page = await newPage(browser);
    await signIn(page, server.base, 'gridworker');
    await page.waitForSelector('#tab-report[aria-selected="true"]');
    // The tab bar: Tab reaches the selected tab, the arrow keys move between tabs.
    await tabUntil(page, () => document.activeElement?.id === 'tab-report', 'the tab bar', { limit: 120 });
    assert.ok(await focusVisible(page), 'the focused tab shows a focus ring');
    await page.keyboard.press('ArrowRight');
    await page.waitForSelector('#tab-open[aria-selected="true"]');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'tab-open');
    assert.equal(await page.isVisible('#section-open'), true);
    assert.equal(await page.isVisible('#section-report'), false);
    await page.keyboard.press('ArrowRight');
    await page.waitForSelector('#tab-verify[aria-selected="true"]');
    await page.keyboard.press('ArrowLeft');
    await page.waitForSelector('#tab-open[aria-selected="true"]');

    // Into the list: the case opens with Enter, its 当场解决 button is next, Enter opens the
    // dialog with the confirm button focused, and Enter settles it.
    await page.waitForSelector(`#open-list li[data-case="${id}"] .case-head`);
    await tabUntil(page, (caseId) => document.activeElement?.matches(`#open-list li[data-case="${caseId}"] .case-head`), `case #${id}`, { arg: id, limit: 400 });
    assert.ok(await focusVisible(page), 'the focused case shows a focus ring');
    await page.keyboard.press('Enter');
    await page.waitForSelector(`#open-list li[data-case="${id}"] .case-head[aria-expanded="true"]`);
    await page.waitForSelector(`#open-list li[data-case="${id}"] [data-settle]`);
    await tabUntil(page, (caseId) => document.activeElement?.dataset?.settle === String(caseId), 'the settle button', { arg: id, limit: 10 });
    assert.ok(await focusVisible(page), 'the focused settle button shows a focus ring');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#settle-dialog[open]');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'settle-confirm');
    await shot(page, 'grid-worker-keyboard');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#settle-dialog[open]', { state: 'detached' }).catch(() => {});
    await page.waitForSelector(`#open-list li[data-case="${id}"]`, { state: 'detached' });
    const worker = await login(server.base, 'gridworker');
    const detail = await call(server.base, worker, `/api/cases/${id}`);
    assert.equal(detail.case.state, 'awaiting_verification');
    assert.equal(detail.case.handler, 'grid');
    assert.deepEqual(page.problems, []);
    assert.deepEqual(browser.outside, []);
  } finally {
    await browser.close();
  }
});
