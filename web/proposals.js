// Measurements proposed by outside reports (DICOM SR TID 1500 from OHIF, a PACS or an import):
// listed under the worksheet for the time point being read, beside the current record, each
// accepted (the next version of the assessment, its reason naming the report) or rejected with
// a reason. The engine counts none until accepted (GET /api/proposals, POST .../accept|reject).

import { api, enc } from './api.js';
import { $, button } from './dom.js';
import { describe } from './worksheet.js';

export async function loadProposals(subject) {
  try {
    return (await api(`/api/proposals?subject=${enc(subject)}&status=proposed`)).items;
  } catch {
    return []; // the worksheet works without them
  }
}

// ctx: {items, current, at(lesion, timepoint), canWrite, decided()}.
export function renderProposals(ctx) {
  const box = $('#proposals');
  const items = ctx.items.filter((p) => p.timepoint === ctx.current);
  box.hidden = items.length === 0;
  const list = document.createElement('ul');
  for (const p of items) {
    const li = document.createElement('li');
    li.dataset.proposal = p.id;
    const volume = p.fields.liver_volume_ml; // a segmentation's, for the time point itself
    const what = p.lesion == null ? `${p.timepoint}: liver volume ${volume} mL`
      : `${p.lesion}${p.new_lesion ? ' (new to the ledger)' : ''}: ${describe(p.fields) || 'no value'}`;
    const now = p.lesion == null ? null : ctx.at(p.lesion, p.timepoint);
    li.append(what, Object.assign(document.createElement('small'), {
      textContent: ` — from ${p.source}, group ${p.item} (${p.reason})` +
        (p.lesion == null ? '' : `; recorded now: ${describe(now) || 'nothing'}`) }));
    if (ctx.canWrite) {
      // a lesion new to the ledger: its role is the radiologist's choice, none by default
      const role = p.new_lesion ? Object.assign(document.createElement('select'), { className: 'role' }) : null;
      role?.append(new Option('role?', ''), ...['target', 'non-target', 'new'].map((r) => new Option(r, r)));
      li.append(...(role ? [role] : []), button('Accept', async () => {
        await decide(li, `/api/proposals/${p.id}/accept`, role?.value ? { role: role.value } : {});
        ctx.decided();
      }, 'Record it as the next version of this assessment'), button('Reject', async () => {
        const reason = prompt(`Why reject ${p.lesion} from ${p.source}?`);
        if (!reason) return;
        await decide(li, `/api/proposals/${p.id}/reject`, { reason });
        ctx.decided();
      }));
    }
    list.append(li);
  }
  box.replaceChildren(Object.assign(document.createElement('h3'), { textContent: 'Proposed by reports' }), list);
}

async function decide(li, path, json) {
  try {
    await api(path, { json });
  } catch (error) {
    li.append(Object.assign(document.createElement('span'), { className: 'error', textContent: ` ${error.message}` }));
    throw error;
  }
}
