// The reading station end to end, in Debian's chromium driven by playwright-core: a radiologist
// assigns two generated studies to a subject's time points, measures the lesion on the baseline
// with two clicks (the stored diameter must be within one pixel spacing of the truth), adds an
// ellipse and measures again (both kept), is refused an image of another patient, measures it
// again on the follow-up where it is smaller, signs after the sign-off summary, and reads the
// response on the timeline page; a coordinator's write is refused, their reading page has no
// tools, and they enrol a subject and link another patient's study to it. Screenshots go to the
// given folder.
//
// usage: node station.mjs HEPATRACK HT-GEN-STUDY NODE_MODULES_DIR SCREENSHOT_DIR

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chartAxes, closeSums, cohortPage, worklistPage } from './pages.mjs';
import { lesionKeys, linkedWindow, refusedSave, responseRow, speed, stripAndLesion, worksheetLive } from './reading.mjs';

const [binary, gen, modules, shots] = process.argv.slice(2);
if (!existsSync(join(modules, 'playwright-core'))) {
  console.error(`playwright-core is not in ${modules}: run make e2e-deps (make check does)`);
  process.exit(1);
}
const { chromium } = createRequire(resolve(modules, 'x.js'))('playwright-core');

// The generated geometry: 512 x 512 pixels of 0.78125 mm, slices of 2.5 mm; the lesion's centre
// lies on the centre of slice 10 (z = 23.75 mm), 80 mm right of and 20 mm in front of the middle.
const PIXEL = 0.78125, SIZE = 512, HALF = ((SIZE - 1) * PIXEL) / 2;
const LESION = { x: -80, y: -20, z: 23.75 }, LESION_Z = LESION.z;
const BASELINE_MM = 30, FOLLOW_UP_MM = 18;
const NODE = { x: 60, y: 20, z: 23.75 }; // a nodal target, 20 mm then 12 mm
const NODE_BASELINE_MM = 20, NODE_FOLLOW_UP_MM = 12;

let failures = 0;
function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'}: ${what}`);
  if (!ok) failures++;
}

function run(args, input) {
  const p = spawnSync(args[0], args.slice(1), { input, encoding: 'utf8' });
  if (p.status !== 0) throw new Error(`${args.join(' ')}: ${p.stderr}`);
  return p.stdout;
}

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// SCOORD pixel coordinates of a point given in mm from the image centre.
const toPixel = (x, y) => [(x + HALF) / PIXEL + 0.5, (y + HALF) / PIXEL + 0.5];

const work = mkdtempSync(join(tmpdir(), 'ht-e2e-'));
const data = join(work, 'data');
rmSync(shots, { recursive: true, force: true }); // this run's pictures only
mkdirSync(shots, { recursive: true });
// Each study has a second series: BL an arterial 5 mm one, FU1 a thin one of 300 slices (the
// wheel's speed is timed on it). BL and FU1 share a frame of reference, as registered scans
// would, so that a lesion not measured yet on FU1 opens at the prior's table position.
const FRAME = '2.25.1234567890123456789';
const SECOND = { BL: ['4', 'Arterial 5mm', '5', '10'], FU1: ['5', 'Thin 0.625mm', '0.625', '300'] };
for (const [visit, date, diameter, node] of [['BL', '20260105', BASELINE_MM, NODE_BASELINE_MM],
  ['FU1', '20260302', FOLLOW_UP_MM, NODE_FOLLOW_UP_MM]]) {
  const common = ['--patient-id', 'E2E-1', '--issuer', 'SITE', '--study-date', date, '--frame-uid', FRAME,
    '--description', `CT ABDOMEN ${visit}`, '--lesion', `${LESION.x},${LESION.y},${LESION.z},${diameter},45`,
    '--lesion', `${NODE.x},${NODE.y},${NODE.z},${node},60`];
  const study = run([gen, '--out', join(work, visit), '--slices', '20', ...common]).match(/study (\S+)/)[1];
  const [number, description, thickness, slices] = SECOND[visit];
  run([gen, '--out', join(work, `${visit}-2`), '--study-uid', study, '--series-number', number,
    '--series-description', description, '--thickness', thickness, '--slices', slices, ...common]);
}
// Another patient, not E01's: an instance of theirs must never be recorded for E01.
run([gen, '--out', join(work, 'OTHER'), '--patient-id', 'E2E-2', '--issuer', 'SITE', '--study-date', '20260110',
  '--slices', '4', '--description', 'CT OTHER PATIENT']);
