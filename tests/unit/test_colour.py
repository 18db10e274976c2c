"""HEIC/AVIF whose colour space is given only by an nclx box (no ICC): profiles built from the code points,
renditions converted to sRGB, and the AVIF box reader on hostile bytes."""

from __future__ import annotations

import io
import random
import struct
import time
from collections.abc import Callable
from pathlib import Path

import pillow_heif
import pytest
from PIL import Image, ImageCms

from imgflow.config import Limits, Rendition
from imgflow.image import colour
from imgflow.image.colour import Nclx, icc_for, nclx_from_avif, nclx_from_info
from tasks.resize.renditions import render

LIMITS = Limits()
#: In-gamut for sRGB after conversion, or nearly so: a clipped colour (pure P3 red) would prove nothing.
PATCHES = [(200, 90, 40), (40, 160, 90), (60, 80, 200), (128, 128, 128), (230, 200, 60)]

#: Linear-light conversions to BT.709/sRGB primaries as published (both D65, so no adaptation):
#: Display P3 -> sRGB, and BT.2020 -> BT.709 (ITU-R BT.2087).
TO_SRGB = {
    12: ((1.2249, -0.2247, 0.0), (-0.0420, 1.0419, 0.0), (-0.0197, -0.0786, 1.0979)),
    9: ((1.6605, -0.5876, -0.0728), (-0.1246, 1.1329, -0.0083), (-0.0182, -0.1006, 1.1187)),
    1: ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)),
}


def srgb_decode(v: float) -> float:
    return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4


def srgb_encode(v: float) -> float:
    return 12.92 * v if v <= 0.0031308 else 1.055 * v ** (1 / 2.4) - 0.055


def bt709_decode(v: float) -> float:
    """Inverse of the BT.709 OETF."""
    return v / 4.5 if v < 0.081 else ((v + 0.099) / 1.099) ** (1 / 0.45)


DECODE: dict[int, Callable[[float], float]] = {
    13: srgb_decode,
    1: bt709_decode,
    8: lambda v: v,
}


def expected(rgb: tuple[int, ...], primaries: int, transfer: int) -> tuple[int, ...]:
    """The sRGB colour of ``rgb`` (given in ``primaries``/``transfer``), computed without LittleCMS."""
    linear = [DECODE[transfer](v / 255) for v in rgb]
    out = [sum(m * c for m, c in zip(row, linear, strict=True)) for row in TO_SRGB[primaries]]
    return tuple(round(255 * srgb_encode(min(1.0, max(0.0, v)))) for v in out)


def heic(rgb: tuple[int, int, int], primaries: int, transfer: int, **params: object) -> bytes:
    """A lossless HEIC (GBR coding: the pixels come back exactly) with this nclx box and no ICC profile."""
    pillow_heif.register_heif_opener()
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), rgb).save(
        buffer,
        "HEIF",
        quality=-1,
        color_primaries=primaries,
        transfer_characteristics=transfer,
        matrix_coefficients=0,
        full_range_flag=1,
        **params,
    )
    return buffer.getvalue()


