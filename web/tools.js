// The left mouse button's tools and what they draw over a slice: the stored annotations and the
// caliper being drawn. Length is a drag or two clicks; Bidirectional a drag for the long axis,
// then the ends of the perpendicular that appears, then Enter; Ellipse a drag. A split target's
// fragments are Length calipers that the reader's page gathers: an Enter that no bidirectional
// caliper awaits is that page's.

const HANDLE_PX = 6;

const dist = (a, b) => Math.hypot(a[0] - b[0], a[1] - b[1]);

// Millimetres of a segment on a frame (the server computes what is stored; this is a preview).
export function lengthMm(spacing, a, b) {
  if (!spacing) return null;
  return Math.hypot((b[0] - a[0]) * spacing[1], (b[1] - a[1]) * spacing[0]);
}

export class Tools {
  constructor(viewport) {
    this.viewport = viewport; // the slice shown, its callbacks, and drawing again
    this.view = viewport.view;
    this.tool = 'window';
    this.annotations = []; // {id, label, sop, frame, tool, points, roi}
    this.pending = null; // a caliper being drawn
    this.selected = null; // id of a selected annotation
  }

  setTool(tool) {
    this.tool = tool;
    this.pending = null;
    this.viewport.draw();
  }

  cancel() {
    this.pending = null;
    this.viewport.draw();
  }

  here() {
    const here = this.viewport.slice;
    return this.annotations.filter((a) => a.sop === here.sop && a.frame === here.frame);
  }

  draw(ctx) {
    for (const a of this.here()) this.drawAnnotation(ctx, a, a.id === this.selected);
    if (this.pending) this.drawAnnotation(ctx, this.pending, true);
  }

