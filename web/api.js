// The REST API (docs/api.md) as the pages use it.

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code;
    this.field = body?.error?.field;
  }
}

export async function api(path, options = {}) {
  const init = { credentials: 'same-origin', ...options };
  if (options.json !== undefined) {
    init.method = init.method ?? 'POST';
    init.headers = { 'Content-Type': 'application/json', ...(options.headers ?? {}) };
    init.body = JSON.stringify(options.json);
    delete init.json;
  }
  const response = await fetch(path, init);
  const type = response.headers.get('Content-Type') ?? '';
  const body = type.startsWith('application/json') ? await response.json() : null;
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

export const enc = encodeURIComponent;

// Every item of a paged list (limit 1000 a page).
export async function all(path) {
  const items = [];
  const join = path.includes('?') ? '&' : '?';
  for (;;) {
    const page = await api(`${path}${join}limit=1000&offset=${items.length}`);
    items.push(...page.items);
    if (items.length >= page.total || page.items.length === 0) return items;
  }
}

// A record from GET /api/subjects/{id} as the import format takes it back.
const META = ['version', 'recorded_by', 'recorded_at', 'read_status', 'read_by', 'read_at', 'ever_signed'];
export function asImport(record) {
  const out = { ...record };
  for (const key of META) delete out[key];
  return out;
}

// POST /api/measurements for one subject: the server names the reader.
export function saveRecords(subject, records) {
  return api('/api/measurements', { json: { subject, ...records } });
}
