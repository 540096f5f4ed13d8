from __future__ import annotations

from django.urls import path

from feedback import api

urlpatterns = [
    path("feedback/submit", api.SubmitView.as_view(), name="feedback-submit"),
    path("feedback/mine", api.MyFeedbackListView.as_view(), name="feedback-mine"),
    path("feedback/mine/<int:pk>", api.MyFeedbackDetailView.as_view(), name="feedback-mine-detail"),
    path("feedback/accuracy-validation", api.AccuracyValidationView.as_view(), name="feedback-accuracy"),
    path("admin/feedback/summary", api.SummaryView.as_view(), name="feedback-summary"),
    path("admin/feedback/<int:pk>", api.StaffFeedbackView.as_view(), name="feedback-staff"),
]
