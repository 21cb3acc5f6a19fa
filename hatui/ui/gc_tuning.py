"""The console's garbage collector: full collections rarer, and over fewer objects.

Python's full (generation 2) collection walks every container object the process holds. In the
console that is Textual's and Rich's caches (a DataTable keeps up to 10,000 rendered cells, each
strip its own small caches), the loaded modules (Textual, asyncssh, cryptography, pydantic) and the
model, and on a busy 2-core machine one walk took 100–400 ms, every 3–5 s during a takeover: the
longest pauses of the console's event loop, so a change that arrived during one reached the screen
that much later (measured with ``scripts/bench_latency.py --lab``; profile in README, "Tests and
benchmarks").

:func:`quiet_gc`, called once the console's modules are loaded and before it runs:

* ``gc.freeze()``: what is loaded by then lives as long as the process (modules, classes, the
  configuration); the collector no longer walks it (about 70,000 objects);
* the full collection runs after 100 collections of the middle generation instead of 10, so about
  every 30 s instead of every 3–5 s under load. Young objects are still collected as often as
  before; only garbage in reference cycles that survived two collections waits longer to be freed.

Not used in tests that open many consoles in one process: frozen objects are never collected.
"""

from __future__ import annotations

import gc

FULL_EVERY = 100  # collections of generation 1 per full collection (Python's default: 10)


def quiet_gc() -> None:
    """Freeze what is loaded now and make full collections rarer (see the module docstring)."""
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_EVERY)