def avif(rgb: tuple[int, int, int], primaries: int, **params: object) -> bytes:
    """A Pillow AVIF whose nclx box is patched to ``primaries`` (Pillow writes 1/13 or 2/2; no option)."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), rgb).save(buffer, "AVIF", quality=100, **params)
    data = bytearray(buffer.getvalue())
    at = data.find(b"colrnclx")
    assert at > 0 and data[at + 8 : at + 10] in (struct.pack(">H", 1), struct.pack(">H", 2))
    data[at + 8 : at + 10] = struct.pack(">H", primaries)
    return bytes(data)


def rendered_pixel(data: bytes) -> tuple[int, ...]:
    (out,) = render(data, [Rendition("r", 32, "PNG")], LIMITS)
    with Image.open(io.BytesIO(out.data)) as got:
        assert "icc_profile" not in got.info
        pixel = got.convert("RGB").getpixel((16, 12))
    assert isinstance(pixel, tuple)
    return pixel


def decoded_pixel(data: bytes) -> tuple[int, ...]:
    with Image.open(io.BytesIO(data)) as im:
        pixel = im.convert("RGB").getpixel((32, 24))
    assert isinstance(pixel, tuple)
    return pixel


def close(have: tuple[int, ...], want: tuple[int, ...], tolerance: int = 3) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(have, want, strict=True))


# --- renditions ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rgb", PATCHES)
@pytest.mark.parametrize(("primaries", "transfer"), [(12, 13), (9, 13), (12, 1), (9, 1), (12, 8), (1, 8)])
def test_nclx_only_heic_is_converted_to_srgb(
    rgb: tuple[int, int, int], primaries: int, transfer: int
) -> None:
    data = heic(rgb, primaries, transfer)
    assert decoded_pixel(data) == rgb  # the decoder leaves the primaries alone; the conversion is ours
    want = expected(rgb, primaries, transfer)
    have = rendered_pixel(data)
    assert close(have, want), (have, want)
    if rgb != (128, 128, 128) or transfer != 13:
        assert not close(have, rgb, 2), (have, rgb)  # i.e. no longer rendered as if sRGB


def test_nclx_display_p3_matches_the_iphone_profile(corpus: Path) -> None:
    # The iPhone's Display P3 ICC profile and the nclx code points (12, 13) mean the same colours.
    pillow_heif.register_heif_opener()
    with Image.open(corpus / "exif-camera" / "heic" / "IMG_5195.HEIC") as iphone:
        p3 = ImageCms.ImageCmsProfile(io.BytesIO(iphone.info["icc_profile"]))
    built = icc_for(Nclx(12, 13, 0, True))
    assert built is not None
    ours = ImageCms.ImageCmsProfile(io.BytesIO(built))
    for name in (
        "red_colorant",
        "green_colorant",
        "blue_colorant",
    ):  # (Apple's wtpt is D65, ours D50 as v4 says)
        theirs_xyz, ours_xyz = getattr(p3.profile, name)[0], getattr(ours.profile, name)[0]
        assert close_floats(ours_xyz, theirs_xyz, 2e-4), (name, ours_xyz, theirs_xyz)
    srgb = ImageCms.createProfile("sRGB")
    for rgb in [*PATCHES, (255, 0, 0), (0, 0, 255), (5, 5, 5)]:
        source = Image.new("RGB", (1, 1), rgb)
        want = ImageCms.profileToProfile(source, p3, srgb, ImageCms.Intent.PERCEPTUAL, "RGB")
        assert want is not None
        have = rendered_pixel(heic(rgb, 12, 13))
        assert close(have, want.getpixel((0, 0)), 1), (rgb, have, want.getpixel((0, 0)))  # type: ignore[arg-type]


def close_floats(a: tuple[float, ...], b: tuple[float, ...], tolerance: float) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize(("primaries", "transfer"), [(1, 13), (1, 1), (2, 2), (0, 13), (99, 13), (12, 13)])
def test_srgb_or_unknown_primaries_leave_the_pixels_alone(primaries: int, transfer: int) -> None:
    rgb = (200, 90, 40)
    if primaries == 12:  # the control: same file with Display P3 primaries changes colour
        assert icc_for(Nclx(primaries, transfer, 0, True)) is not None
        assert rendered_pixel(heic(rgb, primaries, transfer)) != rgb
        return
    assert icc_for(Nclx(primaries, transfer, 0, True)) is None
    if primaries in (0, 99):  # not encodable by x265; the profile decision is what matters
        return
    assert rendered_pixel(heic(rgb, primaries, transfer)) == rgb


def test_hdr_transfers_convert_primaries_only() -> None:
    # PQ/HLG are not tone-mapped: the values are taken as sRGB-encoded and only the primaries change.
    assert icc_for(Nclx(9, 16, 9, True)) is not None
    rgb = (200, 90, 40)
    assert close(rendered_pixel(heic(rgb, 9, 16)), expected(rgb, 9, 13))
    assert close(rendered_pixel(heic(rgb, 9, 18)), expected(rgb, 9, 13))


@pytest.mark.parametrize("primaries", [12, 9])
def test_nclx_only_avif_is_converted_to_srgb(primaries: int) -> None:
    rgb = (200, 90, 40)
    data = avif(rgb, primaries)
    assert nclx_from_avif(data) == Nclx(primaries, 13, 6, True)
    source = decoded_pixel(data)  # lossy: one level off here and there
    assert close(source, rgb, 1)
    have, want = rendered_pixel(data), expected(source, primaries, 13)
    assert close(have, want), (have, want)
    assert not close(have, rgb, 2)


def test_avif_icc_profile_wins_over_nclx() -> None:
    rgb = (200, 90, 40)
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = avif(rgb, 12, icc_profile=srgb)  # colr prof (sRGB) and colr nclx (P3): the ICC profile decides
    assert nclx_from_avif(data) == Nclx(12, 2, 6, True)
    assert close(rendered_pixel(data), rgb, 2)


# --- the profiles ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", sorted(set(colour.PRIMARIES) - {22}))  # x265 will not write 22
def test_primaries_table_agrees_with_libheif(code: int) -> None:
    pillow_heif.register_heif_opener()
    with Image.open(io.BytesIO(heic((0, 0, 0), code, 13))) as im:
        reported = im.info["nclx_profile"]
    assert nclx_from_info(reported) == Nclx(code, 13, 0, True)
    got = tuple(
        (reported[f"color_primary_{c}_x"], reported[f"color_primary_{c}_y"])
        for c in ("red", "green", "blue", "white")
    )
    want = colour.PRIMARIES[code]
    assert all(close_floats(g, w, 1e-6) for g, w in zip(got, want, strict=True)), (got, want)


@pytest.mark.parametrize("primaries", sorted(set(colour.PRIMARIES) - {1}))
@pytest.mark.parametrize("transfer", [0, 1, 2, 4, 5, 6, 8, 13, 14, 15, 16, 18, 255])
def test_built_profiles_are_valid_icc(primaries: int, transfer: int) -> None:
    data = icc_for(Nclx(primaries, transfer, 0, True))
    assert data is not None
    assert len(data) == struct.unpack(">I", data[:4])[0] and data[36:40] == b"acsp"
    profile = ImageCms.ImageCmsProfile(io.BytesIO(data)).profile
    assert profile.xcolor_space.strip() == "RGB" and profile.version == 4.3
    assert profile.media_white_point[0] == pytest.approx((0.9642, 1.0, 0.8249), abs=1e-4)
    # The colorants add up to the D50 white (RGB 1, 1, 1 is white after adaptation).
    total = [sum(getattr(profile, f"{c}_colorant")[0][i] for c in ("red", "green", "blue")) for i in range(3)]
    assert total == pytest.approx([0.9642, 1.0, 0.8249], abs=2e-4)


def test_nclx_from_info_needs_the_code_points() -> None:
    assert nclx_from_info({"color_primaries": 12}) is None
    assert (
        nclx_from_info({"color_primaries": "12", "transfer_characteristics": 13, "matrix_coefficients": 6})
        is None
    )
    full = {
        "color_primaries": 9,
        "transfer_characteristics": 16,
        "matrix_coefficients": 9,
        "full_range_flag": 0,
    }
    assert nclx_from_info(full) == Nclx(9, 16, 9, False)


# --- the AVIF box reader on crafted and hostile bytes ------------------------------------------------------


def box(kind: bytes, payload: bytes = b"") -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def full_box(kind: bytes, version: int, flags: int, payload: bytes) -> bytes:
    return box(kind, struct.pack(">I", version << 24 | flags) + payload)


def nclx_box(primaries: int, transfer: int = 13, matrix: int = 6, full: bool = True) -> bytes:
    return box(b"colr", b"nclx" + struct.pack(">HHHB", primaries, transfer, matrix, 0x80 if full else 0))


def crafted(*, pitm: int, associations: dict[int, list[int]], wide: bool = False, version: int = 0) -> bytes:
    """ftyp + meta(pitm, iprp(ipco(ispe, colr sRGB, colr P3), ipma)) + mdat."""
    ipco = box(b"ipco", box(b"ispe", bytes(12)) + nclx_box(1) + nclx_box(12, 1, 1, False))
    entries = b""
    for item, indices in associations.items():
        entries += struct.pack(">H" if version == 0 else ">I", item) + bytes([len(indices)])
        entries += b"".join(struct.pack(">H", 0x8000 | i) if wide else bytes([0x80 | i]) for i in indices)
    ipma = full_box(b"ipma", version, int(wide), struct.pack(">I", len(associations)) + entries)
    meta = full_box(
        b"meta", 0, 0, full_box(b"pitm", 0, 0, struct.pack(">H", pitm)) + box(b"iprp", ipco + ipma)
    )
    return box(b"ftyp", b"avif" + bytes(4) + b"mif1avif") + meta + box(b"mdat", bytes(64))


def test_box_reader_takes_the_primary_items_colour() -> None:
    first, second = Nclx(1, 13, 6, True), Nclx(12, 1, 1, False)
    assert nclx_from_avif(crafted(pitm=1, associations={1: [1, 3], 2: [1, 2]})) == second
    assert nclx_from_avif(crafted(pitm=2, associations={1: [1, 3], 2: [1, 2]})) == first
    assert nclx_from_avif(crafted(pitm=1, associations={1: [1, 3]}, wide=True, version=1)) == second
    # No association for the primary item (or an index out of range): the first nclx box.
    assert nclx_from_avif(crafted(pitm=7, associations={1: [1, 3]})) == first
    assert nclx_from_avif(crafted(pitm=1, associations={1: [1, 99]})) == first


def test_box_reader_on_real_files(corpus: Path) -> None:
    assert nclx_from_avif((corpus / "hostile" / "pillow" / "avif" / "exif.avif").read_bytes()) == Nclx(
        1, 13, 6, True
    )
    assert nclx_from_avif((corpus / "exif-camera" / "heic" / "IMG_5195.HEIC").read_bytes()) is None  # ICC


def test_box_reader_survives_hostile_bytes_quickly() -> None:
    good = crafted(pitm=1, associations={1: [1, 3]})
    meta_end = good.find(b"mdat") - 4
    rng = random.Random(5195)
    ftyp = box(b"ftyp", b"avif" + bytes(4) + b"mif1avif")
    colr = nclx_box(9)
    pitm = full_box(b"pitm", 0, 0, struct.pack(">H", 1))
    crafted_cases: list[tuple[bytes, Nclx | None]] = [
        (ftyp + struct.pack(">I4s", 0xFFFFFFFF, b"meta") + bytes(64), None),  # size past the end
        (ftyp + struct.pack(">I4sQ", 1, b"meta", 2**64 - 1) + bytes(64), None),  # 64-bit size past the end
        (ftyp + struct.pack(">I4s", 1, b"meta"), None),  # 64-bit size cut off
        (ftyp + struct.pack(">I4s", 4, b"meta") + bytes(64), None),  # size smaller than its header
        (ftyp + box(b"free") * 100_000 + good, None),  # endless boxes: the walk gives up, it does not run on
        (ftyp + struct.pack(">I4s", 0, b"meta") + bytes(4) + box(b"iprp", box(b"ipco", colr[:-3])), None),
        # ipma promising 2^32 - 1 entries and holding none: the first nclx box
        (
            full_box(
                b"meta", 0, 0, pitm + box(b"iprp", box(b"ipco", colr) + full_box(b"ipma", 0, 0, b"\xff" * 4))
            ),
            Nclx(9, 13, 6, True),
        ),
        (b"", None),
        (bytes(10_000), None),
    ]
    truncations = [good[:n] for n in range(len(good))]
    garbage = [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 600))) for _ in range(200)]
    flipped = []
    for _ in range(300):  # single-byte corruption of a valid file
        broken = bytearray(good)
        broken[rng.randrange(len(broken))] = rng.randrange(256)
        flipped.append(bytes(broken))

    start = time.perf_counter()
    results = [
        nclx_from_avif(data) for data in [c for c, _ in crafted_cases] + truncations + garbage + flipped
    ]
    elapsed = time.perf_counter() - start
    assert elapsed < 2.0, elapsed
    assert all(r is None or isinstance(r, Nclx) for r in results)
    assert results[: len(crafted_cases)] == [want for _, want in crafted_cases]
    cut = results[len(crafted_cases) : len(crafted_cases) + len(truncations)]
    # meta cut short: nothing (never a half-read value); only mdat cut short: the colour as in the whole file
    assert cut == [None] * meta_end + [Nclx(12, 1, 1, False)] * (len(good) - meta_end)
