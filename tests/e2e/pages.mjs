// The pages around the reading (station.mjs calls them at their step): the timeline chart's
// axes and labels, the worklist's dates, statuses and filters, and the cohort page against the
// command line's cohort.

// Where a value sits on an axis, from two of its ticks (linear).
function onAxis(ticks, value) {
  const [a, b] = [ticks[0], ticks.at(-1)];
  return a.y + ((value - a.value) / (b.value - a.value)) * (b.y - a.y);
}

// The chart's geometry as the browser drew it: ticks, points, lines, and every text's box.
const geometry = (page) => page.evaluate(() => {
  const svg = document.querySelector('section.criterion svg.chart');
  const ticks = (axis) => [...svg.querySelectorAll(`g.tick[data-axis="${axis}"]`)].map((g) =>
    ({ value: Number(g.dataset.value), y: Number(g.querySelector('line').getAttribute('y1')),
      label: g.querySelector('text').textContent }));
  const point = (series, tp) => Number(svg.querySelector(`circle[data-series="${series}"][data-timepoint="${tp}"]`)?.getAttribute('cy'));
  const boxes = [...svg.querySelectorAll('text')].map((t) => { const b = t.getBBox(); return { text: t.textContent, x: b.x, y: b.y, w: b.width, h: b.height }; });
  const lines = Object.fromEntries(['line-response', 'line-progression'].map((c) =>
    [c, [...svg.querySelectorAll(`line.${c}`)].map((l) => Number(l.getAttribute('y1')))]));
  return { sum: ticks('sum'), pct: ticks('pct'), boxes, lines, points: svg.querySelectorAll('circle.point[data-series]').length,
    fu1: { sum: point('sum', 'FU1'), pct: point('pct', 'FU1') } };
});

function overlaps(boxes) {
  const out = [];
  for (let i = 0; i < boxes.length; i++)
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i], b = boxes[j];
      if (a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h) out.push(`"${a.text}"/"${b.text}"`);
    }
  return out;
}

// E01's FU1 (30 mm, -40 %): each point where its own axis's ticks put it; the -30 % and +20 %
// lines only on the % axis; no label over another.
export async function chartAxes({ page, check, timeline }) {
  const g = await geometry(page);
  const fu1 = timeline.timepoints.find((p) => p.label === 'FU1');
  const sumY = onAxis(g.sum, fu1.sum_mm), pctY = onAxis(g.pct, fu1.change_from_baseline_pct);
  const [pctTop, pctBottom] = [Math.min(...g.pct.map((t) => t.y)), Math.max(...g.pct.map((t) => t.y))];
  const [sumTop, sumBottom] = [Math.min(...g.sum.map((t) => t.y)), Math.max(...g.sum.map((t) => t.y))];
  const lines = [...g.lines['line-response'], ...g.lines['line-progression']];
  check(g.sum.length >= 3 && g.pct.length >= 3 && g.sum.every((t) => t.label === String(t.value)) &&
    Math.abs(g.fu1.sum - sumY) < 0.5 && Math.abs(g.fu1.pct - pctY) < 0.5 &&
    Math.abs(g.lines['line-response'][0] - onAxis(g.pct, -30)) < 0.5 && Math.abs(g.lines['line-progression'][0] - onAxis(g.pct, 20)) < 0.5 &&
    lines.length === 2 && lines.every((y) => y >= pctTop && y <= pctBottom && (y < sumTop || y > sumBottom)),
  `chart axes: FU1 ${fu1.sum_mm} mm at y ${g.fu1.sum.toFixed(1)} (ticks say ${sumY.toFixed(1)}), ${fu1.change_from_baseline_pct} % at y ` +
    `${g.fu1.pct.toFixed(1)} (ticks say ${pctY.toFixed(1)}); -30/+20 lines at ${lines.map((y) => y.toFixed(1)).join(', ')} ` +
    `within the % axis ${pctTop.toFixed(0)}–${pctBottom.toFixed(0)}, outside the mm axis ${sumTop.toFixed(0)}–${sumBottom.toFixed(0)}`);
  const o = overlaps(g.boxes);
  check(o.length === 0, `no chart label overlaps another (E01): ${o.join(', ') || `${g.boxes.length} labels`}`);
}

// A subject whose sums are close together and whose visits are close in time.
export async function closeSums({ page, check, shot, base }) {
  await page.goto(`${base}/#/timeline/E03`);
  await page.waitForSelector('section.criterion svg.chart circle.point[data-series]');
  const g = await geometry(page);
  const o = overlaps(g.boxes);
  const responses = await page.$$eval('section.criterion svg.chart text.value', (ts) => ts.map((t) => t.textContent));
  check(o.length === 0 && g.points === 8 && responses.some((t) => / SD$/.test(t)),
    `no chart label overlaps another with sums 50, 49, 50, 50.5 mm within 30 days: ${o.join(', ') || responses.join('; ')}`);
  await shot('4a-timeline-close-sums');
}

