/* Campaign simulator: the arithmetic of dbt_project/macros/campaign_economics.sql on the sums of
   a list (marts.campaign_inputs), line for line; a test holds it equal to marts.campaign_roi.
   Reads its data from the JSON block #campaign-data; writes only with textContent. */
(function () {
  "use strict";
  var dataEl = document.getElementById("campaign-data");
  if (!dataEl) { return; }
  var data = JSON.parse(dataEl.textContent);
  if (!data || !data.targets) { return; }

  var nf0 = new Intl.NumberFormat("en-US", { minimumFractionDigits: 0, maximumFractionDigits: 0 });
  var nf1 = new Intl.NumberFormat("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  var nf2 = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  function isNum(x) { return typeof x === "number" && isFinite(x); }
  function money(x) { return !isNum(x) ? "—" : (Math.abs(x) >= 100 ? nf0.format(x) : nf2.format(x)); }
  function pct(x) { return !isNum(x) ? "—" : nf1.format(x * 100) + "%"; }
  function byId(id) { return document.getElementById(id); }

  function simulate(q, d, c, s, m) {
    var contactCost = c * q.contacts;
    var discountCost = d * (q.sum_eov - (1 - s) * q.sum_churn_x_eov);
    var cost = contactCost + discountCost;
    var revenueSaved = s * q.sum_churn_x_revenue;
    var valueSaved = m * revenueSaved;
    var net = valueSaved - cost;
    return { contacts: q.contacts, contactCost: contactCost, discountCost: discountCost, totalCost: cost,
             saved: s * q.sum_churn_probability, revenueSaved: revenueSaved, valueSaved: valueSaved, net: net,
             roi: cost !== 0 ? net / cost : null, breakEven: revenueSaved !== 0 ? cost / revenueSaved : null };
  }

  var pairs = [["sim-discount-range", "sim-discount"], ["sim-cost-range", "sim-cost"], ["sim-save-range", "sim-save"],
               ["sim-margin-range", "sim-margin"]];
  var select = byId("sim-target-list");
  var form = byId("sim-form");
  if (form) { form.addEventListener("submit", function (e) { e.preventDefault(); }); }

  function read(id) {
    var v = parseFloat(byId(id).value);
    return isNum(v) && v >= 0 ? v : 0;
  }

  function put(id, text, raw, sign) {
    var el = byId(id);
    if (!el) { return; }
    el.textContent = text;
    el.setAttribute("data-value", raw === null ? "" : String(raw));
    if (sign) {
      el.classList.remove("pos", "neg");
      if (isNum(raw)) { el.classList.add(raw >= 0 ? "pos" : "neg"); }
    }
  }

  function update() {
    var q = data.targets[select.value];
    if (!q) { return; }
    var r = simulate(q, read("sim-discount") / 100, read("sim-cost"), read("sim-save") / 100, read("sim-margin") / 100);
    put("sim-out-contacts", nf0.format(r.contacts), r.contacts);
    put("sim-out-contact-cost", money(r.contactCost), r.contactCost);
    put("sim-out-discount-cost", money(r.discountCost), r.discountCost);
    put("sim-out-total-cost", money(r.totalCost), r.totalCost);
    put("sim-out-saved", nf1.format(r.saved), r.saved);
    put("sim-out-revenue-saved", money(r.revenueSaved), r.revenueSaved);
    put("sim-out-value-saved", money(r.valueSaved), r.valueSaved);
    put("sim-out-net", money(r.net), r.net, true);
    put("sim-out-break-even", pct(r.breakEven), r.breakEven);
    put("sim-out-roi", pct(r.roi), r.roi, true);
    var note = byId("sim-target");
    if (note) { note.textContent = q.name + " · " + nf0.format(q.contacts) + " customers"; }
  }

  function setInputs(p) {
    var values = [p.discount * 100, p.cost_per_contact, p.save_rate * 100,
                  (p.margin !== undefined ? p.margin : read("sim-margin") / 100) * 100];
    pairs.forEach(function (pair, i) {
      var v = Math.round(values[i] * 10000) / 10000;
      var range = byId(pair[0]);
      if (parseFloat(range.max) < v) { range.max = String(Math.ceil(v)); }
      range.value = String(v);
      byId(pair[1]).value = String(v);
    });
  }

  pairs.forEach(function (pair) {
    var range = byId(pair[0]), box = byId(pair[1]);
    range.addEventListener("input", function () { box.value = range.value; update(); });
    box.addEventListener("input", function () {
      var v = parseFloat(box.value);
      if (isNum(v)) {
        if (parseFloat(range.max) < v) { range.max = String(Math.ceil(v)); }
        range.value = String(v);
      }
      update();
    });
  });
  select.addEventListener("change", update);

  var buttons = document.querySelectorAll("#sim-presets button");
  function refreshPresets() {
    var presets = (data.presets || {})[select.value] || {};
    Array.prototype.forEach.call(buttons, function (b) { b.disabled = !presets[b.getAttribute("data-scenario")]; });
  }
  Array.prototype.forEach.call(buttons, function (b) {
    b.addEventListener("click", function () {
      var p = ((data.presets || {})[select.value] || {})[b.getAttribute("data-scenario")];
      if (p) { setInputs(p); update(); }
    });
  });
  select.addEventListener("change", refreshPresets);

  if (data.defaults) { setInputs(data.defaults); }
  refreshPresets();
  update();
})();
