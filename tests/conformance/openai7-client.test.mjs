// The official `openai` npm client's 7.x line (installed as the alias `openai7`; the 6.x line
// is openai-client.test.mjs) against the gateway, through mockllm: chat non-streamed and
// streamed, tool calls both ways, embeddings (base64, the client's default, and float) through
// every embedding format, and an upstream error raised as the client's typed error.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai7';
import { stopAll } from '../integration/harness.mjs';
import { MARKS, startClientGateway, WEATHER_TOOL } from './clients.mjs';

describe('openai 7.x client', { timeout: 60000 }, () => {
  let client;
  before(async () => {
    const { gw } = await startClientGateway();
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'anything', maxRetries: 0, timeout: 10000 });
  });
  after(stopAll);

  for (const model of ['gpt', 'glm', 'claude', 'builtin']) {
    test(`${model}: chat.completions.create`, { timeout: 15000 }, async () => {
      const completion = await client.chat.completions.create({
        model, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Say hello.' }],
      });
      assert.equal(completion.object, 'chat.completion');
      assert.equal(completion.choices[0].message.role, 'assistant');
      assert.equal(completion.choices[0].finish_reason, 'stop');
      assert.ok(completion.choices[0].message.content.includes(MARKS[model]), completion.choices[0].message.content);
      assert.ok(completion.usage.total_tokens > 0);
    });

    test(`${model}: streamed, read with for await; no usage unless asked`, { timeout: 15000 }, async () => {
      const stream = await client.chat.completions.create({
        model, messages: [{ role: 'user', content: 'Say hello.' }], stream: true,
      });
      let text = '';
      let finish = null;
      for await (const chunk of stream) {
        assert.equal(chunk.object, 'chat.completion.chunk');
        assert.ok(chunk.choices.length > 0, `a chunk without choices: ${JSON.stringify(chunk)}`);
        assert.equal(chunk.usage, undefined, JSON.stringify(chunk));
        text += chunk.choices[0].delta?.content ?? '';
        finish = chunk.choices[0].finish_reason ?? finish;
      }
      assert.equal(finish, 'stop');
      assert.ok(text.includes(MARKS[model]), text);
    });

    test(`${model}: streamed with include_usage, the last chunk has the usage`, { timeout: 15000 }, async () => {
      const stream = await client.chat.completions.create({
        model, messages: [{ role: 'user', content: 'Say hello.' }], stream: true,
        stream_options: { include_usage: true },
      });
      const chunks = [];
      for await (const chunk of stream) chunks.push(chunk);
      const last = chunks.at(-1);
      assert.deepEqual(last.choices, []);
      assert.ok(last.usage.completion_tokens > 0, JSON.stringify(last));
    });
  }

  test('the stream helper: finalChatCompletion()', { timeout: 15000 }, async () => {
    const final = await client.chat.completions.stream({
      model: 'gpt', messages: [{ role: 'user', content: 'Say hello.' }],
    }).finalChatCompletion();
    assert.ok(final.choices[0].message.content.includes(MARKS.gpt));
  });

  for (const model of ['tools', 'tools-claude']) {
    test(`${model}: a tool call, non-streamed`, { timeout: 15000 }, async () => {
      const completion = await client.chat.completions.create({
        model, messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [WEATHER_TOOL],
      });
      const choice = completion.choices[0];
      assert.equal(choice.finish_reason, 'tool_calls');
      assert.equal(choice.message.tool_calls.length, 1);
      assert.equal(choice.message.tool_calls[0].function.name, 'get_weather');
      assert.deepEqual(JSON.parse(choice.message.tool_calls[0].function.arguments), { city: 'Paris' });
    });

    test(`${model}: a tool call, streamed and reassembled by the stream helper`, { timeout: 15000 }, async () => {
      const final = await client.chat.completions.stream({
        model, messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [WEATHER_TOOL],
      }).finalChatCompletion();
      const call = final.choices[0].message.tool_calls[0];
      assert.equal(final.choices[0].finish_reason, 'tool_calls');
      assert.equal(call.function.name, 'get_weather');
      assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris' });
    });
  }

  test('an upstream error raises BadRequestError with its status, type and param', { timeout: 15000 }, async () => {
    await assert.rejects(
      client.chat.completions.create({ model: 'broken', messages: [{ role: 'user', content: 'hi' }] }),
      (err) => {
        assert.ok(err instanceof OpenAI.BadRequestError, `${err?.constructor?.name}: ${err?.message}`);
        assert.equal(err.status, 400);
        assert.equal(err.type, 'invalid_request_error');
        assert.equal(err.param, null);
        return true;
      });
  });

  test('a gateway error raises NotFoundError with code model_not_found', { timeout: 10000 }, async () => {
    await assert.rejects(
      client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] }),
      (err) => {
        assert.ok(err instanceof OpenAI.NotFoundError, `${err?.constructor?.name}: ${err?.message}`);
        assert.equal(err.code, 'model_not_found');
        return true;
      });
  });

  test('embeddings.create: base64 (the default) and float, the same vectors through every format', { timeout: 15000 }, async () => {
    const input = ['alpha beta', 'gamma'];
    let reference;
    for (const model of ['embed', 'embed-zhipu', 'embed-gemini', 'embed-ollama', 'embed-builtin']) {
      const decoded = await client.embeddings.create({ model, input });
      const floats = await client.embeddings.create({ model, input, encoding_format: 'float' });
      assert.equal(decoded.data.length, 2, model);
      for (let i = 0; i < 2; ++i) {
        assert.ok(Array.isArray(decoded.data[i].embedding), model);
        decoded.data[i].embedding.forEach((x, k) =>
          assert.ok(Math.abs(x - floats.data[i].embedding[k]) < 1e-6, `${model} ${i}[${k}]`));
      }
      reference ??= floats.data;
      floats.data.forEach((d, i) => d.embedding.forEach((x, k) =>
        assert.ok(Math.abs(x - reference[i].embedding[k]) < 1e-6, `${model} agrees with openai`)));
      assert.ok(floats.usage.prompt_tokens > 0, model);
    }
  });

  test('embeddings.create with token ids raises BadRequestError naming input', { timeout: 10000 }, async () => {
    await assert.rejects(client.embeddings.create({ model: 'embed', input: [[1, 2, 3]] }), (err) => {
      assert.ok(err instanceof OpenAI.BadRequestError, `${err?.constructor?.name}: ${err?.message}`);
      assert.equal(err.param, 'input');
      assert.equal(err.code, 'unsupported_input');
      return true;
    });
  });

  test('models.list', { timeout: 10000 }, async () => {
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    assert.ok(ids.includes('gpt') && ids.includes('tools'), ids.join());
  });
});
