// The case desk: the queue sorted by deadline, a citizen's report accepted and dispatched by the
// dispatcher through the dialogs, handled with photo evidence by the department, the live feed, the
// history and its hash chain, buttons only for allowed commands, and a stale form refused in words.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { png } from './fixtures.mjs';
import { PASSWORD, newPage, shot, signIn, startBrowser, startServer } from './harness.mjs';

let server;
let browser;
before(async () => {
  server = await startServer();
  browser = await startBrowser();
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

/** A point inside a grid cell of community 120110001001 (street 120110001, the dispatcher's). */
async function pointInFirstCommunity() {
  const geo = await (await fetch(`${server.base}/api/grid/cell`)).json();
  const cell = geo.features.find((f) => f.properties.parent === '120110001001');
  assert.ok(cell, 'community 120110001001 has cells');
  const ring = cell.geometry.type === 'MultiPolygon' ? cell.geometry.coordinates[0][0] : cell.geometry.coordinates[0];
  const corners = ring.slice(0, -1);
  return {
    cell: cell.properties.code,
    lon: corners.reduce((sum, p) => sum + p[0], 0) / corners.length,
    lat: corners.reduce((sum, p) => sum + p[1], 0) / corners.length,
  };
}

/** Reports a case as the demo citizen; resolves with its number. */
async function citizenReport(title, description) {
  const token = await login('citizen');
  const point = await pointInFirstCommunity();
  const response = await fetch(`${server.base}/api/cases`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ title, description, location: { lon: point.lon, lat: point.lat } }),
  });
  const answer = await response.json();
  assert.equal(response.status, 201, JSON.stringify(answer));
  assert.match(answer.case.cell, /^120110001001/);
  return answer.case.id;
}

const timelineLength = (page) => page.locator('#case-view .timeline > li').count();

/** Gives a command through the API (to set a case up; the commands under test go through the page). */
async function command(account, id, body) {
  const token = await login(account);
  const response = await fetch(`${server.base}/api/cases/${id}/commands`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 200, await response.text());
}

