"""URLs of the coach console (mounted at /coach/)."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from training import coach

urlpatterns = [
    path("", coach.coach_home, name="coach-home"),
    path("athletes/<int:athlete_id>/", coach.coach_athlete, name="coach-athlete"),
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="coach/login.html", redirect_authenticated_user=True),
        name="coach-login",
    ),
    path("logout/", auth_views.LogoutView.as_view(next_page=coach.LOGIN_URL), name="coach-logout"),
]
