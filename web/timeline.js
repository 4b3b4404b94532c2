// A subject's timeline: a table per criterion and, for RECIST 1.1, the chart (chart.js) of the
// target sum and its change from baseline against the -30 % and +20 % lines.

import { api, enc } from './api.js';
import { $ } from './dom.js';
import { chart, el, pct } from './chart.js';

const CRITERIA = [['recist1.1', 'RECIST 1.1'], ['mrecist', 'mRECIST'], ['choi', 'Choi']];

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
