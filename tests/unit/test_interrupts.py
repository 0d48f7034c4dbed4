"""SIGINT/SIGTERM handling (interrupts.py)."""

from __future__ import annotations

import os
import signal
import time

import pytest

from dbt_lambda_sync.errors import Interrupted, Terminated
from dbt_lambda_sync.interrupts import StopRequests


def send(signum: int) -> None:
    os.kill(os.getpid(), signum)
    time.sleep(0.01)  # the handler runs between bytecodes of the main thread


def test_outside_a_run_a_signal_raises_at_once() -> None:
    stops = StopRequests()
    with stops.installed():
        with pytest.raises(Terminated) as caught:
            send(signal.SIGTERM)
        assert caught.value.exit_code == 143
        with pytest.raises(Interrupted) as caught:
            send(signal.SIGINT)
        assert caught.value.exit_code == 130 and not isinstance(caught.value, Terminated)


def test_while_deferring_the_first_signal_is_recorded_and_raised_on_leaving() -> None:
    stops = StopRequests()
    with stops.installed(), pytest.raises(Terminated):
        with stops.deferring():
            send(signal.SIGTERM)
            assert isinstance(stops.requested, Terminated)  # recorded, not raised
            with stops.deferring():
                pass  # leaving an inner block raises nothing
        pytest.fail("leaving the last deferring block raises the recorded signal")


def test_check_raises_once_and_a_second_signal_raises_at_once() -> None:
    stops = StopRequests()
    with stops.installed():
        with pytest.raises(Interrupted), stops.deferring():
            send(signal.SIGINT)
            with pytest.raises(Interrupted, match="a second time"):
                send(signal.SIGINT)
            stops.check()


def test_installed_restores_the_previous_handlers() -> None:
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    stops = StopRequests()
    with stops.installed():
        assert signal.getsignal(signal.SIGTERM) != before[0]
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before
    assert stops.requested is None


@pytest.mark.parametrize(("error", "code"), [(Terminated(), 143), (Interrupted(), 130)])
def test_the_cli_exits_143_on_sigterm_and_130_on_ctrl_c(error: Interrupted, code: int) -> None:
    import json

    import click
    from click.testing import CliRunner

    from dbt_lambda_sync.cli import _Group
    from dbt_lambda_sync.cli.common import output_option

    @click.group(cls=_Group)
    def group() -> None:
        pass

    @group.command()
    @output_option
    def stopped(output: str) -> None:
        raise error

    result = CliRunner().invoke(group, ["stopped", "--output", "json"])
    assert result.exit_code == code
    assert f"Interrupted by {error.signal_name}" in result.stderr
    assert json.loads(result.stdout)["exit_code"] == code
