// A subject's timeline: a table per criterion and a chart of the target sum and its change
// from baseline against the -30 % (response) and +20 % (progression) lines.

import { api, enc } from './api.js';
import { $ } from './dom.js';

const CRITERIA = [['recist1.1', 'RECIST 1.1'], ['mrecist', 'mRECIST'], ['choi', 'Choi']];
const SVG = 'http://www.w3.org/2000/svg';

function el(tag, attrs = {}, text) {
  const e = tag.startsWith('svg:') ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

const pct = (v) => (v == null ? '' : `${v > 0 ? '+' : ''}${v} %`);

function table(timeline) {
  const t = el('table', { class: 'timeline', 'data-criteria': timeline.criteria });
  const choi = timeline.criteria === 'choi';
  const head = t.createTHead().insertRow();
  const names = ['Time point', 'Date', 'Read', 'Sum (mm)', 'From baseline', 'From nadir'];
  if (choi) names.push('Mean HU', 'HU change');
  for (const h of [...names, 'Target', 'Non-target', 'New lesions', 'Overall']) head.append(el('th', {}, h));
  const body = t.createTBody();
  for (const p of timeline.timepoints) {
    const row = body.insertRow();
    row.dataset.timepoint = p.label;
    const values = [p.label, p.date, p.signed_by ? `${p.read_status} by ${p.signed_by}` : p.read_status, p.sum_mm, pct(p.change_from_baseline_pct), pct(p.change_from_nadir_pct)];
    if (choi) values.push(p.mean_hu, pct(p.change_in_hu_pct));
    for (const v of [...values, p.target, p.non_target, p.new_lesions, p.overall]) row.insertCell().textContent = v ?? '';
  }
  return t;
}

function summary(timeline) {
  const bits = [`Best overall response: ${timeline.best_overall_response ?? '—'}`];
  if (timeline.bor_confirmed != null) bits.push(timeline.bor_confirmed ? 'confirmed' : 'unconfirmed');
  if (timeline.progression_date) bits.push(`progression ${timeline.progression_date} (${timeline.progression_timepoint})`);
  if (timeline.best_change_from_baseline_pct != null) bits.push(`best change ${pct(timeline.best_change_from_baseline_pct)}`);
  return el('p', { class: 'summary' }, bits.join(' · '));
}

// Sum (left axis, mm) and % change from baseline (right axis) over days from baseline.
function chart(timeline) {
  const points = timeline.timepoints.filter((p) => p.sum_mm != null);
  const W = 640, H = 260, L = 50, R = 50, T = 20, B = 36;
  const svg = el('svg:svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img',
    'aria-label': 'target sum and change from baseline' });
  if (!points.length) return svg;
  const maxDay = Math.max(1, ...points.map((p) => p.days_from_baseline ?? 0));
  const maxSum = Math.max(10, ...points.map((p) => p.sum_mm)) * 1.15;
  const changes = points.map((p) => p.change_from_baseline_pct ?? 0);
  const lo = Math.min(-40, ...changes) - 5, hi = Math.max(30, ...changes) + 5;
  const x = (d) => L + (d / maxDay) * (W - L - R);
  const ySum = (s) => H - B - (s / maxSum) * (H - T - B);
  const yPct = (c) => H - B - ((c - lo) / (hi - lo)) * (H - T - B);
  svg.append(el('svg:line', { x1: L, y1: H - B, x2: W - R, y2: H - B, class: 'axis' }));
  for (const [value, name] of [[-30, 'line-response'], [20, 'line-progression'], [0, 'line-zero']]) {
    svg.append(el('svg:line', { x1: L, x2: W - R, y1: yPct(value), y2: yPct(value), class: name }));
    svg.append(el('svg:text', { x: W - R + 4, y: yPct(value) + 4, class: 'label' }, pct(value) || '0 %'));
  }
  const line = (f, cls) => el('svg:polyline', { class: cls, fill: 'none',
    points: points.map((p) => `${x(p.days_from_baseline ?? 0)},${f(p)}`).join(' ') });
  svg.append(line((p) => ySum(p.sum_mm), 'series-sum'));
  svg.append(line((p) => yPct(p.change_from_baseline_pct ?? 0), 'series-change'));
  for (const p of points) {
    const cx = x(p.days_from_baseline ?? 0);
    svg.append(el('svg:circle', { cx, cy: ySum(p.sum_mm), r: 3.5, class: 'series-sum' }));
    svg.append(el('svg:text', { x: cx, y: H - B + 16, class: 'label', 'text-anchor': 'middle' }, p.label));
    const last = cx > W - R - 60; // keep the label clear of the right-hand axis
    svg.append(el('svg:text', { x: last ? cx - 6 : cx + 5, y: ySum(p.sum_mm) - 8, class: 'label',
      'text-anchor': last ? 'end' : 'start' }, `${p.sum_mm} mm`));
    if (p.change_from_baseline_pct != null)
      svg.append(el('svg:text', { x: last ? cx - 6 : cx + 5, y: yPct(p.change_from_baseline_pct) + 14,
        class: 'label', 'text-anchor': last ? 'end' : 'start' }, pct(p.change_from_baseline_pct)));
  }
  svg.append(el('svg:text', { x: 4, y: T - 6, class: 'legend-sum' }, '● target sum (mm)'));
  svg.append(el('svg:text', { x: W - R - 110, y: T - 6, class: 'legend-change' }, '— % from baseline'));
  return svg;
}

export async function openTimeline(subject) {
  const root = $('#timeline-body');
  root.replaceChildren();
  $('#timeline-title').textContent = `${subject}: response timeline`;
  for (const [key, name] of CRITERIA) {
    const section = el('section', { class: 'criterion' });
    section.append(el('h3', {}, name));
    try {
      const timeline = await api(`/api/subjects/${enc(subject)}/timeline?criteria=${key}`);
      section.append(table(timeline), summary(timeline));
      if (key === 'recist1.1') section.append(chart(timeline));
      const warnings = timeline.warnings ?? [];
      if (warnings.length) section.append(el('p', { class: 'warning' }, warnings.map((w) => w.message ?? w).join('; ')));
    } catch (error) {
      section.append(el('p', { class: 'error' }, error.message));
    }
    root.append(section);
  }
}
