/// The operator's dashboard, served at `GET /`: one HTML page with its own script and styles,
/// nothing fetched from elsewhere, no build step. It reads the public API every two seconds
/// (`/health`, `/api/locks`, `/api/positions` of the mode's book and of both books, `/api/live/foreign-trades`,
/// `/api/orders`, `/api/models`, `/api/equity`), shows the paper and the live book side by side
/// with the live book's reconciliation with the exchange (state, mismatches, foreign trades),
/// shows the trading state (ACTIVE, REDUCING, HALTED, with its reason) and the protection locks in
/// force, draws equity and drawdown on canvases, and the held candles of a chosen symbol with
/// the fills of our orders marked on them (`/api/market/candles`). Halt, resume and reset post to the API; when the gateway requires
/// `API_TOKEN`, the page asks for it (kept in the tab's sessionStorage only).
enum DashboardPage {
    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Trading pipeline</title>
        <link rel="icon" href="data:,">
        <style>
          body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1d2330; }
          header { display: flex; gap: 1rem; align-items: center; padding: .6rem 1rem; background: #1d2330; color: #fff; flex-wrap: wrap; }
          header h1 { font-size: 1.1rem; margin: 0 1rem 0 0; }
          .badge { padding: .15rem .5rem; border-radius: .3rem; font-weight: 600; background: #445; }
          .ok { background: #1f7a3a; } .bad { background: #b3261e; } .warn { background: #a86b00; }
          main { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 1rem; padding: 1rem; }
          section { background: #fff; border-radius: .4rem; padding: .8rem 1rem; box-shadow: 0 1px 2px #0002; }
          h2 { font-size: 1rem; margin: 0 0 .5rem; }
          table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
          th, td { text-align: left; padding: .2rem .4rem; border-bottom: 1px solid #e3e5ea; }
          canvas { width: 100%; height: 160px; }
          #priceChart { height: 240px; }
          .controls { display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; }
          button { padding: .35rem .8rem; border: 0; border-radius: .3rem; cursor: pointer; font-weight: 600; }
          #halt { background: #b3261e; color: #fff; } #resume { background: #1f7a3a; color: #fff; } #reset { background: #a86b00; color: #fff; }
          #message { min-height: 1.2em; color: #b3261e; }
          .figures { display: grid; grid-template-columns: auto 1fr; gap: .1rem 1rem; }
        </style>
        </head>
        <body>
        <header>
          <h1>Trading pipeline</h1>
          <span>mode <span class="badge" id="mode">…</span></span>
          <span>state <span class="badge" id="tradingState">…</span> <span id="stateReason"></span></span>
          <span>halt <span class="badge" id="halted">…</span> <span id="haltReason"></span></span>
          <span>lock <span class="badge" id="locked">…</span> <span id="lockReason"></span></span>
          <span>health <span class="badge" id="ok">…</span></span>
          <span id="updated"></span>
        </header>
        <main>
          <section>
            <h2>Account (<span id="book">…</span> book)</h2>
            <div class="figures">
              <span>equity (USD)</span><strong id="equity">…</strong>
              <span>cash (USD)</span><span id="cash">…</span>
              <span>peak equity (USD)</span><span id="peakEquity">…</span>
              <span>drawdown</span><strong id="drawdown">…</strong>
              <span>drawdown limit</span><span id="maxDrawdown">…</span>
              <span>pending orders</span><span id="pendingOrders">…</span>
            </div>
            <h2>Equity</h2><canvas id="equityChart" width="800" height="160"></canvas>
            <h2>Drawdown</h2><canvas id="drawdownChart" width="800" height="160"></canvas>
          </section>
          <section>
            <h2>Controls</h2>
            <div class="controls">
              <input id="reason" placeholder="reason" maxlength="200">
              <button id="halt" type="button">Halt</button>
              <button id="resume" type="button">Resume</button>
              <button id="reset" type="button">Reset risk lock</button>
            </div>
            <div class="controls" id="tokenRow" hidden>
              <label for="token">API token</label><input id="token" type="password" autocomplete="off">
            </div>
            <p id="message"></p>
            <h2>Workers</h2>
            <table><thead><tr><th>service</th><th>live</th></tr></thead><tbody id="workers"></tbody></table>
            <h2>Models</h2>
            <table><thead><tr><th>model</th><th>incumbent</th><th>canary</th><th>routing</th><th>agreement</th></tr></thead><tbody id="models"></tbody></table>
          </section>
          <section>
            <h2>Protection locks <span id="lockCount"></span></h2>
            <table><thead><tr><th>symbol</th><th>kind</th><th>reason</th><th>until (UTC)</th><th>id</th></tr></thead><tbody id="locks"></tbody></table>
            <p id="noLocks">none in force</p>
            <h2>Books</h2>
            <table><thead><tr><th>book</th><th>equity</th><th>cash</th><th>drawdown</th><th>daily loss</th><th>positions</th></tr></thead>
              <tbody id="books"></tbody></table>
            <p>live book vs exchange <span class="badge" id="reconciliation">…</span> <span id="reconciliationDetail"></span></p>
            <table><thead><tr><th>asset</th><th>exchange</th><th>live book</th><th>since (UTC)</th></tr></thead><tbody id="mismatches"></tbody></table>
            <p>foreign trades (no order of ours): <span id="foreignTrades">…</span></p>
            <h2>Positions</h2>
            <table><thead><tr><th>symbol</th><th>quantity</th><th>avg price</th><th>mark</th><th>unrealized</th><th>realized</th></tr></thead><tbody id="positions"></tbody></table>
          </section>
          <section>
            <h2>Price <select id="chartSymbol" aria-label="symbol"></select> <span id="chartNote"></span></h2>
            <canvas id="priceChart" width="800" height="240"></canvas>
            <h2>Latest orders</h2>
            <table><thead><tr><th>time</th><th>order</th><th>symbol</th><th>side</th><th>USD</th><th>status</th><th>price</th></tr></thead><tbody id="orders"></tbody></table>
          </section>
        </main>
        <script>
        "use strict";
        const $ = (id) => document.getElementById(id);
        let authRequired = false;

        function cell(text) { const td = document.createElement("td"); td.textContent = text == null ? "" : String(text); return td; }
        function rows(id, items, columns) {
          const body = $(id);
          body.replaceChildren(...items.map((item) => { const tr = document.createElement("tr"); columns(item).forEach((c) => tr.appendChild(cell(c))); return tr; }));
        }
        function badge(id, on, onText, offText, onClass) {
          const el = $(id); el.textContent = on ? onText : offText; el.className = "badge " + (on ? onClass : "ok");
        }
        function percent(x) { return x == null ? "" : (x * 100).toFixed(2) + " %"; }
        function money(x) { return x == null ? "" : Number(x).toFixed(2); }

        async function getJSON(path) {
          const response = await fetch(path, { headers: { "Accept": "application/json" } });
          if (!response.ok) throw new Error(path + " answered " + response.status);
          return response.json();
        }

        function chart(canvas, points, value, color, format) {
          const ctx = canvas.getContext("2d");
          const w = canvas.width, h = canvas.height, pad = 36;
          ctx.clearRect(0, 0, w, h);
          ctx.font = "12px sans-serif"; ctx.fillStyle = "#667";
          if (points.length === 0) { ctx.fillText("no points yet", pad, h / 2); return; }
          const xs = points.map((p) => p.ts), ys = points.map(value);
          let lo = Math.min(...ys), hi = Math.max(...ys);
          if (hi === lo) { hi += 1e-9 + Math.abs(hi) * 0.001; lo -= 1e-9 + Math.abs(lo) * 0.001; }
          const x0 = Math.min(...xs), x1 = Math.max(...xs) === x0 ? x0 + 1 : Math.max(...xs);
          const X = (t) => pad + (w - pad - 8) * (t - x0) / (x1 - x0), Y = (v) => h - 16 - (h - 28) * (v - lo) / (hi - lo);
          ctx.fillText(format(hi), 2, 12); ctx.fillText(format(lo), 2, h - 18);
          ctx.strokeStyle = color; ctx.lineWidth = 2; ctx.beginPath();
          points.forEach((p, i) => { const x = X(p.ts), y = Y(value(p)); if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y); });
          if (points.length === 1) ctx.lineTo(w - 8, Y(value(points[0])));
          ctx.stroke();
        }

        // The held candles of the chosen symbol (GET /api/market/candles) as candlesticks, with the
        // fills of our orders on them: a green triangle under a buy, a red one over a sale, at the
        // fill's price in the candle that holds its time (one slot past the newest for the candle
        // still forming). Fills outside the window are counted, not drawn.
        async function priceChart(health, orders) {
          const select = $("chartSymbol"), canvas = $("priceChart");
          const symbols = (Array.isArray(health.market) ? health.market : []).map((s) => s.symbol).sort();
          if (select.options.length !== symbols.length || symbols.some((s, i) => select.options[i].value !== s)) {
            const chosen = select.value;
            select.replaceChildren(...symbols.map((s) => { const o = document.createElement("option"); o.value = s; o.textContent = s; return o; }));
            if (symbols.includes(chosen)) select.value = chosen;
          }
          const ctx = canvas.getContext("2d");
          const w = canvas.width, h = canvas.height, pad = 56;
          ctx.clearRect(0, 0, w, h);
          ctx.font = "12px sans-serif"; ctx.fillStyle = "#667";
          canvas.dataset.symbol = select.value; canvas.dataset.candles = "0"; canvas.dataset.fills = "0";
          if (!select.value) { ctx.fillText("no market data held", pad, h / 2); $("chartNote").textContent = ""; return; }
          const held = await getJSON("/api/market/candles?symbol=" + encodeURIComponent(select.value) + "&limit=120");
          const candles = held.candles || [];
          if (candles.length === 0) { ctx.fillText("no candles held", pad, h / 2); return; }
          const interval = held.intervalMs || (candles.length > 1 ? candles[1].openTime - candles[0].openTime : 60000);
          const first = candles[0].openTime, end = candles[candles.length - 1].openTime + interval;
          const fills = orders.filter((o) => o.fill && o.intent.symbol === select.value);
          const shown = fills.filter((o) => o.fill.filledAt >= first && o.fill.filledAt < end + interval);
          const prices = candles.flatMap((c) => [c.low, c.high]).concat(shown.map((o) => Number(o.fill.price)));
          let lo = Math.min(...prices), hi = Math.max(...prices);
          if (hi === lo) { hi += Math.abs(hi) * 0.001 + 1e-9; lo -= Math.abs(lo) * 0.001 + 1e-9; }
          const step = (w - pad - 10) / (candles.length + 1);
          const X = (i) => pad + step * (i + 0.5), Y = (v) => h - 18 - (h - 34) * (v - lo) / (hi - lo);
          ctx.fillText(hi.toPrecision(6), 2, 14); ctx.fillText(lo.toPrecision(6), 2, h - 20);
          candles.forEach((c, i) => {
            const up = c.close >= c.open;
            ctx.strokeStyle = ctx.fillStyle = up ? "#1f7a3a" : "#b3261e"; ctx.lineWidth = 1;
            ctx.beginPath(); ctx.moveTo(X(i), Y(c.high)); ctx.lineTo(X(i), Y(c.low)); ctx.stroke();
            const top = Y(Math.max(c.open, c.close)), bottom = Y(Math.min(c.open, c.close));
            ctx.fillRect(X(i) - Math.max(1, step * 0.35), top, Math.max(2, step * 0.7), Math.max(1, bottom - top));
          });
          shown.forEach((o) => {
            const i = Math.min(candles.length, Math.floor((o.fill.filledAt - first) / interval));
            const x = X(i), y = Y(Number(o.fill.price)), buy = o.intent.side === "buy", d = buy ? 1 : -1;
            ctx.fillStyle = buy ? "#0b8a2f" : "#c0142b"; ctx.strokeStyle = "#1d2330";
            ctx.beginPath(); ctx.moveTo(x, y + 2 * d); ctx.lineTo(x - 6, y + 12 * d); ctx.lineTo(x + 6, y + 12 * d); ctx.closePath(); ctx.fill(); ctx.stroke();
          });
          canvas.dataset.candles = String(candles.length); canvas.dataset.fills = String(shown.length);
          canvas.dataset.newest = String(candles[candles.length - 1].openTime);
          $("chartNote").textContent = candles.length + " candles, " + shown.length + " fills" + (fills.length > shown.length ? " (" + (fills.length - shown.length) + " outside the window)" : "");
        }

        async function refresh() {
          try {
            const since = Date.now() - 24 * 3600 * 1000;
            const [health, locks, account, orders, models, equity, paperBook, liveBook, foreign] = await Promise.all([
              getJSON("/health"), getJSON("/api/locks"), getJSON("/api/positions"), getJSON("/api/orders?limit=500"), getJSON("/api/models"),
              getJSON("/api/equity?since=" + since), getJSON("/api/positions?book=paper"), getJSON("/api/positions?book=live"),
              getJSON("/api/live/foreign-trades"),
            ]);
            await priceChart(health, orders.orders || []);
            $("book").textContent = account.book;
            rows("books", [paperBook, liveBook], (b) => b.built === false ? [b.book, "not built", "", "", "", ""]
              : [b.book, money(b.equity), money(b.cash), percent(b.drawdown), money(b.dailyLoss), (b.positions || []).length]);
            const rec = liveBook.reconciliation || { state: "never", mismatches: [] };
            $("reconciliation").textContent = rec.state;
            $("reconciliation").className = "badge " + ({ ok: "ok", mismatch: "bad", unknown: "bad" }[rec.state] || "");
            $("reconciliationDetail").textContent = rec.state === "ok" ? "" : (rec.detail || "");
            rows("mismatches", rec.mismatches || [], (m) => [m.asset, m.exchange, m.book, new Date(m.since).toISOString().slice(0, 19).replace("T", " ")]);
            $("foreignTrades").textContent = String((foreign.trades || []).length);
            authRequired = !!(health.config && health.config.authRequired);
            $("tokenRow").hidden = !authRequired;
            $("mode").textContent = health.tradingMode;
            $("mode").className = "badge " + (health.tradingMode === "live" ? "warn" : "ok");
            const risk = health.risk || {};
            const state = risk.tradingState || (health.control || {}).tradingState || "unknown";
            $("tradingState").textContent = state;
            $("tradingState").className = "badge " + ({ ACTIVE: "ok", REDUCING: "warn", HALTED: "bad" }[state] || "");
            $("stateReason").textContent = state === "ACTIVE" ? "" : (risk.stateReason || "");
            const held = locks.locks || [];
            rows("locks", held, (l) => [l.symbol || "all symbols", l.rule, l.reason, new Date(l.until).toISOString().slice(0, 19).replace("T", " "), l.id]);
            $("noLocks").hidden = held.length > 0;
            $("lockCount").textContent = held.length > 0 ? "(" + held.length + ")" : "";
            badge("halted", risk.halted === true, "HALTED", "running", "bad");
            $("haltReason").textContent = risk.halted ? (risk.haltReason || "") : "";
            badge("locked", risk.locked === true, "LOCKED", "unlocked", "bad");
            $("lockReason").textContent = risk.locked ? (risk.lockReason || "") : "";
            badge("ok", health.ok === true, "ok", "problems: " + (health.problems || []).join("; "), "ok");
            if (health.ok !== true) $("ok").className = "badge warn";
            $("equity").textContent = money(account.equity);
            $("cash").textContent = money(account.cash);
            $("peakEquity").textContent = money(account.peakEquity);
            $("drawdown").textContent = percent(account.drawdown);
            $("maxDrawdown").textContent = percent(health.config && health.config.maxDrawdown);
            $("pendingOrders").textContent = account.pendingOrders;
            rows("positions", account.positions || [], (p) => [p.symbol, p.quantity, money(p.averagePrice), money(p.markPrice), money(p.unrealizedPnl), money(p.realizedPnl)]);
            rows("orders", (orders.orders || []).slice(0, 20), (o) => [new Date(o.createdAt).toISOString().slice(11, 19), o.intent.clientOrderId, o.intent.symbol, o.intent.side,
              money(o.intent.qtyUsd), o.status + (o.rejectReason ? " (" + o.rejectReason + ")" : ""), o.fill ? money(o.fill.price) : ""]);
            rows("workers", Object.entries(health.workers || {}).sort(), ([service, count]) => [service, count]);
            rows("models", models.models || [], (m) => [m.modelId, m.incumbentVersion, m.canaryVersion, m.canary.mode + (m.canary.mode === "split" ? " " + m.canary.share : ""),
              m.agreement == null ? "" : percent(m.agreement) + " of " + m.shadowCompared]);
            chart($("equityChart"), equity.points, (p) => Number(p.equity), "#1f5fbf", (v) => v.toFixed(0));
            chart($("drawdownChart"), equity.points, (p) => p.drawdown, "#b3261e", (v) => (v * 100).toFixed(2) + "%");
            $("updated").textContent = "updated " + new Date().toISOString().slice(11, 19);
            document.body.dataset.loaded = "true";
          } catch (error) {
            $("updated").textContent = "not updated: " + error.message;
          }
        }

        async function act(action) {
          const headers = { "Content-Type": "application/json" };
          if (authRequired) {
            let token = $("token").value || sessionStorage.getItem("apiToken") || "";
            if (!token) { $("message").textContent = "this action needs the API token"; $("token").focus(); return; }
            sessionStorage.setItem("apiToken", token);
            headers["Authorization"] = "Bearer " + token;
          }
          const body = JSON.stringify({ reason: $("reason").value || ("from the dashboard: " + action), requestedBy: "dashboard" });
          const response = await fetch("/api/" + action, { method: "POST", headers, body });
          if (response.ok) {
            $("message").textContent = "";
          } else {
            const error = await response.json().catch(() => ({}));
            if (response.status === 401) sessionStorage.removeItem("apiToken");
            $("message").textContent = action + " refused: " + (error.detail || response.status);
          }
          await refresh();
        }

        $("chartSymbol").addEventListener("change", () => refresh());
        $("halt").addEventListener("click", () => act("halt"));
        $("resume").addEventListener("click", () => act("resume"));
        $("reset").addEventListener("click", () => act("risk/reset"));
        refresh();
        setInterval(refresh, 2000);
        </script>
        </body>
        </html>
        """#
}
