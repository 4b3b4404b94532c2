// The browser part of tests/bench/ohif.sh: the time OHIF v3 takes to draw the first image of
// the same study served by each DICOMweb server (hepatrack, Orthanc), in one headless chromium,
// interleaved, as medians and hepatrack's ratio to Orthanc (not a test: nothing is timed against
// a limit; every answer is checked, an image that is not drawn fails the run).
//
// Each server sits behind its own front, a copy of the same code (this file run as "front", one
// process each): it serves OHIF's built files (OHIF_WWW) under /ohif/ from memory, answers
// /ohif/app-config.js with CONFIG_JS (hepatrack's generated config) whose qidoRoot, wadoRoot and
// wadoUriRoot are changed to the front's own /dicom-web, and forwards /dicom-web/* to the
// server's DICOMweb root (streamed both ways, headers kept but the hop-by-hop ones, Host kept so
// that the URLs a server writes into its answers name the front). OHIF therefore reads both
// servers on its own origin with the same configuration, the same files and the same overhead.
//
// Each repetition opens /ohif/viewer?StudyInstanceUIDs=UID on a front in a fresh browser context
// (empty cache) and waits until the viewport shows the image, detected as tests/e2e/ohif.mjs
// does: the grey levels of a screenshot (a WebGL canvas cannot be read back) at the lesion and
// in the liver around it are the ones the study's window gives their HU. The time is from
// opening the URL to the return of the first screenshot that shows the image (screenshots are
// taken one after another from the moment the viewport's canvas has a size, so the figure is
// late by up to a screenshot's time, several hundred ms under SwiftShader). A second, finer
// figure: the time of cornerstone's first IMAGE_RENDERED event after the viewport got its first
// image (STACK_NEW_IMAGE), caught in the page; it must come before that screenshot. Each load
// also prints the DICOMweb requests forwarded, how many were HTTP-compressed and their MiB, by
// the time the image was confirmed.
//
// usage: node ohif.mjs NODE_MODULES OHIF_WWW CONFIG_JS STUDY_UID SLICES REPS NAME=ROOT...
//   ROOT is a server's DICOMweb root (http://127.0.0.1:PORT/dicom-web); the first NAME is the
//   reference (the ratio is its time over the last NAME's); each round loads them in this order.
//   node ohif.mjs front OHIF_WWW CONFIG_JS ROOT  (one front, started by the above)

import { fork } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { discGreys, dismiss, grey, imageFit, launchWithWebGL, PIXEL } from '../e2e/support.mjs';

if (process.argv[2] === 'front') front(...process.argv.slice(3));
else await bench(...process.argv.slice(2));

// ---- the front --------------------------------------------------------------------------------

