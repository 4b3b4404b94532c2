// The OHIF round trip (issue 17 item 3), end to end in Debian's chromium (playwright-core,
// WebGL through SwiftShader), with OHIF v3 served by hepatrack:
//
// (a) OHIF to hepatrack. A radiologist opens subject R01's follow-up study in OHIF's
//     longitudinal mode (its "Basic Viewer": measurement tracking), draws a length across the
//     lesion with the mouse, tracks it, names it T1 (the ledger's label) and saves the report:
//     OHIF STOWs its DICOM SR to hepatrack's /dicom-web. hepatrack reads it within seconds and
//     proposes it for R01, time point FU1, lesion T1: OHIF's Tracking Identifier is its tool
//     ("Cornerstone3DTools@^0.1.0:Length") and its Tracking UID a new one, so the lesion is
//     found by the label OHIF writes in the group's Comment (the path taken here; without a
//     label it would be a lesion new to the ledger, SR1, which needs its role when accepted).
//     The proposal's length is the one drawn (its points × the pixel spacing, about the
//     lesion's 30 mm) on the image shown; the station's reading page lists it under the
//     worksheet and its Accept button records it as the next version of T1 at FU1.
// (b) hepatrack to OHIF. The baseline's read, a caliper across the 40 mm lesion on slice 3,
//     is signed over the API, so hepatrack writes its TID 1500 report into the baseline study.
//     OHIF's study browser lists that SR; loaded, OHIF shows the caliper's image (slice 3) and
//     draws the caliper there: its SVG line lies on the caliper's points, its text says 40 mm,
//     and the screenshot under it is the lesion's grey. (OHIF draws it but cannot hydrate it
//     into its own tracked measurements: hepatrack's Tracking Identifier is the lesion's label,
//     spec 11, not a cornerstone tool.)
//
// No request to hepatrack may fail from the login on. Timings are printed, not asserted.
// Screenshots go to the given folder.
//
// usage: node ohif_sr.mjs HEPATRACK HT-GEN-STUDY NODE_MODULES_DIR SCREENSHOT_DIR OHIF_DIR

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  check, discGreys, dismiss, fail, failures, freePort, grey, HALF, imageFit, launchWithWebGL, PIXEL,
  playwrightChromium, requestWatcher, run, serving, viewportBox,
} from './support.mjs';
const [binary, gen, modules, shots, ohifDir] = process.argv.slice(2);
const chromium = playwrightChromium(modules, ohifDir);

// The generated study (its geometry and window in support.mjs): five slices of 2.5 mm, centres
// at z = 1.25 ... 11.25. The lesion (0 HU, in the liver of 105 HU) is centred at z = 6.25,
// slice 3: 40 mm at baseline, 30 mm at follow-up.
const LESION = { x: -85, y: -5, z: 6.25, hu: 0 }, BL_MM = 40, FU_MM = 30;
const LIVER = { x: -85, y: 45, hu: 105 };
const TOLERANCE = 14; // grey levels, as ohif.mjs
const SAMPLE_MM = 3; // radius of the disc averaged: inside the lesion, off the caliper's line

const ms = (t0) => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

const ht = (...args) => run([binary, '--data', data, ...args]);

const start = Date.now();
const work = mkdtempSync(join(tmpdir(), 'ht-ohif-sr-'));
const data = join(work, 'data');
rmSync(shots, { recursive: true, force: true });
mkdirSync(shots, { recursive: true });

// One patient, two studies: the baseline and the follow-up, each five slices with the lesion.
const study = (label, date, mm) => run([gen, '--out', join(work, label), '--patient-id', 'RT-1',
  '--issuer', 'SITE', '--patient-name', 'Round^Trip', '--study-date', date,
  '--description', `CT LIVER ${label}`, '--slices', '5',
  '--lesion', `${LESION.x},${LESION.y},${LESION.z},${mm},${LESION.hu}`]).match(/study (\S+)/)[1];
