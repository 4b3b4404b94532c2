// OHIF v3 served by hepatrack, end to end in Debian's chromium (playwright-core, WebGL through
// SwiftShader): OHIF's page sends a browser without a session to the station's login, which
// sends it back once logged in; the study list shows the generated studies (read through
// QIDO-RS); a study opens in the viewer, whose thumbnails appear and whose viewport draws the
// image: the lesion's grey level in a screenshot (a WebGL canvas cannot be read back) is the one
// the study's window gives its HU, and so is the liver's around it. No request to hepatrack may
// fail from the login on. The station's worklist and reading page link each study to OHIF. The
// time from opening the viewer's URL (cold cache) to the first drawn image is printed, not
// asserted. Screenshots go to the given folder.
//
// usage: node ohif.mjs HEPATRACK HT-GEN-STUDY NODE_MODULES_DIR SCREENSHOT_DIR OHIF_DIR

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  check, discGreys, dismiss, fail, failures, freePort, grey, imageFit, launchWithWebGL, PIXEL,
  playwrightChromium, requestWatcher, run, serving, viewportBox, WINDOW,
} from './support.mjs';
const [binary, gen, modules, shots, ohifDir] = process.argv.slice(2);
const chromium = playwrightChromium(modules, ohifDir);

// The generated study (its geometry and window in support.mjs): five slices of 2.5 mm (centres at
// z = 1.25 ... 11.25). The lesion, a 40 mm sphere of 0 HU, sits in the liver (105 HU) around
// z = 6.25: each slice cuts it in a disc of at least 38 mm, whichever OHIF shows first; the noise
// is -8..7 HU.
const LESION = { x: -85, y: -5, z: 6.25, diameter: 40, hu: 0 };
const LIVER = { x: -85, y: 45, hu: 105 }; // 30 mm beyond the lesion's edge, 20 mm inside the liver
const TOLERANCE = 14; // grey levels: interpolation at the edges of the sample, rounding, noise
const SAMPLE_MM = 6; // radius of the disc averaged around each point

const work = mkdtempSync(join(tmpdir(), 'ht-ohif-'));
const data = join(work, 'data');
rmSync(shots, { recursive: true, force: true });
mkdirSync(shots, { recursive: true });

// Two patients' studies; the first has the lesion of known HU and is read on subject O01's
// baseline (so that the reading page has its link too).
const studyA = run([gen, '--out', join(work, 'A'), '--patient-id', 'OHIF-1', '--issuer', 'SITE',
  '--patient-name', 'Ohif^First', '--study-date', '20260105', '--description', 'CT LIVER OHIF A',
  '--slices', '5', '--lesion', `${LESION.x},${LESION.y},${LESION.z},${LESION.diameter},${LESION.hu}`])
  .match(/study (\S+)/)[1];
const studyB = run([gen, '--out', join(work, 'B'), '--patient-id', 'OHIF-2', '--issuer', 'SITE',
  '--patient-name', 'Ohif^Second', '--study-date', '20260210', '--description', 'CT LIVER OHIF B',
  '--slices', '3']).match(/study (\S+)/)[1];
run([binary, '--data', data, 'import', join(work, 'A'), join(work, 'B')]);
const subject = join(work, 'subject.json');
// A signed baseline read, so that the worklist's timeline of O01 answers (it is a 400 for a
// subject with nothing read yet, which the station shows as "—").
writeFileSync(subject, JSON.stringify({ subject: 'O01', reader: 'dr.setup',
  dicom_patients: [{ id: 'OHIF-1', issuer: 'SITE' }],
  timepoints: [{ label: 'BL', date: '2026-01-05', baseline: true, portal_vein_status: 'none', study_uids: [studyA] }],
  lesions: [{ id: 'T1', role: 'target', site: 'liver', location: 'VII' }],
  assessments: [{ lesion: 'T1', timepoint: 'BL', long_axis_mm: LESION.diameter }] }));
run([binary, '--data', data, 'measurements', 'import', '--enrol', subject]);
run([binary, '--data', data, 'measurements', 'sign', 'O01', 'BL', '--reader', 'dr.setup']);
run([binary, '--data', data, 'user', 'add', 'rad', '--role', 'radiologist', '--password-stdin'], 'rad-password-1\n');

const httpPort = await freePort();
const base = `http://127.0.0.1:${httpPort}`;
const log = openSync(join(work, 'serve.log'), 'w');
const server = spawn(binary, ['--data', data, 'serve', '--dicom-port', String(await freePort()),
  '--http-port', String(httpPort), '--ohif', ohifDir], { stdio: ['ignore', log, log] });
await serving(base);

const browser = await launchWithWebGL(chromium);

const requests = requestWatcher(base);
const watch = requests.watch;