/** The case and its history as the API has them (read only, to check what the page did). */
async function detailOf(id, account = 'dispatcher') {
  const token = await login(account);
  const response = await fetch(`${server.base}/api/cases/${id}`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(response.status, 200);
  return response.json();
}

/** A citizen's report, accepted and dispatched to 城管 (chengguan): the department is handling it. */
async function handlingCase(title, description) {
  const id = await citizenReport(title, description);
  await command('dispatcher', id, { command: 'accept' });
  await command('dispatcher', id, { command: 'dispatch', department: 'chengguan' });
  return id;
}

async function removeToasts(page) {
  await page.evaluate(() => document.querySelectorAll('#toasts .toast').forEach((toast) => toast.remove()));
}

/**
 * Opens `action`'s dialog, checks that an empty reason is refused in words without a request, fills
 * `reason` into `field`, submits, and waits for the history to reach `entries`.
 */
async function giveWithReason(page, action, field, reason, entries) {
  await page.click(`#case-view .actions-bar button[data-action="${action}"]`);
  await page.waitForSelector(`#command-dialog[open] ${field}`);
  let sent = 0;
  const count = (request) => request.url().includes('/commands') && (sent += 1);
  page.on('request', count);
  await page.click('#command-submit');
  await page.waitForSelector('#command-error:not(.hidden)');
  assert.match(await page.textContent('#command-error'), /请填写原因/);
  assert.equal(sent, 0, 'nothing is sent without a reason');
  page.off('request', count);
  await page.fill(field, reason);
  await page.click('#command-submit');
  if (entries) await waitForTimeline(page, entries);
}

async function waitForTimeline(page, n) {
  await page.waitForFunction((want) => document.querySelectorAll('#case-view .timeline > li').length === want, n);
}

async function openCase(page, id) {
  await page.goto(`${server.base}/ui/desk.html#case=${id}`);
  await page.waitForSelector(`#case-view .case-kicker:has-text("#${id}")`);
  await page.waitForSelector('#case-view .timeline > li');
}

test('the dispatcher’s queue is sorted by deadline, overdue (red) first', async () => {
  const page = await newPage(browser);
  await signIn(page, server.base, 'dispatcher');
  assert.match(page.url(), /\/ui\/desk\.html/);
  await page.waitForSelector('#queue-list a.qrow');
  const rows = await page.$$eval('#queue-list a.qrow', (links) => links.map((a) => ({
    id: Number(a.dataset.id),
    due: a.dataset.due,
    colour: a.dataset.colour,
    text: a.textContent,
  })));
  assert.ok(rows.length >= 3, `the dispatcher has open cases (${rows.length})`);
  const reds = rows.filter((r) => r.colour === 'red');
  assert.ok(reds.length > 0, 'the demo has overdue cases in the street');
  // Reds come first; then deadlines ascend; cases without a running deadline come last.
  const firstNonRed = rows.findIndex((r) => r.colour !== 'red');
  if (firstNonRed >= 0) assert.ok(rows.slice(firstNonRed).every((r) => r.colour !== 'red'), 'no red after a non-red');
  const withDue = rows.filter((r) => r.due);
  const firstNoDue = rows.findIndex((r) => !r.due);
  if (firstNoDue >= 0) assert.ok(rows.slice(firstNoDue).every((r) => !r.due), 'cases without a deadline come last');
  for (const group of [withDue.filter((r) => r.colour === 'red'), withDue.filter((r) => r.colour !== 'red')]) {
    for (let i = 1; i < group.length; i += 1) {
      assert.ok(Date.parse(group[i - 1].due) <= Date.parse(group[i].due), `#${group[i - 1].id} is due before #${group[i].id}`);
    }
  }
  for (const red of reds) assert.match(red.text, /超期/, 'a red row says it is overdue');
  assert.match(await page.textContent('#queue-count'), /超期 \d+ 件/);

  // Keyboard: rows are links; Enter opens the case.
  await page.focus('#queue-list a.qrow >> nth=0');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await page.waitForURL(new RegExp(`#case=${rows[1].id}$`));
  await page.waitForSelector(`#case-view .case-kicker:has-text("#${rows[1].id}")`);
  assert.equal(await page.getAttribute(`#queue-list a.qrow[data-id="${rows[1].id}"]`, 'aria-current'), 'true');

  // The closed tab lists finished cases only.
  await page.click('.segments button[data-scope="finished"]');
  await page.waitForFunction(() => [...document.querySelectorAll('#queue-list a.qrow')].length > 0
    && [...document.querySelectorAll('#queue-list .badge.state')].every((b) => /已结案|不予受理|已合并/.test(b.textContent)));
  await shot(page, 'case-desk-queue-finished');
  assert.deepEqual(page.problems, []);
  assert.deepEqual(browser.outside, []);
});

test('report → accept → dispatch → feedback with a photo, live on the dispatcher’s screen', async () => {
  const title = '幸福里小区南门垃圾堆放';
  const id = await citizenReport(title, '幸福里小区南门口有一堆生活垃圾，已经好几天没人清理，气味很大，请尽快处理。');

  const desk = await newPage(browser);
  await signIn(desk, server.base, 'dispatcher');
  await openCase(desk, id);
  assert.equal(await desk.textContent('#case-view h2'), title);
  assert.equal(await timelineLength(desk), 1);
  assert.match(await desk.textContent('#case-view .chain'), /留痕完整，哈希链校验通过/);
  // The reporter is shown to the dispatcher (in clear), the map inset shows the cell.
  assert.match(await desk.textContent('#case-view .facts'), /王女士/);
  await desk.waitForSelector('#case-view .map-inset path.cell-outline');
  // Buttons: exactly the allowed commands.
  const commands = await desk.$$eval('#case-view .actions-bar button', (b) => b.map((x) => x.dataset.command));
  assert.deepEqual(commands.sort(), ['accept', 'merge_into', 'reject']);

  // Accept, correcting the category the classifier suggested to 暴露垃圾 (S0101, 城管's).
  await desk.click('#case-view button[data-command="accept"]');
  await desk.waitForSelector('#command-dialog[open] #f-category');
  await desk.selectOption('#f-category', 'S0101');
  await desk.click('#command-submit');
  await waitForTimeline(desk, 2);
  await desk.waitForSelector('#case-view .badge.state:has-text("已立案")');
  assert.match(await desk.textContent('#case-view .facts'), /暴露垃圾（S0101）/);
  assert.match(await desk.textContent('#case-view .timeline > li:nth-child(2)'), /受理立案[\s\S]*类别：暴露垃圾/);
  assert.equal(await desk.locator('#case-view button[data-command="accept"]').count(), 0, 'accept is gone once done');

  // Dispatch to the city management department (城管) through the dialog.
  await desk.click('#case-view button[data-command="dispatch"]');
  await desk.waitForSelector('#command-dialog[open] #f-department');
  assert.equal(await desk.inputValue('#f-department'), 'chengguan', 'the category’s department is the default');
  await desk.selectOption('#f-department', 'chengguan');
  assert.equal(await desk.isDisabled('#f-co input[value="chengguan"]'), true, 'the lead cannot also co-handle');
  await desk.check('#f-co input[value="shuiwu"]');
  await shot(desk, 'case-desk-dialog');
  await desk.click('#command-submit');
  await waitForTimeline(desk, 3);
  await desk.waitForSelector('#case-view .badge.state:has-text("处置中")');
  assert.match(await desk.textContent('#case-view .facts'), /区城市管理委员会/);
  assert.match(await desk.textContent('#case-view .timeline'), /主办：区城市管理委员会/);
  await desk.waitForSelector(`#queue-list a.qrow[data-id="${id}"]`);

  // The chengguan handler, in another browser, gives feedback with a photo.
  const other = await startBrowser();
  try {
    const handler = await newPage(other);
    await signIn(handler, server.base, 'handler');
    assert.match(handler.url(), /\/ui\/desk\.html/);
    await handler.waitForSelector(`#queue-list a.qrow[data-id="${id}"]`);
    await handler.click(`#queue-list a.qrow[data-id="${id}"]`);
    await handler.waitForSelector(`#case-view .case-kicker:has-text("#${id}")`);
    await handler.waitForSelector('#case-view .timeline > li');
    assert.equal(await timelineLength(handler), 3);
    // The handler sees the reporter masked.
    assert.doesNotMatch(await handler.textContent('#case-view .facts'), /王女士（演示市民）/);
    const allowed = await handler.$$eval('#case-view .actions-bar button', (b) => b.map((x) => x.dataset.command));
    assert.ok(allowed.includes('feedback') && allowed.includes('return'), allowed.join());
    assert.equal(await handler.locator('#case-view button[data-command="close"]').count(), 0, 'no close for a handler');
    assert.equal(await handler.locator('#case-view button[data-command="accept"]').count(), 0, 'no accept for a handler');

    await handler.click('#case-view button[data-command="feedback"]');
    await handler.waitForSelector('#command-dialog[open]');
    // Without a photo the form says what is missing.
    await handler.click('#command-submit');
    assert.match(await handler.textContent('#command-error'), /至少附一张照片/);
    await handler.setInputFiles('#f-photos', { name: 'done.png', mimeType: 'image/png', buffer: png() });
    await handler.waitForSelector('#command-dialog .photos.preview img');
    assert.equal(await handler.isVisible('#command-error'), false, 'the hint goes once a photo is chosen');
    await handler.fill('#command-dialog textarea', '垃圾已清运，地面已冲洗。');
    await shot(handler, 'case-desk-feedback');
    await handler.click('#command-submit');
    await waitForTimeline(handler, 4);
    await handler.waitForSelector('#case-view .badge.state:has-text("待核查")');
    assert.match(await handler.textContent('#case-view .timeline'), /垃圾已清运/);
    // The evidence photo is loaded through the bearer token as an object URL.
    await handler.waitForFunction(() => {
      const img = document.querySelector('#case-view .timeline .photos img');
      return img && img.src.startsWith('blob:') && img.complete && img.naturalWidth === 48;
    });
    assert.match(await handler.textContent('#case-view .chain'), /哈希链校验通过/);
    assert.equal(await handler.locator('#case-view button[data-command="feedback"]').count(), 0);
    assert.deepEqual(handler.problems, []);
  } finally {
    await other.close();
  }

  // The dispatcher's page follows the live feed: the feedback appears without a reload.
  await waitForTimeline(desk, 4);
  await desk.waitForSelector('#case-view button[data-command="verify"]');
  await desk.waitForFunction(() => [...document.querySelectorAll('#case-view .photos img')].some((img) => img.complete && img.naturalWidth > 0));
  await desk.evaluate(() => document.querySelectorAll('#toasts .toast').forEach((toast) => toast.remove()));
  await shot(desk, 'case-desk');
  assert.deepEqual(desk.problems, []);
  assert.deepEqual(browser.outside, []);
});

test('acting on a case someone else has just changed is refused with a sentence', async () => {
  const id = await citizenReport('路灯不亮', '建设路和幸福路路口的路灯晚上不亮，行人看不清路。');
  const first = await newPage(browser);
  await signIn(first, server.base, 'dispatcher');
  const second = await newPage(browser);
  await openCase(first, id);
  await openCase(second, id);

  // The second tab opens the reject form; meanwhile the first tab accepts the case.
  await second.click('#case-view button[data-command="reject"]');
  await second.waitForSelector('#command-dialog[open]');
  await second.fill('#command-dialog textarea', '重复上报');

  await first.click('#case-view button[data-command="accept"]');
  await first.waitForSelector('#command-dialog[open]');
  await first.click('#command-submit');
  await waitForTimeline(first, 2);

  await second.click('#command-submit');
  await second.waitForSelector('#command-error:not(.hidden)');
  assert.equal(await second.textContent('#command-error-text'), '案件刚刚被其他人更新过，请刷新后再操作。');
  await shot(second, 'case-desk-conflict');
  await second.click('#command-refresh');
  await second.waitForSelector('#command-dialog:not([open])', { state: 'attached' });
  await second.waitForSelector('#case-view button[data-command="dispatch"]');
  assert.equal(await second.locator('#case-view button[data-command="reject"]').count(), 0);
  assert.equal(await timelineLength(second), 2);

  const problems = second.problems.filter((p) => !/status of 409/.test(p));
  assert.deepEqual(problems, []);
  assert.deepEqual(first.problems, []);
});

test('on a phone the queue comes first, then the case full width', async () => {
  const id = await citizenReport('井盖缺失', '幸福里小区北门外人行道上的井盖不见了，很危险。');
  const phone = await startBrowser({ width: 390, height: 844, mobile: true });
  try {
    const page = await newPage(phone);
    await signIn(page, server.base, 'dispatcher');
    await page.waitForSelector('#queue-list a.qrow');
    assert.equal(await page.isVisible('#case-pane'), false, 'the case pane waits for a case');
    await shot(page, 'case-desk-phone-queue');
    await page.click(`#queue-list a.qrow[data-id="${id}"]`);
    await page.waitForSelector(`#case-view .case-kicker:has-text("#${id}")`);
    assert.equal(await page.isVisible('#queue'), false, 'the queue steps aside');
    assert.equal(await page.isVisible('#case-view button.back'), true);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `nothing sticks out sideways (${overflow}px)`);
    await page.waitForSelector('#case-view .map-inset path.cell-outline');
    await shot(page, 'case-desk-phone');
    await page.waitForSelector('#case-view .timeline > li');
    await shot(page, 'case-desk-phone-full', { fullPage: true });
    await page.click('#case-view button.back');
    await page.waitForSelector('#queue-list a.qrow');
    assert.equal(await page.isVisible('#queue'), true);
    assert.deepEqual(page.problems, []);
    assert.deepEqual(phone.outside, []);
  } finally {
    await phone.close();
  }
});

