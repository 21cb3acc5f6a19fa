"""The persistent history: what happened to every pair, kept in SQLite so it outlives the console.

``hatui serve`` (and anything else holding snapshots) records every layer state change,
every finding raised and cleared, the node kit's automatic failover steps and every
action run; ``hatui history`` answers "what happened at 03:12?". :mod:`.store` owns the
database (WAL, busy timeout, short transactions, bounds by age and size),
:mod:`.recorder` decides what a snapshot adds, :mod:`.query` reads it back.
"""
