// Proposals (建议提案) on the desk: a dispatcher registers a 政协委员提案 through the 「登记建议提案」
// dialog, keyboard first; an empty number is said in words and files nothing, and so is the API's
// refusal; the case opens on the desk with its number, session, proposer and deadline, is accepted
// and dispatched, and runs to the carried date; the queue filters proposals; a department handler
// has no such action; the dialog in English and on a phone. Rules: docs/supervision.md, "Proposals".
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { COMMUNITY, DESKTOP, PHONE, call, cellsOf, login, pointInside } from './fixtures.mjs';
import { newPage, shot, signIn, startBrowser, startServer } from './harness.mjs';

const TITLE = '关于在张贵庄街道增设社区养老服务驿站的提案';
const CONTENT = '建议在张贵庄街道各社区增设养老服务驿站，提供助餐、日间照料和上门服务，方便老年人就近养老。';
const NUMBER = '第0123号';
const SESSION = '区政协十八届三次会议';
const PROPOSER = '张委员';

let server;
let browser;
before(async () => {
  server = await startServer();
  browser = await startBrowser(DESKTOP);
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A date in China `days` from now, as a date input writes it, and as the desk shows its 18:00. */
function chinaDate(days) {
  const day = new Date(Date.now() + 8 * 3600_000 + days * 86400_000).toISOString().slice(0, 10);
  return { input: day, shown: `${day.replaceAll('-', '/')} 18:00` };
}

/** What the server's rule gives without a date: 3 calendar months later on the China calendar. */
function threeMonthsShown() {
  const local = new Date(Date.now() + 8 * 3600_000);
  const month = local.getUTCMonth() + 3;
  const last = new Date(Date.UTC(local.getUTCFullYear(), month + 1, 0)).getUTCDate();
  const due = new Date(Date.UTC(local.getUTCFullYear(), month, Math.min(local.getUTCDate(), last)));
  return due.toISOString().slice(0, 10).replaceAll('-', '/');
}

/** The proposals (Z9902 政协委员提案) the dispatcher can see, through the API. */
async function cppccCases(token) {
  return (await call(server.base, token, '/api/cases?category=Z9902&limit=500')).items;
}

test('a dispatcher registers a 政协委员提案, then accepts and dispatches it', async () => {
  const token = await login(server.base, 'dispatcher');
  const before = await cppccCases(token);
  const [firstCell, secondCell] = await cellsOf(server.base, COMMUNITY);
  assert.ok(secondCell, `community ${COMMUNITY} has two cells`);

  const page = await newPage(browser);
  await signIn(page, server.base, 'dispatcher');
  assert.match(page.url(), /\/ui\/desk\.html/);
  await page.waitForSelector('#queue-list a.qrow');

  // Keyboard: the action is a button; Enter opens the dialog on the kind, arrows change it.
  const opener = page.locator('#proposal-open');
  assert.equal(await opener.textContent(), '＋ 登记建议提案');
  await opener.focus();
  await page.keyboard.press('Enter');
  await page.waitForSelector('#proposal-dialog[open] #p-map svg path');
  assert.equal(await page.textContent('#proposal-title'), '登记建议提案');
  assert.equal(await page.evaluate(() => document.activeElement?.value), 'npc_suggestion');
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.evaluate(() => document.activeElement?.value), 'cppcc_proposal');
  assert.equal(await page.isChecked('input[name="proposal-kind"][value="cppcc_proposal"]'), true);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'p-number');

  // Without a date the hint names the server's default: three months after it is handed over.
  const hint = await page.textContent('#p-due-hint');
  assert.match(hint, /不填时按交办之日起三个月办结/);
  assert.ok(hint.includes(threeMonthsShown()), `${hint} names ${threeMonthsShown()}`);

  // The dispatcher's one street is chosen already; the community and cell lists follow.
  assert.equal(await page.inputValue('#p-street'), COMMUNITY.slice(0, 9));
  await page.selectOption('#p-community', COMMUNITY);
  await page.selectOption('#p-cell', firstCell.properties.code);
  assert.match(await page.textContent('#p-where'), new RegExp(`已选择网格：.*${firstCell.properties.code}`));
  await page.waitForSelector('#p-map path.p-chosen');

  // Everything but the number: the dialog says what is missing and sends nothing.
  const due = chinaDate(100);
  await page.fill('#p-session', SESSION);
  await page.fill('#p-proposer', PROPOSER);
  await page.fill('#p-due', due.input);
  assert.equal(await page.textContent('#p-due-hint'), `办结时限：${due.shown}（当天下班前）。`);
  await page.fill('#p-title', TITLE);
  await page.fill('#p-content', CONTENT);
  let posted = 0;
  page.on('request', (request) => {
    if (request.method() === 'POST' && new URL(request.url()).pathname === '/api/cases') posted += 1;
  });
  await page.click('#proposal-submit');
  await page.waitForSelector('#proposal-error:not(.hidden)');
  assert.equal(await page.textContent('#proposal-error-text'), '请填写建议提案的编号（例如 第0123号）。');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'p-number', 'the empty field has the focus');
  assert.equal(posted, 0, 'nothing was sent');
  await shot(page, 'proposal-dialog-error');

  // A number longer than the API allows (past the field's own limit): the API's refusal, in words.
  await page.evaluate(() => {
    const input = document.getElementById('p-number');
    input.value = '第'.padEnd(33, '0');
    input.dispatchEvent(new Event('input', { bubbles: true }));
  });
  assert.equal(await page.isVisible('#proposal-error'), false, 'typing clears the message');
  await page.click('#proposal-submit');
  await page.waitForSelector('#proposal-error:not(.hidden)');
  const refusal = await page.textContent('#proposal-error-text');
  assert.match(refusal, /^填写的内容有问题：/);
  assert.match(refusal, /at most 32/);
  assert.equal(posted, 1);
  assert.equal(await page.isVisible('#proposal-dialog'), true, 'the dialog stays with what was typed');
  assert.equal(await page.inputValue('#p-title'), TITLE);
  assert.deepEqual(await cppccCases(token), before, 'nothing was filed');

  // The right number; the place moved with a pin on the map (zoomed to it, as a person would).
  await page.fill('#p-number', NUMBER);
  const point = pointInside(secondCell);
  const spot = await page.evaluate(({ lon, lat }) => {
    const map = document.getElementById('p-map').leafletMap;
    map.setView([lat, lon], 16, { animate: false });
    const p = map.latLngToContainerPoint([lat, lon]);
    return { x: p.x, y: p.y };
  }, point);
  const box = await page.locator('#p-map').boundingBox();
  await page.mouse.click(box.x + spot.x, box.y + spot.y);
  await page.waitForSelector(`#p-where:has-text("图钉在网格")`);
  assert.equal(await page.inputValue('#p-cell'), secondCell.properties.code, 'the pin sets the cell list');
  assert.match(await page.textContent('#p-where'), new RegExp(secondCell.properties.code));
  await shot(page, 'proposal-dialog');

  await page.click('#proposal-submit');
  const toast = page.locator('.toast.ok');
  await toast.waitFor();
  const id = Number((await toast.textContent()).match(/已登记建议提案 第0123号，案件 #(\d+)/)?.[1]);
  assert.ok(id > 0, `the toast names the case: ${await toast.textContent()}`);
  await page.waitForURL(new RegExp(`#case=${id}$`));
  await page.waitForSelector(`#case-view .case-kicker:has-text("#${id}")`);
  assert.equal(await page.textContent('#case-view h2'), TITLE);
  assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'H2', 'the new case has the focus');
  const fact = page.locator('#case-view dt:has-text("建议提案") + dd');
  assert.equal(await fact.textContent(), `政协委员提案 ${NUMBER} · ${SESSION} · ${PROPOSER} · 办结时限 ${due.shown}`);
  assert.match(await page.textContent('#case-view .facts'), /政协委员提案（Z9902）/);
  assert.match(await page.textContent('#case-view .facts'), new RegExp(secondCell.properties.code));
  await page.waitForSelector(`#queue-list a.qrow[data-id="${id}"] .qproposal:has-text("政协委员提案 ${NUMBER}")`);
  assert.equal(posted, 2);

  const filed = (await cppccCases(token)).find((c) => c.id === id);
  assert.equal(Date.parse(filed.proposal.due_at), Date.parse(`${due.input}T18:00:00+08:00`), 'the date means 18:00 in China');
  assert.ok(filed.point, 'the pin is the case’s point');
  await page.waitForSelector('#case-view .map-inset path.cell-outline');
  await page.evaluate(() => document.querySelectorAll('#toasts .toast').forEach((t) => t.remove()));
  await shot(page, 'proposal-case');

  // Accept (its kind's category stays) and dispatch to the housing department.
  await page.click('#case-view button[data-command="accept"]');
  await page.waitForSelector('#command-dialog[open] #f-category');
  assert.equal(await page.inputValue('#f-category'), 'Z9902');
  await page.click('#command-submit');
  await page.waitForSelector('#case-view .badge.state:has-text("已立案")');
  await page.click('#case-view button[data-command="dispatch"]');
  await page.waitForSelector('#command-dialog[open] #f-department');
  assert.equal(await page.inputValue('#f-department'), 'xinfang', 'the kind’s default department');
  await page.selectOption('#f-department', 'zhujian');
  await page.click('#command-submit');
  await page.waitForSelector('#case-view .badge.state:has-text("处置中")');
  assert.match(await page.textContent('#case-view .facts'), /区住房和建设委员会/);
  // Handling runs to the date the document carries.
  assert.match(await page.textContent('#case-view .case-head'), new RegExp(`处置时限 ${due.shown}`));
  assert.match(await page.textContent('#case-view .chain'), /哈希链校验通过/);

  // The queue's 建议提案 filter lists proposals only.
  await page.selectOption('#queue-category', 'proposals');
  await page.waitForFunction((want) => {
    const rows = [...document.querySelectorAll('#queue-list a.qrow')];
    return rows.some((row) => Number(row.dataset.id) === want) && rows.every((row) => row.querySelector('.qproposal'));
  }, id);

  const problems = page.problems.filter((p) => !/status of 422/.test(p));
  assert.deepEqual(problems, []);
  assert.deepEqual(browser.outside, []);
});

