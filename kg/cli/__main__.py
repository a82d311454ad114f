"""``python -m kg.cli``: the ``kg`` program."""

from kg.cli import run

run()
