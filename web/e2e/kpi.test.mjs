// The KPI dashboard (考核统计): tiles equal the API's figures, grouping and sorting work, a category
// (建议提案 or a major class) filters every figure, the Excel export is what the page shows (the
// table's rows in the table's order, the category, the page's language; read back with Python's
// openpyxl: `pip install openpyxl`), and the page holds together at 1440×900, on walls (1920×1080,
// 2560×1440, 3840×2160) and at phone width.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { COMMUNITY, call, cellsOf, login, png, pointInside } from './fixtures.mjs';
import { newPage, shot, signIn, startBrowser, startServer } from './harness.mjs';

/**
 * Files a proposal (建议提案) at the desk, in the dispatcher's street, takes it through the loop and
 * rates it `score` on the proposer's behalf. The demo has no proposals of its own.
 */
async function rateProposal(base, kind, number, score) {
  const dispatcher = await login(base, 'dispatcher');
  const [cell] = await cellsOf(base, COMMUNITY);
  const point = pointInside(cell);
  const { case: filed } = await call(base, dispatcher, '/api/cases', {
    method: 'POST',
    body: {
      title: '关于加强老旧小区环境整治的建议',
      description: '建议对老旧小区的垃圾清运和环境整治作出长效安排。',
      location: { lon: point.lon, lat: point.lat },
      proposal: { kind, number, session: '区十七届人大五次会议', proposer: '王代表' },
    },
  });
  const act = (token, body) => call(base, token, `/api/cases/${filed.id}/commands`, { method: 'POST', body });
  await act(dispatcher, { command: 'accept' });
  await act(dispatcher, { command: 'dispatch', department: 'chengguan' });
  const handler = await login(base, 'handler');
  const form = new FormData();
  form.append('photo', new Blob([png(40, 30, [40, 140, 70])], { type: 'image/png' }), 'reply.png');
  const { photos } = await call(base, handler, '/api/photos', { method: 'POST', form });
  await act(handler, { command: 'feedback', evidence: photos, note: '已书面答复代表。' });
  await act(dispatcher, { command: 'verify', passed: true, note: '答复已落实。' });
  await act(dispatcher, { command: 'close' });
  await act(dispatcher, { command: 'rate', score });
  return filed.id;
}

