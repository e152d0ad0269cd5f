// 重大项目: a supervisor registers a project on the page (place picked on the map, stage dates in
// order), sees the five rates and the pipeline chart move, opens its change record, and exports the
// workbook (a real .xlsx: a zip starting with "PK").
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { newPage, shot, signIn, startBrowser, startServer } from './harness.mjs';

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

test('register a project on the page, see the rates and chart, export', async () => {
  const page = await newPage(browser);
  await signIn(page, server.base, 'supervisor');
  await page.goto(`${server.base}/ui/projects.html`);
  await page.waitForSelector('#tiles .pj-tile');
  await page.waitForSelector('#pick-map .leaflet-interactive, #pick-map path', { state: 'attached' });
  // The demo's generated projects are listed; the one registered here is dated three years back, so
  // that a period of that year holds it alone.
  await page.waitForSelector('#project-table tbody tr:has-text("（示例）")');
  assert.ok((await page.locator('#project-table tbody tr').count()) >= 20, 'the demo projects');

  const year = new Date().getFullYear() - 3;
  await page.fill('#f-name', '智能装备产业园（示例）');
  await page.fill('#f-investment', '12.5');
  await page.fill('#f-park', '东丽经济技术开发区');
  await page.fill('#f-planned-contribution', '3');
  await page.fill('#f-signing-planned', `${year}-01-02`);
  await page.fill('#f-signing-actual', `${year}-01-02`);
  await page.fill('#f-landing-planned', `${year}-01-02`);
  // Landing before signing: refused with a sentence, nothing stored.
  await page.fill('#f-landing-actual', `${year - 1}-12-01`);
  const box = await page.locator('#pick-map').boundingBox();
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await page.waitForSelector('#f-point:has-text("经度")');
  await page.click('#save');
  await page.waitForSelector('text=/before the/');
  await page.fill('#f-landing-actual', `${year}-01-02`);
  // The error toast may cover the button; Enter submits the form as a person would.
  await page.press('#f-name', 'Enter');
  await page.waitForSelector('#project-table tbody tr:has-text("智能装备产业园（示例）")');
  await page.waitForSelector('#events li');
  assert.match(await page.textContent('#events'), /登记/);
  assert.match(await page.textContent('#events'), /记录链校验通过/);

  // The rates of that year: signing and landing 100% with 1 of 1 due.
  await page.fill('#from', `${year}-01-01`);
  await page.fill('#to', `${year + 1}-01-01`);
  await page.click('button[data-i18n="pj.apply"]');
  const tile = (rate) => page.textContent(`#tiles [data-rate="${rate}"] .pj-tile-value`);
  await page.waitForFunction(() => document.querySelector('#tiles [data-rate="signing"] .pj-tile-value')?.textContent === '100.0%');
  assert.equal(await tile('landing'), '100.0%');
  assert.equal(await tile('contribution'), '—');
  assert.match(await page.textContent('#rates-table tbody'), /区城市管理委员会/);
  assert.ok(await page.locator('#funnel canvas').count(), 'the pipeline chart is drawn');
  const badges = await page.locator('#project-table tr:has-text("智能装备产业园（示例）") .badge.pj-done').count();
  assert.equal(badges, 2, 'signed and landed badges');

  // By park.
  await page.selectOption('#by', 'park');
  await page.waitForSelector('#rates-table tbody td:has-text("东丽经济技术开发区")');

  await shot(page, 'projects', { fullPage: true });

  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-xlsx')]);
  assert.match(download.suggestedFilename(), /^onegrid-projects-.*\.xlsx$/);
  const path = await download.path();
  assert.equal(readFileSync(path).subarray(0, 2).toString(), 'PK');
  // The refused save (422) is logged by the browser and by showError; nothing else may be.
  assert.deepEqual(page.problems.filter((p) => !/status of 422|ApiFailure: landing: the actual/.test(p)), []);
  assert.deepEqual(browser.outside, []);
});
