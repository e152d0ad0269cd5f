// The citizen's phone page: report with a photo at the phone's position and get a case number, follow
// it under 我的上报 and by number, be told when a report cannot go, and rate a closed case with stars.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { COMMUNITY, PHONE, call, cellsOf, login, png, pointInside } from './fixtures.mjs';
import { newPage, shot, signIn, startBrowser, startServer } from './harness.mjs';

// ---------------------------------------------------------------- helpers

/** Takes a citizen's case through the loop to 已结案 (closed), where the citizen may rate it. */
async function closeThroughTheLoop(base, id) {
  const dispatcher = await login(base, 'dispatcher');
  await call(base, dispatcher, `/api/cases/${id}/commands`, { method: 'POST', body: { command: 'accept' } });
  await call(base, dispatcher, `/api/cases/${id}/commands`, { method: 'POST', body: { command: 'dispatch', department: 'chengguan' } });
  const handler = await login(base, 'handler');
  const form = new FormData();
  form.append('photo', new Blob([png(40, 30, [40, 140, 70])], { type: 'image/png' }), 'after.png');
  const { photos } = await call(base, handler, '/api/photos', { method: 'POST', form });
  await call(base, handler, `/api/cases/${id}/commands`, {
    method: 'POST',
    body: { command: 'feedback', evidence: photos, note: '已更换新井盖并设置警示标志。' },
  });
  const worker = await login(base, 'gridworker');
  await call(base, worker, `/api/cases/${id}/commands`, { method: 'POST', body: { command: 'verify', passed: true, note: '现场已修复。' } });
  await call(base, dispatcher, `/api/cases/${id}/commands`, { method: 'POST', body: { command: 'close' } });
}

let server;
let point;
before(async () => {
  server = await startServer();
  const cells = await cellsOf(server.base, COMMUNITY);
  point = pointInside(cells[3] || cells[0]);
});
after(async () => {
  await server?.stop();
});

async function phoneAt(where) {
  const browser = await startBrowser(PHONE);
  await browser.context.grantPermissions(['geolocation'], { origin: server.base });
  await browser.context.setGeolocation({ latitude: where.lat, longitude: where.lon, accuracy: 20 });
  return browser;
}

test('a citizen reports with a photo, gets the case number, and finds the case in 我的上报 and by number', async () => {
  const browser = await phoneAt(point);
  try {
    const page = await newPage(browser);
    await signIn(page, server.base, 'citizen');
    assert.match(page.url(), /\/ui\/citizen\.html/);
    await page.waitForSelector('#report-position-status:has-text("已用手机定位")');
    await page.setInputFiles('#report-photo', { name: 'streetlight.png', mimeType: 'image/png', buffer: png() });
    await page.waitForSelector('#report-form .thumbs img');
    await page.fill('#report-description', '小区南门外的两盏路灯晚上不亮，路上很黑，老人孩子走路不安全。');
    await page.fill('#report-address', '南门外人行道');
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, 'citizen-report');

    const sent = page.waitForResponse((r) => r.url().endsWith('/api/cases/upload'));
    await page.click('#report-submit');
    assert.equal((await sent).status(), 201);
    await page.waitForSelector('#outcome-case');
    const id = Number(await page.textContent('#outcome-case'));
    assert.ok(id > 0);
    assert.match(await page.textContent('#outcome .case-number'), new RegExp(`您的案件编号：\\s*${id}`));
    assert.match(await page.textContent('#outcome'), /我的上报/, 'it says how to follow the case');
    await shot(page, 'citizen-report-done');

    // 查看办理进度 opens the case in 我的上报.
    await page.click('#outcome-track');
    const card = page.locator(`#my-cases li[data-case="${id}"]`);
    await card.locator('ol.progress').waitFor();
    assert.equal(await card.locator('.progress .step.done').count(), 1, '上报 is done');
    assert.match(await card.locator('.progress .step.current').textContent(), /受理/);
    assert.match(await card.locator('.timeline').textContent(), /您上报了这件事/);
    assert.match(await card.locator('.department').textContent(), /还没有派到部门/);
    // The title was made from the first words of the description.
    assert.match(await card.locator('.case-head .title').textContent(), /^小区南门外的两盏路灯晚上不亮/);
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, 'citizen-track');

    // By number.
    await page.fill('#lookup-id', String(id));
    await page.click('#lookup button[type=submit]');
    await page.locator(`#lookup-result li[data-case="${id}"] ol.progress`).waitFor();
    // A number that is not one of theirs gets a sentence.
    await page.fill('#lookup-id', '999999');
    await page.click('#lookup button[type=submit]');
    await page.waitForSelector('#lookup-message:has-text("没有找到编号为 999999 的案件")');
    assert.equal(await page.locator('#lookup-result li').count(), 0);
    await shot(page, 'citizen-lookup-missing');
    // The photo went with the report.
    const citizen = await login(server.base, 'citizen');
    const detail = await call(server.base, citizen, `/api/cases/${id}`);
    assert.equal(detail.case.photos.length, 1);
    assert.equal(detail.case.address, '南门外人行道');
    // The browser logs the lookup's expected 404 itself; anything else is a problem.
    assert.deepEqual(page.problems.filter((p) => !/status of 404 \(Not Found\)/.test(p)), []);
    assert.deepEqual(browser.outside, [], 'nothing is loaded from outside the server');
  } finally {
    await browser.close();
  }
});

