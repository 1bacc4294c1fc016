"""A minimal W3C WebDriver client over chromedriver's HTTP API (``requests`` only).

Enough for the dashboard's browser test: open a page, run a script, take a screenshot. Chromium
runs headless with the flags this machine needs (no sandbox as root, no GPU, and no background
networking: the closed network refuses Chromium's own connections).
"""
from __future__ import annotations

import base64
import pathlib
import shutil
import subprocess
import tempfile
import time

import requests

from devstack.ports import free_port, wait_for_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-quic", "--no-first-run", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars"]


def available() -> bool:
    return pathlib.Path(CHROMIUM).exists() and pathlib.Path(CHROMEDRIVER).exists()


class WebDriverError(RuntimeError):
    pass


class Browser:
    """One headless Chromium session; ``quit()`` ends the browser and the driver."""

    def __init__(self, width: int = 1440, height: int = 2200) -> None:
        port = free_port()
        self.profile = tempfile.mkdtemp(prefix="faas-etl-chromium-")
        self.driver = subprocess.Popen([CHROMEDRIVER, f"--port={port}"], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{port}"
        try:
            wait_for_port("127.0.0.1", port, 20, alive=lambda: self.driver.poll() is None)
            options = {"binary": CHROMIUM, "args": [*FLAGS, f"--user-data-dir={self.profile}",
                                                    f"--window-size={width},{height}"]}
            answer = self._call("POST", "/session", {"capabilities": {"alwaysMatch": {
                "browserName": "chrome", "goog:chromeOptions": options}}})
            self.session = answer["sessionId"]
        except BaseException:
            self._stop_driver()
            raise

    def _call(self, method: str, path: str, body: dict | None = None):
        resp = requests.request(method, self.base + path, json=body, timeout=60)
        doc = resp.json()
        value = doc.get("value")
        if resp.status_code != 200:
            message = value.get("message") if isinstance(value, dict) else value
            raise WebDriverError(f"{method} {path}: HTTP {resp.status_code}: {message}")
        return value

    def get(self, url: str) -> None:
        self._call("POST", f"/session/{self.session}/url", {"url": url})

    def run(self, script: str, *args):
        """Run ``script`` (a function body; ``arguments`` holds ``args``) in the page."""
        return self._call("POST", f"/session/{self.session}/execute/sync",
                          {"script": script, "args": list(args)})

    def wait_for(self, script: str, timeout_s: float, *args, poll_s: float = 0.25):
        """Run ``script`` until it returns something truthy; that value (None on timeout)."""
        deadline = time.monotonic() + timeout_s
        while True:
            value = self.run(script, *args)
            if value or time.monotonic() > deadline:
                return value
            time.sleep(poll_s)

    def screenshot(self, path: pathlib.Path) -> pathlib.Path:
        data = self._call("GET", f"/session/{self.session}/screenshot")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def quit(self) -> None:
        try:
            self._call("DELETE", f"/session/{self.session}")
        except (requests.RequestException, WebDriverError, ValueError):
            pass
        finally:
            self._stop_driver()

    def _stop_driver(self) -> None:
        self.driver.terminate()
        try:
            self.driver.wait(10)
        except subprocess.TimeoutExpired:
            self.driver.kill()
        shutil.rmtree(self.profile, ignore_errors=True)
