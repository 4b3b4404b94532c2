// The reader's worksheet: each lesion's prior and current record with the change between them,
// its state chosen in the row, and the current time point's sum and responses as the engine
// computes them (drafts included), refreshed after every save.

import { button } from './dom.js';
import { $ } from './dom.js';

export const CRITERIA = [['recist1.1', 'RECIST 1.1'], ['mrecist', 'mRECIST'], ['choi', 'Choi']];

export function describe(a) {
  if (!a) return '';
  const parts = [];
  if (a.long_axis_mm != null) parts.push(`${a.long_axis_mm} mm`);
  if (a.perpendicular_mm != null) parts.push(`× ${a.perpendicular_mm} mm`);
  if (a.short_axis_mm != null) parts.push(`short ${a.short_axis_mm} mm`);
  if (a.fragments_mm) parts.push(`split ${a.fragments_mm.join(' + ')} mm`);
  if (a.mean_hu != null) parts.push(`${a.mean_hu} HU`);
  if (a.state) parts.push(a.state.replaceAll('_', ' ') + (a.merged_into ? ` into ${a.merged_into}` : ''));
  return parts.join(' ');
}

// The number RECIST sums for a lesion: a node's short axis, a split target's fragments, else the
// long axis; null when the record holds a state instead.
export function size(lesion, a) {
  if (!a || a.state) return null;
  if (a.fragments_mm) return a.fragments_mm.reduce((s, f) => s + f, 0);
  return lesion.nodal ? a.short_axis_mm ?? null : a.long_axis_mm ?? null;
}

const signed = (v, unit) => `${v > 0 ? '+' : ''}${v}${unit}`;

// A target's change from the prior: "-12 mm (-40 %)"; nothing for states or other roles.
export function change(lesion, before, after) {
  if (lesion.role !== 'target') return '';
  const b = size(lesion, before), a = size(lesion, after);
  if (b == null || a == null) return '';
  const mm = Math.round((a - b) * 10) / 10;
  const pct = b === 0 ? null : Math.round(((a - b) / b) * 1000) / 10;
  return pct == null ? signed(mm, ' mm') : `${signed(mm, ' mm')} (${signed(pct, ' %')})`;
}

// A lesion's states; a target may merge into each other target ("merged:T2").
function stateChoices(ws, lesion) {
  return ws.states[lesion.role].flatMap((s) => (s !== 'merged' ? [new Option(s.replaceAll('_', ' '), s)]
    : ws.records.lesions.filter((l) => l.role === 'target' && l.id !== lesion.id)
      .map((l) => new Option(`merged into ${l.id}`, `merged:${l.id}`))));
}

// Measure, Split (targets after baseline) and the state of one lesion at the current time point.
function lesionActions(ws, lesion, a) {
  if (!ws.canWrite) return [];
  const cell = [];
  if (lesion.role !== 'non-target')
    cell.push(button('Measure', () => ws.on.measure(lesion.id), 'open its slice and draw it'));
  if (lesion.role === 'target' && !ws.isBaseline)
    cell.push(button('Split', () => ws.on.split(lesion.id),
      'the lesion has fragmented: a length per fragment, then Enter'));
  const select = document.createElement('select');
  select.append(new Option('state…', ''), ...stateChoices(ws, lesion));
  select.value = a?.state === 'merged' ? `merged:${a.merged_into}` : a?.state ?? '';
  select.addEventListener('click', (e) => e.stopPropagation());
  select.addEventListener('change', () => select.value && ws.on.setState(lesion.id, select.value));
  cell.push(select);
  return cell;
}

function td(row, cls, text) {
  const cell = row.insertCell();
  cell.className = cls;
  cell.textContent = text;
  return cell;
}

// ws: {records, current, prior, lesion, states, canWrite, isBaseline, at(lesion, label),
// on: {choose, measure, split, setState}}
export function renderWorksheet(ws) {
  $('#worksheet thead').replaceChildren();
  const head = $('#worksheet').createTHead().insertRow();
  for (const h of ['Lesion', 'Role', 'Site', `Prior ${ws.prior ?? ''}`, `Current ${ws.current ?? ''}`, 'Change', ''])
    head.append(Object.assign(document.createElement('th'), { textContent: h }));
  const body = $('#worksheet tbody');
  body.replaceChildren();
  for (const lesion of ws.records.lesions) {
    const before = ws.prior && ws.prior !== ws.current ? ws.at(lesion.id, ws.prior) : null;
    const a = ws.at(lesion.id, ws.current);
    const row = body.insertRow();
    row.dataset.lesion = lesion.id;
    row.classList.toggle('selected', lesion.id === ws.lesion);
    row.classList.toggle('todo', !a && lesion.role !== 'new');
    td(row, 'id', lesion.id);
    td(row, 'role', lesion.role + (lesion.nodal ? ' (node)' : ''));
    td(row, 'site', [lesion.site, lesion.location].filter(Boolean).join(', '));
    td(row, 'prior', describe(before));
    td(row, 'current', a ? describe(a) : lesion.role === 'new' ? '' : 'to do');
    td(row, 'change', change(lesion, before, a));
    row.insertCell().append(...lesionActions(ws, lesion, a));
    row.addEventListener('click', () => ws.on.choose(lesion.id));
  }
}

const pct = (v) => (v == null ? '—' : signed(v, ' %'));

// The current time point's row of each criterion's timeline (GET …/timeline?include_drafts=1);
// a criterion the engine could not compute (e.g. no read yet: 400) shows "—".
export function renderResponses(timelines, current) {
  $('#response-title').textContent = `Response at ${current ?? '—'} (drafts included)`;
  const body = $('#response tbody');
  body.replaceChildren();
  for (const [key, name] of CRITERIA) {
    const tl = timelines[key];
    const p = tl instanceof Error ? null : tl?.timepoints?.find((x) => x.label === current) ?? null;
    const row = body.insertRow();
    row.dataset.criteria = key;
    if (tl instanceof Error) row.title = tl.message;
    const values = [name, p?.sum_mm ?? '—', pct(p?.change_from_baseline_pct), pct(p?.change_from_nadir_pct),
      p?.target ?? '—', p?.non_target ?? '—', p?.new_lesions ?? '—', p?.overall ?? '—'];
    for (const v of values) row.insertCell().textContent = v;
    row.cells[7].className = `overall response-${p?.overall ?? 'none'}`;
  }
}
