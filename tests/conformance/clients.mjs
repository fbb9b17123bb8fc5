// The gateway the client conformance tests share: one mockllm behind models of three upstream
// formats, one whose key answers tool calls, one whose key fails, and the built-in mock.
import {
  gatewayConfig, mockModel, providerModel, startGateway, startMockllm,
} from '../integration/harness.mjs';

export const BUILTIN_REPLY = 'Conformance reply from the built-in mock.';

export const WEATHER_TOOL = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

// Models: `gpt` (OpenAI upstream), `glm` (Zhipu), `claude` (Anthropic), `builtin` (the built-in
// mock), `tools` (OpenAI upstream whose key answers with a call to the first tool: city
// Paris), `tools-claude` (the same through Anthropic's format), `broken` (an upstream that
// answers 400 invalid_request_error); embedding models `embed` (OpenAI upstream), `embed-zhipu`,
// `embed-gemini`, `embed-ollama` and `embed-builtin` (the built-in mock), whose vectors agree
// for the same input. Resolves { gw, mock }.
export async function startClientGateway() {
  const mock = await startMockllm();
  const key = (name, options = '') => [{ key: options ? `${name};${options}` : name, name, weight: 1 }];
  const gw = await startGateway(gatewayConfig({
    gpt: providerModel(mock, 'openai', key('sdk-oa', 'tokens=6')),
    glm: providerModel(mock, 'zhipu', key('sdk-zp', 'tokens=6')),
    claude: providerModel(mock, 'anthropic', key('sdk-an', 'tokens=6')),
    builtin: mockModel({ reply: BUILTIN_REPLY }),
    tools: providerModel(mock, 'openai', key('sdk-tools', 'tool_call'), { supports_tools: true }),
    'tools-claude': providerModel(mock, 'anthropic', key('sdk-tools-an', 'tool_call'), { supports_tools: true }),
    broken: providerModel(mock, 'openai', key('sdk-broken', 'status=400'), { max_retries: 0, queue_timeout_ms: 0 }),
    embed: providerModel(mock, 'openai', key('sdk-embed'), { model: 'text-embedding-3-small', embeddings: true }),
    'embed-zhipu': providerModel(mock, 'zhipu', key('sdk-embed-zp'), { model: 'embedding-3', embeddings: true }),
    'embed-gemini': providerModel(mock, 'gemini', key('sdk-embed-gm'), { model: 'gemini-embedding-001', embeddings: true }),
    'embed-ollama': providerModel(mock, 'ollama', key('sdk-embed-ol'), { model: 'nomic-embed-text', embeddings: true }),
    'embed-builtin': mockModel({}, { embeddings: true }),
  }));
  return { gw, mock };
}

// What a model's answer says, to tell that it came from that model's key.
export const MARKS = { gpt: 'sdk-oa', glm: 'sdk-zp', claude: 'sdk-an', builtin: BUILTIN_REPLY };
