// The live dashboard (GET /dashboard, docs/dashboard.md) in Debian's headless Chromium, driven
// by puppeteer-core: sign in through the login form (a session cookie, HttpOnly and
// SameSite=Strict), traffic through mockllm, models and keys with live figures, a key rate
// limited upstream shown "cooling" with a countdown within 2 s, a quarantined key lifted from
// the page, a key drained and undrained, the usage view's figures from the ledger matching the
// traffic, sign-out, no console errors; without the token the page and the data endpoint
// answer 401. Saves screenshots at desktop and phone width into $BC_BUILD_DIR/screenshots/, or
// into docs/images/ (the README's image) with BC_UPDATE_SCREENSHOTS=1, so a test run leaves the
// tracked image alone. (The sign-in over plain HTTP: dashboard_session.test.mjs; the Grafana
// dashboard's test is dashboard.test.mjs.)
//
// Chromium: $BC_CHROMIUM or /usr/bin/chromium; the browser runs with its own temporary profile
// and is closed, then killed by PID, whatever the test's outcome.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import puppeteer from 'puppeteer-core';
import {
  gatewayConfig, mockStats, openaiModel, postJson, repoRoot, request, startGateway, startMockllm,
  stopAll, userMessage, waitFor,
} from './harness.mjs';

const CHROMIUM = process.env.BC_CHROMIUM || '/usr/bin/chromium';
const TOKEN = 'dashboard-admin-token-0123456789';
const IMAGES = process.env.BC_UPDATE_SCREENSHOTS === '1'
  ? path.join(repoRoot, 'docs', 'images')
  : path.resolve(repoRoot, process.env.BC_BUILD_DIR || 'build', 'screenshots');

const CLIENT_KEY = 'ck-browser-0123456789abcdef';

// What the test sent, for the usage view: chat calls in all, and tokens by model.
const sent = { calls: 0, tokens: {} };

async function chat(gw, model) {
  sent.calls += 1;
  const r = await postJson(`${gw.url}/v1/chat/completions`, { model, messages: userMessage('hello') },
    { headers: { Authorization: `Bearer ${CLIENT_KEY}` } });
  if (r.status === 200) sent.tokens[model] = (sent.tokens[model] ?? 0) + r.json.usage.total_tokens;
  return r;
}

const utcToday = () => new Date().toISOString().slice(0, 10);

