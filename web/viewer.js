// One viewport: a series of slices drawn from their stored samples (/pixels), windowed in the
// browser, with OHIF's mouse buttons and hotkeys and the measurement tools. Points are in the
// frame's pixel coordinates as DICOM SCOORD has them: (0, 0) is the top-left pixel's corner.

import { all, enc } from './api.js';

// OHIF's presets, on keys 1 to 5.
export const PRESETS = [
  { name: 'soft-tissue', center: 40, width: 400 },
  { name: 'lung', center: -600, width: 1500 },
  { name: 'liver', center: 90, width: 150 },
  { name: 'bone', center: 480, width: 2500 },
  { name: 'brain', center: 40, width: 80 },
];

const PREFETCH = 3; // slices either side
const CACHE_FRAMES = 96;
const HANDLE_PX = 6;

const ARRAYS = {
  uint8: Uint8Array, int8: Int8Array, uint16: Uint16Array, int16: Int16Array,
  uint32: Uint32Array, int32: Int32Array, rgb8: Uint8Array,
};

// Frames are shared by every viewport: a small cache of decoded /pixels answers.
const frames = new Map();

async function fetchFrame(sop, frame) {
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

// Position along the slice normal, from Image Position and Orientation (Patient).
function slicePosition(inst) {
  const p = inst.ImagePositionPatient, o = inst.ImageOrientationPatient;
  if (!Array.isArray(p) || !Array.isArray(o) || p.length !== 3 || o.length !== 6) return null;
  const n = [o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5], o[0] * o[4] - o[1] * o[3]];
  return p[0] * n[0] + p[1] * n[1] + p[2] * n[2];
}

// A series' slices (one per frame), ordered by position when every slice has one.
export async function loadSlices(seriesUid) {
  const instances = await all(`/api/instances?series=${enc(seriesUid)}`);
  const slices = [];
  for (const inst of instances) {
    const count = Math.max(1, inst.NumberOfFrames ?? 1);
    for (let frame = 1; frame <= count; frame++)
      slices.push({ sop: inst.SOPInstanceUID, frame, number: inst.InstanceNumber,
        position: count === 1 ? slicePosition(inst) : null });
  }
  if (slices.every((s) => s.position !== null))
    slices.sort((a, b) => a.position - b.position);
  return slices;
}

const dist = (a, b) => Math.hypot(a[0] - b[0], a[1] - b[1]);

// Millimetres of a segment on a frame (the server computes what is stored; this is a preview).
export function lengthMm(spacing, a, b) {
  if (!spacing) return null;
  return Math.hypot((b[0] - a[0]) * spacing[1], (b[1] - a[1]) * spacing[0]);
}

export class Viewport {
  constructor(element, { title = '', ...callbacks } = {}) {
    this.element = element;
    this.title = title;
    this.callbacks = callbacks; // onMeasured, onDelete, onUndo, onConfirm, onCancel, onScroll, onSeries
    this.canvas = document.createElement('canvas');
    this.overlay = document.createElement('div');
    this.overlay.className = 'overlay';
    element.replaceChildren(this.canvas, this.overlay);
    this.offscreen = document.createElement('canvas');
    this.slices = [];
    this.index = 0;
    this.series = [];
    this.seriesIndex = 0;
    this.tool = 'window';
    this.annotations = []; // {id, label, sop, frame, tool, points, roi}
    this.pending = null; // a caliper being drawn
    this.selected = null; // id of a selected annotation
    this.resetView();
    this.listen();
    new ResizeObserver(() => this.draw()).observe(element);
  }

  resetView() {
    this.zoom = 1;
    this.pan = [0, 0];
    this.inverted = false;
    this.voi = null; // null: the file's window, else the full range
  }

