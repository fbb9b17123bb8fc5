// The BalancedCall dashboard: polls GET /admin/dashboard once a second with the admin token
// (kept in this tab's sessionStorage, sent as a bearer header, never in a URL) and draws it.
// Plain DOM and SVG, no library, nothing from another origin. Every figure is set with
// textContent: an upstream's error message is text, never markup.
'use strict';

(() => {
  const TOKEN_KEY = 'balancedcall.admin_token';
  const POLL_MS = 1000;
  const SERIES_SECONDS = 900;
  const $ = (id) => document.getElementById(id);

  let series = { t: [], requests: [], errors: [], p50_ms: [], p95_ms: [] };
  let lastSecond = 0;
  let timer = null;

  const token = () => sessionStorage.getItem(TOKEN_KEY);

  // ---- talking to the gateway ----

  async function call(method, path, body) {
    const headers = { Authorization: `Bearer ${token()}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(path, {
      method, headers, cache: 'no-store', credentials: 'omit',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await res.json().catch(() => ({}));
    if (res.status === 401 || res.status === 403) {
      signOut(data.error?.message || 'the admin token was refused');
      throw new Error('signed out');
    }
    if (!res.ok) throw new Error(data.error?.message || `HTTP ${res.status}`);
    return data;
  }

  async function poll() {
    timer = null;
    if (!token()) return;
    try {
      const data = await call('GET', `/admin/dashboard?since=${lastSecond}`);
      render(data);
      setStatus('live', 'ok');
    } catch (e) {
      if (!token()) return;
      setStatus(`no answer: ${e.message}`, 'bad');
    }
    if (token()) timer = setTimeout(poll, POLL_MS);
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

  // ---- signing in and out ----

  function setStatus(text, kind) {
    const s = $('status');
    s.textContent = text;
    s.className = `status ${kind || ''}`;
  }

  function signIn(value) {
    sessionStorage.setItem(TOKEN_KEY, value);
    series = { t: [], requests: [], errors: [], p50_ms: [], p95_ms: [] };
    lastSecond = 0;
    $('login').hidden = true;
    $('board').hidden = false;
    $('logout').hidden = false;
    $('reload').hidden = false;
    $('login-error').textContent = '';
    setStatus('connecting', '');
    if (timer === null) poll();
  }

  function signOut(why) {
    sessionStorage.removeItem(TOKEN_KEY);
    if (timer !== null) clearTimeout(timer);
    timer = null;
    $('login').hidden = false;
    $('board').hidden = true;
    $('logout').hidden = true;
    $('reload').hidden = true;
    $('login-error').textContent = why || '';
    setStatus('signed out', '');
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

  // ---- start ----

  document.addEventListener('DOMContentLoaded', () => {
    $('login-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const value = $('token').value.trim();
      $('token').value = '';
      if (value) signIn(value);
    });
    $('logout').addEventListener('click', () => signOut(''));
    $('reload').addEventListener('click', reloadConfig);
    if (token()) signIn(token());
  });
})();
