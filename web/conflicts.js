// For admins: instances received again under a stored SOP Instance UID with other content. The
// first copy is kept; what came second is only recorded here (GET /api/conflicts), which a PACS
// that counted its 0xB000 as a success will never tell anyone.

import { all } from './api.js';
import { $ } from './dom.js';

export async function showConflicts(role) {
  const box = $('#conflicts-box');
  box.hidden = role !== 'admin';
  if (box.hidden) return;
  const items = await all('/api/conflicts');
  const body = $('#conflicts tbody');
  body.replaceChildren();
  for (const c of items) {
    const row = body.insertRow();
    row.dataset.sop = c.SOPInstanceUID;
    const when = (c.ReceivedTime ?? '').slice(0, 19).replace('T', ' '); // UTC
    for (const value of [when, c.SOPInstanceUID, c.Source, `${c.StoredSHA256?.slice(0, 12)}…`, `${c.ReceivedSHA256?.slice(0, 12)}…`])
      row.insertCell().textContent = value ?? '';
  }
  $('#conflicts-none').hidden = items.length > 0;
}
