"""The benchmarks' shared data set: a deterministic generator (generate.py, episodes.py), the rows in the
shape the pipeline writes them (rows.py) and a COPY loader into a dedicated database (load.py)."""
