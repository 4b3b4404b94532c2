// One viewport: a series of slices (slices.js) drawn from their stored samples (frames.js),
// windowed, zoomed and panned (view.js), with the measurement tools (tools.js), OHIF's mouse
// buttons and hotkeys. The reader's page and the end-to-end test reach the parts only through
// this class, so its accessors below are all of the parts that they depend on.

import { fetchFrame, prefetch } from './frames.js';
import { Stack } from './slices.js';
import { Tools } from './tools.js';
import { View } from './view.js';

export class Viewport {
  constructor(element, { title = '', ...callbacks } = {}) {
    this.element = element;
    this.title = title;
    this.callbacks = callbacks; // onMeasured, onDelete, onUndo, onConfirm, onCancel, onScroll, onSeries
    this.view = new View(element);
    this.stack = new Stack();
    this.tools = new Tools(this);
    this.drag = null; // the pointer gesture under way
    this.listen();
    new ResizeObserver(() => this.draw()).observe(element);
  }

  get series() { return this.stack.series; }
  set series(list) { this.stack.series = list; }
  get slices() { return this.stack.slices; }
  get index() { return this.stack.index; }
  get slice() { return this.stack.slice; }
  get annotations() { return this.tools.annotations; }
  set annotations(list) { this.tools.annotations = list; }
  get pending() { return this.tools.pending; }
  set pending(caliper) { this.tools.pending = caliper; }
  get selected() { return this.tools.selected; }
  set selected(id) { this.tools.selected = id; }
  get offscreen() { return this.view.offscreen; }
  toClient(point) { return this.view.toClient(point); }
  setTool(tool) { this.tools.setTool(tool); }

  // Series of a study, from GET /api/series; opens the first (or the one named).
  async openStudy(studyUid, seriesUid = null) {
    await this.openSeries(await this.stack.openStudy(studyUid, seriesUid));
  }

  async openSeries(i) {
    if (!this.stack.series.length) {
      this.stack.slices = [];
      this.draw();
      return;
    }
    await this.stack.openSeries(i);
    this.callbacks.onSeries?.(this);
    await this.show(this.stack.index);
  }

  // Go to the slice of an instance and frame; false when this study does not have it.
  async showInstance(sop, frame = 1) {
    const found = await this.stack.find(sop, frame);
    if (!found) return false;
    if (found.switched) this.callbacks.onSeries?.(this);
    await this.show(found.index);
    return true;
  }

  async show(i) {
    if (!this.slices.length) return this.draw();
    this.stack.index = this.stack.clamp(i);
    const wanted = this.slice;
    const f = await fetchFrame(wanted.sop, wanted.frame);
    if (wanted !== this.slice) return; // scrolled on meanwhile
    this.view.frame = f;
    this.view.paint();
    this.draw();
    prefetch(this.slices, this.index);
  }

  scroll(delta, quiet = false) {
    const before = this.index;
    const target = this.stack.clamp(before + delta);
    if (target === before) return;
    this.show(target);
    if (!quiet) this.callbacks.onScroll?.(this, target - before);
  }

  draw() {
    const ctx = this.view.clear();
    if (!this.view.frame || !this.slices.length) {
      this.view.overlay.textContent = this.slices.length ? 'loading…' : `${this.title}: no images`;
      return;
    }
    this.view.drawImage(ctx);
    this.tools.draw(ctx);
    this.describe();
  }

  describe() {
    const { stack } = this, s = this.slice, series = stack.current ?? {};
    const lines = [
      `${this.title} · ${series.SeriesDescription ?? ''} (${stack.seriesIndex + 1}/${stack.series.length})`,
      `Im ${this.index + 1}/${this.slices.length}` + (s.number != null ? ` · #${s.number}` : ''),
      s.position != null ? `Pos ${s.position.toFixed(1)} mm` : 'Pos —',
      stack.thickness != null ? `Thk ${Number(stack.thickness).toFixed(1)} mm` : 'Thk —',
      this.view.caption(),
    ];
    if (this.pending?.label) lines.push(this.pending.label);
    this.view.overlay.textContent = lines.join('\n');
    this.element.dataset.index = String(this.index + 1);
  }

  // ---- mouse: left the tool, right zoom, middle pan; wheel scrolls --------------------------

  listen() {
    const c = this.view.canvas;
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
    if (!this.view.frame) return;
    Viewport.active = this;
    capture(this.view.canvas, e);
    const p = this.view.eventPoint(e);
    this.drag = { button: e.button, start: [e.clientX, e.clientY], last: [e.clientX, e.clientY], at: p };
    if (e.button !== 0) return;
    this.tools.down(p, this.drag);
    this.draw();
  }

  pointerMove(e) {
    if (!this.drag) return this.tools.hover(e);
    const dx = e.clientX - this.drag.last[0], dy = e.clientY - this.drag.last[1];
    this.drag.last = [e.clientX, e.clientY];
    if (this.drag.button === 2) this.view.zoomBy(dy);
    else if (this.drag.button === 1) this.view.panBy(dx, dy);
    else this.tools.move(this.view.eventPoint(e), this.drag, dx, dy);
    this.tools.label();
    this.draw();
  }

  pointerUp(e) {
    const drag = this.drag;
    this.drag = null;
    if (drag?.button === 0) this.tools.up(e, drag);
  }

  // ---- keys (the active viewport takes them) ------------------------------------------------

  key(e) {
    const k = e.key;
    if (k === 'ArrowUp' || k === 'ArrowDown') this.scroll(k === 'ArrowDown' ? 1 : -1);
    else if (k === 'Home') this.scroll(-this.index);
    else if (k === 'End') this.scroll(this.slices.length - 1 - this.index);
    else if (k === 'PageUp' || k === 'PageDown') this.openSeries(this.stack.seriesIndex + (k === 'PageDown' ? 1 : -1));
    else if (k === 'i') { this.view.invert(); this.draw(); }
    else if (k === ' ') { this.view.reset(); this.view.paint(); this.draw(); }
    else if (k >= '1' && k <= '5') { this.view.preset(Number(k) - 1); this.draw(); }
    else return this.tools.key(e);
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
