// The BalancedCall dashboard, loaded only once signed in (the gateway serves this file to a
// session or the admin token, nothing else). Polls GET /admin/dashboard once a second and draws
// it; the Usage tab reads GET /admin/usage every 15 s while it is shown. The session travels in
// an HttpOnly cookie this script cannot read; each call adds X-BalancedCall-Admin: 1, which the
// gateway requires of a change made with the cookie (no other site can set it). Plain DOM and
// SVG, no library, nothing from another origin. Every figure is set with textContent: an
// upstream's error message is text, never markup.
'use strict';

(() => {
  const POLL_MS = 1000;
  const USAGE_MS = 15000;
  const SERIES_SECONDS = 900;
  const $ = (id) => document.getElementById(id);

  let series = { t: [], requests: [], errors: [], p50_ms: [], p95_ms: [] };
  let lastSecond = 0;
  let timer = null;
  let usageTimer = null;
  let tab = 'live';
  let signedOut = false;

  // ---- talking to the gateway ----

  async function call(method, path, body) {
    const headers = { 'X-BalancedCall-Admin': '1' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(path, {
      method, headers, cache: 'no-store', credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await res.json().catch(() => ({}));
    if (res.status === 401) {
      // The session ended (expired, signed out elsewhere, the token changed): the page itself
      // now answers with the login form.
      signedOut = true;
      window.location.assign('/dashboard');
      throw new Error('signed out');
    }
    if (!res.ok) throw new Error(data.error?.message || `HTTP ${res.status}`);
    return data;
  }

  async function poll() {
    timer = null;
    if (signedOut || tab !== 'live') return;
    try {
      const data = await call('GET', `/admin/dashboard?since=${lastSecond}`);
      render(data);
      setStatus('live', 'ok');
    } catch (e) {
      if (signedOut) return;
      setStatus(`no answer: ${e.message}`, 'bad');
    }
    if (!signedOut && tab === 'live') timer = setTimeout(poll, POLL_MS);
  }

  async function act(action, model, key) {
    try {
      const r = await call('POST', `/admin/keys/${action}`, { model, key });
      $('action-result').textContent = `${action}: ${model} / ${key} is now ${r.state}`;
    } catch (e) {
      $('action-result').textContent = `${action} failed: ${e.message}`;
    }
  }

  async function reloadConfig() {
    try {
      const r = await call('POST', '/admin/reload');
      $('action-result').textContent = r.message;
    } catch (e) {
      $('action-result').textContent = `reload refused: ${e.message}`;
    }
  }

  // ---- tabs, signing out ----

  function setStatus(text, kind) {
    const s = $('status');
    s.textContent = text;
    s.className = `status ${kind || ''}`;
  }

  function show(which) {
    tab = which;
    $('board').hidden = which !== 'live';
    $('usage').hidden = which !== 'usage';
    $('tab-live').setAttribute('aria-pressed', String(which === 'live'));
    $('tab-usage').setAttribute('aria-pressed', String(which === 'usage'));
    // Only the tab shown is polled: a page left open costs one request a second, not more.
    if (timer !== null) clearTimeout(timer);
    if (usageTimer !== null) clearTimeout(usageTimer);
    timer = null;
    usageTimer = null;
    if (which === 'live') poll(); else pollUsage();
  }

  async function signOut() {
    signedOut = true;
    try {
      await fetch('/admin/logout', {
        method: 'POST', headers: { 'X-BalancedCall-Admin': '1' }, credentials: 'same-origin',
      });
    } finally {
      window.location.assign('/dashboard');
    }
  }

  // ---- formatting ----

  const fmt = (v, unit = '') => (v === null || v === undefined ? '–' : `${v}${unit}`);
  const ms = (v) => (v === null || v === undefined ? '–' : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${Math.round(v)} ms`);
  const pct = (v) => (v === null || v === undefined ? '–' : `${Math.round(v)} %`);
  const limit = (used, max) => (max > 0 ? `${used} / ${max}` : `${used}`);

  function countdown(msLeft) {
    let s = Math.max(0, Math.ceil(msLeft / 1000));
    if (s < 120) return `${s}s`;
    const h = Math.floor(s / 3600);
    s -= h * 3600;
    const m = Math.floor(s / 60);
    return h > 0 ? `${h}h ${m}m` : `${m}m ${s % 60}s`;
  }

  function stateText(k) {
    const left = k.remaining_ms !== undefined ? ` ${countdown(k.remaining_ms)}` : '';
    switch (k.state) {
      case 'cooling': return `cooling${left}`;
      case 'open': return `breaker open${left}`;
      case 'half_open': return 'breaker half-open';
      case 'quota': return `over quota, resets in${left}`;
      case 'drained': return k.in_flight > 0 ? `draining (${k.in_flight} left)` : 'drained';
      default: return k.state;
    }
  }

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  function cell(row, label, text, cls) {
    const td = el('td', text, cls);
    td.dataset.label = label;
    row.appendChild(td);
    return td;
  }

  function button(text, action, model, key) {
    const b = el('button', text);
    b.type = 'button';
    b.dataset.action = action;
    b.addEventListener('click', () => act(action, model, key));
    return b;
  }

  // ---- drawing ----

  function render(data) {
    $('load').textContent = pct(data.load_percent);
    $('queued').textContent = fmt(data.queued);
    mergeSeries(data.series);
    const n = series.t.length;
    $('rps').textContent = n ? fmt(series.requests[n - 1]) : '–';
    $('eps').textContent = n ? fmt(series.errors[n - 1]) : '–';
    drawCharts();
    renderModels(data.models);
    renderKeys(data.models);
    renderErrors(data.errors);
  }

  function mergeSeries(s) {
    for (let i = 0; i < s.t.length; i++) {
      if (s.t[i] <= lastSecond) continue;
      for (const name of Object.keys(series)) series[name].push(s[name][i]);
      lastSecond = s.t[i];
    }
    const drop = series.t.length - SERIES_SECONDS;
    if (drop > 0) for (const name of Object.keys(series)) series[name].splice(0, drop);
  }

  function renderModels(models) {
    const body = $('models').tBodies[0];
    body.replaceChildren();
    for (const m of models) {
      const row = el('tr');
      row.dataset.model = m.name;
      cell(row, 'model', m.name, 'name');
      cell(row, 'strategy', m.strategy);
      cell(row, 'load', pct(m.load_percent), 'load');
      cell(row, 'in flight', fmt(m.in_flight), 'in-flight');
      cell(row, 'queued', fmt(m.queued), 'queued');
      cell(row, 'req/s', fmt(m.requests_per_s), 'rps');
      cell(row, 'errors', `${(m.error_rate * 100).toFixed(1)} %`, 'error-rate');
      cell(row, 'p50', ms(m.p50_ms));
      cell(row, 'p95', ms(m.p95_ms));
      cell(row, 'TTFT p50', ms(m.ttft_p50_ms));
      cell(row, 'TTFT p95', ms(m.ttft_p95_ms));
      body.appendChild(row);
    }
  }

  function renderKeys(models) {
    const box = $('keys');
    const parts = [];
    for (const m of models) {
      const title = el('h2', `Keys of ${m.name}`);
      const card = el('div', undefined, 'card scroll');
      const table = el('table', undefined, 'grid keys');
      table.dataset.model = m.name;
      const head = el('tr');
      for (const h of ['key', 'state', 'in flight', 'starts/s', 'latency', 'today', 'actions']) head.appendChild(el('th', h));
      table.appendChild(el('thead')).appendChild(head);
      const body = table.appendChild(el('tbody'));
      for (const k of m.keys) {
        const row = el('tr');
        row.dataset.key = k.id;
        row.dataset.state = k.state;
        cell(row, 'key', k.id, 'name');
        cell(row, 'state', stateText(k), `state state-${k.state}`);
        cell(row, 'in flight', limit(k.in_flight, k.max_concurrency), 'in-flight');
        cell(row, 'starts/s', limit(k.starts_last_s, k.max_qps), 'starts');
        cell(row, 'latency', ms(k.latency_ms));
        const q = k.quota;
        const today = !q ? '–' : [q.rpd > 0 ? `${q.requests_today} / ${q.rpd} req` : '',
          q.tpd > 0 ? `${q.tokens_today} / ${q.tpd} tok` : ''].filter(Boolean).join(', ');
        cell(row, 'today', today, 'today');
        const actions = cell(row, 'actions', undefined, 'actions');
        if (k.state === 'quarantined') actions.appendChild(button('Lift quarantine', 'lift', m.name, k.id));
        if (k.state === 'drained') actions.appendChild(button('Undrain', 'undrain', m.name, k.id));
        else actions.appendChild(button('Drain', 'drain', m.name, k.id));
        body.appendChild(row);
      }
      card.appendChild(table);
      parts.push(title, card);
    }
    box.replaceChildren(...parts);
  }

  function renderErrors(errors) {
    const body = $('errors').tBodies[0];
    body.replaceChildren();
    $('no-errors').hidden = errors.length > 0;
    for (const e of errors) {
      const row = el('tr');
      cell(row, 'time', new Date(e.unix_ms).toLocaleTimeString());
      cell(row, 'model', e.model || '–');
      cell(row, 'key', e.key || '–');
      cell(row, 'class', `${e.class} (${e.status})`);
      cell(row, 'message', e.message, 'message');
      body.appendChild(row);
    }
  }

  const SVG = 'http://www.w3.org/2000/svg';

  // Lines over the last 15 minutes, by time; y from 0 to the largest value shown.
  function drawChart(id, lines) {
    const svg = $(id);
    const now = series.t.length ? series.t[series.t.length - 1] : 0;
    let max = 0;
    for (const l of lines) for (const v of l.values) if (v !== null && v > max) max = v;
    const top = max > 0 ? max * 1.1 : 1;
    const parts = [];
    for (const l of lines) {
      let d = '';
      let pen = false;
      for (let i = 0; i < series.t.length; i++) {
        const v = l.values[i];
        if (v === null) { pen = false; continue; }
        const x = 300 - ((now - series.t[i]) / SERIES_SECONDS) * 300;
        const y = 80 - (v / top) * 78;
        d += `${pen ? 'L' : 'M'}${x.toFixed(1)} ${y.toFixed(1)}`;
        pen = true;
      }
      const path = document.createElementNS(SVG, 'path');
      path.setAttribute('d', d);
      path.setAttribute('class', l.cls);
      parts.push(path);
    }
    svg.replaceChildren(...parts);
    return max;
  }

  function drawCharts() {
    const r = drawChart('chart-requests', [{ values: series.requests, cls: 'line requests' }]);
    $('max-requests').textContent = `max ${r}`;
    const e = drawChart('chart-errors', [{ values: series.errors, cls: 'line errors' }]);
    $('max-errors').textContent = `max ${e}`;
    const l = drawChart('chart-latency', [
      { values: series.p95_ms, cls: 'line p95' }, { values: series.p50_ms, cls: 'line p50' }]);
    $('max-latency').textContent = `max ${ms(l)}`;
  }

  // ---- usage, from the ledger ----

  // A UTC day, `back` days before today, as the ledger's queries take it: 2026-12-06.
  function utcDay(back) {
    const d = new Date();
    d.setUTCHours(0, 0, 0, 0);
    d.setUTCDate(d.getUTCDate() - back);
    return d.toISOString().slice(0, 10);
  }

  async function pollUsage() {
    usageTimer = null;
    if (signedOut || tab !== 'usage') return;
    try {
      await loadUsage();
      setStatus('usage', 'ok');
    } catch (e) {
      if (signedOut) return;
      $('usage-note').textContent = `usage: ${e.message}`;
    }
    if (!signedOut && tab === 'usage') usageTimer = setTimeout(pollUsage, USAGE_MS);
  }

  async function loadUsage() {
    const today = utcDay(0);
    const week = utcDay(6);
    const q = (from, by) => call('GET', `/admin/usage?from=${from}&group_by=${by}`);
    const groups = ['model', 'key', 'client'];
    const [days, ...tables] = await Promise.all([
      q(week, 'day'), ...groups.flatMap((by) => [q(today, by), q(week, by)])]);
    drawDays(days);
    groups.forEach((by, i) => renderUsage(by, tables[2 * i], tables[2 * i + 1]));
    const w = days.total;
    $('usage-note').textContent = `last 7 days: ${w.requests} requests, ${w.total_tokens} tokens, ${w.errors} errors`;
  }

  function renderUsage(by, today, week) {
    const byGroup = new Map(today.groups.map((g) => [g[by], g]));
    const body = $(`usage-${by}`).tBodies[0];
    body.replaceChildren();
    for (const g of week.groups) {
      const t = byGroup.get(g[by]) || { requests: 0, total_tokens: 0 };
      const row = el('tr');
      row.dataset.group = g[by];
      cell(row, by === 'key' ? 'model / key' : by, g[by] || '(no client key)', 'name');
      cell(row, 'requests today', String(t.requests), 'req-today');
      cell(row, 'tokens today', String(t.total_tokens), 'tok-today');
      cell(row, 'requests 7 days', String(g.requests), 'req-week');
      cell(row, 'tokens 7 days', String(g.total_tokens), 'tok-week');
      cell(row, 'errors 7 days', String(g.errors), 'err-week');
      body.appendChild(row);
    }
  }

  // One bar a day for the last 7 UTC days, its requests above it, its date and tokens below.
  function drawDays(days) {
    const byDay = new Map(days.groups.map((g) => [g.day.slice(0, 10), g]));
    const list = [6, 5, 4, 3, 2, 1, 0].map((b) => {
      const day = utcDay(b);
      const g = byDay.get(day) || { requests: 0, total_tokens: 0 };
      return { day, requests: g.requests, tokens: g.total_tokens };
    });
    const max = Math.max(1, ...list.map((d) => d.requests));
    const svg = $('usage-days');
    const parts = [];
    const text = (x, y, value, cls) => {
      const t = document.createElementNS(SVG, 'text');
      t.setAttribute('x', x);
      t.setAttribute('y', y);
      t.setAttribute('class', cls);
      t.textContent = value;
      return t;
    };
    list.forEach((d, i) => {
      const h = (d.requests / max) * 80;
      const x = 10 + i * 48;
      const bar = document.createElementNS(SVG, 'rect');
      bar.setAttribute('x', x);
      bar.setAttribute('y', (95 - h).toFixed(1));
      bar.setAttribute('width', 36);
      bar.setAttribute('height', h.toFixed(1));
      bar.setAttribute('class', 'day-bar');
      bar.dataset.day = d.day;
      bar.dataset.requests = d.requests;
      parts.push(bar, text(x + 18, 92 - h, String(d.requests), 'bar-value'),
        text(x + 18, 110, d.day.slice(5), 'bar-day'), text(x + 18, 124, `${d.tokens} tok`, 'bar-tokens'));
    });
    svg.replaceChildren(...parts);
  }

  // ---- start ----

  document.addEventListener('DOMContentLoaded', () => {
    $('logout').addEventListener('click', signOut);
    $('reload').addEventListener('click', reloadConfig);
    $('tab-live').addEventListener('click', () => show('live'));
    $('tab-usage').addEventListener('click', () => show('usage'));
    show('live');
  });
})();
