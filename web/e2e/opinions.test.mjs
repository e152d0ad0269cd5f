// 舆情: posts sent through the API land in the page's decision filters; the dispatcher places a post
// that needs a place by clicking the grid map, and it becomes a case linked from its card; a dismissed
// post offers 「仍然立案」; a supervisor reads without the action; nothing comes from another host.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { COMMUNITY, DESKTOP, PHONE, call, cellsOf, login, pointInside } from './fixtures.mjs';
import { newPage, shot, signIn, startBrowser, startServer } from './harness.mjs';

const GOVERNANCE = '我们小区南门外那一排路灯坏了一个多月了，晚上一片漆黑，老人孩子出门都不敢走，请尽快派人维修';
const UNRELATED = '入手新款手机一周体验：屏幕素质很高，拍照色彩讨喜，夜景也不错，电池续航一天没问题，游戏帧率稳定，性价比很高，推荐购买';

let server;
let browser;
let needsPlace;
let dismissed;
before(async () => {
  server = await startServer();
  browser = await startBrowser(DESKTOP);
  const token = await login(server.base, 'dispatcher');
  const first = await call(server.base, token, '/api/opinions', {
    method: 'POST',
    body: { text: GOVERNANCE, source: '微博', url: 'https://weibo.example/1234/AbCd' },
  });
  assert.equal(first.decision, 'needs_place', JSON.stringify(first));
  needsPlace = first.id;
  const second = await call(server.base, token, '/api/opinions', { method: 'POST', body: { text: UNRELATED, source: '抖音' } });
  assert.equal(second.decision, 'dismissed', JSON.stringify(second));
  dismissed = second.id;
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

test('the dispatcher places a post on the map and it becomes a case', async () => {
  const page = await newPage(browser);
  await signIn(page, server.base, 'dispatcher');
  // The top bar offers the page to the dispatcher.
  await page.click('#topbar nav.pages a[href="/ui/opinions.html"]');
  await page.waitForURL(/\/ui\/opinions\.html$/);
  assert.equal(await page.getAttribute('.op-segments button[data-decision="needs_place"]', 'aria-pressed'), 'true');
  const card = page.locator(`#op-${needsPlace}`);
  await card.waitFor();
  assert.equal(await page.locator(`#op-${dismissed}`).count(), 0, 'a dismissed post is not among 待定位');
  const text = await card.textContent();
  assert.match(text, /微博/);
  assert.match(text, /待定位/);
  assert.match(text, /相关度 [01]\.\d\d/);
  assert.match(text, /路灯坏了一个多月/);
  assert.equal(await card.locator('a.op-case').count(), 0, 'no case yet');
  await shot(page, 'opinions-needs-place');

  // Keyboard: the action is a button; Enter opens the dialog with the map focused.
  await card.locator('button.op-place').focus();
  await page.keyboard.press('Enter');
  await page.waitForSelector('#place-dialog[open] #place-map svg path');
  assert.match(await page.textContent('#place-title'), new RegExp(`定位立案 · 舆情 #${needsPlace}`));
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'place-map');
  assert.equal(await page.isDisabled('#place-submit'), true, 'nothing to send without a pin');

  // Click inside a cell of the dispatcher's street (zoomed to it, as a person would).
  const [cell] = await cellsOf(server.base, COMMUNITY);
  const point = pointInside(cell);
  const spot = await page.evaluate(({ lon, lat }) => {
    const map = document.getElementById('place-map').leafletMap;
    map.setView([lat, lon], 16, { animate: false });
    const p = map.latLngToContainerPoint([lat, lon]);
    return { x: p.x, y: p.y };
  }, point);
  const box = await page.locator('#place-map').boundingBox();
  await page.mouse.click(box.x + spot.x, box.y + spot.y);
  await page.waitForSelector(`#place-where:has-text("${cell.properties.code}")`);
  assert.equal(await page.isDisabled('#place-submit'), false);
  await shot(page, 'opinions-place-dialog');

  await page.click('#place-submit');
  const toast = page.locator('.toast.ok');
  await toast.waitFor();
  const caseId = Number((await toast.textContent()).match(/已立案：案件 #(\d+)/)?.[1]);
  assert.ok(caseId > 0, 'the toast names the case');
  await page.waitForSelector('#place-dialog[open]', { state: 'detached' });
  await page.waitForSelector(`#op-${needsPlace} .op-decision:has-text("已立案")`);
  assert.equal(await card.locator('a.op-case').getAttribute('href'), `/ui/desk.html#case=${caseId}`);
  assert.equal(await card.locator('button.op-place').count(), 0, 'a placed post cannot be placed again');
  assert.equal(await page.evaluate(() => document.activeElement?.classList.contains('op-case')), true, 'focus lands on the case link');

  // The API agrees, and the case sits in the cell clicked, on the 舆情 channel.
  const token = await login(server.base, 'dispatcher');
  const post = await call(server.base, token, `/api/opinions/${needsPlace}`);
  assert.equal(post.decision, 'opened');
  assert.equal(post.case_id, caseId);
  assert.equal(post.placed_by, 'dispatcher');
  const placed = await call(server.base, token, `/api/cases/${caseId}`);
  const shown = placed.case ?? placed;
  assert.equal(shown.cell, cell.properties.code);
  assert.equal(shown.channel, 'public_opinion');

  // 已立案 lists it with its case link; 已排除 lists the dismissed one with 「仍然立案」.
  await page.click('.op-segments button[data-decision="opened"]');
  await page.waitForSelector(`#op-${needsPlace} a.op-case:has-text("案件 #${caseId}")`);
  assert.match(page.url(), /\?decision=opened$/);
  await page.click('.op-segments button[data-decision="dismissed"]');
  await page.waitForSelector(`#op-${dismissed} button.op-place:has-text("仍然立案")`);
  assert.equal(await page.locator(`#op-${needsPlace}`).count(), 0);
  await page.click('.op-segments button[data-decision=""]');
  await page.waitForSelector(`#op-${dismissed}`);
  await page.waitForSelector(`#op-${needsPlace}`);
  // Newest first.
  const order = await page.$$eval('.op-card', (cards) => cards.map((c) => Number(c.dataset.id)));
  assert.deepEqual(order, [...order].sort((a, b) => b - a));
  await page.locator('main.op').hover();
  await shot(page, 'opinions');

  // The link opens the case on the desk.
  await page.click(`#op-${needsPlace} a.op-case`);
  await page.waitForSelector(`#case-view .case-kicker:has-text("#${caseId}")`);

  assert.deepEqual(page.problems, []);
  assert.deepEqual(browser.outside, []);
  await page.close();
});

test('placing a post twice is refused in words; a supervisor reads without the action', async () => {
  const page = await newPage(browser);
  await signIn(page, server.base, 'supervisor');
  await page.goto(`${server.base}/ui/opinions.html?decision=all`);
  await page.waitForSelector(`#op-${needsPlace}`);
  await page.waitForSelector(`#op-${dismissed}`);
  assert.equal(await page.locator('button.op-place').count(), 0, 'a supervisor may not place posts');
  assert.match(await page.textContent('#op-intro'), /您可以查看舆情/);
  assert.equal(await page.locator('#topbar nav.pages a[href="/ui/opinions.html"].current').count(), 1);
  await shot(page, 'opinions-supervisor');
  assert.deepEqual(page.problems, []);
  await page.close();

  // A second desk with a stale list: the server says it was placed already; the page says so.
  const desk = await newPage(browser);
  await signIn(desk, server.base, 'dispatcher');
  const token = await login(server.base, 'dispatcher');
  const another = await call(server.base, token, '/api/opinions', {
    method: 'POST',
    body: { text: '东丽湖公园北侧步道的护栏被撞倒了好几段，晚上散步的人很容易摔进湖边的水沟里，希望尽快修好', source: '本地论坛' },
  });
  assert.equal(another.decision, 'needs_place', JSON.stringify(another));
  await desk.goto(`${server.base}/ui/opinions.html`);
  await desk.locator(`#op-${another.id} button.op-place`).click();
  await desk.waitForSelector('#place-dialog[open] #place-map svg path');
  const [cell] = await cellsOf(server.base, COMMUNITY);
  await call(server.base, token, `/api/opinions/${another.id}/place`, { method: 'POST', body: { cell: cell.properties.code } });
  const point = pointInside(cell);
  const spot = await desk.evaluate(({ lon, lat }) => {
    const map = document.getElementById('place-map').leafletMap;
    map.setView([lat, lon], 16, { animate: false });
    const p = map.latLngToContainerPoint([lat, lon]);
    return { x: p.x, y: p.y };
  }, point);
  const box = await desk.locator('#place-map').boundingBox();
  await desk.mouse.click(box.x + spot.x, box.y + spot.y);
  await desk.click('#place-submit');
  await desk.waitForSelector('.toast.error:has-text("已被别人立案或并入案件")');
  await shot(desk, 'opinions-placed-twice');
  await desk.waitForSelector(`#op-${another.id}`, { state: 'detached' });
  assert.deepEqual(
    desk.problems.filter((p) => !/status of 409/.test(p)),
    [],
  );
  assert.deepEqual(browser.outside, []);
  await desk.close();
});

test('readable at phone width', async () => {
  const phone = await startBrowser(PHONE);
  try {
    const page = await newPage(phone);
    await signIn(page, server.base, 'dispatcher');
    await page.goto(`${server.base}/ui/opinions.html?decision=all`);
    await page.waitForSelector(`#op-${dismissed}`);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `no sideways scrolling (${overflow}px)`);
    await shot(page, 'opinions-phone');
    await page.locator(`#op-${dismissed} button.op-place`).click();
    await page.waitForSelector('#place-dialog[open] #place-map svg path');
    assert.match(await page.textContent('#place-title'), /仍然立案/);
    await shot(page, 'opinions-phone-dialog');
    await page.click('#place-cancel');
    await page.waitForSelector('#place-dialog[open]', { state: 'detached' });
    assert.deepEqual(page.problems, []);
    assert.deepEqual(phone.outside, []);
  } finally {
    await phone.close();
  }
});
