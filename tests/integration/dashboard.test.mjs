// The Grafana dashboard in deploy/grafana/balancedcall.json: valid JSON importable with a
// ${DS_PROMETHEUS} datasource input, and every metric it queries (and every label it groups
// by) is one a live gateway really exposes on /metrics.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  gatewayConfig, mockModel, postJson, repoRoot, request, startGateway, stopAll, userMessage,
} from './harness.mjs';

const dashboardPath = path.join(repoRoot, 'deploy', 'grafana', 'balancedcall.json');
const dashboard = JSON.parse(readFileSync(dashboardPath, 'utf8'));

// Every panel, rows' nested panels included.
const allPanels = (panels) => panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
const queryPanels = allPanels(dashboard.panels).filter((p) => p.type !== 'row');
const exprs = queryPanels.flatMap((p) => p.targets.map((t) => t.expr));

// Metric names in a PromQL expression: identifiers not followed by '(' (functions) and not
// inside label matchers, strings, or `by (...)` lists.
function metricNames(expr) {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '{}')
    .replace(/\b(?:by|without)\s*\([^)]*\)/g, '')
    .replace(/\[[^\]]*\]/g, '');
  const names = [];
  for (const m of stripped.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)) {
    if (!/^(sum|rate|histogram_quantile|by|le|and|or|unless|on|ignoring|group_left|group_right)$/.test(m[1])
        && !/^\d/.test(m[1])) {
      names.push(m[1]);
    }
  }
  return names;
}

const groupLabels = (expr) =>
  [...expr.matchAll(/\bby\s*\(([^)]*)\)/g)].flatMap((m) => m[1].split(',').map((s) => s.trim()));
const matcherLabels = (expr) =>
  [...expr.matchAll(/\{([^}]*)\}/g)].flatMap((m) => [...m[1].matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!=|!~|=)/g)].map((x) => x[1]));

let exposition;

before(async () => {
  // A daily quota and a client budget, so their gauges are exposed too.
  const clientKey = 'ck-dash-0123456789abcdef';
  const gw = await startGateway({
    ...gatewayConfig({ m: mockModel({ reply: 'dash' }, { rpd: 1000 }) }),
    auth: { client_keys: [{ name: 'dash', key: clientKey, tokens_per_day: 100000 }] },
  });
  const headers = { authorization: `Bearer ${clientKey}` };
  // Lazily created series (request counters, duration by route, tokens) need a request.
  const whole = await postJson(`${gw.url}/v1/chat/completions`, { model: 'm', messages: userMessage() }, { headers });
  assert.equal(whole.status, 200, whole.text);
  const streamed = await postJson(`${gw.url}/v1/chat/completions`, { model: 'm', messages: userMessage(), stream: true }, { headers });
  assert.equal(streamed.status, 200, streamed.text);
  const metrics = await request(`${gw.url}/metrics`);
  assert.equal(metrics.status, 200);
  exposition = metrics.text;
});

after(stopAll);

test('the dashboard declares a ${DS_PROMETHEUS} input and uses it everywhere', () => {
  assert.ok(dashboard.__inputs.some((i) => i.name === 'DS_PROMETHEUS' && i.type === 'datasource' && i.pluginId === 'prometheus'));
  assert.equal(typeof dashboard.title, 'string');
  assert.ok(queryPanels.length >= 10, `only ${queryPanels.length} panels`);
  const ids = allPanels(dashboard.panels).map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
  for (const p of queryPanels) {
    assert.equal(p.datasource?.uid, '${DS_PROMETHEUS}', p.title);
    assert.ok(p.targets.length > 0, p.title);
    for (const t of p.targets) {
      assert.equal(t.datasource?.uid, '${DS_PROMETHEUS}', p.title);
      assert.equal(typeof t.expr, 'string', p.title);
    }
    for (const k of ['h', 'w', 'x', 'y']) assert.equal(typeof p.gridPos?.[k], 'number', p.title);
  }
  for (const v of dashboard.templating.list) {
    if (v.type === 'query') assert.equal(v.datasource?.uid, '${DS_PROMETHEUS}', v.name);
  }
});

test('it covers every family the gateway exposes', () => {
  const used = new Set(exprs.flatMap(metricNames).map((n) => n.replace(/_(bucket|sum|count)$/, '')));
  const families = [...exposition.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]);
  assert.ok(families.length > 0);
  const missing = families.filter((f) => !used.has(f));
  assert.deepEqual(missing, [], `families with no panel: ${missing.join(', ')}`);
});

test('every metric and label it queries exists in a live /metrics', () => {
  const samples = new Set([...exposition.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/gm)].map((m) => m[1]));
  const labels = new Set([...exposition.matchAll(/[{,]([a-zA-Z_]\w*)="/g)].map((m) => m[1]));
  const allExprs = [...exprs, ...dashboard.templating.list.map((v) => v.query?.query ?? '')];
  let checked = 0;
  for (const expr of allExprs) {
    for (const name of metricNames(expr.replace(/label_values\(([^,]+),[^)]*\)/, '$1'))) {
      if (name === 'label_values') continue;
      assert.ok(samples.has(name), `'${name}' (in ${expr}) is not in /metrics`);
      checked++;
    }
    for (const label of [...groupLabels(expr), ...matcherLabels(expr)]) {
      assert.ok(label === 'le' || labels.has(label), `label '${label}' (in ${expr}) is not in /metrics`);
    }
  }
  assert.ok(checked >= exprs.length, `only ${checked} metric names checked`);
});