describe('live dashboard in a browser', { timeout: 120000 }, () => {
  let mock;
  let gw;
  let browser;
  let browserPid;
  let profile;
  let page;
  let ledgerDir;
  const consoleErrors = [];

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM} (scripts/setup.sh installs it)`);
    mock = await startMockllm();
    ledgerDir = mkdtempSync(path.join(tmpdir(), 'bc-dash-usage-'));
    const pool = [];
    for (let i = 0; i < 6; i++) pool.push({ key: `pool-${i};latency=60`, name: `pool-${i}` });
    gw = await startGateway({
      ...gatewayConfig({
        chat: openaiModel(mock, pool, { max_concurrency: 4, max_qps: 20 }),
        // `hot` is tried first (weight 1000) and answers 429 with Retry-After: 30.
        cooler: openaiModel(mock, [
          { key: 'hot;status=429;retry_after=30', name: 'hot', weight: 1000 },
          { key: 'calm', name: 'calm', weight: 1 },
        ], { max_retries: 1 }),
        // `revoked` is tried first and refused (401): quarantined.
        broken: openaiModel(mock, [
          { key: 'revoked;status=401', name: 'revoked', weight: 1000 },
          { key: 'spare', name: 'spare', weight: 1 },
        ], { max_retries: 1 }),
        // One slow request at a time: the others wait in the admission queue.
        narrow: openaiModel(mock, [{ key: 'slow;latency=1500', name: 'slow' }], { max_concurrency: 1 }),
        // Every request fails upstream: the latest errors.
        failing: openaiModel(mock, [{ key: 'down;status=500', name: 'down' }],
          { max_retries: 0, breaker: { failures: 0 } }),
      }),
      admin: { dashboard: true, token: TOKEN },
      auth: { client_keys: [{ name: 'browser', key: CLIENT_KEY }] },
      usage: { path: path.join(ledgerDir, 'usage.db'), flush_ms: 50 },
    });
    mkdirSync(IMAGES, { recursive: true });
    profile = mkdtempSync(path.join(tmpdir(), 'bc-chromium-'));
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      // Tests may run as root, where Chromium's sandbox cannot start.
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
        `--user-data-dir=${profile}`],
      timeout: 15000,
    });
    browserPid = browser.process()?.pid;
    page = await browser.newPage();
    page.setDefaultTimeout(5000);
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    await page.setViewport({ width: 1280, height: 900 });
  });

  after(async () => {
    try { await browser?.close(); } catch { /* killed below */ }
    if (browserPid) {
      try { process.kill(browserPid, 'SIGKILL'); } catch { /* already gone */ }
    }
    if (profile) rmSync(profile, { recursive: true, force: true });
    await stopAll();
    if (ledgerDir) rmSync(ledgerDir, { recursive: true, force: true });
  });

  test('without the token the page, its files, the data and the actions answer 401; the page is strict', async () => {
    const data = await request(`${gw.url}/admin/dashboard`);
    assert.equal(data.status, 401, data.text);
    const wrong = await request(`${gw.url}/admin/dashboard`, { headers: { Authorization: 'Bearer nope' } });
    assert.equal(wrong.status, 401);
    const drain = await postJson(`${gw.url}/admin/keys/drain`, { model: 'chat', key: 'pool-0' });
    assert.equal(drain.status, 401);
    assert.equal((await request(`${gw.url}/admin/usage`)).status, 401);
    for (const p of ['/dashboard/app.js', '/dashboard/app.css']) {
      assert.equal((await request(`${gw.url}${p}`)).status, 401, p);
    }
    // The page answers the login form, with a CSP that allows no inline script and nothing from
    // another origin; so does the page itself once signed in.
    const login = await request(`${gw.url}/dashboard`);
    assert.equal(login.status, 401);
    const shell = await request(`${gw.url}/dashboard`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    assert.equal(shell.status, 200);
    for (const r of [login, shell]) {
      const csp = r.headers.get('content-security-policy');
      assert.match(csp, /default-src 'self'/);
      assert.match(csp, /script-src 'self';/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
      assert.doesNotMatch(r.text, /<script>|<script [^>]*>[^<]/, 'no inline script');
      assert.doesNotMatch(r.text, /https?:\/\//, 'nothing from another origin');
    }
    const js = await request(`${gw.url}/dashboard/app.js`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type'), /^text\/javascript/);
  });

  test('signs in, lists models and keys with live figures, and shows a cooling key within 2 s', async () => {
    const login = await page.goto(`${gw.url}/dashboard`, { waitUntil: 'load' });
    assert.equal(login.status(), 401);
    await page.type('#token', TOKEN);
    await Promise.all([
      page.waitForNavigation({ waitUntil: 'load' }),
      page.click('#login-form button[type=submit]'),
    ]);
    await page.waitForSelector('#board:not([hidden])');
    // The token is nowhere in the page: not in the URL, not in storage, and the session cookie
    // is HttpOnly (no script reads it) and SameSite=Strict (no other site sends it).
    assert.equal(new URL(page.url()).pathname, '/dashboard');
    assert.equal(new URL(page.url()).search, '');
    assert.equal(await page.evaluate(() => sessionStorage.length + localStorage.length), 0);
    assert.equal(await page.evaluate(() => document.cookie), '');
    const cookies = await page.cookies();
    const session = cookies.find((c) => c.name === 'bc_admin_session');
    assert.ok(session, JSON.stringify(cookies));
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
    assert.notEqual(session.value, TOKEN);
    // The login page's own 401 is the one error the console may have shown so far.
    consoleErrors.splice(0, consoleErrors.length,
      ...consoleErrors.filter((e) => !/status of 401/.test(e)));

    // Traffic: 40 requests, 4 at a time, on the 6-key model.
    const traffic = (async () => {
      for (let i = 0; i < 10; i++) {
        const answers = await Promise.all([0, 1, 2, 3].map(() => chat(gw, 'chat')));
        for (const r of answers) assert.equal(r.status, 200, r.text);
      }
    })();
    await page.waitForFunction(() => {
      const cell = document.querySelector('#models tr[data-model="chat"] td.rps');
      return cell && Number(cell.textContent) > 0;
    }, { timeout: 8000 });
    await traffic;
    const models = await page.$$eval('#models tbody tr', (rows) => rows.map((r) => r.dataset.model));
    assert.deepEqual(models.sort(), ['broken', 'chat', 'cooler', 'failing', 'narrow']);
    const keys = await page.$$eval('table.keys[data-model="chat"] tbody tr', (rows) => rows.map((r) => r.dataset.key));
    assert.deepEqual(keys, ['pool-0', 'pool-1', 'pool-2', 'pool-3', 'pool-4', 'pool-5']);
    // Limits shown beside the figures: in flight of 4, starts of 20 a second.
    const inFlight = await page.$eval('table.keys[data-model="chat"] tr[data-key="pool-0"] td.in-flight', (td) => td.textContent);
    assert.match(inFlight, /^\d+ \/ 4$/);
    const chartDrawn = await page.$eval('#chart-requests path', (p) => p.getAttribute('d').length > 0);
    assert.ok(chartDrawn, 'the requests chart has a line');

    // A 429 with Retry-After: 30 on `hot`; the request itself is served by `calm`.
    const r = await chat(gw, 'cooler');
    assert.equal(r.status, 200, r.text);
    const cooledAt = Date.now();
    await page.waitForFunction(() => {
      const td = document.querySelector('table.keys[data-model="cooler"] tr[data-key="hot"] td.state');
      return td && /^cooling \d+s$/.test(td.textContent);
    }, { timeout: 2000 });
    assert.ok(Date.now() - cooledAt <= 2000);
    const first = await page.$eval('table.keys[data-model="cooler"] tr[data-key="hot"] td.state', (td) => td.textContent);
    const seconds = Number(first.match(/\d+/)[0]);
    assert.ok(seconds > 20 && seconds <= 30, first);
    // It counts down.
    await page.waitForFunction((s) => {
      const td = document.querySelector('table.keys[data-model="cooler"] tr[data-key="hot"] td.state');
      return td && Number((td.textContent.match(/\d+/) || [])[0]) < s;
    }, { timeout: 3000 }, seconds);

    await page.screenshot({ path: path.join(IMAGES, 'dashboard-desktop.png'), fullPage: true });
  });

  test('a quarantined key is lifted from the page, and a key drained and undrained', async () => {
    const r = await chat(gw, 'broken');
    assert.equal(r.status, 200, r.text);
    const lift = 'table.keys[data-model="broken"] tr[data-key="revoked"] button[data-action="lift"]';
    await page.waitForSelector(lift, { timeout: 3000 });
    const state = await page.$eval('table.keys[data-model="broken"] tr[data-key="revoked"]', (tr) => tr.dataset.state);
    assert.equal(state, 'quarantined');
    await page.click(lift);
    await page.waitForFunction(() =>
      document.querySelector('table.keys[data-model="broken"] tr[data-key="revoked"]')?.dataset.state === 'ok',
    { timeout: 3000 });
    const data = await request(`${gw.url}/admin/dashboard`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    assert.equal(data.status, 200);
    const broken = data.json.models.find((m) => m.name === 'broken');
    assert.equal(broken.keys.find((k) => k.id === 'revoked').state, 'ok');
    // Never a raw key anywhere in the data.
    assert.doesNotMatch(data.text, /retry_after=30|status=401|latency=60/);

    const drain = 'table.keys[data-model="chat"] tr[data-key="pool-2"] button[data-action="drain"]';
    await page.click(drain);
    await page.waitForFunction(() =>
      document.querySelector('table.keys[data-model="chat"] tr[data-key="pool-2"]')?.dataset.state === 'drained',
    { timeout: 3000 });
    // No new request goes to a drained key.
    const before = await mockStats(mock);
    for (let i = 0; i < 12; i++) assert.equal((await chat(gw, 'chat')).status, 200);
    const afterStats = await mockStats(mock);
    assert.equal(afterStats.keys['pool-2']?.requests ?? 0, before.keys['pool-2']?.requests ?? 0);
    await page.click('table.keys[data-model="chat"] tr[data-key="pool-2"] button[data-action="undrain"]');
    await page.waitForFunction(() =>
      document.querySelector('table.keys[data-model="chat"] tr[data-key="pool-2"]')?.dataset.state === 'ok',
    { timeout: 3000 });
  });

  test('a failed request is listed among the latest errors', async () => {
    const r = await chat(gw, 'failing');
    assert.ok(r.status >= 500, `${r.status} ${r.text}`);
    await page.waitForFunction(() => [...document.querySelectorAll('#errors tbody tr')]
      .some((tr) => tr.querySelector('td[data-label="model"]')?.textContent === 'failing'),
    { timeout: 3000 });
    const row = await page.$$eval('#errors tbody tr', (rows) => rows.map((tr) => tr.textContent)
      .find((t) => t.includes('failing')));
    assert.match(row, /down/);
    assert.doesNotMatch(row, /status=500/, 'the key id, never the key');
  });

  test('requests waiting for a key of a model are counted as its queued', async () => {
    const calls = [0, 1, 2].map(() => chat(gw, 'narrow'));
    const body = await waitFor(async () => {
      const r = await request(`${gw.url}/admin/dashboard`, { headers: { Authorization: `Bearer ${TOKEN}` } });
      return r.status === 200 && r.json.queued === 2 ? r.json : null;
    }, { timeoutMs: 1400, what: 'two requests waiting' });
    for (const r of await Promise.all(calls)) assert.equal(r.status, 200, r.text);
    assert.equal(body.models.find((m) => m.name === 'narrow').queued, 2);
    assert.equal(body.models.find((m) => m.name === 'chat').queued, 0);
    assert.equal(body.queued_any_model, 0);
    await page.waitForFunction(() =>
      document.querySelector('#models tr[data-model="narrow"] td.queued')?.textContent === '0');
  });

  test('the usage view shows what the ledger counted of the traffic', async () => {
    const day = utcToday();
    const auth = { Authorization: `Bearer ${TOKEN}` };
    // The ledger writes behind the request path: wait until it holds every call sent.
    await waitFor(async () => {
      const r = await request(`${gw.url}/admin/usage?from=7d&group_by=client`, { headers: auth });
      return r.status === 200 && r.json.total.requests === sent.calls;
    }, { timeoutMs: 3000, what: `the ledger holding ${sent.calls} calls` });
    const stats = await mockStats(mock);
    await page.click('#tab-usage');
    await page.waitForSelector('#usage:not([hidden])');
    assert.equal(await page.$eval('#board', (b) => b.hidden), true);
    const row = (table, group) => page.waitForFunction((t, g) => {
      const tr = document.querySelector(`#usage-${t} tr[data-group="${g}"]`);
      return tr && Object.fromEntries([...tr.querySelectorAll('td')].map((td) => [td.className, td.textContent]));
    }, {}, table, group).then((h) => h.jsonValue());

    // By client: every chat call the test made, served or failed.
    const client = await row('client', 'browser');
    assert.equal(Number(client['req-week']), sent.calls);
    // By model: the requests and tokens the test saw answered.
    const chatModel = await row('model', 'chat');
    const poolRequests = Object.entries(stats.keys).filter(([k]) => k.startsWith('pool-'))
      .reduce((n, [, v]) => n + v.requests, 0);
    assert.equal(Number(chatModel['req-week']), poolRequests);
    assert.equal(Number(chatModel['tok-week']), sent.tokens.chat);
    assert.ok(Number(chatModel['tok-week']) > 0);
    const failing = await row('model', 'failing');
    assert.ok(Number(failing['err-week']) >= 1, JSON.stringify(failing));
    // By key: what mockllm saw of each key, by its public id (never the key).
    for (const k of ['pool-0', 'pool-1', 'pool-5']) {
      const r = await row('key', `chat/${k}`);
      assert.equal(Number(r['req-week']), stats.keys[k].requests, k);
    }
    const keyIds = await page.$$eval('#usage-key tbody tr', (rows) => rows.map((r) => r.dataset.group));
    assert.ok(keyIds.every((id) => !/;|status=|latency=/.test(id)), keyIds.join(', '));
    // Today's columns are the week's, unless the test ran across midnight (UTC).
    if (utcToday() === day) {
      assert.equal(Number(client['req-today']), sent.calls);
      assert.equal(Number(chatModel['tok-today']), sent.tokens.chat);
    }
    // One bar a day for 7 days; today's holds the calls.
    const bars = await page.$$eval('#usage-days rect.day-bar', (rs) => rs.map((r) => [r.dataset.day, Number(r.dataset.requests)]));
    assert.equal(bars.length, 7);
    assert.equal(bars.reduce((n, [, v]) => n + v, 0), sent.calls);
    assert.equal(bars[6][0], utcToday());
    await page.screenshot({ path: path.join(IMAGES, 'dashboard-usage.png'), fullPage: true });
    await page.click('#tab-live');
    await page.waitForSelector('#board:not([hidden])');
  });

  test('readable at phone width, with no console errors', async () => {
    await page.setViewport({ width: 390, height: 844, isMobile: true, deviceScaleFactor: 2 });
    await page.waitForFunction(() => document.querySelector('#models tbody tr') !== null);
    // No table wider than the screen: the rows become cards.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `the page is ${overflow}px wider than the phone`);
    await page.screenshot({ path: path.join(IMAGES, 'dashboard-phone.png'), fullPage: false });
    assert.deepEqual(consoleErrors, []);
  });

  test('signing out ends the session: the page asks for the token again', async () => {
    await page.setViewport({ width: 1280, height: 900 });
    const cookie = (await page.cookies()).find((c) => c.name === 'bc_admin_session');
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('#logout')]);
    await page.waitForSelector('#login-form');
    assert.equal((await page.cookies()).find((c) => c.name === 'bc_admin_session'), undefined);
    const old = await request(`${gw.url}/admin/dashboard`, { headers: { cookie: `bc_admin_session=${cookie.value}` } });
    assert.equal(old.status, 401);
    assert.match(gw.output(), /admin sign-out: session #\d+ closed from 127\.0\.0\.1:\d+/);
  });
});

