// The reading page's checks beyond measuring (station.mjs calls them at their step): the series
// strip and both sides on a lesion, the linked window, the live worksheet against the engine, a
// refused save, the overlay, and the speed figures (printed, not asserted).

// (The page's Content-Security-Policy forbids eval: each page function is written out.)
async function chooseSeries(page, side, number) {
  const uid = await page.evaluate(([s, n]) => window.hepatrack.viewports[s].series
    .find((x) => x.SeriesNumber === n).SeriesInstanceUID, [side, number]);
  await page.click(`#strip-${side} .tile[data-series="${uid}"]`);
  await page.waitForFunction(([s, u]) => document.querySelector(`#strip-${s} .tile.on`)?.dataset.series === u &&
    window.hepatrack.viewports[s].stack.current.SeriesInstanceUID === u, [side, uid]);
}

// FU1 before T1 is measured there: the strip lists both series of each study with thumbnails;
// choosing the thin series loads it; choosing T1 then opens the prior on T1's BL slice and the
// current on the thin slice nearest that table position (BL and FU1 share a frame of reference).
export async function stripAndLesion({ page, check, shot, records, lesionZ }) {
  const tiles = await page.$$eval('.strip .tile', (ts) => ts.map((t) => t.closest('.strip').id + ':' +
    t.textContent.replace(/\s+/g, ' ').trim()));
  check(tiles.length === 4 && tiles.some((t) => /strip-prior:4 · Arterial 5mm 10 images · 5.0 mm/.test(t)) &&
    tiles.some((t) => /strip-current:5 · Thin 0.625mm 300 images · 0.6 mm/.test(t)),
  `each side's strip lists its study's series: ${tiles.join('; ')}`);
  await page.waitForFunction(() => [...document.querySelectorAll('.strip img')].every((i) => i.complete), null, { timeout: 15000 });
  const thumbs = await page.$$eval('.strip img', (is) => is.map((i) => `${i.naturalWidth}x${i.naturalHeight}`));
  check(thumbs.every((t) => Number(t.split('x')[0]) > 0 && Math.max(...t.split('x').map(Number)) === 128),
    `the tiles show the server's thumbnails (128 px longest side): ${thumbs.join(', ')}`);
  await chooseSeries(page, 'current', 5);
  // The overlay is written once the new series' first frame is drawn: wait for it (a busy
  // machine draws late), then check what it says.
  await page.waitForFunction(() => /Se 5 /.test(document.querySelector('#vp-current .overlay').textContent),
    null, { timeout: 15000 }).catch(() => {});
  const thin = await page.evaluate(() => window.hepatrack.viewports.current.slices.length);
  check(thin === 300 && await page.textContent('#vp-current .overlay').then((t) => /Se 5 Thin 0.625mm \(2\/2\)/.test(t)),
    `choosing the thin series in the strip loads it: ${thin} slices`);
  await shot('3a-series-strip');
  await page.click('#worksheet tr[data-lesion="T1"] td.id');
  await page.waitForFunction((z) => Math.abs(window.hepatrack.viewports.current.slice.position - z) < 0.32, lesionZ, { timeout: 5000 }).catch(() => {});
  const bl = (await records()).assessments.find((a) => a.lesion === 'T1' && a.timepoint === 'BL');
  const sides = await page.evaluate(() => ['prior', 'current'].map((s) => {
    const v = window.hepatrack.viewports[s];
    return { sop: v.slice.sop, index: v.index, position: v.slice.position, series: v.stack.current.SeriesNumber };
  }));
  check(sides[0].sop === bl.sop_uid && sides[1].series === 5 && Math.abs(sides[1].position - lesionZ) < 0.32 &&
    sides[1].index !== sides[0].index,
  `choosing T1: prior on its BL slice (image ${sides[0].index + 1}), current on the thin slice at the same table position ` +
    `(image ${sides[1].index + 1}, ${sides[1].position?.toFixed(2)} mm for ${lesionZ})`);
  await shot('3b-both-sides-on-the-lesion');
  await chooseSeries(page, 'current', 3);
}

