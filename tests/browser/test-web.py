#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""test-web: dse-manager's web page (web/) as an operator uses it, in a
headless Chromium driven by selenium 4 (Debian's chromium, chromium-driver
and python3-selenium).  tests/system/test-web.sh builds the lab, raises the
alarm and runs this against it; every check prints "ok - ..." or
"not ok - ..." (scripts/run-tests counts them), and the first failure ends
the run with a screenshot.

  login -> the tree (datacenter > cluster > host > DPU) -> a DPU's charts
  with real points (Chart.js's datasets, read in the page), refreshed live,
  and the day window -> the alarm acknowledged with its button -> its task
  and event -> a portgroup created with the form -> applied on each host
  (the host's summary) -> no error in the browser's console -> log out

No sleep synchronises anything: every wait is a WebDriverWait with a
deadline.  Screenshots go to --artifacts.
"""
import argparse
import os
import shutil
import sys
import tempfile

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


class Stop(Exception):
    """A check failed: the rest depends on it."""


class Browser:
    def __init__(self, args):
        self.args = args
        self.profile = tempfile.mkdtemp(prefix="dse-web-chromium.")
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                     "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync",
                     "--disable-dev-shm-usage", "--window-size=1400,1000",
                     f"--user-data-dir={self.profile}"):
            opts.add_argument(flag)
        # The lab's CA is not the system's: test-web.sh checks the
        # certificate against it with curl; the browser takes it as it is.
        opts.set_capability("acceptInsecureCerts", True)
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
        self.failed = 0
        self.shots = 0

    def close(self):
        try:
            self.d.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

    def shot(self, name):
        self.shots += 1
        path = os.path.join(self.args.artifacts, f"{self.shots:02d}-{name}.png")
        try:
            self.d.save_screenshot(path)
        except WebDriverException as e:
            print(f"# screenshot {path}: {e.msg}")
        return path

    def check(self, desc, fn):
        try:
            fn()
        except Exception as e:  # any failure is this check's
            self.failed += 1
            why = " ".join(str(getattr(e, "msg", None) or e).split())[:300]
            print(f"not ok - {desc}")
            print(f"# {type(e).__name__}: {why}")
            print(f"# screenshot: {self.shot('failed')}")
            for entry in self.console():
                print(f"# console: {entry['level']} {entry['message'][:200]}")
            raise Stop() from e
        print(f"ok - {desc}", flush=True)

    def wait(self, what, cond, timeout=None):
        """Waits until cond(driver) is truthy and returns it.  The page
        redraws what it shows every few seconds: an element that went stale
        meanwhile is looked up again."""
        return WebDriverWait(self.d, timeout or self.args.timeout, poll_frequency=0.2,
                             ignored_exceptions=[StaleElementReferenceException]).until(
            lambda d: cond(d), message=what)

    def css(self, sel):
        return self.d.find_elements(By.CSS_SELECTOR, sel)

    def click(self, what, sel):
        """Clicks the first element of 'sel' once it is there (again, when it
        was redrawn under the click)."""
        def go(d):
            els = self.css(sel)
            if els:
                els[0].click()
            return bool(els)
        self.wait(what, go)

    def texts(self, sel):
        """The text of each element of 'sel', read at once in the page."""
        return self.js("return [...document.querySelectorAll(arguments[0])]"
                       ".map((e) => e.textContent);", sel)

    def js(self, script, *args):
        return self.d.execute_script(script, *args)

    def console(self):
        try:
            return self.d.get_log("browser")
        except WebDriverException:
            return []

    def tree_click(self, kind, name):
        sel = f'.tree-node[data-kind="{kind}"][data-name="{name}"]'
        self.click(f"{kind} {name} in the tree", sel)
        self.wait(f"{kind} {name} selected", lambda d: self.css(sel + ".active"))

    def tab(self, name):
        self.click(f"tab {name}", f'#tabs [data-tab="{name}"]')
        self.wait(f"tab {name}", lambda d: not self.d.find_element(By.ID, f"pane-{name}").get_attribute("hidden"))


def points(b, canvas, dataset):
    """The number of points of Chart.js's dataset on 'canvas', from the page."""
    return b.js("const c = Chart.getChart(document.getElementById(arguments[0]));"
                "return c ? c.data.datasets[arguments[1]].data.length : -1;", canvas, dataset)


def last_x(b, canvas):
    return b.js("const c = Chart.getChart(document.getElementById(arguments[0]));"
                "const d = c ? c.data.datasets[0].data : [];"
                "return d.length ? d[d.length - 1].x : 0;", canvas)


def run(b, a):
    host, dpu = a.dpu.split("/")
    password = open(a.password_file).read().strip()

    def login():
        b.d.get(a.url)
        b.wait("the login form", lambda d: d.find_element(By.ID, "login-form").is_displayed())
        b.shot("login")
        b.d.find_element(By.ID, "login-user").send_keys(a.user)
        b.d.find_element(By.ID, "login-password").send_keys(password)
        b.d.find_element(By.CSS_SELECTOR, "#login-form button[type=submit]").click()
        b.wait("the inventory", lambda d: d.find_element(By.ID, "app-view").is_displayed())
        assert b.js("return sessionStorage.getItem('dse.token')").startswith("dse_")
        assert b.d.find_element(By.ID, "who").text == a.user
    b.check("log in: the token in sessionStorage", login)

    def walk():
        b.tree_click("datacenter", a.datacenter)
        b.wait("the datacenter's summary", lambda d: f"DC {a.datacenter}" in d.find_element(By.ID, "pane-object").text)
        b.tree_click("cluster", a.cluster)
        b.tree_click("host", host)
        b.wait(f"{host}'s summary with its DPU",
               lambda d: b.css(f'#host-dpus a[data-dpu="{a.dpu}"]'))
        b.wait(f"{host} reachable", lambda d: "reachable" in b.texts("#pane-object h1 .badge"))
        b.shot("host")
        b.tree_click("dpu", a.dpu)
    b.check(f"walk the tree: datacenter, cluster, host {host}, DPU {dpu}", walk)

    def charts():
        for canvas in ("chart-cpu", "chart-mem", "chart-net"):
            b.wait(f"points in {canvas}", lambda d: points(b, canvas, 0) > 0 and points(b, canvas, 1) > 0)
    b.check("the DPU's CPU, memory and network charts have points, the host's beside them", charts)
    b.shot("dpu")

    def live():
        before = last_x(b, "chart-cpu")
        b.wait("a newer point", lambda d: last_x(b, "chart-cpu") > before)
    b.check("... refreshed live", live)

    def day():
        b.click("the day's window", '[data-window="day"]')
        b.wait("the day's points", lambda d: points(b, "chart-cpu", 0) > 0 and
               "points" in d.find_element(By.ID, "dpu-status").text)
        b.click("the hour's window", '[data-window="hour"]')
    b.check("... and the day's history", day)

    row = f'tr.alarm[data-host="{a.alarm_host}"][data-id="{a.alarm}"]'

    def ack():
        b.tab("alarms")
        b.wait(f"alarm {a.alarm} raised", lambda d: b.css(row + '[data-acknowledged="false"] button.ack'))
        b.shot("alarm")
        b.click("Acknowledge", row + " button.ack")
        b.wait("the alarm acknowledged", lambda d: b.css(row + '[data-acknowledged="true"]'))
    b.check(f"acknowledge alarm {a.alarm} of {a.alarm_host} with its button", ack)
    b.shot("alarm-acknowledged")

    def task():
        b.tab("tasks")
        b.wait("the ack's task done", lambda d: b.js(
            "return [...document.querySelectorAll('#tasks tbody tr')].some((r) =>"
            " r.textContent.includes('alarm.ack') &&"
            " r.querySelector('.progress[data-state=success]'));"))
    b.check("... its task ended in success, with its progress bar", task)

    def event():
        b.tab("events")
        b.d.find_element(By.ID, "events-object").send_keys(f"{a.alarm_host}/{dpu}")
        b.d.find_element(By.ID, "events-type").send_keys("alarm.")
        b.d.find_element(By.CSS_SELECTOR, "#events-form button").click()
        b.wait("the ack's event", lambda d: any("alarm.ack" in t for t in b.texts("#events tbody tr")))
    b.check("... and its event, found by object and type", event)

    sw, pg = a.portgroup.split("/")

    def create():
        b.tab("network")
        b.wait(f"switch {sw} offered", lambda d: sw in b.texts("#pg-switch option"))
        Select(b.d.find_element(By.ID, "pg-switch")).select_by_value(sw)
        b.d.find_element(By.ID, "pg-name").send_keys(pg)
        b.d.find_element(By.ID, "pg-vlan").send_keys(str(a.vlan))
        b.d.find_element(By.CSS_SELECTOR, "#pg-form button[type=submit]").click()
        b.wait("the portgroup listed", lambda d: b.css(f'tr[data-portgroup="{a.portgroup}"]'))
        b.wait("its task done", lambda d: "applied on every host" in d.find_element(By.ID, "network-task").text)
    b.check(f"create portgroup {a.portgroup} (VLAN {a.vlan}) with the form: its task ends", create)
    b.shot("network")

    for h in a.hosts.split(","):
        def applied(h=h):
            b.tree_click("host", h)
            b.wait(f"{pg} applied on {h}", lambda d: pg in b.texts("#host-portgroups .pg"))
        b.check(f"... and {h}'s summary shows it applied", applied)
    b.shot("host-applied")

    def console():
        bad = [e for e in b.console() if e["level"] == "SEVERE"]
        assert not bad, bad[0]["message"]
    b.check("no error in the browser's console (CSP, scripts, requests)", console)

    def logout():
        b.click("Log out", "#logout")
        b.wait("the login form again", lambda d: d.find_element(By.ID, "login-form").is_displayed())
        assert b.js("return sessionStorage.getItem('dse.token')") is None
    b.check("log out: the token forgotten", logout)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--url", required=True)
    p.add_argument("--user", default="admin")
    p.add_argument("--password-file", required=True)
    p.add_argument("--artifacts", required=True, help="where screenshots go")
    p.add_argument("--datacenter", default="dc1")
    p.add_argument("--cluster", default="c1")
    p.add_argument("--dpu", default="h1/dpu1", help="HOST/DPU whose charts are checked")
    p.add_argument("--hosts", default="h1,h2", help="where the portgroup must be applied")
    p.add_argument("--alarm-host", default="h1")
    p.add_argument("--alarm", required=True, help="the id of a raised alarm (DEF@OBJECT)")
    p.add_argument("--portgroup", default="s1/pg-web")
    p.add_argument("--vlan", type=int, default=77)
    p.add_argument("--timeout", type=float, default=45, help="seconds each wait may take")
    a = p.parse_args()
    os.makedirs(a.artifacts, exist_ok=True)
    for f in os.listdir(a.artifacts):
        if f.endswith(".png"):
            os.unlink(os.path.join(a.artifacts, f))
    b = Browser(a)
    try:
        run(b, a)
    except Stop:
        pass
    finally:
        b.close()
    print(f"# screenshots in {a.artifacts}")
    return 1 if b.failed else 0


if __name__ == "__main__":
    sys.exit(main())
