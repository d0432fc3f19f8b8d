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


class DynamoDBLocal:
    """One in-memory DynamoDB Local process on a free loopback port."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> DynamoDBLocal:
        jar = ensure_installed()
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
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Its own session: a Ctrl-C in the terminal signals the whole foreground process group, and the engine
            # must outlive the pollers and functions that still call it while the stack stops (stop() ends it).
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"DynamoDB Local exited with {self._process.returncode}")
            try:
                urllib.request.urlopen(self.endpoint, timeout=1)
                return self
            except urllib.error.HTTPError:
                return self  # it answers (400 to a bare GET): it is up
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("DynamoDB Local did not start in time")

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self._process = None

    def __enter__(self) -> DynamoDBLocal:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
