// The seed's routes made whole: /llm/chat and /llm/chat/stream take an optional `model`,
// `temperature` and `max_tokens` (checked; the error names the member), answer tool calls
// as {"result": "", "tool_calls": [...]}, and every /llm report writes numbers as plain
// decimals.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  gatewayConfig, mockModel, openStream, openaiModel, postJson, readTextStream, request,
  startGateway, startMockllm, stopAll, userMessage, zhipuModel,
} from './harness.mjs';

const WEATHER_TOOL = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

describe('the native /llm routes', { timeout: 90000 }, () => {
  let gw;
  before(async () => {
    const mock = await startMockllm();
    gw = await startGateway(gatewayConfig({
      // response_time: effective weights are small fractions (0.0027), latencies too.
      'nat-openai': openaiModel(mock, [{ key: 'nat-oa;tokens=6', weight: 1, name: 'nat-oa' }],
        { strategy: 'response_time' }),
      'nat-zhipu': zhipuModel(mock, [{ key: 'nat-zp;tokens=6', weight: 1, name: 'nat-zp' }]),
      'nat-tools': openaiModel(mock, [{ key: 'nat-tools;tool_call', weight: 1, name: 'nat-tools' }],
        { supports_tools: true }),
      'nat-builtin': mockModel({ reply: 'one two three four five six seven eight' }),
    }));
  });
  after(stopAll);

  test('"model" sends /llm/chat to that model only', { timeout: 15000 }, async () => {
    for (let i = 0; i < 6; i += 1) {
      const r = await postJson(`${gw.url}/llm/chat`, { model: 'nat-zhipu', messages: userMessage() });
      assert.equal(r.status, 200, r.text);
      assert.ok(r.json.result.includes('nat-zp'), r.text);
      assert.ok(!('tool_calls' in r.json), r.text);
    }
  });

  test('"model" sends /llm/chat/stream to that model only', { timeout: 15000 }, async () => {
    for (let i = 0; i < 4; i += 1) {
      const res = await openStream(`${gw.url}/llm/chat/stream`, { model: 'nat-openai', messages: userMessage() });
      assert.equal(res.status, 200);
      const s = await readTextStream(res);
      assert.ok(s.text.includes('nat-oa'), s.text);
    }
  });

  test('no model, or "auto", still balances over every model', { timeout: 20000 }, async () => {
    const seen = new Set();
    for (let i = 0; i < 40 && seen.size < 2; i += 1) {
      const r = await postJson(`${gw.url}/llm/chat`, { model: i % 2 ? 'auto' : undefined, messages: userMessage() });
      assert.equal(r.status, 200, r.text);
      if (r.json.result.includes('nat-oa')) seen.add('openai');
      if (r.json.result.includes('nat-zp')) seen.add('zhipu');
    }
    assert.equal(seen.size, 2, [...seen].join());
  });

  test('an unknown model is a 404 model_not_found', { timeout: 10000 }, async () => {
    const r = await postJson(`${gw.url}/llm/chat`, { model: 'nope', messages: userMessage() });
    assert.equal(r.status, 404, r.text);
    assert.equal(r.json.error.code, 'model_not_found');
    assert.equal(r.json.error.param, null);
  });

  test('max_tokens limits the answer; temperature is accepted', { timeout: 15000 }, async () => {
    const r = await postJson(`${gw.url}/llm/chat`,
      { model: 'nat-builtin', messages: userMessage(), max_tokens: 3, temperature: 0.3 });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.result, 'one two three');
    const res = await openStream(`${gw.url}/llm/chat/stream`,
      { model: 'nat-builtin', messages: userMessage(), max_tokens: 2 });
    assert.equal((await readTextStream(res)).text, 'one two');
  });

  test('a wrong temperature or max_tokens is a 400 naming the member', { timeout: 10000 }, async () => {
    const cases = [
      [{ temperature: 'hot' }, 'temperature'],
      [{ temperature: 3 }, 'temperature'],
      [{ max_tokens: 0 }, 'max_tokens'],
      [{ max_tokens: 2.5 }, 'max_tokens'],
      [{ max_tokens: '10' }, 'max_tokens'],
    ];
    for (const [fields, member] of cases) {
      for (const path of ['/llm/chat', '/llm/chat/stream']) {
        const r = await postJson(`${gw.url}${path}`, { model: 'nat-builtin', messages: userMessage(), ...fields });
        assert.equal(r.status, 400, `${path} ${JSON.stringify(fields)}: ${r.text}`);
        assert.equal(r.json.error.code, 'invalid_parameter');
        assert.ok(r.json.error.message.includes(`'${member}'`), r.text);
        assert.equal(r.json.error.param, member, r.text);
      }
    }
  });

  test('a tool call is answered as {"result": "", "tool_calls": [...]}', { timeout: 15000 }, async () => {
    const r = await postJson(`${gw.url}/llm/chat`, {
      model: 'nat-tools', messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [WEATHER_TOOL],
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.result, '');
    assert.equal(r.json.tool_calls.length, 1, r.text);
    const call = r.json.tool_calls[0];
    assert.equal(call.type, 'function');
    assert.equal(call.function.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris' });
    assert.equal(typeof call.id, 'string');
  });

  test('tools to a model without supports_tools is a 400 tools_not_supported', { timeout: 10000 }, async () => {
    const r = await postJson(`${gw.url}/llm/chat`,
      { model: 'nat-zhipu', messages: userMessage(), tools: [WEATHER_TOOL] });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error.code, 'tools_not_supported');
    assert.equal(r.json.error.param, 'tools');
  });

  test('every /llm report writes numbers as plain decimals', { timeout: 15000 }, async () => {
    for (let i = 0; i < 4; i += 1) await postJson(`${gw.url}/llm/chat`, { messages: userMessage() });
    const exponent = /[:[,]\s*-?\d+(\.\d+)?[eE][+-]?\d/;
    const capacity = await request(`${gw.url}/llm/system-capacity`);
    assert.equal(capacity.status, 200);
    const keyId = capacity.json.details['nat-openai'].keys[0].key;
    const reports = ['/llm/system-load', '/llm/system-capacity',
      `/llm/key-load/nat-openai/${encodeURIComponent(keyId)}`];
    let fractions = 0;
    for (const path of reports) {
      const r = await request(`${gw.url}${path}`);
      assert.equal(r.status, 200, `${path}: ${r.text}`);
      assert.doesNotMatch(r.text, exponent, `${path}: ${r.text}`);
      fractions += (r.text.match(/:\s*-?\d+\.\d+/g) ?? []).length;
    }
    assert.ok(fractions > 0, 'no report had a fractional number to check');
  });
});
