// Reading a subject's time point: prior and current side by side, the lesion panel and the
// worksheet, measurements saved as the reader draws them, and signing the read.

import { all, api, ApiError, asImport, enc, saveRecords } from './api.js';
import { $ } from './dom.js';
import { confirmSignOff } from './signoff.js';
import { ohifBase, ohifLinks } from './ohif.js';
import { renderStrip } from './strip.js';
import { Viewport } from './viewer.js';
import { CRITERIA, describe, renderResponses, renderWorksheet } from './worksheet.js';
import { loadProposals, renderProposals } from './proposals.js';

const state = {
  subject: null, records: null, timeline: null, current: null, prior: null,
  timelines: {}, // per criterion, the engine's timeline with the drafts (or the Error it gave)
  studies: new Map(), // study uid -> its row of GET /api/studies, for the overlay
  lesion: null, undo: [], viewports: null,
  states: null, // GET /api/lesion-states: per role, what may be recorded instead of a size
  fragments: null, // while a split target is drawn: {sop, frame, points}
  canWrite: false, // only a radiologist enters, corrects and signs reads (the server insists too)
  retry: null, // a save the server refused for want of a reason: sent again once one is typed
};

// The reader's controls follow the role of /api/me: a coordinator or an admin only looks.
export function setReaderRole(role) {
  state.canWrite = role === 'radiologist';
  for (const e of document.querySelectorAll('#reader .tools, #new-lesion, #sign'))
    e.hidden = !state.canWrite;
  if (!state.canWrite) hideReason();
}

const byDate = (a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0);
const timepoints = () => [...state.records.timepoints].sort(byDate);
const assessmentOf = (lesion, label) =>
  state.records.assessments.find((a) => a.lesion === lesion && a.timepoint === label);

function say(text, isError = false) {
  const p = $('#reader-status');
  p.textContent = text;
  p.className = isError ? 'error' : '';
}

