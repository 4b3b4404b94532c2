// What the browser tests against OHIF share: their checks and count of failures, running
// hepatrack's commands, a free loopback port, and closing OHIF's notices.

import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';

export let failures = 0;

export function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'}: ${what}`);
  if (!ok) failures++;
}

export function fail() {
  failures++;
}

export function run(args, input) {
  const p = spawnSync(args[0], args.slice(1), { input, encoding: 'utf8' });
  if (p.status !== 0) throw new Error(`${args.join(' ')}: ${p.stderr}`);
  return p.stdout;
}

export function freePort() {
  return new Promise((done) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => done(port));
    });
  });
}

// OHIF's notices over the viewer (the investigational-use banner, the hotkeys tour).
export async function dismiss(page) {
  for (const text of ['Confirm and hide', 'Skip all']) {
    const b = page.getByText(text, { exact: true }).first();
    if (await b.isVisible().catch(() => false)) await b.click({ timeout: 1000 }).catch(() => {});
  }
}

// The OHIF viewport's canvas box once it has a size (at most a minute after it shows).
export async function viewportBox(page) {
  const canvas = page.locator('[data-cy="viewport-pane"] canvas, .cornerstone-canvas').first();
  await canvas.waitFor({ state: 'visible', timeout: 180000 });
  for (let i = 0; i < 600; i++) {
    const box = await canvas.boundingBox();
    if (box && box.width > 100 && box.height > 100) return box;
    await page.waitForTimeout(100);
  }
  throw new Error('the viewport canvas never got a size');
}

// Wait until hepatrack answers on base (at most 10 s).
export async function serving(base) {
  for (let i = 0; i < 200; i++) {
    try { await fetch(`${base}/`); return; } catch { await new Promise((r) => setTimeout(r, 50)); }
  }
}

// Debian's chromium, headless, with WebGL through SwiftShader (OHIF draws with WebGL).
export function launchWithWebGL(chromium) {
  return chromium.launch({
    executablePath: '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage',
      '--enable-unsafe-swiftshader', '--use-angle=swiftshader', '--ignore-gpu-blocklist'],
  });
}

// Every answer of 400 or more and every failed request to base while recording: watch(page,
// name) on each page, recording = true from where failures count, failed lists them. Page
// errors, console errors and Content Security Policy messages are printed.
export function requestWatcher(base) {
  const w = { failed: [], recording: false };
  w.watch = (page, name) => {
    page.on('response', (r) => {
      if (w.recording && r.url().startsWith(base) && r.status() >= 400)
        w.failed.push(`${name}: ${r.status()} ${r.request().method()} ${r.url()}`);
    });
    page.on('requestfailed', (r) => {
      // A request the page itself dropped (a prefetch cancelled on navigation) is not a
      // failure of hepatrack's.
      const why = r.failure()?.errorText ?? '';
      if (w.recording && r.url().startsWith(base) && !/ERR_ABORTED/.test(why))
        w.failed.push(`${name}: failed ${r.method()} ${r.url()} ${why}`);
    });
    page.on('pageerror', (e) => console.log(`${name} page error: ${e.message.slice(0, 300)}`));
    page.on('console', (m) => {
      if (m.type() === 'error' || /Content.Security.Policy/i.test(m.text()))
        console.log(`${name} console ${m.type()}: ${m.text().slice(0, 300)}`);
    });
  };
  return w;
}

// Mean grey levels of discs ({x, y, r} in the screenshot's pixels) of a PNG screenshot, decoded
// by decoder, a blank page's 2D canvas (a WebGL canvas cannot be read back).
export async function discGreys(decoder, png, discs) {
  return decoder.evaluate(async ({ b64, discs }) => {
    const bitmap = await createImageBitmap(await (await fetch(`data:image/png;base64,${b64}`)).blob());
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext('2d');
    ctx.drawImage(bitmap, 0, 0);
    return discs.map(({ x, y, r }) => {
      const d = ctx.getImageData(Math.round(x - r), Math.round(y - r), Math.round(2 * r) + 1, Math.round(2 * r) + 1);
      let sum = 0, n = 0;
      for (let j = 0; j < d.height; j++) {
        for (let i = 0; i < d.width; i++) {
          if ((i - r) ** 2 + (j - r) ** 2 > r * r) continue;
          const k = (j * d.width + i) * 4;
          sum += (d.data[k] + d.data[k + 1] + d.data[k + 2]) / 3;
          n++;
        }
      }
      return n ? sum / n : NaN;
    });
  }, { b64: png.toString('base64'), discs });
}
