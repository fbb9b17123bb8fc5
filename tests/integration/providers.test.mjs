// Every provider type, end to end through the real gateway and mockllm (which speaks each
// upstream's native wire format and validates what it is sent):
// - the same client request reaches the client in the same OpenAI shape, non-stream and
//   streamed, whichever upstream format served it;
// - tool calls round-trip (OpenAI tool_calls out, the assistant call and the tool result
//   accepted back in each native shape);
// - the official `openai` npm client reassembles streamed tool-call arguments;
// - an upstream error of each class has its effect, seen from outside: the key's state in
//   /llm/system-capacity and the status the client gets;
// - Baidu legacy's access-token exchange and Zhipu's JWT auth.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import {
  gatewayConfig, mockModel, mockProviders, mockStats, openAiError, openStream, postJson,
  providerModel, readOpenAiStream, request, startGateway, startMockllm, stopAll,
} from './harness.mjs';

const TYPES = Object.keys(mockProviders);  // openai, zhipu, anthropic, gemini, ollama, baidu-v2, baidu-legacy, spark
const TOOL_TYPES = ['openai', 'anthropic', 'gemini', 'zhipu'];

// A key for mockllm: `<name>[;opt...]`; Baidu legacy keys are `<API Key>:<Secret Key>` and the
// API Key is what steers the mock.
const mockKey = (type, nameAndOptions) =>
  (type === 'baidu-legacy' ? `${nameAndOptions}:secret-${nameAndOptions.split(';')[0]}` : nameAndOptions);
const namedKey = (type, name, options = '', extra = {}) =>
  ({ key: mockKey(type, options ? `${name};${options}` : name), name, weight: 1, ...extra });

const MESSAGES = [
  { role: 'system', content: 'Answer briefly.' },
  { role: 'user', content: 'Say hello to the tests.' },
];

const WEATHER_TOOL = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

// Per provider: the key options that make mockllm answer with one error class. Gemini says
// a key is invalid with a 400 whose ErrorInfo reason is API_KEY_INVALID; Baidu legacy
// rejects a wrong key pair at the token exchange (`status=401` without `fail_first`).
function errorRecipes(type) {
  return {
    rate: 'status=429;retry_after=30',
    invalid: type === 'gemini' ? 'status=400;code=API_KEY_INVALID' : 'status=401',
    bad: 'status=400',
    down: 'status=500',
  };
}

// Provider-specific error classes (reference tables): the key's state afterwards, with the
// request served by the healthy key; or `fail`: the client gets that status and no key is
// punished.
const QUIRKS = [
  { type: 'openai', options: 'status=429;code=insufficient_quota', effect: 'quarantined', why: 'out of credit' },
  { type: 'zhipu', options: 'status=429;code=1113', effect: 'quarantined', why: 'account in arrears (1113)' },
  { type: 'zhipu', options: 'status=429;code=1303;retry_after=30', effect: 'cooling', why: 'request frequency (1303)' },
  { type: 'anthropic', options: 'status=529', effect: 'ok', why: '529 overloaded: not the key\'s fault' },
  { type: 'anthropic', options: 'status=429;code=enforced_spend_limit_reached', effect: 'quarantined', why: 'spend limit' },
  { type: 'anthropic', options: 'status=402', effect: 'quarantined', why: 'billing error' },
  { type: 'gemini', options: 'status=429;code=GenerateRequestsPerDayPerProjectPerModel-FreeTier', effect: 'cooling', why: 'daily quota' },
  { type: 'gemini', options: 'status=403', effect: 'quarantined', why: 'PERMISSION_DENIED' },
  { type: 'baidu-v2', options: 'status=429;error_200', effect: 'cooling', why: 'rate limit inside HTTP 200' },
  // The hint of an error inside a 200 comes from the answer's headers (its own 20 s otherwise).
  { type: 'baidu-v2', options: 'status=429;error_200;retry_after=45', effect: 'cooling', minRemainingMs: 40000,
    why: 'rate limit inside HTTP 200 with Retry-After: 45' },
  { type: 'baidu-v2', options: 'status=401;error_200', effect: 'quarantined', why: 'invalid key inside HTTP 200' },
  { type: 'baidu-v2', options: 'status=400;error_200', fail: 400, why: 'bad request inside HTTP 200' },
  { type: 'baidu-legacy', options: 'status=429;code=18', effect: 'cooling', why: 'QPS limit (18)' },
  { type: 'baidu-legacy', options: 'status=403', effect: 'quarantined', why: 'no permission (6)' },
  { type: 'spark', options: 'status=429;error_200', effect: 'cooling', why: 'rate limit (11202) inside HTTP 200' },
  { type: 'spark', options: 'status=401;error_200', effect: 'quarantined', why: 'not authorized (11200) inside HTTP 200' },
  { type: 'spark', options: 'status=403', effect: 'quarantined', why: 'app id authorization (10016)' },
  { type: 'spark', options: 'status=400;error_200', fail: 400, why: 'bad request (10003) inside HTTP 200' },
];

