"""Experiments: a CX strategy tried on a segment against a holdout, and whether it worked.

The flow: a marketer creates an experiment on a segment (variants with shares, a window, metrics),
starts it; each customer who is (or becomes) a member while it runs is assigned a variant by a hash
of the experiment's key and their id (assignment.py), once and for good; the treatment reaches them
as a next best action for agents (treatments_for → personalization) and/or a signed outbound webhook;
results.py measures every variant from the customers' own interactions after assignment and
statistics.py says, with a 95 % interval, whether the difference is real.
"""