function front(www, configPath, root) {
  const upstream = new URL(root.replace(/\/$/, ''));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64, noDelay: true });
  const types = { '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
    '.css': 'text/css; charset=utf-8', '.html': 'text/html; charset=utf-8', '.json': 'application/json',
    '.map': 'application/json', '.webapp': 'application/json', '.svg': 'image/svg+xml',
    '.wasm': 'application/wasm', '.png': 'image/png', '.ico': 'image/x-icon', '.woff2': 'font/woff2',
    '.woff': 'font/woff', '.txt': 'text/plain; charset=utf-8', '.xml': 'application/xml' };
  const hop = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate',
    'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);
  const files = new Map(); // OHIF's files, read once
  let config;
  const stats = () => ({ dicomweb: 0, encoded: 0, bytes: 0, files: 0, errors: [] });
  let s = stats();

  function file(rel) {
    if (files.has(rel)) return files.get(rel);
    const path = normalize(join(www, rel));
    let body = null;
    if (path.startsWith(`${www}/`) && existsSync(path) && statSync(path).isFile()) body = readFileSync(path);
    files.set(rel, body);
    return body;
  }

  const server = http.createServer({ noDelay: true, keepAlive: true }, (req, res) => {
    const url = new URL(req.url, 'http://front');
    if (url.pathname === '/dicom-web' || url.pathname.startsWith('/dicom-web/')) {
      s.dicomweb++;
      const headers = {};
      for (const [k, v] of Object.entries(req.headers)) if (!hop.has(k)) headers[k] = v;
      const up = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, agent,
        path: upstream.pathname + url.pathname.slice('/dicom-web'.length) + url.search, headers }, (ur) => {
        const out = {};
        for (const [k, v] of Object.entries(ur.headers)) if (!hop.has(k)) out[k] = v;
        if (ur.statusCode >= 400) s.errors.push(`${ur.statusCode} ${req.method} ${req.url}`);
        if (ur.headers['content-encoding']) s.encoded++;
        res.writeHead(ur.statusCode, out);
        ur.on('data', (chunk) => { s.bytes += chunk.length; });
        ur.pipe(res);
      });
      up.on('error', (e) => {
        s.errors.push(`502 ${req.method} ${req.url}: ${e.message}`);
        if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' });
        res.end();
      });
      req.pipe(up);
      return;
    }
    if (url.pathname === '/ohif' || url.pathname === '/') {
      res.writeHead(301, { Location: `/ohif/${url.search}` });
      res.end();
      return;
    }
    if (!url.pathname.startsWith('/ohif/')) {
      res.writeHead(404);
      res.end();
      return;
    }
    s.files++;
    const rel = decodeURIComponent(url.pathname.slice('/ohif/'.length));
    let body, type;
    if (rel === 'app-config.js') {
      body = config;
      type = types['.js'];
    } else {
      body = rel && !rel.endsWith('/') ? file(rel) : null;
      type = types[extname(rel)];
      if (!body && type && extname(rel) !== '.html') { // a missing asset
        s.errors.push(`404 GET ${req.url}`);
        res.writeHead(404);
        res.end();
        return;
      }
      if (!body) { // one of OHIF's routes: its page
        body = file('index.html');
        type = types['.html'];
      }
    }
    res.writeHead(200, { 'Content-Type': type ?? 'application/octet-stream', 'Content-Length': body.length,
      'Cache-Control': 'no-cache' });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    // hepatrack's generated configuration with only the three roots changed: this front's own.
    let roots = 0;
    config = Buffer.from(readFileSync(configPath, 'utf8').replace(
      /^(\s*(?:qidoRoot|wadoRoot|wadoUriRoot)\s*:\s*)[^\n]*?,?\s*$/gm,
      (_, key) => { roots++; return `${key}'http://127.0.0.1:${port}/dicom-web',`; }));
    if (roots !== 3) {
      process.send({ error: `${configPath}: found ${roots} of qidoRoot, wadoRoot, wadoUriRoot` });
      process.exit(1);
    }
    process.send({ port });
  });
  process.on('message', (m) => {
    if (m === 'stats') {
      process.send({ stats: s });
      s = stats();
    } else if (m === 'exit') {
      server.close();
      agent.destroy();
      process.exit(0);
    }
  });
}

// ---- the driver -------------------------------------------------------------------------------

