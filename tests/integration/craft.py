"""A Part 10 file built byte by byte, for transfer syntaxes no tool here writes (HTJ2K): explicit
VR little endian, one frame of encapsulated Pixel Data (PS3.5 A.4), a Basic Offset Table left
empty. Only what the index needs, and the Image Pixel module."""
import struct


def _element(group, element, vr, value):
    if isinstance(value, str):
        value = value.encode()
        if len(value) % 2:
            value += b"\0" if vr == "UI" else b" "
    if vr in ("OB", "OW", "SQ", "UN", "UT"):
        return struct.pack("<HH2sHI", group, element, vr.encode(), 0, len(value)) + value
    return struct.pack("<HH2sH", group, element, vr.encode(), len(value)) + value


def _us(group, element, v):
    return _element(group, element, "US", struct.pack("<H", v))


def encapsulated(path, ts, codestream, rows, columns, bits, uids, patient_id="CRAFT-1",
                 sop_class="1.2.840.10008.5.1.4.1.1.7"):
    """Write `codestream` (one frame) as Pixel Data in transfer syntax `ts`. `uids` gives the
    study, series and SOP instance UIDs."""
    study, series, sop = uids
    meta = (_element(2, 1, "OB", b"\0\1") + _element(2, 2, "UI", sop_class) +
            _element(2, 3, "UI", sop) + _element(2, 0x10, "UI", ts) +
            _element(2, 0x12, "UI", "2.25.1"))
    head = b"\0" * 128 + b"DICM" + _element(2, 0, "UL", struct.pack("<I", len(meta))) + meta
    frame = codestream + (b"\0" if len(codestream) % 2 else b"")
    pixels = (struct.pack("<HHI", 0xFFFE, 0xE000, 0) +
              struct.pack("<HHI", 0xFFFE, 0xE000, len(frame)) + frame +
              struct.pack("<HHI", 0xFFFE, 0xE0DD, 0))
    ds = (_element(8, 0x16, "UI", sop_class) + _element(8, 0x18, "UI", sop) +
          _element(8, 0x20, "DA", "20240601") + _element(8, 0x60, "CS", "OT") +
          _element(0x10, 0x10, "PN", "Craft^Test") + _element(0x10, 0x20, "LO", patient_id) +
          _element(0x20, 0x0D, "UI", study) + _element(0x20, 0x0E, "UI", series) +
          _element(0x20, 0x13, "IS", "1") +
          _us(0x28, 2, 1) + _element(0x28, 4, "CS", "MONOCHROME2") + _us(0x28, 0x10, rows) +
          _us(0x28, 0x11, columns) + _us(0x28, 0x100, bits) + _us(0x28, 0x101, bits) +
          _us(0x28, 0x102, bits - 1) + _us(0x28, 0x103, 0) +
          struct.pack("<HH2sHI", 0x7FE0, 0x10, b"OB", 0, 0xFFFFFFFF) + pixels)
    with open(path, "wb") as f:
        f.write(head + ds)
