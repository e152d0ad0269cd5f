// A citizen whose phone cannot tell its position reports by address: the address names the
// community, 「按地址定位」 puts the pin at the community's centre, and the case lands in a cell of
// that community with the address kept. An address that names no area of the district is said in
// words and nothing is sent.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { COMMUNITY, PHONE, call, login } from './fixtures.mjs';
import { newPage, shot, signIn, startBrowser, startServer } from './harness.mjs';

let server;
let community;
before(async () => {
  server = await startServer();
  const token = await login(server.base, 'dispatcher');
  community = (await call(server.base, token, '/api/areas')).find((area) => area.code === COMMUNITY);
  assert.ok(community?.name, `the demo has community ${COMMUNITY}`);
});
after(async () => {
  await server?.stop();
});

/** A phone whose position is refused (no geolocation permission). */
async function phoneWithoutGps() {
  const browser = await startBrowser(PHONE);
  const page = await newPage(browser);
  await signIn(page, server.base, 'citizen');
  await page.waitForSelector('#report-position-status:has-text("定位")');
  return { browser, page };
}

test('without GPS, a citizen reports by address: the community named in it places the case', async () => {
  const { browser, page } = await phoneWithoutGps();
  try {
    await page.waitForFunction(() => document.querySelector('#report-map')?.leafletMap);
    // As a resident writes it: the community's name without the demo's 「（生成）」 note.
    const bare = community.name.replace(/[（(].*[）)]$/, '');
    const address = `天津市东丽区${bare}幸福里小区 3 号楼东侧`;
    await page.fill('#report-address', address);
    await page.press('#report-address', 'Enter'); // Enter finds the address; it does not send
    await page.waitForSelector(`#report-position-status:has-text("已按地址定位到「${community.name}」")`);
    await page.waitForSelector('.leaflet-marker-icon');
    await page.fill('#report-description', '楼东侧路灯一直不亮，晚上走路很不安全，请尽快修理。');
    await page.locator('#report-address').scrollIntoViewIfNeeded();
    await shot(page, 'citizen-address-located');
    const sent = page.waitForResponse((r) => r.url().endsWith('/api/cases/upload'));
    await page.click('#report-submit');
    assert.equal((await sent).status(), 201);
    await page.waitForSelector('#outcome-case');
    const id = Number(await page.textContent('#outcome-case'));
    const view = (await call(server.base, await login(server.base, 'dispatcher'), `/api/cases/${id}`)).case;
    assert.ok(view.cell.startsWith(COMMUNITY), `the case is in a cell of ${community.name}: ${view.cell}`);
    assert.equal(view.address, address, 'the address is kept as written');
    assert.deepEqual(page.problems, []);
    assert.deepEqual(browser.outside, []);
  } finally {
    await browser.close();
  }
});

test('an address naming no area of the district is said in words, and nothing is sent', async () => {
  const { browser, page } = await phoneWithoutGps();
  try {
    let sent = 0;
    page.on('request', (request) => {
      if (request.url().endsWith('/api/cases/upload')) sent += 1;
    });
    await page.fill('#report-address', '火星大道 1 号');
    await page.fill('#report-description', '路面有个大坑。');
    await page.click('#report-submit');
    await page.waitForSelector('#report-address-note.warn:has-text("没有本区的街道、社区或网格名称")');
    await page.waitForSelector('#report-error:has-text("还没有位置")');
    await shot(page, 'citizen-address-unknown');
    assert.equal(sent, 0, 'nothing was sent');
    assert.deepEqual(page.problems, []);
  } finally {
    await browser.close();
  }
});

test('areaNamedIn: the most precise area, the longest name, and names that repeat across streets', async () => {
  const browser = await startBrowser(PHONE);
  try {
    const page = await newPage(browser);
    await page.goto(`${server.base}/ui/`);
    const found = await page.evaluate(async () => {
      const { areaNamedIn } = await import('/ui/report-form.js');
      const areas = [
        { code: '120110', name: '东丽区', level: 'district', parent: null },
        { code: '120110001', name: '张贵庄街道', level: 'street', parent: '120110' },
        { code: '120110002', name: '丰年村街道', level: 'street', parent: '120110' },
        { code: '120110001001', name: '幸福社区', level: 'community', parent: '120110001' },
        { code: '120110002001', name: '幸福社区', level: 'community', parent: '120110002' },
        { code: '120110002002', name: '第1社区', level: 'community', parent: '120110002' },
        { code: '120110002003', name: '丰年第1社区（生成）', level: 'community', parent: '120110002' },
      ];
      const code = (address) => {
        const area = areaNamedIn(areas, address);
        return area?.ambiguous ? area.ambiguous.map((a) => a.code) : area?.code ?? null;
      };
      return {
        street: code('张贵庄街道某某路 12 号'),
        longest: code('丰年第1社区 3 号楼'),
        ambiguous: code('幸福社区 5 号楼'),
        decided: code('丰年村街道幸福社区 5 号楼'),
        none: code('火星大道 1 号'),
      };
    });
    assert.deepEqual(found, {
      street: '120110001',
      longest: '120110002003',
      ambiguous: ['120110001001', '120110002001'],
      decided: '120110002001',
      none: null,
    });
    await shot(page, 'citizen-address-signin');
  } finally {
    await browser.close();
  }
});
