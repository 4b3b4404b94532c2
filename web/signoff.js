// The sign-off summary shown before a read is signed: what the reader is about to put their name
// to — each lesion's prior and current value, the time point's response under each criterion
// (computed by the server with the drafts included, since this read is still one), the
// warnings, and what is missing. Only "Sign" in the dialog signs; Cancel or Esc does not.

import { api, enc } from './api.js';
import { $ } from './dom.js';

const CRITERIA = [['recist1.1', 'RECIST 1.1'], ['mrecist', 'mRECIST'], ['choi', 'Choi']];

function el(tag, text, attrs = {}) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

function row(table, values, attrs = {}) {
  const tr = table.insertRow();
  for (const [k, v] of Object.entries(attrs)) tr.dataset[k] = v;
  for (const v of values) tr.insertCell().textContent = v ?? '';
  return tr;
}

// The number RECIST sums for a lesion: a node's short axis, a split target's fragments, else the
// long axis; null when the record holds a state instead.
function size(lesion, a) {
  if (!a) return null;
  if (a.fragments_mm) return a.fragments_mm.reduce((s, f) => s + f, 0);
  return lesion.nodal ? a.short_axis_mm ?? null : a.long_axis_mm ?? null;
}

function value(lesion, a) {
  if (!a) return '—';
  if (a.state) return a.state.replaceAll('_', ' ') + (a.merged_into ? ` into ${a.merged_into}` : '');
  const mm = size(lesion, a);
  const hu = a.mean_hu != null ? ` · ${a.mean_hu} HU` : '';
  return mm == null ? hu.slice(3) || 'recorded' : `${mm} mm${hu}`;
}

function change(before, after) {
  if (before == null || after == null || before === 0) return '';
  const pct = Math.round(((after - before) / before) * 1000) / 10;
  return `${pct > 0 ? '+' : ''}${pct} %`;
}

function lesionTable({ records, current, prior }) {
  const t = el('table', undefined, { class: 'signoff-lesions' });
  const head = t.createTHead().insertRow();
  for (const h of ['Lesion', 'Role', `Prior (${prior ?? '—'})`, `Current (${current})`, 'Change'])
    head.append(el('th', h));
  const body = t.createTBody();
  const at = (id, label) => records.assessments.find((a) => a.lesion === id && a.timepoint === label);
  for (const lesion of records.lesions) {
    const before = at(lesion.id, prior), after = at(lesion.id, current);
    if (!before && !after) continue; // e.g. a new lesion of another time point
    row(body, [lesion.id, lesion.role + (lesion.nodal ? ' (node)' : ''), value(lesion, before),
      value(lesion, after), change(size(lesion, before), size(lesion, after))], { lesion: lesion.id });
  }
  return t;
}

// The time point's row of each criterion's timeline; an error (e.g. nothing computable yet) is
// shown as the server words it.
async function responses(subject, current) {
  const t = el('table', undefined, { class: 'signoff-response' });
  const head = t.createTHead().insertRow();
  for (const h of ['Criteria', 'Sum (mm)', 'From baseline', 'Target', 'Non-target', 'New', 'Overall'])
    head.append(el('th', h));
  const body = t.createTBody();
  const warnings = new Set();
  const timelines = await Promise.all(CRITERIA.map(([key]) =>
    api(`/api/subjects/${enc(subject)}/timeline?criteria=${key}&include_drafts=1`).catch((e) => e)));
  CRITERIA.forEach(([key, name], i) => {
    const tl = timelines[i];
    if (tl instanceof Error) {
      row(body, [name, tl.message], { criteria: key }).cells[1].colSpan = 6;
      return;
    }
    for (const w of tl.warnings ?? []) warnings.add(typeof w === 'string' ? w : w.message ?? JSON.stringify(w));
    const p = tl.timepoints.find((x) => x.label === current) ?? {};
    const pct = p.change_from_baseline_pct;
    row(body, [name, p.sum_mm, pct == null ? '' : `${pct > 0 ? '+' : ''}${pct} %`, p.target,
      p.non_target, p.new_lesions, p.overall ?? '—'], { criteria: key });
  });
  return { table: t, warnings: [...warnings] };
}

// What the read still lacks, as far as the records tell.
function missing({ records, current }) {
  const out = [];
  const tp = records.timepoints.find((t) => t.label === current);
  if (!tp?.study_uids?.length) out.push(`${current} lists no study`);
  for (const l of records.lesions)
    if (l.role !== 'new' && !records.assessments.some((a) => a.lesion === l.id && a.timepoint === current))
      out.push(`${l.id}: no record on ${current}`);
  for (const t of records.timepoints)
    if (t.date < tp?.date && t.read_status !== 'signed') out.push(`${t.label} (earlier) is not signed`);
  return out;
}

function list(items, empty) {
  const ul = el('ul');
  ul.append(...(items.length ? items : [empty]).map((t) => el('li', t)));
  return ul;
}

// Resolves true when the reader confirms, false when they cancel.
export async function confirmSignOff(read) {
  const dialog = $('#signoff');
  const { table, warnings } = await responses(read.subject, read.current);
  const form = el('form', undefined, { method: 'dialog' });
  const sign = el('button', `Sign ${read.current}`, { value: 'sign', id: 'signoff-confirm' });
  const cancel = el('button', 'Cancel', { value: 'cancel', id: 'signoff-cancel' });
  form.append(el('h2', `Sign-off: ${read.subject} ${read.current}`), lesionTable(read),
    el('h3', 'Response at this time point (drafts included)'), table,
    el('h3', 'Warnings'), list(warnings, 'none'),
    el('h3', 'Missing'), list(missing(read), 'nothing'),
    el('p', 'Signing puts your name to these records; a later change will need a reason.'),
    el('div', undefined, { class: 'bar' }));
  form.lastChild.append(sign, cancel);
  dialog.replaceChildren(form);
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'sign'), { once: true });
    dialog.showModal();
    cancel.focus(); // Enter must not sign by accident
  });
}
