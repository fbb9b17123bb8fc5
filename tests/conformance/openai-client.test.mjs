// The official `openai` npm client, used as any application would, against the gateway:
// chat.completions.create non-stream and streamed (async iterator), embeddings.create (base64,
// the client's default, and float), models.list, and the client's typed errors. Backed by
// mockllm (openai and zhipu upstreams) and by the built-in mock provider.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import {
  gatewayConfig, mockModel, openaiModel, startGateway, startMockllm, stopAll, zhipuModel,
} from '../integration/harness.mjs';

const REPLY = 'Conformance reply from the built-in mock.';

describe('official openai client', { timeout: 60000 }, () => {
  let client;
  before(async () => {
    const mock = await startMockllm();
    const gw = await startGateway(gatewayConfig({
      'gpt-upstream': openaiModel(mock, [{ key: 'conf-oa;tokens=6', weight: 1, name: 'conf-oa' }]),
      'glm-upstream': zhipuModel(mock, [{ key: 'conf-zp;tokens=6', weight: 1, name: 'conf-zp' }]),
      'builtin': mockModel({ reply: REPLY }),
      'embed-upstream': openaiModel(mock, [{ key: 'conf-emb', weight: 1, name: 'conf-emb' }],
        { model: 'text-embedding-3-small', embeddings: true }),
      'embed-builtin': mockModel({}, { embeddings: true }),
    }));
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'anything', maxRetries: 0, timeout: 10000 });
  });
  after(stopAll);

  const cases = [
    { model: 'gpt-upstream', check: (t) => assert.ok(t.includes('conf-oa'), t) },
    { model: 'glm-upstream', check: (t) => assert.ok(t.includes('conf-zp'), t) },
    { model: 'builtin', check: (t) => assert.equal(t, REPLY) },
  ];

  for (const c of cases) {
    test(`${c.model}: chat.completions.create`, { timeout: 15000 }, async () => {
      const completion = await client.chat.completions.create({
        model: c.model,
        messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Say hello.' }],
        temperature: 0.2,
      });
      assert.equal(completion.object, 'chat.completion');
      assert.equal(typeof completion.id, 'string');
      assert.equal(completion.choices[0].message.role, 'assistant');
      assert.ok(completion.choices[0].finish_reason, 'finish_reason');
      c.check(completion.choices[0].message.content);
    });

    test(`${c.model}: chat.completions.create with stream: true, read with for await`, { timeout: 15000 }, async () => {
      const stream = await client.chat.completions.create({
        model: c.model,
        messages: [{ role: 'user', content: 'Say hello.' }],
        stream: true,
      });
      let text = '';
      let chunks = 0;
      let finish = null;
      for await (const chunk of stream) {
        assert.equal(chunk.object, 'chat.completion.chunk');
        chunks += 1;
        const choice = chunk.choices[0];
        if (!choice) continue;
        text += choice.delta?.content ?? '';
        if (choice.finish_reason) finish = choice.finish_reason;
      }
      assert.ok(chunks >= 2, `${chunks} chunks`);
      assert.ok(finish, 'no chunk carried a finish_reason');
      c.check(text);
    });
  }

  test('streamed with the stream helper: finalChatCompletion()', { timeout: 15000 }, async () => {
    const runner = client.chat.completions.stream({
      model: 'builtin',
      messages: [{ role: 'user', content: 'Say hello.' }],
    });
    const final = await runner.finalChatCompletion();
    assert.equal(final.choices[0].message.content, REPLY);
  });

  test('models.list returns the configured models', { timeout: 10000 }, async () => {
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    assert.deepEqual(ids.sort(), ['builtin', 'embed-builtin', 'embed-upstream', 'glm-upstream', 'gpt-upstream']);
  });

  for (const model of ['embed-upstream', 'embed-builtin']) {
    test(`${model}: embeddings.create, base64 (the client's default) and float agree`, { timeout: 10000 }, async () => {
      const input = ['first text', 'second text'];
      const decoded = await client.embeddings.create({ model, input });
      const floats = await client.embeddings.create({ model, input, encoding_format: 'float' });
      assert.equal(decoded.object, 'list');
      assert.equal(decoded.data.length, 2);
      for (let i = 0; i < 2; ++i) {
        assert.equal(decoded.data[i].index, i);
        assert.ok(Array.isArray(decoded.data[i].embedding), 'the client decoded base64 to numbers');
        assert.equal(decoded.data[i].embedding.length, 16);
        decoded.data[i].embedding.forEach((x, k) =>
          assert.ok(Math.abs(x - floats.data[i].embedding[k]) < 1e-6, `${i}[${k}]`));
      }
      assert.ok(floats.usage.prompt_tokens > 0 && floats.usage.total_tokens >= floats.usage.prompt_tokens);
      const one = await client.embeddings.create({ model, input: 'second text', dimensions: 4, encoding_format: 'float' });
      assert.equal(one.data[0].embedding.length, 4);
    });
  }

  test('embeddings.create on a chat model raises BadRequestError naming the param', { timeout: 10000 }, async () => {
    await assert.rejects(client.embeddings.create({ model: 'gpt-upstream', input: 'hi' }), (err) => {
      assert.ok(err instanceof OpenAI.BadRequestError, `${err?.constructor?.name}: ${err?.message}`);
      assert.equal(err.code, 'model_not_embedding');
      assert.equal(err.param, 'model');
      return true;
    });
  });

  test('an unknown model raises NotFoundError with code model_not_found', { timeout: 10000 }, async () => {
    await assert.rejects(
      client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] }),
      (err) => {
        assert.ok(err instanceof OpenAI.NotFoundError, `${err?.constructor?.name}: ${err?.message}`);
        assert.equal(err.status, 404);
        assert.equal(err.code, 'model_not_found');
        return true;
      });
  });

  test('a request without messages raises BadRequestError', { timeout: 10000 }, async () => {
    await assert.rejects(
      client.chat.completions.create({ model: 'builtin', messages: undefined }),
      (err) => {
        assert.ok(err instanceof OpenAI.BadRequestError, `${err?.constructor?.name}: ${err?.message}`);
        assert.equal(err.status, 400);
        return true;
      });
  });
});

describe('official openai client and a stream cut after content', { timeout: 60000 }, () => {
  let client;
  before(async () => {
    const mock = await startMockllm();
    // The upstream hangs up after two content chunks: the gateway cannot hide it any more.
    const gw = await startGateway(gatewayConfig({
      cut: openaiModel(mock, [{ key: 'conf-cut;cut_after=2;tokens=6', name: 'conf-cut' }], { max_retries: 0 }),
    }));
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'anything', maxRetries: 0, timeout: 10000 });
  });
  after(stopAll);

  test('iterating the stream raises an error instead of ending as if complete', { timeout: 15000 }, async () => {
    const stream = await client.chat.completions.create({
      model: 'cut', stream: true, messages: [{ role: 'user', content: 'Say hello.' }],
    });
    let text = '';
    await assert.rejects(
      (async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
      })(),
      (err) => {
        assert.ok(err instanceof OpenAI.APIError, `${err?.constructor?.name}: ${err?.message}`);
        assert.match(err.message, /upstream|connection|broke|cut|ended/i, err.message);
        return true;
      });
    assert.ok(text.length > 0, 'some content arrived before the cut');
  });

  test('the stream helper rejects too', { timeout: 15000 }, async () => {
    const runner = client.chat.completions.stream({
      model: 'cut', messages: [{ role: 'user', content: 'Say hello.' }],
    });
    await assert.rejects(runner.finalChatCompletion());
  });
});
