// The live dashboard's sign-in over HTTP (docs/dashboard.md, admin_access.h): without the admin
// token or a session every page, file and data endpoint answers 401; POST /admin/login (JSON or
// the login form) sets an HttpOnly, SameSite=Strict session cookie; a change made with that
// cookie needs the X-BalancedCall-Admin header and the page's own origin; sign-out and a new
// admin token end the session; each sign-in, refusal and sign-out is logged once. The page in a
// browser: dashboard_browser.test.mjs. (dashboard.test.mjs is the Grafana dashboard's test.)
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import {
  gatewayConfig, openaiModel, postJson, request, startGateway, startMockllm, stopAll, toYaml,
  writeConfig,
} from './harness.mjs';

const TOKEN = 'session-admin-token-0123456789';
const NEW_TOKEN = 'session-admin-token-after-reload';
const ADMIN = { 'X-BalancedCall-Admin': '1' };

// The session cookie a sign-in answer sets: its value and its attributes.
function sessionCookie(res) {
  const set = res.headers.get('set-cookie');
  assert.ok(set, 'a Set-Cookie header');
  const [pair, ...attrs] = set.split(';').map((s) => s.trim());
  const [name, value] = pair.split('=');
  assert.equal(name, 'bc_admin_session');
  return { value, attrs, header: `bc_admin_session=${value}` };
}

async function signIn(gw) {
  const r = await postJson(`${gw.url}/admin/login`, { token: TOKEN });
  assert.equal(r.status, 200, r.text);
  return sessionCookie(r);
}

const count = (text, re) => (text.match(new RegExp(re, 'g')) || []).length;

