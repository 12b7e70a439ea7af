"""``python -m standalone``: the ``tickets`` command, as the console script runs it."""

from standalone.entry import main

main()
