"""The grader as a student or a course installs it: a wheel built from this checkout, installed into a fresh
virtual environment with no checkout on its path.

The dependencies are not installed again (CI would download torch, gigabytes): a folder of links to this
interpreter's installed packages, put on the fresh environment's path by a .pth file, stands in for packages
already there, as torch is in Colab. The checkout's own install (its editable finder, its .pth files, its
dist-info) is left out of that folder, and the commands run with no PYTHONPATH, outside the checkout.

`install_wheel(folder)` does all of it and returns a `FreshVenv`, whose `grader(...)` and `python(...)` run
commands there (for the notebook API: `venv.python("import grader; ...")`).
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ("pyproject.toml", "README.md", "grader")  # what the wheel is built from (README: the package's long description)
OWN_PREFIXES = ("grader-", "__editable__")  # this checkout's install in site-packages (its dist-info, its editable finder): never linked
OWN_SUFFIXES = (".pth", ".egg-link")  # nor the .pth files, which would put the checkout on the path (a linked folder's are never read anyway)


@dataclass(frozen=True)
class FreshVenv:
    root: Path
    wheel: Path
    install_log: str  # what pip said when it installed the wheel
    env: dict[str, str]  # the environment the commands run in: no PYTHONPATH, pip's configuration off

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    def grader(self, *args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
        """The installed `grader` command, run in `cwd` (keep it outside the checkout)."""
        return subprocess.run([str(self.bin / "grader"), *args], cwd=cwd, env=self.env, capture_output=True, text=True, timeout=timeout,
                              check=False)

    def python(self, code: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
        """`python -c code` with the fresh environment's interpreter, run in `cwd` (keep it outside the checkout)."""
        return subprocess.run([str(self.bin / "python"), "-c", code], cwd=cwd, env=self.env, capture_output=True, text=True, timeout=timeout,
                              check=False)


def clean_environment() -> dict[str, str]:
    """This process's environment without what would put the checkout on the path or configure pip (a find-links
    folder, an index, constraints): the install sees only the wheel and what is already installed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_", "VIRTUAL_ENV"))}
    return env | {"PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONDONTWRITEBYTECODE": "1"}


def build_wheel(folder: Path, env: dict[str, str]) -> Path:
    """The wheel of a copy of this checkout's sources (setuptools leaves build/ and *.egg-info where it builds), built
    offline with the setuptools this interpreter has (the test extra names it)."""
    source = folder / "source"
    source.mkdir()
    for name in SOURCE:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "--quiet",
                    "--wheel-dir", str(folder / "dist"), str(source)], env=env, check=True, capture_output=True, text=True, timeout=300)
    return next((folder / "dist").glob("grader-*.whl"))


def link_installed_packages(folder: Path) -> Path:
    """A folder of links to every package this interpreter has installed, except the grader itself."""
    folder.mkdir()
    user = [site.getusersitepackages()] if site.ENABLE_USER_SITE else []
    for directory in dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"], *site.getsitepackages(), *user]):
        if not os.path.isdir(directory):
            continue
        for entry in sorted(os.scandir(directory), key=lambda e: e.name):
            own = entry.name in ("grader", "__pycache__") or entry.name.startswith(OWN_PREFIXES) or entry.name.endswith(OWN_SUFFIXES)
            if not own and not (folder / entry.name).exists():
                (folder / entry.name).symlink_to(entry.path)
    return folder


def install_wheel(folder: Path) -> FreshVenv:
    """Build the wheel, make a fresh virtual environment in `folder` that sees the installed dependencies but not the
    checkout, and `pip install --no-index` the wheel into it: with no index and no configuration, pip can only succeed
    if every dependency (torch included) is taken as already installed, never replaced."""
    env = clean_environment()
    wheel = build_wheel(folder, env)
    root = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], env=env, check=True, timeout=120)
    purelib = subprocess.run([str(root / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             env=env, check=True, capture_output=True, text=True).stdout.strip()
    (Path(purelib) / "installed-dependencies.pth").write_text(f"{link_installed_packages(folder / 'dependencies')}\n")
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(root / "bin" / "python"), "install", "--no-index", "--no-compile",
                              str(wheel)], env=env, check=False, capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stdout + install.stderr
    return FreshVenv(root, wheel, install.stdout, env | {"VIRTUAL_ENV": str(root), "PATH": f"{root / 'bin'}{os.pathsep}{env.get('PATH', '')}"})
