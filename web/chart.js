// A subject's response chart: the target sum (mm) above and its % change from baseline below,
// each on its own axis with ticks, sharing the days from baseline. The −30 % (response) and
// +20 % (progression) lines belong to the % axis only. Each point is coloured by the time
// point's overall response (legend), and the value labels are placed so that none overlaps
// another.

const SVG = 'http://www.w3.org/2000/svg';
const W = 640, L = 56, R = 64;
const SUM = { top: 34, bottom: 164 }, PCT = { top: 196, bottom: 326 };
const AXIS_Y = PCT.bottom, H = 392;
const CHAR = 7, LINE = 13; // the 11px labels' advance per character and height, for placement

export function el(tag, attrs = {}, text) {
  const e = tag.startsWith('svg:') ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

export const pct = (v) => (v == null ? '' : `${v > 0 ? '+' : ''}${v} %`);

// Round tick values (1, 2, 5 × 10^n apart) from at or below lo to at or above hi: the first and
// last ticks are the axis's ends.
export function ticks(lo, hi, count = 5) {
  const raw = (hi - lo) / count, mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * mag).find((s) => s >= raw);
  const out = [];
  const last = Math.ceil(hi / step - 1e-9) * step;
  for (let v = Math.floor(lo / step + 1e-9) * step; v <= last + 1e-9; v += step) out.push(Math.round(v * 1e6) / 1e6);
  return out;
}

// Label boxes placed one by one: each takes the first of its candidate spots inside the bounds
// that overlaps none placed before it (nor the reserved boxes), else the last candidate.
class Placer {
  constructor(reserved = [], bounds = { x0: 2, x1: W - 2, y0: 0, y1: H }) {
    this.boxes = [...reserved];
    this.bounds = bounds;
  }

  place(text, candidates) {
    const w = text.length * CHAR;
    const box = ([x, y, anchor]) => {
      const x0 = anchor === 'end' ? x - w : anchor === 'middle' ? x - w / 2 : x;
      return { x0, x1: x0 + w, y0: y - LINE + 3, y1: y + 3 };
    };
    const { bounds } = this;
    const free = (b) => b.x0 >= bounds.x0 && b.x1 <= bounds.x1 && b.y0 >= bounds.y0 && b.y1 <= bounds.y1 &&
      !this.boxes.some((o) => b.x0 < o.x1 && o.x0 < b.x1 && b.y0 < o.y1 && o.y0 < b.y1);
    const spot = candidates.find((c) => free(box(c))) ?? candidates.at(-1);
    this.boxes.push(box(spot));
    return spot;
  }
}

// Spots around a point: above, below, right, left, then further out.
const around = (x, y) => [0, 1, 2].flatMap((k) => {
  const d = k * LINE;
  return [[x, y - 8 - d, 'middle'], [x, y + 17 + d, 'middle'], [x + 8, y + 4 - d, 'start'],
    [x - 8, y + 4 - d, 'end'], [x + 8, y + 4 + d, 'start'], [x - 8, y + 4 + d, 'end']];
});

function axis(svg, name, panel, values, y, format) {
  svg.append(el('svg:line', { x1: L, x2: L, y1: panel.top, y2: panel.bottom, class: 'axis' }));
  for (const v of values) {
    const g = el('svg:g', { class: 'tick', 'data-axis': name, 'data-value': v });
    g.append(el('svg:line', { x1: L - 4, x2: W - R, y1: y(v), y2: y(v), class: 'grid' }),
      el('svg:text', { x: L - 7, y: y(v) + 4, class: 'label tick-label', 'text-anchor': 'end' }, format(v)));
    svg.append(g);
  }
}

const responseClass = (p) => `response-${p.overall ?? 'none'}`;

