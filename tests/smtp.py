"""A real SMTP server for the tests: aiosmtpd in a subprocess, delivering into a Maildir.

    from tests.smtp import smtp_server  # noqa: F401  (or: smtp_server = smtp.smtp_server)

    def test_an_invitation_arrives(make_app, smtp_server):
        app = make_app(OHPUNAISES_SMTP_URL=smtp_server.url)
        ...
        [message] = smtp_server.wait_for(1)
        assert message["To"] == "personne@example.org"

Messages are parsed `email.message.EmailMessage`s (policy `email.policy.default`), oldest
first; aiosmtpd adds `X-MailFrom` and `X-RcptTo` (the envelope) to each. `running_smtp_server`
gives the same server for a `with` block, in fixtures of a wider scope.
"""

import contextlib
import email.policy
import shutil
import socket
import subprocess
import sys
import time
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest

HOST = "127.0.0.1"
START_SECONDS = 15.0
ATTEMPTS = 3  # another process may take the free port between its choice and the bind


def free_port() -> int:
    """A TCP port of the loopback that nobody listens on (at the time of asking)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class SmtpServer:
    """An aiosmtpd process listening on `port`, writing what it receives into `maildir`."""

    def __init__(self, process: subprocess.Popen, port: int, maildir: Path):
        self.process, self.port, self.maildir = process, port, maildir

    @property
    def url(self) -> str:
        return f"smtp://{HOST}:{self.port}"

    def messages(self) -> list[EmailMessage]:
        """Every message delivered so far, oldest first."""
        files = [path for box in ("new", "cur") for path in (self.maildir / box).iterdir()]
        files.sort(key=lambda path: (path.stat().st_mtime_ns, path.name))
        parser = BytesParser(policy=email.policy.default)
        return [parser.parsebytes(path.read_bytes()) for path in files]

    def wait_for(self, count: int = 1, seconds: float = 5.0) -> list[EmailMessage]:
        """The delivered messages once there are at least `count`; fails after `seconds`."""
        deadline = time.monotonic() + seconds
        while len(received := self.messages()) < count:
            if time.monotonic() > deadline:
                pytest.fail(
                    f"{len(received)} message(s) delivered in {seconds} s, {count} awaited."
                )
            time.sleep(0.05)
        return received

    def clear(self):
        """Forget the messages delivered so far."""
        for box in ("new", "cur"):
            for path in (self.maildir / box).iterdir():
                path.unlink()


@contextlib.contextmanager
def running_smtp_server(directory: Path):
    """An SmtpServer keeping its Maildir and its output in `directory`, stopped afterwards."""
    directory.mkdir(parents=True, exist_ok=True)
    server = _start(directory)
    try:
        yield server
    finally:
        _stop(server.process)


@pytest.fixture
def smtp_server(tmp_path_factory):
    """A real SMTP server on a free port of the loopback; removed with its mail afterwards."""
    directory = tmp_path_factory.mktemp("smtp")
    with running_smtp_server(directory) as server:
        yield server
    shutil.rmtree(directory, ignore_errors=True)


def _start(directory: Path) -> SmtpServer:
    for attempt in range(1, ATTEMPTS + 1):
        port, maildir = free_port(), directory / "maildir"
        log = directory / f"aiosmtpd-{attempt}.log"
        command = [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"{HOST}:{port}"]
        command += ["-c", "aiosmtpd.handlers.Mailbox", str(maildir)]
        with log.open("wb") as output:
            process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        if _greets(process, port):
            return SmtpServer(process, port, maildir)
        _stop(process)
    pytest.fail(f"aiosmtpd did not start: {log.read_text(errors='replace')}")


def _greets(process: subprocess.Popen, port: int) -> bool:
    """Whether the process answers on `port` with an SMTP greeting before it gives up."""
    deadline = time.monotonic() + START_SECONDS
    while process.poll() is None and time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=1.0) as connection:
                if connection.recv(3) == b"220":
                    return True
        except OSError:
            time.sleep(0.05)
    return False


def _stop(process: subprocess.Popen):
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
