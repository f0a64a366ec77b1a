"""Checks of citizens' photo uploads: size, real image type, EXIF GPS, and a public copy without metadata."""

from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass
from typing import Any

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from core.errors import MediaRejected, MediaTooLarge

logger = logging.getLogger(__name__)

MAX_MEDIA_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a decompression bomb is refused before it is decoded
ACCEPTED_FORMATS: dict[str, str] = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
PUBLIC_JPEG_QUALITY = 85


@dataclass(frozen=True, slots=True)
class CheckedImage:
    """An upload that decoded as an image, and what was read from it."""

    original: bytes  # as sent, EXIF included: kept private
    extension: str  # of the original's real format
    public_jpeg: bytes  # re-encoded from the pixels alone: no EXIF, no XMP, no ICC
    width: int
    height: int
    exif_lat: float | None
    exif_lon: float | None


def check_image(data: bytes, *, max_bytes: int = MAX_MEDIA_BYTES) -> CheckedImage:
    """Decode ``data`` as a photo, read its EXIF GPS position and make a public copy without metadata.

    Raises:
        MediaTooLarge: when ``data`` is over ``max_bytes``.
        MediaRejected: when ``data`` is not a whole JPEG, PNG or WebP image.
    """
    if len(data) > max_bytes:
        raise MediaTooLarge(f"media is {len(data)} bytes, more than the limit of {max_bytes} bytes")
    image = _decode(data)
    lat, lon = _exif_position(image)
    try:
        upright = ImageOps.exif_transpose(image).convert("RGB")
        # A new image from the pixels alone: nothing of the upload's metadata can ride along.
        clean = Image.frombytes("RGB", upright.size, upright.tobytes())
        out = io.BytesIO()
        clean.save(out, format="JPEG", quality=PUBLIC_JPEG_QUALITY)
    except (OSError, ValueError) as err:  # a pixel format Pillow cannot turn into RGB
        raise MediaRejected(f"the image cannot be converted for publishing ({err})") from err
    return CheckedImage(
        original=data,
        extension=ACCEPTED_FORMATS[str(image.format)],
        public_jpeg=out.getvalue(),
        width=clean.width,
        height=clean.height,
        exif_lat=lat,
        exif_lon=lon,
    )


def _looks_like_an_image(data: bytes) -> bool:
    """Whether ``data`` starts like a JPEG, PNG or WebP file."""
    return data.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def _decode(data: bytes) -> Image.Image:
    """The fully decoded image; anything else (text, truncated, a bomb) is refused.

    The file's signature is checked first: in a process that has imported ultralytics, Pillow's
    ``Image.open`` is patched to try installing a HEIF plugin on any file it cannot identify.
    """
    if not _looks_like_an_image(data):
        raise MediaRejected("not an image: the media is not a JPEG, PNG or WebP file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in ACCEPTED_FORMATS:
                raise MediaRejected(f"not an image of an accepted type (JPEG, PNG, WebP): {image.format}")
            if image.width * image.height > MAX_PIXELS:
                raise MediaRejected(f"image of {image.width}x{image.height} pixels is too large")
            image.load()
    except MediaRejected:
        raise
    except (UnidentifiedImageError, ImportError, Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise MediaRejected("not an image: the media could not be decoded as JPEG, PNG or WebP") from err
    except (OSError, ValueError, SyntaxError) as err:  # Pillow's errors for truncated or corrupt files
        raise MediaRejected(f"not an image: the media is damaged ({err})") from err
    return image


def _exif_position(image: Image.Image) -> tuple[float | None, float | None]:
    """Latitude and longitude from the EXIF GPS block, or (None, None) when absent or unreadable."""
    try:
        gps = image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        lat = _degrees(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef), "S")
        lon = _degrees(gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef), "W")
    except (ValueError, TypeError, ZeroDivisionError, OSError, SyntaxError):  # the position is optional
        logger.info("unreadable EXIF GPS block in an upload", exc_info=True)
        return None, None
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None, None
    return lat, lon


def _degrees(dms: Any, ref: Any, negative: str) -> float | None:
    """EXIF (degrees, minutes, seconds) rationals as signed decimal degrees."""
    if dms is None or ref is None or len(dms) != 3:
        return None
    degrees, minutes, seconds = (float(part) for part in dms)
    value = degrees + minutes / 60 + seconds / 3600
    ref_text = ref.decode() if isinstance(ref, bytes) else str(ref)
    return -value if ref_text.strip().upper() == negative else value
