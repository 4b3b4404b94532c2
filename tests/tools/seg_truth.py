#!/usr/bin/python3
"""Print each segment of the given SEG files as pydicom and numpy see them, independently of
DCMTK: number, label, codes, frames, voxels (fractional: sum / Maximum Fractional Value), the
slice spacing from the frames' positions along the normal, and the volume in mL. The figures in
tests/unit/test_seg.c were taken from this (Debian's python3-pydicom and python3-numpy)."""
import sys

import numpy as np
import pydicom


def spacing(ds):
    shared = ds.SharedFunctionalGroupsSequence[0]
    pm = shared.PixelMeasuresSequence[0]
    rows, cols = (float(v) for v in pm.PixelSpacing)
    frames = ds.PerFrameFunctionalGroupsSequence
    try:
        ori = shared.PlaneOrientationSequence[0].ImageOrientationPatient
    except AttributeError:
        ori = frames[0].PlaneOrientationSequence[0].ImageOrientationPatient
    normal = np.cross([float(v) for v in ori[:3]], [float(v) for v in ori[3:]])
    along = sorted({round(float(np.dot([float(v) for v in f.PlanePositionSequence[0]
                                        .ImagePositionPatient], normal)), 6) for f in frames})
    gaps = [b - a for a, b in zip(along, along[1:]) if b - a > 1e-3]
    if gaps:
        return rows, cols, min(gaps), "frame positions"
    if pm.get("SpacingBetweenSlices"):
        return rows, cols, float(pm.SpacingBetweenSlices), "spacing between slices"
    return rows, cols, float(pm.SliceThickness), "slice thickness"


for path in sys.argv[1:]:
    ds = pydicom.dcmread(path)
    print(f"== {path} frames={ds.get('NumberOfFrames')} per-frame items={len(ds.PerFrameFunctionalGroupsSequence)} {ds.SegmentationType} {ds.get('SegmentationFractionalType', '')}")
    if ds.SOPClassUID != "1.2.840.10008.5.1.4.1.1.66.4":
        print("   not a binary or fractional SEG:", ds.SOPClassUID)
        continue
    try:
        px = ds.pixel_array
    except Exception as e:  # pydicom 2.3 cannot decode every transfer syntax
        print("   pixels not decoded:", e)
        continue
    px = px.reshape((-1, ds.Rows, ds.Columns)).astype(np.float64)
    r, c, s, source = spacing(ds)
    maxv = float(ds.get("MaximumFractionalValue", 1))
    for seg in ds.SegmentSequence:
        n = seg.SegmentNumber
        idx = [i for i, f in enumerate(ds.PerFrameFunctionalGroupsSequence)
               if f.SegmentIdentificationSequence[0].ReferencedSegmentNumber == n
               and i < px.shape[0]]  # more frame descriptions than frames: only the frames
        vox = px[idx].sum() / maxv if ds.SegmentationType == "FRACTIONAL" else (px[idx] > 0).sum()
        cat = seg.SegmentedPropertyCategoryCodeSequence[0]
        typ = seg.SegmentedPropertyTypeCodeSequence[0]
        print(f"   {n} {seg.SegmentLabel!r} {seg.SegmentAlgorithmType} "
              f"{cat.CodingSchemeDesignator}:{cat.CodeValue} {typ.CodingSchemeDesignator}:"
              f"{typ.CodeValue} frames={len(idx)} voxels={vox:.6f} spacing={r}x{c}x{s:.6f} "
              f"({source}) volume_ml={vox * r * c * s / 1000:.6f}")
