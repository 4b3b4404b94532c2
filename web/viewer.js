// One viewport: a series of slices (slices.js) drawn from their stored samples (frames.js),
// windowed, zoomed and panned (view.js), with the measurement tools (tools.js), OHIF's mouse
// buttons and hotkeys. The reader's page and the end-to-end test reach the parts only through
// this class, so its accessors below are all of the parts that they depend on.

import { fetchFrame, prefetch } from './frames.js';
import { drawOrientation, drawScaleBar, orientationLetters } from './marks.js';
import { Stack } from './slices.js';
import { Tools } from './tools.js';
import { View } from './view.js';

export class Viewport {
  constructor(element, { title = '', ...callbacks } = {}) {
    this.element = element;
    this.name = title; // 'prior' or 'current': the performance marks' names
    this.title = title;
    this.study = null; // the study's row of GET /api/studies: patient and date for the overlay
    this.callbacks = callbacks; // onMeasured, onDelete, onUndo, onConfirm, onCancel, onScroll, onSeries, onView
    this.showing = Promise.resolve(); // the latest slice being shown (the test times the wheel by it)
    this.firstImage = false; // a performance mark is due when the study's first image is drawn
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
  get display() { return this.view.display; } // window, zoom, pan and invert
  set display(d) { this.view.display = d; this.draw(); }
  toClient(point) { return this.view.toClient(point); }
  setTool(tool) { this.tools.setTool(tool); }
  markUnsaved(why) { this.tools.markUnsaved(why); }

  // Series of a study, from GET /api/series; opens the series holding the instance named
  // (at: {sop, frame}) on its slice, else the first series.
  async openStudy(studyUid, at = null) {
    this.firstImage = true;
    const first = await this.stack.openStudy(studyUid);
    if (at && await this.showInstance(at.sop, at.frame ?? 1, true)) return;
    await this.openSeries(first);
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
  async showInstance(sop, frame = 1, opening = false) {
    const found = await this.stack.find(sop, frame);
    if (!found) return false;
    if (found.switched || opening) this.callbacks.onSeries?.(this);
    await this.show(found.index);
    return true;
  }

  show(i) {
    this.showing = this.showSlice(i);
    return this.showing;
  }

  async showSlice(i) {
    if (!this.slices.length) return this.draw();
    this.stack.index = this.stack.clamp(i);
    const wanted = this.slice;
    const f = await fetchFrame(wanted.sop, wanted.frame);
    if (wanted !== this.slice) return; // scrolled on meanwhile
    this.view.frame = f;
    this.view.paint();
    this.draw();
    if (this.firstImage) {
      this.firstImage = false;
      performance.mark(`hepatrack:first-image:${this.name}`);
    }
    prefetch(this.slices, this.index);
  }

  // The slice nearest a table position; false when the slices have no positions.
  async showPosition(position) {
    const i = this.stack.nearest(position);
    if (i === null) return false;
    await this.show(i);
    return true;
  }

  scroll(delta, quiet = false) {
    const before = this.index;
    const target = this.stack.clamp(before + delta);
    if (target === before) return this.showing;
    const shown = this.show(target);
    if (!quiet) this.callbacks.onScroll?.(this, target - before);
    return shown;
  }

  // Window, zoom, pan or invert changed: drawn, and told to the reader (which may link them).
  changed() {
    this.draw();
    this.callbacks.onView?.(this);
  }

  draw() {
    const ctx = this.view.clear();
    if (!this.view.frame || !this.slices.length) {
      this.view.setText(this.slices.length ? 'loading…' : `${this.title}: no images`, '');
      return;
    }
    this.view.drawImage(ctx);
    this.tools.draw(ctx);
    drawOrientation(ctx, orientationLetters(this.slice.orientation));
    this.element.dataset.scaleMm = String(drawScaleBar(ctx, this.view.pxPerMm) ?? '');
    this.describe();
  }

  // Top left: whose image it is (patient, study date, series); bottom left: where in the
  // series and how it is shown.
  describe() {
    const { stack } = this, s = this.slice, series = stack.current ?? {}, study = this.study ?? {};
    const number = series.SeriesNumber != null ? `Se ${series.SeriesNumber} ` : '';
    const top = [
      `${this.title} · ${study.PatientID ?? ''}`,
      `${isoDate(study.StudyDate)} · ${study.StudyDescription ?? ''}`,
      `${number}${series.SeriesDescription ?? ''} (${stack.seriesIndex + 1}/${stack.series.length})`,
    ];
    const bottom = [
      `Im ${this.index + 1}/${this.slices.length}` + (s.number != null ? ` · #${s.number}` : ''),
      (s.position != null ? `Pos ${s.position.toFixed(1)} mm` : 'Pos —') + ' · ' +
        (stack.thickness != null ? `Thk ${Number(stack.thickness).toFixed(1)} mm` : 'Thk —'),
      this.view.caption(),
    ];
    if (this.pending?.label) bottom.push(this.pending.label);
    this.view.setText(top.join('\n'), bottom.join('\n'));
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
    if (this.drag.button !== 0 || this.drag.window) this.changed();
    else this.draw();
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
    else if (k === 'i') { this.view.invert(); this.changed(); }
    else if (k === ' ') { this.view.reset(); this.view.paint(); this.changed(); }
    else if (k >= '1' && k <= '5') { this.view.preset(Number(k) - 1); this.changed(); }
    else return this.tools.key(e);
    return true;
  }
}

// DICOM's YYYYMMDD as YYYY-MM-DD; anything else as it is.
export function isoDate(d) {
  return /^\d{8}$/.test(d ?? '') ? `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6)}` : d ?? '';
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
