// Every answer, stream chunk, model list, embeddings answer and error the gateway writes on
// /v1, through every provider type of mockllm and the built-in mock, validated against OpenAI's own schemas
// (pinned in schemas/openai/, from the openai/openai-openapi repository). Also what the schema
// alone does not say but OpenAI does: chunks carry `usage` only for a caller that set
// stream_options.include_usage, and then every chunk has `"usage": null` but the last, which
// has the usage and `"choices": []`.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  gatewayConfig, mockModel, mockProviders, openStream, postJson, providerModel, readOpenAiStream,
  request, startGateway, startMockllm, stopAll,
} from '../integration/harness.mjs';
import { assertSchema, loadOpenAiSchemas } from './schema.mjs';

const doc = loadOpenAiSchemas();
const TYPES = [...Object.keys(mockProviders), 'mock'];

const mockKey = (type, nameAndOptions) =>
  (type === 'baidu-legacy' ? `${nameAndOptions}:secret-${nameAndOptions.split(';')[0]}` : nameAndOptions);
const key = (type, name, options = '') => ({ key: mockKey(type, options ? `${name};${options}` : name), name, weight: 1 });

const MESSAGES = [{ role: 'system', content: 'Answer briefly.' }, { role: 'user', content: 'Say hello.' }];
const WEATHER_TOOL = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

// The models of one provider type: plain, one whose key answers with a tool call, one whose
// key fails with a 400, one whose stream breaks after the first content.
// Embedding models, per provider type that embeds, with the upstream ids mockllm expects.
const EMBED_TYPES = {
  openai: 'text-embedding-3-small', zhipu: 'embedding-3', gemini: 'gemini-embedding-001',
  ollama: 'nomic-embed-text', mock: null,
};

function modelsOf(mock, type) {
  const embedding = type in EMBED_TYPES
    ? { [`embed-${type}`]: type === 'mock'
      ? mockModel({}, { embeddings: true })
      : providerModel(mock, type, [key(type, `embed-${type}`)], { model: EMBED_TYPES[type], embeddings: true }) }
    : {};
  if (type === 'mock') {
    return { 'plain-mock': mockModel({ reply: 'Schema reply.' }), ...embedding };
  }
  const model = (name, options, extra = {}) => providerModel(mock, type, [key(type, name, options)],
    { queue_timeout_ms: 0, max_retries: 0, ...extra });
  return {
    [`plain-${type}`]: model(`plain-${type}`, ''),
    [`tools-${type}`]: model(`tools-${type}`, 'tool_call', { supports_tools: true }),
    [`fail-${type}`]: model(`fail-${type}`, 'status=400'),
    [`cut-${type}`]: model(`cut-${type}`, 'error_in_stream'),
    ...embedding,
  };
}

// Reads a stream, validating every chunk; the chunks and the error event, if one came.
async function validatedStream(gw, body, what) {
  const res = await openStream(`${gw.url}/v1/chat/completions`, body);
  assert.equal(res.status, 200, what);
  const s = await readOpenAiStream(res);
  assert.ok(s.done, `${what}: no [DONE]`);
  const chunks = [];
  let error = null;
  for (const chunk of s.chunks) {
    if (chunk.error) {
      assertSchema(doc, 'ErrorResponse', chunk, `${what}: error event`);
      error = chunk.error;
      continue;
    }
    assertSchema(doc, 'CreateChatCompletionStreamResponse', chunk, `${what}: chunk`);
    chunks.push(chunk);
  }
  return { chunks, error, content: s.content };
}

