// A chat relayed end to end, non-stream and stream, through both dialects (OpenAI /v1 and
// the native /llm), for each provider: openai and zhipu via mockllm, and the built-in mock.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  gatewayConfig, mockModel, openStream, openaiModel, postJson, readOpenAiStream, readTextStream,
  request, startGateway, startMockllm, stopAll, userMessage, zhipuModel,
} from './harness.mjs';

const MOCK_REPLY = 'The built-in mock says hello in seven words.';

// Each case runs on its own gateway with a single model, so /llm (which has no model field)
// reaches exactly that provider. `expect` holds strings the answer text must contain:
// mockllm's answer names the upstream model id and the key name it received.
const cases = [
  {
    provider: 'openai',
    model: (mock) => openaiModel(mock, [{ key: 'oa1;tokens=6', weight: 1, name: 'oa1' }]),
    expect: ['gpt-4o-mini', 'oa1'],
  },
  {
    provider: 'zhipu',
    model: (mock) => zhipuModel(mock, [{ key: 'zp1;tokens=6', weight: 1, name: 'zp1' }]),
    expect: ['glm-4-flash', 'zp1'],
  },
  {
    provider: 'mock',
    model: () => mockModel({ reply: MOCK_REPLY }),
    expect: [MOCK_REPLY],
    exact: MOCK_REPLY,
  },
];

describe('chat through both dialects', { timeout: 90000 }, () => {
  let mock;
  before(async () => { mock = await startMockllm(); });
  after(stopAll);

  for (const c of cases) {
    describe(`${c.provider} model`, () => {
      const name = `${c.provider}-model`;
      let gw;
      before(async () => { gw = await startGateway(gatewayConfig({ [name]: c.model(mock) })); });

      const checkText = (text) => {
        for (const s of c.expect) assert.ok(text.includes(s), `answer ${JSON.stringify(text)} lacks ${JSON.stringify(s)}`);
        if (c.exact !== undefined) assert.equal(text, c.exact);
      };

      test('POST /v1/chat/completions returns a chat.completion', { timeout: 15000 }, async () => {
        const r = await postJson(`${gw.url}/v1/chat/completions`, { model: name, messages: userMessage() });
        assert.equal(r.status, 200, r.text);
        assert.match(r.headers.get('content-type') ?? '', /application\/json/);
        assert.equal(r.json.object, 'chat.completion');
        assert.equal(r.json.choices.length, 1);
        const choice = r.json.choices[0];
        assert.equal(choice.message.role, 'assistant');
        assert.equal(typeof choice.finish_reason, 'string');
        checkText(choice.message.content);
      });

      test('POST /v1/chat/completions with stream: true relays SSE chunks ending in [DONE]', { timeout: 15000 }, async () => {
        const res = await openStream(`${gw.url}/v1/chat/completions`, { model: name, messages: userMessage(), stream: true });
        assert.equal(res.status, 200);
        assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
        const s = await readOpenAiStream(res);
        assert.ok(s.done, 'stream did not end with data: [DONE]');
        assert.deepEqual(s.afterDone, [], 'events after [DONE]');
        assert.ok(s.chunks.length >= 2, `expected several chunks, got ${s.chunks.length}`);
        for (const ch of s.chunks) assert.equal(ch.object, 'chat.completion.chunk');
        assert.ok(s.chunks.some((ch) => typeof ch.choices?.[0]?.finish_reason === 'string'), 'no chunk has a finish_reason');
        checkText(s.content);
      });

      test('POST /llm/chat returns {"result": text}', { timeout: 15000 }, async () => {
        const r = await postJson(`${gw.url}/llm/chat`, { messages: userMessage() });
        assert.equal(r.status, 200, r.text);
        assert.equal(typeof r.json?.result, 'string', r.text);
        checkText(r.json.result);
      });

      test('POST /llm/chat/stream returns the answer text in chunks', { timeout: 15000 }, async () => {
        const res = await openStream(`${gw.url}/llm/chat/stream`, { messages: userMessage() });
        assert.equal(res.status, 200);
        const s = await readTextStream(res);
        assert.ok(!s.text.includes('data:'), `plain text expected, got SSE: ${JSON.stringify(s.text)}`);
        checkText(s.text);
      });
    });
  }

  describe('several models behind one gateway', () => {
    let gw;
    before(async () => {
      gw = await startGateway(gatewayConfig({
        'gpt-via-mock': openaiModel(mock, [{ key: 'multi-oa;tokens=6', weight: 1, name: 'multi-oa' }]),
        'glm-via-mock': zhipuModel(mock, [{ key: 'multi-zp;tokens=6', weight: 1, name: 'multi-zp' }]),
        'builtin': mockModel({ reply: MOCK_REPLY }),
      }));
    });

    test('"model" picks the configured model by name', { timeout: 15000 }, async () => {
      const oa = await postJson(`${gw.url}/v1/chat/completions`, { model: 'gpt-via-mock', messages: userMessage() });
      const zp = await postJson(`${gw.url}/v1/chat/completions`, { model: 'glm-via-mock', messages: userMessage() });
      const mk = await postJson(`${gw.url}/v1/chat/completions`, { model: 'builtin', messages: userMessage() });
      assert.equal(oa.status, 200, oa.text);
      assert.equal(zp.status, 200, zp.text);
      assert.equal(mk.status, 200, mk.text);
      assert.ok(oa.json.choices[0].message.content.includes('multi-oa'), oa.text);
      assert.ok(zp.json.choices[0].message.content.includes('multi-zp'), zp.text);
      assert.equal(mk.json.choices[0].message.content, MOCK_REPLY);
    });

    test('"model": "auto" and no model are served by one of the models', { timeout: 15000 }, async () => {
      const answers = [MOCK_REPLY, 'multi-oa', 'multi-zp'];
      for (const body of [{ model: 'auto', messages: userMessage() }, { messages: userMessage() }]) {
        const r = await postJson(`${gw.url}/v1/chat/completions`, body);
        assert.equal(r.status, 200, r.text);
        const text = r.json.choices[0].message.content;
        assert.ok(answers.some((a) => text.includes(a)), text);
      }
    });

    test('GET /v1/models lists every configured model', { timeout: 10000 }, async () => {
      const r = await request(`${gw.url}/v1/models`);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.object, 'list');
      for (const m of r.json.data) assert.equal(m.object, 'model');
      assert.deepEqual(r.json.data.map((m) => m.id).sort(), ['builtin', 'glm-via-mock', 'gpt-via-mock']);
    });

    for (const p of ['/health', '/llm/health']) {
      test(`GET ${p} is {"status":"ok","timestamp":<ISO 8601 UTC>}`, { timeout: 10000 }, async () => {
        const r = await request(`${gw.url}${p}`);
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json.status, 'ok');
        assert.match(r.json.timestamp, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
        assert.ok(Math.abs(Date.parse(r.json.timestamp) - Date.now()) < 60000, `timestamp ${r.json.timestamp} is not now`);
      });
    }
  });
});