async function capacity(gw) {
  const r = await request(`${gw.url}/llm/system-capacity`, { timeoutMs: 5000 });
  assert.equal(r.status, 200, r.text);
  return r.json;
}

async function keyStates(gw, model) {
  const details = (await capacity(gw)).details?.[model];
  assert.ok(details, `no details for ${model} in /llm/system-capacity`);
  return Object.fromEntries(details.keys.map((k) => [k.key, k.state]));
}

// Checks one non-stream answer's OpenAI shape and returns its message.
function checkCompletion(r, { finish = 'stop' } = {}) {
  assert.equal(r.status, 200, r.text);
  const c = r.json;
  assert.equal(c.object, 'chat.completion', r.text);
  assert.equal(typeof c.id, 'string', r.text);
  assert.equal(typeof c.created, 'number', r.text);
  assert.equal(c.choices.length, 1, r.text);
  assert.equal(c.choices[0].index, 0, r.text);
  assert.equal(c.choices[0].message.role, 'assistant', r.text);
  assert.equal(c.choices[0].finish_reason, finish, r.text);
  const u = c.usage;
  assert.ok(u && Number.isInteger(u.prompt_tokens) && u.prompt_tokens >= 1, `usage: ${r.text}`);
  assert.ok(Number.isInteger(u.completion_tokens) && u.completion_tokens >= 1, `usage: ${r.text}`);
  assert.equal(u.total_tokens, u.prompt_tokens + u.completion_tokens, `usage: ${r.text}`);
  return c.choices[0].message;
}

// Reads one stream and checks its OpenAI chunk shape; resolves the readOpenAiStream result
// plus the finish reason and the usage chunk's usage (if any).
async function readCheckedStream(res) {
  assert.equal(res.status, 200, await (res.status === 200 ? '' : res.text()));
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const s = await readOpenAiStream(res);
  assert.ok(s.done, 'the stream did not end with data: [DONE]');
  assert.equal(s.afterDone.length, 0, 'events after [DONE]');
  const finishes = [];
  let usage = null;
  for (const chunk of s.chunks) {
    assert.equal(chunk.object, 'chat.completion.chunk', JSON.stringify(chunk));
    assert.equal(typeof chunk.id, 'string', JSON.stringify(chunk));
    const choice = chunk.choices?.[0];
    if (choice?.finish_reason != null) finishes.push(choice.finish_reason);
    if (chunk.usage) usage = chunk.usage;
  }
  assert.equal(finishes.length, 1, `finish reasons: ${JSON.stringify(finishes)}`);
  return { ...s, finish: finishes[0], usage };
}

