"""manage.py deploy: creates exactly what the files say, is idempotent, applies nothing on an error (naming the
place), rolls back to the exported state before, and reports status."""

from __future__ import annotations

import json
import shutil
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings
from django.core.management import CommandError, call_command

from rollout.experiments.deployment.engine import export_all
from rollout.experiments.deployment.sections import registered_sections
from rollout.experiments.models import Deployment, Experiment
from rollout.services import flag_update

pytestmark = pytest.mark.django_db
CONFIGS = Path(settings.BASE_DIR) / "configs"


@pytest.fixture
def configs(tmp_path: Path, make_user: Any) -> Path:
    make_user("staff", username="admin")
    target = tmp_path / "configs"
    shutil.copytree(CONFIGS, target)
    return target


def _deploy(config_dir: Path, action: str = "deploy-all", *extra: str) -> str:
    out = StringIO()
    call_command("deploy", "--action", action, "--config-dir", str(config_dir), *extra, stdout=out)
    return out.getvalue()


def _desired(config_dir: Path) -> dict[str, dict[str, Any]]:
    return {s.name: s.desired(yaml.safe_load((config_dir / s.filename).read_text())) for s in registered_sections()}


def test_deploy_all_creates_exactly_what_the_files_say_and_a_second_run_changes_nothing(configs: Path) -> None:
    output = _deploy(configs)
    assert "deployment #" in output
    exported = export_all()
    for section, wanted in _desired(configs).items():
        assert {name: exported[section][name] for name in wanted} == wanted, section
    assert set(Experiment.objects.values_list("key", "status")) == {
        ("trimp-method", "running"),
        ("trimp-zone-model", "draft"),
    }
    assert Deployment.objects.count() == 1
    assert "nothing to change" in _deploy(configs)
    assert Deployment.objects.count() == 1
    assert export_all() == exported


def test_dry_run_shows_the_diff_and_applies_nothing(configs: Path) -> None:
    before = export_all()
    output = _deploy(configs, "deploy-feature-flags", "--dry-run")
    assert "would create feature_flags trimp_method_experiment" in output and "percent: null → 100" in output
    assert export_all() == before and not Deployment.objects.exists()


def test_an_error_applies_nothing_and_names_file_path_and_reason(configs: Path) -> None:
    flags = yaml.safe_load((configs / "feature_flags.yml").read_text())
    flags["flags"]["v1_planning_scoring"]["percentage"] = 150
    (configs / "feature_flags.yml").write_text(yaml.safe_dump(flags))
    tests = yaml.safe_load((configs / "ab_tests.yml").read_text())
    tests["ab_tests"]["trimp-method"]["metrics"][0]["name"] = "no.such.metric"
    (configs / "ab_tests.yml").write_text(yaml.safe_dump(tests))
    before = export_all()
    with pytest.raises(CommandError) as error:
        _deploy(configs)
    message = str(error.value)
    assert (
        "configs/feature_flags.yml: flags.v1_planning_scoring.percentage: must be an integer from 0 to 100" in message
    )
    assert (
        "configs/ab_tests.yml: ab_tests.trimp-method.metrics[0].name: 'no.such.metric' is not a registered" in message
    )
    assert "nothing was applied" in message
    assert export_all() == before and not Deployment.objects.exists()


def test_broken_yaml_names_the_line(configs: Path) -> None:
    (configs / "user_feedback.yml").write_text("feedback_categories:\n  accuracy: {team: [unclosed\n")
    with pytest.raises(CommandError, match=r"configs/user_feedback.yml: line \d+, column \d+: not valid YAML"):
        _deploy(configs, "deploy-user-feedback")


def test_rollback_restores_the_state_before_the_deployment(configs: Path) -> None:
    before = export_all()
    _deploy(configs)
    assert export_all() != before
    output = _deploy(configs, "rollback")
    assert "rollback:" in output
    assert export_all() == before
    assert Deployment.objects.filter(action="deploy", rolled_back=True).count() == 1
    with pytest.raises(CommandError, match="nothing_to_roll_back"):
        _deploy(configs, "rollback")


def test_status_and_report_say_what_is_deployed(configs: Path, tmp_path: Path) -> None:
    _deploy(configs)
    flag_update(name="v1_planning_scoring", changes={"percent": 50}, actor=None, source="api", reason="ops moved it")
    status = _deploy(configs, "status")
    assert "feature_flags (configs/feature_flags.yml): 7 in file, 6 in sync, 1 drifted" in status
    assert "drifted v1_planning_scoring: percent" in status
    _deploy(configs, "report", "--output", str(tmp_path / "report.json"))
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["sections"]["feature_flags"]["drifted"] == {"v1_planning_scoring": ["percent"]}
    assert report["sections"]["ab_testing"]["in_sync"] == ["trimp-method", "trimp-zone-model"]
    _deploy(configs, "report", "--output", str(tmp_path / "report.md"))
    assert "| feature_flags | `configs/feature_flags.yml` | 7 | 6 | 1 | 0 |" in (tmp_path / "report.md").read_text()


def test_a_started_experiment_is_frozen(configs: Path) -> None:
    _deploy(configs)
    tests = yaml.safe_load((configs / "ab_tests.yml").read_text())
    tests["ab_tests"]["trimp-method"]["variants"][0]["traffic_percentage"] = 40.0
    tests["ab_tests"]["trimp-method"]["variants"][1]["traffic_percentage"] = 60.0
    (configs / "ab_tests.yml").write_text(yaml.safe_dump(tests))
    with pytest.raises(CommandError, match=r"ab_tests\.trimp-method: experiment has started"):
        _deploy(configs, "deploy-ab-testing")
