// The process as an operator sees it: the embedded demo config, the one stdout line, and a
// graceful shutdown that lets in-flight streams finish.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  gatewayConfig, mockModel, openStream, openaiModel, postJson, readOpenAiStream, readTextStream,
  request, sleep, startGateway, startMockllm, stopAll, userMessage,
} from './harness.mjs';

describe('lifecycle', { timeout: 90000 }, () => {
  let mock;
  before(async () => { mock = await startMockllm(); });
  after(stopAll);

  test('with no --config it serves the embedded demo config (mock-fast, mock-smart, mock-embed)', { timeout: 20000 }, async () => {
    const gw = await startGateway(null);
    const models = await request(`${gw.url}/v1/models`);
    assert.equal(models.status, 200, models.text);
    assert.deepEqual(models.json.data.map((m) => m.id).sort(), ['mock-embed', 'mock-fast', 'mock-smart']);
    const e = await postJson(`${gw.url}/v1/embeddings`, { model: 'mock-embed', input: 'hi' });
    assert.equal(e.status, 200, e.text);
    assert.equal(e.json.data[0].embedding.length, 16);
    const r = await postJson(`${gw.url}/llm/chat`, { messages: userMessage() });
    assert.equal(r.status, 200, r.text);
    assert.ok(typeof r.json.result === 'string' && r.json.result.length > 0, r.text);
    for (const model of ['mock-fast', 'mock-smart']) {
      const c = await postJson(`${gw.url}/v1/chat/completions`, { model, messages: userMessage() });
      assert.equal(c.status, 200, c.text);
      assert.ok(c.json.choices[0].message.content.length > 0);
    }
    const info = await gw.stop();
    assert.deepEqual(info, { code: 0, signal: null }, gw.output());
  });

  test('stdout is exactly the listening line; SIGINT exits 0', { timeout: 20000 }, async () => {
    const gw = await startGateway(gatewayConfig({ m: mockModel() }));
    const r = await request(`${gw.url}/health`);
    assert.equal(r.status, 200);
    const info = await gw.signal('SIGINT');
    assert.deepEqual(info, { code: 0, signal: null }, gw.output());
    assert.equal(gw.stdout, `balancedcall listening on http://127.0.0.1:${gw.port}\n`);
  });

  test('the startup log names the allocator: mimalloc, except under the sanitizers', { timeout: 20000 }, async () => {
    const gw = await startGateway(gatewayConfig({ m: mockModel() }));
    const info = await gw.signal('SIGINT');
    assert.deepEqual(info, { code: 0, signal: null }, gw.output());
    // The sanitizer pass (scripts/test.sh) builds without mimalloc: ASan brings its own.
    const expected = process.env.BC_SANITIZED_PASS ? /allocator: the C library's malloc\n/
      : /allocator: mimalloc \d+\.\d+\.\d+\n/;
    assert.match(gw.stderr, expected, gw.output());
  });

  test('SIGTERM during a /v1 stream: the stream completes with [DONE], new connections are refused, exit 0',
    { timeout: 30000 }, async () => {
      const gw = await startGateway(gatewayConfig(
        { slow: openaiModel(mock, ['term-v1;gap=200;tokens=10']) },
        { server: { shutdown_grace_ms: 10000 } }));
      const res = await openStream(`${gw.url}/v1/chat/completions`, { model: 'slow', messages: userMessage(), stream: true });
      assert.equal(res.status, 200);
      let termAt = null;
      let probe = null;
      const s = await readOpenAiStream(res, {
        onContent: async () => {
          if (termAt !== null) return;
          termAt = performance.now();
          gw.kill('SIGTERM');
          // Shortly after SIGTERM the listener is closed: a new connection must fail.
          probe = sleep(400).then(() => request(`${gw.url}/health`, { timeoutMs: 2000 }))
            .then((r) => ({ status: r.status }), (err) => ({ error: err }));
        },
      });
      assert.ok(termAt !== null, 'no content before the end of the stream');
      assert.ok(s.done, `the stream was cut by the shutdown: ${JSON.stringify(s.content)}`);
      assert.ok(s.content.includes('term-v1'), s.content);
      assert.ok(s.endAt - termAt > 1000, 'the stream should have run on for ~1.8 s after SIGTERM');
      const info = await gw.waitExit(8000);
      assert.deepEqual(info, { code: 0, signal: null }, gw.output());
      const p = await probe;
      assert.ok(p.error, `a new request after SIGTERM was answered: ${JSON.stringify(p)}`);
    });

  test('SIGTERM during /llm/chat/stream: the text stream completes, exit 0', { timeout: 30000 }, async () => {
    const gw = await startGateway(gatewayConfig(
      { slow: openaiModel(mock, ['term-llm;gap=200;tokens=10']) },
      { server: { shutdown_grace_ms: 10000 } }));
    const full = await postJson(`${gw.url}/llm/chat`, { messages: userMessage() });
    assert.equal(full.status, 200, full.text);
    const res = await openStream(`${gw.url}/llm/chat/stream`, { messages: userMessage() });
    assert.equal(res.status, 200);
    await sleep(300);
    const termAt = performance.now();
    gw.kill('SIGTERM');
    const s = await readTextStream(res);
    assert.equal(s.text, full.json.result, 'the streamed text differs from the complete answer');
    assert.ok(s.endAt - termAt > 800, 'the stream should have run on after SIGTERM');
    const info = await gw.waitExit(8000);
    assert.deepEqual(info, { code: 0, signal: null }, gw.output());
  });

  test('a stream longer than shutdown_grace_ms is ended at the deadline and the process exits', { timeout: 30000 }, async () => {
    const gw = await startGateway(gatewayConfig(
      { endless: openaiModel(mock, ['term-grace;gap=200;tokens=100']) },
      { server: { shutdown_grace_ms: 1000 } }));
    const res = await openStream(`${gw.url}/v1/chat/completions`, { model: 'endless', messages: userMessage(), stream: true });
    assert.equal(res.status, 200);
    const termAt = performance.now();
    let exitMs = null;
    const exited = gw.exited.then(() => { exitMs = performance.now() - termAt; });
    await sleep(100);
    gw.kill('SIGTERM');
    await readOpenAiStream(res).catch(() => {});  // cut off: either ends early or errors
    await Promise.race([exited, sleep(8000)]);
    assert.ok(exitMs !== null, 'still running 8 s after SIGTERM with a 1 s grace');
    assert.ok(exitMs < 5000, `exited ${exitMs.toFixed(0)} ms after SIGTERM with a 1 s grace`);
  });
  test('SIGTERM with many upstream connections pooled and streams running exits cleanly', { timeout: 40000 }, async () => {
    // Each worker's upstream client holds sockets of that worker's event loop: they must be
    // closed before the loop is torn down (a heap corruption at exit once did otherwise).
    const gw = await startGateway(gatewayConfig({ m: openaiModel(mock, ['term-many;tokens=20;gap=0']) },
      { upstream: { pool_max_idle_per_origin: 256 } }));
    const body = { model: 'm', messages: userMessage(), stream: true };
    const streams = Array.from({ length: 800 }, () => fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    }).then((r) => r.text()).catch(() => ''));
    await sleep(250);
    const info = await gw.signal('SIGTERM');
    await Promise.all(streams);
    assert.deepEqual(info, { code: 0, signal: null }, gw.stderr.split('\n').slice(-5).join('\n'));
    assert.doesNotMatch(gw.stderr, /corrupted|double free|terminate called/);
  });
});