const blStudy = study('BL', '20260105', BL_MM), fuStudy = study('FU1', '20260302', FU_MM);
ht('import', join(work, 'BL'), join(work, 'FU1'));
const slices = (uid) => {
  const series = JSON.parse(ht('ls', 'series', '--study', uid, '--json'))[0].SeriesInstanceUID;
  return JSON.parse(ht('ls', 'instances', '--series', series, '--json'));
};
const blSlice3 = slices(blStudy).find((i) => i.InstanceNumber === 3).SOPInstanceUID;
const fuSlices = slices(fuStudy);

// Subject R01, its patient linked, BL and FU1 listing the two studies, target T1 in the liver;
// the baseline's caliper across the lesion on slice 3 (pixel coordinates as DICOM SCOORD).
const cx = (LESION.x + HALF) / PIXEL + 0.5, cy = (LESION.y + HALF) / PIXEL + 0.5, r = BL_MM / 2 / PIXEL;
const caliper = [[cx - r, cy], [cx + r, cy]];
writeFileSync(join(work, 'r01.json'), JSON.stringify({ subject: 'R01', reader: 'dr.setup',
  dicom_patients: [{ id: 'RT-1', issuer: 'SITE' }],
  timepoints: [{ label: 'BL', date: '2026-01-05', baseline: true, study_uids: [blStudy] },
    { label: 'FU1', date: '2026-03-02', baseline: false, study_uids: [fuStudy] }],
  lesions: [{ id: 'T1', role: 'target', site: 'liver', location: 'VII' }],
  assessments: [{ lesion: 'T1', timepoint: 'BL', sop_uid: blSlice3, frame: 1, tool: 'length', points: caliper }] }));
ht('measurements', 'import', '--enrol', join(work, 'r01.json'));
run([binary, '--data', data, 'user', 'add', 'rad', '--role', 'radiologist', '--password-stdin'], 'rad-password-1\n');
const token = ht('user', 'token', 'rad').trim();
const auth = { Authorization: `Bearer ${token}` };
console.log(`data ready: ${ms(start)}`);

const httpPort = await freePort();
const base = `http://127.0.0.1:${httpPort}`;
const log = openSync(join(work, 'serve.log'), 'w');
const server = spawn(binary, ['--data', data, 'serve', '--dicom-port', String(await freePort()),
  '--http-port', String(httpPort), '--ohif', ohifDir], { stdio: ['ignore', log, log] });
await serving(base);
const get = async (path) => (await fetch(`${base}${path}`, { headers: auth })).json();

const browser = await launchWithWebGL(chromium);

const requests = requestWatcher(base);
const watch = requests.watch;

// The viewport's image as cornerstone fits it into the canvas's box (the whole image, centred):
// page coordinates of an image point in pixels (DICOM SCOORD: (0, 0) the top-left corner of the
// top-left pixel) and of a point in mm.
async function fit(page) {
  const box = await viewportBox(page);
  return { box, ...imageFit(box) };
}

// The screenshots' decoder (discGreys): a blank page.
let decoder;

// Wait until the viewport shows a slice through the lesion in the study's window.
async function drawn(page, timeout = 180000) {
  const t0 = Date.now();
  let last = [NaN, NaN];
  while (Date.now() - t0 < timeout) {
    await dismiss(page);
    const f = await fit(page);
    // 6 mm above the lesion's centre: inside it on any slice, clear of a caliper on its centre
    const at = [f.mm({ x: LESION.x, y: LESION.y - 6 }), f.mm(LIVER)].map((p) => ({ ...p, r: (SAMPLE_MM / PIXEL) * f.scale }));
    last = await discGreys(decoder, await page.screenshot(), at);
    if (Math.abs(last[1] - grey(LIVER.hu)) <= TOLERANCE && Math.abs(last[0] - grey(LESION.hu)) <= TOLERANCE)
      return last;
    await page.waitForTimeout(200);
  }
  throw new Error(`the viewport never drew the lesion and liver (greys ${last.map((v) => v.toFixed(1))})`);
}

