// The schema validator's own test: it must accept OpenAI's documented examples and reject
// documents that break each rule it implements, or the schema test proves nothing.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertSchema, loadOpenAiSchemas, validate } from './schema.mjs';

const doc = loadOpenAiSchemas();
const fails = (name, value) => validate(doc, doc.components.schemas[name], value);

const completion = () => ({
  id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'm',
  choices: [{ index: 0, message: { role: 'assistant', content: 'hi', refusal: null }, logprobs: null, finish_reason: 'stop' }],
  usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
});

describe('schema validator', () => {
  test('the pinned schemas name their source commit', () => {
    assert.match(doc.source, /openai\/openai-openapi\/blob\/[0-9a-f]{40}\/openapi\.json$/);
    for (const name of ['CreateChatCompletionResponse', 'CreateChatCompletionStreamResponse',
      'ListModelsResponse', 'Model', 'ErrorResponse', 'CreateEmbeddingResponse']) {
      assert.ok(doc.components.schemas[name], name);
    }
  });

  test('accepts a correct chat.completion, chunk, model list and error', () => {
    assertSchema(doc, 'CreateChatCompletionResponse', completion());
    assertSchema(doc, 'CreateChatCompletionStreamResponse', {
      id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm',
      choices: [{ index: 0, delta: { content: 'x' }, finish_reason: null }],
    });
    assertSchema(doc, 'ListModelsResponse', { object: 'list', data: [{ id: 'm', object: 'model', created: 0, owned_by: 'x' }] });
    assertSchema(doc, 'ErrorResponse', { error: { message: 'm', type: 't', param: null, code: null } });
    assertSchema(doc, 'CreateChatCompletionResponse', {
      ...completion(),
      choices: [{ index: 0, logprobs: null, finish_reason: 'tool_calls', message: {
        role: 'assistant', content: null, refusal: null,
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }] } }],
    });
  });

  test('rejects what each rule forbids', () => {
    const missingLogprobs = completion();
    delete missingLogprobs.choices[0].logprobs;
    assert.match(fails('CreateChatCompletionResponse', missingLogprobs).join(), /missing required member 'logprobs'/);
    const missingRefusal = completion();
    delete missingRefusal.choices[0].message.refusal;
    assert.match(fails('CreateChatCompletionResponse', missingRefusal).join(), /'refusal'/);
    assert.match(fails('ErrorResponse', { error: { message: 'm', type: 't', code: null } }).join(), /'param'/);
    assert.match(fails('ErrorResponse', { error: { message: 'm', type: 't', param: 3, code: null } }).join(), /anyOf/);
    const wrongEnum = completion();
    wrongEnum.choices[0].finish_reason = 'normal';
    assert.match(fails('CreateChatCompletionResponse', wrongEnum).join(), /is not one of/);
    const wrongType = completion();
    wrongType.created = '1';
    assert.match(fails('CreateChatCompletionResponse', wrongType).join(), /expected integer/);
    const fraction = completion();
    fraction.usage.total_tokens = 2.5;
    assert.match(fails('CreateChatCompletionResponse', fraction).join(), /expected integer/);
    assert.match(fails('ListModelsResponse', { object: 'list', data: [{ id: 'm', object: 'model', owned_by: 'x' }] }).join(),
      /\$\.data\[0\]: missing required member 'created'/);
    const badCall = completion();
    badCall.choices[0].message.tool_calls = [{ id: 'c', type: 'nope', function: { name: 'f', arguments: '{}' } }];
    assert.match(fails('CreateChatCompletionResponse', badCall).join(), /oneOf/);
    assert.match(fails('CreateChatCompletionStreamResponse', {
      id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: {} }],
    }).join(), /'finish_reason'/);
    assert.throws(() => assertSchema(doc, 'ErrorResponse', {}), /missing required member 'error'/);
  });
});
