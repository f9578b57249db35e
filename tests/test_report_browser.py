"""The HTML report in a real browser: headless Chromium parses and paints it, offline.

Needs Debian's `chromium` (apt-get install -y chromium); skipped where it is not installed.
"""

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageStat
from test_report_html import SECTIONS, make_grade

from grader.report import html

CHROMIUM = next((found for name in ("chromium", "chromium-browser", "/usr/bin/chromium") if (found := shutil.which(name))), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (apt-get install -y chromium)")
WIDTH, HEIGHT = 1280, 4000


def chromium(tmp_path: Path, page: Path, *args: str) -> str:
    """Run headless Chromium on a local file with networking features off; its stdout."""
    profile = tmp_path / "profile"
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
               "--hide-scrollbars", f"--user-data-dir={profile}", *args, page.as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("report") / "report.html"
    grade = make_grade("provisional")
    path.write_text(html.render(grade))
    return path, f"{grade.score:g} / {grade.max_score:g}"


def test_the_browser_builds_every_section_and_the_score(report, tmp_path):
    path, score = report
    dom = chromium(tmp_path, path, "--dump-dom")
    assert score in dom and "PROVISIONAL" in dom
    shown = [re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<h2[^>]*>(.*?)</h2>", dom, flags=re.S)]
    assert set(SECTIONS) <= set(shown)
    assert dom.count("<svg") == 2 and dom.count("<img") == 5 + 2 + 1


def test_the_page_paints_the_verdict_charts_and_images(report, tmp_path):
    path, _ = report
    shot = tmp_path / "report.png"
    chromium(tmp_path, path, f"--screenshot={shot}", f"--window-size={WIDTH},{HEIGHT}")
    image = Image.open(shot).convert("RGB")
    assert image.size == (WIDTH, HEIGHT)
    assert ImageStat.Stat(image.convert("L")).stddev[0] > 20  # not a blank page
    r, g, b = np.asarray(image.crop((0, 0, WIDTH, 700)), dtype=int).transpose(2, 0, 1)
    red = int(((r > 150) & (g < 80) & (b < 80)).sum())  # the FAIL verdict and the failed criteria
    amber = int(((r > 200) & (g > 150) & (g < 230) & (b < 120)).sum())  # the provisional banner
    assert red > 2000 and amber > 20000, (red, amber)


def test_an_errored_grade_renders_in_the_browser(tmp_path):
    path = tmp_path / "error.html"
    path.write_text(html.render(make_grade("error")))
    dom = chromium(tmp_path, path, "--dump-dom")
    assert "0 / 100" in dom and "Traceback (most recent call last)" in dom and "ERROR" in dom
