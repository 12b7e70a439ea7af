"""Load and start-up benchmarks: the stand-in in this process, the bot in its own.

Shared by ``tickets bench load`` and the scripts in ``bench/``; nothing here runs
inside the bot.
"""