test('the desk speaks English after the language switch', async () => {
  const page = await newPage(browser);
  await signIn(page, server.base, 'commander');
  await page.goto(`${server.base}/ui/desk.html`);
  await page.waitForSelector('#queue-list a.qrow');
  await page.click('#topbar button:has-text("English")');
  await page.waitForSelector('#queue-title:has-text("Cases to act on")');
  await page.waitForSelector('#queue-list a.qrow');
  assert.match(await page.textContent('.segments'), /Closed & rejected/);
  await page.click('#queue-list a.qrow >> nth=0');
  await page.waitForSelector('#case-view .timeline > li');
  assert.match(await page.textContent('#case-view .chain'), /hash chain verifies/);
  await page.waitForSelector('#case-view .map-inset path.cell-outline');
  await page.evaluate(() => document.querySelectorAll('#toasts .toast').forEach((toast) => toast.remove()));
  await shot(page, 'case-desk-en');
  await page.evaluate(() => localStorage.setItem('onegrid.lang', 'zh'));
  assert.deepEqual(page.problems, []);
});

test('extension asked by the department, approved by the dispatcher; supervision and escalation', async () => {
  // The earlier tests' pages stay open on purpose: more desk tabs than the browser's six connections
  // per server must still work (one tab per account holds the live feed).
  const id = await citizenReport('道路积水', '幸福里小区东侧道路下雨后积水很深，车辆无法通行。');
  const token = await login('dispatcher');
  for (const command of [{ command: 'accept' }, { command: 'dispatch', department: 'chengguan' }]) {
    const response = await fetch(`${server.base}/api/cases/${id}/commands`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(command),
    });
    assert.equal(response.status, 200, await response.text());
  }

  const page = await newPage(browser);
  await signIn(page, server.base, 'handler');
  await openCase(page, id);
  await page.click('#case-view button[data-command="request_extension"]');
  await page.waitForSelector('#command-dialog[open] #f-hours');
  await page.fill('#f-hours', '0');
  await page.fill('#command-dialog textarea', '需要协调排水管网改造');
  await page.click('#command-submit');
  assert.match(await page.textContent('#command-error'), /1 到 500/);
  await page.fill('#f-hours', '16');
  await page.click('#command-submit');
  await waitForTimeline(page, 4);
  assert.match(await page.textContent('#case-view .facts'), /申请延期 16 小时：需要协调排水管网改造/);
  assert.equal(await page.locator('#case-view button[data-command="request_extension"]').count(), 0);

  await signIn(page, server.base, 'dispatcher');
  await openCase(page, id);
  await page.click('#case-view button[data-command="approve_extension"]');
  await page.waitForSelector('#command-dialog[open]');
  assert.match(await page.textContent('#command-intro'), /16 小时/);
  await page.click('#command-submit');
  await waitForTimeline(page, 5);
  assert.match(await page.textContent('#case-view .timeline > li:last-child'), /批准延期[\s\S]*延期 16 小时/);

  await signIn(page, server.base, 'supervisor');
  await openCase(page, id);
  assert.deepEqual(await page.$$eval('#case-view .actions-bar button', (b) => b.map((x) => x.dataset.command)), ['supervise']);
  await page.click('#case-view button[data-command="supervise"]');
  await page.waitForSelector('#command-dialog[open]');
  await page.click('#command-submit');
  assert.match(await page.textContent('#command-error'), /请填写说明/);
  await page.fill('#command-dialog textarea', '积水影响通行，请加快处置。');
  await page.click('#command-submit');
  await waitForTimeline(page, 6);

  await signIn(page, server.base, 'commander');
  await openCase(page, id);
  await page.click('#case-view button[data-command="escalate"]');
  await page.waitForSelector('#command-dialog[open] #f-tier');
  assert.deepEqual(await page.$$eval('#f-tier option', (o) => o.map((x) => x.value)), ['district']);
  await page.fill('#command-dialog textarea', '需要区级多部门联动');
  await page.check('#f-co input[value="shuiwu"]');
  await page.click('#command-submit');
  await waitForTimeline(page, 7);
  await page.waitForSelector('#case-view .case-head .badge.tier-district');
  assert.match(await page.textContent('#case-view .case-head'), /需要区级多部门联动/);
  assert.match(await page.textContent('#case-view .chain'), /哈希链校验通过/);
  await removeToasts(page);
  await shot(page, 'case-desk-escalated');
  assert.deepEqual(page.problems, []);
});