// ] and [ step through the lesions, both sides following.
export async function lesionKeys({ page, check, records }) {
  await page.click('#vp-current canvas', { button: 'middle' });
  await page.keyboard.press(']');
  await page.waitForSelector('#worksheet tr.selected');
  const first = await page.getAttribute('#worksheet tr.selected', 'data-lesion');
  await page.keyboard.press(']');
  await page.waitForFunction((f) => document.querySelector('#worksheet tr.selected')?.dataset.lesion !== f, first);
  const second = await page.getAttribute('#worksheet tr.selected', 'data-lesion');
  await page.waitForTimeout(300);
  const fu1 = (await records()).assessments.find((a) => a.lesion === second && a.timepoint === 'FU1');
  const shown = await page.evaluate(() => window.hepatrack.viewports.current.slice.sop);
  await page.keyboard.press('[');
  await page.waitForFunction((f) => document.querySelector('#worksheet tr.selected')?.dataset.lesion === f, first);
  check(first !== second && shown === fu1?.sop_uid, `] then [: ${first} → ${second} (current on its FU1 slice) → ${first}`);
}

// The response rows against the engine's timelines (drafts included), fetched here.
export async function worksheetLive({ page, check, shot, before }) {
  const engine = await page.evaluate(() => Promise.all(['recist1.1', 'mrecist', 'choi'].map((c) =>
    fetch(`/api/subjects/E01/timeline?include_drafts=1&criteria=${c}`).then((r) => r.json()))));
  const shown = await page.$$eval('#response tbody tr', (rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));
  const pct = (v) => (v == null ? '—' : `${v > 0 ? '+' : ''}${v} %`);
  const same = engine.every((tl, i) => {
    const p = tl.timepoints.find((x) => x.label === 'FU1');
    const row = shown[i];
    return row && String(p.sum_mm) === row[1] && pct(p.change_from_baseline_pct) === row[2] &&
      pct(p.change_from_nadir_pct) === row[3] && (p.overall ?? '—') === row[7];
  });
  check(same && shown[0][7] === 'PR' && before !== shown[0].join(' | '),
    `the worksheet's responses are the engine's and followed the saves: ${shown.map((r) => r.join(' | ')).join('; ')} (before T1: ${before})`);
  const t1 = await page.$$eval('#worksheet tr[data-lesion="T1"] td', (tds) => tds.map((t) => t.textContent));
  const n1 = await page.$$eval('#worksheet tr[data-lesion="N1"] td', (tds) => tds.map((t) => t.textContent));
  check(/^30 mm 4\d\.\d HU$/.test(t1[3]) && t1[4] === '18 mm' && t1[5] === '-12 mm (-40 %)' &&
    /short 20 mm/.test(n1[3]) && /short 12 mm/.test(n1[4]) && n1[5] === '-8 mm (-40 %)',
  `worksheet rows: T1 ${t1.slice(3, 6).join(' | ')}; N1 ${n1.slice(3, 6).join(' | ')}`);
  await shot('3c-worksheet-live-response');
}

export const responseRow = (page) => page.$eval('#response tr[data-criteria="recist1.1"]',
  (r) => [...r.cells].map((c) => c.textContent).join(' | '));

// A length with an end outside the frame: the server refuses it, and no caliper stays drawn
// that the records do not hold.
export async function refusedSave({ page, check, shot, records, toPixel, lesion }) {
  const before = (await records()).assessments.find((a) => a.lesion === 'T1' && a.timepoint === 'FU1');
  await page.click('#worksheet tr[data-lesion="T1"] button:has-text("Measure")');
  await page.waitForFunction(() => document.querySelector('button[data-tool="length"]').classList.contains('on'));
  for (const p of [toPixel(lesion.x, lesion.y), [toPixel(lesion.x, lesion.y)[0], -20]]) {
    const [cx, cy] = await page.evaluate((q) => window.hepatrack.viewports.current.toClient(q), p);
    await page.mouse.click(cx, cy);
  }
  await page.waitForFunction(() => document.querySelector('#reader-status').className === 'error');
  const after = (await records()).assessments.find((a) => a.lesion === 'T1' && a.timepoint === 'FU1');
  const drawn = await page.evaluate(() => {
    const v = window.hepatrack.viewports.current;
    return { pending: v.pending, here: v.annotations.filter((a) => a.sop === v.slice.sop).map((a) => a.label) };
  });
  const status = await page.textContent('#reader-status');
  check(/outside/.test(status) && after.version === before.version && drawn.pending === null &&
    drawn.here.includes(`T1 ${before.long_axis_mm} mm`) && drawn.here.every((l) => /^(T1 18 mm|N1 .*)$/.test(l)),
  `a refused save leaves only the stored calipers: ${JSON.stringify(drawn)} (${status})`);
  await shot('3d-refused-save');
}