describe('every provider type through the gateway', { timeout: 240000 }, () => {
  let mock;
  let gw;
  const models = {};
  before(async () => {
    mock = await startMockllm();
    for (const type of TYPES) {
      models[`shape-${type}`] = providerModel(mock, type, [namedKey(type, `shape-${type}`)]);
      if (TOOL_TYPES.includes(type)) {
        models[`tools-${type}`] = providerModel(mock, type, [namedKey(type, `tools-${type}`, 'tool_call')],
          { supports_tools: true });
      }
      const recipes = errorRecipes(type);
      // The failing key is 100 times as likely to be picked first; the test sends until it
      // has been tried.
      for (const cls of ['rate', 'invalid']) {
        models[`${cls}-${type}`] = providerModel(mock, type, [
          namedKey(type, `${cls}-${type}-bad`, recipes[cls], { weight: 100 }),
          namedKey(type, `${cls}-${type}-good`),
        ], { cooldown_ms: 60000, queue_timeout_ms: 0 });
      }
      for (const cls of ['bad', 'down']) {
        models[`${cls}-${type}`] = providerModel(mock, type, [
          namedKey(type, `${cls}-${type}-a`, recipes[cls]),
          namedKey(type, `${cls}-${type}-b`, recipes[cls]),
        ], { cooldown_ms: 60000, queue_timeout_ms: 0 });
      }
    }
    QUIRKS.forEach((q, i) => {
      const fail = q.fail !== undefined;
      models[`q${i}-${q.type}`] = providerModel(mock, q.type, [
        namedKey(q.type, `q${i}-${q.type}-${fail ? 'a' : 'bad'}`, q.options, fail ? {} : { weight: 100 }),
        namedKey(q.type, `q${i}-${q.type}-${fail ? 'b' : 'good'}`, fail ? q.options : ''),
      ], { cooldown_ms: 60000, queue_timeout_ms: 0 });
    });
    models['shape-mock'] = mockModel({ latency_ms: 10, tokens_per_second: 500 });
    models['legacy-reuse'] = providerModel(mock, 'baidu-legacy', [namedKey('baidu-legacy', 'legacy-reuse')]);
    models['legacy-expired'] = providerModel(mock, 'baidu-legacy',
      [namedKey('baidu-legacy', 'legacy-expired', 'fail_first=1;status=401;code=111')]);
    models['zhipu-jwt'] = providerModel(mock, 'zhipu', [{ key: 'jwt-id-42.jwt-secret-xyz', name: 'jwt-key' }],
      { jwt_auth: true });
    gw = await startGateway(gatewayConfig(models));
  });
  after(stopAll);

  // -------------------------------------------------------------------------------------
  // 1. The same answer in the same OpenAI shape, non-stream and streamed.

  for (const type of [...TYPES, 'mock']) {
    const model = `shape-${type}`;
    test(`${type}: non-stream and streamed answers have OpenAI's shape and the same text`, { timeout: 20000 }, async () => {
      const r = await postJson(`${gw.url}/v1/chat/completions`, { model, messages: MESSAGES });
      const message = checkCompletion(r);
      assert.ok(typeof r.json.model === 'string' && r.json.model !== '', r.text);
      if (type === 'mock') {
        assert.ok(typeof message.content === 'string' && message.content.length > 0, r.text);
      } else {
        // mockllm's deterministic answer names the upstream model and the key that served it.
        assert.equal(message.content, `Hello from ${mockProviders[type].model} via shape-${type}`, r.text);
        assert.equal(r.json.usage.completion_tokens, 5, r.text);
      }

      const res = await openStream(`${gw.url}/v1/chat/completions`,
        { model, messages: MESSAGES, stream: true, stream_options: { include_usage: true } });
      const s = await readCheckedStream(res);
      assert.equal(s.finish, 'stop');
      assert.equal(s.content, message.content, 'streamed text differs from the non-stream text');
      assert.ok(s.chunks.every((c) => c.model === r.json.model), `chunk model: ${JSON.stringify(s.chunks[0])}`);
      assert.ok(s.usage, 'no usage chunk although stream_options.include_usage was true');
      assert.deepEqual(
        { prompt: s.usage.prompt_tokens, completion: s.usage.completion_tokens, total: s.usage.total_tokens },
        { prompt: r.json.usage.prompt_tokens, completion: r.json.usage.completion_tokens, total: r.json.usage.total_tokens });
    });
  }

  // -------------------------------------------------------------------------------------
  // 2. Tool calls round-trip.

  for (const type of TOOL_TYPES) {
    const model = `tools-${type}`;
    test(`${type}: a tool call reaches the client as OpenAI tool_calls and the result goes back upstream`, { timeout: 20000 }, async () => {
      const first = [{ role: 'user', content: 'What is the weather in Paris?' }];
      const r = await postJson(`${gw.url}/v1/chat/completions`, { model, messages: first, tools: [WEATHER_TOOL] });
      const message = checkCompletion(r, { finish: 'tool_calls' });
      assert.ok(Array.isArray(message.tool_calls) && message.tool_calls.length === 1, r.text);
      const call = message.tool_calls[0];
      assert.equal(call.type, 'function', r.text);
      assert.ok(typeof call.id === 'string' && call.id.length > 0, r.text);
      assert.equal(call.function.name, 'get_weather', r.text);
      assert.equal(typeof call.function.arguments, 'string', r.text);
      assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris' });

      // The follow-up turn carries the assistant's call and the tool's result.
      const before = (await mockStats(mock)).keys[`tools-${type}`]?.completed ?? 0;
      const followUp = [
        ...first,
        { role: 'assistant', content: null, tool_calls: [call] },
        { role: 'tool', tool_call_id: call.id, content: '{"temperature_c":21,"sky":"clear"}' },
      ];
      const r2 = await postJson(`${gw.url}/v1/chat/completions`, { model, messages: followUp, tools: [WEATHER_TOOL] });
      const m2 = checkCompletion(r2, { finish: 'tool_calls' });  // the mock calls the tool again
      assert.equal(m2.tool_calls?.[0]?.function?.name, 'get_weather', r2.text);
      const r3 = await postJson(`${gw.url}/v1/chat/completions`, { model, messages: followUp });
      const m3 = checkCompletion(r3);  // without tools: text
      assert.equal(m3.content, `Hello from ${mockProviders[type].model} via tools-${type}`, r3.text);
      const after = (await mockStats(mock)).keys[`tools-${type}`].completed;
      assert.equal(after - before, 2, 'the upstream did not answer both follow-ups');
    });

    test(`${type}: the streamed tool call arrives as OpenAI tool_call deltas`, { timeout: 20000 }, async () => {
      const res = await openStream(`${gw.url}/v1/chat/completions`,
        { model, messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [WEATHER_TOOL], stream: true });
      const s = await readCheckedStream(res);
      assert.equal(s.finish, 'tool_calls');
      const calls = {};
      for (const chunk of s.chunks) {
        for (const tc of chunk.choices?.[0]?.delta?.tool_calls ?? []) {
          assert.ok(Number.isInteger(tc.index), JSON.stringify(tc));
          const c = (calls[tc.index] ??= { id: null, name: '', args: '' });
          if (tc.id) c.id = tc.id;
          if (tc.function?.name) c.name += tc.function.name;
          if (tc.function?.arguments) c.args += tc.function.arguments;
        }
      }
      assert.deepEqual(Object.keys(calls), ['0'], JSON.stringify(calls));
      assert.ok(calls[0].id, 'no tool call id');
      assert.equal(calls[0].name, 'get_weather');
      assert.deepEqual(JSON.parse(calls[0].args), { city: 'Paris' });
    });

    // 3. The official client reassembles the streamed arguments.
    test(`${type}: the official openai client reassembles streamed tool-call arguments`, { timeout: 20000 }, async () => {
      const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 10000 });
      const stream = await client.chat.completions.create({
        model, messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [WEATHER_TOOL], stream: true,
      });
      const calls = [];
      let finish = null;
      for await (const chunk of stream) {
        const choice = chunk.choices[0];
        if (!choice) continue;
        if (choice.finish_reason) finish = choice.finish_reason;
        for (const tc of choice.delta?.tool_calls ?? []) {
          const c = (calls[tc.index] ??= { id: '', name: '', args: '' });
          if (tc.id) c.id = tc.id;
          if (tc.function?.name) c.name += tc.function.name;
          if (tc.function?.arguments) c.args += tc.function.arguments;
        }
      }
      assert.equal(finish, 'tool_calls');
      assert.equal(calls.length, 1, JSON.stringify(calls));
      assert.equal(calls[0].name, 'get_weather');
      assert.deepEqual(JSON.parse(calls[0].args), { city: 'Paris' });

      // The client's own helper gives the same call.
      const runner = client.chat.completions.stream({
        model, messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [WEATHER_TOOL],
      });
      const final = await runner.finalChatCompletion();
      const call = final.choices[0].message.tool_calls?.[0];
      assert.equal(call?.function?.name, 'get_weather', JSON.stringify(final));
      assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris' });
    });
  }

  // -------------------------------------------------------------------------------------
  // 4. Error classes, seen from outside.

  // Sends requests until the failing key has been tried (it is picked first almost always);
  // each must be answered by the healthy key.
  async function sendUntilTried(model, badName, goodName) {
    for (let i = 0; i < 6; i++) {
      const r = await postJson(`${gw.url}/v1/chat/completions`, { model, messages: MESSAGES });
      assert.equal(r.status, 200, `request ${i + 1}: ${r.text}`);
      assert.ok(r.json.choices[0].message.content.endsWith(`via ${goodName}`), r.text);
      const stats = (await mockStats(mock)).keys[badName];
      const states = await keyStates(gw, model);
      if ((stats?.requests ?? 0) > 0 || states[badName] !== 'ok') return states;
    }
    return keyStates(gw, model);
  }

  for (const type of TYPES) {
    const recipes = errorRecipes(type);

    test(`${type}: a rate-limited key (${recipes.rate}) cools down and the request is served by the other key`, { timeout: 20000 }, async () => {
      const model = `rate-${type}`;
      const states = await sendUntilTried(model, `${model}-bad`, `${model}-good`);
      assert.deepEqual(states, { [`${model}-bad`]: 'cooling', [`${model}-good`]: 'ok' });
    });

    test(`${type}: a rejected key (${recipes.invalid}) is quarantined and the request is served by the other key`, { timeout: 20000 }, async () => {
      const model = `invalid-${type}`;
      const states = await sendUntilTried(model, `${model}-bad`, `${model}-good`);
      assert.deepEqual(states, { [`${model}-bad`]: 'quarantined', [`${model}-good`]: 'ok' });
    });

    test(`${type}: a bad request (${recipes.bad}) fails with 400 and punishes no key`, { timeout: 20000 }, async () => {
      const model = `bad-${type}`;
      const r = await postJson(`${gw.url}/v1/chat/completions`, { model, messages: MESSAGES });
      assert.equal(r.status, 400, r.text);
      openAiError(r);
      const keys = (await mockStats(mock)).keys;
      const tried = (keys[`${model}-a`]?.requests ?? 0) + (keys[`${model}-b`]?.requests ?? 0);
      assert.equal(tried, 1, `a bad request was retried: ${JSON.stringify(keys)}`);
      assert.deepEqual(await keyStates(gw, model), { [`${model}-a`]: 'ok', [`${model}-b`]: 'ok' });
    });

    test(`${type}: every key failing with 5xx (${recipes.down}) gives the client 502`, { timeout: 20000 }, async () => {
      const model = `down-${type}`;
      const r = await postJson(`${gw.url}/v1/chat/completions`, { model, messages: MESSAGES });
      assert.equal(r.status, 502, r.text);
      openAiError(r);
      const keys = (await mockStats(mock)).keys;
      assert.ok((keys[`${model}-a`]?.requests ?? 0) >= 1 && (keys[`${model}-b`]?.requests ?? 0) >= 1,
        `both keys should have been tried: ${JSON.stringify(keys)}`);
      const states = await keyStates(gw, model);
      assert.ok(!Object.values(states).includes('quarantined'), `a 5xx quarantined a key: ${JSON.stringify(states)}`);
    });
  }

  QUIRKS.forEach((q, i) => {
    const model = `q${i}-${q.type}`;
    if (q.fail !== undefined) {
      test(`${q.type}: ${q.why} (${q.options}) fails with ${q.fail} and punishes no key`, { timeout: 20000 }, async () => {
        const r = await postJson(`${gw.url}/v1/chat/completions`, { model, messages: MESSAGES });
        assert.equal(r.status, q.fail, r.text);
        openAiError(r);
        assert.deepEqual(await keyStates(gw, model), { [`${model}-a`]: 'ok', [`${model}-b`]: 'ok' });
      });
      return;
    }
    test(`${q.type}: ${q.why} (${q.options}) leaves the key ${q.effect}; the other key serves`, { timeout: 20000 }, async () => {
      const states = await sendUntilTried(model, `${model}-bad`, `${model}-good`);
      assert.deepEqual(states, { [`${model}-bad`]: q.effect, [`${model}-good`]: 'ok' });
      if (q.minRemainingMs !== undefined) {
        const bad = (await capacity(gw)).details[model].keys.find((k) => k.key === `${model}-bad`);
        assert.ok(bad.remaining_ms >= q.minRemainingMs, JSON.stringify(bad));
      }
    });
  });

  // -------------------------------------------------------------------------------------
  // Baidu legacy access tokens and Zhipu JWT.

  test('baidu legacy: one access token is exchanged and reused for later requests', { timeout: 20000 }, async () => {
    for (let i = 0; i < 3; i++) {
      const r = await postJson(`${gw.url}/v1/chat/completions`, { model: 'legacy-reuse', messages: MESSAGES });
      checkCompletion(r);
    }
    const s = (await mockStats(mock)).keys['legacy-reuse'];
    assert.equal(s.tokens_issued, 1, JSON.stringify(s));
    assert.equal(s.requests, 3, JSON.stringify(s));
  });

  test('baidu legacy: an expired-token answer refreshes the token once and the request succeeds', { timeout: 20000 }, async () => {
    const r = await postJson(`${gw.url}/v1/chat/completions`, { model: 'legacy-expired', messages: MESSAGES });
    const message = checkCompletion(r);
    assert.equal(message.content, `Hello from ${mockProviders['baidu-legacy'].model} via legacy-expired`);
    const s = (await mockStats(mock)).keys['legacy-expired'];
    assert.equal(s.tokens_issued, 2, `expected one exchange and one refresh: ${JSON.stringify(s)}`);
    assert.equal(s.requests, 2, JSON.stringify(s));
    assert.deepEqual(await keyStates(gw, 'legacy-expired'), { 'legacy-expired': 'ok' });
  });

  test('zhipu jwt_auth: the request is signed with an HS256 JWT made from id.secret', { timeout: 20000 }, async () => {
    const t0 = Date.now();
    const r = await postJson(`${gw.url}/v1/chat/completions`, { model: 'zhipu-jwt', messages: MESSAGES });
    const message = checkCompletion(r);
    // mockllm names the bearer it got: the JWT, not the configured key.
    const token = Object.keys((await mockStats(mock)).keys).find((k) => k.startsWith('eyJ'));
    assert.ok(token, `no JWT bearer reached the upstream: ${JSON.stringify((await mockStats(mock)).keys)}`);
    assert.equal(message.content, `Hello from glm-4-flash via ${token}`);
    assert.ok(!message.content.includes('jwt-secret-xyz'));
    const [h, p, sig] = token.split('.');
    const decode = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    assert.deepEqual(decode(h), { alg: 'HS256', sign_type: 'SIGN' });
    const payload = decode(p);
    assert.equal(payload.api_key, 'jwt-id-42');
    assert.ok(Math.abs(payload.timestamp - t0) < 60000, `timestamp ${payload.timestamp} (ms) vs now ${t0}`);
    assert.ok(payload.exp > payload.timestamp, JSON.stringify(payload));
    const expected = createHmac('sha256', 'jwt-secret-xyz').update(`${h}.${p}`).digest('base64url');
    assert.equal(sig, expected, 'bad HS256 signature');
  });
});