export function chart(timeline) {
  const points = timeline.timepoints.filter((p) => p.sum_mm != null);
  const svg = el('svg:svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img',
    'aria-label': 'target sum (mm) and change from baseline (%)' });
  if (!points.length) return svg;
  const day = (p) => p.days_from_baseline ?? 0;
  const maxDay = Math.max(1, ...points.map(day));
  const x = (d) => L + 36 + (d / maxDay) * (W - L - R - 72); // room for a label centred on each point
  const sumTicks = ticks(0, Math.max(10, ...points.map((p) => p.sum_mm)) * 1.1);
  const sumHi = sumTicks.at(-1);
  const ySum = (s) => SUM.bottom - (s / sumHi) * (SUM.bottom - SUM.top);
  const changes = points.map((p) => p.change_from_baseline_pct ?? 0);
  const pctTicks = ticks(Math.min(-40, ...changes) - 5, Math.max(30, ...changes) + 5);
  const [lo, hi] = [pctTicks[0], pctTicks.at(-1)];
  const yPct = (c) => PCT.bottom - ((c - lo) / (hi - lo)) * (PCT.bottom - PCT.top);

  svg.append(el('svg:text', { x: 4, y: SUM.top - 14, class: 'legend-sum' }, 'Target sum (mm)'),
    el('svg:text', { x: 4, y: PCT.top - 12, class: 'legend-change' }, 'Change from baseline (%)'));
  axis(svg, 'sum', SUM, sumTicks, ySum, (v) => `${v}`);
  axis(svg, 'pct', PCT, pctTicks, yPct, (v) => pct(v) || '0 %');
  svg.append(el('svg:line', { x1: L, y1: AXIS_Y, x2: W - R, y2: AXIS_Y, class: 'axis' }));
  for (const [value, name, text] of [[-30, 'line-response', '-30 % PR'], [20, 'line-progression', '+20 % PD']]) {
    svg.append(el('svg:line', { x1: L, x2: W - R, y1: yPct(value), y2: yPct(value), class: name, 'data-value': value }),
      el('svg:text', { x: W - R + 4, y: yPct(value) + 4, class: 'label' }, text));
  }
  const line = (f, cls) => el('svg:polyline', { class: cls, fill: 'none',
    points: points.map((p) => `${x(day(p))},${f(p)}`).join(' ') });
  svg.append(line((p) => ySum(p.sum_mm), 'series-sum'),
    line((p) => yPct(p.change_from_baseline_pct ?? 0), 'series-change'));

  // Markers first, so that the labels avoid every marker as well as each other.
  const markers = [];
  for (const p of points) {
    const cx = x(day(p));
    for (const [cy, series] of [[ySum(p.sum_mm), 'sum'], [yPct(p.change_from_baseline_pct ?? 0), 'pct']]) {
      svg.append(el('svg:circle', { cx, cy, r: 4.5, class: `point ${responseClass(p)}`,
        'data-series': series, 'data-timepoint': p.label }));
      markers.push({ x0: cx - 5, x1: cx + 5, y0: cy - 5, y1: cy + 5 });
    }
  }
  // Inside the plots, clear of the titles and the legend above and of the axis's names below.
  const title = { x0: 0, x1: 4 + 26 * CHAR, y0: PCT.top - 12 - LINE, y1: PCT.top - 8 };
  const placer = new Placer([...markers, title], { x0: L + 2, x1: W - R - 2, y0: SUM.top - 10, y1: AXIS_Y - 2 });
  for (const p of points) {
    const cx = x(day(p));
    const sumText = `${p.sum_mm} mm`;
    const [sx, sy, sa] = placer.place(sumText, around(cx, ySum(p.sum_mm)));
    svg.append(el('svg:text', { x: sx, y: sy, 'text-anchor': sa, class: 'label value' }, sumText));
    const change = p.change_from_baseline_pct == null ? 'baseline' : pct(p.change_from_baseline_pct);
    const pctText = `${change}${p.overall ? ` ${p.overall}` : ''}`;
    const [px, py, pa] = placer.place(pctText, around(cx, yPct(p.change_from_baseline_pct ?? 0)));
    svg.append(el('svg:text', { x: px, y: py, 'text-anchor': pa, class: `label value ${responseClass(p)}` }, pctText));
  }
  // Time point names under the axis, staggered in rows when close together.
  const names = new Placer();
  for (const p of points) {
    const cx = x(day(p));
    const rows = [0, 1, 2].map((r) => [cx, AXIS_Y + 16 + r * LINE, 'middle']);
    const [nx, ny] = names.place(p.label, rows);
    svg.append(el('svg:text', { x: nx, y: ny, class: 'label', 'text-anchor': 'middle' }, p.label));
  }
  legend(svg);
  return svg;
}

function legend(svg) {
  let lx = W - R - 330;
  for (const [cls, text] of [['response-CR', 'CR'], ['response-PR', 'PR'], ['response-SD', 'SD'],
    ['response-non-CR/non-PD', 'non-CR/non-PD'], ['response-PD', 'PD'], ['response-NE', 'NE / none']]) {
    svg.append(el('svg:circle', { cx: lx, cy: 12, r: 4.5, class: `point ${cls}` }),
      el('svg:text', { x: lx + 8, y: 16, class: 'label legend' }, text));
    lx += 14 + text.length * CHAR + 10;
  }
  svg.append(el('svg:text', { x: L, y: H - 6, class: 'label' }, 'days from baseline →'));
}