test('a suggested duplicate is merged from the case page', async () => {
  // Alike enough to be proposed, not so alike that intake merges them by itself.
  const first = await citizenReport('西门路灯坏了', '红星小区西门的路灯坏了好几天，晚上很黑，老人出门不方便。');
  const second = await citizenReport('西门路灯不亮', '红星小区西门口路灯不亮，晚上走路看不清，希望尽快修好。');
  const page = await newPage(browser);
  await signIn(page, server.base, 'dispatcher');
  await openCase(page, second);
  await page.waitForSelector(`#duplicates li:has(a[href="#case=${first}"])`);
  assert.match(await page.textContent(`#duplicates li:has(a[href="#case=${first}"])`), /相似度 \d+%/);
  await page.click(`#duplicates button[data-merge-into="${first}"]`);
  await page.waitForSelector('#command-dialog[open] #f-target');
  assert.equal(await page.inputValue('#f-target'), String(first));
  await page.click('#command-submit');
  await page.waitForSelector('#case-view .case-head .badge.state:has-text("已合并")');
  assert.match(await page.textContent('#case-view .facts'), new RegExp(`已合并到\\s*#${first}`));
  assert.match(await page.textContent('#case-view .timeline > li:last-child'), /合并到其他案件/);
  // Merged cases leave the open queue; the target names what it took in.
  await page.waitForFunction((id) => !document.querySelector(`#queue-list a.qrow[data-id="${id}"]`), second);
  await removeToasts(page);
  await shot(page, 'case-desk-merged');
  await page.click(`#case-view .facts a[href="#case=${first}"]`);
  await page.waitForSelector(`#case-view .case-kicker:has-text("#${first}")`);
  await page.waitForSelector(`#case-view .facts a[href="#case=${second}"]`);
  assert.deepEqual(page.problems, []);
});

