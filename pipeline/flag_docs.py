"""The README's flag table, made from a runner's argparse parser: every flag is declared once (the trainer's
settings in trainer/config.py, the rest where their runner or stage adds them), and the table follows.
`make bench-report` rewrites the README's copy; tests/test_cli.py fails when that copy is stale."""
from __future__ import annotations

import argparse
from typing import List

BEGIN, END = "<!-- flags:begin -->", "<!-- flags:end -->"


def _help_text(action: argparse.Action) -> str:
    text = (action.help or "").replace("\n", " ")
    if "%(" in text:
        text = text % {**vars(action), "default": action.default}
    if action.choices and not isinstance(action.choices, dict):
        text = f"one of {', '.join(f'`{c}`' for c in action.choices)}" + (f": {text}" if text else "")
    return text.replace("|", "\\|")


def markdown_table(parser: argparse.ArgumentParser) -> str:
    """One table per argument group: flag, what it does (with its default where the help names it)."""
    lines: List[str] = []
    for group in parser._action_groups:  # argparse keeps groups in the order they were added
        actions = [a for a in group._group_actions if a.option_strings and a.help != argparse.SUPPRESS
                   and "--help" not in a.option_strings]
        if not actions:
            continue
        lines += [f"**{group.title}**", "", "| flag | what it does |", "| --- | --- |"]
        for action in actions:
            flag = action.option_strings[-1] + (f" {action.metavar}" if action.metavar else "")
            lines.append(f"| `{flag}` | {_help_text(action)} |")
        lines.append("")
    return "\n".join(lines).rstrip("\n")


def section(parser: argparse.ArgumentParser) -> str:
    """The README's flag section, markers included."""
    return f"{BEGIN}\n{markdown_table(parser)}\n{END}"
