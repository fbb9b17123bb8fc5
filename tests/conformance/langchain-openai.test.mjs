// LangChain's ChatOpenAI (@langchain/openai) against the gateway, through mockllm: invoke,
// stream, bindTools and withStructuredOutput, and an upstream error; OpenAIEmbeddings'
// embedQuery and embedDocuments.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ChatOpenAI, OpenAIEmbeddings } from '@langchain/openai';
import { z } from 'zod';
import { stopAll } from '../integration/harness.mjs';
import { MARKS, startClientGateway, WEATHER_TOOL } from './clients.mjs';

describe('LangChain ChatOpenAI', { timeout: 60000 }, () => {
  let baseURL;
  const chat = (model, extra = {}) => new ChatOpenAI({
    model, apiKey: 'anything', maxRetries: 0, timeout: 10000, configuration: { baseURL }, ...extra,
  });
  before(async () => {
    const { gw } = await startClientGateway();
    baseURL = `${gw.url}/v1`;
  });
  after(stopAll);

  for (const model of ['gpt', 'glm', 'claude']) {
    test(`${model}: invoke`, { timeout: 15000 }, async () => {
      const message = await chat(model).invoke([['system', 'Be brief.'], ['human', 'Say hello.']]);
      assert.equal(typeof message.content, 'string');
      assert.ok(message.content.includes(MARKS[model]), message.content);
      assert.ok(message.usage_metadata?.total_tokens > 0, JSON.stringify(message.usage_metadata));
    });

    test(`${model}: stream`, { timeout: 15000 }, async () => {
      let text = '';
      let pieces = 0;
      let usage = null;
      for await (const chunk of await chat(model).stream('Say hello.')) {
        text += chunk.content;
        pieces += 1;
        usage = chunk.usage_metadata ?? usage;
      }
      assert.ok(pieces >= 2, `${pieces} pieces`);
      assert.ok(text.includes(MARKS[model]), text);
      // ChatOpenAI asks for include_usage (streamUsage): the usage chunk must reach it.
      assert.ok(usage?.output_tokens > 0, JSON.stringify(usage));
    });
  }

  test('bindTools: the model calls the tool', { timeout: 15000 }, async () => {
    const message = await chat('tools').bindTools([WEATHER_TOOL]).invoke('Weather in Paris?');
    assert.equal(message.tool_calls.length, 1, JSON.stringify(message.tool_calls));
    assert.equal(message.tool_calls[0].name, 'get_weather');
    assert.deepEqual(message.tool_calls[0].args, { city: 'Paris' });
  });

  test('bindTools, streamed: the chunks add up to the call', { timeout: 15000 }, async () => {
    let whole;
    for await (const chunk of await chat('tools').bindTools([WEATHER_TOOL]).stream('Weather in Paris?')) {
      whole = whole === undefined ? chunk : whole.concat(chunk);
    }
    assert.equal(whole.tool_calls[0].name, 'get_weather');
    assert.deepEqual(whole.tool_calls[0].args, { city: 'Paris' });
  });

  test('withStructuredOutput (function calling) gives the parsed object', { timeout: 15000 }, async () => {
    const Weather = z.object({ city: z.string() }).describe('A city to look up');
    const structured = chat('tools').withStructuredOutput(Weather, { name: 'weather_query', method: 'functionCalling' });
    const out = await structured.invoke('Which city?');
    assert.deepEqual(out, { city: 'Paris' });
  });

  test('an upstream error rejects with its status', { timeout: 15000 }, async () => {
    await assert.rejects(chat('broken').invoke('hi'), (err) => {
      assert.equal(err.status, 400, `${err?.constructor?.name}: ${err?.message}`);
      return true;
    });
  });

  for (const model of ['embed', 'embed-gemini', 'embed-builtin']) {
    test(`${model}: OpenAIEmbeddings embedQuery and embedDocuments`, { timeout: 15000 }, async () => {
      const embeddings = new OpenAIEmbeddings({
        model, apiKey: 'anything', maxRetries: 0, timeout: 10000, configuration: { baseURL },
      });
      const query = await embeddings.embedQuery('What is a gateway?');
      assert.equal(query.length, 16);
      assert.ok(query.every((x) => typeof x === 'number'));
      const docs = await embeddings.embedDocuments(['first text', 'What is a gateway?']);
      assert.equal(docs.length, 2);
      docs[1].forEach((x, k) => assert.ok(Math.abs(x - query[k]) < 1e-6, `[${k}]`));
      assert.ok(docs[0].some((x, k) => Math.abs(x - query[k]) > 1e-3), 'different texts differ');
    });
  }

  test('OpenAIEmbeddings on a chat model rejects with 400', { timeout: 15000 }, async () => {
    const embeddings = new OpenAIEmbeddings({
      model: 'gpt', apiKey: 'anything', maxRetries: 0, timeout: 10000, configuration: { baseURL },
    });
    await assert.rejects(embeddings.embedQuery('hi'), (err) => {
      assert.equal(err.status, 400, `${err?.constructor?.name}: ${err?.message}`);
      return true;
    });
  });
});
