// A side's series strip: a tile per image series of its study with the server's thumbnail
// (GET /api/series/{uid}/thumbnail), description, number of images and slice thickness.
// Choosing a tile loads that series into the side's viewport.

import { enc } from './api.js';

function tile(series, onChoose) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'tile';
  b.dataset.series = series.SeriesInstanceUID;
  const label = [series.SeriesNumber != null ? `${series.SeriesNumber}` : '', series.SeriesDescription ?? '']
    .filter(Boolean).join(' · ') || series.Modality || 'series';
  const img = document.createElement('img');
  img.alt = label;
  img.loading = 'lazy';
  // Without a thumbnail (an older server, or one that cannot render it) the tile keeps its text.
  img.addEventListener('error', () => b.classList.add('no-thumb'), { once: true });
  img.src = `/api/series/${enc(series.SeriesInstanceUID)}/thumbnail`;
  const caption = document.createElement('span');
  caption.className = 'caption';
  const n = series.NumberOfInstances;
  const thickness = series.SliceThickness != null ? ` · ${Number(series.SliceThickness).toFixed(1)} mm` : '';
  caption.textContent = `${label}\n${n ?? '?'} image${n === 1 ? '' : 's'}${thickness}`;
  b.title = caption.textContent.replace('\n', ', ');
  b.append(img, caption);
  b.addEventListener('click', () => onChoose(series));
  return b;
}

// Tiles for the viewport's series; the one shown is marked (called again on every change).
export function renderStrip(element, viewport) {
  const uids = viewport.series.map((s) => s.SeriesInstanceUID).join(' ');
  if (element.dataset.uids !== uids) {
    element.dataset.uids = uids;
    element.replaceChildren(...viewport.series.map((s, i) => tile(s, () => viewport.openSeries(i))));
  }
  const shown = viewport.stack.current?.SeriesInstanceUID;
  for (const t of element.children) t.classList.toggle('on', t.dataset.series === shown);
}