// No browser: the switch, and the key actions as an API.
describe('dashboard off, key actions on', { timeout: 30000 }, () => {
  let mock;
  let gw;
  const auth = { Authorization: `Bearer ${TOKEN}` };
  before(async () => {
    mock = await startMockllm();
    gw = await startGateway({
      ...gatewayConfig({ m: openaiModel(mock, [{ key: 'a', name: 'a' }, { key: 'b', name: 'b' }]) }),
      admin: { token: TOKEN },
    });
  });
  after(stopAll);

  test('the page and its data answer 404 while admin.dashboard is off', async () => {
    for (const p of ['/dashboard', '/dashboard/app.js', '/admin/dashboard']) {
      const r = await request(`${gw.url}${p}`, { headers: auth });
      assert.equal(r.status, 404, `${p}: ${r.text}`);
      assert.equal(r.json.error.code, 'dashboard_off');
    }
  });

  test('drain, undrain and lift by model and key id, each logged with who', async () => {
    const drain = await postJson(`${gw.url}/admin/keys/drain`, { model: 'm', key: 'a' }, { headers: auth });
    assert.equal(drain.status, 200, drain.text);
    assert.deepEqual(drain.json, { action: 'drain', model: 'm', key: 'a', changed: true, state: 'drained' });
    const before = await mockStats(mock);
    for (let i = 0; i < 10; i++) assert.equal((await chat(gw, 'm')).status, 200);
    const afterStats = await mockStats(mock);
    assert.equal(afterStats.keys.a?.requests ?? 0, before.keys.a?.requests ?? 0);
    assert.equal(afterStats.keys.b.requests - (before.keys.b?.requests ?? 0), 10);
    const again = await postJson(`${gw.url}/admin/keys/drain`, { model: 'm', key: 'a' }, { headers: auth });
    assert.equal(again.json.changed, false);
    const undrain = await postJson(`${gw.url}/admin/keys/undrain`, { model: 'm', key: 'a' }, { headers: auth });
    assert.equal(undrain.json.state, 'ok');
    const lift = await postJson(`${gw.url}/admin/keys/lift`, { model: 'm', key: 'b' }, { headers: auth });
    assert.deepEqual(lift.json, { action: 'lift', model: 'm', key: 'b', changed: false, state: 'ok' });
    assert.match(gw.output(), /admin action: drain key 'a' of model 'm' by the admin token from 127\.0\.0\.1:\d+/);
    assert.match(gw.output(), /admin action: undrain key 'a' of model 'm'/);
  });

  test('bad input gets a clear error', async () => {
    const unknown = await postJson(`${gw.url}/admin/keys/drain`, { model: 'm', key: 'zz' }, { headers: auth });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.error.code, 'key_not_found');
    const noModel = await postJson(`${gw.url}/admin/keys/drain`, { model: 'nope', key: 'a' }, { headers: auth });
    assert.equal(noModel.status, 404);
    const bad = await postJson(`${gw.url}/admin/keys/lift`, '{"model": 1}', { headers: auth });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.code, 'invalid_body');
  });
});
