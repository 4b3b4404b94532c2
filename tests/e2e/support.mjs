// What the browser tests against OHIF (and the OHIF bench) share: their checks and count of
// failures, loading playwright's chromium, the generated study's geometry and where its image
// falls in the viewport, running hepatrack's commands, a free loopback port, waiting for the
// server and the viewport, closing OHIF's notices, watching requests and reading screenshots.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

export let failures = 0;

// Playwright's chromium from MODULES; leaves with a message naming the make target when it or
// OHIF's built viewer (OHIF_DIR) is missing.
export function playwrightChromium(modules, ohifDir) {
  if (!existsSync(join(modules, 'playwright-core'))) {
    console.error(`playwright-core is not in ${modules}: run make e2e-deps (make check does)`);
    process.exit(1);
  }
  if (!existsSync(join(ohifDir ?? '', 'index.html'))) {
    console.error(`OHIF is not in ${ohifDir}: run make ohif (make check does)`);
    process.exit(1);
  }
  return createRequire(resolve(modules, 'x.js'))('playwright-core').chromium;
}

// The geometry of ht-gen-study's images: 512 x 512 pixels of 0.78125 mm, the image's centre at
// (0, 0) mm, in the window 40/400 (centre/width), so 0 HU is grey 102 and the liver's 105 HU
// grey 169 (of 255).
export const PIXEL = 0.78125, SIZE = 512, HALF = ((SIZE - 1) * PIXEL) / 2;
export const WINDOW = { center: 40, width: 400 };
export const grey = (hu) => Math.max(0, Math.min(255, ((hu - (WINDOW.center - WINDOW.width / 2)) / WINDOW.width) * 255));

// The image as cornerstone fits it into the viewport canvas's box (the whole image, centred),
// the box's top-left corner at `origin` (the page's coordinates: the box's own; a screenshot
// clipped to the box: 0, 0): px maps an image point in pixels (DICOM SCOORD: (0, 0) the top-left
// corner of the top-left pixel) and mm a point in mm, scale is screen pixels per image pixel.
export function imageFit(box, origin = box) {
  const scale = Math.min(box.width, box.height) / SIZE;
  const ox = origin.x + (box.width - SIZE * scale) / 2, oy = origin.y + (box.height - SIZE * scale) / 2;
  const px = ([u, v]) => ({ x: ox + u * scale, y: oy + v * scale });
  return { scale, px, mm: (p) => px([(p.x + HALF) / PIXEL + 0.5, (p.y + HALF) / PIXEL + 0.5]) };
}

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
