"""`--serve`: start vLLM's OpenAI-compatible server for one run, and stop it afterwards.

The server runs in its own session (process group) on 127.0.0.1 on a free port, with a
random API key so other local users cannot borrow it. Stopping it ends the whole group
and every descendant that left it, first politely, then with SIGKILL; it happens on
success, on error and on Ctrl-C (and SIGTERM, which is turned into Ctrl-C meanwhile).
The server's output goes to a log file, kept and named when the server fails.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from codeharness.core.errors import HarnessError

START_TIMEOUT_S = 1200.0  # a large checkpoint can take many minutes to load
STOP_GRACE_S = 20.0
HEALTH_POLL_S = 0.5
# Starts the server with a parent-death signal, so it stops even when the harness is killed
# with SIGKILL (vLLM's engine processes follow their server). The signal comes when the
# thread that started the server ends: start it from a thread that lives as long as the run.
LAUNCH_SERVER = """
import ctypes, os, runpy, signal, sys
harness = int(sys.argv.pop(1))
if sys.platform.startswith("linux"):
    ctypes.CDLL(None).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
if os.getppid() != harness:  # the harness died before the signal was armed
    sys.exit(1)
runpy.run_module("vllm.entrypoints.openai.api_server", run_name="__main__", alter_sys=True)
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_flags(options: dict) -> list[str]:
    """LLM keyword arguments as the server's flags: True -> --name, else --name value."""
    flags = []
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        flags += [flag] if value is True else [flag, str(value)]
    return flags


class VLLMServer:
    """`with VLLMServer(model, options) as server:` ... `server.base_url`, `server.api_key`."""

    def __init__(self, model_path: str, options: dict, env: dict | None = None):
        self.model_path = model_path
        self.options = options
        self.env = env or {}
        self.api_key = secrets.token_urlsafe(24)
        self.process: subprocess.Popen | None = None
        self.base_url: str | None = None
        self.log_path: Path | None = None
        self._previous_sigterm = None

    def command(self, port: int) -> list[str]:
        return [sys.executable, "-c", LAUNCH_SERVER, str(os.getpid()),
                "--model", self.model_path, "--host", "127.0.0.1", "--port", str(port),
                *server_flags(self.options)]

    def start(self) -> "VLLMServer":
        port = free_port()
        handle, log_name = tempfile.mkstemp(prefix="codeharness-vllm-server-", suffix=".log")
        self.log_path = Path(log_name)
        self._catch_sigterm()
        env = {**os.environ, **self.env, "VLLM_API_KEY": self.api_key}
        with os.fdopen(handle, "wb") as log:
            self.process = subprocess.Popen(self.command(port), env=env, stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        print(f"[codeharness] starting the vLLM server on 127.0.0.1:{port} "
              f"(log: {self.log_path})", file=sys.stderr, flush=True)
        try:
            self._wait_until_healthy(f"http://127.0.0.1:{port}/health")
        except BaseException:
            self.stop(keep_log=True)
            raise
        self.base_url = f"http://127.0.0.1:{port}/v1"
        return self

    def _wait_until_healthy(self, url: str) -> None:
        import httpx

        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise HarnessError(f"the vLLM server exited with code {self.process.returncode} "
                                   f"while starting; its log ({self.log_path}) ends with:\n"
                                   f"{self.log_tail()}")
            try:
                if httpx.get(url, timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(HEALTH_POLL_S)
        raise HarnessError(f"the vLLM server did not answer {url} within {START_TIMEOUT_S:.0f} s; "
                           f"see {self.log_path}")

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, keep_log: bool = False) -> None:
        """End the server and all its descendants; safe to call twice."""
        if self.process is not None:
            stop_process_tree(self.process)
            self.process = None
            if self.log_path and not keep_log:
                self.log_path.unlink(missing_ok=True)
        self._restore_sigterm()

    def _catch_sigterm(self) -> None:
        """While the server runs, SIGTERM unwinds like Ctrl-C, so the server is stopped too."""
        if threading.current_thread() is threading.main_thread():
            self._previous_sigterm = signal.signal(signal.SIGTERM, signal.default_int_handler)

    def _restore_sigterm(self) -> None:
        if self._previous_sigterm is not None:
            signal.signal(signal.SIGTERM, self._previous_sigterm)
            self._previous_sigterm = None

    def __enter__(self) -> "VLLMServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop(keep_log=exc_info[0] is not None)


def stop_process_tree(process: subprocess.Popen) -> None:
    """SIGTERM the process's group and its descendants, SIGKILL what is left after a grace
    period, and reap the process."""
    import psutil

    try:
        family = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        family = []
    signal_all(process.pid, family, signal.SIGTERM)
    _, alive = psutil.wait_procs(family, timeout=STOP_GRACE_S)
    if alive:
        signal_all(process.pid, alive, signal.SIGKILL)
        psutil.wait_procs(alive, timeout=STOP_GRACE_S)
    process.wait()


def signal_all(group: int, processes: list, signum: int) -> None:
    import psutil

    try:
        os.killpg(group, signum)
    except ProcessLookupError:
        pass
    for member in processes:  # also those that moved to a group of their own
        try:
            member.send_signal(signum)
        except psutil.NoSuchProcess:
            pass
