"""Shared fixtures: a clean environment, loopback-only network, and a hand-built area."""

from __future__ import annotations

import ipaddress
import os
import socket
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DEMO_CONFIG = REPO / "config" / "demo.toml"
# Real reference material copied into the repository (with its licence), so a
# fresh clone runs the suite with nothing beside it.
FIXTURES = Path(__file__).resolve().parent / "fixtures"
REFERENCE = FIXTURES

# Strategy, unit counted, and target percent for FY 2561 / 2562 / 2563, copied by hand
# from the plan's table (ส่วนที่ ๓ of ../shared/seed/development-plan-2561-2563.md).
PLAN_TARGETS = {
    "stem": (2, "staff", 100, 100, 100),
    "research_admin": (2, "unit", 70, 75, 80),
    "classroom_research": (2, "staff", 70, 75, 80),
    "tepe_online": (3, "staff", 60, 70, 80),
    "plc": (3, "unit", 60, 70, 80),
    "id_plan": (3, "staff", 100, 100, 100),
    "office_needs": (3, "staff", 65, 75, 80),
    "training": (3, "staff", 100, 100, 100),
}


#: the machine's temporary folder, for the tests that need a folder other users may enter (pytest's own
#: base folder is its user's alone); they remove what they make there
SHARED_TMP = tempfile.gettempdir()


@pytest.fixture(autouse=True, scope="session")
def own_temporary_folder(tmp_path_factory):
    """The suite's temporary files (Jinja's compiled templates: one entry per test's template folder; the
    runs' own temp files; subprocesses', through TMPDIR) go under pytest's base folder, which pytest prunes,
    not into the machine's /tmp for good."""
    folder = tmp_path_factory.mktemp("tmp")
    saved, tempfile.tempdir = tempfile.tempdir, str(folder)
    os.environ["TMPDIR"] = str(folder)
    yield folder
    tempfile.tempdir = saved


@pytest.fixture(autouse=True)
def restore_environ():
    """No test leaks environment variables into another."""
    saved = dict(os.environ)
    for key in [k for k in os.environ if k.startswith("DEVPLAN_")]:
        del os.environ[key]
    yield
    os.environ.clear()
    os.environ.update(saved)


def _is_loopback(address) -> bool:
    if not isinstance(address, tuple):
        return True  # AF_UNIX paths
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """Refuse any connection that is not to this machine, and any name a DNS server would be asked for."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def connect(self, address):
        if not _is_loopback(address):
            raise ConnectionRefusedError(f"test tried to reach non-loopback address {address!r}")
        return real_connect(self, address)

    def connect_ex(self, address):
        if not _is_loopback(address):
            raise ConnectionRefusedError(f"test tried to reach non-loopback address {address!r}")
        return real_connect_ex(self, address)

    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        # A name with a dot (www.googleapis.com) would be asked of a DNS server: not found, as with no network.
        name = host.decode() if isinstance(host, bytes) else host
        if name and "." in name and name != "localhost":
            try:
                ipaddress.ip_address(name)
            except ValueError:
                raise socket.gaierror(socket.EAI_NONAME, f"test tried to resolve {name!r}") from None
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def make_id(seed: int) -> str:
    """A valid 13-digit Thai national ID, computed here independently of pipeline.thai."""
    first12 = f"{3100000000000 + seed * 7919:013d}"[:12]
    total = 0
    for position, digit in enumerate(first12, start=1):
        total += int(digit) * (14 - position)
    return first12 + str((11 - total % 11) % 10)


@pytest.fixture
def demo_settings(tmp_path):
    """Demo config with storage and outbox inside the test's temporary folder."""
    from pipeline.config import load_settings

    return load_settings(
        DEMO_CONFIG,
        {"storage.path": str(tmp_path / "sheets"), "output.outbox": str(tmp_path / "outbox"),
         "storage.state": str(tmp_path / "devplan-state.sqlite")},
    )


def write_config(tmp_path: Path, **replace: str) -> Path:
    """A copy of the demo config whose paths point into ``tmp_path``; ``replace`` edits lines."""
    text = DEMO_CONFIG.read_text(encoding="utf-8")
    text = text.replace('path = "../demo-area/sheets"', f'path = "{tmp_path / "sheets"}"')
    text = text.replace('outbox = "../demo-area/outbox"', f'outbox = "{tmp_path / "outbox"}"')
    text = text.replace('templates = "../templates"', f'templates = "{REPO / "templates"}"')
    text = text.replace('file = "indicators.toml"', f'file = "{REPO / "config" / "indicators.toml"}"')
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "devplan.toml"
    path.write_text(text, encoding="utf-8")
    return path


def as_nobody(call):
    """``call()`` in a forked child that has become 'nobody' (as root every file may be read and written;
    the interpreter may live where 'nobody' cannot run it, so the child is a fork, not a new process).
    What ``call`` returns (plain JSON) comes back; the child must not fail."""
    import json
    import pwd

    nobody = pwd.getpwnam("nobody")
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        code = 0
        try:
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            os.write(writer, json.dumps(call()).encode())
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(writer)
    with os.fdopen(reader, "rb") as pipe:
        report = pipe.read()
    assert os.waitpid(child, 0)[1] == 0
    return json.loads(report)


def free_port() -> int:
    """A loopback port nobody listens on now (for a test's own SMTP server)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def sample_sheets(root: Path, schools: int, seed: int) -> Path:
    """A generated sample area's spreadsheets in ``root/sheets`` (config beside them)."""
    from pipeline.config import load_settings
    from pipeline.sample import generate_area
    from pipeline.workbook.local import LocalWorkbook

    settings = load_settings(write_config(root))
    generate_area(LocalWorkbook(settings.storage.path), settings, schools=schools, seed=seed)
    return settings.storage.path


@pytest.fixture
def config_file(tmp_path):
    return write_config(tmp_path)


@pytest.fixture
def area(config_file):
    """The hand-built area (tests/hand_area.py) as local files; its settings."""
    from pipeline.config import load_settings
    from pipeline.workbook.local import LocalWorkbook
    from tests import hand_area

    settings = load_settings(config_file)
    hand_area.build(LocalWorkbook(settings.storage.path), settings)
    return settings


@pytest.fixture
def server():
    """A counting SMTP server on loopback (tests/smtp_server.py), devplan's environment pointing at it."""
    from tests.smtp_server import CountingServer, serving

    handler = CountingServer()
    with serving(handler):
        yield handler


@pytest.fixture
def fake_google():
    """A started in-process fake of Google's Sheets v4 and Drive v3 APIs on 127.0.0.1 (see tests/fake_google.py)."""
    from tests.fake_google import FakeGoogle

    with FakeGoogle() as fake:
        yield fake
        assert not fake.bugs, f"the fake Google server failed internally: {fake.bugs}"
