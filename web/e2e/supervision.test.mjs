import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { call, login } from './fixtures.mjs';
import { newPage, shot, signIn, startBrowser, startServer } from './harness.mjs';

// The seed page (byte-identical to ../shared/seed/dongli-2021-government-work-report-p14.txt), saved
// in GBK as a district office's Windows machine would: the upload must say it was converted.
const SEED = new URL('../../crates/text/data/workreport/dongli-2021-government-work-report-p14.txt', import.meta.url);

let server;
let browser;
let dir;
before(async () => {
  // An adjustable business clock: moving it wakes the server's reminder sweep.
  server = await startServer(['--adjustable-clock']);
  browser = await startBrowser();
  dir = mkdtempSync(join(tmpdir(), 'onegrid-e2e-report-'));
});
after(async () => {
  await browser?.close();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function gbkSeed() {
  const bytes = execFileSync('iconv', ['-f', 'UTF-8', '-t', 'GBK', SEED.pathname]);
  assert.throws(() => new TextDecoder('utf-8', { fatal: true }).decode(bytes), 'the file is GBK, not UTF-8');
  const path = join(dir, '东丽区2021年政府工作报告（第14版）GBK.txt');
  writeFileSync(path, bytes);
  return path;
}

test('a supervisor uploads the seed page in GBK, checks the cleaning, imports; the lead department reports; reminders and 督办', async () => {
  const page = await newPage(browser);
  await signIn(page, server.base, 'supervisor');
  await page.goto(`${server.base}/ui/supervision.html`);
  await page.waitForSelector('#sv-summary:not(:empty)');
  // The demo already tracks the seed report's targets.
  const demoTasks = await page.locator('#tasks tbody tr').count();
  assert.ok(demoTasks > 20, `${demoTasks} demo tasks`);

  // Import: upload the GBK file, preview, check, confirm. No year: the report's headings say 2021.
  await page.click('#btn-import');
  await page.fill('#i-name', '东丽区政府工作报告');
  await page.setInputFiles('#i-file', gbkSeed());
  await page.click('#i-preview-btn');
  await page.waitForSelector('#i-preview .pv-steps');
  assert.match(await page.textContent('#i-preview .pv-encoding'), /GB18030.*已转换为 UTF-8/);
  const steps = await page.locator('#i-preview .pv-step').allTextContents();
  const step = (kind) => steps.find((s) => s.includes(kind)) ?? '';
  assert.match(step('报眉页码'), /第 3 行第 1 字 · 字符 2–9/);
  assert.match(step('报眉页码'), /14 \| 要闻/);
  assert.match(step('转版标记'), /\(上接第13版\)/);
  assert.match(step('重复段落'), /共 166 字/);
  assert.match(step('栏头标题'), /东丽区政府工作报告/);
  assert.match(step('繁体字'), /壓\s*压/);
  assert.match(step('断行拼接'), /第 \d+ 行/);
  assert.match(step('编码转换'), /GB18030/);
  const targets = await page.locator('#pv-targets tbody tr').count();
  assert.ok(targets > 20, `${targets} targets previewed`);
  assert.match(await page.textContent('#pv-targets tbody'), /区商务局/);
  assert.match(await page.textContent('#i-preview .pv-summary'), new RegExp(`本年度目标 ${targets} 项`));
  await page.click('#pv-others summary');
  const others = await page.locator('#pv-others tbody tr').allTextContents();
  assert.ok(others.some((row) => row.includes('已完成')), 'achievements listed');
  assert.ok(others.some((row) => row.includes('规划目标 · 十四五')), 'plan-period targets listed');
  const top = (selector) => page.evaluate((s) => document.querySelector(s).scrollIntoView({ block: 'start' }), selector);
  await top('#pv-others');
  await shot(page, 'supervision-import-others');
  await page.click('#pv-others summary');
  await top('#i-preview');
  await shot(page, 'supervision-import');
  await top('#pv-targets');
  await shot(page, 'supervision-import-targets');
  await page.click('#i-confirm');
  await page.waitForFunction((n) => document.querySelectorAll('#tasks tbody tr').length === n, demoTasks + targets);
  // From here on, only the report just imported.
  await page.selectOption('#f-report', { label: '东丽区政府工作报告' });
  await page.waitForFunction((n) => document.querySelectorAll('#tasks tbody tr').length === n, targets);

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

  // Time passes (the test server's clock moves a minute): the server's sweep records a reminder in
  // each overdue task's history (the 2021 targets are all past their deadline).
  const admin = await login(server.base, 'admin');
  await call(server.base, admin, '/api/clock', { method: 'PUT', body: { now: new Date(Date.now() + 60000).toISOString() } });
  const supervisor = await login(server.base, 'supervisor');
  const report = encodeURIComponent('东丽区政府工作报告');
  for (let i = 0; ; i += 1) {
    const reminders = await call(server.base, supervisor, `/api/supervision/reminders?report=${report}`);
    if (reminders.length === targets - 1 && reminders.every((r) => r.task.reminders.length === 1)) break;
    assert.ok(i < 100, `the sweep recorded no reminders: ${JSON.stringify(reminders.slice(0, 1))}`);
    await new Promise((done) => setTimeout(done, 100));
  }

  // The reminders panel: what is overdue, the reminders recorded, and 督办 at hand.
  // (The handler's sign-in replaced the browser's session: the supervisor signs in again.)
  await signIn(page, server.base, 'supervisor');
  await page.goto(`${server.base}/ui/supervision.html`);
  await page.waitForSelector('#tasks tbody tr');
  await page.selectOption('#f-report', { label: '东丽区政府工作报告' });
  await page.waitForFunction((n) => document.querySelectorAll('#tasks tbody tr').length === n, targets);
  await page.click('#btn-reminders');
  await page.waitForSelector('#reminders:not([hidden]) #rem-list .rem');
  assert.equal(await page.locator('#rem-list .rem').count(), targets - 1, 'every overdue task but the one done');
  assert.equal(await page.textContent('#rem-count'), String(targets - 1));
  assert.match(await page.textContent('#rem-rule'), /每 5 个工作日/);
  const first = page.locator('#rem-list .rem').first();
  assert.match(await first.textContent(), /逾期未完成/);
  assert.match(await first.textContent(), /已逾期 \d+ 天/);
  assert.match(await first.textContent(), /已自动提醒 1 次/);
  const id = await first.getAttribute('data-id');
  await first.locator('.rem-notice').click();
  assert.match(await first.locator('.rem-note').inputValue(), /个工作日内报送/);
  await shot(page, 'supervision-reminders');
  await first.locator('.rem-send').click();
  await page.waitForFunction((taskId) => document.querySelector(`#rem-list .rem[data-id="${taskId}"]`)?.textContent.includes('督办 1 次'), id);
  // The task's history holds the reminder and the notice, and its chain verifies.
  await page.locator(`#rem-list .rem[data-id="${id}"] .rem-open`).click();
  await page.waitForSelector('#panel .ev-reminded');
  await page.waitForSelector('#panel .ev-notice_issued');
  assert.match(await page.textContent('#panel .chain'), /校验通过/);
  await page.locator('#panel .ev-reminded').scrollIntoViewIfNeeded();
  await shot(page, 'supervision-reminded-task');
  assert.deepEqual(page.problems, []);
  assert.deepEqual(browser.outside, []);
});
