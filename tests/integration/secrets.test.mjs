// A provider key never appears in a response (body or headers) nor in the gateway's output,
// whatever the request does: succeed, stream, fail upstream, fail validation.
//
// mockllm puts the key's *name* (the part before the first ';') in its answers, so each
// mockllm key carries options after its name: the full key string is what must not leak.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  gatewayConfig, mockModel, openStream, openaiModel, postJson, readOpenAiStream, readTextStream,
  request, startGateway, startMockllm, stopAll, userMessage, zhipuModel,
} from './harness.mjs';

const KEYS = {
  openai: 'leak-oa;tokens=4;latency=1',
  zhipu: 'leak-zp;tokens=4;latency=1',
  unauthorized: 'leak-401;status=401',
  ratelimited: 'leak-429;status=429;retry_after=1',
  builtin: 'sk-builtin-SECRET-c0ffee1234567890',
  builtin2: 'sk-builtin-SECRET-0ddba11fe3d2c1b0',
};

describe('keys never leak', { timeout: 60000 }, () => {
  let mock;
  let gw;
  const seen = [];  // every response, as text

  before(async () => {
    mock = await startMockllm();
    gw = await startGateway(gatewayConfig({
      oa: openaiModel(mock, [KEYS.openai]),
      zp: zhipuModel(mock, [KEYS.zhipu]),
      denied: openaiModel(mock, [KEYS.unauthorized], { max_retries: 0 }),
      limited: zhipuModel(mock, [KEYS.ratelimited], { max_retries: 0 }),
      builtin: mockModel({ keys: [KEYS.builtin, KEYS.builtin2] }),
    }));
  });
  after(stopAll);

  const record = (label, status, headers, text) => {
    seen.push({ label, text: `${status}\n${[...headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n\n${text}` });
  };

  test('traffic of every kind, successful and failing', { timeout: 30000 }, async () => {
    for (const model of ['oa', 'zp', 'builtin']) {
      const r = await postJson(`${gw.url}/v1/chat/completions`, { model, messages: userMessage() });
      assert.equal(r.status, 200, r.text);
      record(`${model} non-stream`, r.status, r.headers, r.text);
      const res = await openStream(`${gw.url}/v1/chat/completions`, { model, messages: userMessage(), stream: true });
      const s = await readOpenAiStream(res);
      assert.ok(s.done);
      record(`${model} stream`, res.status, res.headers, s.events.map((e) => e.data).join('\n'));
    }
    for (const model of ['denied', 'limited']) {
      // (Which status each failure gets is tested in errors.test.mjs.)
      const r = await postJson(`${gw.url}/v1/chat/completions`, { model, messages: userMessage() });
      assert.ok(r.status >= 400, `upstream ${model} failure gave ${r.status}: ${r.text}`);
      assert.equal(typeof r.json?.error?.message, 'string', r.text);
      record(`${model} non-stream`, r.status, r.headers, r.text);
      const res = await openStream(`${gw.url}/v1/chat/completions`, { model, messages: userMessage(), stream: true });
      record(`${model} stream`, res.status, res.headers, await res.text());
    }
    for (let i = 0; i < 3; i++) {
      const r = await postJson(`${gw.url}/llm/chat`, { messages: userMessage() });
      record('llm/chat', r.status, r.headers, r.text);
      const res = await openStream(`${gw.url}/llm/chat/stream`, { messages: userMessage() });
      record('llm/chat/stream', res.status, res.headers, (await readTextStream(res)).text);
    }
    for (const p of ['/v1/models', '/health', '/llm/health', '/nope']) {
      const r = await request(`${gw.url}${p}`);
      record(p, r.status, r.headers, r.text);
    }
    const bad = await postJson(`${gw.url}/v1/chat/completions`, { model: 'nope', messages: userMessage() });
    record('unknown model', bad.status, bad.headers, bad.text);
  });

  test('no response and no line of stdout or stderr contains a key', { timeout: 15000 }, async () => {
    assert.ok(seen.length >= 20, 'the traffic test did not run');
    const info = await gw.stop();
    assert.equal(info.code, 0, gw.output());
    assert.ok(gw.stderr.length > 0, 'the gateway logged nothing at all: the log check would be vacuous');
    for (const key of Object.values(KEYS)) {
      for (const { label, text } of seen) {
        assert.ok(!text.includes(key), `key ${key} in the response to ${label}:\n${text}`);
      }
      assert.ok(!gw.stdout.includes(key), `key ${key} on stdout`);
      const line = gw.stderr.split('\n').find((l) => l.includes(key));
      assert.equal(line, undefined, `key ${key} in a log line`);
    }
  });
});
