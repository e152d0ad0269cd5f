// The KPI dashboard (考核统计): tiles equal the API's figures, grouping and sorting work, the Excel
// export downloads a real workbook (read back with Python's openpyxl: `pip install openpyxl`), and the
// page holds together at 1440×900, on a wall (1920×1080) and at phone width.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { newPage, shot, signIn, startBrowser, startServer } from './harness.mjs';

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

const rate = (value) => (value === null || value === undefined ? '—' : `${(value * 100).toFixed(1)}%`);
const count = (text) => Number(text.replace(/[^\d]/g, ''));

/** GET an API path with the page's own sign-in. */
async function apiGet(page, path) {
  const token = await page.evaluate(() => localStorage.getItem('onegrid.token'));
  assert.ok(token, 'the page is signed in');
  const response = await fetch(`${server.base}${path}`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(response.status, 200, `${path}: ${await response.clone().text()}`);
  return response.json();
}

async function waitForDashboard(page) {
  await page.waitForSelector('.tile[data-kpi="reported"] .tile-value:not(:text("…"))');
  await page.waitForSelector('#kpi-table tbody tr[data-key]');
  await page.waitForFunction(() => !document.querySelector('main.kpi').className.includes('busy-'));
}

/** The table's rows as {key, cells: {field: text}}. */
async function tableRows(page) {
  return page.$$eval('#kpi-table tbody tr[data-key]', (trs) =>
    trs.map((tr) => ({
      key: tr.dataset.key,
      name: tr.querySelector('th .group').textContent,
      cells: Object.fromEntries([...tr.querySelectorAll('td[data-field]')].map((td) => [td.dataset.field, td.textContent])),
    })),
  );
}

/** The sheets of an XLSX as arrays of rows, read by openpyxl. */
function readWorkbook(path) {
  try {
    execFileSync('python3', ['-c', 'import openpyxl']);
  } catch {
    assert.fail('the export check needs Python openpyxl: pip install openpyxl');
  }
  const script = `
import json, sys, openpyxl
book = openpyxl.load_workbook(sys.argv[1], read_only=True)
print(json.dumps({ws.title: [list(row) for row in ws.iter_rows(values_only=True)] for ws in book.worksheets}, ensure_ascii=False, default=str))
`;
  return JSON.parse(execFileSync('python3', ['-c', script, path], { encoding: 'utf8' }));
}

test('the dashboard shows the API’s figures, regroups, sorts and exports a workbook', async () => {
  const page = await newPage(browser);
  await signIn(page, server.base, 'supervisor');
  assert.match(page.url(), /\/ui\/kpi\.html/, 'a supervisor starts on the KPI page');
  await waitForDashboard(page);

  // The tiles are the whole window: the district row of /api/kpis for the same 30 days.
  const district = await apiGet(page, '/api/kpis?by=district&days=30');
  assert.equal(district.length, 1, 'the demo is one district');
  const figures = district[0].figures;
  assert.ok(figures.reported > 0, 'the demo has cases in the last 30 days');
  const tile = (kpi) => page.textContent(`.tile[data-kpi="${kpi}"] .tile-value`);
  assert.equal(count(await tile('reported')), figures.reported);
  assert.equal(count(await tile('overdue')), figures.overdue);
  for (const kpi of ['closure_rate', 'on_time_handling_rate', 'rework_rate', 'satisfaction_rate']) {
    assert.equal(await tile(kpi), rate(figures[kpi]), kpi);
  }
  // The table holds one row per street, with the same figures as the API.
  const streets = await apiGet(page, '/api/kpis?by=street&days=30');
  let rows = await tableRows(page);
  assert.equal(rows.length, streets.length);
  for (const row of rows) {
    const api = streets.find((s) => s.key === row.key).figures;
    assert.equal(count(row.cells.reported), api.reported, row.key);
    assert.equal(row.cells.closure_rate, rate(api.closure_rate), row.key);
  }
  assert.ok(await page.$('#trend-chart canvas'), 'the trend chart is drawn');
  assert.ok(await page.$('#rank-chart canvas'), 'the ranking chart is drawn');
  await shot(page, 'kpi-dashboard');

  // Regrouping by community re-renders the table with 12-digit codes.
  await page.click('label[for="by-community"]');
  await page.waitForFunction(() => document.querySelector('#kpi-table tbody tr[data-key]')?.dataset.key.length === 12);
  await waitForDashboard(page);
  const communities = await apiGet(page, '/api/kpis?by=community&days=30');
  rows = await tableRows(page);
  assert.equal(rows.length, communities.length);
  assert.match(page.url(), /by=community/, 'the controls are kept in the address');

  // Sorting: a click on 上报 sorts descending, a second ascending; groups keep their figures.
  const reportedHeader = '#kpi-table th[data-field="reported"]';
  await page.click(`${reportedHeader} button`);
  assert.equal(await page.getAttribute(reportedHeader, 'aria-sort'), 'descending');
  let reported = (await tableRows(page)).map((r) => count(r.cells.reported));
  assert.deepEqual(reported, [...reported].sort((a, b) => b - a));
  await page.click(`${reportedHeader} button`);
  assert.equal(await page.getAttribute(reportedHeader, 'aria-sort'), 'ascending');
  reported = (await tableRows(page)).map((r) => count(r.cells.reported));
  assert.deepEqual(reported, [...reported].sort((a, b) => a - b));
  // …and the keyboard works too: Enter on the name heading sorts by name.
  await page.focus('#kpi-table th[data-field="name"] button');
  await page.keyboard.press('Enter');
  assert.equal(await page.getAttribute('#kpi-table th[data-field="name"]', 'aria-sort'), 'ascending');
  const names = (await tableRows(page)).map((r) => r.name);
  assert.deepEqual(names, [...names].sort((a, b) => a.localeCompare(b, 'zh-CN')));
  rows = await tableRows(page);

  // The export is the workbook of exactly these controls.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
  assert.match(download.suggestedFilename(), /^onegrid-kpi-community-30d-\d{8}\.xlsx$/);
  const dir = mkdtempSync(join(tmpdir(), 'onegrid-kpi-'));
  try {
    const path = join(dir, download.suggestedFilename());
    await download.saveAs(path);
    const book = readWorkbook(path);
    assert.deepEqual(Object.keys(book), ['考核指标', '趋势', '说明']);
    const sheet = book['考核指标'];
    const header = sheet[0];
    const column = (name) => header.indexOf(name);
    assert.ok(column('上报数') > 0 && column('结案率') > 0, header.join(','));
    assert.equal(sheet.length, communities.length + 2, 'a header, one row per community, the total');
    for (const row of rows.slice(0, 5)) {
      const line = sheet.find((l) => l[1] === row.key);
      assert.ok(line, `${row.key} is in the workbook`);
      assert.equal(line[column('上报数')], count(row.cells.reported), row.key);
      const closure = line[column('结案率')];
      assert.equal(typeof closure === 'number' ? rate(closure) : closure, row.cells.closure_rate, row.key);
    }
    const total = sheet[sheet.length - 1];
    assert.equal(total[0], '合计');
    assert.equal(total[column('上报数')], figures.reported);
    const notes = book['说明'].flat().join('\n');
    assert.match(notes, /督查/, 'who exported it');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.deepEqual(page.problems, []);
  assert.deepEqual(browser.outside, [], 'nothing is loaded from outside the server');
});

test('the dashboard fits a wall display and a phone', async () => {
  for (const [width, height, name] of [
    [1920, 1080, 'kpi-wall'],
    [390, 844, 'kpi-phone'],
  ]) {
    const screen = await startBrowser({ width, height, mobile: width < 500 });
    try {
      const page = await newPage(screen);
      await signIn(page, server.base, 'supervisor');
      await waitForDashboard(page);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${name}: the page does not scroll sideways (${overflow}px)`);
      // The tiles wrap instead of shrinking below readable.
      const tileWidth = await page.$eval('.tile', (node) => node.getBoundingClientRect().width);
      assert.ok(tileWidth >= 150, `${name}: tiles are ${tileWidth}px wide`);
      await shot(page, name, { fullPage: width < 500 });
      assert.deepEqual(page.problems, [], name);
      assert.deepEqual(screen.outside, [], name);
    } finally {
      await screen.close();
    }
  }
});
