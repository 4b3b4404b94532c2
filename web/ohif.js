// OHIF beside the station: when the server serves it (GET /api/config), each study gets an
// *Open in OHIF* link (/ohif/viewer?StudyInstanceUIDs=UID, in a new tab); OHIF uses the same
// session. After a login the station goes back to the OHIF page that sent the user to it.

import { api, enc } from './api.js';

let config = null; // the promise of GET /api/config, asked once

// OHIF's base path ("/ohif/"), or null when the server does not serve it.
export async function ohifBase() {
  config ??= api('/api/config').catch(() => ({ ohif: null }));
  return (await config).ohif ?? null;
}

// A link opening the study in OHIF served at base (text: what it says); null without OHIF.
export function ohifLink(base, studyUid, text = 'Open in OHIF') {
  if (!base || !studyUid) return null;
  const a = document.createElement('a');
  a.className = 'ohif-link';
  a.href = `${base}viewer?StudyInstanceUIDs=${enc(studyUid)}`;
  a.target = '_blank';
  a.rel = 'noopener';
  a.textContent = text;
  a.dataset.study = studyUid;
  return a;
}

// The links of a time point's studies (numbered when it has several), each after a space.
export function ohifLinks(base, studyUids = []) {
  return studyUids.flatMap((uid, i) => {
    const a = ohifLink(base, uid, studyUids.length > 1 ? `Open in OHIF (${i + 1})` : 'Open in OHIF');
    return a ? [' ', a] : [];
  });
}

// The OHIF page to go back to after a login (#/login?next=/ohif/...): only a path under OHIF's
// base, so that the link cannot send anyone elsewhere.
export function nextAfterLogin() {
  const m = location.hash.match(/^#\/login\?next=([^&]*)/);
  if (!m) return null;
  let next;
  try { next = decodeURIComponent(m[1]); } catch { return null; }
  return /^\/ohif\/[^\\]*$/.test(next) && !next.startsWith('//') ? next : null;
}