// Dates as dates, statuses with who signed, pluralised studies, the to-read-first order, filters.
export async function worklistPage({ page, check, shot, base }) {
  await page.goto(`${base}/#/`);
  await page.waitForSelector('#worklist:not([hidden]) #subjects tr[data-subject="E03"]');
  const rows = await page.$$eval('#subjects tbody tr', (rs) => rs.map((r) => ({ id: r.dataset.subject, todo: r.dataset.todo,
    text: r.cells[1].textContent })));
  const dates = await page.$$eval('#unassigned tbody tr', (rs) => rs.map((r) => [r.cells[1].textContent, r.cells[4].textContent]));
  const e01 = rows.find((r) => r.id === 'E01')?.text ?? '';
  const firstSigned = rows.findIndex((r) => r.todo === '0');
  check(/BL 2026-01-05 · signed by rad \d{4}-\d\d-\d\d \d\d:\d\d · 1 study/.test(e01) &&
    rows.slice(firstSigned < 0 ? rows.length : firstSigned).every((r) => r.todo === '0') &&
    dates.length > 0 && dates.every(([d, n]) => /^\d{4}-\d\d-\d\d$/.test(d) && /^(arriving \(\d+ so far\)|complete \(\d+\))$/.test(n)),
  `worklist: ${rows.map((r) => `${r.id}${r.todo === '1' ? ' (to read)' : ''}: ${r.text}`).join(' / ')}; unassigned ${JSON.stringify(dates)}`);
  await page.fill('#filter-subject', 'e03');
  const visible = () => page.$$eval('#subjects tbody tr', (rs) => rs.filter((r) => !r.hidden).map((r) => r.dataset.subject).join(','));
  const bySubject = await visible();
  await page.fill('#filter-subject', '');
  await page.selectOption('#filter-status', 'todo');
  const toRead = await visible();
  await page.selectOption('#filter-status', 'signed');
  const signed = await visible();
  check(bySubject === 'E03' && !toRead.includes('E03') && signed.includes('E03') && !signed.includes('E01') && toRead.includes('E01'),
    `filters: "e03" shows ${bySubject}; to read ${toRead}; signed ${signed}`);
  await shot('0-worklist-filtered');
  await page.selectOption('#filter-status', 'all');
}

// The cohort page against `hepatrack cohort --format json` run here, under each criterion shown.
export async function cohortPage({ page, check, shot, cli }) {
  await page.click('#cohort-link');
  await page.waitForSelector('#cohort:not([hidden]) #cohort-subjects tr[data-subject]');
  for (const criteria of ['recist1.1', 'choi']) {
    if (criteria !== 'recist1.1') {
      await page.selectOption('#cohort-criteria', criteria);
      await page.waitForFunction((c) => document.querySelector('#cohort-body').dataset.criteria === c, criteria);
    }
    const want = JSON.parse(cli(['cohort', '--criteria', criteria, '--format', 'json']));
    const shown = await page.evaluate(() => ({
      figures: Object.fromEntries([...document.querySelectorAll('#cohort [data-figure]')].map((d) => [d.dataset.figure, d.textContent])),
      rows: [...document.querySelectorAll('#cohort-subjects tbody tr')].map((r) => [...r.cells].map((c) => c.textContent)),
    }));
    const pct = (v) => (v == null ? '—' : `${v > 0 ? '+' : ''}${v} %`);
    const rate = (r) => `${r.rate_pct} % (${r.responders}/${want.n}), 95 % CI ${r.ci95_pct[0]}–${r.ci95_pct[1]} %`;
    const rowsMatch = want.subjects.length === shown.rows.length && want.subjects.every((s) => {
      const r = shown.rows.find((x) => x[0] === s.subject);
      return r && r[1].startsWith(s.best_overall_response ?? '—') && r[2] === pct(s.best_change_from_baseline_pct) &&
        r[3] === (s.progression_date ?? 'none') && r[4] === (s.pfs_days == null ? '—' : `${s.pfs_days} d${s.pfs_censored ? ' (censored)' : ''}`);
    });
    const median = want.pfs.median_days == null ? 'not reached' : `${want.pfs.median_days} d`;
    check(rowsMatch && shown.figures.orr === `ORR: ${rate(want.orr)}` && shown.figures.dcr === `DCR: ${rate(want.dcr)}` &&
      shown.figures.pfs.startsWith(`Median PFS: ${median}`),
    `cohort (${criteria}) as hepatrack cohort says: ${shown.figures.orr}; ${shown.figures.dcr}; ${shown.figures.pfs}; ` +
      shown.rows.map((r) => r.join(' | ')).join(' / '));
    // The server's pictures of the cohort, for the criterion chosen, each loaded and drawn.
    await page.waitForFunction(() => [...document.querySelectorAll('#cohort-plots img')].every((i) => i.complete), null,
      { timeout: 20000 }).catch(() => {});
    const pictures = await page.evaluate(() => [...document.querySelectorAll('#cohort-plots img')]
      .map((i) => ({ src: i.getAttribute('src'), width: i.naturalWidth })));
    check(pictures.length === 5 && pictures.every((p) => p.width > 0 && p.src.endsWith(`.svg?criteria=${criteria}`)),
      `cohort (${criteria}): five pictures drawn for the criterion: ${JSON.stringify(pictures)}`);
    if (criteria === 'recist1.1') await shot('8-cohort');
  }
  await page.click('#cohort-subjects a[href="#/timeline/E01"]');
  await page.waitForSelector('#timeline:not([hidden]) table[data-criteria="recist1.1"]');
  check(await page.textContent('#timeline-title') === 'E01: response timeline', 'the cohort links to each subject\'s timeline');
}
