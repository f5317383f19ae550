/* The dashboard's live parts: filters -> cards, charts, customer table and download link; the
   customer page (#customer/<id>); the scoring panel. Reads only the JSON API of this server and
   writes text with textContent (never innerHTML), so customer text stays text. */
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var PAGE = 25;
  var state = { sort: "-expected_incremental_profit", offset: 0, total: 0 };
  var nf0 = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
  var nf2 = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  function isNum(x) { return typeof x === "number" && isFinite(x); }
  function money(x) { return !isNum(x) ? "—" : (Math.abs(x) >= 100 ? nf0.format(x) : nf2.format(x)); }
  function pct(x) { return !isNum(x) ? "—" : (x * 100).toFixed(1) + "%"; }
  function int(x) { return !isNum(x) ? "—" : nf0.format(x); }
  function byId(id) { return document.getElementById(id); }
  function text(el, value) { el.textContent = value === null || value === undefined ? "—" : String(value); return el; }
  function el(tag, cls, value) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (value !== undefined) { text(e, value); }
    return e;
  }
  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }

  function api(path, options) {
    return fetch(path, options).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) {
        if (!r.ok) {
          var err = (body && body.error) || { message: "HTTP " + r.status };
          var e = new Error(err.message); e.field = err.field; e.status = r.status; throw e;
        }
        return body;
      });
    });
  }

  // ------------------------------------------------------------------ filters
  var form = byId("filters");
  function addOptions(select, items) {
    items.forEach(function (item) {
      var o = document.createElement("option");
      o.value = String(item.value); o.textContent = item.label;
      select.appendChild(o);
    });
  }
  function query(extra) {
    var params = new URLSearchParams();
    ["quadrant", "segment", "cluster", "risk_band", "country", "targeted"].forEach(function (name) {
      var v = form.elements[name].value;
      if (v !== "") { params.set(name, v); }
    });
    var lo = form.elements.min_probability.value, hi = form.elements.max_probability.value;
    if (lo !== "") { params.set("min_probability", String(Number(lo) / 100)); }
    if (hi !== "") { params.set("max_probability", String(Number(hi) / 100)); }
    var q = form.elements.q.value.trim();
    if (q) { params.set("q", q); }
    Object.keys(extra || {}).forEach(function (k) { params.set(k, extra[k]); });
    return params.toString();
  }

  var timer = null;
  function refreshSoon() { clearTimeout(timer); timer = setTimeout(function () { state.offset = 0; refresh(); }, 250); }
  form.addEventListener("change", function () { state.offset = 0; refresh(); });
  form.addEventListener("input", function (e) { if (e.target.tagName === "INPUT") { refreshSoon(); } });
  form.addEventListener("submit", function (e) { e.preventDefault(); });
  byId("f-reset").addEventListener("click", function () { form.reset(); state.offset = 0; refresh(); });

  function showFilterError(err) {
    var box = byId("filter-error");
    if (!err) { box.hidden = true; return; }
    box.hidden = false;
    text(box, err.message);  // the message names the field
  }

  var seq = 0;
  function refresh() {
    var mine = ++seq;
    var base = query();
    byId("download").href = "/api/customers?" + query({ format: "csv", sort: state.sort });
    var list = api("/api/customers?" + query({ sort: state.sort, limit: PAGE, offset: state.offset }));
    var summary = api("/api/customers/summary" + (base ? "?" + base : ""));
    return Promise.all([list, summary]).then(function (res) {
      if (mine !== seq) { return; }
      showFilterError(null);
      renderTable(res[0]);
      renderSummary(res[1]);
    }).catch(function (err) { if (mine === seq) { showFilterError(err); } });
  }

  // ------------------------------------------------------------------ table
  function cell(row, value, cls) { var td = el("td", cls, value); row.appendChild(td); return td; }
  function renderTable(page) {
    state.total = page.total;
    var body = document.querySelector("#customer-table tbody");
    clear(body);
    page.customers.forEach(function (c) {
      var tr = document.createElement("tr");
      var td = el("td", "txt");
      var a = el("a", null, c.customer_id);
      a.href = "#customer/" + encodeURIComponent(c.customer_id);
      a.setAttribute("data-customer", c.customer_id);
      td.appendChild(a); tr.appendChild(td);
      cell(tr, c.country, "txt");
      cell(tr, c.rfm_segment, "txt");
      cell(tr, c.decision_quadrant, "txt");
      cell(tr, c.risk_band, "risk-" + c.risk_band);
      cell(tr, pct(c.churn_probability), "num");
      cell(tr, money(c.value_if_retained), "num");
      cell(tr, money(c.expected_incremental_profit), "num " + (c.expected_incremental_profit >= 0 ? "pos" : "neg"));
      cell(tr, c.is_targeted ? int(c.plan_rank) : "—", "num");
      cell(tr, isNum(c.recency_days) ? c.recency_days + " d" : "—", "num");
      body.appendChild(tr);
    });
    var first = page.total ? page.offset + 1 : 0, last = page.offset + page.customers.length;
    text(byId("table-count"), int(page.total) + " customers");
    text(byId("page-info"), first + "–" + last + " of " + int(page.total));
    byId("page-prev").disabled = page.offset <= 0;
    byId("page-next").disabled = last >= page.total;
    Array.prototype.forEach.call(document.querySelectorAll("#customer-table button[data-sort]"), function (b) {
      var key = b.getAttribute("data-sort");
      b.classList.toggle("sorted", state.sort === key || state.sort === "-" + key);
      b.setAttribute("data-dir", state.sort === key ? "asc" : (state.sort === "-" + key ? "desc" : ""));
    });
  }
  byId("page-prev").addEventListener("click", function () { state.offset = Math.max(0, state.offset - PAGE); refresh(); });
  byId("page-next").addEventListener("click", function () { state.offset += PAGE; refresh(); });
  Array.prototype.forEach.call(document.querySelectorAll("#customer-table button[data-sort]"), function (b) {
    b.addEventListener("click", function () {
      var key = b.getAttribute("data-sort");
      var ascendingFirst = key === "customer_id" || key === "country" || key === "plan_rank" || key === "recency_days";
      if (state.sort === key) { state.sort = "-" + key; }
      else if (state.sort === "-" + key) { state.sort = key; }
      else { state.sort = ascendingFirst ? key : "-" + key; }
      state.offset = 0; refresh();
    });
  });

  // ------------------------------------------------------------------ cards and charts
  function card(id, value, note) {
    var box = byId(id);
    text(box.querySelector(".kpi-value"), value);
    if (note !== undefined) { text(box.querySelector(".kpi-note"), note); }
  }
  function renderSummary(s) {
    card("sel-customers", int(s.customers));
    card("sel-churn", pct(s.avg_churn_probability));
    card("sel-risk", money(s.revenue_at_risk));
    card("sel-plan", int(s.targeted), "contacts, expected profit " + money(s.targeted_expected_profit));
    bars(byId("chart-quadrants"), s.by_quadrant, "#2563eb");
    bars(byId("chart-segments"), s.by_segment, "#64748b");
    bars(byId("chart-risk"), s.by_risk_band, "#ea580c");
    histogram(byId("chart-histogram"), s.probability_histogram);
  }
  function svg(tag, attrs, parent) {
    var e = document.createElementNS(SVG, tag);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, String(attrs[k])); });
    if (parent) { parent.appendChild(e); }
    return e;
  }
  function svgText(parent, x, y, value, attrs) {
    var t = svg("text", Object.assign({ x: x, y: y }, attrs || {}), parent);
    t.textContent = value;
    return t;
  }
  function bars(box, items, color) {
    clear(box);
    if (!items || !items.length) { box.appendChild(el("p", "none", "No customer matches.")); return; }
    var W = 460, row = 22, ml = 170, mr = 70, H = items.length * row + 8;
    var max = Math.max.apply(null, items.map(function (i) { return i.customers; })) || 1;
    var root = svg("svg", { viewBox: "0 0 " + W + " " + H, "class": "svg-chart", role: "img" }, box);
    items.forEach(function (it, k) {
      var y = 4 + k * row, w = (W - ml - mr) * it.customers / max;
      var g = svg("g", {}, root);
      var title = svg("title", {}, g);
      title.textContent = (it.label || it.key) + ": " + int(it.customers) + " customers, revenue at risk " + money(it.revenue_at_risk);
      var label = String(it.label === null || it.label === undefined ? it.key : it.label);
      svgText(g, ml - 8, y + 15, label.length > 24 ? label.slice(0, 23) + "…" : label, { "text-anchor": "end", "class": "label" });
      svg("rect", { x: ml, y: y + 3, width: Math.max(1, w).toFixed(1), height: row - 8, fill: color, rx: 2 }, g);
      svgText(g, ml + w + 6, y + 15, int(it.customers), { "class": "value" });
    });
  }
  function histogram(box, bins) {
    clear(box);
    var W = 460, H = 190, ml = 46, mb = 28, mt = 10, pw = W - ml - 10, ph = H - mt - mb;
    var max = Math.max.apply(null, bins.map(function (b) { return b.customers; })) || 1;
    var root = svg("svg", { viewBox: "0 0 " + W + " " + H, "class": "svg-chart", role: "img" }, box);
    var band = pw / bins.length;
    bins.forEach(function (b, k) {
      var h = ph * b.customers / max, x = ml + k * band;
      var g = svg("g", {}, root);
      var title = svg("title", {}, g);
      title.textContent = pct(b.from) + "–" + pct(b.to) + ": " + int(b.customers) + " customers";
      svg("rect", { x: (x + 2).toFixed(1), y: (mt + ph - h).toFixed(1), width: (band - 4).toFixed(1), height: Math.max(0, h).toFixed(1), fill: "#ea580c", rx: 2 }, g);
      if (k % 2 === 0) { svgText(root, x, H - 8, (b.from * 100).toFixed(0) + "%", { "class": "axis" }); }
    });
    svgText(root, ml + pw, H - 8, "100%", { "class": "axis", "text-anchor": "end" });
    svgText(root, ml - 6, mt + 10, int(max), { "class": "axis", "text-anchor": "end" });
    svgText(root, ml - 6, mt + ph, "0", { "class": "axis", "text-anchor": "end" });
  }

  // ------------------------------------------------------------------ customer page
  var current = null;
  function showCustomer(id) {
    return api("/api/customers/" + encodeURIComponent(id)).then(function (c) {
      current = c.customer_id;
      var section = byId("customer");
      section.hidden = false;
      text(byId("c-id"), c.customer_id);
      text(byId("c-meta"), (c.country || "—") + " · as of " + c.as_of_date + " · build " + c.build_id);
      var cards = byId("c-cards");
      clear(cards);
      [["Churn probability", pct(c.churn.probability), c.churn.risk_band + " risk"],
       ["Value if retained", money(c.value.value_if_retained), c.value.value_tier + " value · CLV " + money(c.value.clv)],
       ["Quadrant", c.decision.quadrant, c.decision.quadrant_key],
       ["Retention plan", c.plan.is_targeted ? "contact (#" + int(c.plan.rank) + ")" : "no contact",
        "expected profit " + money(c.plan.expected_incremental_profit)]].forEach(function (k) {
        var box = el("div", "kpi");
        box.appendChild(el("div", "kpi-label", k[0])); box.appendChild(el("div", "kpi-value", k[1]));
        box.appendChild(el("div", "kpi-note", k[2]));
        cards.appendChild(box);
      });
      var drivers = byId("c-drivers");
      clear(drivers);
      c.churn.drivers.forEach(function (d) { drivers.appendChild(el("li", null, d)); });
      text(byId("c-action"), c.decision.action);
      text(byId("c-reason"), c.plan.reason);
      text(byId("c-strategy"), c.decision.strategy);
      var rfm = byId("c-rfm");
      clear(rfm);
      [["RFM segment", c.rfm.rfm_segment + " (" + c.rfm.rfm_score + ")"], ["Cluster", c.cluster.name],
       ["Recency", c.rfm.recency_days + " days"], ["Orders", int(c.rfm.frequency)], ["Net spend", money(c.rfm.monetary)],
       ["Last order", c.rfm.last_order_date], ["Expected order value", money(c.value.expected_order_value)]].forEach(function (r) {
        var tr = document.createElement("tr");
        tr.appendChild(el("th", null, r[0])); tr.appendChild(el("td", "num", r[1]));
        rfm.appendChild(tr);
      });
      var body = document.querySelector("#c-orders tbody");
      clear(body);
      c.recent_orders.forEach(function (o) {
        var tr = document.createElement("tr");
        cell(tr, o.order_date, "date"); cell(tr, o.invoice_no, "txt"); cell(tr, money(o.order_value), "num");
        cell(tr, int(o.line_count), "num"); cell(tr, int(o.item_quantity), "num");
        body.appendChild(tr);
      });
      text(byId("c-orders-note"), "The " + c.orders_shown + " most recent of " + int(c.rfm.frequency) + " orders.");
      timeline(byId("c-timeline"), c.recent_orders, c.as_of_date);
      section.scrollIntoView();
    }).catch(function (err) {
      var section = byId("customer");
      section.hidden = false;
      text(byId("c-id"), id);
      text(byId("c-meta"), err.message);
      clear(byId("c-cards"));
    });
  }
  function timeline(box, orders, asOf) {
    clear(box);
    if (!orders.length) { return; }
    var W = 960, H = 150, ml = 60, mr = 20, mt = 14, mb = 28, pw = W - ml - mr, ph = H - mt - mb;
    var times = orders.map(function (o) { return Date.parse(o.order_date); });
    var end = Date.parse(asOf), start = Math.min.apply(null, times);
    var span = Math.max(end - start, 86400000);
    var max = Math.max.apply(null, orders.map(function (o) { return Math.abs(o.order_value || 0); })) || 1;
    var root = svg("svg", { viewBox: "0 0 " + W + " " + H, "class": "svg-chart", role: "img" }, box);
    svg("line", { x1: ml, x2: ml + pw, y1: mt + ph, y2: mt + ph, "class": "grid" }, root);
    orders.forEach(function (o, k) {
      var x = ml + pw * (times[k] - start) / span, h = ph * Math.abs(o.order_value || 0) / max;
      var g = svg("g", {}, root);
      var t = svg("title", {}, g); t.textContent = o.order_date + ": " + money(o.order_value);
      svg("line", { x1: x.toFixed(1), x2: x.toFixed(1), y1: mt + ph, y2: (mt + ph - h).toFixed(1), stroke: "#2563eb", "stroke-width": 3 }, g);
      svg("circle", { cx: x.toFixed(1), cy: (mt + ph - h).toFixed(1), r: 4, fill: "#2563eb" }, g);
    });
    svgText(root, ml, H - 8, new Date(start).toISOString().slice(0, 10), { "class": "axis" });
    svgText(root, ml + pw, H - 8, asOf + " (as of)", { "class": "axis", "text-anchor": "end" });
    svgText(root, ml - 6, mt + 8, money(max), { "class": "axis", "text-anchor": "end" });
  }
  function route() {
    var m = /^#customer\/(.+)$/.exec(location.hash);
    if (m) { showCustomer(decodeURIComponent(m[1])); }
  }
  window.addEventListener("hashchange", route);

  // ------------------------------------------------------------------ scoring panel
  var scoreForm = byId("score-form");
  var features = [];
  function fillScore(values) {
    features.forEach(function (name) {
      var input = scoreForm.elements[name];
      var v = values[name];
      input.value = v === null || v === undefined ? "" : String(v);
    });
  }
  function scoreBody() {
    var record = {};
    features.forEach(function (name) {
      var input = scoreForm.elements[name];
      if (input.type === "number") { record[name] = input.value === "" ? null : Number(input.value); }
      else { record[name] = input.value; }
    });
    return { features: record };
  }
  function showScore(result) {
    var err = byId("s-error");
    err.hidden = true;
    text(byId("s-probability"), pct(result.churn_probability));
    text(byId("s-band"), result.risk_band);
    text(byId("s-cluster"), result.cluster_name || "—");
    var list = byId("s-drivers");
    clear(list);
    result.top_drivers.forEach(function (d) { list.appendChild(el("li", null, d)); });
  }
  function score() {
    return api("/api/score", { method: "POST", headers: { "Content-Type": "application/json" },
                               body: JSON.stringify(scoreBody()) })
      .then(showScore)
      .catch(function (e) {
        var err = byId("s-error");
        err.hidden = false;
        text(err, e.message);  // names the field, e.g. "features.r_score: ..."
        ["s-probability", "s-band", "s-cluster"].forEach(function (id) { text(byId(id), "—"); });
        clear(byId("s-drivers"));
      });
  }
  scoreForm.addEventListener("submit", function (e) { e.preventDefault(); score(); });
  byId("c-score").addEventListener("click", function () {
    if (!current) { return; }
    api("/api/customers/" + encodeURIComponent(current) + "/features").then(function (body) {
      fillScore(body.features);
      byId("score").scrollIntoView();
      return score();
    });
  });

  // ------------------------------------------------------------------ start
  api("/api/filters").then(function (f) {
    addOptions(byId("f-quadrant"), f.quadrant.map(function (q) { return { value: q.key, label: q.name }; }));
    addOptions(byId("f-segment"), f.segment.map(function (s) { return { value: s, label: s }; }));
    addOptions(byId("f-cluster"), f.cluster.map(function (c) { return { value: c.id, label: c.name }; }));
    addOptions(byId("f-risk_band"), f.risk_band.map(function (r) { return { value: r, label: r }; }));
    addOptions(byId("f-country"), f.country.map(function (c) { return { value: c, label: c }; }));
    return refresh();
  }).then(route);
  api("/api/model").then(function (m) {
    features = m.features;
    if (m.typical_customer) { fillScore(m.typical_customer); return score(); }
  });
})();
