"""Render a report.html in headless Chromium and save a screenshot, to check the report in a real browser.

    python benchmarks/render_check.py RUN_DIR [--out report.png] [--width 1280] [--height 4000]

Prints the screenshot path and the share of non-white pixels (a blank page would be ~0). Needs Debian's
`chromium` (`apt-get install -y chromium`); nothing is fetched over the network (the report is
self-contained and the browser's background networking is off).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

from matplotlib.image import imread

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
    "--disable-component-update", "--disable-sync", "--hide-scrollbars",
]


def find_chromium() -> str | None:
    """The Chromium executable, or None when it is not installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot(html: Path, png: Path, width: int = 1280, height: int = 4000, timeout: float = 120) -> Path:
    """Screenshot `html` (a local file) into `png` with headless Chromium."""
    browser = find_chromium()
    if browser is None:
        raise SystemExit("chromium is not installed: apt-get install -y chromium")
    with tempfile.TemporaryDirectory() as profile:
        command = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={png.resolve()}",
                   f"--window-size={width},{height}", html.resolve().as_uri()]
        subprocess.run(command, check=True, capture_output=True, timeout=timeout)
    return png


def ink(png: Path) -> float:
    """Share of pixels that are not (near) white."""
    pixels = imread(png)[..., :3]
    return float((pixels.min(axis=-1) < 0.9).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="directory holding report.html")
    parser.add_argument("--out", type=Path, default=None, help="screenshot path (default RUN_DIR/report.png)")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=4000)
    args = parser.parse_args()
    png = screenshot(args.run_dir / "report.html", args.out or args.run_dir / "report.png", args.width, args.height)
    print(f"{png}: {ink(png):.1%} of the pixels are not white")


if __name__ == "__main__":
    main()