test('a proposal (建议提案) shows its kind, number, session, proposer and deadline on the case page', async () => {
  const token = await login('dispatcher');
  const point = await pointInFirstCommunity();
  const response = await fetch(`${server.base}/api/cases`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({
      title: '关于增设社区养老服务驿站的建议',
      description: '建议在张贵庄街道增设社区养老服务驿站，方便老年人就近用餐和日间照料。',
      location: { lon: point.lon, lat: point.lat },
      proposal: { kind: 'npc_suggestion', number: '第0123号', session: '区十七届人大五次会议', proposer: '王代表' },
    }),
  });
  const answer = await response.json();
  assert.equal(response.status, 201, JSON.stringify(answer));
  const page = await newPage(browser);
  await signIn(page, server.base, 'dispatcher');
  await page.goto(`${server.base}/ui/desk.html#case=${answer.case.id}`);
  const fact = page.locator('#case-view dt:has-text("建议提案") + dd');
  await fact.waitFor();
  const text = await fact.textContent();
  for (const part of ['人大代表建议', '第0123号', '区十七届人大五次会议', '王代表', '办结时限']) {
    assert.ok(text.includes(part), `${part} in ${text}`);
  }
  await shot(page, 'case-desk-proposal');
  assert.deepEqual(page.problems, []);
});