  // Series of a study, from GET /api/series; opens the first (or the one named).
  async openStudy(studyUid, seriesUid = null) {
    const items = await all(`/api/series?study=${enc(studyUid)}`);
    this.series = items.filter((s) => !['SR', 'SEG', 'PR', 'KO'].includes(s.Modality));
    const i = Math.max(0, this.series.findIndex((s) => s.SeriesInstanceUID === seriesUid));
    await this.openSeries(i);
  }

  async openSeries(i) {
    if (!this.series.length) {
      this.slices = [];
      this.draw();
      return;
    }
    this.seriesIndex = (i + this.series.length) % this.series.length;
    this.slices = await loadSlices(this.series[this.seriesIndex].SeriesInstanceUID);
    this.index = Math.floor(this.slices.length / 2);
    this.callbacks.onSeries?.(this);
    await this.show(this.index);
  }

  get slice() { return this.slices[this.index]; }
  get thickness() { return this.series[this.seriesIndex]?.SliceThickness ?? null; }

  // Go to the slice of an instance and frame; false when this series does not have it.
  async showInstance(sop, frame = 1) {
    const i = this.slices.findIndex((s) => s.sop === sop && s.frame === frame);
    if (i < 0) {
      for (let k = 0; k < this.series.length; k++) {
        if (k === this.seriesIndex) continue;
        const slices = await loadSlices(this.series[k].SeriesInstanceUID);
        const j = slices.findIndex((s) => s.sop === sop && s.frame === frame);
        if (j >= 0) {
          this.seriesIndex = k;
          this.slices = slices;
          this.callbacks.onSeries?.(this);
          await this.show(j);
          return true;
        }
      }
      return false;
    }
    await this.show(i);
    return true;
  }

  async show(i) {
    if (!this.slices.length) return this.draw();
    this.index = Math.min(this.slices.length - 1, Math.max(0, i));
    const wanted = this.slice;
    const f = await fetchFrame(wanted.sop, wanted.frame);
    if (wanted !== this.slice) return; // scrolled on meanwhile
    this.frame = f;
    this.paint();
    this.draw();
    this.prefetch();
  }

  prefetch() {
    for (let d = 1; d <= PREFETCH; d++)
      for (const j of [this.index + d, this.index - d]) {
        const s = this.slices[j];
        if (s) fetchFrame(s.sop, s.frame).catch(() => {});
      }
  }

  scroll(delta, quiet = false) {
    const before = this.index;
    const target = Math.min(this.slices.length - 1, Math.max(0, this.index + delta));
    if (target === before) return;
    this.show(target);
    if (!quiet) this.callbacks.onScroll?.(this, target - before);
  }

  window() {
    const f = this.frame;
    if (this.voi) return this.voi;
    if (f.window) return f.window;
    const lo = f.min * f.slope + f.intercept, hi = f.max * f.slope + f.intercept;
    return { center: (lo + hi) / 2, width: Math.max(1, hi - lo + 1) };
  }

  setWindow(center, width) {
    this.voi = { center, width: Math.max(1, width) };
    this.paint();
    this.draw();
  }

  preset(n) {
    const p = PRESETS[n];
    if (p) this.setWindow(p.center, p.width);
  }

