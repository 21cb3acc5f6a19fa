"""Property tests: generated events2 sequences, printed in every form, fold to the true state.

A small model of DRBD objects is driven by random operations; each operation is
printed as drbd-utils would print it (only the changed fields, or every field as
with ``--full``; with or without ``--timestamps``; ``--diff`` as ``old->new``;
coloured), with malformed lines mixed in. After every line the parser's report
must equal the model, no resync-only value may outlive its resync, and a
reconnect (reset + a fresh ``exists`` dump) must give the same state.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hatui.probes.events2 import Events2State
from hatui.states import ReplicationState, is_syncing

ROLES = ("Primary", "Secondary")
DISKS = ("UpToDate", "Outdated", "Inconsistent", "Diskless", "Consistent")
CONNS = ("Connected", "Connecting", "StandAlone", "NetworkFailure")
REPLS = ("Established", "Off", "SyncSource", "SyncTarget", "PausedSyncT", "VerifyS")
SUSP = ("no", "user", "fencing", "quorum", "no-data,fencing")
PEERS = ("vm2", "vm12")
JUNK = ("garbage", "change", "change device name:r0 disk:Failed", "change peer-device name:r0 volume:0",
        "explode resource name:r0", "change resource name:r0 role:Primary cut", "\x00\x01", "exists - x")


def initial_model() -> dict:
    return {"role": "Secondary", "suspended": "no", "disk": "UpToDate", "quorum": "yes",
            "conns": {p: {"connection": "Connected", "role": "Secondary",
                          "replication": "Established", "peer-disk": "UpToDate", "done": None} for p in PEERS[:1]}}


def dump(model: dict) -> list[str]:
    lines = [f"exists resource name:r0 role:{model['role']} suspended:{model['suspended']}",
             f"exists device name:r0 volume:0 minor:0 disk:{model['disk']} client:no quorum:{model['quorum']}"]
    for i, (peer, c) in enumerate(model["conns"].items()):
        lines.append(f"exists connection name:r0 peer-node-id:{i + 1} conn-name:{peer} "
                     f"connection:{c['connection']} role:{c['role']}")
        done = f" done:{c['done']:.2f}" if c["done"] is not None else ""
        lines.append(f"exists peer-device name:r0 peer-node-id:{i + 1} conn-name:{peer} volume:0 "
                     f"replication:{c['replication']} peer-disk:{c['peer-disk']}{done}")
    return [*lines, "exists -"]


OPS = st.one_of(
    st.tuples(st.just("role"), st.sampled_from(ROLES)),
    st.tuples(st.just("suspended"), st.sampled_from(SUSP)),
    st.tuples(st.just("disk"), st.sampled_from(DISKS)),
    st.tuples(st.just("quorum"), st.sampled_from(("yes", "no"))),
    st.tuples(st.just("connection"), st.sampled_from(PEERS), st.sampled_from(CONNS)),
    st.tuples(st.just("replication"), st.sampled_from(PEERS), st.sampled_from(REPLS),
              st.floats(0, 100, allow_nan=False)),
    st.tuples(st.just("replication"), st.just("vm2"), st.sampled_from(("SyncTarget", "Established")),
              st.floats(0, 100, allow_nan=False)),
    st.tuples(st.just("progress"), st.sampled_from(PEERS), st.floats(0, 100, allow_nan=False)),
    st.tuples(st.just("create"), st.sampled_from(PEERS)),
    st.tuples(st.just("destroy"), st.sampled_from(PEERS)),
    st.tuples(st.just("helper"), st.sampled_from(("fence-peer", "split-brain")), st.integers(0, 7)),
    st.tuples(st.just("junk"), st.sampled_from(JUNK)),
)
STYLE = st.fixed_dictionaries({"ts": st.booleans(), "full": st.booleans(), "diff": st.booleans(),
                               "color": st.booleans()})


def value(old: str | None, new: str, style: dict) -> str:
    text = f"\x1b[1m{new}\x1b[0m" if style["color"] else new
    return f"{old or 'unknown'}->{text}" if style["diff"] else text


def apply(model: dict, op: tuple, style: dict) -> list[str]:
    """Change the model by ``op``; the lines drbdsetup prints for it."""
    kind = op[0]
    pre = "2024-03-01T10:00:00.000001+00:00 " if style["ts"] else ""
    conns = model["conns"]

    def peer_line(peer: str, changed: dict) -> str:
        c = conns[peer]
        node_id = PEERS.index(peer) + 1
        fields = {"replication": c["replication"], "peer-disk": c["peer-disk"]} if style["full"] else {}
        fields.update(changed)
        words = " ".join(f"{k}:{value(None, v, style)}" for k, v in fields.items())
        if c["done"] is not None:
            words += f" done:{c['done']:.2f}"
        return f"{pre}change peer-device name:r0 peer-node-id:{node_id} conn-name:{peer} volume:0 {words}"

    if kind in ("role", "suspended"):
        old, model[kind] = model[kind], op[1]
        return [f"{pre}change resource name:r0 {kind}:{value(old, op[1], style)}"]
    if kind in ("disk", "quorum"):
        old, model[kind] = model[kind], op[1]
        return [f"{pre}change device name:r0 volume:0 minor:0 {kind}:{value(old, op[1], style)}"]
    if kind == "helper":
        return [f"{pre}call helper name:r0 helper:{op[1]}", f"{pre}response helper name:r0 helper:{op[1]} "
                f"status:{op[2] * 256}"]
    if kind == "junk":
        return [op[1]]
    peer = op[1]
    node_id = PEERS.index(peer) + 1
    if kind == "create":
        if peer in conns:
            return []
        conns[peer] = {"connection": "Connecting", "role": "Unknown", "replication": "Off", "peer-disk": "DUnknown",
                       "done": None}
        return [f"{pre}create connection name:r0 peer-node-id:{node_id} conn-name:{peer} connection:Connecting "
                "role:Unknown",
                f"{pre}create peer-device name:r0 peer-node-id:{node_id} conn-name:{peer} volume:0 replication:Off "
                "peer-disk:DUnknown"]
    if peer not in conns:
        return []
    c = conns[peer]
    if kind == "destroy":
        del conns[peer]
        return [f"{pre}destroy peer-device name:r0 peer-node-id:{node_id} conn-name:{peer} volume:0",
                f"{pre}destroy connection name:r0 peer-node-id:{node_id} conn-name:{peer}"]
    if kind == "connection":
        c["connection"] = op[2]
        return [f"{pre}change connection name:r0 peer-node-id:{node_id} conn-name:{peer} "
                f"connection:{value(None, op[2], style)}"]
    if kind == "replication":
        c["replication"] = op[2]
        c["done"] = op[3] if is_syncing(ReplicationState.parse(op[2])) or op[2] == "VerifyS" else None
        return [peer_line(peer, {"replication": op[2]})]
    if c["done"] is None:  # progress only exists during a resync
        return []
    c["done"] = op[2]
    return [peer_line(peer, {})]


def check(state: Events2State, model: dict) -> None:
    (res,) = state.report().resources
    assert str(res.role) == model["role"]
    assert res.suspended == (model["suspended"] != "no")
    assert res.suspended_reason == (None if model["suspended"] == "no" else model["suspended"])
    dev = res.devices[0]
    assert str(dev.disk) == model["disk"] and dev.quorum == (model["quorum"] == "yes")
    assert {c.peer for c in res.connections} == set(model["conns"])
    for conn in res.connections:
        want = model["conns"][conn.peer]
        assert str(conn.connection) == want["connection"]
        pd = conn.peer_devices[0]
        assert str(pd.replication) == want["replication"]
        if want["done"] is None:
            assert pd.sync_percent is None, "a resync value outlived its resync"
        else:
            assert pd.sync_percent == round(want["done"], 2)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(st.tuples(OPS, STYLE), min_size=1, max_size=30))
def test_generated_sequences_fold_to_the_true_state(ops):
    model = initial_model()
    state = Events2State()
    for line in dump(model):
        state.feed(line)
    assert state.initial_done
    junk = 0
    for op, style in ops:
        for line in apply(model, op, style):
            before = state.report().resources
            changed = state.feed(line)
            if op[0] == "junk":
                junk += 1
                assert not changed and state.report().resources == before
        check(state, model)
    assert state.malformed == junk
    # A reconnect: forget everything, read a fresh initial dump: the same state, nothing stale.
    state.reset()
    assert not state.initial_done
    for line in dump(model):
        state.feed(line)
    check(state, model)


@settings(max_examples=100, deadline=None)
@given(lines=st.lists(st.text(max_size=80), max_size=20))
def test_any_text_never_raises(lines):
    state = Events2State()
    for line in lines:
        assert isinstance(state.feed(line), bool)
    report = state.report()
    assert report.source == "events2" and report.ignored == state.malformed
