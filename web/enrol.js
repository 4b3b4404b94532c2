// Enrolment, for coordinators and admins: enrol a subject, link the patient of a study not yet
// assigned to a subject, record a death or the last contact. The server decides and words every
// refusal (docs/api.md: POST /api/subjects, PATCH /api/subjects/{id}).

import { all, api, enc } from './api.js';
import { $, button } from './dom.js';

function say(text, isError = false) {
  const p = $('#enrol-status');
  p.textContent = text;
  p.className = isError ? 'error' : '';
}

// "ID@ISSUER" or "ID" as the API's patient.
function patientOf(text) {
  const [id, issuer] = text.trim().split('@');
  return issuer ? { id, issuer } : { id };
}

// Run a change; true when the server took it (its refusal is shown as worded).
async function attempt(action, done) {
  try {
    await action();
    say(done);
    await openEnrolment();
    return true;
  } catch (error) {
    say(error.message, true);
    return false;
  }
}

// Each unassigned study's patient, with the subjects to link it to.
function patientRows(studies, subjects) {
  const seen = new Set();
  return studies.flatMap((st) => {
    const key = `${st.PatientID}@${st.IssuerOfPatientID ?? ''}`;
    if (seen.has(key)) return [];
    seen.add(key);
    const row = document.createElement('tr');
    row.insertCell().textContent = st.PatientID;
    row.insertCell().textContent = st.IssuerOfPatientID ?? '';
    const select = document.createElement('select');
    select.replaceChildren(...subjects.map((s) => new Option(s, s)));
    const patient = st.IssuerOfPatientID ? { id: st.PatientID, issuer: st.IssuerOfPatientID } : { id: st.PatientID };
    row.insertCell().append(select, button('Link', () => attempt(
      () => api(`/api/subjects/${enc(select.value)}`, { method: 'PATCH', json: { dicom_patients: [patient] } }),
      `${st.PatientID} linked to ${select.value}`)));
    return [row];
  });
}

export async function openEnrolment() {
  const subjects = (await api('/api/subjects')).items;
  const studies = await all('/api/studies?unassigned=1');
  $('#enrol-patients tbody').replaceChildren(...patientRows(studies, subjects));
  $('#dates-subject').replaceChildren(...subjects.map((s) => new Option(s, s)));
}

export function setupEnrolment() {
  $('#enrol-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const body = { subject: form.get('subject').trim() };
    if (form.get('patient').trim()) body.dicom_patients = [patientOf(form.get('patient'))];
    attempt(() => api('/api/subjects', { json: body }), `${body.subject} enrolled`)
      .then((ok) => ok && event.target.reset());
  });
  $('#dates-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const body = { [form.get('which')]: form.get('date') };
    if (form.get('reason').trim()) body.reason = form.get('reason').trim();
    attempt(() => api(`/api/subjects/${enc(form.get('subject'))}`, { method: 'PATCH', json: body }),
      `${form.get('which').replaceAll('_', ' ')} recorded for ${form.get('subject')}`);
  });
}
