// Test harness for the browser tests: a release server on a fresh copy of the Dongli demo, on a free
// loopback port, and Debian's Chromium driven by playwright-core with a fresh profile.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, '..', '..');
export const shotsDir = join(repo, 'target', 'e2e');
export const PASSWORD = 'onegrid-demo';

const binary = process.env.ONEGRID_BIN || join(repo, 'target', 'release', 'onegrid');

/** Starts `onegrid demo` on a fresh database and resolves with {base, stop}. */
export async function startServer(extraArgs = []) {
  const dir = mkdtempSync(join(tmpdir(), 'onegrid-e2e-'));
  const child = spawn(binary, ['demo', '--db', join(dir, 'demo.db'), '--listen', '127.0.0.1:0', ...extraArgs], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, RUST_LOG: 'warn' },
  });
  let log = '';
  const base = await new Promise((resolveBase, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start in 30 s:\n${log}`)), 30000);
    child.stderr.on('data', (chunk) => {
      log += chunk;
      const found = log.match(/serving on (http:\/\/[0-9.:]+)\//);
      if (found) {
        clearTimeout(timer);
        resolveBase(found[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`the server exited with ${code}:\n${log}`)));
  });
  return {
    base,
    log: () => log,
    stop: async () => {
      child.kill('SIGINT');
      await new Promise((done) => (child.exitCode !== null ? done() : child.on('exit', done)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Chromium with a fresh profile; resolves with {context, close}. */
export async function startBrowser({ width = 1440, height = 900, mobile = false } = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'onegrid-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width, height },
    deviceScaleFactor: 1,
    isMobile: mobile,
    hasTouch: mobile,
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
    acceptDownloads: true,
  });
  // Nothing may come from outside the server under test: fail loudly if a page tries.
  const outside = [];
  await context.route(/^https?:\/\/(?!127\.0\.0\.1)/, (route) => {
    outside.push(route.request().url());
    return route.abort();
  });
  return {
    context,
    outside,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A new page that records console errors and failed requests (tests assert there are none). */
export async function newPage(browser) {
  const page = await browser.context.newPage();
  page.problems = [];
  page.on('pageerror', (error) => page.problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') page.problems.push(`console: ${message.text()}`);
  });
  return page;
}

/** Signs in through the sign-in page and waits for the account's home page. */
export async function signIn(page, base, account, password = PASSWORD) {
  await page.goto(`${base}/ui/`);
  await page.evaluate(() => localStorage.clear());
  await page.goto(`${base}/ui/`);
  await page.fill('#person', account);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL((url) => !url.pathname.endsWith('/ui/')), page.click('#signin button[type=submit]')]);
}

/** Saves a screenshot as target/e2e/NAME.png. */
export async function shot(page, name, options = {}) {
  mkdirSync(shotsDir, { recursive: true });
  const path = join(shotsDir, `${name}.png`);
  await page.screenshot({ path, ...options });
  return path;
}

/** Presses Tab (Shift+Tab with `backwards`) until `test` holds for the focused element, at most `limit` times. */
export async function tabUntil(page, test, what, { limit = 80, arg, backwards = false } = {}) {
  for (let i = 0; i < limit; i += 1) {
    await page.keyboard.press(backwards ? 'Shift+Tab' : 'Tab');
    if (await page.evaluate(test, arg)) return;
  }
  assert.fail(`Tab never reached ${what}`);
}

/** Whether the focused element shows a focus ring a person can see (at least 2 px). */
export const focusVisible = (page) => page.evaluate(() => {
  const node = document.activeElement;
  const style = getComputedStyle(node);
  return node.matches(':focus-visible') && style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
});
