// The series of a study and the slices of the one shown: what a viewport scrolls through. A
// slice is a frame, so a multi-frame instance is scrolled like a series of single frames.

import { all, enc } from './api.js';

// Position along the slice normal, from Image Position and Orientation (Patient).
export function slicePosition(inst) {
  const p = inst.ImagePositionPatient, o = inst.ImageOrientationPatient;
  if (!Array.isArray(p) || !Array.isArray(o) || p.length !== 3 || o.length !== 6) return null;
  const n = [o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5], o[0] * o[4] - o[1] * o[3]];
  return p[0] * n[0] + p[1] * n[1] + p[2] * n[2];
}

// A series' slices (one per frame), ordered by position when every slice has one. Each keeps its
// instance's orientation, for the overlay's letters.
export async function loadSlices(seriesUid) {
  const instances = await all(`/api/instances?series=${enc(seriesUid)}`);
  const slices = [];
  for (const inst of instances) {
    const count = Math.max(1, inst.NumberOfFrames ?? 1);
    const orientation = inst.ImageOrientationPatient?.length === 6 ? inst.ImageOrientationPatient : null;
    for (let frame = 1; frame <= count; frame++)
      slices.push({ sop: inst.SOPInstanceUID, frame, number: inst.InstanceNumber, orientation,
        position: count === 1 ? slicePosition(inst) : null });
  }
  if (slices.every((s) => s.position !== null))
    slices.sort((a, b) => a.position - b.position);
  return slices;
}

const NOT_IMAGES = ['SR', 'SEG', 'PR', 'KO']; // reports, segmentations, key objects: no slices
const bySeriesNumber = (a, b) => (a.SeriesNumber ?? 1e9) - (b.SeriesNumber ?? 1e9);

export class Stack {
  constructor() {
    this.series = [];
    this.seriesIndex = 0;
    this.slices = [];
    this.index = 0;
    this.loaded = new Map(); // series uid -> slices (promise): a study's series are listed once
  }

  get slice() { return this.slices[this.index]; }
  get thickness() { return this.series[this.seriesIndex]?.SliceThickness ?? null; }
  get current() { return this.series[this.seriesIndex]; }

  clamp(i) { return Math.min(this.slices.length - 1, Math.max(0, i)); }

  slicesOf(k) {
    const uid = this.series[k].SeriesInstanceUID;
    if (!this.loaded.has(uid)) {
      const pending = loadSlices(uid);
      pending.catch(() => this.loaded.delete(uid));
      this.loaded.set(uid, pending);
    }
    return this.loaded.get(uid);
  }

  // The study's image series, by series number. Answers the index of the series named, else 0.
  async openStudy(studyUid, seriesUid = null) {
    const items = await all(`/api/series?study=${enc(studyUid)}`);
    this.series = items.filter((s) => !NOT_IMAGES.includes(s.Modality)).sort(bySeriesNumber);
    this.loaded.clear();
    this.slices = [];
    this.seriesIndex = -1; // none shown yet
    return Math.max(0, this.series.findIndex((s) => s.SeriesInstanceUID === seriesUid));
  }

  // i wraps around, so that PageUp and PageDown cycle through the series.
  async openSeries(i) {
    const k = (i + this.series.length) % this.series.length;
    const slices = await this.slicesOf(k);
    this.seriesIndex = k;
    this.slices = slices;
    this.index = Math.floor(this.slices.length / 2);
  }

  // The index of an instance's frame, in the series shown or else in the one that has it (which
  // becomes the series shown: switched); null when none has it.
  async find(sop, frame) {
    const at = (slices) => slices.findIndex((s) => s.sop === sop && s.frame === frame);
    const i = at(this.slices);
    if (i >= 0) return { index: i, switched: false };
    for (let k = 0; k < this.series.length; k++) {
      if (k === this.seriesIndex) continue;
      const slices = await this.slicesOf(k);
      const j = at(slices);
      if (j >= 0) {
        this.seriesIndex = k;
        this.slices = slices;
        return { index: j, switched: true };
      }
    }
    return null;
  }

  // The slice nearest a table position (mm along the normal); null when the slices have none.
  nearest(position) {
    let best = null, distance = Infinity;
    this.slices.forEach((s, i) => {
      if (s.position == null) return;
      const d = Math.abs(s.position - position);
      if (d < distance) { best = i; distance = d; }
    });
    return best;
  }
}
