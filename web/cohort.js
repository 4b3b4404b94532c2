// The cohort page (#/cohort/CRITERIA): per subject the best overall response, best change,
// progression date and PFS (with its censoring), each linked to the subject's timeline; for the
// cohort ORR and DCR with their exact 95 % intervals and the Kaplan-Meier median PFS. All of it
// is the engine's (GET /api/cohort), from signed reads; under them the server's pictures of the
// cohort (waterfall, spider, swimmer, Kaplan-Meier PFS and OS); for coordinators, the CDISC
// export (GET /api/exports/cdisc).

import { api, enc } from './api.js';
import { $ } from './dom.js';

const pct = (v) => (v == null ? '—' : `${v > 0 ? '+' : ''}${v} %`);
const interval = (ci, unit) => (ci && ci[0] != null && ci[1] != null ? `${ci[0]}–${ci[1]}${unit}` : '—');

function cell(row, text, cls) {
  const td = row.insertCell();
  td.textContent = text ?? '—';
  if (cls) td.className = cls;
  return td;
}

function pfs(s) {
  if (s.pfs_days == null) return '—';
  return `${s.pfs_days} d${s.pfs_censored ? ' (censored)' : ''}`;
}

function subjects(cohort) {
  const t = document.createElement('table');
  t.id = 'cohort-subjects';
  const head = t.createTHead().insertRow();
  for (const h of ['Subject', 'Best overall response', 'Best change from baseline', 'Progression', 'PFS'])
    head.append(Object.assign(document.createElement('th'), { textContent: h }));
  const body = t.createTBody();
  for (const s of cohort.subjects) {
    const row = body.insertRow();
    row.dataset.subject = s.subject;
    const link = Object.assign(document.createElement('a'), { href: `#/timeline/${enc(s.subject)}`,
      textContent: s.subject, className: 'link' });
    row.insertCell().append(link);
    const confirmed = s.bor_confirmed == null ? '' : s.bor_confirmed ? ' (confirmed)' : ' (unconfirmed)';
    cell(row, `${s.best_overall_response ?? '—'}${confirmed}`, `bor response-${s.best_overall_response}`);
    cell(row, pct(s.best_change_from_baseline_pct), 'best');
    cell(row, s.progression_date ?? 'none', 'progression');
    cell(row, pfs(s), 'pfs').title = s.pfs_censoring_rule ?? '';
  }
  return t;
}

function figure(name, label, text) {
  const d = document.createElement('div');
  d.dataset.figure = name;
  d.append(Object.assign(document.createElement('strong'), { textContent: `${label}: ` }), text);
  return d;
}

function figures(cohort) {
  const rate = (r) => (r ? `${r.rate_pct} % (${r.responders}/${cohort.n}), 95 % CI ${interval(r.ci95_pct, ' %')}` : '—');
  const p = cohort.pfs;
  const median = p?.median_days == null ? 'not reached'
    : `${p.median_days} d (${p.median_months} months), 95 % CI ${interval(p.ci95_days, ' d')}`;
  const box = document.createElement('div');
  box.className = 'figures';
  box.append(figure('orr', 'ORR', rate(cohort.orr)), figure('dcr', 'DCR', rate(cohort.dcr)),
    figure('pfs', 'Median PFS', `${median}; ${p?.events ?? 0} events, ${p?.censored ?? 0} censored`));
  return box;
}

// The cohort's pictures, drawn by the server (GET /api/cohort/plots/NAME.svg|png) for the
// criterion chosen, from signed reads as the table above them.
const PLOTS = [['waterfall', 'Waterfall: best change from baseline per subject'],
  ['spider', 'Spider: change from baseline over time'], ['swimmer', 'Swimmer: time on study'],
  ['km-pfs', 'Kaplan–Meier: progression-free survival'], ['km-os', 'Kaplan–Meier: overall survival']];

function plots(criteria) {
  const box = document.createElement('div');
  box.className = 'plots';
  box.id = 'cohort-plots';
  for (const [name, caption] of PLOTS) {
    const url = (ext) => `/api/cohort/plots/${name}.${ext}?criteria=${enc(criteria)}`;
    const fig = document.createElement('figure');
    fig.dataset.plot = name;
    const img = Object.assign(document.createElement('img'), { src: url('svg'), alt: caption, loading: 'lazy' });
    const cap = document.createElement('figcaption');
    cap.append(caption);
    for (const ext of ['png', 'svg'])
      cap.append(Object.assign(document.createElement('a'), { href: url(ext), textContent: ext.toUpperCase(), download: `${name}-${criteria}.${ext}` }));
    fig.append(img, cap);
    box.append(fig);
  }
  return box;
}

export async function openCohort(criteria = 'recist1.1') {
  $('#cohort-criteria').value = criteria;
  $('#cohort-error').textContent = '';
  const root = $('#cohort-body');
  root.replaceChildren();
  let cohort;
  try {
    cohort = await api(`/api/cohort?criteria=${enc(criteria)}`);
  } catch (error) {
    if (error.status === 401) throw error;
    $('#cohort-error').textContent = error.message;
    return;
  }
  const note = document.createElement('p');
  note.textContent = `${cohort.n} subject${cohort.n === 1 ? '' : 's'} from signed reads` +
    (cohort.unsigned_left_out ? `; ${cohort.unsigned_left_out} unsigned read${cohort.unsigned_left_out === 1 ? '' : 's'} left out` : '');
  root.dataset.criteria = cohort.criteria;
  root.append(figures(cohort), note);
  const role = document.body.dataset.role;
  if (role === 'coordinator' || role === 'admin' || role === 'none') // the sponsor's datasets
    root.append(Object.assign(document.createElement('a'), { id: 'cohort-cdisc', className: 'link',
      href: '/api/exports/cdisc', download: '',
      textContent: 'CDISC datasets for the sponsor (SDTM and ADaM: CSV, XPT, define.xml), all criteria, signed reads' }));
  root.append(subjects(cohort), plots(cohort.criteria));
}

export function setupCohort() {
  $('#cohort-criteria').addEventListener('change', (e) => { location.hash = `#/cohort/${enc(e.target.value)}`; });
}
