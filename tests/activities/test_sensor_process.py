"""The sensor host as the worker runs it: a real child process speaking JSON lines.

No database and no Temporal here: the answers to the sensor's dispatches are the test's.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from activities.sensor_process import HostOptions, SensorFailed, SensorProcess, SensorSpec

OPTIONS = HostOptions(api_url="http://attune.test", heartbeat=lambda: None, kill_grace_seconds=2)


def spec_for(tmp_path: Path, code: str, **fields: Any) -> SensorSpec:
    """A sensor `Probe` in `sensors/probe.py` of a pack `pk` with triggers `pk.a`, `pk.b`."""
    (tmp_path / "sensors").mkdir(exist_ok=True)
    (tmp_path / "sensors" / "probe.py").write_text(textwrap.dedent(code))
    values: dict[str, Any] = {
        "ref": "pk.probe",
        "pack_ref": "pk",
        "pack_path": str(tmp_path),
        "entry_point": "sensors/probe.py:Probe",
        "trigger_refs": ("pk.a", "pk.b"),
        "config": {"folder": str(tmp_path)},
        "state": {},
        "poll_interval": 1.0,
    }
    return SensorSpec(**(values | fields))


class Recorder:
    """Answers like the worker: stores every dispatch, or refuses those on `refuse`."""

    def __init__(self, refuse: str | None = None) -> None:
        self.received: list[dict[str, Any]] = []
        self.refuse = refuse

    async def __call__(self, message: dict[str, Any]) -> dict[str, Any]:
        self.received.append(message)
        if message["kind"] == "dispatch" and message["trigger"] == self.refuse:
            return {"refused": "payload does not fit trigger"}
        return {"stored": True} if message["kind"] == "dispatch" else {"saved": True}


async def run_polls(
    spec: SensorSpec, answers: Recorder, polls: int, *, idle_seconds: float = 10
) -> list[dict[str, Any]]:
    """Start the sensor, poll it `polls` times, stop it; the state after each poll."""
    states = []
    async with SensorProcess.started(spec, OPTIONS) as host:
        await host.ready(answers, idle_seconds=10)
        for _ in range(polls):
            states.append(await host.poll(answers, idle_seconds=idle_seconds))
        await host.stop(idle_seconds=10)
    return states


SYNC = """
    from pathlib import Path
    from attune.sdk import DispatchRefused, PollingSensor

    class Probe(PollingSensor):
        def setup(self):
            self.folder = Path(self.config["folder"])
            print("setting up, on stdout")  # must not break the protocol

        def poll(self):
            n = self.state.get("n", 0) + 1
            assert self.dispatch("a", {"n": n}) is True
            try:
                self.dispatch("pk.elsewhere", {})
            except DispatchRefused as refused:
                self.state["refused"] = str(refused)
            self.state["n"] = n

        def cleanup(self):
            (self.folder / "cleaned").write_text("yes")
"""


async def test_a_sync_sensor_polls_dispatches_keeps_its_state_and_cleans_up(
    tmp_path: Path,
) -> None:
    answers = Recorder()
    first, second = await run_polls(spec_for(tmp_path, SYNC, state={"n": 41}), answers, 2)

    assert [m["payload"] for m in answers.received] == [{"n": 42}, {"n": 43}]
    assert {m["trigger"] for m in answers.received} == {"pk.a"}
    assert first["n"] == 42
    assert second["n"] == 43
    assert "not one of this sensor's triggers" in second["refused"]
    assert (tmp_path / "cleaned").read_text() == "yes"


ASYNC = """
    import asyncio
    from attune.sdk import PollingSensor

    class Probe(PollingSensor):
        async def setup(self):
            self.queue = asyncio.Queue()  # bound to the loop that every poll runs on
            await self.queue.put("first")

        async def poll(self):
            item = await self.queue.get()
            await self.queue.put("next")
            self.dispatch("pk.b", {"item": item})
            self.set_state({"last": item})
