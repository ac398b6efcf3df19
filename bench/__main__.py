"""`python -m bench`: the one benchmark command (bench/run.py)."""

from bench.run import main

main()
