"""``hatui serve``: the always-on, headless side of hatui — read-only by construction.

It polls every configured pair with the console's own :class:`~hatui.snapshot.poller.ClusterPoller`
(one loop per pair), exposes the latest picture as Prometheus metrics
(:mod:`.metrics`, with the official ``prometheus_client``) and records what happens in
the history database (:mod:`hatui.history`). Nothing in this package imports the action
runner, the lock or the plans: the only thing ``/metrics`` can do is describe; the HTTP
server answers GET and refuses every other method.
"""
