// The coordinator's enrolment page (#/enrol): enrol a subject, link the patient of a study that
// no time point lists yet to a subject, record a death date or the date last known alive.
// Enrolment and subject-level fields are a coordinator's or an admin's (POST and PATCH
// /api/subjects); the server's refusals are shown as it words them.

import { api, enc } from './api.js';
import { $, button } from './dom.js';

function say(text, isError = false) {
  $('#enrol-error').textContent = isError ? text : '';
  $('#enrol-status').textContent = isError ? '' : text;
}

// "ID@ISSUER" (the issuer optional) as a dicom_patients entry.
function parsePatient(text) {
  const at = text.lastIndexOf('@');
  if (at < 0) return { id: text };
  return at === text.length - 1 ? { id: text.slice(0, at) } : { id: text.slice(0, at), issuer: text.slice(at + 1) };
}

const samePatient = (a, b) => a.id === b.id && (a.issuer ?? '') === (b.issuer ?? '');

async function enrol(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  const subject = form.get('subject').trim(), patient = form.get('patient').trim();
  const body = { subject };
  if (patient) body.dicom_patients = [parsePatient(patient)];
  try {
    await api('/api/subjects', { json: body });
    event.target.reset();
    say(`${subject} enrolled`);
    await openEnrol(false);
  } catch (error) {
    say(error.message, true);
  }
}

// The subject's list of patients is sent whole, the study's patient added to it.
async function link(subject, patient) {
  try {
    const records = await api(`/api/subjects/${enc(subject)}`);
    // As the import format takes them: the version and recorder are the server's to add.
    const patients = (records.dicom_patients ?? []).map(({ id, issuer }) => (issuer ? { id, issuer } : { id }));
    if (patients.some((p) => samePatient(p, patient))) return say(`${patient.id} is linked to ${subject} already`);
    const body = { dicom_patients: [...patients, patient] };
    if ($('#link-reason').value.trim()) body.reason = $('#link-reason').value.trim();
    await api(`/api/subjects/${enc(subject)}`, { method: 'PATCH', json: body });
    $('#link-reason').value = '';
    say(`patient ${patient.id}${patient.issuer ? `@${patient.issuer}` : ''} linked to ${subject}`);
    await openEnrol(false);
  } catch (error) {
    say(error.message, true);
  }
}

async function recordDates(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  const body = {};
  for (const key of ['death_date', 'last_known_alive', 'reason'])
    if (form.get(key).trim()) body[key] = form.get(key).trim();
  const subject = form.get('subject');
  try {
    if (!body.death_date && !body.last_known_alive) throw new Error('Give a death date or a date last known alive');
    await api(`/api/subjects/${enc(subject)}`, { method: 'PATCH', json: body });
    event.target.reset();
    event.target.elements.subject.value = subject; // the next date is likely the same subject's
    say(`${subject}: ${Object.entries(body).map(([k, v]) => `${k.replaceAll('_', ' ')} ${v}`).join(', ')} recorded`);
  } catch (error) {
    say(error.message, true);
  }
}

function studyRow(body, study, subjects) {
  const row = body.insertRow();
  row.dataset.study = study.StudyInstanceUID;
  for (const key of ['PatientID', 'IssuerOfPatientID', 'StudyDate', 'StudyDescription'])
    row.insertCell().textContent = study[key] ?? '';
  const select = document.createElement('select');
  select.append(...subjects.map((s) => new Option(s, s)));
  row.insertCell().append(select);
  const patient = { id: study.PatientID };
  if (study.IssuerOfPatientID) patient.issuer = study.IssuerOfPatientID;
  row.insertCell().append(button('Link patient', () => link(select.value, patient)));
}

// clear: false keeps the last message (after an action that reloads the page's lists).
export async function openEnrol(clear = true) {
  if (clear) say('');
  const [subjects, studies] = await Promise.all([
    api('/api/subjects?limit=1000').then((r) => r.items),
    api('/api/studies?unassigned=1&limit=1000').then((r) => r.items),
  ]);
  const body = $('#enrol-studies tbody');
  body.replaceChildren();
  for (const study of studies) studyRow(body, study, subjects);
  if (!studies.length) body.insertRow().insertCell().textContent = 'every study is assigned';
  const select = $('#enrol-dates select[name=subject]');
  const was = select.value;
  select.replaceChildren(...subjects.map((s) => new Option(s, s)));
  if (subjects.includes(was)) select.value = was;
}

export function setupEnrol() {
  $('#enrol-subject').addEventListener('submit', enrol);
  $('#enrol-dates').addEventListener('submit', recordDates);
}