test('the department returns a misrouted case (退回) with a reason; it is back with the dispatcher', async () => {
  const id = await handlingCase('小区绿化带树木倒伏', '幸福里小区东门绿化带一棵大树被风刮倒，压住了人行道。');
  const page = await newPage(browser);
  await signIn(page, server.base, 'handler');
  await openCase(page, id);
  assert.equal(await timelineLength(page), 3);
  await giveWithReason(page, 'return', '#f-reason', '树木倒伏属园林部门职责，非城管管辖，请改派。');
  await page.waitForSelector('.toast.ok:has-text("案件回到受理员")');
  // The case is no longer the department's: the page goes back to the queue, without it.
  await page.waitForSelector('#case-empty:not(.hidden)');
  await page.waitForSelector(`#queue-list a.qrow[data-id="${id}"]`, { state: 'detached' });
  assert.deepEqual(page.problems, [], 'the page did not ask for a case it may no longer read');

  const { case: after, history } = await detailOf(id);
  assert.equal(after.state, 'accepted', 'the case is back at the dispatch stage');
  assert.equal(after.handler, null);
  assert.equal(after.return_count, 1);
  assert.equal(after.reason, '树木倒伏属园林部门职责，非城管管辖，请改派。');
  assert.equal(history.length, 4);
  assert.equal(history.at(-1).kind.type, 'returned');
  assert.equal(history.at(-1).actor.role, 'department_handler');

  // The dispatcher sees it in the queue again, can dispatch it anew, and the history says why.
  await signIn(page, server.base, 'dispatcher');
  await openCase(page, id);
  await page.waitForSelector('#case-view .case-head .badge.state:has-text("已立案")');
  assert.match(await page.textContent('#case-view .timeline > li:last-child'), /退回[\s\S]*原因：树木倒伏属园林部门职责/);
  await page.waitForSelector('#case-view button[data-command="dispatch"]');
  await page.waitForSelector(`#queue-list a.qrow[data-id="${id}"]`);
  assert.match(await page.textContent('#case-view .chain'), /哈希链校验通过/);
  await removeToasts(page);
  await shot(page, 'case-desk-returned');
  assert.deepEqual(page.problems, []);
});

