"""Resolve a model name to verified weights on disk: the assets directory first, then a download."""

from __future__ import annotations

import hashlib
import logging
import shutil
import urllib.request
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from core.errors import ModelUnavailable
from core.settings import Settings

logger = logging.getLogger(__name__)

MANIFEST = Path(__file__).with_name("manifest.yaml")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class ModelSpec:
    """One entry of ``models/manifest.yaml``."""

    name: str
    description: str
    task: str
    format: str
    path: str
    files: dict[str, str]
    classes: str
    input_size: int
    licence: str
    official_url: str
    export_from_official: dict[str, Any] | None = None


@dataclass(frozen=True)
class ResolvedModel:
    """A model's spec and the local path that ultralytics can load."""

    spec: ModelSpec
    path: Path
    source: str


@cache
def load_manifest(path: Path = MANIFEST) -> dict[str, ModelSpec]:
    """All models of the registry by name."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {entry["name"]: ModelSpec(**entry) for entry in raw["models"]}


def get_spec(name: str) -> ModelSpec:
    """The manifest entry called ``name``."""
    models = load_manifest()
    if name not in models:
        raise ModelUnavailable(f"unknown model {name!r}; the registry has: {', '.join(sorted(models))}")
    return models[name]


def sha256_of(path: Path) -> str:
    """The hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify(spec: ModelSpec, root: Path) -> list[str]:
    """Problems with the files of ``spec`` under ``root``; empty when every file matches."""
    base = root / spec.path
    folder = base if spec.format == "openvino" else base.parent
    problems = []
    for filename, expected in spec.files.items():
        file = folder / filename
        if not file.is_file():
            problems.append(f"{file} is missing")
        elif sha256_of(file) != expected:
            problems.append(f"{file} has the wrong sha256 (corrupt or a different model)")
    return problems


EXPORT_FORMATS = {"onnx": ".onnx", "openvino": "_openvino_model"}
EXPORT_SIZES = (320, 416, 480, 512, 640, 768, 960, 1280)


@dataclass(frozen=True)
class ExportVariant:
    """``<model>@<format>[-<imgsz>]``: a registry model exported for another runtime and input size."""

    base: str
    format: str
    imgsz: int

    @property
    def name(self) -> str:
        """The variant's full name, as written in the camera config."""
        return f"{self.base}@{self.format}-{self.imgsz}"


def parse_variant(name: str) -> ExportVariant | None:
    """The export variant ``name`` asks for, or None for a plain registry name.

    Raises:
        ModelUnavailable: for an unknown base model, format or input size (the message lists the choices).
    """
    if "@" not in name:
        return None
    base, _, variant = name.partition("@")
    spec = get_spec(base)
    fmt, _, size = variant.partition("-")
    if fmt not in EXPORT_FORMATS:
        raise ModelUnavailable(f"model {name!r}: unknown export format {fmt!r}; choose one of {sorted(EXPORT_FORMATS)}")
    if spec.format != "pytorch":
        raise ModelUnavailable(f"model {name!r}: only PyTorch models export; {base!r} is {spec.format}")
    imgsz = int(size) if size.isdigit() else spec.input_size
    if imgsz not in EXPORT_SIZES or (size and not size.isdigit()):
        raise ModelUnavailable(f"model {name!r}: input size {size!r} is not one of {EXPORT_SIZES}")
    return ExportVariant(base, fmt, imgsz)


def resolve(name: str, settings: Settings) -> ResolvedModel:
    """Find verified weights for ``name``: in ``<assets>/weights``, the cache, or by download.

    ``<model>@<format>-<imgsz>`` (e.g. ``yolo11n-coco-pt@onnx-320``) is that PyTorch model
    exported for ONNX Runtime or OpenVINO at that input size, made once in the cache.

    Raises:
        ModelUnavailable: when no verified copy exists and downloading is off or fails.
    """
    if _looks_like_a_path(name):
        return _local(Path(name).expanduser())
    variant = parse_variant(name)
    if variant is not None:
        return export(variant, settings)
    spec = get_spec(name)
    tried: list[str] = []
    if settings.assets_dir is not None:
        weights = settings.assets_dir / "weights"
        problems = verify(spec, weights)
        if not problems:
            return ResolvedModel(spec, weights / spec.path, "assets")
        tried.extend(problems)
    cached = settings.resolved_cache_dir / "models" / spec.name
    if (cached / spec.path).exists():
        return ResolvedModel(spec, cached / spec.path, "cache")
    if not settings.allow_downloads:
        raise ModelUnavailable(
            f"model {name!r} not found locally ({'; '.join(tried) or 'no assets directory'}) "
            "and downloads are off (MATAKOTA_ALLOW_DOWNLOADS=0); set CCTV_ASSETS_DIR to the weights' folder"
        )
    return _download(spec, cached)


