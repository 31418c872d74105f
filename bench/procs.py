"""Child processes for the benchmark: free ports, cleanup on exit, RSS sampling, the REST stack.

Every process the benchmark starts is registered here and gets its own session, so it (and
anything it forks) is terminated by process group when the benchmark exits, fails or is killed.
"""
from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence

import psutil
import requests

from bot.paths import ROOT

BIN = Path(sys.executable).parent
#: Variables the benchmark sets for its own in-process training; children must not inherit them.
BENCH_ONLY_ENV = ("RASA_MAX_CACHE_SIZE", "RASA_CACHE_DIRECTORY")
_CHILDREN: List[subprocess.Popen] = []


def free_port() -> int:
    """A TCP port the OS reports free on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_env(**extra: str) -> Dict[str, str]:
    """The environment for a child process: ours, minus benchmark-only settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in BENCH_ONLY_ENV}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.setdefault("PYTHONWARNINGS", "ignore")
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    return {**env, **extra}


def spawn(cmd: Sequence[str], log: Path, env: Dict[str, str]) -> subprocess.Popen:
    """Starts ``cmd`` in its own session with output to ``log``; it is stopped at exit."""
    with log.open("w") as out:
        proc = subprocess.Popen(list(cmd), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    _CHILDREN.append(proc)
    return proc


def stop(proc: subprocess.Popen, grace: float = 20) -> None:
    """Terminates the process group of ``proc`` (one we started), killing it after ``grace`` s."""
    if proc.poll() is None:
        _signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            _signal_group(proc, signal.SIGKILL)
            proc.wait(timeout=10)
    else:
        _signal_group(proc, signal.SIGKILL)  # stray grandchildren left in the group
    if proc in _CHILDREN:
        _CHILDREN.remove(proc)


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)  # pgid == pid: started with start_new_session
    except (ProcessLookupError, PermissionError):
        pass


def stop_all() -> None:
    """Stops every child still registered (atexit and signal handler)."""
    for proc in list(_CHILDREN):
        stop(proc, grace=10)


def _on_signal(signum: int, _frame: object) -> None:
    stop_all()
    raise SystemExit(128 + signum)


def install_cleanup() -> None:
    """Stops children on normal exit, SIGTERM, SIGHUP and Ctrl-C."""
    atexit.register(stop_all)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, _on_signal)


def tree_rss(pid: int) -> int:
    """Resident memory in bytes of ``pid`` and all its descendants (0 when gone)."""
    try:
        root = psutil.Process(pid)
        procs = [root] + root.children(recursive=True)
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


class RssSampler:
    """Samples the RSS of labelled process trees every ``interval`` s in a background thread."""

    def __init__(self, pids: Dict[str, int], interval: float = 0.2) -> None:
        self.pids = pids
        self.interval = interval
        self.peak: Dict[str, int] = {label: 0 for label in pids}
        self.peak_total = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            now = {label: tree_rss(pid) for label, pid in self.pids.items()}
            for label, rss in now.items():
                self.peak[label] = max(self.peak[label], rss)
            self.peak_total = max(self.peak_total, sum(now.values()))
            self.samples += 1
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def report(self) -> Dict[str, object]:
        """Peaks in MB per label, and the peak of their simultaneous sum."""
        mb = {f"{label}_peak_mb": round(v / 2**20, 1) for label, v in self.peak.items()}
        return {**mb, "sum_peak_mb": round(self.peak_total / 2**20, 1), "samples": self.samples,
                "interval_s": self.interval}


def wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    """Polls ``url`` until it answers 2xx; raises with the log tail if ``proc`` dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited early\n{_tail(log)}")
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    raise RuntimeError(f"{url} did not come up in {timeout:.0f} s\n{_tail(log)}")


def _tail(log: Path, chars: int = 3000) -> str:
    return log.read_text(errors="replace")[-chars:] if log.exists() else ""


@contextmanager
def rest_stack(model: Path, tmp: Path, timeout: float = 300, *, extra_credentials: str = "",
               env: Optional[Dict[str, str]] = None, redis_url: Optional[str] = None,
               workers: int = 1) -> Iterator[Dict[str, object]]:
    """``rasa run`` + ``rasa run actions`` on free ports, the encrypting SQLite tracker store
    (bot/trackerstore.py) and DATABASE_URL in ``tmp``. With ``redis_url``, Rasa's Redis lock store
    (own key prefix) and ``workers`` Sanic workers, as a city would scale it (docs/deployment.md).

    Yields ``{"url": rest base url, "pids": {"rasa": pid, "actions": pid}, "logs": [...]}``.
    """
    a_port, r_port = free_port(), free_port()
    endpoints = tmp / "endpoints.yml"
    endpoints.write_text(
        f'action_endpoint:\n  url: "http://127.0.0.1:{a_port}/webhook"\n'
        f'tracker_store:\n  type: bot.trackerstore.EncryptedSQLTrackerStore\n  dialect: "sqlite"\n'
        f'  db: "{tmp / "trackers.db"}"\n' + (_redis_lock_store(redis_url) if redis_url else "")
    )
    env = {**(env or {}), **({"SANIC_WORKERS": str(workers)} if workers > 1 else {})}
    credentials = ROOT / "credentials.yml"
    if extra_credentials:  # e.g. Rasa's callback channel, so a test can receive pushed messages
        credentials = tmp / "credentials.yml"
        credentials.write_text((ROOT / "credentials.yml").read_text() + "\n" + extra_credentials)
    env = child_env(DATABASE_URL=f"sqlite:///{tmp / 'intake.db'}", **(env or {}))
    logs = {"actions": tmp / "actions.log", "rasa": tmp / "rasa.log"}
    procs = {
        "actions": spawn([str(BIN / "rasa"), "run", "actions", "--actions", "bot.actions", "--port", str(a_port)],
                         logs["actions"], env),
        "rasa": spawn([str(BIN / "python"), "-m", "bot.server", "run", "--enable-api", "--port", str(r_port), "--model", str(model),
                       "--endpoints", str(endpoints), "--credentials", str(credentials)],
                      logs["rasa"], env),
    }
    try:
        wait_http(f"http://127.0.0.1:{a_port}/health", procs["actions"], logs["actions"], timeout)
        wait_http(f"http://127.0.0.1:{r_port}/status", procs["rasa"], logs["rasa"], timeout)
        yield {"url": f"http://127.0.0.1:{r_port}", "pids": {k: p.pid for k, p in procs.items()},
               "logs": {k: str(v) for k, v in logs.items()}}
    finally:
        for proc in procs.values():
            stop(proc)


def _redis_lock_store(url: str) -> str:
    """endpoints.yml lines for Rasa's RedisLockStore at ``url`` (redis://host:port/db)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    db = (parts.path or "/0").strip("/") or "0"
    return (f'lock_store:\n  type: redis\n  url: "{parts.hostname or "127.0.0.1"}"\n  port: {parts.port or 6379}\n'
            f'  db: {db}\n  key_prefix: "bench{os.getpid()}"\n')


def tracebacks(logs: Dict[str, str]) -> Dict[str, int]:
    """How many tracebacks each server log contains (non-zero is worth a look)."""
    return {name: Path(path).read_text(errors="replace").count("Traceback") for name, path in logs.items()}


def timed_run(cmd: Sequence[str], log: Path, env: Dict[str, str], timeout: float) -> Dict[str, object]:
    """Runs ``cmd`` to completion; wall time, exit code and peak RSS of its process tree."""
    start = time.monotonic()
    proc = spawn(cmd, log, env)
    with RssSampler({"process": proc.pid}) as sampler:
        try:
            code: Optional[int] = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            code = None
        finally:
            stop(proc)
    seconds = time.monotonic() - start
    result = {"seconds": round(seconds, 1), "returncode": code, "timed_out": code is None,
              "peak_rss_mb": sampler.report()["process_peak_mb"], "log": str(log)}
    if code != 0:
        result["log_tail"] = _tail(log, 2000)
    return result