const seenBefore = () => {
  localStorage.setItem('shownTours', JSON.stringify(['basicViewerTour']));
  sessionStorage.setItem('investigationalUseDialog', 'hidden');
};
// Poll a condition (no fixed sleeps): its first truthy value, or null after the timeout.
async function until(what, timeout = 30000) {
  const t0 = Date.now();
  while (Date.now() - t0 < timeout) {
    const v = await what();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
  return null;
}

try {
  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
  await context.addInitScript(seenBefore);
  const page = await context.newPage();
  decoder = await context.newPage();
  watch(page, 'ohif');
  await page.goto(`${base}/#/login?next=${encodeURIComponent(`/ohif/viewer?StudyInstanceUIDs=${fuStudy}`)}`);
  await page.waitForSelector('#login:not([hidden])');
  await page.fill('#login input[name=username]', 'rad');
  await page.fill('#login input[name=password]', 'rad-password-1');
  requests.recording = true;

  // ---- (b)'s setup first: the radiologist signs the baseline, hepatrack stores its report ----
  const signed = await (await fetch(`${base}/api/subjects/R01/timepoints/BL/sign`, { method: 'POST', headers: auth })).json();
  check(/^2\.25\./.test(signed.report_sop_instance_uid ?? ''), `signing BL stores hepatrack's report in the baseline study: ${JSON.stringify(signed)}`);

  // ---- (a) OHIF to hepatrack: measure, track, name, save ----
  const t0 = Date.now();
  await page.click('#login button[type=submit]');
  await page.waitForURL(/\/ohif\/viewer\?StudyInstanceUIDs=/, { timeout: 30000 });
  await page.locator('[data-cy="study-browser-thumbnail"]').first().waitFor({ timeout: 180000 });
  await drawn(page);
  console.log(`OHIF shows FU1 in its longitudinal mode ${ms(t0)} after the login`);
  const shown = (await page.locator('[data-cy="viewport-overlay-bottom-right"]').innerText()).match(/I:\s*(\d+)/)?.[1];
  await page.locator('[data-cy="MeasurementTools-split-button-primary"]').click();
  let f = await fit(page);
  const from = f.mm({ x: LESION.x - FU_MM / 2, y: LESION.y }), to = f.mm({ x: LESION.x + FU_MM / 2, y: LESION.y });
  await page.mouse.move(from.x, from.y);
  await page.mouse.down();
  for (let i = 1; i <= 10; i++) await page.mouse.move(from.x + ((to.x - from.x) * i) / 10, from.y + ((to.y - from.y) * i) / 10);
  await page.mouse.up();
  const text = await until(() => page.evaluate(() => [...document.querySelectorAll('svg [data-annotation-uid] tspan')]
    .map((t) => t.textContent).join(' ')), 10000);
  check(/\d+(\.\d+)? mm/.test(text ?? ''), `OHIF draws the length on the viewport: "${text}"`);
  await page.locator('[data-cy="prompt-begin-tracking-yes-btn"]').click({ timeout: 10000 });
  check(true, 'OHIF asked to track the series\' measurements: yes');
  await page.locator('[data-cy="trackedMeasurements-btn"]').click();
  const row = page.locator('[data-cy="measurement-table-row-0"]');
  await row.waitFor({ timeout: 10000 });
  await row.locator('[data-cy="actionsMenuTrigger"]').click();
  await page.getByRole('menuitem', { name: /rename/i }).click();
  await page.locator('[data-cy="dialog-input"]').fill('T1');
  await page.locator('[data-cy="input-dialog-save-button"] button').click();
  await until(async () => /T1/.test(await row.innerText()), 10000);
  const rowText = (await row.innerText()).replace(/\s+/g, ' ');
  check(/T1/.test(rowText) && /mm/.test(rowText), `the tracked measurement is T1 in OHIF's panel: ${rowText}`);
  await page.screenshot({ path: join(shots, 'ohif-sr-1-measured.png') });
  await page.getByText('Create SR', { exact: true }).click();
  await page.locator('[role=dialog] [data-cy="dialog-input"]').fill('OHIF read FU1');
  const stow = page.waitForResponse((res) => res.request().method() === 'POST' && /\/dicom-web\/studies/.test(res.url()), { timeout: 60000 });
  const saved = Date.now();
  await page.locator('[role=dialog] [data-cy="input-dialog-save-button"] button').click();
  const stowed = await stow;
  const stowBody = await stowed.json().catch(() => ({}));
  const ohifSr = stowBody['00081199']?.Value?.[0]?.['00081155']?.Value?.[0];
  check(stowed.status() === 200 && ohifSr, `OHIF STOWs its SR to hepatrack: ${stowed.status()} ${ohifSr}`);
  const proposal = await until(async () => (await get('/api/proposals?subject=R01')).items?.find((p) => p.source === ohifSr));
  console.log(`proposal listed ${ms(saved)} after OHIF's Save`);
  check(proposal, `a proposal from OHIF's report is listed: ${JSON.stringify(proposal)}`);
  const pf = proposal?.fields ?? {};
  check(proposal?.subject === 'R01' && proposal?.timepoint === 'FU1', `for subject R01 at FU1 (${proposal?.reason})`);
  check(proposal?.lesion === 'T1' && !proposal?.new_lesion && /lesion by Tracking Identifier/.test(proposal?.reason ?? ''),
    `for lesion T1, by the label OHIF saved (its Tracking Identifier is the tool): ${proposal?.lesion}`);
  const image = fuSlices.find((i) => i.SOPInstanceUID === pf.sop_uid);
  check(image && String(image.InstanceNumber) === shown, `on the image OHIF showed (instance ${shown}): ${pf.sop_uid}`);
  const drawnPx = pf.points ? Math.hypot(pf.points[1][0] - pf.points[0][0], pf.points[1][1] - pf.points[0][1]) : NaN;
  check(Math.abs(pf.long_axis_mm - drawnPx * PIXEL) <= 0.1 && Math.abs(pf.long_axis_mm - FU_MM) <= 1.5,
    `its long axis ${pf.long_axis_mm} mm is the length drawn (${drawnPx.toFixed(1)} px × ${PIXEL} mm) across the ${FU_MM} mm lesion`);
  const wantFrom = [(LESION.x - FU_MM / 2 + HALF) / PIXEL + 0.5, (LESION.y + HALF) / PIXEL + 0.5];
  check(pf.points && Math.hypot(pf.points[0][0] - wantFrom[0], pf.points[0][1] - wantFrom[1]) <= 1.5,
    `from where the mouse went down: ${JSON.stringify(pf.points?.[0])}, expected ${wantFrom.map((v) => v.toFixed(1))}`);

  // The station's reading page for R01 at FU1: the proposal under the worksheet; Accept.
  const station = await context.newPage();
  watch(station, 'station');
  await station.goto(`${base}/#/read/R01/FU1`);
  await station.waitForSelector('#reader[data-ready="FU1"]', { timeout: 60000 });
  const li = station.locator(`#proposals li[data-proposal="${proposal?.id}"]`);
  await li.waitFor({ timeout: 30000 });
  const liText = (await li.innerText()).replace(/\s+/g, ' ');
  check(/^T1\b/.test(liText) && liText.includes(String(pf.long_axis_mm)) && liText.includes(ohifSr),
    `the reading page lists it under the worksheet: ${liText}`);
  await station.screenshot({ path: join(shots, 'ohif-sr-2-station-proposal.png') });
  await li.getByRole('button', { name: 'Accept' }).click();
  await li.waitFor({ state: 'detached', timeout: 30000 });
  const decided = (await get('/api/proposals?subject=R01')).items?.find((p) => p.id === proposal?.id);
  check(decided?.status === 'accepted' && decided?.decided_by === 'rad', `accepted by rad: ${decided?.status}`);
  const records = await get('/api/subjects/R01');
  const fu = records.assessments?.find((a) => a.lesion === 'T1' && a.timepoint === 'FU1');
  check(fu && fu.long_axis_mm === pf.long_axis_mm && fu.recorded_by === 'rad' && fu.sop_uid === pf.sop_uid,
    `the assessment T1 at FU1 is recorded from it: ${JSON.stringify(fu)}`);
  const history = JSON.stringify(await get('/api/subjects/R01/history'));
  check(history.includes(`accepted from report ${ohifSr}`), 'its version\'s reason names OHIF\'s report');
  await station.close();

  // ---- (b) hepatrack to OHIF: the baseline's report, listed, loaded and drawn ----
  const t1 = Date.now();
  await page.goto(`${base}/ohif/viewer?StudyInstanceUIDs=${blStudy}`);
  const sr = page.locator('[data-cy="study-browser-thumbnail-no-image"]', { hasText: 'hepatrack measurement report' });
  await sr.first().waitFor({ timeout: 180000 });
  const srText = (await sr.first().innerText()).replace(/\s+/g, ' ');
  check(/SR/.test(srText) && /S:\s*9900/.test(srText), `OHIF lists hepatrack's report in the baseline study: ${srText}`);
  await drawn(page);
  await sr.first().dblclick();
  const line = await until(async () => page.evaluate(() => {
    const g = document.querySelector('svg [data-annotation-uid]');
    const svg = g?.ownerSVGElement, l = svg?.querySelector('line');
    if (!l) return null;
    const box = svg.getBoundingClientRect();
    return { text: [...g.querySelectorAll('tspan')].map((t) => t.textContent).join(' '),
      x1: box.x + +l.getAttribute('x1'), y1: box.y + +l.getAttribute('y1'),
      x2: box.x + +l.getAttribute('x2'), y2: box.y + +l.getAttribute('y2') };
  }), 60000);
  console.log(`OHIF draws hepatrack's caliper ${ms(t1)} after opening the baseline study`);
  check(line && /40\.0+ mm/.test(line.text), `OHIF draws the report's measurement with its length: "${line?.text}"`);
  const slice = (await page.locator('[data-cy="viewport-overlay-bottom-right"]').innerText()).match(/I:\s*(\d+)/)?.[1];
  check(slice === '3', `on the caliper's image, slice 3 of the baseline (OHIF shows I:${slice})`);
  f = await fit(page);
  const ends = caliper.map(f.px);
  const off = line ? Math.max(Math.hypot(line.x1 - ends[0].x, line.y1 - ends[0].y), Math.hypot(line.x2 - ends[1].x, line.y2 - ends[1].y)) : NaN;
  check(off <= 3, `its line lies on the caliper's points (within ${off.toFixed(1)} px of the page)`);
  const [lesionGrey, liverGrey] = await drawn(page, 30000);
  check(Math.abs(lesionGrey - grey(LESION.hu)) <= TOLERANCE && Math.abs(liverGrey - grey(LIVER.hu)) <= TOLERANCE,
    `under it the lesion (grey ${lesionGrey.toFixed(1)}) in the liver (${liverGrey.toFixed(1)})`);
  await page.screenshot({ path: join(shots, 'ohif-sr-3-report-drawn.png') });
  requests.recording = false;
  check(requests.failed.length === 0, `no request to hepatrack failed from the login on${requests.failed.length ? `:\n  ${requests.failed.join('\n  ')}` : ''}`);
  await context.close();
} catch (error) {
  console.error(error);
  fail();
} finally {
  await browser.close();
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
}
console.log(`round trip: ${ms(start)} in all`);
if (failures) {
  console.log(readFileSync(join(work, 'serve.log'), 'utf8').split('\n').slice(-30).join('\n'));
  console.log(`${failures} checks failed; screenshots in ${shots}, data in ${work}`);
  process.exit(1);
}
rmSync(work, { recursive: true, force: true });
console.log(`all OHIF round-trip checks passed; screenshots in ${shots}`);
