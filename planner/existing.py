"""Cameras already installed, as candidates every plan keeps: from a camera_config.yaml or GeoJSON points.

A camera of ``camera_config.yaml`` becomes the plan's first camera model with the camera's own
``fov_deg`` as its field of view. Its ``range_m`` is not used: how far any camera counts is
worked out from its model's pixels and each demand point's required density, the same for
existing and new cameras. Only enabled cameras are read; stream URLs and their secrets are not
needed, so ``${VARIABLES}`` that are not set read as ``unset``.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np

from core.config_loader import parse_config
from core.errors import ConfigError
from core.settings import Settings
from planner.geo import LocalFrame
from planner.model import CameraModel, CandidateSet
from planner.sources import PlanInputError, load_features, require_property, resolve_path, source_name
from planner.spec import ExistingSpec

_UNSET_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def empty_candidates(models: list[CameraModel]) -> CandidateSet:
    """A candidate set with no site."""
    return CandidateSet(
        xy=np.zeros((0, 2)),
        heading_deg=np.zeros(0),
        model=np.zeros(0, dtype=np.int64),
        models=list(models),
        pole=np.zeros(0, dtype=np.int64),
        existing=np.zeros(0, dtype=bool),
    )


def concat_candidates(first: CandidateSet, second: CandidateSet) -> CandidateSet:
    """Both sets, ``first`` then ``second``; equal models are shared and ``second``'s poles renumbered.

    ``name`` holds one entry per candidate (empty for unnamed ones) when either set names any.
    """
    models = list(first.models)
    for model in second.models:
        if model not in models:
            models.append(model)
    remap = np.array([models.index(m) for m in second.models], dtype=np.int64)
    pole_offset = int(first.pole.max()) + 1 if len(first) else 0
    names: list[str] = []
    if first.name or second.name:
        names = (first.name or [""] * len(first)) + (second.name or [""] * len(second))
    return CandidateSet(
        xy=np.concatenate([first.xy, second.xy]).reshape(-1, 2),
        heading_deg=np.concatenate([first.heading_deg, second.heading_deg]),
        model=np.concatenate([first.model, remap[second.model] if len(second) else second.model]),
        models=models,
        pole=np.concatenate([first.pole, second.pole + pole_offset]),
        existing=np.concatenate([first.existing, second.existing]),
        name=names,
    )


def load_existing(
    existing: ExistingSpec | None,
    frame: LocalFrame,
    models: list[CameraModel],
    *,
    base_dir: Path | None = None,
    settings: Settings | None = None,
) -> CandidateSet:
    """The installed cameras of ``existing`` (``camera_config`` first, then ``source``), marked existing.

    Raises:
        PlanInputError: the configuration does not validate, or a GeoJSON camera lacks a
            ``heading`` or names a model the spec does not define.
    """
    result = empty_candidates([])
    if existing is None:
        return result
    if existing.service_cameras:
        raise PlanInputError(
            "existing.service_cameras: only a plan asked for through the API gets the service's cameras; "
            "here, name the configuration with existing.camera_config"
        )
    if existing.camera_config is not None:
        configured = _from_camera_config(existing.camera_config, frame, base_dir, models, settings)
        result = concat_candidates(result, configured)
    if existing.source is not None:
        result = concat_candidates(result, _from_geojson(existing, frame, base_dir, models, settings))
    return result


def _from_camera_config(
    path: str, frame: LocalFrame, base_dir: Path | None, models: list[CameraModel], settings: Settings | None
) -> CandidateSet:
    resolved = resolve_path(path, base_dir, settings)
    text = _UNSET_VARIABLE.sub(r"${\1:-unset}", resolved.read_text(encoding="utf-8"))
    try:
        config = parse_config(text, source=path)
    except ConfigError as err:
        raise PlanInputError(str(err)) from err
    cameras = config.enabled_cameras
    x, y = frame.to_xy([c.location.lon for c in cameras], [c.location.lat for c in cameras])
    headings = [c.location.heading for c in cameras]
    chosen = [_with_fov(models[0], c.location.fov_deg) for c in cameras]
    return _existing_set(np.column_stack([x, y]), headings, chosen, [c.id for c in cameras])


def _from_geojson(
    existing: ExistingSpec,
    frame: LocalFrame,
    base_dir: Path | None,
    models: list[CameraModel],
    settings: Settings | None,
) -> CandidateSet:
    assert existing.source is not None  # checked by the caller
    name = source_name(existing.source)
    features = load_features(existing.source, kind="points", base_dir=base_dir, settings=settings)
    require_property(features, "heading", name)
    by_name = {m.name: m for m in models}
    chosen: list[CameraModel] = []
    headings: list[float] = []
    ids: list[str] = []
    for index, feature in enumerate(features):
        props = feature.properties
        heading = props.get("heading")
        if not isinstance(heading, int | float) or isinstance(heading, bool):
            raise PlanInputError(f"{name}: feature {index}: 'heading' must be a number of degrees, got {heading!r}")
        model_name = props.get("model")
        if model_name is not None and model_name not in by_name:
            raise PlanInputError(
                f"{name}: feature {index}: unknown model {model_name!r} (the spec's models: {', '.join(by_name)})"
            )
        model = by_name[model_name] if model_name is not None else models[0]
        fov = props.get("fov_deg")
        chosen.append(_with_fov(model, float(fov)) if isinstance(fov, int | float) else model)
        headings.append(float(heading) % 360.0)
        ids.append(str(props.get("id") or props.get("name") or f"existing-{index + 1}"))
    lon = [f.geometry.x for f in features]  # type: ignore[attr-defined]
    lat = [f.geometry.y for f in features]  # type: ignore[attr-defined]
    x, y = frame.to_xy(lon, lat)
    return _existing_set(np.column_stack([x, y]), headings, chosen, ids)


def _with_fov(model: CameraModel, fov_deg: float) -> CameraModel:
    if fov_deg == model.hfov_deg:
        return model
    return replace(model, name=f"{model.name}@{fov_deg:g}deg", hfov_deg=fov_deg)


def _existing_set(xy: np.ndarray, headings: list[float], models: list[CameraModel], ids: list[str]) -> CandidateSet:
    distinct = list(dict.fromkeys(models))
    count = len(ids)
    return CandidateSet(
        xy=np.asarray(xy, dtype=np.float64).reshape(-1, 2),
        heading_deg=np.asarray(headings, dtype=np.float64),
        model=np.array([distinct.index(m) for m in models], dtype=np.int64),
        models=distinct,
        pole=np.arange(count, dtype=np.int64),
        existing=np.ones(count, dtype=bool),
        name=ids,
    )
