// The reading station's entry: login, the worklist of subjects and unassigned studies, and a
// subject's timeline. Everything goes through the documented REST API (docs/api.md).

const $ = (selector) => document.querySelector(selector);

async function api(path, options = {}) {
  const response = await fetch(path, { credentials: 'same-origin', ...options });
  const body = response.headers.get('Content-Type')?.startsWith('application/json')
    ? await response.json() : null;
  if (!response.ok) {
    const error = new Error(body?.error?.message ?? `${response.status} ${response.statusText}`);
    error.status = response.status;
    throw error;
  }
  return body;
}

function show(id) {
  for (const section of ['login', 'worklist', 'timeline']) $(`#${section}`).hidden = section !== id;
}

function cell(row, text) {
  const td = row.insertCell();
  td.textContent = text ?? '';
  return td;
}

async function worklist() {
  const subjects = await api('/api/subjects');
  const body = $('#subjects tbody');
  body.replaceChildren();
  for (const id of subjects.items) {
    const timeline = await api(`/api/subjects/${encodeURIComponent(id)}/timeline`);
    const row = body.insertRow();
    row.className = 'subject';
    row.dataset.subject = id;
    cell(row, id);
    cell(row, timeline.timepoints.map((t) => t.label).join(', '));
    cell(row, timeline.best_overall_response);
    row.addEventListener('click', () => openTimeline(id));
  }
  const studies = await api('/api/studies?unassigned=1');
  const unassigned = $('#unassigned tbody');
  unassigned.replaceChildren();
  for (const s of studies.items) {
    const row = unassigned.insertRow();
    for (const key of ['PatientID', 'StudyDate', 'StudyDescription', 'ModalitiesInStudy', 'NumberOfInstances'])
      cell(row, s[key]);
  }
  show('worklist');
}

async function openTimeline(id) {
  const timeline = await api(`/api/subjects/${encodeURIComponent(id)}/timeline`);
  $('#timeline-title').textContent = `${id}: RECIST 1.1`;
  const body = $('#timeline-table tbody');
  body.replaceChildren();
  for (const t of timeline.timepoints) {
    const row = body.insertRow();
    const change = t.change_from_baseline_pct;
    for (const value of [t.label, t.date, t.sum_mm, change == null ? '' : `${change} %`,
      t.target, t.non_target, t.new_lesions, t.overall])
      cell(row, value);
  }
  $('#timeline-summary').textContent = `Best overall response: ${timeline.best_overall_response ?? '—'}`;
  show('timeline');
}

async function start() {
  try {
    const me = await api('/api/me');
    $('#who').textContent = `${me.username} (${me.role})`;
    $('#logout').hidden = false;
    await worklist();
  } catch (error) {
    if (error.status !== 401) throw error;
    $('#who').textContent = '';
    $('#logout').hidden = true;
    show('login');
  }
}

$('#login').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  try {
    await api('/api/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: form.get('username'), password: form.get('password') }),
    });
    $('#login-error').textContent = '';
    await start();
  } catch (error) {
    $('#login-error').textContent = error.message;
  }
});
$('#logout').addEventListener('click', async () => {
  await api('/api/logout', { method: 'POST' });
  await start();
});
$('#back').addEventListener('click', worklist);

start();