// Linked: a preset, a zoom drag and invert on the current side move the prior too; unlinked they
// do not.
export async function linkedWindow({ page, check, shot }) {
  const display = (side) => page.evaluate((s) => window.hepatrack.viewports[s].display, side);
  await page.click('#vp-current canvas', { button: 'middle' });
  await page.keyboard.press('2');
  const unlinked = await display('prior');
  await page.check('#link-view');
  await page.click('#vp-current canvas', { button: 'middle' }); // the keys go to the viewport again
  await page.keyboard.press('4');
  const box = await page.locator('#vp-current canvas').boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down({ button: 'right' });
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2 - 60, { steps: 5 });
  await page.mouse.up({ button: 'right' });
  await page.keyboard.press('i');
  const [prior, current] = [await display('prior'), await display('current')];
  check(unlinked.voi?.center !== -600 && JSON.stringify(prior) === JSON.stringify(current) &&
    current.voi.center === 480 && current.voi.width === 2500 && current.zoom > 1.2 && current.inverted,
  `linked W/L and zoom: prior ${JSON.stringify(prior)} = current ${JSON.stringify(current)}; unlinked the prior kept ${JSON.stringify(unlinked.voi)}`);
  // The overlay and the letters read on the inverted image: patient, date, series, a scale bar.
  const overlay = await page.textContent('#vp-prior .overlay');
  const marks = await page.evaluate(() => {
    const v = window.hepatrack.viewports.prior, c = v.view.canvas, ctx = c.getContext('2d');
    const bright = (x, y, w, h) => { const d = ctx.getImageData(x, y, w, h).data; let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i] > 230) n++; return n; };
    const dark = (x, y, w, h) => { const d = ctx.getImageData(x, y, w, h).data; let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i] < 30) n++; return n; };
    const pxPerMm = v.view.scale / v.view.frame.spacing[1];
    const fits = [1, 2, 5, 10, 20, 50, 100, 200, 500].filter((mm) => mm * pxPerMm <= c.width / 4);
    return { scale: v.element.dataset.scaleMm, expected: String(fits.at(-1)),
      left: [bright(4, c.height / 2 - 9, 16, 18), dark(4, c.height / 2 - 9, 16, 18)] };
  });
  check(/E2E-1/.test(overlay) && /2026-01-05/.test(overlay) && /Se 3 Portal venous 2.5mm/.test(overlay) &&
    marks.scale === marks.expected && marks.left[0] > 5 && marks.left[1] > 5,
  `overlay on the inverted prior: patient, date, series; scale bar ${marks.scale} mm (expected ${marks.expected}); ` +
    `letter R outlined (${marks.left[0]} light, ${marks.left[1]} dark pixels)`);
  await shot('3e-linked-window-inverted');
  await page.keyboard.press(' ');
  await page.uncheck('#link-view');
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p95 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)];

// Printed, not asserted: opening a reading, each side's first image, and a wheel step on the
// 300-slice series (a step is done when its slice is drawn).
export async function speed({ page, check }) {
  await page.evaluate(() => { location.hash = '#/'; });
  await page.waitForSelector('#worklist:not([hidden])');
  await page.evaluate(() => { location.hash = '#/read/E01/FU1'; });
  await page.waitForSelector('#reader[data-ready="FU1"]');
  const open = await page.evaluate(() => {
    const t = (n) => performance.getEntriesByName(`hepatrack:${n}`)[0]?.startTime;
    const t0 = t('open-reading');
    return ['reading-ready', 'first-image:prior', 'first-image:current'].map((n) => Math.round(t(n) - t0));
  });
  await chooseSeries(page, 'current', 5);
  await page.click('#vp-current canvas', { button: 'middle' });
  await page.keyboard.press('Home');
  await page.waitForSelector('#vp-current[data-index="1"]');
  const steps = await page.evaluate(async () => {
    const v = window.hepatrack.viewports.current, out = [];
    for (let i = 0; i < 100; i++) {
      const t0 = performance.now();
      v.view.canvas.dispatchEvent(new WheelEvent('wheel', { deltaY: 100, bubbles: true, cancelable: true }));
      await v.showing;
      await new Promise((r) => requestAnimationFrame(r));
      out.push(performance.now() - t0);
    }
    return { times: out, index: v.index };
  });
  console.log(`speed: open reading ${open[0]} ms; first image prior ${open[1]} ms, current ${open[2]} ms; ` +
    `wheel step median ${median(steps.times).toFixed(1)} ms p95 ${p95(steps.times).toFixed(1)} ms over 100 steps (300-slice series)`);
  check(steps.index === 100 && open.every((ms) => ms > 0), `the speed run reached image ${steps.index + 1} of 300`);
}