describe('dashboard sign-in', { timeout: 30000 }, () => {
  let gw;
  let file;
  let config;

  before(async () => {
    const mock = await startMockllm();
    config = {
      ...gatewayConfig({ m: openaiModel(mock, [{ key: 'a', name: 'a' }, { key: 'b', name: 'b' }]) }),
      admin: { dashboard: true, token: TOKEN },
    };
    file = writeConfig(config);
    gw = await startGateway(file);
  });
  after(stopAll);

  test('without the token or a session, the page, its files and the data answer 401', async () => {
    const page = await request(`${gw.url}/dashboard`);
    assert.equal(page.status, 401);
    assert.match(page.headers.get('content-type'), /^text\/html/);
    // The login form, CSP-strict: no script at all, posted to this origin only.
    assert.match(page.text, /<form id="login-form" method="post" action="\/admin\/login"/);
    assert.doesNotMatch(page.text, /<script/);
    assert.doesNotMatch(page.text, /The token was refused/);
    assert.match(page.headers.get('content-security-policy'), /script-src 'self';.*form-action 'self'/);
    for (const p of ['/dashboard/', '/dashboard/app.js', '/dashboard/app.css', '/admin/dashboard',
      '/admin/usage', '/admin/config']) {
      const r = await request(`${gw.url}${p}`);
      assert.equal(r.status, 401, `${p}: ${r.text}`);
      assert.doesNotMatch(r.text, /app\.js|chart-requests/, `${p} gives nothing of the page away`);
    }
    // The login form's style is the one public file.
    const css = await request(`${gw.url}/dashboard/login.css`);
    assert.equal(css.status, 200);
    // A cookie no session has is no better.
    const forged = { cookie: `bc_admin_session=${'0'.repeat(64)}` };
    assert.equal((await request(`${gw.url}/admin/dashboard`, { headers: forged })).status, 401);
    assert.equal((await request(`${gw.url}/dashboard`, { headers: forged })).status, 401);
  });

  test('a wrong token is refused and logged once', async () => {
    const before = count(gw.output(), 'admin sign-in refused');
    const json = await postJson(`${gw.url}/admin/login`, { token: 'not-the-admin-token-at-all' });
    assert.equal(json.status, 401);
    assert.equal(json.json.error.code, 'invalid_admin_token');
    assert.equal(json.headers.get('set-cookie'), null);
    const form = await request(`${gw.url}/admin/login`, {
      method: 'POST', body: 'token=nope', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(form.status, 401);
    assert.match(form.text, /The token was refused/);
    assert.equal(form.headers.get('set-cookie'), null);
    const none = await postJson(`${gw.url}/admin/login`, { nothing: true });
    assert.equal(none.status, 401);
    // Refused from its head: a sign-in's body is a token's worth, not more (and not logged).
    const big = await postJson(`${gw.url}/admin/login`, { token: 'x'.repeat(5000) });
    assert.equal(big.status, 413, big.text);
    assert.equal(big.json.error.code, 'login_too_large');
    const out = gw.output();
    assert.equal(count(out, 'admin sign-in refused') - before, 3);
    assert.match(out, /admin sign-in refused from 127\.0\.0\.1:\d+: wrong token/);
    assert.doesNotMatch(out, /not-the-admin-token-at-all/, 'the token tried is never logged');
  });

  test('signing in sets an HttpOnly, SameSite=Strict session cookie that opens everything', async () => {
    const r = await postJson(`${gw.url}/admin/login`, { token: TOKEN });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.signed_in, true);
    const c = sessionCookie(r);
    assert.match(c.value, /^[0-9a-f]{64}$/);
    assert.ok(c.attrs.includes('HttpOnly'), c.attrs.join('; '));
    assert.ok(c.attrs.includes('SameSite=Strict'), c.attrs.join('; '));
    assert.ok(c.attrs.includes('Path=/'), c.attrs.join('; '));
    assert.ok(c.attrs.includes('Max-Age=43200'), c.attrs.join('; '));
    assert.doesNotMatch(r.headers.get('set-cookie'), new RegExp(TOKEN), 'the cookie is no token');
    assert.match(gw.output(), new RegExp(`admin sign-in: session #${r.json.session} opened from 127\\.0\\.0\\.1:\\d+`));

    const headers = { cookie: c.header };
    const page = await request(`${gw.url}/dashboard`, { headers });
    assert.equal(page.status, 200);
    assert.match(page.text, /<script src="\/dashboard\/app\.js" defer><\/script>/);
    for (const p of ['/dashboard/app.js', '/dashboard/app.css', '/admin/dashboard', '/admin/config']) {
      const res = await request(`${gw.url}${p}`, { headers });
      assert.equal(res.status, 200, `${p}: ${res.text}`);
    }
    // The usage ledger is off here: /admin/usage is reached, and says so.
    const usage = await request(`${gw.url}/admin/usage`, { headers });
    assert.equal(usage.status, 404);
    assert.equal(usage.json.error.code, 'usage_off');
    // The bearer token still works alone.
    const bearer = await request(`${gw.url}/dashboard`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    assert.equal(bearer.status, 200);
  });

  test('the login form answers 303 to the page', async () => {
    const res = await fetch(`${gw.url}/admin/login`, {
      method: 'POST', redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: gw.url },
      body: `token=${encodeURIComponent(TOKEN)}`,
    });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/dashboard');
    const c = sessionCookie(res);
    assert.equal((await request(`${gw.url}/dashboard`, { headers: { cookie: c.header } })).status, 200);
    // From another origin: refused (a login CSRF).
    const cross = await request(`${gw.url}/admin/login`, {
      method: 'POST', body: `token=${encodeURIComponent(TOKEN)}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://evil.example' },
    });
    assert.equal(cross.status, 403);
    assert.equal(cross.headers.get('set-cookie'), null);
  });

  test('a change made with the cookie needs the admin header and this origin', async () => {
    const c = await signIn(gw);
    const body = { model: 'm', key: 'a' };
    const bare = await postJson(`${gw.url}/admin/keys/drain`, body, { headers: { cookie: c.header } });
    assert.equal(bare.status, 403, bare.text);
    assert.equal(bare.json.error.code, 'csrf_check_failed');
    const foreign = await postJson(`${gw.url}/admin/keys/drain`, body,
      { headers: { cookie: c.header, ...ADMIN, origin: 'http://evil.example' } });
    assert.equal(foreign.status, 403);
    const reload = await request(`${gw.url}/admin/reload`, { method: 'POST', headers: { cookie: c.header } });
    assert.equal(reload.status, 403);
    // Nothing changed so far.
    const state = await request(`${gw.url}/admin/dashboard`, { headers: { cookie: c.header } });
    assert.equal(state.json.models[0].keys.find((k) => k.id === 'a').state, 'ok');

    const drain = await postJson(`${gw.url}/admin/keys/drain`, body,
      { headers: { cookie: c.header, ...ADMIN, origin: gw.url } });
    assert.equal(drain.status, 200, drain.text);
    assert.equal(drain.json.state, 'drained');
    assert.match(gw.output(), /admin action: drain key 'a' of model 'm' by admin session #\d+ from 127\.0\.0\.1:\d+/);
    const undrain = await postJson(`${gw.url}/admin/keys/undrain`, body, { headers: { cookie: c.header, ...ADMIN } });
    assert.equal(undrain.json.state, 'ok');
  });

  test('signing out ends the session and clears the cookie', async () => {
    const c = await signIn(gw);
    const headers = { cookie: c.header, ...ADMIN };
    const out = await request(`${gw.url}/admin/logout`, { method: 'POST', headers });
    assert.equal(out.status, 200, out.text);
    assert.equal(out.json.signed_out, true);
    const cleared = sessionCookie(out);
    assert.equal(cleared.value, '');
    assert.ok(cleared.attrs.includes('Max-Age=0'));
    assert.match(gw.output(), /admin sign-out: session #\d+ closed from 127\.0\.0\.1:\d+/);
    assert.equal((await request(`${gw.url}/admin/dashboard`, { headers })).status, 401);
    assert.equal((await request(`${gw.url}/dashboard`, { headers })).status, 401);
    assert.equal((await request(`${gw.url}/admin/logout`, { method: 'POST', headers })).status, 401);
  });

  test('a reload with a new admin token ends every session', async () => {
    const c = await signIn(gw);
    const headers = { cookie: c.header, ...ADMIN };
    assert.equal((await request(`${gw.url}/admin/dashboard`, { headers })).status, 200);
    writeFileSync(file, toYaml({ ...config, admin: { dashboard: true, token: NEW_TOKEN } }));
    const reload = await request(`${gw.url}/admin/reload`, { method: 'POST', headers });
    assert.equal(reload.status, 200, reload.text);
    assert.match(gw.output(), /reload by admin session #\d+ from 127\.0\.0\.1:\d+: reloaded/);
    assert.equal((await request(`${gw.url}/admin/dashboard`, { headers })).status, 401);
    const old = await postJson(`${gw.url}/admin/login`, { token: TOKEN });
    assert.equal(old.status, 401);
    const fresh = await postJson(`${gw.url}/admin/login`, { token: NEW_TOKEN });
    assert.equal(fresh.status, 200);
  });
});

describe('dashboard off', { timeout: 20000 }, () => {
  after(stopAll);
  test('no sign-in while admin.dashboard is off; the token still opens /admin', async () => {
    const mock = await startMockllm();
    const gw = await startGateway({
      ...gatewayConfig({ m: openaiModel(mock, [{ key: 'a', name: 'a' }]) }),
      admin: { token: TOKEN },
    });
    const r = await postJson(`${gw.url}/admin/login`, { token: TOKEN });
    assert.equal(r.status, 404);
    assert.equal(r.json.error.code, 'dashboard_off');
    assert.equal(r.headers.get('set-cookie'), null);
    const cfg = await request(`${gw.url}/admin/config`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    assert.equal(cfg.status, 200);
  });
});