"""


async def test_an_async_sensor_runs_every_poll_on_the_loop_of_its_setup(tmp_path: Path) -> None:
    answers = Recorder()
    *_, state = await run_polls(spec_for(tmp_path, ASYNC), answers, 2)

    dispatched = [m["payload"]["item"] for m in answers.received if m["kind"] == "dispatch"]
    assert dispatched == ["first", "next"]
    saved = [m["state"] for m in answers.received if m["kind"] == "state"]
    assert saved == [{"last": "first"}, {"last": "next"}]
    assert state == {"last": "next"}


async def test_a_refused_dispatch_fails_the_poll_with_its_traceback_and_cleans_up(
    tmp_path: Path,
) -> None:
    answers = Recorder(refuse="pk.a")
    with pytest.raises(SensorFailed) as failed:
        await run_polls(spec_for(tmp_path, SYNC), answers, 1)

    message = str(failed.value)
    assert message.startswith("poll() raised attune.sdk.sensors.DispatchRefused: payload does")
    assert "Traceback" in message
    assert 'probe.py", line' in message
    assert (tmp_path / "cleaned").read_text() == "yes"


async def test_an_error_in_setup_is_reported_with_the_line_that_raised(tmp_path: Path) -> None:
    code = """
        from attune.sdk import PollingSensor

        class Probe(PollingSensor):
            def setup(self):
                raise ConnectionError("no route to the queue")

            def poll(self):
                pass
    """
    with pytest.raises(SensorFailed, match=r"setup\(\) raised ConnectionError: no route"):
        await run_polls(spec_for(tmp_path, code), Recorder(), 1)


async def test_a_class_that_is_no_sensor_is_refused_by_name(tmp_path: Path) -> None:
    code = """
        class Probe:
            def poll(self):
                pass
    """
    with pytest.raises(SensorFailed, match=r"Probe in probe\.py is not a subclass of attune\.sdk"):
        await run_polls(spec_for(tmp_path, code), Recorder(), 1)


async def test_an_entry_point_leading_out_of_the_pack_is_refused_before_anything_runs(
    tmp_path: Path,
) -> None:
    pack = tmp_path / "pack"
    pack.mkdir()
    spec = spec_for(tmp_path, SYNC, pack_path=str(pack), entry_point="../sensors/probe.py:Probe")
    with pytest.raises(SensorFailed, match="is not a file of the pack"):
        async with SensorProcess.started(spec, OPTIONS):
            pass


async def test_a_sensor_that_floods_stdout_and_forges_a_huge_line_only_fails_itself(
    tmp_path: Path,
) -> None:
    # Megabytes of print() go to stderr, drained; then a line past the limit, written
    # straight to the protocol's pipe behind the SDK's back.
    code = """
        from attune.sdk import PollingSensor

        class Probe(PollingSensor):
            def poll(self):
                for _ in range(3000):
                    print("x" * 1000)
                self._link._channel._outgoing.write(b'{"kind": "' + b"y" * 3_000_000)
                self._link._channel._outgoing.flush()
    """
    with pytest.raises(SensorFailed, match="a message over 1114112 bytes"):
        await run_polls(spec_for(tmp_path, code), Recorder(), 1)


async def test_a_hung_poll_fails_and_nothing_the_sensor_started_survives(tmp_path: Path) -> None:
    code = """
        import subprocess, time
        from pathlib import Path
        from attune.sdk import PollingSensor

        class Probe(PollingSensor):
            def setup(self):
                child = subprocess.Popen(["sleep", "300"])
                (Path(self.config["folder"]) / "child").write_text(str(child.pid))

            def poll(self):
                time.sleep(300)
    """
    with pytest.raises(SensorFailed, match="sent nothing for 1s"):
        await run_polls(spec_for(tmp_path, code), Recorder(), 1, idle_seconds=1)

    child = int((tmp_path / "child").read_text())
    assert not running(child)


def running(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie waiting for its reaper is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


async def test_a_state_over_the_limit_fails_the_poll_naming_the_limit(tmp_path: Path) -> None:
    code = """
        from attune.sdk import PollingSensor

        class Probe(PollingSensor):
            def poll(self):
                self.state["seen"] = ["item"] * 20_000
    """
    with pytest.raises(SensorFailed, match="state must stay under 65536 bytes"):
        await run_polls(spec_for(tmp_path, code), Recorder(), 1)