describe('the gateway against OpenAI\'s published schemas', { timeout: 240000 }, () => {
  let gw;
  before(async () => {
    const mock = await startMockllm();
    const models = {};
    for (const type of TYPES) Object.assign(models, modelsOf(mock, type));
    gw = await startGateway(gatewayConfig(models));
  });
  after(stopAll);

  for (const type of TYPES) {
    test(`${type}: a non-streamed answer is a CreateChatCompletionResponse`, { timeout: 15000 }, async () => {
      const r = await postJson(`${gw.url}/v1/chat/completions`, { model: `plain-${type}`, messages: MESSAGES });
      assert.equal(r.status, 200, r.text);
      assertSchema(doc, 'CreateChatCompletionResponse', r.json, `${type} answer`);
      assert.ok(r.json.choices[0].message.content.length > 0, r.text);
    });

    test(`${type}: a stream without include_usage has no usage and no empty choices`, { timeout: 15000 }, async () => {
      const { chunks, content } = await validatedStream(gw,
        { model: `plain-${type}`, messages: MESSAGES, stream: true }, `${type} stream`);
      assert.ok(content.length > 0, 'no content');
      for (const c of chunks) {
        assert.ok(!('usage' in c), `a chunk carries usage: ${JSON.stringify(c)}`);
        assert.ok(c.choices.length > 0, `a chunk without choices: ${JSON.stringify(c)}`);
      }
      assert.ok(chunks.some((c) => c.choices[0].finish_reason), 'no finish_reason');
    });

    test(`${type}: a stream with include_usage has usage: null on every chunk and a last usage chunk`, { timeout: 15000 }, async () => {
      const { chunks } = await validatedStream(gw, {
        model: `plain-${type}`, messages: MESSAGES, stream: true, stream_options: { include_usage: true },
      }, `${type} stream with usage`);
      assert.ok(chunks.length >= 2, `${chunks.length} chunks`);
      const last = chunks.at(-1);
      assert.deepEqual(last.choices, [], JSON.stringify(last));
      assert.equal(typeof last.usage?.total_tokens, 'number', JSON.stringify(last));
      assert.ok(last.usage.completion_tokens > 0, JSON.stringify(last));
      for (const c of chunks.slice(0, -1)) {
        assert.ok('usage' in c && c.usage === null, `expected "usage": null: ${JSON.stringify(c)}`);
        assert.ok(c.choices.length > 0, JSON.stringify(c));
      }
    });

    if (type === 'mock') continue;  // the built-in mock has no tools, failures or cuts

    test(`${type}: a tool call validates, non-streamed and streamed`, { timeout: 15000 }, async () => {
      const body = { model: `tools-${type}`, messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [WEATHER_TOOL] };
      const r = await postJson(`${gw.url}/v1/chat/completions`, body);
      assert.equal(r.status, 200, r.text);
      assertSchema(doc, 'CreateChatCompletionResponse', r.json, `${type} tool answer`);
      assert.equal(r.json.choices[0].finish_reason, 'tool_calls', r.text);
      assert.equal(r.json.choices[0].message.tool_calls[0].function.name, 'get_weather', r.text);
      const { chunks } = await validatedStream(gw, { ...body, stream: true }, `${type} tool stream`);
      assert.ok(chunks.some((c) => c.choices[0]?.delta?.tool_calls), 'no tool_calls delta');
      assert.ok(chunks.some((c) => c.choices[0]?.finish_reason === 'tool_calls'), 'no tool_calls finish');
    });

    test(`${type}: an upstream error is an ErrorResponse`, { timeout: 15000 }, async () => {
      const r = await postJson(`${gw.url}/v1/chat/completions`, { model: `fail-${type}`, messages: MESSAGES });
      assert.ok(r.status >= 400, `${r.status} ${r.text}`);
      assertSchema(doc, 'ErrorResponse', r.json, `${type} upstream error (${r.status})`);
    });

    test(`${type}: an error in the middle of a stream is an ErrorResponse event`, { timeout: 15000 }, async () => {
      const { error } = await validatedStream(gw, { model: `cut-${type}`, messages: MESSAGES, stream: true },
        `${type} cut stream`);
      assert.ok(error, 'no error event');
    });
  }

  for (const type of Object.keys(EMBED_TYPES)) {
    test(`${type}: an embeddings answer is a CreateEmbeddingResponse`, { timeout: 15000 }, async () => {
      for (const input of ['one text', ['one text', 'two texts']]) {
        const r = await postJson(`${gw.url}/v1/embeddings`, { model: `embed-${type}`, input, dimensions: 8 });
        assert.equal(r.status, 200, r.text);
        assertSchema(doc, 'CreateEmbeddingResponse', r.json, `${type} embeddings`);
      }
      // base64 strings are what OpenAI sends for encoding_format base64, though its schema
      // types `embedding` as an array only: the rest of the answer is checked against it.
      const b = await postJson(`${gw.url}/v1/embeddings`, { model: `embed-${type}`, input: ['x'], encoding_format: 'base64' });
      assert.equal(b.status, 200, b.text);
      assert.equal(typeof b.json.data[0].embedding, 'string');
      const asFloats = { ...b.json, data: b.json.data.map((d) => ({ ...d, embedding: [0] })) };
      assertSchema(doc, 'CreateEmbeddingResponse', asFloats, `${type} base64 embeddings`);
    });
  }

  test('embeddings errors are ErrorResponses naming the param', { timeout: 15000 }, async () => {
    const cases = [
      ['no input', { model: 'embed-openai' }, 400, 'input'],
      ['token ids', { model: 'embed-openai', input: [[1, 2]] }, 400, 'input'],
      ['bad dimensions', { model: 'embed-openai', input: 'x', dimensions: 0 }, 400, 'dimensions'],
      ['bad encoding', { model: 'embed-openai', input: 'x', encoding_format: 'hex' }, 400, 'encoding_format'],
      ['a chat model', { model: 'plain-openai', input: 'x' }, 400, 'model'],
      ['unknown model', { model: 'no-such-model', input: 'x' }, 404, null],
    ];
    for (const [what, body, status, param] of cases) {
      const r = await postJson(`${gw.url}/v1/embeddings`, body);
      assert.equal(r.status, status, `${what}: ${r.text}`);
      assertSchema(doc, 'ErrorResponse', r.json, what);
      assert.equal(r.json.error.param, param, what);
    }
    const chat = await postJson(`${gw.url}/v1/chat/completions`, { model: 'embed-openai', messages: MESSAGES });
    assert.equal(chat.status, 400, chat.text);
    assertSchema(doc, 'ErrorResponse', chat.json, 'chat naming an embedding model');
  });

  test('errors the gateway writes itself are ErrorResponses', { timeout: 15000 }, async () => {
    const cases = [
      ['unknown model', postJson(`${gw.url}/v1/chat/completions`, { model: 'no-such-model', messages: MESSAGES }), 404],
      ['body not JSON', postJson(`${gw.url}/v1/chat/completions`, '{not json'), 400],
      ['no messages', postJson(`${gw.url}/v1/chat/completions`, { model: 'plain-openai' }), 400],
      ['unknown path', request(`${gw.url}/v1/nothing-here`), 404],
      ['wrong method', request(`${gw.url}/v1/chat/completions`), 405],
      ['tools to a model without them', postJson(`${gw.url}/v1/chat/completions`,
        { model: 'plain-openai', messages: MESSAGES, tools: [WEATHER_TOOL] }), null],
    ];
    for (const [what, pending, status] of cases) {
      const r = await pending;
      if (status !== null) assert.equal(r.status, status, `${what}: ${r.text}`);
      if (r.status >= 400) assertSchema(doc, 'ErrorResponse', r.json, what);
    }
  });

  test('GET /v1/models is a ListModelsResponse', { timeout: 10000 }, async () => {
    const r = await request(`${gw.url}/v1/models`);
    assert.equal(r.status, 200, r.text);
    assertSchema(doc, 'ListModelsResponse', r.json, '/v1/models');
    assert.ok(r.json.data.some((m) => m.id === 'plain-openai'), r.text);
  });
});
