// Frames as the server stores their samples (/pixels), decoded once and shared by every
// viewport: windowing happens in the browser, so a frame is fetched once whatever the window.

import { enc } from './api.js';

const PREFETCH = 3; // slices either side
const CACHE_FRAMES = 96;

const ARRAYS = {
  uint8: Uint8Array, int8: Int8Array, uint16: Uint16Array, int16: Int16Array,
  uint32: Uint32Array, int32: Int32Array, rgb8: Uint8Array,
};

const frames = new Map();

export async function fetchFrame(sop, frame) {
  const key = `${sop}/${frame}`;
  if (frames.has(key)) {
    const hit = frames.get(key);
    frames.delete(key);
    frames.set(key, hit); // most recently used last
    return hit;
  }
  const pending = (async () => {
    const response = await fetch(`/api/instances/${enc(sop)}/frames/${frame}/pixels`,
      { credentials: 'same-origin' });
    if (!response.ok) throw new Error(`frame ${key}: HTTP ${response.status}`);
    const h = (name) => response.headers.get(name);
    const format = h('X-Sample-Format');
    const data = new ARRAYS[format](await response.arrayBuffer());
    const spacing = (h('X-Pixel-Spacing') ?? '').split('\\').map(Number);
    const f = {
      rows: Number(h('X-Rows')), columns: Number(h('X-Columns')), format, data,
      rgb: format === 'rgb8', monochrome1: h('X-Photometric-Interpretation') === 'MONOCHROME1',
      slope: Number(h('X-Rescale-Slope') ?? 1), intercept: Number(h('X-Rescale-Intercept') ?? 0),
      spacing: spacing.length === 2 && spacing.every((v) => v > 0) ? spacing : null,
      window: h('X-Window-Width') ? { center: Number(h('X-Window-Center')), width: Number(h('X-Window-Width')) } : null,
    };
    if (!f.rgb) {
      let lo = Infinity, hi = -Infinity;
      for (const v of data) { if (v < lo) lo = v; if (v > hi) hi = v; }
      f.min = lo; f.max = hi;
    }
    return f;
  })();
  frames.set(key, pending);
  while (frames.size > CACHE_FRAMES) frames.delete(frames.keys().next().value);
  pending.catch(() => frames.delete(key));
  return pending;
}

// The neighbours of the slice shown, so that scrolling finds them in the cache.
export function prefetch(slices, index) {
  for (let d = 1; d <= PREFETCH; d++)
    for (const j of [index + d, index - d]) {
      const s = slices[j];
      if (s) fetchFrame(s.sop, s.frame).catch(() => {});
    }
}
