"""The workflow's config sections: agencies, routing, SLA and dedup windows, their defaults and their errors."""

from __future__ import annotations

import pytest

from core.errors import ConfigError
from core.messages import Severity
from incidents.routing import WorkflowRules
from tests.incidents.helpers import CONFIG_YAML, make_config


def test_the_defaults_route_palembangs_incidents_to_its_agencies() -> None:
    config = make_config()
    rules = WorkflowRules.from_config(config)
    assert set(config.agencies) == {"DLH", "PUPR", "BPBD", "Dishub", "Diskominfo"}
    assert config.agencies["BPBD"] == "Badan Penanggulangan Bencana Daerah"
    expected = {
        "dumping": "DLH",
        "trash": "DLH",
        "flood": "BPBD",
        "congestion": "Dishub",
        "traffic_jam": "Dishub",
        "stalled_vehicle": "Dishub",
        "camera_health": "Diskominfo",
        "graffiti": None,
    }
    assert {kind: rules.route(kind, "Ilir Barat I") for kind in expected} == expected
    assert rules == WorkflowRules()  # the API's defaults without a configuration are the same


@pytest.mark.parametrize(
    ("severity", "acknowledge_s", "resolve_s"),
    [
        (Severity.CRITICAL, 5 * 60, 2 * 3600),
        (Severity.HIGH, 10 * 60, 4 * 3600),
        (Severity.MEDIUM, 30 * 60, 24 * 3600),
        (Severity.LOW, 2 * 3600, 72 * 3600),
    ],
)
def test_the_default_sla_tightens_with_severity(severity: Severity, acknowledge_s: float, resolve_s: float) -> None:
    target = make_config().sla.target("flood", severity)
    assert (target.acknowledge_within_s, target.resolve_within_s) == (acknowledge_s, resolve_s)


def test_a_kinds_sla_replaces_only_the_severities_it_lists_and_dedup_windows_load() -> None:
    config = make_config(
        CONFIG_YAML
        + """
sla:
  kinds:
    flood:
      critical: {acknowledge_within_s: 120, resolve_within_s: 3600}
incidents:
  dedup_window_s: 90
  dedup_windows: {dumping: 1800}
"""
    )
    assert config.sla.target("flood", Severity.CRITICAL).acknowledge_within_s == 120
    assert config.sla.target("flood", Severity.HIGH).acknowledge_within_s == 600
    assert config.sla.target("dumping", Severity.CRITICAL).acknowledge_within_s == 300
    assert (config.incidents.dedup_window_s, config.incidents.dedup_windows) == (90, {"dumping": 1800})


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            "agencies: {DLH: Dinas LH}\nrouting:\n  - {kind: dumping, agency: DLH}\n  - {kind: flood, agency: BPBD}\n",
            "line 31: routing[1].agency: not in agencies (known: DLH) (got 'BPBD')",
        ),
        ("routing:\n  - {kind: flood, agency: BPBD, kecamtan: x}\n", "line 29: routing[0].kecamtan: unknown key"),
        ("agencies: {'D L H': x}\n", "agencies.D L H"),
        (
            "sla:\n  severities:\n    critical: {acknowledge_within_s: 600, resolve_within_s: 300}\n",
            "sla.severities.critical: acknowledge_within_s must not exceed resolve_within_s",
        ),
        (
            "sla:\n  severities:\n    critical: {acknowledge_within_s: 60, resolve_within_s: 300}\n",
            "sla.severities: needs a target for each severity (missing: low, medium, high)",
        ),
        ("incidents:\n  dedup_windows: {flood: -1}\n", "incidents: dedup_windows must not be negative (got: flood)"),
        ("incidents:\n  dedup_window: 60\n", "incidents.dedup_window: unknown key"),
    ],
)
def test_a_bad_workflow_section_is_a_config_error_naming_its_key(extra: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        make_config(CONFIG_YAML + extra)
    assert message in str(error.value)
