// Bad input gets the right 4xx with an OpenAI-shaped error body, on every endpoint, and the
// gateway keeps serving afterwards.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  gatewayConfig, mockModel, openAiError, postJson, request, startGateway, stopAll, userMessage,
} from './harness.mjs';

const MAX_BODY = 4096;

describe('bad input', { timeout: 60000 }, () => {
  let gw;
  before(async () => {
    gw = await startGateway(gatewayConfig({ 'mock-a': mockModel({ reply: 'still here' }) },
      { server: { max_body_bytes: MAX_BODY } }));
  });
  after(stopAll);

  const chat = () => `${gw.url}/v1/chat/completions`;
  const bigMessages = () => userMessage('x'.repeat(MAX_BODY * 2));

  const cases = [
    { name: 'invalid JSON on /v1/chat/completions', status: 400,
      send: () => request(chat(), { method: 'POST', body: '{"model": "mock-a", "messages": [', headers: { 'content-type': 'application/json' } }) },
    { name: 'invalid JSON on /llm/chat', status: 400,
      send: () => request(`${gw.url}/llm/chat`, { method: 'POST', body: 'not json', headers: { 'content-type': 'application/json' } }) },
    { name: 'invalid JSON on /llm/chat/stream', status: 400,
      send: () => request(`${gw.url}/llm/chat/stream`, { method: 'POST', body: '{"messages":', headers: { 'content-type': 'application/json' } }) },
    { name: 'no messages on /v1/chat/completions', status: 400,
      send: () => postJson(chat(), { model: 'mock-a' }) },
    { name: 'no messages on /llm/chat', status: 400,
      send: () => postJson(`${gw.url}/llm/chat`, {}) },
    { name: 'a JSON body that is not an object', status: 400,
      send: () => postJson(chat(), [1, 2, 3]) },
    { name: 'unknown model', status: 404, code: 'model_not_found',
      send: () => postJson(chat(), { model: 'no-such-model', messages: userMessage() }) },
    { name: 'unknown model, streaming', status: 404, code: 'model_not_found',
      send: () => postJson(chat(), { model: 'no-such-model', messages: userMessage(), stream: true }) },
    { name: 'body over server.max_body_bytes on /v1/chat/completions', status: 413,
      send: () => postJson(chat(), { model: 'mock-a', messages: bigMessages() }) },
    { name: 'body over server.max_body_bytes on /llm/chat', status: 413,
      send: () => postJson(`${gw.url}/llm/chat`, { messages: bigMessages() }) },
    { name: 'GET /v1/chat/completions', status: 405,
      send: () => request(chat()) },
    { name: 'GET /llm/chat', status: 405,
      send: () => request(`${gw.url}/llm/chat`) },
    { name: 'POST /v1/models', status: 405,
      send: () => postJson(`${gw.url}/v1/models`, {}) },
    { name: 'DELETE /health', status: 405,
      send: () => request(`${gw.url}/health`, { method: 'DELETE' }) },
    { name: 'unknown path', status: 404,
      send: () => request(`${gw.url}/v1/nothing-here`) },
    { name: 'unknown path, POST', status: 404,
      send: () => postJson(`${gw.url}/nope`, { messages: userMessage() }) },
  ];

  for (const c of cases) {
    test(`${c.name} -> ${c.status}${c.code ? ` ${c.code}` : ''}, OpenAI error body`, { timeout: 10000 }, async () => {
      const r = await c.send();
      assert.equal(r.status, c.status, r.text);
      assert.match(r.headers.get('content-type') ?? '', /application\/json/);
      const e = openAiError(r);
      if (c.code) assert.equal(e.code, c.code);
      // The gateway keeps serving, on a new connection and on the pooled one.
      const ok = await postJson(chat(), { model: 'mock-a', messages: userMessage() });
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.json.choices[0].message.content, 'still here');
    });
  }

  test('a body just under the limit is accepted', { timeout: 10000 }, async () => {
    const base = JSON.stringify({ model: 'mock-a', messages: userMessage('') });
    const body = JSON.stringify({ model: 'mock-a', messages: userMessage('y'.repeat(MAX_BODY - base.length - 16)) });
    assert.ok(body.length <= MAX_BODY);
    const r = await request(chat(), { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 200, r.text);
  });
});
