"""DynamoDB Local, AWS's own engine: the local stack's DynamoDB (unless ARENA_DYNAMODB=moto) and the benchmarks'.

moto's GSI queries slow down as its tables grow; DynamoDB Local answers them far faster, runs real transactions and
reports consumed capacity. It ships inside the npm package amplify-dynamodb-simulator: `npm pack` fetches the
tarball (no install of its dependencies), we unpack the emulator folder once into .local/, and run it with the
machine's Java 17.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "amplify-dynamodb-simulator@2.9.30"
HOME = ROOT / ".local" / "dynamodb-local"
JAR = HOME / "DynamoDBLocal.jar"


def ensure_installed() -> Path:
    """Fetch and unpack the emulator once; later calls reuse it."""
    if JAR.exists():
        return JAR
    for tool in ("npm", "java"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"DynamoDB Local needs `{tool}` on the PATH")
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run(["npm", "pack", PACKAGE, "--silent"], cwd=scratch, check=True, capture_output=True, timeout=600)
        tarball = next(Path(scratch).glob("*.tgz"))
        with tarfile.open(tarball) as archive:
            members = [m for m in archive.getmembers() if m.name.startswith("package/emulator/")]
            archive.extractall(scratch, members=members, filter="data")
        HOME.parent.mkdir(parents=True, exist_ok=True)
        if HOME.exists():
            shutil.rmtree(HOME)
        shutil.move(str(Path(scratch) / "package" / "emulator"), HOME)
    return JAR


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening_ports(pid: int) -> set[int] | None:
    """The TCP ports process `pid` listens on, from Linux's /proc (None where that cannot be read)."""
    try:
        links = (os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd"))
        inodes = {link[len("socket:[") : -1] for link in links if link.startswith("socket:[")}
        tables = [Path(f"/proc/{pid}/net/{name}").read_text().splitlines()[1:] for name in ("tcp", "tcp6")]
    except OSError:
        return None
    ports = set()
    for line in (line for table in tables for line in table):
        fields = line.split()
        if len(fields) > 9 and fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
            ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


class DynamoDBLocal:
    """One in-memory DynamoDB Local process on a free loopback port.

    It cannot be told to take any free port itself (it refuses port 0), so a port is picked first and may be taken
    by another program before the engine binds it. The engine then logs a BindException and stays up without
    listening, while the other program may well answer on that port (another DynamoDB Local, say). `start()` knows
    the port is its engine's only when the engine's own process listens on it (/proc), notices the bind failure in
    the engine's log, and then starts again on another port: a busy machine never leaves the caller talking to
    another program's server."""

    PORT_ATTEMPTS = 5
    BIND_FAILURE = b"Address already in use"

    def __init__(self, port: int | None = None) -> None:
        self._fixed = port is not None
        self.port = port or _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None
        self._log: Any = None  # the engine's output, where a failed bind shows

    def start(self, timeout: float = 180) -> DynamoDBLocal:
        """Start the engine and wait (up to `timeout` seconds a port) until it serves on its own port."""
        jar = ensure_installed()
        attempts = 1 if self._fixed else self.PORT_ATTEMPTS
        for attempt in range(attempts):
            if attempt:
                self.port = _free_port()
                self.endpoint = f"http://127.0.0.1:{self.port}"
            self._launch(jar)
            state = self._wait_until_serving(time.monotonic() + timeout)
            if state == "serving":
                return self
            self.stop()
            if state == "timeout":
                raise RuntimeError("DynamoDB Local did not start in time")
        raise RuntimeError(f"DynamoDB Local could not listen on a free port ({attempts} tried; the last: {self.port})")

    def _launch(self, jar: Path) -> None:
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop(), with the engine
        self._process = subprocess.Popen(
            [
                "java",
                "-Xmx2g",
                f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}",
                "-jar",
                str(jar),
                "-inMemory",
                "-disableTelemetry",
                "-port",
                str(self.port),
            ],
            cwd=jar.parent,
            # Not the stack's AWS endpoints: the engine's own AWS SDK (telemetry, despite -disableTelemetry) would
            # otherwise call Cognito Identity on moto and fill the console with moto's tracebacks.
            env={k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            # Its own session: a Ctrl-C in the terminal signals the whole foreground process group, and the engine
            # must outlive the pollers and functions that still call it while the stack stops (stop() ends it).
            start_new_session=True,
        )

    def _wait_until_serving(self, deadline: float) -> str:
        """`serving` once the port answers and is the engine's own; `port taken` when the engine could not bind it
        (its log says so) or exited; `timeout` when the deadline passes first."""
        assert self._process is not None and self._log is not None
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return "port taken"
            self._log.seek(0)
            if self.BIND_FAILURE in self._log.read():
                return "port taken"
            try:
                urllib.request.urlopen(self.endpoint, timeout=1)
                answered = True
            except urllib.error.HTTPError:
                answered = True  # it answers (400 to a bare GET)
            except OSError:
                answered = False
            if answered:
                ports = listening_ports(self._process.pid)
                if ports is None or self.port in ports:
                    return "serving"
            time.sleep(0.2)
        return "timeout"

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> DynamoDBLocal:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
