"""Image facts and EXIF from the original's header, without decoding pixels. Pure image logic.

Best effort by design: every field is parsed on its own and a malformed one becomes ``None``; only an
unopenable image raises (a named rejection from ``imgflow.image.opening``), and validate has already ruled
that out.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from PIL import ExifTags, Image

from imgflow.config import Limits
from imgflow.errors import ImageRejected
from imgflow.image.opening import (
    display_size,
    frame_count,
    open_image,
    orientation,
    read_exif,
    recorded_orientation,
)

#: Longest string kept from EXIF: hostile files must not blow the 256 KiB state payload.
MAX_STRING = 128

_Base = ExifTags.Base
_GPS = ExifTags.GPS
_DATETIME = re.compile(r"(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET = re.compile(r"[+-](?:0\d|1[0-4]):[0-5]\d|Z")


def extract_metadata(data: bytes, limits: Limits) -> dict[str, Any]:
    """Format, stored and displayed size, frames, mode, ICC presence and selected EXIF, JSON-ready.

    ``width``/``height`` are as displayed (swapped for EXIF/XMP orientation 5-8). HEIC: libheif applies the
    file's transforms while decoding, so its size is already as displayed (``stored_*`` is the same), and
    ``exif.orientation`` is the value the file records, as exiftool reads it.
    """
    with open_image(data, limits) as im:
        exif = read_exif(im, data)
        orient = orientation(exif)
        width, height = display_size(im.size, orient)
        orient = recorded_orientation(im, exif)
        return {
            "format": im.format,
            "width": width,
            "height": height,
            "stored_width": im.width,
            "stored_height": im.height,
            "frames": _frames(im),
            "mode": im.mode,
            "has_icc": bool(im.info.get("icc_profile")),
            "exif": _exif_fields(exif, orient),
        }


def _frames(im: Image.Image) -> int:
    try:
        return frame_count(im)
    except ImageRejected:
        return 1


def _exif_fields(exif: Image.Exif, orient: int | None) -> dict[str, Any]:
    ifd0: Any = exif
    exif_ifd = _ifd(exif, ExifTags.IFD.Exif)
    return {
        "make": _field(_string, ifd0, _Base.Make),
        "model": _field(_string, ifd0, _Base.Model),
        "lens_model": _field(_string, exif_ifd, _Base.LensModel) or _field(_string, ifd0, _Base.LensModel),
        "taken_at": _taken_at(ifd0, exif_ifd),
        "exposure_time": _field(_number, exif_ifd, _Base.ExposureTime),
        "f_number": _field(_number, exif_ifd, _Base.FNumber),
        "iso": _field(_integer, exif_ifd, _Base.ISOSpeedRatings)
        or _field(_integer, exif_ifd, _Base.ISOSpeed),
        "focal_length": _field(_number, exif_ifd, _Base.FocalLength),
        "orientation": orient,
        "gps": _gps(_ifd(exif, ExifTags.IFD.GPSInfo)),
    }


def _ifd(exif: Image.Exif, tag: int) -> dict[int, Any]:
    try:
        return dict(exif.get_ifd(tag))
    except Exception:  # malformed sub-IFD: treat as absent
        return {}


def _field(parse: Callable[[Any], Any], ifd: Any, tag: int) -> Any:
    try:
        value = ifd.get(tag)
        return None if value is None else parse(value)
    except Exception:  # one malformed field must not cost the others
        return None


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, tuple | list) and value else value


def _string(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    # EXIF ASCII is NUL-terminated: what follows the first NUL is padding or junk (as exiftool reads it).
    text = value.split("\x00", 1)[0].strip()[:MAX_STRING].strip()
    return text or None


def _number(value: Any) -> float | None:
    number = float(_first(value))
    return number if math.isfinite(number) else None


def _integer(value: Any) -> int | None:
    number = _number(value)
    return None if number is None else int(number)


def _taken_at(ifd0: Any, exif_ifd: dict[int, Any]) -> str | None:
    """ISO 8601 from DateTimeOriginal, else DateTimeDigitized, else DateTime; with its offset when given."""
    for ifd, tag, offset_tag in (
        (exif_ifd, _Base.DateTimeOriginal, _Base.OffsetTimeOriginal),
        (exif_ifd, _Base.DateTimeDigitized, _Base.OffsetTimeDigitized),
        (ifd0, _Base.DateTime, _Base.OffsetTime),
    ):
        stamp = _field(_datetime, ifd, tag)
        if stamp:
            offset = _field(_string, exif_ifd, offset_tag)
            return f"{stamp}{offset}" if offset and _OFFSET.fullmatch(offset) else str(stamp)
    return None


def _datetime(value: Any) -> str | None:
    match = _DATETIME.match(_string(value) or "")
    if not match:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.groups())
    # datetime() raises on 0000:00:00 00:00:00 and other impossible stamps: those become None.
    return datetime(year, month, day, hour, minute, second).isoformat()


def _gps(gps: dict[int, Any]) -> dict[str, float | None] | None:
    fields = {
        "lat": _field(_degrees, gps, _GPS.GPSLatitude),
        "lon": _field(_degrees, gps, _GPS.GPSLongitude),
        "alt": _field(_number, gps, _GPS.GPSAltitude),
    }
    if fields["lat"] is not None and _field(_string, gps, _GPS.GPSLatitudeRef) in ("S", "s"):
        fields["lat"] = -fields["lat"]
    if fields["lon"] is not None and _field(_string, gps, _GPS.GPSLongitudeRef) in ("W", "w"):
        fields["lon"] = -fields["lon"]
    if fields["alt"] is not None and _field(_altitude_ref, gps, _GPS.GPSAltitudeRef) == 1:
        fields["alt"] = -fields["alt"]
    if fields["lat"] is not None and abs(fields["lat"]) > 90:
        fields["lat"] = None
    if fields["lon"] is not None and abs(fields["lon"]) > 180:
        fields["lon"] = None
    if all(value is None for value in fields.values()):
        return None
    return {key: None if value is None else round(value, 7) for key, value in fields.items()}


def _degrees(value: Any) -> float | None:
    """(degrees, minutes, seconds) rationals, or a single decimal-degrees value, to decimal degrees."""
    parts = [float(part) for part in value] if isinstance(value, tuple | list) else [float(value)]
    if not parts or len(parts) > 3 or not all(math.isfinite(part) for part in parts):
        return None
    return float(sum(part / 60**index for index, part in enumerate(parts)))


def _altitude_ref(value: Any) -> int:
    if isinstance(value, bytes):
        return value[0] if value else 0
    return int(_first(value))


#: What extract_meta downloads of a JPEG first: EXIF, XMP, ICC and MPF live in the segments before the scan.
JPEG_HEADER_BYTES = 256 * 1024


def jpeg_headers_complete(prefix: bytes) -> bool:
    """True when every marker segment of a JPEG up to its first scan (SOS) lies within ``prefix``.

    Then ``extract_metadata(prefix)`` reads exactly what it would read from the whole file.
    """
    if prefix[:2] != b"\xff\xd8":
        return False
    i = 2
    while i + 4 <= len(prefix):
        if prefix[i] != 0xFF:
            return False
        marker = prefix[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
        elif marker == 0xDA:  # start of scan: the headers are complete
            return True
        elif 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            i += 2
        else:
            i += 2 + int.from_bytes(prefix[i + 2 : i + 4], "big")
    return False
