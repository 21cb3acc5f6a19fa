"""Property: a config value reaches a remote shell only single-quoted, or not at all.

Hypothesis puts shell-ish text (spaces, ``$``, backquotes, globs, quotes, ``;``
…) into every config field that ends up in a command hatui sends: the poll
script (and each alternative it ``eval``s), the switchover steps and their
undo steps, the DRBD verbs the resync flows use, the action lock. A config
either fails validation, or every occurrence of each value that needs quoting
lies inside single quotes of the command (at both shell levels of the poll
script). ``health_command`` is excluded on purpose: it is the operator's own
shell command, run as written (README).
"""

from __future__ import annotations

import copy
import importlib.resources
import shlex
import tomllib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hatui.actions.failover import switchover_steps
from hatui.actions.lock import LOCK_DIR, NodeLocks
from hatui.actions.plan import Commands
from hatui.config import Config, ConfigError, parse_config
from hatui.probes import catalog
from hatui.probes.script import build_script

EXAMPLE = importlib.resources.files("hatui").joinpath("config_example.toml").read_text()
BASE = tomllib.loads(EXAMPLE)

# (section path, key) of every string that can reach a command, and whether it is a list.
FIELDS = [
    (("cluster",), "command_prefix"), (("nodes", 0), "name"), (("nodes", 0), "host"),
    (("vip",), "interface"), (("keepalived",), "unit"), (("keepalived",), "pid_file"),
    (("keepalived",), "json_file"), (("drbd", 0), "resource"), (("drbd", 0), "device"),
    (("drbd", 0), "mount_point"), (("drbd", 0), "fs_type"), (("drbd", 0), "backing_disk"),
    (("services", "nfs"), "unit"), (("services", "nfs"), "exports"), (("services", "dag_processor"), "unit"),
]
SHELLISH = "abz09_./-+@:,%=\\ $`;|&*?[]{}()<>'\"!#~\n\t"
word = st.text(alphabet=SHELLISH, min_size=1, max_size=16)
# Mostly: the field's own valid value with a few characters inserted (so many
# configs pass validation with odd characters); sometimes free shell-ish text.
char = st.one_of(st.sampled_from(SHELLISH), st.sampled_from("az09_.-/+@:,%=\\[]"))  # the 2nd: often accepted
edits = st.lists(st.tuples(st.integers(0, 64), char), min_size=1, max_size=3)
value = st.one_of(edits, edits, edits, word)


def _get(data: dict, index: int) -> tuple[dict, str]:
    path, key = FIELDS[index]
    target = data
    for part in path:
        target = target[part]
    return target, key


def _edit(original: str, change: list[tuple[int, str]] | str) -> str:
    if isinstance(change, str):
        return change
    text = original
    for pos, ch in change:
        pos = pos % (len(text) + 1)
        text = text[:pos] + ch + text[pos:]
    return text


def build(overrides: dict[int, list[tuple[int, str]] | str]) -> dict:
    data = copy.deepcopy(BASE)
    data["drbd"][0].setdefault("backing_disk", "/dev/vdb")
    for index, change in overrides.items():
        target, key = _get(data, index)
        if key == "exports":
            target[key] = [_edit(target[key][0], change), "/srv/ha/export"]
        else:
            target[key] = _edit(target[key], change)
    return data


def quote_context(command: str) -> list[str]:
    """For each character: 'single' (inside '…'), 'double', 'plain', 'escaped' or 'quote' (a quote mark)."""
    ctx: list[str] = []
    state, i = "plain", 0
    while i < len(command):
        ch = command[i]
        if state == "single":
            ctx.append("quote" if ch == "'" else "single")
            state = "plain" if ch == "'" else "single"
        elif ch == "\\" and i + 1 < len(command) and (state == "plain" or command[i + 1] in '$`"\\\n'):
            ctx += ["escaped", "escaped"]
            i += 2
            continue
        elif state == "double":
            ctx.append("quote" if ch == '"' else "double")
            state = "plain" if ch == '"' else "double"
        else:
            ctx.append("quote" if ch in "'\"" else "plain")
            state = {"'": "single", '"': "double"}.get(ch, "plain")
        i += 1
    return ctx


def commands(config: Config) -> list[str]:
    """Every command text hatui would send for this config (one shell level each)."""
    probes = catalog.poll_probes(config, include_slow=True)
    dag = config.services.dag_processor.health_command
    script = build_script(probes, nonce="abc123", prefix=config.cluster.prefix_words,
                          keepalived_pid_file=config.keepalived.pid_file,
                          keepalived_json_file=config.keepalived.json_file)
    out = [script.replace(shlex.quote(dag), "") if dag else script]
    out += [alt for p in probes for alt in p.alternatives if alt != dag]  # eval'd again on the node
    a, b = config.node_names
    for source, target in ((a, b), (b, a)):
        for step in switchover_steps(config, source, target):
            out += [s.command for s in (step, step.undo) if s is not None and s.command is not None]
    cmd = Commands(config)
    for res in config.drbd:
        for verb in ("connect", "disconnect", "secondary", "primary", "invalidate", "invalidate-remote", "verify"):
            out.append(cmd.drbdadm(verb, res.resource))
        out.append(cmd.drbdadm("connect", res.resource, "--discard-my-data"))
    locks = NodeLocks(config, {})
    out += [locks._cmd("mkdir", LOCK_DIR), locks._cmd("rm", "-f", LOCK_DIR)]
    return out


