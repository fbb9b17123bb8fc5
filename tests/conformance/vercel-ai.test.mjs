// The Vercel AI SDK (`ai` with `@ai-sdk/openai`) against the gateway, through mockllm:
// generateText, streamText, a tool call, an upstream error, and embed / embedMany. The
// provider's default `openai(model)` speaks the Responses API, which the gateway does not
// serve: `openai.chat()` is its Chat Completions model, `openai.embedding()` its embeddings.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createOpenAI } from '@ai-sdk/openai';
import { embed, embedMany, generateText, streamText, tool } from 'ai';
import { z } from 'zod';
import { stopAll } from '../integration/harness.mjs';
import { MARKS, startClientGateway } from './clients.mjs';

const weather = () => tool({
  description: 'Current weather for a city',
  inputSchema: z.object({ city: z.string() }),
});

describe('Vercel AI SDK with @ai-sdk/openai', { timeout: 60000 }, () => {
  let openai;
  before(async () => {
    const { gw } = await startClientGateway();
    openai = createOpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'anything' });
  });
  after(stopAll);

  for (const model of ['gpt', 'glm', 'claude']) {
    test(`${model}: generateText`, { timeout: 15000 }, async () => {
      const result = await generateText({ model: openai.chat(model), prompt: 'Say hello.', maxRetries: 0 });
      assert.ok(result.text.includes(MARKS[model]), result.text);
      assert.equal(result.finishReason, 'stop');
      assert.ok(result.usage.totalTokens > 0, JSON.stringify(result.usage));
    });

    test(`${model}: streamText`, { timeout: 15000 }, async () => {
      const result = streamText({ model: openai.chat(model), prompt: 'Say hello.', maxRetries: 0 });
      let text = '';
      let pieces = 0;
      for await (const piece of result.textStream) {
        text += piece;
        pieces += 1;
      }
      assert.ok(pieces >= 2, `${pieces} pieces`);
      assert.ok(text.includes(MARKS[model]), text);
      assert.equal(await result.finishReason, 'stop');
      assert.ok((await result.usage).outputTokens > 0);
    });
  }

  test('generateText with a tool: the call and its input', { timeout: 15000 }, async () => {
    const result = await generateText({
      model: openai.chat('tools'), prompt: 'Weather in Paris?', tools: { get_weather: weather() }, maxRetries: 0,
    });
    assert.equal(result.finishReason, 'tool-calls');
    assert.equal(result.toolCalls.length, 1);
    assert.equal(result.toolCalls[0].toolName, 'get_weather');
    assert.deepEqual(result.toolCalls[0].input, { city: 'Paris' });
  });

  test('streamText with a tool: the streamed call and its input', { timeout: 15000 }, async () => {
    const result = streamText({
      model: openai.chat('tools'), prompt: 'Weather in Paris?', tools: { get_weather: weather() }, maxRetries: 0,
    });
    const calls = await result.toolCalls;
    assert.equal(calls.length, 1);
    assert.equal(calls[0].toolName, 'get_weather');
    assert.deepEqual(calls[0].input, { city: 'Paris' });
  });

  test('an upstream error rejects generateText with its status', { timeout: 15000 }, async () => {
    await assert.rejects(
      generateText({ model: openai.chat('broken'), prompt: 'hi', maxRetries: 0 }),
      (err) => {
        assert.equal(err.statusCode, 400, `${err?.constructor?.name}: ${err?.message}`);
        return true;
      });
  });
  for (const model of ['embed', 'embed-zhipu', 'embed-builtin']) {
    test(`${model}: embed and embedMany`, { timeout: 15000 }, async () => {
      const one = await embed({ model: openai.embedding(model), value: 'sunny day at the beach', maxRetries: 0 });
      assert.equal(one.embedding.length, 16);
      assert.ok(one.usage.tokens > 0, JSON.stringify(one.usage));
      const many = await embedMany({
        model: openai.embedding(model), values: ['rainy day', 'sunny day at the beach'], maxRetries: 0,
      });
      assert.equal(many.embeddings.length, 2);
      many.embeddings[1].forEach((x, k) => assert.ok(Math.abs(x - one.embedding[k]) < 1e-6, `[${k}]`));
    });
  }
});
