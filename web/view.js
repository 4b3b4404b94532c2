// What a viewport shows of a frame: its samples through the window, which is applied here in
// the browser so that changing it costs no request, and where the frame sits on the canvas.
// Points are in the frame's pixel coordinates as DICOM SCOORD has them: (0, 0) is the top-left
// pixel's corner.

// OHIF's presets, on keys 1 to 5.
export const PRESETS = [
  { name: 'soft-tissue', center: 40, width: 400 },
  { name: 'lung', center: -600, width: 1500 },
  { name: 'liver', center: 90, width: 150 },
  { name: 'bone', center: 480, width: 2500 },
  { name: 'brain', center: 40, width: 80 },
];

export class View {
  constructor(element) {
    this.element = element;
    this.canvas = document.createElement('canvas');
    // The overlay's text in two corners (the letters and the scale bar are on the canvas).
    this.overlay = document.createElement('div');
    this.overlay.className = 'overlay';
    this.corners = { top: document.createElement('div'), bottom: document.createElement('div') };
    this.corners.top.className = 'corner top';
    this.corners.bottom.className = 'corner bottom';
    this.overlay.append(this.corners.top, this.corners.bottom);
    element.replaceChildren(this.canvas, this.overlay);
    this.offscreen = document.createElement('canvas'); // the windowed frame, before zoom and pan
    this.frame = null;
    this.reset();
  }

  reset() {
    this.zoom = 1;
    this.pan = [0, 0];
    this.inverted = false;
    this.voi = null; // null: the file's window, else the full range
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
  }

  preset(n) {
    const p = PRESETS[n];
    if (p) this.setWindow(p.center, p.width);
  }

  // A left drag with the window tool: the steps grow with the width, so that a wide window is
  // not dragged pixel by pixel.
  windowBy(dx, dy) {
    const w = this.window(), k = Math.max(1, w.width / 256);
    this.setWindow(w.center + dy * k, w.width + dx * k);
  }

  zoomBy(dy) {
    this.zoom = Math.min(20, Math.max(0.1, this.zoom * Math.exp(-dy / 150)));
  }

  panBy(dx, dy) {
    this.pan = [this.pan[0] + dx, this.pan[1] + dy];
  }

  invert() {
    this.inverted = !this.inverted;
    this.paint();
  }

  // What the reader changed of the picture, as another viewport copies it ("Link W/L and zoom").
  get display() {
    return { voi: this.voi && { ...this.voi }, zoom: this.zoom, pan: [...this.pan], inverted: this.inverted };
  }

  set display(d) {
    const repaint = this.inverted !== d.inverted || JSON.stringify(this.voi) !== JSON.stringify(d.voi);
    Object.assign(this, { voi: d.voi && { ...d.voi }, zoom: d.zoom, pan: [...d.pan], inverted: d.inverted });
    if (repaint) this.paint();
  }

  // Canvas pixels per millimetre along the rows (null without Pixel Spacing).
  get pxPerMm() {
    const sp = this.frame?.spacing;
    return sp ? this.scale / sp[1] : null;
  }

  setText(top, bottom) {
    this.corners.top.textContent = top;
    this.corners.bottom.textContent = bottom;
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

  // Sized here rather than once: the viewport draws again whenever its element is resized.
  clear() {
    const w = this.element.clientWidth, h = this.element.clientHeight;
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
    }
    const ctx = this.canvas.getContext('2d');
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, w, h);
    return ctx;
  }

  drawImage(ctx) {
    const s = this.scale, [ox, oy] = this.toCanvas([0, 0]);
    // Bilinear (or better) at every scale: a zoomed slice shows no blocks.
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(this.offscreen, ox, oy, this.frame.columns * s, this.frame.rows * s);
  }

  // The overlay's line for what the reader changed of the picture.
  caption() {
    const w = this.window(), inverted = this.inverted ? ' · inverted' : '';
    return `W ${Math.round(w.width)} L ${Math.round(w.center)}${inverted} · ${this.zoom.toFixed(2)}×`;
  }
}