def needs_quoting(config: Config) -> set[str]:
    """The config's values (prefix: its words) that a shell would not take literally.

    Node names and hosts are left out: they are labels and SSH destinations,
    never words of a remote command.
    """
    values = {config.vip.interface, config.vip.ip, config.keepalived.unit, config.keepalived.pid_file,
              config.keepalived.json_file, config.services.nfs.unit, config.services.dag_processor.unit,
              *config.services.nfs.exports, *config.cluster.prefix_words}
    for r in config.drbd:
        values |= {r.resource, r.device, r.mount_point, r.fs_type, r.backing_disk or ""}
    return {v for v in values if v and shlex.quote(v) != v}


def unquoted_uses(config: Config) -> list[tuple[str, str]]:
    bad = []
    for command in commands(config):
        ctx = quote_context(command)
        for v in needs_quoting(config):
            start = command.find(v)
            while start != -1:
                if any(c != "single" for c in ctx[start:start + len(v)]):
                    bad.append((v, command))
                start = command.find(v, start + 1)
    return bad


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.integers(0, len(FIELDS) - 1), value, min_size=1, max_size=3))
def test_config_values_reach_commands_only_single_quoted(overrides: dict[int, str]) -> None:
    try:
        config = Config.model_validate(build(overrides))
    except ValueError:  # pydantic's ValidationError: rejected, never reaches a node
        return
    assert unquoted_uses(config) == []


def unvalidated(config: Config, index: int, text: str) -> Config:
    """``config`` with one field set to ``text`` *without* validation (model_copy does not validate)."""
    path, key = FIELDS[index]
    new = (text,) if key == "exports" else text
    if path[0] in ("nodes", "drbd"):
        items = list(getattr(config, path[0]))
        items[0] = items[0].model_copy(update={key: new})
        return config.model_copy(update={path[0]: tuple(items)})
    if path[0] == "services":
        sub = getattr(config.services, path[1]).model_copy(update={key: new})
        return config.model_copy(update={"services": config.services.model_copy(update={path[1]: sub})})
    return config.model_copy(update={path[0]: getattr(config, path[0]).model_copy(update={key: new})})


# command_prefix is split into words (by design), and node name/host never reach a command.
QUOTED_FIELDS = [i for i, (path, key) in enumerate(FIELDS) if key not in ("command_prefix", "name", "host")]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(QUOTED_FIELDS), st.text(alphabet=SHELLISH, min_size=1, max_size=12))
def test_quoting_does_not_depend_on_validation(index: int, text: str) -> None:
    """Even a value validation would reject is single-quoted wherever it lands (defence in depth)."""
    config = unvalidated(parse_config(EXAMPLE), index, f"QZ{text}ZQ")  # markers: no chance match
    try:
        bad = unquoted_uses(config)
    except ValueError as exc:  # build_script refuses a section name it cannot mark safely
        assert "bad probe name" in str(exc)
        return
    assert bad == []


def test_the_checker_sees_an_unquoted_or_double_quoted_value() -> None:
    assert quote_context("a 'b c' \"d\"")[3:6] == ["single"] * 3
    assert quote_context("a 'b c' \"d\"")[9] == "double"
    config = parse_config(EXAMPLE)
    assert unquoted_uses(config) == []  # the example needs no quoting at all


def test_a_unit_name_with_a_systemd_escape_is_accepted_and_quoted() -> None:
    data = build({4: "dev-disk-by\\x2dlabel.mount"})
    config = Config.model_validate(data)
    assert "\\" in config.keepalived.unit and config.keepalived.unit in needs_quoting(config)
    assert unquoted_uses(config) == []
    assert any(shlex.quote(config.keepalived.unit) in c for c in commands(config))


def test_shell_syntax_in_a_path_is_rejected() -> None:
    for bad in ("/srv/$(reboot)", "/srv/a b", "/srv/`id`", "/srv/x;rm", "/srv/*"):
        try:
            parse_config(f'[vip]\naddress="10.0.0.1/24"\ninterface="eth0"\n[[nodes]]\nname="a"\nhost="a"\n'
                         f'[[nodes]]\nname="b"\nhost="b"\n[[drbd]]\nresource="r0"\ndevice="/dev/drbd0"\n'
                         f'mount_point="{bad}"\n')
        except ConfigError:
            continue
        raise AssertionError(f"{bad!r} was accepted")


def test_a_valid_resource_name_with_plus_gets_a_poll_section() -> None:
    """config allows ``+`` in DRBD resource names; the poll script must mark its sections too."""
    from hatui.probes.script import split_sections

    config = Config.model_validate(build({7: "r0+a"}))
    probes = catalog.poll_probes(config, include_slow=False)
    script = build_script(probes, nonce="abc123", prefix=config.cluster.prefix_words)
    assert "_h mount.r0+a " in script
    out = "@@hatui:abc123:begin:mount.r0+a@@\n{}\n@@hatui:abc123:end:mount.r0+a:rc=0@@\n"
    assert split_sections(out, "abc123")["mount.r0+a"].text == "{}"


def test_keepalived_files_in_messages_are_outside_double_quotes() -> None:
    script = build_script([], nonce="abc123", keepalived_pid_file="/run/k$(id).pid",
                          keepalived_json_file="/tmp/k`id`.json")
    assert "\"keepalived pid file \"'/run/k$(id).pid'\" not readable\"" in script
    assert "echo \"keepalived did not write \"'/tmp/k`id`.json'" in script
