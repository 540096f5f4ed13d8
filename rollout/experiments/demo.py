from __future__ import annotations

from core.demo import DemoUsers


def seed_experiments_demo(users: DemoUsers) -> str:
    return "nothing yet"
