// Readable contrast: on every page, as the account that uses it, every piece of visible text has a
// WCAG 2 contrast ratio of at least 4.5:1 against what is behind it (3:1 for large text: 24 px, or
// 18.66 px bold). The background is the first opaque one up the tree; text over a map, an image or
// a gradient is left out (its background is not a colour).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DESKTOP, PHONE } from './fixtures.mjs';
import { newPage, shot, signIn, startBrowser, startServer } from './harness.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

/** The text nodes of the page whose contrast is too low, as "ratio: text (selector)". */
function lowContrast() {
  const parse = (colour) => {
    const m = colour.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const [r, g, b, a = 1] = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return { r, g, b, a };
  };
  const luminance = ({ r, g, b }) => {
    const lin = (v) => {
      const c = v / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  };
  const over = (top, bottom) => ({
    r: top.r * top.a + bottom.r * (1 - top.a),
    g: top.g * top.a + bottom.g * (1 - top.a),
    b: top.b * top.a + bottom.b * (1 - top.a),
    a: 1,
  });
  /** The colour behind `node`, or null when it is not a plain colour (an image, a map, a gradient). */
  const behind = (node) => {
    const layers = [];
    for (let at = node; at; at = at.parentElement) {
      const style = getComputedStyle(at);
      if (style.backgroundImage !== 'none' || at.classList.contains('leaflet-container')) return null;
      const colour = parse(style.backgroundColor);
      if (colour && colour.a > 0) {
        layers.push(colour);
        if (colour.a >= 1) break;
      }
    }
    let result = { r: 255, g: 255, b: 255, a: 1 };
    for (const layer of layers.reverse()) result = over(layer, result);
    return result;
  };
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  for (let text = walker.nextNode(); text; text = walker.nextNode()) {
    const node = text.parentElement;
    if (!node || seen.has(node) || !text.textContent.trim()) continue;
    seen.add(node);
    const style = getComputedStyle(node);
    const box = node.getBoundingClientRect();
    if (box.width === 0 || box.height === 0 || style.visibility !== 'visible' || Number(style.opacity) < 1) continue;
    if (node.closest('[aria-hidden="true"], .hidden, [hidden], option, .leaflet-container, canvas')) continue;
    if (node.closest('button:disabled, input:disabled, select:disabled')) continue; // WCAG exempts inactive controls
    const fg = parse(style.color);
    const bg = behind(node);
    if (!fg || !bg) continue;
    const colour = over(fg, bg);
    const [hi, lo] = [luminance(colour), luminance(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) {
      const where = `${node.tagName.toLowerCase()}${node.id ? `#${node.id}` : ''}${node.className && typeof node.className === 'string' ? `.${node.className.trim().split(/\s+/).join('.')}` : ''}`;
      found.push(`${ratio.toFixed(2)}: ${text.textContent.trim().slice(0, 30)} (${where}; ${style.color} on rgb(${Math.round(bg.r)}, ${Math.round(bg.g)}, ${Math.round(bg.b)}))`);
    }
  }
  return found;
}

const PAGES = [
  { account: 'commander', path: '/ui/command.html', ready: '#summary[data-shown]', size: DESKTOP },
  { account: 'dispatcher', path: '/ui/desk.html', ready: '#queue-list a.qrow', size: DESKTOP },
  { account: 'supervisor', path: '/ui/kpi.html', ready: '.tile[data-kpi="reported"] .tile-value:not(:text("…"))', size: DESKTOP },
  { account: 'supervisor', path: '/ui/supervision.html', ready: '#tasks tbody tr', size: DESKTOP },
  { account: 'supervisor', path: '/ui/projects.html', ready: 'main', size: DESKTOP },
  { account: 'dispatcher', path: '/ui/opinions.html', ready: 'main', size: DESKTOP },
  { account: 'gridworker', path: '/ui/worker.html', ready: '#report-form', size: PHONE },
  { account: 'citizen', path: '/ui/citizen.html', ready: '#report-form', size: PHONE },
];

test('every page’s text is readable: contrast at least 4.5:1 (3:1 for large text)', { timeout: 180000 }, async () => {
  const problems = [];
  for (const { account, path, ready, size } of PAGES) {
    const browser = await startBrowser(size);
    try {
      const page = await newPage(browser);
      await signIn(page, server.base, account);
      await page.goto(`${server.base}${path}`);
      await page.waitForSelector(ready);
      await page.waitForTimeout(800); // toasts and transitions settle
      for (const problem of await page.evaluate(lowContrast)) problems.push(`${path}: ${problem}`);
      await shot(page, `contrast-${path.split('/').pop().replace('.html', '')}`);
    } finally {
      await browser.close();
    }
  }
  // The sign-in page, signed out.
  const browser = await startBrowser(DESKTOP);
  try {
    const page = await newPage(browser);
    await page.goto(`${server.base}/ui/`);
    await page.waitForSelector('#signin');
    for (const problem of await page.evaluate(lowContrast)) problems.push(`/ui/: ${problem}`);
  } finally {
    await browser.close();
  }
  const distinct = [...new Set(problems)];
  assert.deepEqual(distinct, [], `text below the contrast minimum:\n${distinct.join('\n')}`);
});
