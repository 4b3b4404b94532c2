// The reading station's entry: login, the worklist (subjects, time points, unassigned studies
// and their assignment), and the routes to the reader and the timeline. Everything goes
// through the documented REST API (docs/api.md).

import { api, asImport, enc, saveRecords } from './api.js';
import { openCohort, setupCohort } from './cohort.js';
import { $, button } from './dom.js';
import { showConflicts } from './conflicts.js';
import { openEnrol, setupEnrol } from './enrol.js';
import { nextAfterLogin, ohifBase, ohifLink, ohifLinks } from './ohif.js';
import { openReader, setReaderRole, setupReader } from './reader.js';
import { openTimeline } from './timeline.js';
import { isoDate } from './viewer.js';

const SECTIONS = ['login', 'worklist', 'reader', 'timeline', 'enrol', 'cohort'];
let me = null;
// Enrolment and the subject's dates are a coordinator's (or an admin's); reads a radiologist's.
const enrols = () => me?.role === 'coordinator' || me?.role === 'admin';

function show(id) {
  for (const section of SECTIONS) $(`#${section}`).hidden = section !== id;
}

function cell(row, text) {
  const td = row.insertCell();
  td.textContent = text ?? '';
  return td;
}

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;
const when = (iso) => (iso ? iso.slice(0, 16).replace('T', ' ') : '');
const toRead = (records) => records.timepoints.some((t) => t.read_status !== 'signed');

// One line per time point: its date, read status (who signed and when) and studies.
function timepointLine(t) {
  const span = document.createElement('span');
  span.className = `tp ${t.read_status === 'signed' ? 'signed' : 'todo'}`;
  span.dataset.timepoint = t.label;
  const status = t.read_status === 'signed' ? `signed by ${t.read_by} ${when(t.read_at)}`
    : t.read_by ? `${t.read_status ?? 'unread'} (reopened by ${t.read_by} ${when(t.read_at)})` : t.read_status ?? 'unread';
  span.textContent = `${t.label} ${t.date} · ${status} · ${plural(t.study_uids?.length ?? 0, 'study', 'studies')}`;
  return span;
}

// The subject filter (text) and the status filter (all, to read, signed) hide rows.
function filterSubjects() {
  const text = $('#filter-subject').value.trim().toLowerCase(), status = $('#filter-status').value;
  for (const row of document.querySelectorAll('#subjects tbody tr')) {
    const todo = row.dataset.todo === '1';
    row.hidden = !row.dataset.subject.toLowerCase().includes(text) ||
      (status === 'todo' && !todo) || (status === 'signed' && todo);
  }
}

// "arriving (N so far)" until the receiver has seen the study quiet for its stable delay.
const arrival = (s) => (s.StableTime ? `complete (${s.NumberOfInstances})` : `arriving (${s.NumberOfInstances} so far)`);

async function worklist() {
  $('#worklist-error').textContent = '';
  const ids = (await api('/api/subjects')).items;
  const subjects = await Promise.all(ids.map(async (id) => {
    const [records, timeline, offered] = await Promise.all([
      api(`/api/subjects/${enc(id)}`),
      api(`/api/subjects/${enc(id)}/timeline`).catch(() => null),
      api(`/api/subjects/${enc(id)}/proposals`),
    ]);
    return { id, records, timeline, offered };
  }));
  const ohif = await ohifBase();
  // The subjects with a time point still to read come first.
  subjects.sort((a, b) => Number(toRead(b.records)) - Number(toRead(a.records)) || a.id.localeCompare(b.id));
  const body = $('#subjects tbody');
  body.replaceChildren();
  const proposals = new Map(); // study uid -> [{subject, proposal}]
  for (const { id, records, timeline, offered } of subjects) {
    for (const p of offered.items) {
      if (!proposals.has(p.study_uid)) proposals.set(p.study_uid, []);
      proposals.get(p.study_uid).push({ subject: id, records, proposal: p });
    }
    const row = body.insertRow();
    row.className = 'subject';
    row.dataset.subject = id;
    row.dataset.todo = toRead(records) ? '1' : '0';
    cell(row, id);
    const tps = [...records.timepoints].sort((a, b) => (a.date < b.date ? -1 : 1));
    row.insertCell().append(...(tps.length ? tps.map((t) => {
      const line = timepointLine(t);
      line.append(...ohifLinks(ohif, t.study_uids));
      return line;
    }) : ['no time points yet']));
    cell(row, timeline?.best_overall_response ?? '—');
    const actions = row.insertCell();
    actions.append(button('Read', () => { location.hash = `#/read/${enc(id)}`; }),
      button('Timeline', () => { location.hash = `#/timeline/${enc(id)}`; }));
  }
  filterSubjects();
  $('#enrol-link').hidden = !enrols();
  const studies = await api('/api/studies?unassigned=1&limit=1000');
  const unassigned = $('#unassigned tbody');
  unassigned.replaceChildren();
  for (const s of studies.items) {
    const row = unassigned.insertRow();
    row.dataset.study = s.StudyInstanceUID;
    for (const value of [s.PatientID, isoDate(s.StudyDate), s.StudyDescription, s.ModalitiesInStudy, arrival(s)])
      cell(row, value);
    const link = ohifLink(ohif, s.StudyInstanceUID);
    if (link) row.cells[2].append(' ', link);
    assignCell(row.insertCell(), s, proposals.get(s.StudyInstanceUID) ?? []);
  }
  await showConflicts(me.role);
  show('worklist');
}