  // The frame through the window (PS3.3 C.11.2.1.2.1) into the offscreen canvas.
  paint() {
    const f = this.frame;
    if (!f) return;
    this.offscreen.width = f.columns;
    this.offscreen.height = f.rows;
    const ctx = this.offscreen.getContext('2d');
    const image = ctx.createImageData(f.columns, f.rows);
    const out = image.data, n = f.rows * f.columns;
    if (f.rgb) {
      for (let i = 0; i < n; i++) {
        const r = f.data[3 * i], g = f.data[3 * i + 1], b = f.data[3 * i + 2];
        const k = 4 * i;
        out[k] = this.inverted ? 255 - r : r;
        out[k + 1] = this.inverted ? 255 - g : g;
        out[k + 2] = this.inverted ? 255 - b : b;
        out[k + 3] = 255;
      }
    } else {
      const { center, width } = this.window();
      const invert = f.monochrome1 !== this.inverted;
      const lut = new Uint8Array(f.max - f.min + 1);
      for (let v = f.min; v <= f.max; v++) {
        const x = v * f.slope + f.intercept;
        let y;
        if (x <= center - 0.5 - (width - 1) / 2) y = 0;
        else if (x > center - 0.5 + (width - 1) / 2) y = 255;
        else y = Math.round(((x - (center - 0.5)) / Math.max(1, width - 1) + 0.5) * 255);
        lut[v - f.min] = invert ? 255 - y : y;
      }
      for (let i = 0; i < n; i++) {
        const y = lut[f.data[i] - f.min], k = 4 * i;
        out[k] = out[k + 1] = out[k + 2] = y;
        out[k + 3] = 255;
      }
    }
    ctx.putImageData(image, 0, 0);
  }

  // Image to canvas: the frame fitted, then zoomed about the centre and panned.
  get scale() {
    const f = this.frame;
    if (!f) return 1;
    return Math.min(this.canvas.width / f.columns, this.canvas.height / f.rows) * this.zoom;
  }

  toCanvas([x, y]) {
    const f = this.frame, s = this.scale;
    return [(x - f.columns / 2) * s + this.canvas.width / 2 + this.pan[0],
      (y - f.rows / 2) * s + this.canvas.height / 2 + this.pan[1]];
  }

  toImage([cx, cy]) {
    const f = this.frame, s = this.scale;
    return [(cx - this.canvas.width / 2 - this.pan[0]) / s + f.columns / 2,
      (cy - this.canvas.height / 2 - this.pan[1]) / s + f.rows / 2];
  }

  // Client (page) coordinates of an image point: what a test clicks.
  toClient(point) {
    const r = this.canvas.getBoundingClientRect();
    const [cx, cy] = this.toCanvas(point);
    return [r.left + cx * (r.width / this.canvas.width), r.top + cy * (r.height / this.canvas.height)];
  }

  eventPoint(event) {
    const r = this.canvas.getBoundingClientRect();
    return this.toImage([(event.clientX - r.left) * (this.canvas.width / r.width),
      (event.clientY - r.top) * (this.canvas.height / r.height)]);
  }

