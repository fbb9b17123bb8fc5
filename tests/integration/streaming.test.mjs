// Streams are relayed as the upstream produces them, never buffered whole, and a client that
// goes away mid-stream makes the gateway close its upstream connection at once.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  gatewayConfig, mockStats, openStream, openaiModel, postJson, readOpenAiStream, readTextStream,
  startGateway, startMockllm, stopAll, userMessage, waitFor, zhipuModel,
} from './harness.mjs';

// mockllm: 8 tokens 300 ms apart, so the upstream needs >= 2.1 s to finish.
const GAP_MS = 300;
const TOKENS = 8;
const UPSTREAM_SPAN_MS = (TOKENS - 1) * GAP_MS;

describe('streaming', { timeout: 90000 }, () => {
  let mock;
  let gw;
  before(async () => {
    mock = await startMockllm();
    gw = await startGateway(gatewayConfig({
      'slow-openai': openaiModel(mock, [`slow-oa;gap=${GAP_MS};tokens=${TOKENS}`]),
      'slow-zhipu': zhipuModel(mock, [`slow-zp;gap=${GAP_MS};tokens=${TOKENS}`]),
      'long-openai': openaiModel(mock, ['disc-v1;gap=300;tokens=40']),
      'hold-openai': openaiModel(mock, ['hold;gap=5;tokens=4;hold_end=1500']),
      'wait-openai': openaiModel(mock, ['disc-wait;latency=5000']),
      'burst-openai': openaiModel(mock, ['many;burst;tokens=40']),
    }));
  });
  after(stopAll);

  // The first content must arrive well before the upstream could have finished, and the
  // rest must keep arriving over the upstream's whole span.
  const assertProgressive = (start, first, end, arrivals) => {
    const firstMs = first - start;
    const restMs = end - first;
    assert.ok(firstMs < 1200, `first chunk after ${firstMs.toFixed(0)} ms`);
    assert.ok(restMs > UPSTREAM_SPAN_MS - 700,
      `stream ended ${restMs.toFixed(0)} ms after the first chunk; upstream needs ~${UPSTREAM_SPAN_MS} ms, so it was buffered`);
    const spread = new Set(arrivals.map((t) => Math.floor((t - start) / (GAP_MS / 2))));
    assert.ok(spread.size >= 4, `chunks arrived in only ${spread.size} bursts`);
  };

  for (const model of ['slow-openai', 'slow-zhipu']) {
    test(`${model}: /v1 SSE chunks reach the client as the upstream produces them`, { timeout: 20000 }, async () => {
      const start = performance.now();
      const res = await openStream(`${gw.url}/v1/chat/completions`, { model, messages: userMessage(), stream: true });
      assert.equal(res.status, 200);
      const s = await readOpenAiStream(res);
      assert.ok(s.done, 'no [DONE]');
      const arrivals = s.events.filter((e) => e.data !== '[DONE]').map((e) => e.t);
      assertProgressive(start, s.firstContentAt, s.endAt, arrivals);
    });
  }

  test("a burst of chunks is relayed as the upstream's own bytes, every event in its place", { timeout: 20000 }, async () => {
    // The whole answer arrives in one write (mockllm's `burst`): the gateway passes runs of
    // like chunks on in one piece (merged runs). The client must still get each event, unchanged and in order:
    // the same bytes as the upstream sends for the same request, apart from the fields that
    // differ from one call to the next.
    // A client that asks for usage gets the upstream's bytes as they are.
    const body = { model: 'burst-openai', messages: userMessage(), stream: true, stream_options: { include_usage: true } };
    const viaGateway = await (await openStream(`${gw.url}/v1/chat/completions`, body)).text();
    const direct = await (await fetch(`${mock.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer many;burst;tokens=40' },
      body: JSON.stringify({ ...body, model: 'gpt-4o-mini' }),
    })).text();
    const mask = (t) => t.replace(/"id":"[^"]*"/g, '"id":"-"').replace(/"created":\d+/g, '"created":0');
    assert.equal(mask(viaGateway), mask(direct));
    const events = viaGateway.split('\n\n').filter((e) => e !== '');
    assert.equal(events.length, 40 + 4, 'role, 40 contents, finish, usage, [DONE]');
    assert.ok(events.every((e) => e.startsWith('data: ')), viaGateway.slice(0, 400));
    // One that did not ask gets the same events without `usage` and without the usage chunk,
    // as OpenAI sends them (the gateway still asked the upstream for usage).
    const { stream_options: _, ...plain } = body;
    const viaGatewayPlain = await (await openStream(`${gw.url}/v1/chat/completions`, plain)).text();
    const withoutUsage = events.filter((e) => !e.includes('"choices":[]'))
      .map((e) => e.replace(',"usage":null}', '}')).join('\n\n') + '\n\n';
    assert.equal(mask(viaGatewayPlain), mask(withoutUsage));
  });

  test('an upstream that keeps its response open after [DONE] delays none of the answer', { timeout: 20000 }, async () => {
    // The gateway sends the events of one upstream read in one write, and holds the last ones
    // back only when the end of the upstream's body came with them.
    const start = performance.now();
    const res = await openStream(`${gw.url}/v1/chat/completions`, { model: 'hold-openai', messages: userMessage(), stream: true });
    assert.equal(res.status, 200);
    const s = await readOpenAiStream(res);
    assert.ok(s.done, 'no [DONE]');
    const chunks = s.events.filter((e) => e.data !== '[DONE]');
    assert.ok(chunks.length >= 5, `only ${chunks.length} chunks`);
    const lastChunkMs = chunks[chunks.length - 1].t - start;
    assert.ok(lastChunkMs < 1000, `the last chunk came ${lastChunkMs.toFixed(0)} ms in: held until the upstream ended its body`);
    const doneMs = s.events.find((e) => e.data === '[DONE]').t - start;
    assert.ok(doneMs >= 1300, `[DONE] after ${doneMs.toFixed(0)} ms, before the upstream ended its body`);
  });

  test('/llm/chat/stream text chunks reach the client as the upstream produces them', { timeout: 20000 }, async () => {
    // A gateway with only the slow model, since /llm has no model field.
    const only = await startGateway(gatewayConfig({
      'slow-openai': openaiModel(mock, [`slow-llm;gap=${GAP_MS};tokens=${TOKENS}`]),
    }));
    const start = performance.now();
    const res = await openStream(`${only.url}/llm/chat/stream`, { messages: userMessage() });
    assert.equal(res.status, 200);
    const s = await readTextStream(res);
    assert.ok(s.text.includes('slow-llm'), s.text);
    assertProgressive(start, s.firstAt, s.endAt, s.chunks.map((c) => c.t));
    await only.stop();
  });

  // Aborts the stream after its first content chunk, then waits for mockllm to see the
  // upstream connection closed. Resolves the ms between the abort and that moment.
  const abortAndTimeUpstreamClose = async (url, body, keyName, isSse) => {
    const ctrl = new AbortController();
    const res = await openStream(url, body, { signal: ctrl.signal });
    assert.equal(res.status, 200);
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let seen = '';
    // Read until some answer text has arrived (for SSE: a chunk with content).
    while (!(isSse ? /"content"\s*:\s*"[^"]/.test(seen) : seen.length > 0)) {
      const { done, value } = await reader.read();
      assert.ok(!done, `stream ended before any content: ${seen}`);
      seen += decoder.decode(value, { stream: true });
    }
    const during = (await mockStats(mock)).keys[keyName];
    assert.equal(during?.in_flight, 1, `mockllm should have the request in flight: ${JSON.stringify(during)}`);
    const abortedAt = performance.now();
    ctrl.abort();
    await reader.cancel().catch(() => {});
    const st = await waitFor(async () => {
      const k = (await mockStats(mock)).keys[keyName];
      return k && k.in_flight === 0 && k.client_closed >= 1 ? k : null;
    }, { timeoutMs: 3000, intervalMs: 20, what: `mockllm to see ${keyName}'s connection closed` });
    const ms = performance.now() - abortedAt;
    assert.equal(st.completed, 0, 'the upstream stream ran to completion instead of being cut');
    assert.equal(st.requests, 1, 'the gateway retried after the client left');
    return ms;
  };

  test('a client leaving a /v1 stream closes the upstream connection within 1 s', { timeout: 20000 }, async () => {
    const ms = await abortAndTimeUpstreamClose(`${gw.url}/v1/chat/completions`,
      { model: 'long-openai', messages: userMessage(), stream: true }, 'disc-v1', true);
    assert.ok(ms < 1000, `upstream closed ${ms.toFixed(0)} ms after the client left`);
    // And the gateway keeps serving.
    const r = await postJson(`${gw.url}/v1/chat/completions`, { model: 'slow-openai', messages: userMessage() });
    assert.equal(r.status, 200, r.text);
  });

  test('a client leaving before a non-streamed answer begins closes the upstream connection within 1 s', { timeout: 20000 }, async () => {
    // The disconnect watch on a connection that has sent nothing yet: the upstream takes 5 s.
    const ctrl = new AbortController();
    const pending = fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'wait-openai', messages: userMessage() }),
      signal: ctrl.signal,
    }).catch((e) => e);
    await waitFor(async () => ((await mockStats(mock)).keys['disc-wait']?.in_flight === 1 ? true : null),
      { timeoutMs: 3000, intervalMs: 20, what: 'mockllm to have the request in flight' });
    const abortedAt = performance.now();
    ctrl.abort();
    const outcome = await pending;
    assert.equal(outcome?.name, 'AbortError', `the request was not aborted: ${outcome}`);
    const st = await waitFor(async () => {
      const k = (await mockStats(mock)).keys['disc-wait'];
      return k && k.in_flight === 0 && k.client_closed >= 1 ? k : null;
    }, { timeoutMs: 3000, intervalMs: 20, what: "mockllm to see disc-wait's connection closed" });
    const ms = performance.now() - abortedAt;
    assert.ok(ms < 1000, `upstream closed ${ms.toFixed(0)} ms after the client left`);
    assert.equal(st.requests, 1, 'the gateway retried after the client left');
    assert.equal(st.completed, 0);
  });

  test('a client leaving /llm/chat/stream closes the upstream connection within 1 s', { timeout: 20000 }, async () => {
    const only = await startGateway(gatewayConfig({
      'long-openai': openaiModel(mock, ['disc-llm;gap=300;tokens=40']),
    }));
    const ms = await abortAndTimeUpstreamClose(`${only.url}/llm/chat/stream`,
      { messages: userMessage() }, 'disc-llm', false);
    assert.ok(ms < 1000, `upstream closed ${ms.toFixed(0)} ms after the client left`);
    await only.stop();
  });
});