  drawAnnotation(ctx, a, highlighted) {
    const toCanvas = (p) => this.view.toCanvas(p);
    // A caliper the server has not stored (refused, or waiting for a reason) is red and dashed.
    const colour = a.unsaved ? '#ff5252' : highlighted ? '#ffd54a' : '#4af2a1';
    ctx.strokeStyle = colour;
    ctx.fillStyle = colour;
    ctx.lineWidth = 1.5;
    ctx.setLineDash(a.unsaved ? [6, 4] : []);
    ctx.font = '12px sans-serif';
    const pts = (a.points ?? []).map(toCanvas);
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
        ctx.lineTo(...toCanvas(a.hover));
        ctx.stroke();
      }
    }
    if (a.roi) {
      const [p, q] = a.roi.map(toCanvas);
      ctx.beginPath();
      ctx.ellipse((p[0] + q[0]) / 2, (p[1] + q[1]) / 2, Math.abs(q[0] - p[0]) / 2,
        Math.abs(q[1] - p[1]) / 2, 0, 0, 2 * Math.PI);
      ctx.stroke();
    }
    ctx.setLineDash([]);
    const anchor = pts[1] ?? pts[0] ?? (a.roi ? toCanvas(a.roi[1]) : null);
    if (anchor && a.label) { // outlined, to read on bright and inverted images alike
      ctx.lineWidth = 3;
      ctx.strokeStyle = '#000';
      ctx.strokeText(a.label, anchor[0] + 6, anchor[1] - 6);
      ctx.fillStyle = colour;
      ctx.fillText(a.label, anchor[0] + 6, anchor[1] - 6);
    }
  }

  // The caliper being drawn was not stored: it stays on screen marked as such until the reader
  // draws again or cancels.
  markUnsaved(why) {
    if (!this.pending) return;
    this.pending.unsaved = true;
    this.pending.dragging = false;
    this.label();
    this.pending.label = `${this.pending.label ?? ''} unsaved: ${why}`.trim();
    this.viewport.draw();
  }

  // ---- the left button ----------------------------------------------------------------------

  down(p, drag) {
    if (this.tool === 'window') {
      drag.window = true;
      this.select(p);
    } else if (this.tool === 'length') {
      if (this.pending?.tool === 'length' && this.pending.points.length === 1) drag.second = true;
      else this.pending = { tool: 'length', points: [p, p], dragging: true };
    } else if (this.tool === 'bidirectional') {
      const handle = this.pending?.tool === 'bidirectional' && this.pending.complete
        ? this.handleNear(p) : -1;
      if (handle >= 2) drag.handle = handle;
      else this.pending = { tool: 'bidirectional', points: [p, p], dragging: true };
    } else if (this.tool === 'ellipse') {
      this.pending = { tool: 'ellipse', roi: [p, p], dragging: true };
    }
  }

  // Clicking on a drawn caliper selects it (Backspace deletes it).
  select(p) {
    const near = (q) => dist(this.view.toCanvas(q), this.view.toCanvas(p)) <= HANDLE_PX;
    const hit = this.here().find((a) => (a.points ?? []).concat(a.roi ?? []).some(near));
    const id = hit ? hit.id : null;
    if (id !== this.selected) {
      this.selected = id;
      this.viewport.draw();
    }
  }

  handleNear(p) {
    const pts = this.pending.points;
    for (let i = pts.length - 1; i >= 0; i--)
      if (dist(this.view.toCanvas(pts[i]), this.view.toCanvas(p)) <= HANDLE_PX) return i;
    return -1;
  }

  // The rubber band between a length's two clicks, drawn while no button is held.
  hover(event) {
    if (this.pending?.tool === 'length' && this.pending.points.length === 1) {
      this.pending.hover = this.view.eventPoint(event);
      this.viewport.draw();
    }
  }

  move(p, drag, dx, dy) {
    if (this.tool === 'window' && drag.window) {
      this.view.windowBy(dx, dy);
    } else if (this.pending?.dragging) {
      if (this.pending.roi) this.pending.roi[1] = p;
      else this.pending.points[1] = p;
    } else if (drag.handle !== undefined) {
      this.movePerpendicular(drag.handle, p);
    } else if (drag.second) {
      this.pending.points[1] = p;
    }
  }

  up(event, drag) {
    if (!this.pending) return;
    const moved = Math.hypot(event.clientX - drag.start[0], event.clientY - drag.start[1]) > 3;
    const p = this.view.eventPoint(event);
    const m = this.pending;
    if (m.tool === 'length') {
      if (drag.second) { m.points = [m.points[0], p]; return this.complete(); }
      if (moved) { m.points[1] = p; return this.complete(); }
      m.points = [m.points[0]]; // the first of two clicks
      m.dragging = false;
    } else if (m.tool === 'bidirectional' && m.dragging) {
      m.dragging = false;
      if (!moved) { this.pending = null; return this.viewport.draw(); }
      m.points[1] = p;
      this.addPerpendicular();
    } else if (m.tool === 'ellipse' && m.dragging) {
      m.dragging = false;
      if (!moved) { this.pending = null; return this.viewport.draw(); }
      m.roi[1] = p;
      return this.complete();
    }
    this.label();
    this.viewport.draw();
  }

  // ---- the bidirectional caliper ------------------------------------------------------------

  // mm-space directions, so that "perpendicular" holds on anisotropic pixels too.
  axes() {
    const sp = this.view.frame.spacing ?? [1, 1];
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

  // ---- finishing ----------------------------------------------------------------------------

  label() {
    const m = this.pending, sp = this.view.frame?.spacing;
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
    else this.viewport.callbacks.onConfirm?.(this.viewport);
  }

  complete() {
    const m = this.pending, s = this.viewport.slice;
    const round = (p) => [Math.round(p[0] * 100) / 100, Math.round(p[1] * 100) / 100];
    const out = { tool: m.tool, sop: s.sop, frame: s.frame };
    if (m.points) out.points = m.points.map(round);
    if (m.roi) out.roi = m.roi.map(round);
    this.label();
    this.viewport.draw();
    this.viewport.callbacks.onMeasured?.(this.viewport, out);
  }

  // The keys that act on the caliper or the annotations; false for the others.
  key(e) {
    const k = e.key, v = this.viewport, callbacks = v.callbacks;
    if (k === 'Escape') { this.cancel(); callbacks.onCancel?.(v); }
    else if (k === 'Enter') this.confirm();
    else if (k === 'Backspace' || k === 'Delete') {
      if (this.pending) this.cancel();
      else if (this.selected) callbacks.onDelete?.(v, this.selected);
    } else if ((e.ctrlKey || e.metaKey) && k === 'z') {
      if (this.pending) this.cancel();
      else callbacks.onUndo?.(v);
    } else return false;
    return true;
  }
}
