"""Helpers shared by the tests, ``bench/`` and the demo: a fake clock, a ministack launcher, a
scripted Lambda endpoint and a throw-away dbt project builder."""