// Mean grey levels of discs (centres and radius in mm of the image) in a PNG screenshot of the
// page, the image fitted into the viewport canvas's box as cornerstone fits it (the whole image,
// centred). Decoded by a blank page's 2D canvas.
let decoder;
async function greys(png, box, points) {
  const fit = imageFit(box);
  return discGreys(decoder, png, points.map((p) => ({ ...fit.mm(p), r: (SAMPLE_MM / PIXEL) * fit.scale })));
}

// Wait until the viewport shows the image: the liver's grey is the window's (the lesion's too);
// returns [lesion, liver] and the time waited.
async function drawn(page, timeout = 180000) {
  const start = Date.now();
  let last = [NaN, NaN];
  const box = await viewportBox(page);
  while (Date.now() - start < timeout) {
    await dismiss(page);
    last = await greys(await page.screenshot(), box, [LESION, LIVER]);
    if (Math.abs(last[1] - grey(LIVER.hu)) <= TOLERANCE && Math.abs(last[0] - grey(LESION.hu)) <= TOLERANCE)
      return { values: last, ms: Date.now() - start };
    await page.waitForTimeout(200);
  }
  return { values: last, ms: NaN };
}

// OHIF's two overlays that cover part of the page: its investigational-use banner and its
// first-visit tour, whose backdrop dims the whole viewer; neither is part of what is tested. A
// browser that has seen them once keeps them hidden in its storage, as this one starts.
const seenBefore = () => {
  localStorage.setItem('shownTours', JSON.stringify(['basicViewerTour']));
  sessionStorage.setItem('investigationalUseDialog', 'hidden');
};
try {
  // The page of OHIF needs a session: a browser without one lands on the station's login,
  // which sends it back to the study list once logged in.
  const noCookie = await fetch(`${base}/ohif/viewer?StudyInstanceUIDs=${studyA}`, { redirect: 'manual' });
  check(noCookie.status === 302 && noCookie.headers.get('location') ===
    `/#/login?next=${encodeURIComponent(`/ohif/viewer?StudyInstanceUIDs=${studyA}`)}`,
  `without a session OHIF's page is a redirect to the station's login (${noCookie.status} ${noCookie.headers.get('location')})`);
  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
  await context.addInitScript(seenBefore);
  const page = await context.newPage();
  decoder = await context.newPage();
  watch(page, 'ohif');
  await page.goto(`${base}/ohif/`);
  await page.waitForSelector('#login:not([hidden])');
  check(page.url() === `${base}/#/login?next=%2Fohif%2F`, `OHIF sent the browser to the station's login: ${page.url()}`);
  await page.fill('#login input[name=username]', 'rad');
  await page.fill('#login input[name=password]', 'rad-password-1');
  requests.recording = true;
  const listStart = Date.now();
  await page.click('#login button[type=submit]');
  await page.waitForURL(`${base}/ohif/`, { timeout: 30000 });
  check(true, 'after the login the station sent the browser back to /ohif/');

  // The study list: both generated studies, read through QIDO-RS.
  const rowA = page.locator('tr', { hasText: 'CT LIVER OHIF A' }).first();
  const rowB = page.locator('tr', { hasText: 'CT LIVER OHIF B' }).first();
  await rowA.waitFor({ timeout: 180000 });
  await rowB.waitFor({ timeout: 30000 });
  console.log(`OHIF's study list shown ${Date.now() - listStart} ms after the login`);
  await dismiss(page);
  const textA = await rowA.textContent(), textB = await rowB.textContent();
  check(/Ohif, First/i.test(textA) && /CT/.test(textA) && /05-Jan-2026/.test(textA),
    `the study list shows study A with its patient, date and modality: ${textA}`);
  check(/Ohif, Second/i.test(textB) && /10-Feb-2026/.test(textB), `the study list shows study B: ${textB}`);
  await page.screenshot({ path: join(shots, 'ohif-1-study-list.png') });

  // A study opens in the viewer from the list: its row, then the Basic Viewer mode.
  await rowA.click();
  await page.getByRole('button', { name: 'Basic Viewer' }).first().click({ timeout: 30000 });
  await page.waitForURL(/\/ohif\/viewer/, { timeout: 60000 });
  check(page.url().includes(`StudyInstanceUIDs=${studyA}`), `the viewer opened study A: ${page.url()}`);

  // The series thumbnail, rendered from the frames OHIF fetched.
  const thumb = page.locator('[data-cy="study-browser-thumbnail"]').first();
  await thumb.waitFor({ state: 'visible', timeout: 180000 });
  const thumbDrawn = await page.waitForFunction(() => {
    const t = document.querySelector('[data-cy="study-browser-thumbnail"]');
    const img = t?.querySelector('img');
    return (img && img.complete && img.naturalWidth > 0) || (t?.querySelector('canvas')?.width ?? 0) > 0;
  }, null, { timeout: 180000 }).then(() => true, () => false);
  check(thumbDrawn, 'the series thumbnail appears (an image drawn from the frames)');
  check(await page.locator('[data-cy="study-browser-thumbnail"]').count() === 1, 'one thumbnail: study A has one series');

  await page.waitForTimeout(1000);
  await dismiss(page);
  const first = await drawn(page);
  await dismiss(page);
  const shown = await drawn(page, 30000);
  await page.screenshot({ path: join(shots, 'ohif-2-viewer.png') });
  check(Math.abs(shown.values[0] - grey(LESION.hu)) <= TOLERANCE,
    `the viewport draws the lesion (${LESION.hu} HU) at grey ${shown.values[0]?.toFixed(1)}, window ${WINDOW.center}/${WINDOW.width} gives ${grey(LESION.hu).toFixed(1)}`);
  check(Math.abs(shown.values[1] - grey(LIVER.hu)) <= TOLERANCE,
    `and the liver (${LIVER.hu} HU) around it at grey ${shown.values[1]?.toFixed(1)}, expected ${grey(LIVER.hu).toFixed(1)}`);
  check(!Number.isNaN(first.ms), 'the image was drawn');

  // The viewer's own URL, in a fresh context (nothing cached) with the same session: the time
  // to the first drawn image.
  const cold = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
  await cold.addCookies(await context.cookies());
  await cold.addInitScript(seenBefore);
  const coldPage = await cold.newPage();
  watch(coldPage, 'ohif (cold)');
  const coldStart = Date.now();
  await coldPage.goto(`${base}/ohif/viewer?StudyInstanceUIDs=${studyA}`);
  const coldDrawn = await drawn(coldPage);
  const coldMs = Date.now() - coldStart;
  await coldPage.screenshot({ path: join(shots, 'ohif-4-viewer-url.png') });
  check(!Number.isNaN(coldDrawn.ms), `the viewer URL opened straight draws the image (lesion and liver at grey ${coldDrawn.values.map((v) => v.toFixed(1)).join(', ')})`);
  console.log(`OHIF first image: ${coldMs} ms from opening ${base}/ohif/viewer?StudyInstanceUIDs=… ` +
    '(cold cache, headless chromium, WebGL by SwiftShader)');
  await cold.close();

  // The station links each study to OHIF: the worklist's time point and unassigned study, the
  // reading page's baseline.
  const station = await context.newPage();
  watch(station, 'station');
  await station.goto(`${base}/`);
  await station.waitForSelector('#worklist:not([hidden])');
  const href = (uid) => `/ohif/viewer?StudyInstanceUIDs=${encodeURIComponent(uid)}`;
  check(await station.locator(`#subjects a.ohif-link[href="${href(studyA)}"]`).count() === 1,
    'the worklist links subject O01\'s baseline study to OHIF');
  check(await station.locator(`#unassigned a.ohif-link[href="${href(studyB)}"]`).count() === 1,
    'the worklist links the unassigned study to OHIF');
  await station.goto(`${base}/#/read/O01/BL`);
  await station.waitForSelector('#reader[data-ready="BL"]', { timeout: 60000 });
  check(await station.locator(`#reader-ohif a.ohif-link[href="${href(studyA)}"]`).count() >= 1,
    'the reading page links the baseline study to OHIF');
  await station.screenshot({ path: join(shots, 'ohif-3-station-reading.png') });
  const [opened] = await Promise.all([context.waitForEvent('page'),
    station.locator('#reader-ohif a.ohif-link').first().click()]);
  watch(opened, 'ohif (from the station)');
  await opened.waitForURL(/\/ohif\/viewer\?StudyInstanceUIDs=/, { timeout: 30000 });
  check(opened.url() === `${base}${href(studyA)}`, `the link opens OHIF on the study in a new tab: ${opened.url()}`);
  await opened.close();
  requests.recording = false;

  check(requests.failed.length === 0, `no request to hepatrack failed from the login on${requests.failed.length ? `:\n  ${requests.failed.join('\n  ')}` : ''}`);

  // A session that ended: OHIF's page sends the user back to the station's login.
  await page.evaluate(() => fetch('/api/logout', { method: 'POST' }));
  await page.goto(`${base}/ohif/viewer?StudyInstanceUIDs=${studyA}`);
  await page.waitForSelector('#login:not([hidden])', { timeout: 30000 });
  check(page.url().startsWith(`${base}/#/login?next=`), `after the logout OHIF's page leads to the login: ${page.url()}`);
  await context.close();
} catch (error) {
  console.error(error);
  fail();
} finally {
  await browser.close();
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
}
if (failures) {
  console.log(readFileSync(join(work, 'serve.log'), 'utf8').split('\n').slice(-30).join('\n'));
  console.log(`${failures} checks failed; screenshots in ${shots}, data in ${work}`);
  process.exit(1);
}
rmSync(work, { recursive: true, force: true });
console.log(`all OHIF checks passed; screenshots in ${shots}`);
