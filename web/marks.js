// What a radiologist reads off the edges of an image: the orientation letters (PS3.3
// C.7.6.2.1.1: the patient's directions along the rows and columns of Image Orientation
// (Patient)) and a scale bar in millimetres. Drawn on the canvas with a dark outline so that they
// read on any image, inverted ones too.

// Patient axes (LPS): +x left, +y posterior, +z head.
const LETTERS = [['L', 'R'], ['P', 'A'], ['H', 'F']];
// A direction is named by every axis it leans along by more than this (about 15°), the
// strongest first, so that an oblique plane reads "RA" rather than the nearest single letter.
const OBLIQUE = 0.25;

export function directionLetters(v) {
  return [0, 1, 2].filter((k) => Math.abs(v[k]) > OBLIQUE)
    .sort((a, b) => Math.abs(v[b]) - Math.abs(v[a]))
    .map((k) => LETTERS[k][v[k] > 0 ? 0 : 1]).join('');
}

// The letters at the image's edges: the row direction (first three values) points to the right
// edge, the column direction to the bottom.
export function orientationLetters(o) {
  if (!o) return null;
  const row = o.slice(0, 3), col = o.slice(3, 6), neg = (v) => v.map((x) => -x);
  return { left: directionLetters(neg(row)), right: directionLetters(row),
    top: directionLetters(neg(col)), bottom: directionLetters(col) };
}

// The longest round length (1, 2, 5 × 10^n mm) whose bar fits in the given number of pixels.
export function scaleLength(pxPerMm, maxPx) {
  let best = null;
  for (const mm of [1, 2, 5, 10, 20, 50, 100, 200, 500]) if (mm * pxPerMm <= maxPx) best = mm;
  return best;
}

const scaleText = (mm) => (mm >= 10 ? `${mm / 10} cm` : `${mm} mm`);

function outlined(ctx, text, x, y) {
  ctx.lineWidth = 3;
  ctx.strokeStyle = '#000';
  ctx.lineJoin = 'round';
  ctx.strokeText(text, x, y);
  ctx.fillStyle = '#fff';
  ctx.fillText(text, x, y);
}

export function drawOrientation(ctx, letters) {
  if (!letters) return;
  const { width: w, height: h } = ctx.canvas, m = 8;
  ctx.font = 'bold 15px sans-serif';
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'left';
  outlined(ctx, letters.left, m, h / 2);
  ctx.textAlign = 'right';
  outlined(ctx, letters.right, w - m, h / 2);
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  outlined(ctx, letters.top, w / 2, m);
  ctx.textBaseline = 'bottom';
  outlined(ctx, letters.bottom, w / 2, h - m);
  ctx.textAlign = 'start';
  ctx.textBaseline = 'alphabetic';
}

// A horizontal bar at the bottom right; answers its length in mm (null without pixel spacing).
export function drawScaleBar(ctx, pxPerMm) {
  if (!(pxPerMm > 0)) return null;
  const { width: w, height: h } = ctx.canvas;
  const mm = scaleLength(pxPerMm, w / 4);
  if (!mm) return null;
  const len = mm * pxPerMm, x1 = w - 16, x0 = x1 - len, y = h - 18;
  ctx.lineCap = 'square';
  for (const [colour, width] of [['#000', 5], ['#fff', 2]]) {
    ctx.strokeStyle = colour;
    ctx.lineWidth = width;
    ctx.beginPath();
    ctx.moveTo(x0, y - 6);
    ctx.lineTo(x0, y);
    ctx.lineTo(x1, y);
    ctx.lineTo(x1, y - 6);
    ctx.stroke();
  }
  ctx.font = '12px sans-serif';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'bottom';
  outlined(ctx, scaleText(mm), (x0 + x1) / 2, y - 3);
  ctx.textAlign = 'start';
  ctx.textBaseline = 'alphabetic';
  return mm;
}
