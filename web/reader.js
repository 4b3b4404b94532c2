// Reading a subject's time point: prior and current side by side, the lesion panel and the
// worksheet, measurements saved as the reader draws them, and signing the read.

import { api, asImport, enc, saveRecords } from './api.js';
import { $, button } from './dom.js';
import { confirmSignOff } from './signoff.js';
import { Viewport } from './viewer.js';

const state = {
  subject: null, records: null, timeline: null, current: null, prior: null,
  lesion: null, undo: [], viewports: null,
  states: null, // GET /api/lesion-states: per role, what may be recorded instead of a size
  fragments: null, // while a split target is drawn: {sop, frame, points}
};

const byDate = (a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0);
const timepoints = () => [...state.records.timepoints].sort(byDate);
const assessmentOf = (lesion, label) =>
  state.records.assessments.find((a) => a.lesion === lesion && a.timepoint === label);

function say(text, isError = false) {
  const p = $('#reader-status');
  p.textContent = text;
  p.className = isError ? 'error' : '';
}

function describe(a) {
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

function ensureViewports() {
  if (state.viewports) return state.viewports;
  const sync = (from, delta) => {
    if (!$('#sync').checked) return;
    const other = from === state.viewports.prior ? state.viewports.current : state.viewports.prior;
    other.scroll(delta, true);
  };
  const common = { onScroll: sync };
  state.viewports = {
    prior: new Viewport($('#vp-prior'), { ...common, title: 'prior' }),
    current: new Viewport($('#vp-current'), {
      ...common, title: 'current', onMeasured: measured, onDelete: removeMeasurement, onUndo: undo,
      onConfirm: saveFragments, onCancel: stopFragments,
    }),
  };
  window.hepatrack = { viewports: state.viewports }; // for the end-to-end test and the console
  return state.viewports;
}

// Annotations of one time point's drawn measurements, for a viewport.
function annotationsAt(label) {
  return state.records.assessments
    .filter((a) => a.timepoint === label && a.sop_uid && (a.points || a.roi))
    .map((a) => ({
      id: `${a.lesion}@${label}`, label: `${a.lesion} ${describe(a)}`, sop: a.sop_uid,
      frame: a.frame ?? 1, tool: a.tool, points: a.points, roi: a.roi,
    }));
}

async function openTimepoint(viewport, label) {
  const tp = state.records.timepoints.find((t) => t.label === label);
  viewport.title = tp ? `${tp.label} ${tp.date}` : '—';
  viewport.annotations = tp ? annotationsAt(label) : [];
  const study = tp?.study_uids?.[0];
  if (study) await viewport.openStudy(study);
  else {
    viewport.series = [];
    await viewport.openSeries(0);
  }
}

let opening = 0; // the latest openReader call; an older one stops where it is

export async function openReader(subject, label) {
  const me = ++opening;
  $('#reader').dataset.ready = '';
  state.subject = subject;
  state.lesion = null;
  state.undo = [];
  await Promise.all([reload(), loadStates()]);
  if (me !== opening) return;
  const tps = timepoints();
  if (!tps.length) {
    say(`${subject} has no time points yet: assign a study from the worklist`, true);
  }
  state.current = label && tps.some((t) => t.label === label) ? label
    : (tps.findLast((t) => t.study_uids?.length) ?? tps.at(-1))?.label ?? null;
  const i = tps.findIndex((t) => t.label === state.current);
  state.prior = tps[Math.max(0, i - 1)]?.label ?? null;
  fillTimepointChoices();
  const vp = ensureViewports();
  await Promise.all([openTimepoint(vp.prior, state.prior), openTimepoint(vp.current, state.current)]);
  if (me !== opening) return;
  Viewport.active = vp.current;
  setTool('window');
  render();
  $('#reader').dataset.ready = state.current ?? '';
}

async function reload() {
  state.records = await api(`/api/subjects/${enc(state.subject)}`);
  try {
    state.timeline = await api(`/api/subjects/${enc(state.subject)}/timeline?include_drafts=1`);
  } catch (error) {
    state.timeline = { warnings: [error.message], timepoints: [] };
  }
}

// The server's lists are compiled in: asked once, and again only if that failed.
async function loadStates() {
  if (state.states) return;
  state.states = await api('/api/lesion-states');
  // A lesion added as new is there now: any of its states but absent.
  $('#new-lesion [name=new-state]').replaceChildren(
    ...state.states.new.filter((s) => s !== 'absent').map((s) => new Option(s, s)));
}

function fillTimepointChoices() {
  for (const [id, value] of [['#current-tp', state.current], ['#prior-tp', state.prior]]) {
    const select = $(id);
    select.replaceChildren(...timepoints().map((t) => new Option(`${t.label} (${t.date})`, t.label)));
    select.value = value ?? '';
  }
  $('#reader-title').textContent = `${state.subject}: reading ${state.current ?? '—'}`;
}

function setTool(tool) {
  const vp = ensureViewports();
  vp.current.setTool(tool);
  vp.prior.setTool('window');
  for (const b of document.querySelectorAll('[data-tool]')) b.classList.toggle('on', b.dataset.tool === tool);
}

// ---- the panel: lesions, the worksheet of the current time point, warnings ------------------

// Measure, Split (targets after baseline) and the state of one lesion at the current time point.
function lesionActions(lesion, a, isBaseline) {
  const cell = [];
  if (lesion.role !== 'non-target')
    cell.push(button('Measure', () => chooseLesion(lesion.id, true), 'open its slice and draw it'));
  if (lesion.role === 'target' && !isBaseline)
    cell.push(button('Split', async () => {
      await chooseLesion(lesion.id, true);
      setTool('length');
      state.fragments = { points: [] };
      say(`Splitting ${lesion.id}: draw each fragment's longest diameter, then Enter (Esc cancels)`);
    }, 'the lesion has fragmented: a length per fragment, then Enter'));
  const select = document.createElement('select');
  select.append(new Option('state…', ''), ...stateChoices(lesion));
  select.value = a?.state === 'merged' ? `merged:${a.merged_into}` : a?.state ?? '';
  select.addEventListener('click', (e) => e.stopPropagation());
  select.addEventListener('change', () => select.value && setState(lesion.id, select.value));
  cell.push(select);
  return cell;
}

function renderWorksheet(isBaseline) {
  const body = $('#worksheet tbody');
  body.replaceChildren();
  for (const lesion of state.records.lesions) {
    const a = assessmentOf(lesion.id, state.current);
    const row = body.insertRow();
    row.dataset.lesion = lesion.id;
    row.classList.toggle('selected', lesion.id === state.lesion);
    row.classList.toggle('todo', !a && lesion.role !== 'new');
    row.insertCell().textContent = lesion.id;
    row.insertCell().textContent = lesion.role + (lesion.nodal ? ' (node)' : '');
    row.insertCell().textContent = [lesion.site, lesion.location].filter(Boolean).join(', ');
    row.insertCell().textContent = a ? describe(a) : lesion.role === 'new' ? '' : 'to do';
    const actions = row.insertCell();
    actions.className = 'write'; // a radiologist's: hidden for other roles
    actions.append(...lesionActions(lesion, a, isBaseline));
    row.addEventListener('click', () => chooseLesion(lesion.id, false));
  }
}

// Sign is enabled once every target and non-target has its record at the current time point.
function renderSign(missing) {
  const tp = currentTimepoint();
  const sign = $('#sign');
  sign.textContent = tp?.read_status === 'signed'
    ? `${state.current} signed by ${tp.read_by ?? '?'}` : `Sign ${state.current ?? ''}`;
  sign.disabled = !tp || missing.length > 0 || state.records.lesions.length === 0 || tp.read_status === 'signed';
  sign.title = missing.length ? `still to record: ${missing.map((l) => l.id).join(', ')}` : '';
}

function render() {
  const isBaseline = currentTimepoint()?.baseline;
  $('#reason-box').hidden = !correcting();
  renderWorksheet(isBaseline);
  $('#new-lesion-role').replaceChildren(...(isBaseline ? ['target', 'non-target'] : ['new'])
    .map((r) => new Option(r, r)));
  $('#new-lesion-id').value = nextLesionId(isBaseline ? 'T' : 'NL');
  const missing = state.records.lesions.filter((l) => l.role !== 'new' && !assessmentOf(l.id, state.current));
  renderSign(missing);
  renderWarnings(missing);
}

function renderWarnings(missing) {
  const list = $('#warnings');
  const items = [];
  for (const w of state.timeline.warnings ?? []) items.push(typeof w === 'string' ? w : w.message ?? JSON.stringify(w));
  for (const c of state.timeline.eligibility?.checks ?? [])
    if (c.status !== 'pass') items.push(`eligibility ${c.rule}: ${c.status} (${c.detail})`);
  if (missing.length) items.push(`${state.current}: no record yet for ${missing.map((l) => l.id).join(', ')}`);
  const targets = state.records.lesions.filter((l) => l.role === 'target');
  if (targets.length > 5) items.push(`${targets.length} targets: RECIST 1.1 selects at most 5 (2 per organ)`);
  list.replaceChildren(...items.map((t) => Object.assign(document.createElement('li'), { textContent: t })));
}

// A lesion's states; a target may merge into each other target ("merged:T2").
function stateChoices(lesion) {
  return state.states[lesion.role].flatMap((s) => (s !== 'merged' ? [new Option(s.replaceAll('_', ' '), s)]
    : state.records.lesions.filter((l) => l.role === 'target' && l.id !== lesion.id)
      .map((l) => new Option(`merged into ${l.id}`, `merged:${l.id}`))));
}

function nextLesionId(prefix) {
  for (let n = 1; ; n++) if (!state.records.lesions.some((l) => l.id === `${prefix}${n}`)) return `${prefix}${n}`;
}

// Choosing a lesion opens both viewports where it was last measured.
async function chooseLesion(id, measure) {
  stopFragments();
  state.lesion = id;
  render();
  const vp = ensureViewports();
  const prior = assessmentOf(id, state.prior), current = assessmentOf(id, state.current);
  if (prior?.sop_uid) await vp.prior.showInstance(prior.sop_uid, prior.frame ?? 1);
  if (current?.sop_uid) await vp.current.showInstance(current.sop_uid, current.frame ?? 1);
  else if (prior?.sop_uid) await vp.current.show(vp.prior.index); // the same offset
  if (measure) setTool(state.records.lesions.find((l) => l.id === id)?.nodal ? 'bidirectional' : 'length');
  say(measure ? `Measuring ${id} on ${state.current}: click both ends of its longest diameter` : `${id} chosen`);
}

// ---- writes ---------------------------------------------------------------------------------

// A record of a read under way changes freely (the server keeps each version as "edited during
// the read"); once the time point has been signed, a change is a correction with a reason.
const currentTimepoint = () => state.records.timepoints.find((t) => t.label === state.current);
const correcting = () => Boolean(currentTimepoint()?.ever_signed);

function reasonFor(existing) {
  const reason = $('#reason').value.trim();
  if (existing && correcting() && !reason)
    throw new Error(`${state.current} has been signed: give the reason for the correction first`);
  return reason || undefined;
}

async function save(records, previous) {
  await saveRecords(state.subject, records);
  state.undo.push(...previous);
  $('#reason').value = '';
  await refresh();
}

async function refresh() {
  await reload();
  const vp = ensureViewports();
  vp.prior.annotations = annotationsAt(state.prior);
  vp.current.annotations = annotationsAt(state.current);
  vp.current.pending = null;
  vp.prior.draw();
  vp.current.draw();
  render();
}

function drawing(m, base) {
  const a = { ...base, sop_uid: m.sop, frame: m.frame };
  delete a.state;
  if (m.tool === 'ellipse') {
    if (base.sop_uid && (base.sop_uid !== m.sop || (base.frame ?? 1) !== m.frame))
      throw new Error('Draw the ellipse on the slice of the lesion\'s caliper');
    a.roi = m.roi;
    delete a.mean_hu;
  } else {
    for (const k of ['long_axis_mm', 'perpendicular_mm', 'short_axis_mm', 'fragments_mm']) delete a[k];
    a.tool = m.tool;
    a.points = m.points;
    if (base.sop_uid !== m.sop || (base.frame ?? 1) !== m.frame) { delete a.roi; delete a.mean_hu; }
  }
  return a;
}

// A new version of a lesion's record at the current time point, made from the stored one (or
// a fresh one); a correction needs the reason typed in the panel.
async function saveAssessment(lesion, make) {
  const existing = assessmentOf(lesion, state.current);
  const base = existing ? asImport(existing) : { lesion, timepoint: state.current };
  await save({ assessments: [make(base)], reason: reasonFor(existing) },
    [{ lesion, timepoint: state.current, previous: existing ?? null }]);
}

// A split target's fragments are gathered on one slice, and saved together (Enter).
function addFragment(viewport, m) {
  const f = state.fragments;
  if (m.tool !== 'length') throw new Error('Draw each fragment with the Length tool');
  if (f.points.length && (f.sop !== m.sop || f.frame !== m.frame))
    throw new Error('Draw every fragment on the same slice');
  Object.assign(f, { sop: m.sop, frame: m.frame });
  f.points.push(...m.points);
  const n = f.points.length / 2;
  viewport.annotations.push({ id: `fragment-${n}`, label: `${state.lesion} fragment ${n}`,
    sop: m.sop, frame: m.frame, points: m.points });
  viewport.pending = null;
  viewport.draw();
  say(`${n} fragment${n > 1 ? 's' : ''} of ${state.lesion}: Enter saves them${n < 2 ? ' (a split needs two)' : ''}`);
}

function stopFragments() {
  if (!state.fragments) return;
  state.fragments = null;
  const vp = ensureViewports().current;
  vp.annotations = annotationsAt(state.current);
  vp.draw();
  say('Split cancelled');
}

async function saveFragments() {
  const f = state.fragments;
  if (!f) return;
  if (f.points.length < 4) return say('A split needs at least two fragments', true);
  try {
    state.fragments = null;
    await saveAssessment(state.lesion,
      (base) => drawing({ tool: 'fragments', sop: f.sop, frame: f.frame, points: f.points }, base));
    say(`${state.lesion} on ${state.current}: split, ${describe(assessmentOf(state.lesion, state.current))}`);
  } catch (error) {
    state.fragments = f;
    say(error.message, true);
  }
}

async function measured(viewport, m) {
  try {
    if (state.fragments) return addFragment(viewport, m);
    if (!state.current) throw new Error('No time point to record on');
    if (!state.lesion) {
      say('Now name the lesion you measured (Add lesion), or choose one in the worksheet');
      $('#new-lesion-id').focus();
      return;
    }
    await saveAssessment(state.lesion, (base) => drawing(m, base));
    say(`${state.lesion} on ${state.current}: ${describe(assessmentOf(state.lesion, state.current))}`);
  } catch (error) {
    say(error.message, true);
  }
}

async function addLesion(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  const lesion = { id: form.get('id').trim(), role: form.get('role'), site: form.get('site').trim() };
  if (form.get('location').trim()) lesion.location = form.get('location').trim();
  if (form.get('nodal')) lesion.nodal = true;
  const vp = ensureViewports(), pending = vp.current.pending;
  const assessment = { lesion: lesion.id, timepoint: state.current };
  if (lesion.role === 'non-target') assessment.state = 'present';
  else if (lesion.role === 'new') assessment.state = form.get('new-state');
  if (pending && lesion.role !== 'non-target') {
    const s = vp.current.slice;
    Object.assign(assessment, { sop_uid: s.sop, frame: s.frame });
    if (pending.roi) assessment.roi = pending.roi;
    else Object.assign(assessment, { tool: pending.tool, points: pending.points });
  }
  try {
    if (lesion.role === 'target' && !(pending?.points?.length >= 2))
      throw new Error('Measure the target first (Length or Bidirectional), then add it');
    await save({ lesions: [lesion], assessments: [assessment] }, []);
    event.target.reset();
    state.lesion = lesion.id;
    render();
    say(`${lesion.id} added: ${describe(assessmentOf(lesion.id, state.current))}`);
  } catch (error) {
    say(error.message, true);
  }
}

// A state replaces the record's measurements (a target with a state has no size).
async function setState(lesion, value) {
  const [name, into] = value.split(':');
  const record = { lesion, timepoint: state.current, state: name };
  if (into) record.merged_into = into;
  try {
    await saveAssessment(lesion, () => record);
    say(`${lesion} on ${state.current}: ${describe(assessmentOf(lesion, state.current))}`);
  } catch (error) {
    say(error.message, true);
    render();
  }
}

async function removeMeasurement(viewport, id) {
  const [lesion, label] = id.split('@');
  const existing = assessmentOf(lesion, label);
  try {
    const reason = $('#reason').value.trim();
    if (!reason) throw new Error(`Give the reason for deleting ${lesion}'s measurement first`);
    await save({ assessments: [{ lesion, timepoint: label, retract: true }], reason },
      [{ lesion, timepoint: label, previous: existing }]);
    viewport.selected = null;
    say(`${lesion} on ${label}: measurement withdrawn`);
  } catch (error) {
    say(error.message, true);
  }
}

// Ctrl+Z: the last saved change of this session is reverted, as a new version saying so.
async function undo() {
  const last = state.undo.pop();
  if (!last) return say('Nothing to undo');
  try {
    const back = last.previous
      ? { assessments: [asImport(last.previous)], reason: `undo: back to version ${last.previous.version}` }
      : { assessments: [{ lesion: last.lesion, timepoint: last.timepoint, retract: true }], reason: 'undo: withdrawn' };
    await saveRecords(state.subject, back);
    await refresh();
    say(`Undone: ${last.lesion} on ${last.timepoint}`);
  } catch (error) {
    state.undo.push(last);
    say(error.message, true);
  }
}

async function sign() {
  try {
    const read = { subject: state.subject, current: state.current, prior: state.prior, records: state.records };
    if (!(await confirmSignOff(read, describe))) return say(`${state.current} not signed`);
    await api(`/api/subjects/${enc(state.subject)}/timepoints/${enc(state.current)}/sign`, { method: 'POST' });
    await refresh();
    say(`${state.current} signed`);
  } catch (error) {
    say(error.message, true);
  }
}

export function setupReader() {
  for (const b of document.querySelectorAll('[data-tool]')) b.addEventListener('click', () => setTool(b.dataset.tool));
  $('#new-lesion').addEventListener('submit', addLesion);
  $('#new-lesion-start').addEventListener('click', () => {
    state.lesion = null; // the next caliper is for the lesion about to be added
    render();
    say('Draw the new lesion\'s caliper, then Add lesion');
  });
  $('#sign').addEventListener('click', sign);
  $('#current-tp').addEventListener('change', (e) => { location.hash = `#/read/${enc(state.subject)}/${enc(e.target.value)}`; });
  $('#prior-tp').addEventListener('change', async (e) => {
    state.prior = e.target.value;
    await openTimepoint(ensureViewports().prior, state.prior);
  });
}