// Two clicks: "Assign…" opens the proposed time points of the subjects linked to the study's
// patient; choosing one records it.
function assignCell(td, study, offers) {
  if (me.role !== 'radiologist') { // time points are part of the read
    td.textContent = offers.length ? 'a radiologist assigns it' : 'no subject is linked to this patient';
    return;
  }
  if (!offers.length) {
    td.textContent = 'no subject is linked to this patient';
    return;
  }
  const menu = document.createElement('div');
  menu.className = 'menu';
  menu.hidden = true;
  for (const { subject, records, proposal } of offers) {
    if (!proposal.timepoint) { // e.g. older than the subject's baseline
      menu.append(Object.assign(document.createElement('span'), { textContent: `${subject}: ${proposal.note}` }));
      continue;
    }
    const label = `${subject} · ${proposal.timepoint}${proposal.new_timepoint ? ' (new)' : ''}`;
    menu.append(button(label, () => assign(subject, records, proposal)));
  }
  td.append(button('Assign…', () => { menu.hidden = !menu.hidden; }), menu);
}

async function assign(subject, records, proposal) {
  const existing = records.timepoints.find((t) => t.label === proposal.timepoint);
  const tp = existing
    ? { ...asImport(existing), study_uids: [...(existing.study_uids ?? []), proposal.study_uid] }
    : { label: proposal.timepoint, date: proposal.study_date, baseline: proposal.baseline, study_uids: [proposal.study_uid] };
  try {
    await saveRecords(subject, {
      timepoints: [tp],
      reason: `study of ${proposal.study_date} assigned to ${proposal.timepoint}`,
    });
    await worklist();
  } catch (error) {
    $('#worklist-error').textContent = error.message;
  }
}

async function route() {
  if (!me) return;
  const [, page, subject, label] = location.hash.split('/').map(decodeURIComponent);
  try {
    if (page === 'read' && subject) {
      show('reader');
      await openReader(subject, label);
    } else if (page === 'enrol' && enrols()) {
      show('enrol');
      await openEnrol();
    } else if (page === 'cohort') {
      show('cohort');
      await openCohort(subject);
    } else if (page === 'timeline' && subject) {
      show('timeline');
      await openTimeline(subject);
    } else {
      await worklist();
    }
  } catch (error) {
    if (error.status === 401) return start(); // the session ended
    $('#worklist-error').textContent = error.message;
    show('worklist');
  }
}

async function start() {
  try {
    me = await api('/api/me');
    const next = nextAfterLogin(); // OHIF sent the user to log in: back there
    if (next) return location.replace(next);
    $('#who').textContent = `${me.username} (${me.role})`;
    $('#logout').hidden = false;
    document.body.dataset.role = me.role;
    setReaderRole(me.role);
    await route();
  } catch (error) {
    if (error.status === 404) { // a server started with --http-no-auth: no logins, read only
      const next = nextAfterLogin();
      if (next) return location.replace(next);
      me = { username: 'no login', role: 'none' };
      $('#who').textContent = 'no login (read only)';
      setReaderRole(me.role);
      return route();
    }
    if (error.status !== 401) throw error;
    me = null;
    $('#who').textContent = '';
    $('#logout').hidden = true;
    show('login');
  }
}

$('#login').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  try {
    await api('/api/login', { json: { username: form.get('username'), password: form.get('password') } });
    $('#login-error').textContent = '';
    await start();
  } catch (error) {
    $('#login-error').textContent = error.message;
  }
});
$('#logout').addEventListener('click', async () => {
  me = null; // before the hash changes, so that no page loads in between
  await api('/api/logout', { method: 'POST' });
  history.replaceState(null, '', '/');
  await start();
});
for (const b of document.querySelectorAll('[data-go]'))
  b.addEventListener('click', () => { location.hash = b.dataset.go; });
$('#reader-timeline').addEventListener('click', () => {
  location.hash = `#/timeline/${location.hash.split('/')[2] ?? ''}`;
});
window.addEventListener('hashchange', route);
$('#filter-subject').addEventListener('input', filterSubjects);
$('#filter-status').addEventListener('change', filterSubjects);
setupReader();
setupEnrol();
setupCohort();
start();