  draw() {
    const w = this.element.clientWidth, h = this.element.clientHeight;
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
    }
    const ctx = this.canvas.getContext('2d');
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, w, h);
    if (!this.frame || !this.slices.length) {
      this.overlay.textContent = this.slices.length ? 'loading…' : `${this.title}: no images`;
      return;
    }
    const s = this.scale, [ox, oy] = this.toCanvas([0, 0]);
    ctx.imageSmoothingEnabled = s < 1;
    ctx.drawImage(this.offscreen, ox, oy, this.frame.columns * s, this.frame.rows * s);
    for (const a of this.annotationsHere()) this.drawAnnotation(ctx, a, a.id === this.selected);
    if (this.pending) this.drawAnnotation(ctx, this.pending, true);
    this.describe();
  }

  annotationsHere() {
    const here = this.slice;
    return this.annotations.filter((a) => a.sop === here.sop && a.frame === here.frame);
  }

  drawAnnotation(ctx, a, highlighted) {
    ctx.strokeStyle = highlighted ? '#ffd54a' : '#4af2a1';
    ctx.fillStyle = ctx.strokeStyle;
    ctx.lineWidth = 1.5;
    ctx.font = '12px sans-serif';
    const pts = (a.points ?? []).map((p) => this.toCanvas(p));
    for (let i = 0; i + 1 < pts.length; i += 2) {
      ctx.beginPath();
      ctx.moveTo(...pts[i]);
      ctx.lineTo(...pts[i + 1]);
      ctx.stroke();
      for (const p of [pts[i], pts[i + 1]]) ctx.fillRect(p[0] - 2, p[1] - 2, 4, 4);
    }
    if (pts.length === 1) {
      ctx.fillRect(pts[0][0] - 2, pts[0][1] - 2, 4, 4);
      if (a.hover) {
        ctx.beginPath();
        ctx.moveTo(...pts[0]);
        ctx.lineTo(...this.toCanvas(a.hover));
        ctx.stroke();
      }
    }
    if (a.roi) {
      const [p, q] = a.roi.map((r) => this.toCanvas(r));
      ctx.beginPath();
      ctx.ellipse((p[0] + q[0]) / 2, (p[1] + q[1]) / 2, Math.abs(q[0] - p[0]) / 2,
        Math.abs(q[1] - p[1]) / 2, 0, 0, 2 * Math.PI);
      ctx.stroke();
    }
    const anchor = pts[1] ?? pts[0] ?? (a.roi ? this.toCanvas(a.roi[1]) : null);
    if (anchor && a.label) ctx.fillText(a.label, anchor[0] + 6, anchor[1] - 6);
  }

  describe() {
    const s = this.slice, w = this.window(), series = this.series[this.seriesIndex] ?? {};
    const lines = [
      `${this.title} · ${series.SeriesDescription ?? ''} (${this.seriesIndex + 1}/${this.series.length})`,
      `Im ${this.index + 1}/${this.slices.length}` + (s.number != null ? ` · #${s.number}` : ''),
      s.position != null ? `Pos ${s.position.toFixed(1)} mm` : 'Pos —',
      this.thickness != null ? `Thk ${Number(this.thickness).toFixed(1)} mm` : 'Thk —',
      `W ${Math.round(w.width)} L ${Math.round(w.center)}${this.inverted ? ' · inverted' : ''} · ${this.zoom.toFixed(2)}×`,
    ];
    if (this.pending?.label) lines.push(this.pending.label);
    this.overlay.textContent = lines.join('\n');
    this.element.dataset.index = String(this.index + 1);
  }

  setTool(tool) {
    this.tool = tool;
    this.pending = null;
    this.draw();
  }

  cancel() {
    this.pending = null;
    this.draw();
  }

  // ---- mouse: left the tool, right zoom, middle pan; wheel scrolls --------------------------

  listen() {
    const c = this.canvas;
    c.addEventListener('contextmenu', (e) => e.preventDefault());
    c.addEventListener('wheel', (e) => {
      e.preventDefault();
      this.scroll(Math.sign(e.deltaY));
    }, { passive: false });
    c.addEventListener('pointerdown', (e) => this.pointerDown(e));
    c.addEventListener('pointermove', (e) => this.pointerMove(e));
    c.addEventListener('pointerup', (e) => this.pointerUp(e));
  }

  pointerDown(e) {
    if (!this.frame) return;
    Viewport.active = this;
    capture(this.canvas, e);
    const p = this.eventPoint(e);
    this.drag = { button: e.button, start: [e.clientX, e.clientY], last: [e.clientX, e.clientY], at: p };
    if (e.button !== 0) return;
    if (this.tool === 'window') {
      this.drag.window = this.window();
      this.select(p);
    } else if (this.tool === 'length') {
      if (this.pending?.tool === 'length' && this.pending.points.length === 1) this.drag.second = true;
      else this.pending = { tool: 'length', points: [p, p], dragging: true };
    } else if (this.tool === 'bidirectional') {
      const handle = this.pending?.tool === 'bidirectional' && this.pending.complete
        ? this.handleNear(p) : -1;
      if (handle >= 2) this.drag.handle = handle;
      else this.pending = { tool: 'bidirectional', points: [p, p], dragging: true };
    } else if (this.tool === 'ellipse') {
      this.pending = { tool: 'ellipse', roi: [p, p], dragging: true };
    }
    this.draw();
  }

  // Clicking on a drawn caliper selects it (Backspace deletes it).
  select(p) {
    const near = (q) => dist(this.toCanvas(q), this.toCanvas(p)) <= HANDLE_PX;
    const hit = this.annotationsHere().find((a) => (a.points ?? []).concat(a.roi ?? []).some(near));
    const id = hit ? hit.id : null;
    if (id !== this.selected) {
      this.selected = id;
      this.draw();
    }
  }

  handleNear(p) {
    const pts = this.pending.points;
    for (let i = pts.length - 1; i >= 0; i--)
      if (dist(this.toCanvas(pts[i]), this.toCanvas(p)) <= HANDLE_PX) return i;
    return -1;
  }

  pointerMove(e) {
    if (!this.drag) {
      if (this.pending?.tool === 'length' && this.pending.points.length === 1) {
        this.pending.hover = this.eventPoint(e); // the rubber band between two clicks
        this.draw();
      }
      return;
    }
    const dx = e.clientX - this.drag.last[0], dy = e.clientY - this.drag.last[1];
    this.drag.last = [e.clientX, e.clientY];
    const p = this.eventPoint(e);
    if (this.drag.button === 2) {
      this.zoom = Math.min(20, Math.max(0.1, this.zoom * Math.exp(-dy / 150)));
    } else if (this.drag.button === 1) {
      this.pan = [this.pan[0] + dx, this.pan[1] + dy];
    } else if (this.tool === 'window' && this.drag.window) {
      const w = this.window(), k = Math.max(1, w.width / 256);
      this.voi = { center: w.center + dy * k, width: Math.max(1, w.width + dx * k) };
      this.paint();
    } else if (this.pending?.dragging) {
      if (this.pending.roi) this.pending.roi[1] = p;
      else this.pending.points[1] = p;
    } else if (this.drag.handle !== undefined) {
      this.movePerpendicular(this.drag.handle, p);
    } else if (this.drag.second) {
      this.pending.points[1] = p;
    }
    this.label();
    this.draw();
  }

  pointerUp(e) {
    const drag = this.drag;
    this.drag = null;
    if (!drag || drag.button !== 0 || !this.pending) return;
    const moved = Math.hypot(e.clientX - drag.start[0], e.clientY - drag.start[1]) > 3;
    const p = this.eventPoint(e);
    const m = this.pending;
    if (m.tool === 'length') {
      if (drag.second) { m.points = [m.points[0], p]; return this.complete(); }
      if (moved) { m.points[1] = p; return this.complete(); }
      m.points = [m.points[0]]; // the first of two clicks
      m.dragging = false;
    } else if (m.tool === 'bidirectional' && m.dragging) {
      m.dragging = false;
      if (!moved) { this.pending = null; return this.draw(); }
      m.points[1] = p;
      this.addPerpendicular();
    } else if (m.tool === 'ellipse' && m.dragging) {
      m.dragging = false;
      if (!moved) { this.pending = null; return this.draw(); }
      m.roi[1] = p;
      return this.complete();
    }
    this.label();
    this.draw();
  }

  // mm-space directions, so that "perpendicular" holds on anisotropic pixels too.
  axes() {
    const sp = this.frame.spacing ?? [1, 1];
    const [a, b] = this.pending.points;
    const u = [(b[0] - a[0]) * sp[1], (b[1] - a[1]) * sp[0]];
    const len = Math.hypot(...u) || 1;
    const unit = [u[0] / len, u[1] / len];
    return { sp, unit, normal: [-unit[1], unit[0]], len };
  }

  addPerpendicular() {
    const m = this.pending, { sp, normal, len } = this.axes();
    const [a, b] = m.points, mid = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
    const half = len / 4; // mm: half of a perpendicular of half the long axis
    m.cross = mid;
    m.points = [a, b,
      [mid[0] + (normal[0] * half) / sp[1], mid[1] + (normal[1] * half) / sp[0]],
      [mid[0] - (normal[0] * half) / sp[1], mid[1] - (normal[1] * half) / sp[0]]];
    m.complete = true;
  }

  // A perpendicular end moves along the normal through the crossing point; never past the
  // long axis's length.
  movePerpendicular(handle, p) {
    const m = this.pending, { sp, normal, len } = this.axes();
    const d = ((p[0] - m.cross[0]) * sp[1]) * normal[0] + ((p[1] - m.cross[1]) * sp[0]) * normal[1];
    const other = m.points[handle === 2 ? 3 : 2];
    const otherD = ((other[0] - m.cross[0]) * sp[1]) * normal[0] + ((other[1] - m.cross[1]) * sp[0]) * normal[1];
    let t = d;
    if (Math.sign(t) === Math.sign(otherD) || t === 0) t = -Math.sign(otherD) * 0.5;
    if (Math.abs(t) + Math.abs(otherD) > len) t = Math.sign(t) * (len - Math.abs(otherD));
    m.points[handle] = [m.cross[0] + (normal[0] * t) / sp[1], m.cross[1] + (normal[1] * t) / sp[0]];
  }

  label() {
    const m = this.pending, sp = this.frame?.spacing;
    if (!m || !sp) return;
    if (m.points?.length >= 2) {
      const l = lengthMm(sp, m.points[0], m.points[1]);
      m.label = `${l.toFixed(1)} mm`;
      if (m.points.length === 4) m.label += ` × ${lengthMm(sp, m.points[2], m.points[3]).toFixed(1)} mm`;
    }
  }

  // Enter: a bidirectional caliper is complete once its perpendicular is placed; otherwise
  // the reader's page decides (it saves the fragments of a split target).
  confirm() {
    if (this.pending?.tool === 'bidirectional' && this.pending.complete) this.complete();
    else this.callbacks.onConfirm?.(this);
  }

  complete() {
    const m = this.pending, s = this.slice;
    const round = (p) => [Math.round(p[0] * 100) / 100, Math.round(p[1] * 100) / 100];
    const out = { tool: m.tool, sop: s.sop, frame: s.frame };
    if (m.points) out.points = m.points.map(round);
    if (m.roi) out.roi = m.roi.map(round);
    this.label();
    this.draw();
    this.callbacks.onMeasured?.(this, out);
  }

  // ---- keys (the active viewport takes them) ------------------------------------------------

  key(e) {
    const k = e.key;
    if (k === 'ArrowUp' || k === 'ArrowDown') this.scroll(k === 'ArrowDown' ? 1 : -1);
    else if (k === 'Home') this.scroll(-this.index);
    else if (k === 'End') this.scroll(this.slices.length - 1 - this.index);
    else if (k === 'PageUp' || k === 'PageDown') this.openSeries(this.seriesIndex + (k === 'PageDown' ? 1 : -1));
    else if (k === 'i') { this.inverted = !this.inverted; this.paint(); this.draw(); }
    else if (k === ' ') { this.resetView(); this.paint(); this.draw(); }
    else if (k >= '1' && k <= '5') this.preset(Number(k) - 1);
    else if (k === 'Escape') { this.cancel(); this.callbacks.onCancel?.(this); }
    else if (k === 'Enter') this.confirm();
    else if (k === 'Backspace' || k === 'Delete') {
      if (this.pending) this.cancel();
      else if (this.selected) this.callbacks.onDelete?.(this, this.selected);
    } else if ((e.ctrlKey || e.metaKey) && k === 'z') {
      if (this.pending) this.cancel();
      else this.callbacks.onUndo?.(this);
    } else return false;
    return true;
  }
}

function capture(canvas, e) {
  try { canvas.setPointerCapture(e.pointerId); } catch { /* synthetic events have none */ }
}

Viewport.active = null;

document.addEventListener('keydown', (e) => {
  const v = Viewport.active;
  if (!v || !v.element.isConnected || e.target.closest?.('input, select, textarea')) return;
  if (v.key(e)) e.preventDefault();
});