test('a report without a description is refused with a sentence and nothing is sent', async () => {
  const browser = await phoneAt(point);
  try {
    const page = await newPage(browser);
    await signIn(page, server.base, 'citizen');
    await page.waitForSelector('#report-position-status:has-text("已用手机定位")');
    let sent = 0;
    page.on('request', (r) => r.url().includes('/api/cases/upload') && (sent += 1));
    await page.fill('#report-title', '路灯');
    await page.click('#report-submit');
    await page.waitForSelector('#report-error:has-text("请描述一下遇到的问题")');
    assert.equal(sent, 0);
    await page.locator('#report-error').scrollIntoViewIfNeeded();
    await shot(page, 'citizen-no-description');
    assert.deepEqual(page.problems, []);
  } finally {
    await browser.close();
  }
});

test('a point outside the district is refused by the server and the page says so', async () => {
  const browser = await phoneAt({ lon: 116.397, lat: 39.908 });
  try {
    const page = await newPage(browser);
    await signIn(page, server.base, 'citizen');
    await page.waitForSelector('#report-position-status:has-text("已用手机定位")');
    await page.waitForSelector('#report-place:has-text("不在本区范围内")');
    await page.fill('#report-description', '路边有一个大坑。');
    const answer = page.waitForResponse((r) => r.url().endsWith('/api/cases/upload'));
    await page.click('#report-submit');
    assert.equal((await answer).status(), 422);
    await page.waitForSelector('#report-error:has-text("不在本区的网格范围内")');
    assert.match(await page.textContent('#report-error'), /outside the district/, 'the server’s detail is shown');
    await shot(page, 'citizen-outside');
  } finally {
    await browser.close();
  }
});

test('a citizen rates a closed case with five stars', async () => {
  const citizen = await login(server.base, 'citizen');
  const outcome = await call(server.base, citizen, '/api/cases', {
    method: 'POST',
    body: { title: '井盖破损', description: '菜市场东侧人行道井盖破了一个洞，容易踩空。', location: point },
  });
  const id = outcome.case.id;
  await closeThroughTheLoop(server.base, id);

  const browser = await phoneAt(point);
  try {
    const page = await newPage(browser);
    await signIn(page, server.base, 'citizen');
    await page.click('#tab-track');
    const card = page.locator(`#my-cases li[data-case="${id}"]`);
    await card.locator('.case-head').click();
    await card.locator('form.rate').waitFor();
    assert.equal(await card.locator('.progress .step.done').count(), 5, 'every step is done');
    assert.match(await card.locator('.department').textContent(), /区城市管理委员会/);
    assert.match(await card.locator('.result').textContent(), /已更换新井盖并设置警示标志/);
    assert.match(await card.locator('.timeline').textContent(), /已交给区城市管理委员会办理/);
    assert.match(await card.locator('.timeline').textContent(), /现场核查通过/);
    // The stars are radio buttons: reachable with the keyboard.
    await card.locator('input[type=radio][value="3"]').focus();
    await page.keyboard.press('ArrowRight');
    assert.equal(await card.locator('input[type=radio]:checked').getAttribute('value'), '4');
    await card.locator('label[for$="-5"]').click();
    assert.equal(await card.locator('input[type=radio]:checked').getAttribute('value'), '5');
    await card.locator('textarea').fill('修得很快，谢谢！');
    await card.locator('form.rate').scrollIntoViewIfNeeded();
    await shot(page, 'citizen-rate');
    await card.locator('form.rate button[type=submit]').click();
    await card.locator('.rating-shown').waitFor();
    assert.match(await card.locator('.rating-shown').textContent(), /5 星/);
    assert.match(await card.locator('.rating-shown').textContent(), /修得很快，谢谢！/);
    assert.equal(await card.locator('form.rate').count(), 0, 'a case is rated once');
    const detail = await call(server.base, citizen, `/api/cases/${id}`);
    assert.deepEqual(detail.case.rating, { score: 5, comment: '修得很快，谢谢！' });
    await card.locator('.rating-shown').scrollIntoViewIfNeeded();
    await shot(page, 'citizen-rated');
    assert.deepEqual(page.problems, []);
  } finally {
    await browser.close();
  }
});
