// Anthropic's official `@anthropic-ai/sdk`, used as any application would, against the
// gateway's /v1/messages: messages.create, messages.stream with tools and finalMessage(),
// countTokens, and the client's typed APIErrors (status and type). Once through an
// OpenAI-style upstream and once through an `anthropic` upstream, both on mockllm. The
// gateway requires a client key, which the SDK sends as `x-api-key`.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import {
  gatewayConfig, openaiModel, providerModel, startGateway, startMockllm, stopAll, waitFor, tempDir,
} from '../integration/harness.mjs';

const CLIENT_KEY = 'sk-client-anthropic-sdk-000000001';

const weatherTool = {
  name: 'get_weather',
  description: 'The weather now in a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

describe('official @anthropic-ai/sdk client', { timeout: 60000 }, () => {
  let gw;
  let client;
  const ledger = path.join(tempDir('bc-anthropic-'), 'usage.db');
  before(async () => {
    const mock = await startMockllm();
    const tools = { supports_tools: true };
    gw = await startGateway({
      ...gatewayConfig({
        'oa-upstream': openaiModel(mock, [{ key: 'an-oa;tokens=6', weight: 1, name: 'an-oa' }], tools),
        'oa-tools': openaiModel(mock, [{ key: 'an-oa-tools;tool_call', weight: 1, name: 'an-oa-tools' }], tools),
        'oa-broken': openaiModel(mock, [{ key: 'an-oa-broken;status=500', weight: 1, name: 'an-oa-broken' }],
          { max_retries: 0 }),
        'oa-midstream': openaiModel(mock, [{ key: 'an-oa-mid;error_in_stream;tokens=6', weight: 1, name: 'an-oa-mid' }]),
        'oa-thinking': openaiModel(mock, [{ key: 'an-oa-think;think=700;tokens=3', weight: 1, name: 'an-oa-think' }]),
        'claude-upstream': providerModel(mock, 'anthropic', [{ key: 'an-cl;tokens=6', weight: 1, name: 'an-cl' }], tools),
        'claude-tools': providerModel(mock, 'anthropic', [{ key: 'an-cl-tools;tool_call', weight: 1, name: 'an-cl-tools' }], tools),
        'claude-broken': providerModel(mock, 'anthropic', [{ key: 'an-cl-broken;status=500', weight: 1, name: 'an-cl-broken' }],
          { max_retries: 0 }),
        'claude-midstream': providerModel(mock, 'anthropic', [{ key: 'an-cl-mid;error_in_stream;tokens=6', weight: 1, name: 'an-cl-mid' }]),
      }),
      auth: { client_keys: [{ name: 'sdk', key: CLIENT_KEY }] },
      // The head at once and a heartbeat after 100 ms of silence: pings in every slow stream.
      stream: { hold_ms: 0, heartbeat_ms: 100 },
      usage: { path: ledger, flush_ms: 50 },
    });
    client = new Anthropic({ baseURL: gw.url, apiKey: CLIENT_KEY, maxRetries: 0, timeout: 10000 });
  });
  after(stopAll);

  // Whatever `fn` throws, as the APIError it must be.
  async function apiError(fn) {
    try {
      await fn();
    } catch (e) {
      assert.ok(e instanceof Anthropic.APIError, `not an APIError: ${e}`);
      return e;
    }
    assert.fail('no error was raised');
  }

  for (const upstream of [{ name: 'oa', key: 'an-oa' }, { name: 'claude', key: 'an-cl' }]) {
    const model = `${upstream.name}-upstream`;

    test(`${upstream.name}: messages.create answers a Message`, { timeout: 15000 }, async () => {
      const message = await client.messages.create({
        model,
        max_tokens: 200,
        system: [{ type: 'text', text: 'Be brief.' }],
        messages: [
          { role: 'user', content: 'Say hello.' },
          { role: 'assistant', content: [{ type: 'text', text: 'Hello?' }] },
          { role: 'user', content: [{ type: 'text', text: 'Again, please.' }] },
        ],
        temperature: 0.2,
        top_p: 0.9,
        top_k: 20,
        stop_sequences: ['NEVER-SEEN'],
        metadata: { user_id: 'conformance' },
      });
      assert.equal(message.type, 'message');
      assert.equal(message.role, 'assistant');
      assert.equal(message.model, model);
      assert.match(message.id, /^msg_/);
      assert.equal(message.stop_reason, 'end_turn');
      assert.equal(message.content[0].type, 'text');
      assert.ok(message.content[0].text.includes(upstream.key), message.content[0].text);
      assert.ok(message.usage.input_tokens > 0, JSON.stringify(message.usage));
      assert.ok(message.usage.output_tokens > 0, JSON.stringify(message.usage));
      // Through an `anthropic` upstream the request and the Message pass through whole:
      // mockllm's echo of the fields it received survives; the translation has no such field.
      if (upstream.name === 'claude') {
        assert.ok(message.mock_request_keys.includes('top_k'), JSON.stringify(message));
      } else {
        assert.equal(message.mock_request_keys, undefined);
      }
    });

    test(`${upstream.name}: messages.stream with tools, finalMessage()`, { timeout: 15000 }, async () => {
      const stream = client.messages.stream({
        model: `${upstream.name}-tools`,
        max_tokens: 200,
        messages: [{ role: 'user', content: 'Weather in Paris?' }],
        tools: [weatherTool],
        tool_choice: { type: 'auto' },
      });
      const kinds = new Set();
      stream.on('streamEvent', (event) => kinds.add(event.type));
      const message = await stream.finalMessage();
      for (const kind of ['message_start', 'content_block_start', 'content_block_delta',
        'content_block_stop', 'message_delta', 'message_stop']) {
        assert.ok(kinds.has(kind), `no ${kind} event in ${[...kinds]}`);
      }
      assert.equal(message.stop_reason, 'tool_use');
      const call = message.content.find((b) => b.type === 'tool_use');
      assert.ok(call, JSON.stringify(message.content));
      assert.equal(call.name, 'get_weather');
      assert.equal(typeof call.input, 'object');
      assert.ok(message.usage.output_tokens > 0, JSON.stringify(message.usage));

      // The tool's result goes back as the next turn, as an agent loop sends it.
      const next = await client.messages.create({
        model,
        max_tokens: 200,
        messages: [
          { role: 'user', content: 'Weather in Paris?' },
          { role: 'assistant', content: message.content },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: 'Sunny, 21 C' }] },
        ],
        tools: [weatherTool],
      });
      assert.equal(next.stop_reason, 'end_turn');
      assert.ok(next.content[0].text.length > 0);
    });

    test(`${upstream.name}: messages.stream of text, read event by event`, { timeout: 15000 }, async () => {
      const stream = client.messages.stream({
        model, max_tokens: 100, messages: [{ role: 'user', content: 'Say hello.' }],
      });
      let text = '';
      stream.on('text', (delta) => { text += delta; });
      const message = await stream.finalMessage();
      assert.ok(text.includes(upstream.key), text);
      assert.equal(message.content[0].text, text);
      assert.equal(message.stop_reason, 'end_turn');
    });

    test(`${upstream.name}: countTokens, the upstream's count or the gateway's estimate`, { timeout: 10000 }, async () => {
      const counted = await client.messages.countTokens({
        model,
        system: 'Be brief.',
        messages: [{ role: 'user', content: 'How many tokens is this sentence, roughly?' }],
        tools: [weatherTool],
      });
      assert.equal(typeof counted.input_tokens, 'number');
      if (upstream.name === 'claude') {
        // Counted by the upstream: mockllm counts the words of the system prompt and messages.
        assert.equal(counted.input_tokens, 9, JSON.stringify(counted));
      } else {
        // Estimated: a quarter of the bytes of every text, the tool's definition included.
        assert.ok(counted.input_tokens > 10, JSON.stringify(counted));
      }
    });

    test(`${upstream.name}: an upstream failure is an APIError of type api_error`, { timeout: 15000 }, async () => {
      const e = await apiError(() => client.messages.create({
        model: `${upstream.name}-broken`, max_tokens: 50, messages: [{ role: 'user', content: 'hi' }],
      }));
      assert.ok(e.status >= 500, `status ${e.status}`);
      assert.equal(e.type, 'api_error');
    });

    test(`${upstream.name}: an upstream failure mid-stream is an error event`, { timeout: 15000 }, async () => {
      const stream = client.messages.stream({
        model: `${upstream.name}-midstream`, max_tokens: 50, messages: [{ role: 'user', content: 'hi' }],
      });
      const e = await apiError(() => stream.finalMessage());
      // mockllm's OpenAI format reports a 500 there, its Anthropic one an overloaded_error.
      assert.ok(['api_error', 'overloaded_error'].includes(e.type), `${e.type}: ${e.message}`);
    });
  }

  test('the raw event stream: message_start first, pings while the upstream thinks', { timeout: 15000 }, async () => {
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': CLIENT_KEY, 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'oa-thinking', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/event-stream/);
    const names = [];
    for (const block of (await res.text()).split('\n\n').filter((b) => b.length > 0)) {
      const [eventLine, dataLine, ...rest] = block.split('\n');
      assert.equal(rest.length, 0, block);
      const name = eventLine.replace(/^event: /, '');
      assert.equal(JSON.parse(dataLine.replace(/^data: /, '')).type, name, block);
      names.push(name);
    }
    assert.equal(names[0], 'message_start', names.join());
    assert.ok(names.indexOf('ping') > 0 && names.indexOf('ping') < names.indexOf('content_block_start'),
      `no ping before the content: ${names.join()}`);
    assert.deepEqual(names.slice(-2), ['message_delta', 'message_stop']);
  });

  test('a missing max_tokens is a 400 invalid_request_error', { timeout: 10000 }, async () => {
    const e = await apiError(() => client.messages.create({
      model: 'oa-upstream', messages: [{ role: 'user', content: 'hi' }],
    }));
    assert.equal(e.status, 400);
    assert.ok(e instanceof Anthropic.BadRequestError);
    assert.equal(e.type, 'invalid_request_error');
    assert.match(e.message, /max_tokens/);
  });

  test('a wrong key is a 401 authentication_error', { timeout: 10000 }, async () => {
    const wrong = new Anthropic({ baseURL: gw.url, apiKey: 'sk-wrong', maxRetries: 0, timeout: 10000 });
    const e = await apiError(() => wrong.messages.create({
      model: 'oa-upstream', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }],
    }));
    assert.equal(e.status, 401);
    assert.ok(e instanceof Anthropic.AuthenticationError);
    assert.equal(e.type, 'authentication_error');
  });

  test('an unknown model is a 404 not_found_error', { timeout: 10000 }, async () => {
    const e = await apiError(() => client.messages.create({
      model: 'no-such-model', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }],
    }));
    assert.equal(e.status, 404);
    assert.equal(e.type, 'not_found_error');
  });

  test('the usage ledger records /v1/messages calls with their tokens, not count_tokens', { timeout: 10000 }, async () => {
    const sql = (query) => execFileSync('sqlite3', ['-readonly', ledger, query], { encoding: 'utf8' }).trim();
    await client.messages.create({ model: 'oa-upstream', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
    const row = await waitFor(() => {
      const r = sql("SELECT client, model, status, total_tokens > 0 FROM requests WHERE route = '/v1/messages' " +
        "AND model = 'oa-upstream' AND status = 200 LIMIT 1");
      return r.length > 0 && r;
    }, { timeoutMs: 5000, what: 'a ledger record of /v1/messages' });
    assert.equal(row, 'sdk|oa-upstream|200|1');
    assert.equal(sql("SELECT COUNT(*) FROM requests WHERE route LIKE '%count_tokens%'"), '0');
  });

  test('a bearer token is accepted as well as x-api-key', { timeout: 10000 }, async () => {
    const bearer = new Anthropic({ baseURL: gw.url, apiKey: null, authToken: CLIENT_KEY, maxRetries: 0, timeout: 10000 });
    const message = await bearer.messages.create({
      model: 'oa-upstream', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }],
    });
    assert.equal(message.type, 'message');
  });
});
