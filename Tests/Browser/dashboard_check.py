#!/usr/bin/env python3
"""Drives the gateway's dashboard (GET /) in a real headless Chromium over the DevTools protocol.

Checks, against a running gateway:
  1. the page loads with no console error, no uncaught exception and no failed resource;
  2. it shows the figures the API gives (trading mode, trading state and its reason, halt and
     lock, the protection locks of /api/locks, equity, cash, drawdown, positions, latest orders,
     workers, models, both books (paper and live), the live book's reconciliation state and
     mismatches, and the count of foreign trades); with --expect-lock, at least one protection lock is in force and shown
     with its symbol, kind, reason and end;
  2b. the price chart draws the held candles of the chosen symbol (GET /api/market/candles) and
     marks the fills of our orders in that window (with --expect-fills N, exactly N); with
     --token, a candle posted through the API appears on the chart without a reload;
  3. with --token, REDUCING set through the API (POST /api/risk/state) is shown with its reason;
     a halt clicked without the token is refused by the page and not sent; with
     the token typed in, a click on Halt (a real mouse event) halts trading, as the API then says.

Standard library only (the WebSocket client is below). Prints one JSON summary; exit status 0
when every check passed.

    dashboard_check.py --url http://127.0.0.1:8000 [--token T] [--expect-lock] [--chromium chromium]
"""
import argparse
import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request


class WebSocket:
    """A minimal RFC 6455 client: text frames out (masked), text frames in, enough for CDP."""

    def __init__(self, url, timeout=30):
        parts = urllib.parse.urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (f"GET {parts.path} HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\nUpgrade: websocket\r\n"
                   f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
        self.sock.sendall(request.encode())
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("websocket handshake: connection closed")
            response += chunk
        head, self.buffer = response.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(f"websocket handshake refused: {head[:200]!r}")

    def send(self, text):
        payload = text.encode()
        header = bytes([0x81])
        length = len(payload)
        if length < 126:
            header += bytes([0x80 | length])
        elif length < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", length)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", length)
        mask = os.urandom(4)
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _read(self, count):
        while len(self.buffer) < count:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("websocket closed")
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def receive(self):
        message = b""
        while True:
            first, second = self._read(2)
            length = second & 0x7F
            if length == 126:
                length = struct.unpack(">H", self._read(2))[0]
            elif length == 127:
                length = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(length)
            opcode = first & 0x0F
            if opcode == 0x8:
                raise ConnectionError("websocket closed by the browser")
            if opcode in (0x9, 0xA):
                continue  # ping / pong
            message += payload
            if first & 0x80:
                return message.decode()


