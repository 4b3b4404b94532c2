// The sign-off summary: before a read is signed, the reader sees what the signature vouches for
// (each lesion's prior and current value with its change, the time point's response under each
// criterion, the warnings) and confirms it.

import { api, enc } from './api.js';
import { $, button } from './dom.js';

const CRITERIA = [['recist1.1', 'RECIST 1.1'], ['mrecist', 'mRECIST'], ['choi', 'Choi']];

// The size a response is computed from: the short axis of a node, else the long axis, else the
// fragments' sum.
function size(a, lesion) {
  if (!a) return null;
  if (lesion.nodal && a.short_axis_mm != null) return a.short_axis_mm;
  if (a.long_axis_mm != null) return a.long_axis_mm;
  return a.fragments_mm ? a.fragments_mm.reduce((s, x) => s + x, 0) : null;
}

function change(prior, current) {
  if (prior == null || current == null || prior === 0) return '';
  const pct = ((current - prior) / prior) * 100;
  return `${pct > 0 ? '+' : ''}${pct.toFixed(1)} %`;
}

function lesionRows(read, describe) {
  return read.records.lesions.map((lesion) => {
    const of = (label) => read.records.assessments.find((a) => a.lesion === lesion.id && a.timepoint === label);
    const before = of(read.prior), now = of(read.current);
    const row = document.createElement('tr');
    for (const text of [lesion.id, read.prior !== read.current ? describe(before) : '', describe(now),
      read.prior !== read.current ? change(size(before, lesion), size(now, lesion)) : ''])
      row.insertCell().textContent = text;
    return row;
  });
}

// Each criterion's response at the time point, with the drafts (this read is one).
async function responses(read) {
  const lines = [];
  let warnings = [];
  for (const [key, name] of CRITERIA) {
    try {
      const t = await api(`/api/subjects/${enc(read.subject)}/timeline?criteria=${key}&include_drafts=1`);
      const tp = t.timepoints.find((x) => x.label === read.current);
      lines.push(`${name}: ${tp?.overall ?? '—'}`);
      if (key === 'recist1.1') warnings = t.warnings.filter((w) => !w.timepoint || w.timepoint === read.current);
    } catch (error) {
      lines.push(`${name}: ${error.message}`);
    }
  }
  return { lines, warnings };
}

// Show the summary; resolves true when the reader signs, false when they go back.
export async function confirmSignOff(read, describe) {
  const dialog = $('#signoff');
  const { lines, warnings } = await responses(read);
  $('#signoff-title').textContent = `Sign ${read.current} of ${read.subject}?`;
  $('#signoff-lesions tbody').replaceChildren(...lesionRows(read, describe));
  $('#signoff-responses').textContent = lines.join(' · ');
  $('#signoff-warnings').replaceChildren(...warnings.map((w) =>
    Object.assign(document.createElement('li'), { textContent: `${w.rule}: ${w.message}` })));
  return new Promise((resolve) => {
    const done = (answer) => { dialog.close(); resolve(answer); };
    $('#signoff-actions').replaceChildren(button('Sign', () => done(true)), button('Back to the read', () => done(false)));
    dialog.showModal();
  });
}