test('a department handler has no register action; the dialog in English', async () => {
  const page = await newPage(browser);
  await signIn(page, server.base, 'handler');
  assert.match(page.url(), /\/ui\/desk\.html/);
  // The queue has loaded (the page is wired by then).
  await page.waitForFunction(() => document.getElementById('queue-count').textContent !== '');
  assert.equal(await page.isVisible('#proposal-open'), false, 'only the desk registers proposals');

  await signIn(page, server.base, 'commander');
  await page.goto(`${server.base}/ui/desk.html`);
  await page.evaluate(() => localStorage.setItem('onegrid.lang', 'en'));
  await page.reload();
  await page.click('#proposal-open');
  await page.waitForSelector('#proposal-dialog[open] #p-map svg path');
  assert.equal(await page.textContent('#proposal-title'), 'Register a proposal');
  assert.match(await page.textContent('#p-due-hint'), /three months after it is handed over/);
  // The command center covers the district: every street is offered, none chosen yet.
  assert.ok((await page.locator('#p-street option').count()) > 2);
  assert.equal(await page.inputValue('#p-street'), '');
  await page.click('#proposal-submit');
  assert.equal(await page.textContent('#proposal-error-text'), 'Give the proposal’s number (e.g. 第0123号).');
  await shot(page, 'proposal-dialog-en');
  await page.evaluate(() => localStorage.setItem('onegrid.lang', 'zh'));
  assert.deepEqual(page.problems, []);
});

test('on a phone the dialog fits the screen', async () => {
  const phone = await startBrowser(PHONE);
  try {
    const page = await newPage(phone);
    await signIn(page, server.base, 'dispatcher');
    await page.waitForSelector('#queue-list a.qrow');
    await page.click('#proposal-open');
    await page.waitForSelector('#proposal-dialog[open] #p-map svg path');
    const overflow = await page.evaluate(() => {
      const dialog = document.getElementById('proposal-dialog');
      return dialog.scrollWidth - dialog.clientWidth;
    });
    assert.ok(overflow <= 0, `nothing sticks out sideways (${overflow}px)`);
    await shot(page, 'proposal-dialog-phone');
    await page.keyboard.press('Escape');
    await page.waitForSelector('#proposal-dialog:not([open])', { state: 'attached' });
    assert.deepEqual(page.problems, []);
    assert.deepEqual(phone.outside, []);
  } finally {
    await phone.close();
  }
});