def _download(spec: ModelSpec, target: Path) -> ResolvedModel:
    """Fetch the official weights and, where the manifest says so, export them in the cache."""
    target.mkdir(parents=True, exist_ok=True)
    official = target / Path(spec.official_url).name
    logger.info("downloading %s from %s", spec.name, spec.official_url)
    try:
        with urllib.request.urlopen(spec.official_url, timeout=60) as response, official.open("wb") as out:  # noqa: S310
            shutil.copyfileobj(response, out)
    except OSError as err:
        official.unlink(missing_ok=True)
        raise ModelUnavailable(f"cannot download {spec.name} from {spec.official_url}: {err}") from err
    if spec.export_from_official is None:
        official.replace(target / spec.path)
        return ResolvedModel(spec, target / spec.path, "download")
    from ultralytics import YOLO  # type: ignore[attr-defined]  # heavy import only on this rare path

    exported = Path(YOLO(str(official)).export(**spec.export_from_official))
    exported.replace(target / spec.path)
    return ResolvedModel(spec, target / spec.path, "download+export")


LOCAL_SUFFIXES = (".pt", ".onnx")


def _looks_like_a_path(name: str) -> bool:
    return "/" in name or name.endswith(LOCAL_SUFFIXES) or name.endswith("_openvino_model")


def _local(path: Path) -> ResolvedModel:
    """Weights given by path (e.g. a model trained with ``matakota models train``), used as they are."""
    if not path.exists():
        raise ModelUnavailable(f"model file {path} does not exist")
    fmt = {".pt": "pytorch", ".onnx": "onnx"}.get(path.suffix, "openvino")
    spec = ModelSpec(
        name=str(path),
        description="local weights given by path",
        task="detect",
        format=fmt,
        path=path.name,
        files={},
        classes="as stored in the weights",
        input_size=640,
        licence="as the weights' own",
        official_url="",
    )
    return ResolvedModel(spec, path, "local")


def export(variant: ExportVariant, settings: Settings) -> ResolvedModel:
    """The exported variant from the cache, exporting it first when it is not there yet.

    The export runs in a folder of the cache (ultralytics writes next to the weights it exports,
    and the assets directory may be read-only), into a temporary name that is renamed when done.
    """
    base = resolve(variant.base, settings)
    folder = settings.resolved_cache_dir / "models" / "exports" / variant.name.replace("@", "_at_")
    stem = Path(base.spec.path).stem
    exported = folder / f"{stem}{EXPORT_FORMATS[variant.format]}"
    spec = _variant_spec(base.spec, variant, exported.name)
    if exported.exists():
        return ResolvedModel(spec, exported, "cache")
    work = folder.with_name(folder.name + ".partial")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    shutil.copyfile(base.path, work / base.path.name)
    logger.info("exporting %s to %s at %d px (once; kept in %s)", variant.base, variant.format, variant.imgsz, folder)
    from ultralytics import YOLO  # type: ignore[attr-defined]  # heavy import only on this rare path

    try:
        made = Path(YOLO(str(work / base.path.name)).export(format=variant.format, imgsz=variant.imgsz))
    except Exception as err:  # ultralytics raises many kinds; the caller needs one, with the reason
        shutil.rmtree(work, ignore_errors=True)
        raise ModelUnavailable(f"cannot export {variant.base} to {variant.format}: {err}") from err
    folder.mkdir(parents=True, exist_ok=True)
    made.replace(exported)
    shutil.rmtree(work, ignore_errors=True)
    return ResolvedModel(spec, exported, "export")


def _variant_spec(base: ModelSpec, variant: ExportVariant, path: str) -> ModelSpec:
    return ModelSpec(
        name=variant.name,
        description=f"{base.name} exported to {variant.format} at {variant.imgsz} px",
        task=base.task,
        format=variant.format,
        path=path,
        files={},
        classes=base.classes,
        input_size=variant.imgsz,
        licence=base.licence,
        official_url=base.official_url,
    )
