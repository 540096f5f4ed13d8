"""How the ops console's index reads: the apps ops work in first, tables nobody uses hidden from
non-superusers, and "View site" pointing at the landing page with every entry point.

Applied once from ``core/admin.py`` (core is listed after the third-party apps in INSTALLED_APPS, so their
admin classes are registered by then).
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib import admin
from django.http import HttpRequest

# Apps in the order ops use them; any other app follows in alphabetical order.
APP_ORDER: tuple[str, ...] = ("rollout", "monitoring", "training", "feedback", "planning", "core", "django_celery_beat")
# (app label, model name): tables with no use in day-to-day operations (waffle's switches and samples — Stamina
# uses flags only —, knox's hashed tokens, Celery's raw task results: the job rows say what ran). Superusers
# still see them.
SUPERUSER_ONLY: tuple[tuple[str, str], ...] = (
    ("waffle", "Switch"),
    ("waffle", "Sample"),
    ("knox", "AuthToken"),
    ("django_celery_results", "TaskResult"),
    ("django_celery_results", "GroupResult"),
)


def _superuser_only(admin_class: type[admin.ModelAdmin]) -> type[admin.ModelAdmin]:
    class SuperuserOnly(admin_class):  # type: ignore[valid-type,misc]
        def has_module_permission(self, request: HttpRequest) -> bool:
            return bool(request.user.is_superuser)

        def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
            return bool(request.user.is_superuser)

        def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
            return bool(request.user.is_superuser)

    SuperuserOnly.__name__ = f"SuperuserOnly{admin_class.__name__}"
    return SuperuserOnly


def _ordered_app_list(site: admin.AdminSite) -> Any:
    original = site.get_app_list

    def get_app_list(request: HttpRequest, app_label: str | None = None) -> list[dict[str, Any]]:
        app_list = original(request, app_label)
        rank = {label: n for n, label in enumerate(APP_ORDER)}
        return sorted(app_list, key=lambda app: (rank.get(app["app_label"], len(APP_ORDER)), app["name"].lower()))

    return get_app_list


def console_setup(site: admin.AdminSite = admin.site) -> None:
    site.site_url = "/"  # the landing page: ops console, coach console, API docs, health
    # the app list is on the index; beside the wide ops tables and charts it only took their room
    site.enable_nav_sidebar = False
    for app_label, model_name in SUPERUSER_ONLY:
        try:
            model = apps.get_model(app_label, model_name)
        except LookupError:
            continue
        current = site._registry.get(model)
        if current is None:
            continue
        site.unregister(model)
        site.register(model, _superuser_only(type(current)))
    site.get_app_list = _ordered_app_list(site)  # type: ignore[method-assign]
