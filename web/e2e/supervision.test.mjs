import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { newPage, shot, signIn, startBrowser, startServer } from './harness.mjs';

const SEED = readFileSync(new URL('../../crates/text/data/workreport/dongli-2021-government-work-report-p14.txt', import.meta.url), 'utf8');

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

test('a supervisor imports the seed page, the lead department reports progress, the 实效表 exports', async () => {
  const page = await newPage(browser);
  await signIn(page, server.base, 'supervisor');
  await page.goto(`${server.base}/ui/supervision.html`);
  await page.waitForSelector('#sv-summary:not(:empty)');
  // The demo already tracks the seed report's targets.
  const demoTasks = await page.locator('#tasks tbody tr').count();
  assert.ok(demoTasks > 20, `${demoTasks} demo tasks`);

  // Import: paste, preview, confirm.
  await page.click('#btn-import');
  await page.fill('#i-name', '东丽区政府工作报告');
  await page.fill('#i-year', String(new Date().getFullYear()));
  await page.fill('#i-text', SEED);
  await page.click('#i-preview-btn');
  await page.waitForSelector('#i-preview table');
  const previewed = await page.locator('#i-preview tbody tr').count();
  assert.ok(previewed > 20, `${previewed} targets previewed`);
  await shot(page, 'supervision-import');
  await page.click('#i-confirm');
  await page.waitForFunction((n) => document.querySelectorAll('#tasks tbody tr').length === n, demoTasks + previewed);
  // From here on, only the report just imported.
  await page.selectOption('#f-report', { label: '东丽区政府工作报告' });
  await page.waitForFunction((n) => document.querySelectorAll('#tasks tbody tr').length === n, previewed);

  // A task panel: quote and verified chain; issue a 督办 notice.
  const row = page.locator('#tasks tbody tr', { hasText: '造林' });
  await row.click();
  await page.waitForSelector('#panel .quote');
  assert.match(await page.textContent('#panel .quote'), /造林/);
  assert.match(await page.textContent('#panel .chain'), /校验通过/);
  await page.fill('#n-note', '请于5个工作日内报送造林进度');
  await page.click('#n-send');
  await page.waitForSelector('#panel .ev-notice_issued');
  await shot(page, 'supervision');

  // Export: the workbook arrives as a download.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#btn-xlsx')]);
  assert.match(download.suggestedFilename(), /\.xlsx$/);
  assert.deepEqual(page.problems, []);

  // The lead department's handler (城管) reports the target met.
  const handler = await newPage(browser);
  await signIn(handler, server.base, 'handler');
  await handler.goto(`${server.base}/ui/supervision.html`);
  await handler.waitForSelector('#tasks tbody tr');
  await handler.selectOption('#f-report', { label: '东丽区政府工作报告' });
  await handler.waitForFunction(() => [...document.querySelectorAll('#tasks tbody tr')].filter((tr) => tr.textContent.includes('造林')).length === 1);
  await handler.locator('#tasks tbody tr', { hasText: '造林' }).click();
  await handler.waitForSelector('#p-value');
  const target = await handler.textContent('#panel .target strong');
  const value = /([\d.]+)/.exec(target)[1];
  await handler.fill('#p-value', value);
  await handler.fill('#p-note', '全年任务完成');
  await handler.click('#p-send');
  await handler.waitForSelector('#panel .ev-done');
  assert.match(await handler.textContent('#panel .panel-top .badge'), /已完成/);
  assert.equal(await handler.locator('#btn-import').isHidden(), true);
  await shot(handler, 'supervision-handler');
  assert.deepEqual(handler.problems, []);
  assert.deepEqual(browser.outside, []);
});