run([binary, '--data', data, 'import', join(work, 'BL'), join(work, 'FU1'), join(work, 'BL-2'), join(work, 'FU1-2'),
  join(work, 'OTHER')]);
const cli = (args) => run([binary, '--data', data, ...args]);
// The other patient's first slice again with one pixel changed: a conflict, for the admin.
const twin = join(work, 'TWIN');
mkdirSync(twin);
const firstOther = join(work, 'OTHER', readdirSync(join(work, 'OTHER')).sort()[0]);
const altered = readFileSync(firstOther);
altered[altered.length - 1] ^= 1;
writeFileSync(join(twin, 'twin.dcm'), altered);
cli(['import', twin]);
const conflictUid = JSON.parse(cli(['ls', 'conflicts', '--json']))[0]?.SOPInstanceUID;
// E03: four signed reads whose sums are close together (50, 49, 50, 50.5 mm within 30 days), for
// the chart's labels; numbers only, no images.
const close = join(work, 'close.json');
writeFileSync(close, JSON.stringify({ subject: 'E03', reader: 'dr.close',
  timepoints: [['BL', '2026-01-05', true], ['FU1', '2026-01-15', false], ['FU2', '2026-01-25', false], ['FU3', '2026-02-04', false]]
    .map(([label, date, baseline]) => ({ label, date, baseline })),
  lesions: [{ id: 'T1', role: 'target', site: 'liver' }, { id: 'T2', role: 'target', site: 'liver' }],
  assessments: [['BL', 30, 20], ['FU1', 29, 20], ['FU2', 30, 20], ['FU3', 30, 20.5]].flatMap(([timepoint, a, b]) =>
    [{ lesion: 'T1', timepoint, long_axis_mm: a }, { lesion: 'T2', timepoint, long_axis_mm: b }]) }));
cli(['measurements', 'import', '--enrol', close]);
for (const tp of ['BL', 'FU1', 'FU2', 'FU3']) cli(['measurements', 'sign', 'E03', tp, '--reader', 'dr.close']);
const link = join(work, 'subject.json');
writeFileSync(link, JSON.stringify(
  { subject: 'E01', reader: 'coordinator.setup', dicom_patients: [{ id: 'E2E-1', issuer: 'SITE' }] }));
run([binary, '--data', data, 'measurements', 'import', '--enrol', link]);
run([binary, '--data', data, 'user', 'add', 'rad', '--role', 'radiologist', '--password-stdin'], 'rad-password-1\n');
run([binary, '--data', data, 'user', 'add', 'coord', '--role', 'coordinator', '--password-stdin'], 'coord-password-1\n');
run([binary, '--data', data, 'user', 'add', 'root', '--role', 'admin', '--password-stdin'], 'root-password-1\n');

const httpPort = await freePort();
const base = `http://127.0.0.1:${httpPort}`;
const log = openSync(join(work, 'serve.log'), 'w');
const server = spawn(binary, ['--data', data, 'serve', '--dicom-port', String(await freePort()),
  '--http-port', String(httpPort)], { stdio: ['ignore', log, log] });
