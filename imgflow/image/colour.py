"""Colour spaces signalled by code points (nclx ``colr`` box, ISO/IEC 23091-2 = ITU-T H.273) as ICC profiles.

Many HEIC/AVIF files (Android phones, avifenc, ffmpeg) carry no ICC profile, only an nclx description: colour
primaries, transfer characteristics, matrix coefficients, range. The decoders apply the matrix and the range
(YCbCr -> RGB) but leave the RGB values in the file's own primaries and transfer. ``icc_for`` turns that
description into a small matrix/TRC ICC profile (v4, primaries Bradford-adapted to D50 as ICC requires), so
the ICC path in ``tasks.resize.renditions`` (LittleCMS) converts such a file to sRGB as it converts an
ICC-tagged one. An embedded ICC profile always wins over an nclx box.

* Primaries: BT.709/sRGB (1) need nothing; BT.470M (4), BT.601 (5, 6), SMPTE 240M (7), generic film (8),
  BT.2020 (9), DCI-P3 (11), Display P3 (12) and EBU 3213 (22) are converted; unspecified, reserved and
  unknown codes are treated as sRGB (what browsers do).
* Transfer: sRGB (13); the BT.709 OETF (1, 6, 14, 15), whose exact inverse ICC's parametric curve can
  express; gamma 2.2 (4) and 2.8 (5); linear (8). Anything else, unspecified included, is taken as sRGB.
  PQ (16) and HLG (18) are HDR signals: nothing here tone-maps them. Their values are taken as if
  sRGB-encoded and only the primaries are converted (the rendition keeps the flat look of an HDR signal
  shown as SDR, as before, but with the right hues).

Pillow's AVIF plugin reports no nclx box, so ``nclx_from_avif`` reads it from the container (ISO-BMFF
``meta/iprp/ipco/colr``, the one associated with the primary item when ``ipma`` says so); pillow-heif reports
HEIC's as ``info["nclx_profile"]``.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image

Chromaticity = tuple[float, float]
Matrix = tuple[tuple[float, float, float], tuple[float, float, float], tuple[float, float, float]]

_D65: Chromaticity = (0.3127, 0.3290)
_ILLUMINANT_C: Chromaticity = (0.310, 0.316)
#: H.273 colour primaries: red, green, blue, white (x, y). Code 1 (BT.709, sRGB's) is here for reference.
PRIMARIES: dict[int, tuple[Chromaticity, Chromaticity, Chromaticity, Chromaticity]] = {
    1: ((0.640, 0.330), (0.300, 0.600), (0.150, 0.060), _D65),
    4: ((0.67, 0.33), (0.21, 0.71), (0.14, 0.08), _ILLUMINANT_C),
    5: ((0.64, 0.33), (0.29, 0.60), (0.15, 0.06), _D65),
    6: ((0.630, 0.340), (0.310, 0.595), (0.155, 0.070), _D65),
    7: ((0.630, 0.340), (0.310, 0.595), (0.155, 0.070), _D65),
    8: ((0.681, 0.319), (0.243, 0.692), (0.145, 0.049), _ILLUMINANT_C),
    9: ((0.708, 0.292), (0.170, 0.797), (0.131, 0.046), _D65),
    11: ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060), (0.314, 0.351)),
    12: ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060), _D65),
    22: ((0.630, 0.340), (0.295, 0.605), (0.155, 0.077), _D65),
}
SRGB_PRIMARIES = 1

#: ICC parametric curves (``para``): (function type, parameters), decoding a signal value to linear light.
_SRGB_CURVE = (3, (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045))
#: Inverse of the BT.709 OETF (V = 1.099 L^0.45 - 0.099, or 4.5 L below L = 0.018): exact in this form.
_BT709_CURVE = (3, (1 / 0.45, 1 / 1.099, 0.099 / 1.099, 1 / 4.5, 0.081))
TRANSFER_CURVES: dict[int, tuple[int, tuple[float, ...]]] = {
    1: _BT709_CURVE,
    4: (0, (2.2,)),
    5: (0, (2.8,)),
    6: _BT709_CURVE,
    8: (0, (1.0,)),
    13: _SRGB_CURVE,
    14: _BT709_CURVE,
    15: _BT709_CURVE,
}
#: PQ and HLG: primaries only, no tone mapping (module doc).
HDR_TRANSFERS = frozenset({16, 18})

#: The ICC profile connection space's illuminant, D50 (as the header encodes it).
_D50_XYZ = (0.9642, 1.0, 0.8249)
_BRADFORD: Matrix = (
    (0.8951, 0.2664, -0.1614),
    (-0.7502, 1.7135, 0.0367),
    (0.0389, -0.0685, 1.0296),
)


@dataclass(frozen=True)
class Nclx:
    """An nclx colour description: H.273 code points and the full-range flag."""

    primaries: int
    transfer: int
    matrix: int
    full_range: bool


def nclx_of(im: Image.Image, data: bytes) -> Nclx | None:
    """The nclx description of an opened HEIC (pillow-heif's ``info``) or AVIF (read from ``data``)."""
    reported = im.info.get("nclx_profile")
    if isinstance(reported, Mapping):
        return nclx_from_info(reported)
    if im.format == "AVIF":
        return nclx_from_avif(data)
    return None


def nclx_from_info(info: Mapping[str, object]) -> Nclx | None:
    """pillow-heif's ``info["nclx_profile"]`` dict as an ``Nclx`` (None if it lacks the code points)."""
    primaries, transfer, matrix = (
        info.get(k) for k in ("color_primaries", "transfer_characteristics", "matrix_coefficients")
    )
    if not (isinstance(primaries, int) and isinstance(transfer, int) and isinstance(matrix, int)):
        return None
    return Nclx(primaries, transfer, matrix, bool(info.get("full_range_flag")))


#: Transfers far from sRGB's curve (gamma 2.8, linear): with sRGB's own primaries they still need converting
#: (a linear file shown as sRGB is far too dark). Gamma 2.2 and BT.709's curves are left as browsers treat
#: them, as sRGB.
FOREIGN_TRANSFERS = frozenset({5, 8})


def icc_for(nclx: Nclx | None) -> bytes | None:
    """A matrix/TRC RGB ICC profile for ``nclx``; None if sRGB's, unknown or absent (pixels left as is)."""
    if nclx is None or nclx.primaries not in PRIMARIES:
        return None
    if nclx.primaries == SRGB_PRIMARIES and nclx.transfer not in FOREIGN_TRANSFERS:
        return None
    return _profile(nclx.primaries, nclx.transfer)


# --- ISO-BMFF (AVIF) ---------------------------------------------------------------------------------------

#: At most this many boxes are looked at on any one level (a grid AVIF has a few dozen properties), and
#: this many ipma entries/associations in all.
_MAX_BOXES = 4096
_MAX_ASSOCIATIONS = 65536  # a 200 MP grid of 512 px tiles: ~800 items, ~2,400 associations


def nclx_from_avif(data: bytes) -> Nclx | None:
    """The nclx ``colr`` property of an AVIF's primary item (or its first one), read from the container.

    Untrusted bytes: every size is checked against its parent box, the walk is bounded and any malformation
    returns None.
    """
    try:
        meta = _child(data, 0, len(data), b"meta")
        if meta is None:
            return None
        start, end = meta[0] + 4, meta[1]  # meta is a FullBox
        iprp = _child(data, start, end, b"iprp")
        if iprp is None:
            return None
        ipco = _child(data, *iprp, b"ipco")
        if ipco is None:
            return None
        properties = [(kind, s, e) for kind, s, e in _boxes(data, *ipco)]
        candidates = [i for i, (kind, s, e) in enumerate(properties) if kind == b"colr" and _nclx(data, s, e)]
        if not candidates:
            return None
        associated = _primary_properties(data, start, end, iprp)
        chosen = next((i for i in associated if i in candidates), candidates[0])
        _, s, e = properties[chosen]
        return _nclx(data, s, e)
    except (struct.error, IndexError, ValueError):
        return None


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of the boxes in ``data[start:end]``; stops at the first bad size."""
    end = min(end, len(data))
    offset = start
    for _ in range(_MAX_BOXES):
        if offset + 8 > end:
            return
        size, kind = struct.unpack_from(">I4s", data, offset)
        header = 8
        if size == 1:
            if offset + 16 > end:
                return
            (size,) = struct.unpack_from(">Q", data, offset + 8)
            header = 16
        elif size == 0:  # to the end of the enclosing space
            size = end - offset
        if size < header or offset + size > end:
            return
        yield kind, offset + header, offset + size
        offset += size


def _child(data: bytes, start: int, end: int, kind: bytes) -> tuple[int, int] | None:
    return next(((s, e) for k, s, e in _boxes(data, start, end) if k == kind), None)


def _nclx(data: bytes, start: int, end: int) -> Nclx | None:
    """A ``colr`` payload of type nclx: primaries, transfer, matrix (u16 each), full-range flag (top bit)."""
    if end - start < 11 or data[start : start + 4] != b"nclx":
        return None
    primaries, transfer, matrix, flags = struct.unpack_from(">HHHB", data, start + 4)
    return Nclx(primaries, transfer, matrix, bool(flags & 0x80))


def _primary_properties(data: bytes, start: int, end: int, iprp: tuple[int, int]) -> list[int]:
    """0-based ipco indices of the properties ``ipma`` associates with the ``pitm`` item ([] if unknown)."""
    pitm = _child(data, start, end, b"pitm")
    ipma = _child(data, *iprp, b"ipma")
    if pitm is None or ipma is None or pitm[1] - pitm[0] < 6:
        return []
    version = data[pitm[0]]
    item = struct.unpack_from(">H" if version == 0 else ">I", data, pitm[0] + 4)[0]
    offset, stop = ipma
    if stop - offset < 8:
        return []
    version, flags = data[offset], int.from_bytes(data[offset + 1 : offset + 4], "big")
    (entries,) = struct.unpack_from(">I", data, offset + 4)
    offset += 8
    id_format, id_size = (">H", 2) if version < 1 else (">I", 4)
    wide = flags & 1
    seen = 0
    for _ in range(min(entries, _MAX_ASSOCIATIONS)):
        if offset + id_size + 1 > stop:
            return []
        (entry_item,) = struct.unpack_from(id_format, data, offset)
        count = data[offset + id_size]
        offset += id_size + 1
        width = 2 if wide else 1
        if offset + count * width > stop or seen + count > _MAX_ASSOCIATIONS:
            return []
        seen += count
        if entry_item == item:
            raw = [int.from_bytes(data[offset + i * width : offset + (i + 1) * width]) for i in range(count)]
            mask = 0x7FFF if wide else 0x7F
            return [(value & mask) - 1 for value in raw if value & mask]
        offset += count * width
    return []


# --- ICC profile -------------------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _profile(primaries: int, transfer: int) -> bytes:
    """ICC v4 display profile: D50-adapted colorants, one parametric curve for the three channels."""
    red, green, blue, white = PRIMARIES[primaries]
    to_xyz = _rgb_to_xyz(red, green, blue, white)
    adapt = _bradford(_xyz(white), _D50_XYZ)
    colorants = _mul(adapt, to_xyz)
    curve_type, params = TRANSFER_CURVES.get(transfer, _SRGB_CURVE)
    curve = b"para" + bytes(4) + struct.pack(">HH", curve_type, 0) + b"".join(_s15(p) for p in params)
    hdr = " (HDR: primaries only)" if transfer in HDR_TRANSFERS else ""
    name = f"imgflow nclx {primaries}/{transfer}{hdr}"
    tags: list[tuple[bytes, bytes]] = [
        (b"desc", _mluc(name)),
        (b"cprt", _mluc("No copyright, use freely")),
        (b"wtpt", _xyz_tag(_D50_XYZ)),
        (b"chad", b"sf32" + bytes(4) + b"".join(_s15(v) for row in adapt for v in row)),
        (b"rXYZ", _xyz_tag(tuple(row[0] for row in colorants))),
        (b"gXYZ", _xyz_tag(tuple(row[1] for row in colorants))),
        (b"bXYZ", _xyz_tag(tuple(row[2] for row in colorants))),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    return _assemble(tags)


def _assemble(tags: list[tuple[bytes, bytes]]) -> bytes:
    """Header, tag table and 4-byte-aligned tag data; identical tag data is stored once (the TRCs)."""
    table_size = 4 + 12 * len(tags)
    offset = 128 + table_size
    entries, blobs, placed = [], [], {}
    for signature, blob in tags:
        if blob not in placed:
            placed[blob] = offset
            padded = blob + bytes(-len(blob) % 4)
            blobs.append(padded)
            offset += len(padded)
        entries.append(struct.pack(">4sII", signature, placed[blob], len(blob)))
    size = offset
    header = bytearray(128)
    struct.pack_into(">I4sI4s4s4s", header, 0, size, b"lcms", 0x04300000, b"mntr", b"RGB ", b"XYZ ")
    struct.pack_into(">6H", header, 24, 2024, 1, 1, 0, 0, 0)
    header[36:40] = b"acsp"
    header[68:80] = b"".join(_s15(v) for v in _D50_XYZ)
    header[80:84] = b"imgf"
    body = bytes(header) + struct.pack(">I", len(tags)) + b"".join(entries) + b"".join(blobs)
    # Profile ID: MD5 of the profile with flags, rendering intent and the ID itself zeroed (all zero here).
    return body[:84] + hashlib.md5(body, usedforsecurity=False).digest() + body[100:]


def _mluc(text: str) -> bytes:
    encoded = text.encode("utf-16-be")
    return b"mluc" + bytes(4) + struct.pack(">II2s2sII", 1, 12, b"en", b"US", len(encoded), 28) + encoded


def _xyz_tag(xyz: tuple[float, ...]) -> bytes:
    return b"XYZ " + bytes(4) + b"".join(_s15(v) for v in xyz)


def _s15(value: float) -> bytes:
    """s15Fixed16Number."""
    return struct.pack(">i", round(value * 65536))


def _xyz(xy: Chromaticity) -> tuple[float, float, float]:
    x, y = xy
    return x / y, 1.0, (1 - x - y) / y


def _rgb_to_xyz(red: Chromaticity, green: Chromaticity, blue: Chromaticity, white: Chromaticity) -> Matrix:
    """The RGB -> XYZ matrix whose columns are the primaries, scaled so that RGB (1, 1, 1) is ``white``."""
    columns = [_xyz(c) for c in (red, green, blue)]
    m: Matrix = tuple(tuple(col[r] for col in columns) for r in range(3))  # type: ignore[assignment]
    scale = _apply(_inverse(m), _xyz(white))
    return tuple(tuple(m[r][c] * scale[c] for c in range(3)) for r in range(3))  # type: ignore[return-value]


def _bradford(source: tuple[float, ...], target: tuple[float, ...]) -> Matrix:
    """Bradford chromatic adaptation from white ``source`` to white ``target`` (XYZ)."""
    s, t = _apply(_BRADFORD, source), _apply(_BRADFORD, target)
    gain: Matrix = ((t[0] / s[0], 0.0, 0.0), (0.0, t[1] / s[1], 0.0), (0.0, 0.0, t[2] / s[2]))
    return _mul(_inverse(_BRADFORD), _mul(gain, _BRADFORD))


def _apply(m: Matrix, v: tuple[float, ...]) -> tuple[float, float, float]:
    a, b, c = (sum(m[r][k] * v[k] for k in range(3)) for r in range(3))
    return a, b, c


def _mul(a: Matrix, b: Matrix) -> Matrix:
    rows = (tuple(sum(a[r][k] * b[k][c] for k in range(3)) for c in range(3)) for r in range(3))
    return tuple(rows)  # type: ignore[return-value]


def _inverse(m: Matrix) -> Matrix:
    (a, b, c), (d, e, f), (g, h, i) = m
    det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
    adjugate = (
        (e * i - f * h, c * h - b * i, b * f - c * e),
        (f * g - d * i, a * i - c * g, c * d - a * f),
        (d * h - e * g, b * g - a * h, a * e - b * d),
    )
    return tuple(tuple(v / det for v in row) for row in adjugate)  # type: ignore[return-value]