test('the dispatcher rejects a report (不予受理) with a reason the reporter will see', async () => {
  const id = await citizenReport('咨询明天天气', '请问明天东丽区会下雨吗？要不要带伞？');
  const page = await newPage(browser);
  await signIn(page, server.base, 'dispatcher');
  await openCase(page, id);
  await page.waitForSelector(`#queue-list a.qrow[data-id="${id}"]`);
  await giveWithReason(page, 'reject', '#f-reason', '天气咨询不属于城市管理事项，请拨打12121气象热线。', 2);
  await page.waitForSelector('#case-view .case-head .badge.state:has-text("不予受理")');
  assert.match(await page.textContent('#case-view .timeline > li:last-child'), /不予立案[\s\S]*原因：天气咨询不属于城市管理事项/);
  assert.equal(await page.locator('#case-view .actions-bar button').count(), 0, 'nothing is left to do');
  // A rejected case leaves the open queue and is listed among the finished ones.
  await page.waitForFunction((caseId) => !document.querySelector(`#queue-list a.qrow[data-id="${caseId}"]`), id);
  await page.click('.segments button[data-scope="finished"]');
  await page.waitForSelector(`#queue-list a.qrow[data-id="${id}"]`);

  const { case: after, history } = await detailOf(id);
  assert.equal(after.state, 'rejected');
  assert.equal(after.reason, '天气咨询不属于城市管理事项，请拨打12121气象热线。');
  assert.equal(after.deadline, null, 'no deadline runs on a rejected case');
  assert.equal(history.at(-1).kind.type, 'rejected');
  // The reporter reads the reason on their own copy of the case.
  const mine = await detailOf(id, 'citizen');
  assert.equal(mine.case.reason, after.reason);
  await removeToasts(page);
  await shot(page, 'case-desk-rejected');
  assert.deepEqual(page.problems, []);
});

