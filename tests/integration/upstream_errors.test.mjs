// Upstream failures reach the client as 502 / 503 / 504 with an OpenAI-shaped body (never the
// upstream's own 401: the caller's request was fine, the gateway's key was not), except a
// pool whose every key is rate-limited: 429 with Retry-After. A failure before the first byte
// is retried on another key; a failure mid-stream ends the stream with an error event.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  gatewayConfig, mockStats, openAiError, openStream, openaiModel, postJson, readOpenAiStream,
  startGateway, startMockllm, stopAll, userMessage, zhipuModel,
} from './harness.mjs';

// A loopback port with nothing listening on it.
async function closedPort() {
  const srv = net.createServer();
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address();
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

describe('upstream failures', { timeout: 60000 }, () => {
  let mock;
  let gw;
  before(async () => {
    mock = await startMockllm();
    const once = { max_retries: 0 };
    gw = await startGateway(gatewayConfig({
      unauthorized: openaiModel(mock, ['ue-401;status=401'], once),
      limited: zhipuModel(mock, ['ue-429;status=429;retry_after=1'], once),
      broken: openaiModel(mock, ['ue-500;status=500'], once),
      malformed: openaiModel(mock, ['ue-malformed;malformed'], once),
      cut: zhipuModel(mock, ['ue-cut;cut_after=2;tokens=6'], once),
      refused: { ...openaiModel(mock, ['ue-refused'], once), base_url: `http://127.0.0.1:${await closedPort()}/v1` },
      sleepy: openaiModel(mock, ['ue-sleepy;latency=3000'], { ...once, first_byte_timeout_ms: 400 }),
      // Key ue-bad always fails; it is ten times as likely to be picked first.
      flaky: openaiModel(mock, [{ key: 'ue-bad;status=500', weight: 10 }, { key: 'ue-good;tokens=6', weight: 1 }],
        { max_retries: 2 }),
      midstream: openaiModel(mock, ['ue-mid;error_in_stream;tokens=6'], once),
    }));
  });
  after(stopAll);

  const cases = [
    { model: 'unauthorized', why: 'upstream 401', statuses: [502, 503] },
    // Every key of the pool is rate-limited: the caller is told to come back, and when.
    { model: 'limited', why: 'upstream 429 with Retry-After', statuses: [429], retryAfter: true },
    { model: 'broken', why: 'upstream 500', statuses: [502, 503] },
    { model: 'malformed', why: 'a 200 body that is not JSON', statuses: [502] },
    { model: 'cut', why: 'a body cut short', statuses: [502] },
    { model: 'refused', why: 'connection refused', statuses: [502, 503] },
    { model: 'sleepy', why: 'no first byte within first_byte_timeout_ms', statuses: [504] },
  ];

  for (const c of cases) {
    test(`${c.why} -> ${c.statuses.join(' or ')}, OpenAI error body`, { timeout: 10000 }, async () => {
      const r = await postJson(`${gw.url}/v1/chat/completions`, { model: c.model, messages: userMessage() });
      assert.ok(c.statuses.includes(r.status), `status ${r.status}: ${r.text}`);
      openAiError(r);
      if (c.retryAfter) assert.ok(Number(r.headers.get('retry-after')) >= 1, 'no Retry-After header');
    });
  }

  test('the same failure on a stream is answered before any byte: status and JSON, no SSE', { timeout: 10000 }, async () => {
    const res = await openStream(`${gw.url}/v1/chat/completions`, { model: 'broken', messages: userMessage(), stream: true });
    const text = await res.text();
    assert.ok([502, 503].includes(res.status), `status ${res.status}: ${text}`);
    openAiError({ status: res.status, text, json: JSON.parse(text) });
  });

  test('a failure before the first byte is retried on another key and the client gets the answer', { timeout: 15000 }, async () => {
    for (let i = 0; i < 4; i++) {
      const r = await postJson(`${gw.url}/v1/chat/completions`, { model: 'flaky', messages: userMessage() });
      assert.equal(r.status, 200, r.text);
      assert.ok(r.json.choices[0].message.content.includes('ue-good'), r.text);
    }
    const keys = (await mockStats(mock)).keys;
    assert.ok(keys['ue-bad']?.requests >= 1, `the failing key was never tried: ${JSON.stringify(keys['ue-bad'])}`);
    assert.equal(keys['ue-good'].completed, 4);
  });

  test('a failure mid-stream ends the stream with an OpenAI error event', { timeout: 10000 }, async () => {
    const res = await openStream(`${gw.url}/v1/chat/completions`, { model: 'midstream', messages: userMessage(), stream: true });
    assert.equal(res.status, 200);
    let s;
    try {
      s = await readOpenAiStream(res);
    } catch (err) {
      assert.fail(`the stream could not be read: ${err.message}`);
    }
    assert.ok(s.content.length > 0, 'no content before the error');
    // The error is the last JSON event ([DONE] may follow it); nothing is relayed after it.
    const last = s.chunks.at(-1);
    assert.ok(last && typeof last.error === 'object' && last.error !== null,
      `last event is not an error: ${JSON.stringify(last)}`);
    assert.equal(typeof last.error.message, 'string');
    assert.equal(typeof last.error.type, 'string');
  });
});
