"""The run options are defined once (``scaling_claims.plugin.options``): ``scaling-claims run``
and the pytest plugin offer each shared option with the same flag, choices, default, help and
validation, and both refuse the same bad values."""

from __future__ import annotations

import pytest

from scaling_claims.plugin import pytest_plugin
from scaling_claims.plugin.options import CLI_OPTIONS, PLUGIN_DESTS, RUN_OPTIONS
from scaling_claims.plugin.xdist import is_xdist_worker
from scaling_claims.tool.cli import build_parser, main

COMPARED = ("choices", "default", "type", "help", "metavar")


def cli_actions() -> dict[str, object]:
    run = build_parser()._subparsers._group_actions[0].choices["run"]  # noqa: SLF001
    return {flag: action for action in run._actions for flag in action.option_strings}  # noqa: SLF001


def plugin_options() -> dict[str, object]:
    parser = pytest.Parser(_ispytest=True)
    pytest_plugin.pytest_addoption(parser)
    return {name: opt for opt in parser.getgroup("scaling-claims").options for name in opt.names()}


@pytest.mark.parametrize("name", CLI_OPTIONS)
def test_each_shared_option_is_the_same_in_both(name):
    flag, _ = RUN_OPTIONS[name]
    cli, plugin = cli_actions()[flag], plugin_options()[flag].attrs()
    for key in COMPARED:
        cli_value = getattr(cli, key)
        cli_value = tuple(cli_value) if key == "choices" and cli_value is not None else cli_value
        plugin_value = plugin.get(key)
        plugin_value = tuple(plugin_value) if key == "choices" and plugin_value is not None else plugin_value
        assert cli_value == plugin_value, (flag, key)
    assert plugin.get("dest") == PLUGIN_DESTS.get(name, name) and cli.dest == name


def test_the_plugin_offers_every_run_option():
    assert {flag for flag, _ in RUN_OPTIONS.values()} <= set(plugin_options())


@pytest.mark.parametrize("args, message", [(["--workers", "0"], "--workers must be an integer >= 1"),
                                            (["--workers", "two"], "--workers must be an integer >= 1"),
                                            (["--executor", "nope"], "invalid choice")])
def test_the_command_refuses_what_the_plugin_refuses(tmp_path, capsys, args, message):
    """tests/test_plugin.py::test_bad_options_are_usage_errors holds the plugin to the same."""
    with pytest.raises(SystemExit) as exit_:
        main(["run", str(tmp_path / "specs.json"), *args])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_is_xdist_worker():
    class Worker:
        workerinput: dict = {}

    assert is_xdist_worker(Worker()) and not is_xdist_worker(object())
