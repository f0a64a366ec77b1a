"""The planner benchmark at its smallest size: it prints one row per solver and the answers keep their order."""

from __future__ import annotations

import re

import pytest

from bench.planner import SIZES, main, make_city


def test_the_synthetic_city_has_demand_candidates_buildings_and_areas() -> None:
    city = make_city(SIZES["small"])
    assert len(city.candidates) == 4 * len(set(city.candidates.pole.tolist())) > 300
    assert len(city.demand) > 2000 and len(city.buildings) == 4 * 4 * 4
    assert set(city.demand.class_names) == {"road", "poi"} and len(city.demand.area_names) == 1


def test_the_smallest_run_prints_greedy_at_or_above_exact_at_or_above_the_bound(
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["--sizes", "small", "--time-limit", "20"])
    out, err = capsys.readouterr()
    rows = re.findall(r"^(greedy\+swap|greedy|exact-split|exact|bound)\s+(\d+(?:\.\d+)?)\s", out, re.MULTILINE)
    assert [name for name, _ in rows] == ["greedy", "greedy+swap", "exact", "exact-split", "bound"], out
    cameras = {name: float(value) for name, value in rows}
    assert cameras["greedy"] >= cameras["greedy+swap"] >= cameras["exact"] >= cameras["bound"]
    assert cameras["exact-split"] >= cameras["exact"]
    assert re.search(r"coverage: [\d.]+ s, [\d,]+ pairs tested, [\d.]+ M pairs/s", out)
    assert re.search(r"^bound\s+[\d.]+\s+1\.000x\s+baseline$", out, re.MULTILINE)
    assert "small: integer program" in err  # progress goes to stderr


def test_an_unknown_size_is_refused() -> None:
    with pytest.raises(SystemExit):
        main(["--sizes", "huge"])
