// POST /v1/messages to a model whose upstream is `anthropic`: the caller's request and the
// upstream's answer and events pass through without a round trip through the OpenAI shape.
// mockllm's Anthropic format echoes the request's field names (`mock_request_keys`), keeps
// its own message ids and counts tokens as words, so a test sees what crossed the gateway.
// Also: failover from a failing anthropic key to another, on 5xx and on 429.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  bodyChunks, gatewayConfig, mockReset, mockStats, openaiModel, postJson, providerModel,
  startGateway, startMockllm, stopAll,
} from './harness.mjs';

const HEADERS = { 'anthropic-version': '2023-06-01' };

// What the translation through the OpenAI shape has no word for.
const EXTRAS = {
  top_k: 5,
  metadata: { user_id: 'u-1' },
  thinking: { type: 'enabled', budget_tokens: 1024 },
  service_tier: 'auto',
};

function messagesBody(model, extra = {}) {
  return {
    model,
    max_tokens: 64,
    system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }],
    messages: [{ role: 'user', content: [{ type: 'text', text: 'Say hello please' }] }],
    ...extra,
  };
}

// The named events of a whole SSE body, with their data parsed.
async function readEvents(res) {
  let text = '';
  for await (const chunk of bodyChunks(res)) text += chunk.text;
  return text.split('\n\n').filter((b) => b.length > 0).map((block) => {
    const lines = block.split('\n');
    const name = lines.find((l) => l.startsWith('event: '))?.slice(7);
    const data = JSON.parse(lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n'));
    return { name, data };
  });
}

async function openMessages(url, body) {
  return fetch(`${url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...HEADERS },
    body: JSON.stringify({ ...body, stream: true }),
    signal: AbortSignal.timeout(10000),
  });
}

describe('/v1/messages passed through to an anthropic upstream', { timeout: 60000 }, () => {
  let mock;
  let gw;
  before(async () => {
    mock = await startMockllm();
    const tools = { supports_tools: true };
    gw = await startGateway(gatewayConfig({
      claude: providerModel(mock, 'anthropic', [{ key: 'pt-cl;tokens=6', name: 'pt-cl' }], tools),
      'claude-tools': providerModel(mock, 'anthropic', [{ key: 'pt-tools;tool_call', name: 'pt-tools' }], tools),
      gpt: openaiModel(mock, [{ key: 'pt-oa;tokens=6', name: 'pt-oa' }]),
      // A failing key weighs far more than the good one: it is picked first, and fails over.
      'claude-5xx': providerModel(mock, 'anthropic', [
        { key: 'pt-5xx-bad;status=500', name: 'pt-5xx-bad', weight: 1000 },
        { key: 'pt-5xx-ok;tokens=6', name: 'pt-5xx-ok', weight: 1 }], { max_retries: 2 }),
      // Its stream ends after message_start, the empty text block's start and a ping.
      'claude-cut': providerModel(mock, 'anthropic', [
        { key: 'pt-cut-bad;cut_after=0', name: 'pt-cut-bad', weight: 1000 },
        { key: 'pt-cut-ok;tokens=6', name: 'pt-cut-ok', weight: 1 }], { max_retries: 2 }),
      'claude-429': providerModel(mock, 'anthropic', [
        { key: 'pt-429-bad;status=429;retry_after=30', name: 'pt-429-bad', weight: 1000 },
        { key: 'pt-429-ok;tokens=6', name: 'pt-429-ok', weight: 1 }], { max_retries: 2 }),
    }));
  });
  after(stopAll);

  test('a Message comes back as the upstream sent it, but named as the caller asked', async () => {
    const r = await postJson(`${gw.url}/v1/messages`, messagesBody('claude', EXTRAS), { headers: HEADERS });
    assert.equal(r.status, 200, r.text);
    const m = r.json;
    // Every field of the caller's request reached the upstream, the translation's gaps too.
    assert.deepEqual(m.mock_request_keys,
      ['max_tokens', 'messages', 'metadata', 'model', 'service_tier', 'system', 'thinking', 'top_k']);
    assert.match(m.id, /^msg_mock/);  // the upstream's id, not the gateway's
    assert.equal(m.model, 'claude');   // the upstream's id is claude-3-5-haiku-latest
    assert.ok(m.content[0].text.includes('pt-cl'), m.content[0].text);
    assert.equal(m.usage.cache_read_input_tokens, 0);  // the upstream's usage, whole
    assert.equal(m.usage.output_tokens, 6);
  });

  test('translated for an OpenAI-style upstream: no upstream fields, the gateway\'s id', async () => {
    const r = await postJson(`${gw.url}/v1/messages`, messagesBody('gpt', EXTRAS), { headers: HEADERS });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.mock_request_keys, undefined);
    assert.doesNotMatch(r.json.id, /^msg_mock/);
  });

  test('a block type the translation refuses passes through to an anthropic upstream', async () => {
    const document = { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'Some notes' } };
    const body = {
      model: 'claude',
      max_tokens: 32,
      messages: [{ role: 'user', content: [document, { type: 'text', text: 'Summarize it' }] }],
    };
    const r = await postJson(`${gw.url}/v1/messages`, body, { headers: HEADERS });
    assert.equal(r.status, 200, r.text);
    // The same request for a translated upstream is refused, naming the block.
    const refused = await postJson(`${gw.url}/v1/messages`, { ...body, model: 'gpt' }, { headers: HEADERS });
    assert.equal(refused.status, 400, refused.text);
    assert.match(refused.json.error.message, /document/);
  });

  test('a stream relays the upstream\'s events one by one, tool_use and input_json_delta included', async () => {
    const res = await openMessages(gw.url, {
      model: 'claude-tools',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools: [{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
      top_k: 3,
    });
    assert.equal(res.status, 200);
    const events = await readEvents(res);
    const names = events.map((e) => e.name);
    // mockllm's own sequence: its ping right after the first block starts, one block.
    assert.deepEqual(names.slice(0, 3), ['message_start', 'content_block_start', 'ping'], names.join());
    assert.deepEqual(names.slice(-3), ['content_block_stop', 'message_delta', 'message_stop'], names.join());
    for (const e of events) assert.equal(e.data.type, e.name);
    const start = events[0].data.message;
    assert.match(start.id, /^msg_mock/);
    assert.equal(start.model, 'claude-tools');
    assert.ok(start.mock_request_keys.includes('top_k'), JSON.stringify(start.mock_request_keys));
    assert.equal(events[1].data.content_block.type, 'tool_use');
    const json = events.filter((e) => e.name === 'content_block_delta')
      .map((e) => { assert.equal(e.data.delta.type, 'input_json_delta'); return e.data.delta.partial_json; }).join('');
    assert.deepEqual(JSON.parse(json), { city: 'Paris' });
    assert.equal(events.at(-2).data.delta.stop_reason, 'tool_use');
  });

  test('count_tokens is the upstream\'s count, not the gateway\'s estimate', async () => {
    const body = {
      model: 'claude',
      system: 'Be brief.',
      messages: [{ role: 'user', content: 'How many tokens is this sentence, roughly?' }],
    };
    const r = await postJson(`${gw.url}/v1/messages/count_tokens`, body, { headers: HEADERS });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { input_tokens: 9 });  // mockllm counts words: 2 + 7
    const stats = (await mockStats(mock)).keys;
    assert.ok(stats['pt-cl'].requests >= 1);
    // The gateway's estimate for an OpenAI-style upstream: (9 + 42 bytes) / 4, rounded up.
    const estimated = await postJson(`${gw.url}/v1/messages/count_tokens`, { ...body, model: 'gpt' }, { headers: HEADERS });
    assert.equal(estimated.status, 200, estimated.text);
    assert.equal(estimated.json.input_tokens, 13);
  });

  test('an upstream 5xx fails over to the next anthropic key, streamed or not', async () => {
    await mockReset(mock);
    const whole = await postJson(`${gw.url}/v1/messages`, messagesBody('claude-5xx'), { headers: HEADERS });
    assert.equal(whole.status, 200, whole.text);
    assert.ok(whole.json.content[0].text.includes('pt-5xx-ok'), whole.text);
    const res = await openMessages(gw.url, messagesBody('claude-5xx'));
    assert.equal(res.status, 200);
    const events = await readEvents(res);
    assert.equal(events[0].name, 'message_start');
    assert.equal(events.filter((e) => e.name === 'message_start').length, 1);
    assert.equal(events.at(-1).name, 'message_stop');
    const text = events.filter((e) => e.name === 'content_block_delta').map((e) => e.data.delta.text).join('');
    assert.ok(text.includes('pt-5xx-ok'), text);
    const stats = (await mockStats(mock)).keys;
    assert.ok(stats['pt-5xx-bad'].requests >= 1, JSON.stringify(stats));
  });

  test('a stream cut before any content fails over: the upstream\'s first events were held', async () => {
    await mockReset(mock);
    const res = await openMessages(gw.url, messagesBody('claude-cut'));
    assert.equal(res.status, 200);
    const events = await readEvents(res);
    const names = events.map((e) => e.name);
    // One message_start (the second key's), no error, the whole answer of the second key.
    assert.equal(names.filter((n) => n === 'message_start').length, 1, names.join());
    assert.ok(!names.includes('error'), names.join());
    assert.equal(names.at(-1), 'message_stop');
    const text = events.filter((e) => e.name === 'content_block_delta').map((e) => e.data.delta.text).join('');
    assert.ok(text.includes('pt-cut-ok'), text);
    const stats = (await mockStats(mock)).keys;
    assert.ok(stats['pt-cut-bad'].requests >= 1, JSON.stringify(stats));
  });

  test('an upstream 429 cools the key and fails over to the next one', async () => {
    await mockReset(mock);
    for (let i = 0; i < 3; i++) {
      const r = await postJson(`${gw.url}/v1/messages`, messagesBody('claude-429'), { headers: HEADERS });
      assert.equal(r.status, 200, r.text);
      assert.ok(r.json.content[0].text.includes('pt-429-ok'), r.text);
    }
    const stats = (await mockStats(mock)).keys;
    // Tried once, then left alone for its Retry-After.
    assert.equal(stats['pt-429-bad'].requests, 1, JSON.stringify(stats));
    assert.equal(stats['pt-429-ok'].requests, 3, JSON.stringify(stats));
  });

  test('the gateway still checks a request before it passes through', async () => {
    const r = await postJson(`${gw.url}/v1/messages`, { ...messagesBody('claude'), max_tokens: 'many' }, { headers: HEADERS });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.type, 'error');
    assert.equal(r.json.error.type, 'invalid_request_error');
  });
});
