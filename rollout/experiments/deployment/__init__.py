"""Deployment as code: ``configs/*.yml`` → flags, experiments, alert rules, feedback routing (``manage.py deploy``)."""