function ensureViewports() {
  if (state.viewports) return state.viewports;
  const sync = (from, delta) => {
    if (!$('#sync').checked) return;
    const other = from === state.viewports.prior ? state.viewports.current : state.viewports.prior;
    other.scroll(delta, true);
  };
  // "Link W/L and zoom": what one side changes of the picture, the other copies.
  const link = (from) => {
    if (!$('#link-view').checked) return;
    const other = from === state.viewports.prior ? state.viewports.current : state.viewports.prior;
    if (other.view.frame) other.display = from.display;
  };
  const strip = (viewport) => renderStrip($(`#strip-${viewport.name}`), viewport);
  const common = { onScroll: sync, onView: link, onSeries: strip };
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
// The caliper and the ellipse are two annotations: each keeps its own image (the density group
// has roi_sop_uid), and deleting one ("T1@FU1" or "T1@FU1@roi") leaves the other.
function annotationsAt(label) {
  return state.records.assessments.filter((a) => a.timepoint === label).flatMap((a) => {
    const out = [];
    if (a.sop_uid && a.points)
      out.push({ id: `${a.lesion}@${label}`, label: `${a.lesion} ${describe(a)}`, sop: a.sop_uid,
        frame: a.frame ?? 1, tool: a.tool, points: a.points });
    const sop = a.roi_sop_uid ?? a.sop_uid, frame = a.roi_frame ?? a.frame ?? 1;
    const withCaliper = out.length && sop === a.sop_uid && frame === (a.frame ?? 1); // one label
    if (a.roi && sop)
      out.push({ id: `${a.lesion}@${label}@roi`, label: withCaliper ? '' : `${a.lesion} ${a.mean_hu ?? ''} HU`,
        sop, frame, roi: a.roi });
    return out;
  });
}

// The instance a time point opens on: where the chosen lesion was measured there, else where its
// first measured lesion was; null opens the study's first series.
function openingInstance(label) {
  const measured = (id) => assessmentOf(id, label)?.sop_uid;
  const id = state.lesion && measured(state.lesion) ? state.lesion
    : state.records.lesions.find((l) => measured(l.id))?.id;
  const a = id && assessmentOf(id, label);
  return a ? { sop: a.sop_uid, frame: a.frame ?? 1 } : null;
}

async function openTimepoint(viewport, label) {
  const tp = state.records.timepoints.find((t) => t.label === label);
  viewport.title = tp ? tp.label : '—';
  viewport.annotations = tp ? annotationsAt(label) : [];
  const study = tp?.study_uids?.[0];
  viewport.study = state.studies.get(study) ?? null;
  if (study) await viewport.openStudy(study, openingInstance(label));
  else {
    viewport.series = [];
    await viewport.openSeries(0);
  }
  renderStrip($(`#strip-${viewport.name}`), viewport);
}

// The rows of the subject's patients' studies: patient id and study date for the overlays.
async function loadStudies() {
  const lists = await Promise.all((state.records.dicom_patients ?? []).map((p) =>
    all(`/api/studies?patient=${enc(p.id)}&issuer=${enc(p.issuer ?? '')}`).catch(() => [])));
  state.studies = new Map(lists.flat().map((s) => [s.StudyInstanceUID, s]));
}

let opening = 0; // the latest openReader call; an older one stops where it is

export async function openReader(subject, label) {
  const me = ++opening;
  performance.clearMarks();
  performance.mark('hepatrack:open-reading');
  $('#reader').dataset.ready = '';
  state.subject = subject;
  state.lesion = null;
  state.undo = [];
  await Promise.all([reload(), loadStates()]);
  await loadStudies();
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
  await showOhifLinks();
  if (me !== opening) return;
  Viewport.active = vp.current;
  setTool('window');
  state.retry = null;
  render();
  $('#reader').dataset.ready = state.current ?? '';
  performance.mark('hepatrack:reading-ready');
}

// "OHIF:" then, for the prior and the current time point, links opening their studies in OHIF
// (when the server serves it).
async function showOhifLinks() {
  const base = await ohifBase(), box = $('#reader-ohif');
  const labels = [...new Set([state.prior, state.current].filter(Boolean))];
  const parts = labels.flatMap((label) => {
    const uids = state.records.timepoints.find((t) => t.label === label)?.study_uids ?? [];
    return ohifLinks(base, uids).map((n) => (typeof n === 'string' ? n : Object.assign(n, {
      textContent: n.textContent.replace('Open in OHIF', label), title: `Open ${label} in OHIF` })));
  });
  box.replaceChildren(...(parts.length ? ['OHIF:', ...parts] : []));
  box.hidden = !parts.length;
}

// The records and, per criterion, the engine's timeline with the drafts: what the worksheet's
// responses and warnings show.
async function reload() {
  const base = `/api/subjects/${enc(state.subject)}`;
  const [records, proposals, ...timelines] = await Promise.all([api(base), loadProposals(state.subject),
    ...CRITERIA.map(([key]) => api(`${base}/timeline?include_drafts=1&criteria=${key}`).catch((error) => error))]);
  state.records = records;
  state.proposals = proposals;
  state.timelines = Object.fromEntries(CRITERIA.map(([key], i) => [key, timelines[i]]));
  const recist = state.timelines['recist1.1'];
  state.timeline = recist instanceof Error ? { warnings: [recist.message], timepoints: [] } : recist;
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

function renderLesions(isBaseline) {
  renderWorksheet({
    records: state.records, current: state.current, prior: state.prior, lesion: state.lesion,
    states: state.states, canWrite: state.canWrite, isBaseline, at: assessmentOf,
    on: { choose: (id) => chooseLesion(id, false), measure: (id) => chooseLesion(id, true), split, setState },
  });
  renderResponses(state.timelines, state.current);
  renderProposals({ items: state.proposals ?? [], current: state.current, canWrite: state.canWrite,
    at: assessmentOf, decided: async () => { await reload(); render(); } });
}

// Split: the lesion has fragmented; a length per fragment on one slice, then Enter.
async function split(id) {
  await chooseLesion(id, true);
  setTool('length');
  state.fragments = { points: [] };
  say(`Splitting ${id}: draw each fragment's longest diameter, then Enter (Esc cancels)`);
}

// Sign is enabled once every target and non-target has its record at the current time point.
function renderSign(missing) {
  const tp = state.records.timepoints.find((t) => t.label === state.current);
  const sign = $('#sign');
  sign.textContent = tp?.read_status === 'signed' ? `${state.current} signed` : `Sign ${state.current ?? ''}`;
  sign.disabled = !tp || missing.length > 0 || state.records.lesions.length === 0 || tp.read_status === 'signed';
  sign.title = missing.length ? `still to record: ${missing.map((l) => l.id).join(', ')}` : '';
}

function render() {
  const isBaseline = state.records.timepoints.find((t) => t.label === state.current)?.baseline;
  renderLesions(isBaseline);
  $('#new-lesion-role').replaceChildren(...(isBaseline ? ['target', 'non-target'] : ['new'])
    .map((r) => new Option(r, r)));
  $('#new-lesion-id').value = nextLesionId(isBaseline ? 'T' : 'NL');
  const missing = state.records.lesions.filter((l) => l.role !== 'new' && !assessmentOf(l.id, state.current));
  renderSign(missing);
  renderWarnings(missing);
  renderReason();
}

const currentRead = () => state.records.timepoints.find((t) => t.label === state.current)?.read_status;

// The reason box: a signed read's change is a correction and needs one. On a draft that was signed
// before (the records' ever_signed), the server's refusal opens the box and Retry resends.
function renderReason() {
  const needed = state.canWrite && (currentRead() === 'signed' || state.retry !== null);
  $('#reason-box').hidden = !needed;
  $('#reason-retry').hidden = state.retry === null;
}

function hideReason() {
  state.retry = null;
  $('#reason').value = '';
  $('#reason-box').hidden = true;
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

function nextLesionId(prefix) {
  for (let n = 1; ; n++) if (!state.records.lesions.some((l) => l.id === `${prefix}${n}`)) return `${prefix}${n}`;
}

// Both sides on the lesion: each on the slice (and series) where it was measured at its time
// point. A side where it is not measured yet follows the other one.
async function chooseLesion(id, measure) {
  stopFragments();
  state.lesion = id;
  render();
  const vp = ensureViewports();
  const sides = [[vp.prior, assessmentOf(id, state.prior)], [vp.current, assessmentOf(id, state.current)]];
  const placed = await Promise.all(sides.map(([v, a]) =>
    (a?.sop_uid ? v.showInstance(a.sop_uid, a.frame ?? 1) : false)));
  for (const k of [0, 1]) if (!placed[k] && placed[1 - k]) await follow(sides[k][0], sides[1 - k][0]);
  if (measure) setTool(state.records.lesions.find((l) => l.id === id)?.nodal ? 'bidirectional' : 'length');
  say(measure ? `Measuring ${id} on ${state.current}: click both ends of its longest diameter` : `${id} chosen`);
}

// The slice matching the guide's by table position when both series share a frame of
// reference (GET /api/series gives FrameOfReferenceUID; without it, or across studies scanned
// apart, positions do not compare), else the same offset from the series' first slice.
async function follow(viewport, guide) {
  const frame = guide.stack.current?.FrameOfReferenceUID, position = guide.slice?.position;
  if (frame && frame === viewport.stack.current?.FrameOfReferenceUID && position != null &&
      await viewport.showPosition(position)) return;
  await viewport.show(guide.index);
}

// ] and [: the next and the previous lesion of the worksheet, both sides on it.
function stepLesion(delta) {
  const ids = state.records?.lesions.map((l) => l.id) ?? [];
  if (!ids.length) return;
  const i = ids.indexOf(state.lesion);
  const j = i < 0 ? (delta > 0 ? 0 : ids.length - 1) : (i + delta + ids.length) % ids.length;
  chooseLesion(ids[j], false);
}

// ---- writes ---------------------------------------------------------------------------------

// The typed reason, if the box is open; the server says when one was needed and none was given.
function typedReason() {
  return $('#reason-box').hidden ? undefined : $('#reason').value.trim() || undefined;
}

const asksForReason = (error) => error instanceof ApiError && /needs a reason/.test(error.message);

// Every write goes through here: one the server refuses for want of a reason is kept, the reason
// box opens, and Retry sends it again with what was typed.
async function save(records, previous) {
  if (!state.canWrite) throw new Error('Only a radiologist records reads');
  const reason = records.reason ?? typedReason();
  try {
    await saveRecords(state.subject, reason ? { ...records, reason } : records);
  } catch (error) {
    if (!asksForReason(error) || reason) throw error;
    state.retry = { records, previous };
    renderReason();
    $('#reason').focus();
    throw new Error(`${error.message}: type the reason, then Retry`);
  }
  state.retry = null;
  state.undo.push(...previous);
  $('#reason').value = '';
  await refresh();
}

async function retry() {
  const pending = state.retry;
  if (!pending) return;
  if (!$('#reason').value.trim()) return say('Type the reason for the correction first', true);
  try {
    await save(pending.records, pending.previous);
    say('Saved with the reason given');
  } catch (error) {
    say(error.message, true);
  }
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

// Only the group a drawing changes: the server carries the others over, so an ellipse keeps the
// length and a new length keeps the ellipse (docs/measurements.md, correction groups).
function drawing(m, base) {
  if (m.tool === 'ellipse') return { ...base, roi: m.roi, roi_sop_uid: m.sop, roi_frame: m.frame };
  return { ...base, tool: m.tool, points: m.points, sop_uid: m.sop, frame: m.frame };
}

// A new version of a lesion's record at the current time point: make() adds the changed fields
// to its key.
async function saveAssessment(lesion, make) {
  const existing = assessmentOf(lesion, state.current);
  await save({ assessments: [make({ lesion, timepoint: state.current })] },
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
  if (!state.canWrite) return;
  try {
    if (state.fragments) return addFragment(viewport, m);
    if (!state.current) throw new Error('No time point to record on');
    if (!state.lesion) {
      viewport.markUnsaved('Add lesion to save it');
      say('Now name the lesion you measured (Add lesion), or choose one in the worksheet');
      $('#new-lesion-id').focus();
      return;
    }
    await saveAssessment(state.lesion, (base) => drawing(m, base));
    say(`${state.lesion} on ${state.current}: ${describe(assessmentOf(state.lesion, state.current))}`);
  } catch (error) {
    say(error.message, true);
    refused(viewport);
  }
}

// The caliper on screen is the stored record: a save the server refused takes its drawing away
// (the annotations drawn again from the records), or marks it unsaved while a Retry with a
// reason may still store it.
function refused(viewport) {
  if (state.fragments) return; // the fragments gathered so far stay, for Enter
  if (state.retry) return viewport.markUnsaved('type a reason, then Retry');
  viewport.pending = null;
  viewport.annotations = annotationsAt(viewport === state.viewports.prior ? state.prior : state.current);
  viewport.draw();
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
    vp.current.markUnsaved('not added');
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

// Deleting an ellipse removes the density (null names the group); deleting the caliper removes
// the size, or withdraws the record when nothing else is left in it.
function deletion(lesion, label, part, existing) {
  if (part === 'roi') return { lesion, timepoint: label, mean_hu: null };
  if (existing?.roi || existing?.state) return { lesion, timepoint: label, long_axis_mm: null };
  return { lesion, timepoint: label, retract: true };
}

async function removeMeasurement(viewport, id) {
  if (!state.canWrite) return;
  const [lesion, label, part] = id.split('@');
  const existing = assessmentOf(lesion, label);
  try {
    await save({ assessments: [deletion(lesion, label, part, existing)] },
      [{ lesion, timepoint: label, previous: existing }]);
    viewport.selected = null;
    say(`${lesion} on ${label}: ${part === 'roi' ? 'ellipse' : 'measurement'} deleted`);
  } catch (error) {
    say(error.message, true);
  }
}

// Ctrl+Z: the last saved change of this session is reverted, as a new version saying so.
// The version before, with each group it did not have named null: the groups are carried over
// otherwise, and undoing an ellipse would keep it.
function restoring(previous) {
  const out = asImport(previous);
  for (const [key, fields] of [['long_axis_mm', SIZE], ['mean_hu', ['mean_hu', 'roi']], ['state', ['state']]])
    if (!fields.some((f) => out[f] != null)) out[key] = null;
  return out;
}
const SIZE = ['long_axis_mm', 'short_axis_mm', 'perpendicular_mm', 'fragments_mm', 'points'];

async function undo() {
  if (!state.canWrite) return;
  const last = state.undo.pop();
  if (!last) return say('Nothing to undo');
  try {
    const back = last.previous
      ? { assessments: [restoring(last.previous)], reason: `undo: back to version ${last.previous.version}` }
      : { assessments: [{ lesion: last.lesion, timepoint: last.timepoint, retract: true }], reason: 'undo: withdrawn' };
    await saveRecords(state.subject, back);
    await refresh();
    say(`Undone: ${last.lesion} on ${last.timepoint}`);
  } catch (error) {
    state.undo.push(last);
    say(error.message, true);
  }
}

// Sign only after the reader has seen and confirmed the sign-off summary.
async function sign() {
  if (!state.canWrite) return;
  try {
    const tps = timepoints(), i = tps.findIndex((t) => t.label === state.current);
    const ok = await confirmSignOff({ subject: state.subject, records: state.records,
      current: state.current, prior: tps[i - 1]?.label ?? null });
    if (!ok) return say(`${state.current} not signed`);
    await api(`/api/subjects/${enc(state.subject)}/timepoints/${enc(state.current)}/sign`, { method: 'POST' });
    await refresh();
    say(`${state.current} signed`);
  } catch (error) {
    say(error.message, true);
  }
}

function readerKeys(e) {
  if ($('#reader').hidden || $('#signoff').open || e.target.closest?.('input, select, textarea')) return;
  if (e.key !== ']' && e.key !== '[') return;
  e.preventDefault();
  stepLesion(e.key === ']' ? 1 : -1);
}

export function setupReader() {
  document.addEventListener('keydown', readerKeys);
  for (const b of document.querySelectorAll('[data-tool]')) b.addEventListener('click', () => setTool(b.dataset.tool));
  $('#new-lesion').addEventListener('submit', addLesion);
  $('#new-lesion-start').addEventListener('click', () => {
    state.lesion = null; // the next caliper is for the lesion about to be added
    render();
    say('Draw the new lesion\'s caliper, then Add lesion');
  });
  $('#sign').addEventListener('click', sign);
  $('#reason-retry').addEventListener('click', retry);
  $('#current-tp').addEventListener('change', (e) => { location.hash = `#/read/${enc(state.subject)}/${enc(e.target.value)}`; });
  $('#prior-tp').addEventListener('change', async (e) => {
    state.prior = e.target.value;
    await openTimepoint(ensureViewports().prior, state.prior);
    await showOhifLinks();
  });
}