test('the dispatcher denies an extension request (驳回延期); the deadline stays', async () => {
  const id = await handlingCase('路面塌陷', '幸福里小区西侧道路出现一个直径一米左右的塌陷坑，车辆绕行。');
  await command('handler', id, { command: 'request_extension', hours: 40, reason: '需要等待管线单位勘察' });
  const before = (await detailOf(id)).case;
  assert.equal(before.pending_extension.hours, 40);

  const page = await newPage(browser);
  await signIn(page, server.base, 'dispatcher');
  await openCase(page, id);
  assert.match(await page.textContent('#case-view .facts'), /申请延期 40 小时：需要等待管线单位勘察/);
  const buttons = await page.$$eval('#case-view .actions-bar button', (b) => b.map((x) => x.dataset.action));
  assert.ok(buttons.includes('approve_extension') && buttons.includes('deny_extension'), buttons.join());
  await page.click('#case-view button[data-action="deny_extension"]');
  await page.waitForSelector('#command-dialog[open] #f-reason');
  assert.match(await page.textContent('#command-dialog'), /申请延期 40 小时，理由：需要等待管线单位勘察/);
  await page.click('#command-cancel');
  await giveWithReason(page, 'deny_extension', '#f-reason', '塌陷影响通行，须按原时限先行围挡处置。', 5);
  assert.match(await page.textContent('#case-view .timeline > li:last-child'), /驳回延期[\s\S]*原因：塌陷影响通行/);
  assert.equal(await page.locator('#case-view button[data-action="deny_extension"]').count(), 0);
  assert.doesNotMatch(await page.textContent('#case-view .facts'), /申请延期 40 小时/, 'no extension is pending any more');

  const { case: after, history } = await detailOf(id);
  assert.equal(after.state, 'handling');
  assert.equal(after.pending_extension, null);
  assert.equal(after.deadline.due_at, before.deadline.due_at, 'the deadline did not move');
  assert.equal(history.at(-1).kind.type, 'extension_denied');
  assert.equal(history.at(-1).kind.reason, '塌陷影响通行，须按原时限先行围挡处置。');
  await removeToasts(page);
  await shot(page, 'case-desk-extension-denied');
  assert.deepEqual(page.problems, []);
});

test('a verification that fails (核查不通过) sends the case back to the department as rework', async () => {
  const id = await handlingCase('人行道护栏损坏', '幸福里小区南门外人行道护栏被撞坏，断口很锋利。');
  const token = await login('handler');
  const form = new FormData();
  form.append('photo', new Blob([png(44, 33, [90, 90, 200])], { type: 'image/png' }), 'after.png');
  const uploaded = await fetch(`${server.base}/api/photos`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  const answer = await uploaded.text();
  assert.equal(uploaded.status, 201, answer);
  const { photos } = JSON.parse(answer);
  await command('handler', id, { command: 'feedback', evidence: photos, note: '护栏已修复。' });

  const page = await newPage(browser);
  await signIn(page, server.base, 'dispatcher');
  await openCase(page, id);
  await page.waitForSelector('#case-view .case-head .badge.state:has-text("待核查")');
  await giveWithReason(page, 'verify_fail', '#f-note', '现场查看护栏只用铁丝临时绑扎，未更换损坏部分。', 5);
  await page.waitForSelector('#case-view .case-head .badge.state:has-text("处置中")');
  assert.match(await page.textContent('#case-view .timeline > li:last-child'), /核查不通过（返工）[\s\S]*原因：现场查看护栏只用铁丝临时绑扎/);
  assert.equal(await page.locator('#case-view button[data-command="verify"]').count(), 0);

  const { case: after, history } = await detailOf(id);
  assert.equal(after.state, 'handling');
  assert.equal(after.rework_count, 1);
  assert.equal(after.department, 'chengguan', 'the same department does it again');
  assert.equal(history.at(-1).kind.type, 'verification_failed');
  assert.equal(history.at(-1).actor.role, 'dispatcher');
  await removeToasts(page);
  await shot(page, 'case-desk-verify-failed');
  assert.deepEqual(page.problems, []);
});

test('on a 2560×1440 wall the desk shows the queue beside the case', async () => {
  const wall = await startBrowser({ width: 2560, height: 1440 });
  try {
    const page = await newPage(wall);
    await signIn(page, server.base, 'dispatcher');
    await page.waitForSelector('#queue-list a.qrow');
    await page.click('#queue-list a.qrow >> nth=0');
    await page.waitForSelector('#case-view .timeline > li');
    await page.waitForSelector('#case-view .map-inset path.cell-outline');
    await page.waitForTimeout(500);
    const queue = await page.locator('#queue').boundingBox();
    const pane = await page.locator('#case-pane').boundingBox();
    assert.ok(queue.x + queue.width <= pane.x + 1, 'the queue is beside the case');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `nothing sticks out sideways (${overflow}px)`);
    await removeToasts(page);
    await shot(page, 'desk-wall-2560');
    assert.deepEqual(page.problems, []);
    assert.deepEqual(wall.outside, []);
  } finally {
    await wall.close();
  }
});