let server;
let browser;
before(async () => {
  server = await startServer();
  browser = await startBrowser({ width: 1440, height: 900 });
  await rateProposal(server.base, 'npc_suggestion', '第0101号', 5);
  await rateProposal(server.base, 'cppcc_proposal', '第0202号', 2);
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

/** A screenshot once the charts' 300 ms transitions have ended, so that it shows the figures. */
async function settledShot(page, name, options) {
  await page.waitForTimeout(450);
  return shot(page, name, options);
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
  // …and the keyboard works too: Enter on the name heading sorts by the groups' codes (the
  // official order of areas; the order the workbook can repeat exactly).
  await page.focus('#kpi-table th[data-field="name"] button');
  await page.keyboard.press('Enter');
  assert.equal(await page.getAttribute('#kpi-table th[data-field="name"]', 'aria-sort'), 'ascending');
  const codes = (await tableRows(page)).map((r) => r.key);
  assert.deepEqual(codes, [...codes].sort());
  assert.match(page.url(), /sort=name&dir=asc/, 'the table sort is kept in the address');
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
    assert.deepEqual(sheet.slice(1, -1).map((line) => line[1]), rows.map((row) => row.key), 'the table’s order');
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

/** Downloads the export the page offers and reads it back. */
async function exportShown(page, expectName) {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
  assert.match(download.suggestedFilename(), expectName);
  const dir = mkdtempSync(join(tmpdir(), 'onegrid-kpi-'));
  try {
    const path = join(dir, download.suggestedFilename());
    await download.saveAs(path);
    return readWorkbook(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Picks a category and waits until the tiles and the table are of it. */
async function chooseCategory(page, code) {
  await Promise.all([
    page.waitForResponse((r) => r.url().includes('/api/kpis/trend') && r.url().includes(`category=${code}`)),
    page.waitForResponse((r) => r.url().includes('/api/kpis?') && r.url().includes(`category=${code}`)),
    page.selectOption('#category', code),
  ]);
  await waitForDashboard(page);
}

test('a category filters every figure, and the export is what the page shows, in its language', async () => {
  const page = await newPage(browser);
  await signIn(page, server.base, 'supervisor');
  await waitForDashboard(page);

  // 建议提案: the two proposals, rated 5 and 2, are a satisfaction rate of 50 % on their own.
  const options = await page.$$eval('#category option', (nodes) => nodes.map((o) => o.value));
  for (const code of ['', 'Z99', 'Z9901', 'Z9902', 'S01', 'S0101']) assert.ok(options.includes(code), `the picker offers ${code || 'every category'}`);
  await chooseCategory(page, 'Z99');
  assert.match(page.url(), /category=Z99/, 'the category is kept in the address');
  assert.equal((await page.textContent('#category-shown')).trim(), '类别：Z99 建议提案');
  const proposals = (await apiGet(page, '/api/kpis?by=district&days=30&category=Z99'))[0].figures;
  assert.equal(proposals.reported, 2);
  assert.equal(proposals.satisfaction_rate, 0.5);
  const tile = (kpi) => page.textContent(`.tile[data-kpi="${kpi}"] .tile-value`);
  assert.equal(count(await tile('reported')), proposals.reported);
  assert.equal(count(await tile('overdue')), proposals.overdue);
  for (const kpi of ['closure_rate', 'on_time_handling_rate', 'rework_rate', 'satisfaction_rate']) {
    assert.equal(await tile(kpi), rate(proposals[kpi]), kpi);
  }
  assert.equal(await tile('satisfaction_rate'), '50.0%');
  // Grouped by category: one row per kind, with its name.
  await Promise.all([page.waitForResponse((r) => r.url().includes('/api/kpis?') && r.url().includes('by=category')), page.click('label[for="by-category"]')]);
  await waitForDashboard(page);
  const kinds = await tableRows(page);
  assert.deepEqual(kinds.map((r) => [r.key, r.name]).sort(), [['Z9901', '人大代表建议'], ['Z9902', '政协委员提案']]);
  assert.equal(kinds.find((r) => r.key === 'Z9901').cells.satisfaction_rate, '100.0%');
  assert.equal(kinds.find((r) => r.key === 'Z9902').cells.satisfaction_rate, '0.0%');
  await settledShot(page, 'kpi-proposals');

  // A major class with many cases, by community: sort the table, export, and the workbook lists the
  // same rows in the same order and names the category.
  const byCategory = await apiGet(page, '/api/kpis?by=category&days=30');
  const perMajor = new Map();
  for (const row of byCategory) perMajor.set(row.key.slice(0, 3), (perMajor.get(row.key.slice(0, 3)) || 0) + row.figures.reported);
  const [major] = [...perMajor].sort((a, b) => b[1] - a[1])[0];
  await Promise.all([page.waitForResponse((r) => r.url().includes('/api/kpis?') && r.url().includes('by=community')), page.click('label[for="by-community"]')]);
  await waitForDashboard(page);
  await chooseCategory(page, major);
  const majorName = (await page.textContent('#category-shown')).replace('类别：', '').trim();
  assert.match(majorName, new RegExp(`^${major} \\S+`));
  const communities = await apiGet(page, `/api/kpis?by=community&days=30&category=${major}`);
  let rows = await tableRows(page);
  assert.equal(rows.length, communities.length);
  assert.ok(rows.length >= 3, `${major} has cases in ${rows.length} communities`);
  // A column other than the ranking's: the first click sorts highest first, the second lowest first.
  const onTime = '#kpi-table th[data-field="on_time_handling_rate"]';
  await page.click(`${onTime} button`);
  assert.equal(await page.getAttribute(onTime, 'aria-sort'), 'descending');
  await page.click(`${onTime} button`);
  assert.equal(await page.getAttribute(onTime, 'aria-sort'), 'ascending');
  rows = await tableRows(page);
  const shownRates = rows.map((r) => r.cells.on_time_handling_rate);
  const known = shownRates.filter((v) => v !== '—');
  assert.deepEqual(known.map(parseFloat), known.map(parseFloat).sort((a, b) => a - b), 'lowest rate first');
  assert.deepEqual(shownRates.slice(known.length), shownRates.filter((v) => v === '—'), 'groups without the rate last');
  assert.match(page.url(), /sort=on_time_handling_rate&dir=asc/);
  await settledShot(page, 'kpi-category-sorted');

  let book = await exportShown(page, new RegExp(`^onegrid-kpi-community-${major}-30d-\\d{8}\\.xlsx$`));
  assert.deepEqual(Object.keys(book), ['考核指标', '趋势', '说明']);
  let sheet = book['考核指标'];
  assert.deepEqual(sheet.slice(1, -1).map((line) => line[1]), rows.map((r) => r.key), 'row order = table order');
  const header = sheet[0];
  for (const row of rows) {
    const line = sheet.find((l) => l[1] === row.key);
    assert.equal(line[header.indexOf('上报数')], count(row.cells.reported), row.key);
    const value = line[header.indexOf('按期处置率')];
    assert.equal(typeof value === 'number' ? rate(value) : value, row.cells.on_time_handling_rate, row.key);
  }
  assert.equal(sheet[sheet.length - 1][0], '合计');
  assert.equal(sheet[sheet.length - 1][header.indexOf('上报数')], communities.reduce((n, c) => n + c.figures.reported, 0));
  let notes = book['说明'].flat().join('\n');
  assert.ok(notes.includes(majorName), `the notes name ${majorName}`);
  assert.match(notes, /按「按期处置率」由低到高/);

  // In English: the page keeps its controls (from the address), the workbook speaks English.
  await page.evaluate(() => localStorage.setItem('onegrid.lang', 'en'));
  await page.reload();
  await waitForDashboard(page);
  assert.equal(await page.inputValue('#category'), major);
  assert.equal(await page.getAttribute(onTime, 'aria-sort'), 'ascending');
  assert.deepEqual((await tableRows(page)).map((r) => r.key), rows.map((r) => r.key), 'the same order after the reload');
  assert.match(await page.textContent('#category-shown'), new RegExp(`^Category: ${major} `));
  await settledShot(page, 'kpi-category-en');
  book = await exportShown(page, new RegExp(`^onegrid-kpi-community-${major}-30d-\\d{8}\\.xlsx$`));
  assert.deepEqual(Object.keys(book), ['KPIs', 'Trend', 'Notes']);
  sheet = book.KPIs;
  assert.deepEqual(sheet[0].slice(0, 3), ['Community', 'Code', 'Reported']);
  for (const name of ['Closed', 'Overdue', 'Closure rate', 'On-time handling rate', 'Rework rate', 'Satisfaction rate']) {
    assert.ok(sheet[0].includes(name), `an English ${name} column`);
  }
  assert.equal(sheet[sheet.length - 1][0], 'Total');
  assert.deepEqual(sheet.slice(1, -1).map((line) => line[1]), rows.map((r) => r.key), 'row order = table order');
  assert.equal(book.Trend[0][0], 'Period start');
  notes = book.Notes.flat().join('\n');
  assert.ok(notes.includes(`${majorName} (major class:`), notes);
  assert.match(notes, /by on-time handling rate, lowest first/);
  await page.evaluate(() => localStorage.removeItem('onegrid.lang'));
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

/**
 * Command-center walls: read from a few metres away, so text grows with the screen, the charts take
 * the height, and the page does not end in a narrow column or a wide empty band.
 */
test('the dashboard uses the room of a 2560×1440 and a 3840×2160 wall', async () => {
  for (const [width, height] of [
    [2560, 1440],
    [3840, 2160],
  ]) {
    const name = `kpi-wall-${width}`;
    const screen = await startBrowser({ width, height });
    try {
      const page = await newPage(screen);
      await signIn(page, server.base, 'supervisor');
      await waitForDashboard(page);
      const layout = await page.evaluate(() => {
        const box = (selector) => document.querySelector(selector).getBoundingClientRect();
        const size = (selector) => parseFloat(getComputedStyle(document.querySelector(selector)).fontSize);
        return {
          overflow: document.documentElement.scrollWidth - window.innerWidth,
          main: box('main.kpi').width,
          trend: box('#trend-chart'),
          trendPanel: box('.trend-panel'),
          rankPanel: box('.rank-panel'),
          tileValue: size('.tile-value'),
          tileLabel: size('.tile-label'),
          cell: size('#kpi-table tbody td'),
          header: size('#kpi-table thead button.sort'),
          legend: size('fieldset.segmented legend'),
        };
      });
      await settledShot(page, name);
      assert.ok(layout.overflow <= 0, `${name}: no sideways scrolling (${layout.overflow}px)`);
      assert.ok(layout.main >= width * 0.9, `${name}: the page uses the width (${layout.main}px)`);
      // Type scales with the screen: about 1/100 of the width for table text, more for the tiles.
      const scale = width / 1920;
      assert.ok(layout.cell >= 16 * scale, `${name}: table text ${layout.cell}px`);
      assert.ok(layout.header >= 14 * scale, `${name}: column headings ${layout.header}px`);
      assert.ok(layout.tileValue >= 40 * scale, `${name}: tile figures ${layout.tileValue}px`);
      assert.ok(layout.tileLabel >= 15 * scale, `${name}: tile labels ${layout.tileLabel}px`);
      assert.ok(layout.legend >= 12 * scale, `${name}: control labels ${layout.legend}px`);
      // The charts share the row and take a good part of the screen's height.
      assert.ok(Math.abs(layout.trendPanel.top - layout.rankPanel.top) < 2, `${name}: the charts side by side`);
      assert.ok(layout.trend.height >= height * 0.38, `${name}: trend chart ${layout.trend.height}px high`);
      assert.ok(layout.trend.width >= width * 0.5, `${name}: trend chart ${layout.trend.width}px wide`);
      assert.deepEqual(page.problems, [], name);
      assert.deepEqual(screen.outside, [], name);
    } finally {
      await screen.close();
    }
  }
});