class Browser:
    """Headless Chromium with one page, driven over CDP."""

    def __init__(self, executable):
        self.profile = tempfile.mkdtemp(prefix="dashboard-chromium-")
        self.process = subprocess.Popen(
            [executable, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
             "--no-default-browser-check", "--disable-extensions", "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
             f"--user-data-dir={self.profile}", "--window-size=1400,1000", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.time() + 30
        while not (os.path.exists(port_file) and open(port_file).read().strip()):
            if time.time() > deadline or self.process.poll() is not None:
                raise RuntimeError("chromium did not open its DevTools port")
            time.sleep(0.1)
        port = int(open(port_file).read().split()[0])
        deadline = time.time() + 10
        while True:
            try:
                targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5))
                page = next(t for t in targets if t.get("type") == "page")
                break
            except (OSError, StopIteration):
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        self.ws = WebSocket(page["webSocketDebuggerUrl"])
        self.next_id = 0
        self.events = []

    def call(self, method, **params):
        self.next_id += 1
        wanted = self.next_id
        self.ws.send(json.dumps({"id": wanted, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.receive())
            if message.get("id") == wanted:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"evaluate {expression!r}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.evaluate(expression):
                return True
            time.sleep(0.1)
        return False

    def click(self, selector):
        """A real mouse click at the element's centre."""
        box = self.evaluate(
            f"(() => {{ const r = document.querySelector({json.dumps(selector)}).getBoundingClientRect();"
            " return [r.x + r.width / 2, r.y + r.height / 2]; })()")
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)

    def type_into(self, selector, text):
        self.evaluate(f"document.querySelector({json.dumps(selector)}).focus()")
        self.call("Input.insertText", text=text)

    def errors(self):
        found = []
        for event in self.events:
            method, params = event["method"], event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append("console: " + " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                found.append("exception: " + params.get("exceptionDetails", {}).get("text", ""))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                found.append("log: " + params["entry"].get("text", "") + " " + params["entry"].get("url", ""))
        return found

    def close(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


def api(base, path):
    return json.load(urllib.request.urlopen(base + path, timeout=10))


def api_post(base, path, body, token):
    request = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "Authorization": "Bearer " + token})
    return json.load(urllib.request.urlopen(request, timeout=10))


def page_text(browser, element_id):
    return browser.evaluate(f"document.getElementById({json.dumps(element_id)}).textContent")


def money(value):
    return f"{float(value):.2f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--token")
    parser.add_argument("--expect-lock", action="store_true", help="fail unless a protection lock is in force and shown")
    parser.add_argument("--expect-fills", type=int, help="the number of fills the price chart must mark")
    parser.add_argument("--chromium", default=shutil.which("chromium") or shutil.which("chromium-browser") or "chromium")
    args = parser.parse_args()
    failures, checks = [], []

    def check(name, ok, detail=""):
        checks.append({"name": name, "ok": bool(ok), **({} if ok else {"detail": str(detail)})})
        if not ok:
            failures.append(f"{name}: {detail}")

    browser = Browser(args.chromium)
    try:
        for domain in ("Runtime.enable", "Log.enable", "Page.enable"):
            browser.call(domain)
        browser.call("Page.navigate", url=args.url + "/")
        check("page loaded and filled from the API", browser.wait_for("document.body && document.body.dataset.loaded === 'true'"),
              "document.body.dataset.loaded never became true")
        health, account = api(args.url, "/health"), api(args.url, "/api/positions")
        orders, models = api(args.url, "/api/orders?limit=20"), api(args.url, "/api/models")
        locks = api(args.url, "/api/locks")["locks"]
        shown = browser.evaluate("""(() => {
            const text = (id) => document.getElementById(id).textContent;
            const cells = (id) => [...document.querySelectorAll('#' + id + ' tr')].map((tr) => [...tr.children].map((td) => td.textContent));
            return {mode: text('mode'), state: text('tradingState'), stateReason: text('stateReason'), locks: cells('locks'),
                    noLocksHidden: document.getElementById('noLocks').hidden, halted: text('halted'), locked: text('locked'), equity: text('equity'), cash: text('cash'),
                    drawdown: text('drawdown'), positions: cells('positions'), orders: cells('orders'), workers: cells('workers'),
                    models: cells('models'), tokenHidden: document.getElementById('tokenRow').hidden,
                    equityDrawn: document.getElementById('equityChart').toDataURL().length,
                    book: text('book'), books: cells('books'), reconciliation: text('reconciliation'), mismatches: cells('mismatches'),
                    foreignTrades: text('foreignTrades')};
        })()""")
        check("trading mode", shown["mode"] == health["tradingMode"], f"page {shown['mode']!r}, API {health['tradingMode']!r}")
        check("trading state", shown["state"] == health["risk"].get("tradingState"),
              f"page {shown['state']!r}, API {health['risk'].get('tradingState')!r}")
        expected_locks = [[lock.get("symbol") or "all symbols", lock["rule"], lock["reason"],
                           time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(lock["until"] // 1000)), lock["id"]] for lock in locks]
        check("protection locks (symbol, kind, reason, until, id)", shown["locks"] == expected_locks,
              f"page {shown['locks']}, API {expected_locks}")
        check("'none in force' only without locks", shown["noLocksHidden"] == bool(locks), shown["noLocksHidden"])
        if args.expect_lock:
            check("a protection lock is in force and shown", len(locks) >= 1 and len(shown["locks"]) == len(locks), locks)
        halt_check_state = None
        if args.token:
            state_reason = "dashboard check: reducing"
            answer = api_post(args.url, "/api/risk/state", {"state": "REDUCING", "reason": state_reason}, args.token)
            check("REDUCING set through the API", answer.get("tradingState") == "REDUCING", answer)
            shown_reducing = browser.wait_for(
                "document.getElementById('tradingState').textContent === 'REDUCING'"
                f" && document.getElementById('stateReason').textContent === {json.dumps(state_reason)}")
            check("the page shows REDUCING and its reason", shown_reducing,
                  f"{page_text(browser, 'tradingState')!r} {page_text(browser, 'stateReason')!r}")
            halt_check_state = "HALTED"
        check("halt shown", (shown["halted"] == "HALTED") == bool(health["risk"].get("halted")), f"page {shown['halted']!r}")
        check("lock shown", (shown["locked"] == "LOCKED") == bool(health["risk"].get("locked")), f"page {shown['locked']!r}")
        check("equity", shown["equity"] == money(account["equity"]), f"page {shown['equity']!r}, API {account['equity']}")
        check("cash", shown["cash"] == money(account["cash"]), f"page {shown['cash']!r}, API {account['cash']}")
        paper_book, live_book = api(args.url, "/api/positions?book=paper"), api(args.url, "/api/positions?book=live")
        check("the account names its book", shown["book"] == account["book"], f"page {shown['book']!r}, API {account['book']!r}")
        expected_books = [["paper", money(paper_book["equity"]), money(paper_book["cash"])],
                          ["live", "not built", ""] if not live_book["built"] else ["live", money(live_book["equity"]), money(live_book["cash"])]]
        check("both books shown", [row[:3] for row in shown["books"]] == expected_books, f"page {shown['books']}, API {expected_books}")
        reconciliation = live_book["reconciliation"]
        check("the live book's reconciliation shown",
              shown["reconciliation"] == reconciliation["state"] and len(shown["mismatches"]) == len(reconciliation["mismatches"]),
              f"page {shown['reconciliation']!r} {shown['mismatches']}, API {reconciliation}")
        foreign = api(args.url, "/api/live/foreign-trades")
        check("foreign trades counted", shown["foreignTrades"] == str(len(foreign["trades"])), f"page {shown['foreignTrades']!r}")
        check("drawdown", shown["drawdown"] == f"{account['drawdown'] * 100:.2f} %", f"page {shown['drawdown']!r}, API {account['drawdown']}")
        check("positions", [row[0] for row in shown["positions"]] == [p["symbol"] for p in account["positions"]],
              f"page {shown['positions']}, API {[p['symbol'] for p in account['positions']]}")
        check("latest orders", [row[1] for row in shown["orders"]] == [o["intent"]["clientOrderId"] for o in orders["orders"]],
              f"page {[row[1] for row in shown['orders']]}")
        check("workers per service", {row[0]: int(row[1]) for row in shown["workers"]} == health["workers"],
              f"page {shown['workers']}, API {health['workers']}")
        check("model versions", [row[:2] for row in shown["models"]] == [[m["modelId"], m.get("incumbentVersion") or ""] for m in models["models"]],
              f"page {shown['models']}")
        check("equity curve drawn", shown["equityDrawn"] > 1000, f"{shown['equityDrawn']} bytes")
        chart = browser.evaluate("(() => { const c = document.getElementById('priceChart');"
                                 " return {symbol: c.dataset.symbol, candles: c.dataset.candles, fills: c.dataset.fills, newest: c.dataset.newest,"
                                 " drawn: c.toDataURL().length, options: [...document.getElementById('chartSymbol').options].map((o) => o.value)}; })()")
        market_symbols = sorted(s["symbol"] for s in health.get("market", []))
        check("the chart offers the held symbols", chart["options"] == market_symbols, f"page {chart['options']}, API {market_symbols}")
        if market_symbols:
            held = api(args.url, f"/api/market/candles?symbol={chart['symbol']}&limit=120")["candles"]
            check("the chart draws the held candles", chart["candles"] == str(len(held)) and chart["drawn"] > 3000,
                  f"page {chart['candles']} candles ({chart['drawn']} bytes), API {len(held)}")
            interval = held[1]["openTime"] - held[0]["openTime"] if len(held) > 1 else 60000
            all_orders = api(args.url, "/api/orders?limit=500")["orders"]
            in_window = [o for o in all_orders if o.get("fill") and o["intent"]["symbol"] == chart["symbol"]
                         and held[0]["openTime"] <= o["fill"]["filledAt"] < held[-1]["openTime"] + 2 * interval]
            check("the chart marks our fills in its window", chart["fills"] == str(len(in_window)),
                  f"page {chart['fills']}, API {len(in_window)}")
            if args.expect_fills is not None:
                check("the chart marks the expected fills", chart["fills"] == str(args.expect_fills), f"page {chart['fills']}")
            if args.token:
                newer = dict(held[-1], openTime=held[-1]["openTime"] + interval)
                api_post(args.url, "/api/market/candles", {"symbol": chart["symbol"], "candles": [newer]}, args.token)
                check("a posted candle reaches the chart without a reload",
                      browser.wait_for(f"document.getElementById('priceChart').dataset.newest === '{newer['openTime']}'", timeout=10),
                      browser.evaluate("document.getElementById('priceChart').dataset.newest"))
        check("token field only when the API needs one", shown["tokenHidden"] == (not health["config"]["authRequired"]), shown["tokenHidden"])

        reason = "halt clicked on the dashboard"
        browser.type_into("#reason", reason)
        if args.token:
            browser.click("#halt")
            refused = browser.wait_for("document.getElementById('message').textContent.includes('token')", timeout=5)
            check("halt without the token asks for it", refused, browser.evaluate("document.getElementById('message').textContent"))
            check("halt without the token sends nothing", api(args.url, "/health")["risk"].get("halted") is False, "the API says halted")
            browser.type_into("#token", args.token)
        browser.click("#halt")
        deadline, halted = time.time() + 10, None
        while time.time() < deadline:
            halted = api(args.url, "/health")["risk"]
            if halted.get("halted"):
                break
            time.sleep(0.1)
        check("a halt clicked on the page is seen by the API", halted.get("halted") is True and halted.get("haltReason") == reason, halted)
        check("the page shows the halt", browser.wait_for("document.getElementById('halted').textContent === 'HALTED'"), "")
        if halt_check_state:
            check("the page shows the state HALTED and the halt's reason",
                  browser.wait_for("document.getElementById('tradingState').textContent === 'HALTED'"
                                   f" && document.getElementById('stateReason').textContent === {json.dumps(reason)}"),
                  f"{page_text(browser, 'tradingState')!r} {page_text(browser, 'stateReason')!r}")
        errors = browser.errors()
        check("no console error", not errors, errors)
    finally:
        browser.close()
    print(json.dumps({"ok": not failures, "checks": checks}, indent=1))
    for failure in failures:
        print("FAIL " + failure, file=sys.stderr)
    sys.exit(0 if not failures else 1)


if __name__ == "__main__":
    main()