for (let i = 0; i < 200; i++) {
  try { await fetch(`${base}/`); break; } catch { await new Promise((r) => setTimeout(r, 50)); }
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage'],
});
const errors = [];
try {
  const context = await browser.newContext({ viewport: { width: 1700, height: 1000 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  // Answers like 401 before the login or 403 for the coordinator are expected: only scripts count.
  page.on('console', (m) => { if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) errors.push(m.text()); });
  const shot = (name) => page.screenshot({ path: join(shots, `${name}.png`) });
  const t = { page, base, check, shot, cli, toPixel, lesion: LESION, lesionZ: LESION.z,
    records: () => page.evaluate(() => fetch('/api/subjects/E01').then((r) => r.json())) };

  async function login(name, password) {
    await page.goto(`${base}/`);
    await page.fill('#login input[name=username]', name);
    await page.fill('#login input[name=password]', password);
    await page.click('#login button[type=submit]');
    await page.waitForSelector('#worklist:not([hidden])');
  }
  const records = () => page.evaluate(() => fetch('/api/subjects/E01').then((r) => r.json()));

  // The radiologist assigns both studies, each in two clicks.
  await login('rad', 'rad-password-1');
  check(await page.isVisible('#subjects tr[data-subject="E01"]'), 'the worklist lists subject E01');
  await shot('1-worklist');
  for (const label of ['BL', 'FU1']) {
    const row = page.locator('#unassigned tbody tr', { hasText: 'E2E-1' }).first();
    await row.locator('button', { hasText: 'Assign…' }).click();
    await row.locator('.menu button', { hasText: `E01 · ${label} (new)` }).click();
    await page.waitForFunction((n) => [...document.querySelectorAll('#unassigned tbody tr')]
      .filter((r) => r.textContent.includes('E2E-1')).length === n, label === 'BL' ? 1 : 0);
  }
  const assigned = await records();
  check(assigned.timepoints.map((t) => `${t.label}:${t.study_uids.length}:${t.baseline}`).sort().join(' ') ===
    'BL:1:true FU1:1:false', `both studies assigned: ${JSON.stringify(assigned.timepoints)}`);

  // Baseline: go to the lesion's slice with the keyboard, measure it with two clicks, name it.
  async function goToLesionSlice(viewport) {
    const index = await page.evaluate(([v, z]) => window.hepatrack.viewports[v].slices
      .findIndex((s) => Math.abs(s.position - z) < 0.01), [viewport, LESION.z]);
    check(index >= 0, `${viewport}: a slice at z = ${LESION.z}`);
    await page.click(`#vp-${viewport} canvas`); // the viewport takes the keys
    await page.keyboard.press('Home');
    for (let i = 0; i < index; i++) await page.keyboard.press('ArrowDown');
    await page.waitForSelector(`#vp-${viewport}[data-index="${index + 1}"]`);
    await page.waitForFunction((v) => document.querySelector(`#vp-${v} .overlay`).textContent.includes('Pos 23.8 mm'), viewport);
  }
  async function clickAt(x, y) {
    const [cx, cy] = await page.evaluate((p) => window.hepatrack.viewports.current.toClient(p), toPixel(x, y));
    await page.mouse.click(cx, cy);
  }
  async function measure(diameter, dy = 0) {
    await clickAt(LESION.x - diameter / 2, LESION.y + dy);
    await clickAt(LESION.x + diameter / 2, LESION.y + dy);
  }
  const client = (point) => page.evaluate((p) => window.hepatrack.viewports.current.toClient(p), point);
  async function drag(from, to) {
    await page.mouse.move(...from);
    await page.mouse.down();
    await page.mouse.move((from[0] + to[0]) / 2, (from[1] + to[1]) / 2, { steps: 4 });
    await page.mouse.move(...to, { steps: 4 });
    await page.mouse.up();
  }
  // Bidirectional: drag the long axis across the node, then each end of the perpendicular that
  // appears to the node's edge, then Enter.
  async function bidirectional(diameter) {
    await page.click('button[data-tool="bidirectional"]');
    await drag(await client(toPixel(NODE.x - diameter / 2, NODE.y)), await client(toPixel(NODE.x + diameter / 2, NODE.y)));
    for (const [handle, dy] of [[2, diameter / 2], [3, -diameter / 2]]) {
      const at = await page.evaluate((h) => window.hepatrack.viewports.current.pending.points[h], handle);
      const edge = at[1] > toPixel(NODE.x, NODE.y)[1] ? Math.abs(dy) : -Math.abs(dy);
      await drag(await client(at), await client(toPixel(NODE.x, NODE.y + edge)));
    }
    await page.keyboard.press('Enter');
  }
  async function ellipse(radius) {
    await page.click('button[data-tool="ellipse"]');
    await drag(await client(toPixel(LESION.x - radius, LESION.y - radius)),
      await client(toPixel(LESION.x + radius, LESION.y + radius)));
  }
  await page.click('#subjects tr[data-subject="E01"] button:has-text("Read")');
  await page.waitForSelector('#reader[data-ready="FU1"]'); // the latest time point first
  await page.selectOption('#current-tp', 'BL');
  await page.waitForSelector('#reader[data-ready="BL"]');
  await goToLesionSlice('current');
  await page.click('button[data-tool="length"]');
  await measure(BASELINE_MM);
  await page.fill('#new-lesion input[name=location]', 'VII');
  await page.click('#new-lesion button[type=submit]');
  await page.waitForSelector('#worksheet tr[data-lesion="T1"]');
  let stored = (await records()).assessments.find((a) => a.lesion === 'T1' && a.timepoint === 'BL');
  check(stored && Math.abs(stored.long_axis_mm - BASELINE_MM) <= PIXEL && stored.tool === 'length' &&
    stored.points.length === 2 && stored.frame === 1 && stored.sop_uid,
    `baseline T1: ${stored?.long_axis_mm} mm stored for a ${BASELINE_MM} mm lesion (within ${PIXEL} mm), with its points`);

  // The ellipse adds T1's density: a change during the read, no reason asked, the length kept.
  check(await page.isHidden('#reason-box'), 'no reason box while the baseline read is in progress');
  await ellipse(8);
  await page.waitForFunction(() => /HU/.test(document.querySelector('#worksheet tr[data-lesion="T1"] td.current').textContent));
  stored = (await records()).assessments.find((a) => a.lesion === 'T1' && a.timepoint === 'BL');
  check(stored && Math.abs(stored.mean_hu - 44.5) <= 1.5 && stored.roi && stored.version === 2 &&
    Math.abs(stored.long_axis_mm - BASELINE_MM) <= PIXEL,
    `the ellipse inside the 45 HU lesion: mean ${stored?.mean_hu} HU, length ${stored?.long_axis_mm} mm kept, version ${stored?.version}`);
  // Then a length again, 1 mm lower: the station sends only the caliper, the ellipse stays.
  await page.click('#worksheet tr[data-lesion="T1"] button:has-text("Measure")');
  await page.waitForFunction(() => document.querySelector('button[data-tool="length"]').classList.contains('on'));
  await measure(BASELINE_MM, 1);
  await page.waitForFunction(() => /Measuring T1|T1 on BL: 30/.test(document.querySelector('#reader-status').textContent) &&
    document.querySelector('#worksheet tr[data-lesion="T1"]'));
  await page.waitForFunction(async () => (await fetch('/api/subjects/E01').then((r) => r.json()))
    .assessments.find((a) => a.lesion === 'T1' && a.timepoint === 'BL').version === 3, null, { timeout: 10000 });
  stored = (await records()).assessments.find((a) => a.lesion === 'T1' && a.timepoint === 'BL');
  check(stored && Math.abs(stored.long_axis_mm - BASELINE_MM) <= PIXEL && Math.abs(stored.mean_hu - 44.5) <= 1.5 &&
    stored.roi && stored.points[0][1] !== stored.roi[0][1] && stored.version === 3,
    `an ellipse then a length on T1 at BL keep both: ${stored?.long_axis_mm} mm and ${stored?.mean_hu} HU, version ${stored?.version}`);

  // An image of another patient is refused for E01 (provenance), naming the instance.
  const foreign = await page.evaluate(async () => {
    const get = (u) => fetch(u).then((r) => r.json());
    const study = (await get('/api/studies?patient=E2E-2')).items[0].StudyInstanceUID;
    const series = (await get(`/api/series?study=${study}`)).items[0].SeriesInstanceUID;
    const sop = (await get(`/api/instances?series=${series}`)).items[0].SOPInstanceUID;
    const r = await fetch('/api/measurements', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ subject: 'E01', assessments: [{ lesion: 'T1', timepoint: 'BL', tool: 'length',
        sop_uid: sop, frame: 1, points: [[100, 100], [140, 100]] }] }) });
    return { sop, status: r.status, body: await r.json() };
  });
  check(foreign.status === 400 && foreign.body.error.message.includes(foreign.sop) &&
    /E2E-2/.test(foreign.body.error.message),
    `another patient's image refused for E01: ${foreign.status} ${foreign.body.error?.message}`);
  check((await records()).assessments.find((a) => a.lesion === 'T1' && a.timepoint === 'BL').version === 3,
    'nothing stored from the refused measurement');

  // A nodal target measured with the bidirectional tool: long and short axes.
  await page.click('#new-lesion-start');
  await bidirectional(NODE_BASELINE_MM);
  await page.fill('#new-lesion input[name=id]', 'N1');
  await page.fill('#new-lesion input[name=site]', 'lymph node');
  await page.fill('#new-lesion input[name=location]', 'hepatic hilum');
  await page.check('#new-lesion input[name=nodal]');
  await page.click('#new-lesion button[type=submit]');
  await page.waitForSelector('#worksheet tr[data-lesion="N1"]');
  stored = (await records()).assessments.find((a) => a.lesion === 'N1' && a.timepoint === 'BL');
  check(stored && Math.abs(stored.long_axis_mm - NODE_BASELINE_MM) <= PIXEL &&
    Math.abs(stored.short_axis_mm - NODE_BASELINE_MM) <= 2 * PIXEL && stored.points.length === 4,
    `baseline N1 (bidirectional): ${stored?.long_axis_mm} × ${stored?.short_axis_mm} mm for ${NODE_BASELINE_MM} mm`);
  // Sign opens the sign-off summary: Cancel leaves the read a draft, Sign in it signs.
  await page.click('#sign');
  await page.waitForSelector('#signoff[open] tr[data-lesion="N1"]');
  await page.click('#signoff-cancel');
  await page.waitForSelector('#signoff:not([open])', { state: 'attached' });
  check((await records()).timepoints.find((t) => t.label === 'BL').read_status === 'draft',
    'cancelling the sign-off summary does not sign');
  await page.click('#sign');
  await page.click('#signoff-confirm');
  await page.waitForFunction(() => document.querySelector('#sign').textContent === 'BL signed');
  check((await records()).timepoints.find((t) => t.label === 'BL').read_status === 'signed',
    'confirming the sign-off summary signs BL');
  await shot('2-baseline-measured');

  // Follow-up: choosing T1 opens both viewports on the slice it was measured on.
  await page.selectOption('#current-tp', 'FU1');
  await page.waitForSelector('#reader[data-ready="FU1"]');
  check(await page.waitForFunction(() => document.querySelector('#worksheet tr[data-lesion="T1"] td.current')
    ?.textContent === 'to do', null, { timeout: 10000 }).then(() => true, () => false),
  'the worksheet lists T1 as still to do on FU1');
  check(await page.isDisabled('#sign'), 'FU1 cannot be signed before T1 has its record');
  const responseBefore = await responseRow(page);
  await stripAndLesion(t);
  await page.click('#worksheet tr[data-lesion="T1"] button:has-text("Measure")');
  await page.waitForFunction(() => document.querySelector('#vp-prior .overlay').textContent.includes('Pos 23.8 mm') &&
    document.querySelector('#vp-current .overlay').textContent.includes('Pos 23.8 mm'), null, { timeout: 5000 }).catch(() => {});
  const onT1 = await page.evaluate(() => ['prior', 'current'].map((s) => window.hepatrack.viewports[s].slice.position));
  check(onT1.every((z) => Math.abs(z - LESION_Z) < 0.01), `Measure T1 opened prior and current on its slice: ${onT1.join(', ')} mm`);
  await page.hover('#vp-current canvas');
  await page.waitForTimeout(500); // the neighbours' prefetch
  const next = await page.evaluate(() => window.hepatrack.viewports.current.slices[10].sop);
  const fetched = [];
  const onRequest = (r) => fetched.push(r.url());
  page.on('request', onRequest);
  await page.mouse.wheel(0, 100); // synchronised scrolling: both move one slice
  await page.waitForFunction(() => document.querySelector('#vp-prior').dataset.index ===
    document.querySelector('#vp-current').dataset.index && document.querySelector('#vp-current').dataset.index === '11');
  page.off('request', onRequest);
  check(!fetched.some((u) => u.includes(next)), `the wheel scrolled prior and current together, to a prefetched slice (${fetched.length} requests, none for it)`);
  await page.keyboard.press('ArrowUp');
  await page.waitForFunction(() => document.querySelector('#vp-current .overlay').textContent.includes('Pos 23.8 mm'));
  await measure(FOLLOW_UP_MM);
  await page.waitForFunction(() => /mm/.test(document.querySelector('#worksheet tr[data-lesion="T1"] td.current').textContent));
  stored = (await records()).assessments.find((a) => a.lesion === 'T1' && a.timepoint === 'FU1');
  check(stored && Math.abs(stored.long_axis_mm - FOLLOW_UP_MM) <= PIXEL,
    `follow-up T1: ${stored?.long_axis_mm} mm stored for ${FOLLOW_UP_MM} mm`);
  await page.click('#worksheet tr[data-lesion="N1"] button:has-text("Measure")');
  await page.waitForFunction(() => document.querySelector('button[data-tool="bidirectional"]').classList.contains('on'));
  await bidirectional(NODE_FOLLOW_UP_MM);
  await page.waitForFunction(() => /short/.test(document.querySelector('#worksheet tr[data-lesion="N1"] td.current').textContent));
  stored = (await records()).assessments.find((a) => a.lesion === 'N1' && a.timepoint === 'FU1');
  check(stored && Math.abs(stored.short_axis_mm - NODE_FOLLOW_UP_MM) <= 2 * PIXEL,
    `follow-up N1: short axis ${stored?.short_axis_mm} mm for ${NODE_FOLLOW_UP_MM} mm`);
  await worksheetLive({ ...t, before: responseBefore });
  await lesionKeys(t);
  await refusedSave(t);
  // The liver window (W150/L90), applied in the browser to the samples it has: no request.
  const requests = [];
  const seen = (r) => requests.push(r.url());
  page.on('request', seen);
  await page.keyboard.press('3');
  await page.waitForFunction(() => document.querySelector('#vp-current .overlay').textContent.includes('W 150 L 90'));
  await page.waitForTimeout(300);
  page.off('request', seen);
  const grey = await page.evaluate(([x, y]) => {
    const c = window.hepatrack.viewports.current.offscreen.getContext('2d');
    const d = c.getImageData(Math.floor(x) - 2, Math.floor(y) - 2, 5, 5).data;
    let sum = 0;
    for (let i = 0; i < d.length; i += 4) sum += d[i];
    return sum / 25;
  }, toPixel(LESION.x, LESION.y));
  // PS3.3 C.11.2.1.2.1 for the lesion's 45 HU (noise of -8..7 HU averaged): about 50.
  const expectedGrey = ((44.5 - 89.5) / 149 + 0.5) * 255;
  check(requests.length === 0 && Math.abs(grey - expectedGrey) <= 6,
    `window applied in the browser: lesion grey ${grey.toFixed(1)} (expected ${expectedGrey.toFixed(1)}), ${requests.length} requests`);
  check(await page.isHidden('#reason-box'), 'no reason box on FU1 while it was never signed');
  await page.click('#sign');
  await page.waitForSelector('#signoff[open] tr[data-criteria="choi"]');
  const summary = await page.evaluate(() => ({
    t1: [...document.querySelectorAll('#signoff tr[data-lesion="T1"] td')].map((t) => t.textContent),
    recist: [...document.querySelectorAll('#signoff tr[data-criteria="recist1.1"] td')].map((t) => t.textContent),
    rows: document.querySelectorAll('#signoff .signoff-response tbody tr').length,
  }));
  check(/^30 mm · 4\d\.\d HU$/.test(summary.t1[2]) && summary.t1[3] === '18 mm' &&
    summary.t1[4] === '-40 %', `the sign-off summary: T1 ${summary.t1.join(' | ')}`);
  check(summary.recist.at(-1) === 'PR' && summary.rows === 3,
    `the sign-off summary gives the response under 3 criteria: RECIST 1.1 ${summary.recist.join(' | ')}`);
  check((await records()).timepoints.find((t) => t.label === 'FU1').read_status === 'draft',
    'FU1 is not signed while the summary is open');
  await shot('3-sign-off-summary');
  await page.click('#signoff-confirm');
  await page.waitForFunction(() => document.querySelector('#sign').textContent === 'FU1 signed');
  await shot('3-follow-up-measured');
  await linkedWindow(t);
  await speed(t);

  // The timeline page: 30 + 20 -> 18 + 12 mm is -40 %, a partial response.
  await page.click('#reader-timeline');
  await page.waitForSelector('table[data-criteria="recist1.1"] tr[data-timepoint="FU1"]');
  const fu1 = await page.$$eval('table[data-criteria="recist1.1"] tr[data-timepoint="FU1"] td', (tds) => tds.map((t) => t.textContent));
  check(fu1.includes('PR') && fu1.some((c) => c.startsWith('-4')) && fu1[2] === 'signed by rad',
    `timeline FU1: ${fu1.join(' | ')}`);
  await chartAxes({ ...t, timeline: await page.evaluate(() => fetch('/api/subjects/E01/timeline').then((r) => r.json())) });
  await shot('4-timeline');
  await closeSums(t);

  // A correction: T1 on FU1 read again as split in two fragments (Split, two lengths, Enter).
  await page.goto(`${base}/#/read/E01/FU1`);
  await page.waitForSelector('#reader[data-ready="FU1"]');
  check(await page.isVisible('#reason-box'), 'the reason box shows on the signed FU1');
  await page.fill('#reason', 'fragmented on review');
  await page.click('#worksheet tr[data-lesion="T1"] button:has-text("Split")');
  await page.waitForFunction(() => /Splitting T1/.test(document.querySelector('#reader-status').textContent));
  await clickAt(LESION.x - 9, LESION.y);
  await clickAt(LESION.x - 1, LESION.y);
  await clickAt(LESION.x + 1, LESION.y);
  await clickAt(LESION.x + 7, LESION.y);
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /split/.test(document.querySelector('#worksheet tr[data-lesion="T1"] td.current').textContent));
  stored = (await records()).assessments.find((a) => a.lesion === 'T1' && a.timepoint === 'FU1');
  const fragments = stored?.fragments_mm ?? [];
  check(fragments.length === 2 && Math.abs(fragments[0] - 8) <= PIXEL && Math.abs(fragments[1] - 6) <= PIXEL &&
    stored.version === 2 && !(await records()).timepoints.find((tp) => tp.label === 'FU1').read_status.startsWith('signed'),
  `a split T1: fragments ${fragments.join(' + ')} mm (8 and 6 drawn), version ${stored?.version}, FU1 back to draft`);
  // FU1 is a draft again but was signed: the server asks for a reason, the box opens, Retry saves.
  await page.waitForFunction(() => document.querySelector('#reason-box').hidden);
  await ellipse(4);
  await page.waitForFunction(() => /Retry/.test(document.querySelector('#reader-status').textContent));
  const waiting = await page.evaluate(() => window.hepatrack.viewports.current.pending);
  check(waiting?.unsaved && /unsaved/.test(waiting.label) && /unsaved/.test(await page.textContent('#vp-current .overlay')),
    `the ellipse waiting for a reason is marked unsaved: ${waiting?.label}`);
  check(await page.isVisible('#reason-box') && await page.isVisible('#reason-retry') &&
    !(await records()).assessments.find((a) => a.lesion === 'T1' && a.timepoint === 'FU1').roi,
  `a change to a once-signed read without a reason: ${await page.textContent('#reader-status')}`);
  await page.fill('#reason', 'density added on review');
  await page.click('#reason-retry');
  await page.waitForFunction(() => document.querySelector('#reason-box').hidden);
  stored = (await records()).assessments.find((a) => a.lesion === 'T1' && a.timepoint === 'FU1');
  check(stored.roi && stored.mean_hu != null && stored.fragments_mm?.length === 2 && stored.version === 3,
    `retried with the reason: ${stored.mean_hu} HU added, fragments ${stored.fragments_mm} kept, version ${stored.version}`);
  await shot('4b-correction');
  await worklistPage(t);
  await cohortPage(t);
  await page.click('#logout');
  await page.waitForSelector('#login:not([hidden])');

  // A coordinator reads, and may not write.
  await login('coord', 'coord-password-1');
  const refused = await page.evaluate(() => fetch('/api/measurements', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ subject: 'E01', assessments: [{ lesion: 'T1', timepoint: 'FU1', long_axis_mm: 5 }] }),
  }).then(async (r) => ({ status: r.status, body: await r.json() })));
  check(refused.status === 403 && /radiologist/.test(refused.body.error.message),
    `a coordinator's write is refused: ${JSON.stringify(refused)}`);
  check(!(await page.isVisible('#unassigned button:has-text("Assign")')), 'the coordinator has no Assign button');
  await page.goto(`${base}/#/read/E01/BL`);
  await page.waitForSelector('#reader[data-ready="BL"]');
  const controls = await page.evaluate(() => [...document.querySelectorAll(
    '#reader button, #reader select, #reader input, #reader form')]
    .filter((e) => e.checkVisibility()).map((e) => e.id || e.textContent.trim() || e.tagName));
  check(!(await page.isVisible('#sign')) && !(await page.isVisible('#reason-box')) &&
    !(await page.isVisible('#new-lesion')) && !(await page.isVisible('button[data-tool="length"]')) &&
    await page.locator('#worksheet tbody select, #worksheet tbody button').count() === 0 &&
    await page.isVisible('#worksheet tr[data-lesion="T1"]'),
  `the coordinator's reading page has no Sign, tools, states or reason box: ${controls.join(', ')}`);
  await shot('5-coordinator');

  // The coordinator enrols E02, links the other patient's study to it and records a date.
  await page.goto(`${base}/#/`);
  await page.waitForSelector('#worklist:not([hidden])');
  await page.click('#enrol-link');
  await page.waitForSelector('#enrol:not([hidden]) #enrol-studies tr[data-study]');
  await page.fill('#enrol-subject input[name=subject]', 'E01');
  await page.click('#enrol-subject button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#enrol-error').textContent !== '');
  check(/enrolled|exists|already/i.test(await page.textContent('#enrol-error')),
    `enrolling E01 again shows the server's refusal: ${await page.textContent('#enrol-error')}`);
  await page.fill('#enrol-subject input[name=subject]', 'E02');
  await page.click('#enrol-subject button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#enrol-status').textContent === 'E02 enrolled');
  const other = page.locator('#enrol-studies tr', { hasText: 'E2E-2' });
  await other.locator('select').selectOption('E02');
  await other.locator('button', { hasText: 'Link patient' }).click();
  await page.waitForFunction(() => /linked to E02/.test(document.querySelector('#enrol-status').textContent));
  await page.selectOption('#enrol-dates select[name=subject]', 'E02');
  await page.fill('#enrol-dates input[name=last_known_alive]', '2026-04-01');
  await page.click('#enrol-dates button[type=submit]');
  await page.waitForFunction(() => /recorded/.test(document.querySelector('#enrol-status').textContent) ||
    document.querySelector('#enrol-error').textContent);
  const e02 = await page.evaluate(() => fetch('/api/subjects/E02').then((r) => r.json()));
  check(JSON.stringify(e02.dicom_patients?.map((p) => [p.id, p.issuer])) === '[["E2E-2","SITE"]]' &&
    e02.last_known_alive === '2026-04-01',
    `E02 enrolled with patient E2E-2@SITE, last known alive 2026-04-01: ${JSON.stringify(e02)} ${await page.textContent('#enrol-error')}`);
  await shot('6-enrolment');
  await page.click('#enrol button[data-go="#/"]');
  await page.waitForSelector('#worklist:not([hidden]) #subjects tr[data-subject="E02"]');
  check(/a radiologist assigns it/.test(await page.textContent('#unassigned tr:has-text("E2E-2")')),
    'E02 is in the worklist and its study is offered for a radiologist to assign');
  await shot('7-coordinator-worklist');
  check(await page.isHidden('#conflicts-box'), 'a coordinator is not shown the conflicts');
  await page.click('#logout');
  await page.waitForSelector('#login:not([hidden])');
  await login('root', 'root-password-1');
  const conflictRow = page.locator(`#conflicts tr[data-sop="${conflictUid}"]`);
  await conflictRow.waitFor({ timeout: 10000 });
  check(Boolean(conflictUid) && /import:/.test(await conflictRow.textContent()),
    `an admin sees the conflict (${conflictUid}) and where it came from`);
  await shot('9-admin-conflicts');
  check(errors.length === 0, `no script errors in the page: ${errors.join('; ')}`);
} catch (error) {
  const at = (error.stack ?? '').split('\n').find((l) => l.includes('station.mjs')) ?? '';
  check(false, `${error.message.split('\n')[0]} ${at.trim()} (screenshot: failure.png)`);
  const pages = browser.contexts()[0]?.pages() ?? [];
  if (pages[0]) await pages[0].screenshot({ path: join(shots, 'failure.png') });
} finally {
  await browser.close();
  server.kill('SIGTERM');
}
rmSync(work, { recursive: true, force: true });
console.log(`${failures === 0 ? 'all checks passed' : `${failures} checks failed`}; screenshots in ${shots}`);
process.exit(failures === 0 ? 0 : 1);
