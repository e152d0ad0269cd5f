import assert from 'node:assert/strict';
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

test('a wrong password is refused with a sentence, and a right one opens the role’s page', async () => {
  const page = await newPage(browser);
  await page.goto(`${server.base}/ui/`);
  await page.fill('#person', 'dispatcher');
  await page.fill('#password', 'not-the-password');
  await page.click('#signin button[type=submit]');
  await page.waitForSelector('#signin-error:not(:empty)');
  assert.equal(await page.textContent('#signin-error'), '账号或密码不正确。');
  await shot(page, 'signin-refused');
  await signIn(page, server.base, 'commander');
  assert.match(page.url(), /\/ui\/command\.html$/);
  assert.deepEqual(browser.outside, [], 'nothing is loaded from outside the server');
});

test('the language switch turns the sign-in page into English', async () => {
  const page = await newPage(browser);
  await page.goto(`${server.base}/ui/`);
  await page.evaluate(() => localStorage.clear());
  await page.reload();
  await page.click('text=English');
  await page.waitForSelector('text=Sign in');
  assert.equal(await page.textContent('#signin h2'), 'Sign in');
  await shot(page, 'signin-en');
  await page.click('#topbar button:has-text("中文")');
  await page.waitForSelector('#signin h2:has-text("登录")');
  assert.deepEqual(page.problems, []);
});
