"""The ops console in a real browser: log in, advance a rollout (reason + confirm dialog), roll it back."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import REPO
from rollout.models import Flag, Rollout, RolloutTransition
from rollout.rollouts import rollout_set_phase, rollout_start
from rollout.services import flag_toggle

pytestmark = pytest.mark.system  # starts processes or servers (see pyproject's markers)


FLAG = "enhanced_trimp_calculation"
SCREENSHOTS = REPO / "var" / "screenshots"


@pytest.mark.django_db(transaction=True)
def test_advance_and_rollback_from_the_rollout_page(live_server: Any, make_user: Any, chromium: Any) -> None:
    make_user("staff", staff=True, is_superuser=True, username="ops")
    rollout = rollout_start(flag_name=FLAG, actor=None, reason="ship").rollout
    context = chromium.new_context()
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/login/?next=/admin/rollout/rollout/{rollout.pk}/change/")
    page.fill("#id_username", "ops")
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")
    page.wait_for_selector("#advance-button")
    assert page.locator(".stage.current").inner_text().startswith("1. pre_deployment")

    dialogs: list[str] = []
    answer = {"accept": True}

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        if answer["accept"]:
            dialog.accept()
        else:
            dialog.dismiss()

    page.on("dialog", on_dialog)
    form = page.locator("form", has=page.locator("#advance-button"))
    form.locator("input[name=reason]").fill("healthy in staging")
    form.locator("#advance-button").click()
    page.wait_for_selector("#stage-deployed_disabled.current")
    assert dialogs and "Advance" in dialogs[0]
    assert Rollout.objects.get().current_stage_name == "deployed_disabled"

    answer["accept"] = False  # a dismissed confirm sends nothing
    back = page.locator("form", has=page.locator("#rollback-button"))
    back.locator("input[name=reason]").fill("changed my mind")
    back.locator("#rollback-button").click()
    page.wait_for_timeout(300)
    assert Rollout.objects.get().current_stage_name == "deployed_disabled"

    answer["accept"] = True
    back.locator("input[name=reason]").fill("errors in staging")
    back.locator("#rollback-button").click()
    page.wait_for_selector("#stage-pre_deployment.current")
    assert "errors in staging" in page.locator("#history").inner_text()
    kinds = list(RolloutTransition.objects.order_by("id").values_list("kind", "actor__username"))
    assert kinds == [("start", None), ("advance", "ops"), ("rollback", "ops")]
    context.close()


@pytest.mark.django_db(transaction=True)
def test_the_console_shows_a_killed_paused_rollout_and_rolls_it_back(
    live_server: Any, make_user: Any, chromium: Any
) -> None:
    ops = make_user("staff", staff=True, is_superuser=True, username="ops")
    rollout = rollout_start(flag_name=FLAG, actor=None, reason="ship").rollout
    rollout_set_phase(flag_name=FLAG, phase="percent_25", actor=None, reason="widen")
    flag_toggle(name=FLAG, enabled=False, actor=ops, source="api", reason="errors in production")  # the runbook kill
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/login/?next=/admin/rollout/rollout/{rollout.pk}/change/")
    page.fill("#id_username", "ops")
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")
    page.wait_for_selector("#kill-state")
    assert page.locator("#rollout-status").inner_text() == "paused"
    assert "killed" in page.locator("#kill-note").inner_text()
    assert "errors in production" in page.locator("#pause-note").inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "rollout-console-killed-paused.png"), full_page=True)

    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    back = page.locator("form", has=page.locator("#rollback-button"))
    back.locator("input[name=reason]").fill("step back while killed")
    back.locator("#rollback-button").click()
    page.wait_for_selector("#stage-percent_5.current")
    assert dialogs and "Roll enhanced_trimp_calculation back one stage?" in dialogs[0]
    assert page.locator("#kill-state").inner_text() == "FLAG KILLED"  # the rollback did not lift the kill
    page.screenshot(path=str(SCREENSHOTS / "rollout-console-after-rollback.png"), full_page=True)
    assert Flag.objects.get(name=FLAG).everyone is False
    assert Rollout.objects.get().current_stage_name == "percent_5"
    context.close()