async function bench(modules, www, configPath, study, slicesArg, repsArg, ...servers) {
  if (!existsSync(join(modules ?? '', 'playwright-core'))) {
    console.error(`playwright-core is not in ${modules}: run make e2e-deps`);
    process.exit(2);
  }
  if (!existsSync(join(www ?? '', 'index.html')) || servers.length < 2) {
    console.error('usage: node ohif.mjs NODE_MODULES OHIF_WWW CONFIG_JS STUDY_UID SLICES REPS NAME=ROOT...');
    process.exit(2);
  }
  const { chromium } = createRequire(resolve(modules, 'x.js'))('playwright-core');
  const slices = Number(slicesArg), reps = Number(repsArg);
  const names = servers.map((s) => s.split('=')[0]);

  // The study (ht-gen-study's geometry and window in tests/e2e/support.mjs): ohif.sh draws a
  // column of 40 mm lesions of 0 HU in the liver (105 HU) every 25 mm along z, so that every
  // slice cuts one in a disc of at least 31 mm around (-85, -5) mm, whichever slice OHIF shows
  // first.
  const LESION = { x: -85, y: -5, hu: 0 };
  const LIVER = { x: -85, y: 45, hu: 105 };
  const TOLERANCE = 14, SAMPLE_MM = 6;

  // One front per server, the same code in its own process.
  const fronts = [];
  for (const spec of servers) {
    const [name, root] = [spec.slice(0, spec.indexOf('=')), spec.slice(spec.indexOf('=') + 1)];
    const child = fork(fileURLToPath(import.meta.url), ['front', resolve(www), configPath, root],
      { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const m = await new Promise((done) => child.once('message', done));
    if (m.error) throw new Error(m.error);
    fronts.push({ name, root, child, base: `http://127.0.0.1:${m.port}` });
  }
  const stats = (f) => new Promise((done) => {
    f.child.once('message', (m) => done(m.stats));
    f.child.send('stats');
  });

  let failures = 0;
  const browser = await launchWithWebGL(chromium);
  try {
    // Both fronts answer the study with its slices, the config with their own roots.
    for (const f of fronts) {
      const r = await fetch(`${f.base}/dicom-web/studies/${study}/series?includefield=00201209`,
        { headers: { Accept: 'application/dicom+json' } });
      const series = r.status === 200 ? await r.json() : [];
      const n = series.reduce((sum, s) => sum + Number(s['00201209']?.Value?.[0] ?? 0), 0);
      const config = await (await fetch(`${f.base}/ohif/app-config.js`)).text();
      console.log(`OHIF front server=${f.name} front=${f.base} upstream=${f.root} series=${series.length} ` +
        `instances=${n} config_roots_own=${(config.match(new RegExp(`'${f.base}/dicom-web'`, 'g')) ?? []).length}`);
      if (n !== slices) throw new Error(`${f.name} has ${n} instances of study ${study} through its front (HTTP ${r.status}), not ${slices}`);
      await stats(f);
    }

    // The screenshots' decoder: a blank page of its own context.
    const decoder = await (await browser.newContext()).newPage();
    async function greys(png, box, points) { // png: a screenshot clipped to box
      const fit = imageFit(box, { x: 0, y: 0 });
      return discGreys(decoder, png, points.map((p) => ({ ...fit.mm(p), r: (SAMPLE_MM / PIXEL) * fit.scale })));
    }

    // OHIF's overlays, as in tests/e2e/ohif.mjs: a browser that has seen its tour and banner.
    const seenBefore = () => {
      localStorage.setItem('shownTours', JSON.stringify(['basicViewerTour']));
      sessionStorage.setItem('investigationalUseDialog', 'hidden');
      // Cornerstone's events on the viewport's element (they do not bubble: caught on their way
      // down): the first render after the viewport got its first image is the image drawn (the
      // renders before it are of an empty viewport). Date.now() is the driver's clock too.
      window.__events = [];
      window.__drawnAt = NaN;
      let image = false;
      for (const type of ['CORNERSTONE_STACK_NEW_IMAGE', 'CORNERSTONE_IMAGE_RENDERED'])
        window.addEventListener(type, () => {
          window.__events.push([type.slice(12), Date.now()]);
          if (type === 'CORNERSTONE_STACK_NEW_IMAGE') image = true;
          else if (image && Number.isNaN(window.__drawnAt)) window.__drawnAt = Date.now();
        }, true);
    };

    // One load: ms from opening the viewer's URL to the screenshot that shows the image.
    async function load(f, label) {
      const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
      await context.addInitScript(seenBefore);
      const page = await context.newPage();
      const failed = [];
      page.on('requestfailed', (r) => {
        const why = r.failure()?.errorText ?? '';
        if (!/ERR_ABORTED/.test(why)) failed.push(`failed ${r.method()} ${r.url()} ${why}`);
      });
      page.on('response', (r) => { if (r.status() >= 400) failed.push(`${r.status()} ${r.request().method()} ${r.url()}`); });
      page.on('pageerror', (e) => failed.push(`page error: ${e.message.slice(0, 200)}`));
      const start = Date.now();
      let ms = NaN, values = [NaN, NaN], shots = 0, sized = NaN, blank = NaN;
      try {
        await page.goto(`${f.base}/ohif/viewer?StudyInstanceUIDs=${study}`, { waitUntil: 'commit' });
        const canvas = page.locator('[data-cy="viewport-pane"] canvas, .cornerstone-canvas').first();
        await canvas.waitFor({ state: 'visible', timeout: 180000 });
        let box;
        while (Date.now() - start < 180000) {
          box = await canvas.boundingBox();
          if (box && box.width > 100 && box.height > 100) break;
          await page.waitForTimeout(20);
        }
        sized = Date.now() - start;
        while (Date.now() - start < 180000) {
          await dismiss(page);
          const taking = Date.now();
          const png = await page.screenshot({ clip: box });
          const at = Date.now();
          shots++;
          values = await greys(png, box, [LESION, LIVER]);
          if (Math.abs(values[1] - grey(LIVER.hu)) <= TOLERANCE && Math.abs(values[0] - grey(LESION.hu)) <= TOLERANCE) {
            ms = at - start;
            break;
          }
          blank = taking - start;
        }
      } catch (e) {
        failed.push(String(e).slice(0, 300));
      }
      // Cornerstone's time of the drawing, which the screenshot then confirmed.
      let event = NaN;
      if (!Number.isNaN(ms)) {
        const [at, events] = await page.evaluate(() => [window.__drawnAt, window.__events]).catch(() => [NaN, []]);
        event = at - start;
        if (process.env.OHIF_BENCH_EVENTS) console.log(JSON.stringify(events.map(([t, d]) => [t, d - start])));
        if (!(event <= ms)) {
          failed.push(`cornerstone's image-rendered event at ${event} ms is not before the screenshot that showed the image (${ms} ms)`);
          event = NaN;
        }
      }
      const st = await stats(f);
      console.log(`OHIF first_image_ms server=${f.name} rep=${label} ms=${Number.isNaN(ms) ? 'none' : ms} ` +
        `rendered_event_ms=${Number.isNaN(event) ? 'none' : event} ` +
        `canvas_ms=${sized} last_blank_ms=${Number.isNaN(blank) ? 'none' : blank} ` +
        `lesion_grey=${values[0].toFixed(1)} liver_grey=${values[1].toFixed(1)} screenshots=${shots} ` +
        `dicomweb_requests=${st.dicomweb} http_compressed=${st.encoded} dicomweb_mib=${(st.bytes / 1048576).toFixed(1)}` +
        `${failed.length || st.errors.length ? ` errors=${failed.length + st.errors.length}` : ''}`);
      for (const e of [...failed, ...st.errors].slice(0, 10)) console.log(`  ${f.name}: ${e}`);
      if (Number.isNaN(ms) || Number.isNaN(event)) {
        failures++;
        await page.screenshot({ path: join(process.env.OHIF_BENCH_SHOTS ?? '/tmp', `ohif-bench-${f.name}-${label}.png`) }).catch(() => {});
      }
      await context.close();
      return [ms, event];
    }

    // A warm-up round (one load each, not counted): the browser's shared caches (compiled
    // shaders of the GPU process) and the servers' page cache start the same for both.
    for (const f of fronts) await load(f, 'warm-up');
    const times = Object.fromEntries(names.map((n) => [n, []]));
    const events = Object.fromEntries(names.map((n) => [n, []]));
    for (let rep = 1; rep <= reps; rep++) {
      for (const f of fronts) {
        const [ms, event] = await load(f, rep);
        times[f.name].push(ms);
        events[f.name].push(event);
      }
    }

    const median = (v) => {
      const s = v.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
      return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
    };
    const ref = names[0], cand = names[names.length - 1];
    const summary = (label, what, table) => {
      const med = names.map((n) => median(table[n]));
      console.log(`OHIF ${label} ${names.map((n, i) => `${n}_ms=${med[i]}`).join(' ')} ` +
        `ratio=${(med[0] / med[med.length - 1]).toFixed(2)} (${what})`);
    };
    summary('median', `first screenshot showing the image; ${ref}_ms / ${cand}_ms, above 1: ${cand} draws sooner; ` +
      `${reps} interleaved reps after a warm-up, each a fresh browser context; both servers behind the same Node front code`, times);
    summary('median_rendered_event', 'cornerstone\'s first render of an image, confirmed by that screenshot; same ratio', events);
  } catch (e) {
    console.error(e);
    failures++;
  } finally {
    await browser.close();
    for (const f of fronts) f.child.send('exit');
  }
  if (failures) {
    console.log(`OHIF bench: ${failures} loads or checks failed`);
    process.exit(1);
  }
}
