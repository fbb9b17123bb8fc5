// POST /v1/embeddings end to end through the real gateway and mockllm, which answers each
// upstream's embedding format with the same deterministic vectors (a hash-seeded unit vector
// of the input text): so the same input must give the same vector through every provider
// (OpenAI, Zhipu, Gemini embedContent / batchEmbedContents, Ollama /api/embed, the built-in
// mock), `dimensions` must reach the upstream, base64 must decode to the float answer, tokens
// must be counted (the upstream's, or an estimate the usage ledger marks), a 5xx must fail over
// to another key, the model's limits must hold, and every refusal must be in OpenAI's error
// shape naming the field.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  gatewayConfig, mockModel, mockStats, openAiError, postJson, providerModel, request,
  startGateway, startMockllm, stopAll, userMessage, waitFor, tempDir,
} from './harness.mjs';

const TOKEN = 'adm-embed-token-0123456789';
const admin = { authorization: `Bearer ${TOKEN}` };
// Embedding models per provider format of mockllm, with the upstream ids the formats expect.
const EMBED_TYPES = {
  openai: 'text-embedding-3-small',
  zhipu: 'embedding-3',
  gemini: 'gemini-embedding-001',
  ollama: 'nomic-embed-text',
};

const decodeBase64 = (text) => {
  const bytes = Buffer.from(text, 'base64');
  const out = [];
  for (let i = 0; i < bytes.length; i += 4) out.push(bytes.readFloatLE(i));
  return out;
};
const close = (a, b) => a.length === b.length && a.every((x, i) => Math.abs(x - b[i]) < 1e-6);
const norm = (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

let mock;
let gw;
let db;

before(async () => {
  mock = await startMockllm();
  db = path.join(tempDir('bc-embed-'), 'usage.db');
  const models = {
    chat: providerModel(mock, 'openai', ['chat-key']),
    'emb-builtin': mockModel({}, { embeddings: true }),
    // The first key fails every request with a 500: its attempts fail over to the second.
    'emb-failover': providerModel(mock, 'openai', [
      { key: 'emb-down;status=500', name: 'emb-down', weight: 1000 },
      { key: 'emb-up', name: 'emb-up', weight: 1 },
    ], { model: EMBED_TYPES.openai, embeddings: true, breaker: { failures: 0 } }),
  };
  for (const [type, model] of Object.entries(EMBED_TYPES)) {
    models[`emb-${type}`] = providerModel(mock, type, [`emb-${type}-key`], { model, embeddings: true });
  }
  // One request a minute, no queue: the second call in a minute is refused by the limit.
  models['emb-limited'] = providerModel(mock, 'openai', ['emb-limited-key'],
    { model: EMBED_TYPES.openai, embeddings: true, rpm: 1, queue_timeout_ms: 0 });
  // Used by the ledger test alone, so its counts start from zero.
  models['ledger-zhipu'] = providerModel(mock, 'zhipu', ['ledger-zp'], { model: EMBED_TYPES.zhipu, embeddings: true });
  models['ledger-gemini'] = providerModel(mock, 'gemini', ['ledger-gm'], { model: EMBED_TYPES.gemini, embeddings: true });
  gw = await startGateway({
    ...gatewayConfig(models),
    admin: { token: TOKEN },
    usage: { path: db, flush_ms: 50 },
  });
});

after(stopAll);

const embed = (body) => postJson(`${gw.url}/v1/embeddings`, body);

describe('POST /v1/embeddings', () => {
  test('the same input gives the same unit vector through every provider format', async () => {
    const answers = {};
    for (const name of ['emb-openai', 'emb-zhipu', 'emb-gemini', 'emb-ollama', 'emb-builtin']) {
      const r = await embed({ model: name, input: 'the quick brown fox' });
      assert.equal(r.status, 200, `${name}: ${r.text}`);
      assert.equal(r.json.object, 'list');
      assert.equal(r.json.model, name);
      assert.equal(r.json.data.length, 1);
      const [item] = r.json.data;
      assert.deepEqual(Object.keys(item).sort(), ['embedding', 'index', 'object']);
      assert.equal(item.object, 'embedding');
      assert.equal(item.index, 0);
      assert.equal(item.embedding.length, 16, `${name}: the mocks' default size`);
      assert.ok(Math.abs(norm(item.embedding) - 1) < 1e-5, `${name}: a unit vector`);
      answers[name] = item.embedding;
    }
    for (const [name, vector] of Object.entries(answers)) {
      assert.ok(close(vector, answers['emb-openai']), `${name} agrees with openai`);
    }
  });

  test('array input keeps its order; dimensions reach the upstream', async () => {
    for (const name of ['emb-openai', 'emb-zhipu', 'emb-gemini', 'emb-ollama', 'emb-builtin']) {
      const r = await embed({ model: name, input: ['alpha', 'beta gamma', 'delta'], dimensions: 5 });
      assert.equal(r.status, 200, `${name}: ${r.text}`);
      assert.deepEqual(r.json.data.map((d) => d.index), [0, 1, 2]);
      for (const d of r.json.data) assert.equal(d.embedding.length, 5, name);
      const single = await embed({ model: name, input: 'beta gamma', dimensions: 5 });
      assert.ok(close(r.json.data[1].embedding, single.json.data[0].embedding),
        `${name}: the second vector is that of the second input`);
      assert.ok(!close(r.json.data[0].embedding, r.json.data[1].embedding), name);
    }
  });

  test('base64 is the little-endian float32 bytes of the float answer', async () => {
    for (const name of ['emb-openai', 'emb-gemini', 'emb-builtin']) {
      const input = ['one', 'two words'];
      const floats = await embed({ model: name, input, encoding_format: 'float' });
      const b64 = await embed({ model: name, input, encoding_format: 'base64' });
      assert.equal(b64.status, 200, b64.text);
      for (let i = 0; i < input.length; ++i) {
        assert.equal(typeof b64.json.data[i].embedding, 'string');
        const decoded = decodeBase64(b64.json.data[i].embedding);
        assert.ok(close(decoded, floats.json.data[i].embedding), `${name} #${i}`);
      }
    }
  });

  test('usage: the upstream\'s count, or an estimate', async () => {
    // mockllm counts words: 2 + 3.
    const counted = await embed({ model: 'emb-openai', input: ['two words', 'and three more'] });
    assert.deepEqual(counted.json.usage, { prompt_tokens: 5, total_tokens: 5 });
    const ollama = await embed({ model: 'emb-ollama', input: ['two words', 'and three more'] });
    assert.deepEqual(ollama.json.usage, { prompt_tokens: 5, total_tokens: 5 });
    // Gemini counts none: ~4 characters a token, at least one an input.
    const estimated = await embed({ model: 'emb-gemini', input: 'x'.repeat(40) });
    assert.deepEqual(estimated.json.usage, { prompt_tokens: 10, total_tokens: 10 });
  });

  test('the usage ledger and the metrics count embeddings; estimates are marked', async () => {
    const r = await embed({ model: 'ledger-zhipu', input: ['a b c', 'd'] });
    assert.equal(r.status, 200, r.text);
    const g = await embed({ model: 'ledger-gemini', input: 'y'.repeat(20) });
    assert.equal(g.status, 200, g.text);
    const groups = await waitFor(async () => {
      const now = await request(`${gw.url}/admin/usage?group_by=model`, { headers: admin });
      const byModel = Object.fromEntries(now.json.groups.map((x) => [x.model, x]));
      return byModel['ledger-zhipu'] && byModel['ledger-gemini'] && byModel;
    }, { timeoutMs: 5000, what: 'the ledger to count the embeddings calls' });
    // Zhipu's own count (mockllm: 3 + 1 words); Gemini counts none: 20 characters / 4.
    assert.equal(groups['ledger-zhipu'].requests, 1);
    assert.equal(groups['ledger-zhipu'].total_tokens, 4);
    assert.equal(groups['ledger-gemini'].total_tokens, 5);
    const marks = execFileSync('sqlite3', ['-readonly', db,
      "SELECT model, route, tokens_estimated FROM requests WHERE model LIKE 'ledger-%' ORDER BY model"],
    { encoding: 'utf8' }).trim();
    assert.equal(marks, 'ledger-gemini|/v1/embeddings|1\nledger-zhipu|/v1/embeddings|0');
    const metrics = await request(`${gw.url}/metrics`);
    assert.match(metrics.text, /route="\/v1\/embeddings"/);
  });

  test('a 5xx from one key fails over to another', async () => {
    const stats0 = await mockStats(mock);
    const downBefore = stats0.keys?.['emb-down']?.requests ?? 0;
    const r = await embed({ model: 'emb-failover', input: ['fail', 'over'] });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.data.length, 2);
    const stats = await mockStats(mock);
    assert.ok((stats.keys?.['emb-down']?.requests ?? 0) > downBefore, 'the failing key was tried');
    assert.ok((stats.keys?.['emb-up']?.requests ?? 0) >= 1, 'the healthy key answered');
  });

  test('the model\'s limits apply: over rpm with no queue is a 429 with Retry-After', async () => {
    const first = await embed({ model: 'emb-limited', input: 'one' });
    assert.equal(first.status, 200, first.text);
    const second = await embed({ model: 'emb-limited', input: 'two' });
    assert.equal(second.status, 429, second.text);
    assert.equal(openAiError(second).code, 'capacity_exhausted');
    assert.ok(Number(second.headers.get('retry-after')) >= 1, 'Retry-After');
  });

  test('refusals in OpenAI\'s error shape, naming the field', async () => {
    const cases = [
      [{ input: 'x' }, 400, 'model'],
      [{ model: 'emb-openai' }, 400, 'input'],
      [{ model: 'emb-openai', input: [] }, 400, 'input'],
      [{ model: 'emb-openai', input: [[1, 2, 3]] }, 400, 'input'],
      [{ model: 'emb-openai', input: 'x', dimensions: -1 }, 400, 'dimensions'],
      [{ model: 'emb-openai', input: 'x', encoding_format: 'int8' }, 400, 'encoding_format'],
      [{ model: 'nope', input: 'x' }, 404, null],
      [{ model: 'chat', input: 'x' }, 400, 'model'],
    ];
    for (const [body, status, param] of cases) {
      const r = await embed(body);
      assert.equal(r.status, status, `${JSON.stringify(body)}: ${r.text}`);
      const e = openAiError(r);
      assert.equal(e.param, param, JSON.stringify(body));
      assert.equal(e.type, 'invalid_request_error');
    }
    const chatOnly = openAiError(await embed({ model: 'chat', input: 'x' }));
    assert.equal(chatOnly.code, 'model_not_embedding');
    const notJson = await postJson(`${gw.url}/v1/embeddings`, '{');
    assert.equal(notJson.status, 400);
    openAiError(notJson);
  });

  test('an embedding model named for chat is refused; an unnamed chat never lands on one', async () => {
    const r = await postJson(`${gw.url}/v1/chat/completions`, { model: 'emb-openai', messages: userMessage() });
    assert.equal(r.status, 400, r.text);
    const e = openAiError(r);
    assert.equal(e.code, 'model_not_chat');
    assert.equal(e.param, 'model');
    // The one chat model's upstream id: an embedding model (weight 0 in selection) never
    // takes a chat that names no model.
    for (let i = 0; i < 10; ++i) {
      const any = await postJson(`${gw.url}/v1/chat/completions`, { messages: userMessage() });
      assert.equal(any.status, 200, any.text);
      assert.equal(any.json.model, 'gpt-4o-mini');
    }
  });

  test('GET /v1/models says which models embed', async () => {
    const r = await request(`${gw.url}/v1/models`);
    assert.equal(r.status, 200);
    const byId = Object.fromEntries(r.json.data.map((m) => [m.id, m]));
    assert.deepEqual(byId['emb-openai'].capabilities, ['embeddings']);
    assert.deepEqual(byId.chat.capabilities, ['chat']);
    for (const m of r.json.data) {
      assert.equal(m.object, 'model');
      assert.equal(typeof m.owned_by, 'string');
    }
  });
});
