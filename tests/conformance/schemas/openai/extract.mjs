// Extracts the schemas the conformance tests validate against from OpenAI's published
// OpenAPI description (https://github.com/openai/openai-openapi, openapi.json), with every
// schema they reference, into openai-schemas.json. Run it again to move to a newer spec:
//   node extract.mjs /path/to/openapi.json <commit> > openai-schemas.json
import { readFileSync } from 'node:fs';

const [specPath, commit] = process.argv.slice(2);
if (!specPath || !commit) {
  console.error('usage: node extract.mjs <openapi.json> <commit of openai/openai-openapi>');
  process.exit(2);
}
const spec = JSON.parse(readFileSync(specPath, 'utf8'));
const all = spec.components.schemas;
const roots = [
  'CreateChatCompletionResponse',
  'CreateChatCompletionStreamResponse',
  'ListModelsResponse',
  'Model',
  'ErrorResponse',
  'CreateEmbeddingResponse',
];
const picked = {};
function walk(node) {
  if (Array.isArray(node)) return node.forEach(walk);
  if (node === null || typeof node !== 'object') return;
  for (const [key, value] of Object.entries(node)) {
    if (key === '$ref') {
      const name = value.split('/').pop();
      if (!(name in picked)) {
        picked[name] = all[name];
        walk(all[name]);
      }
    } else {
      walk(value);
    }
  }
}
for (const name of roots) {
  picked[name] = all[name];
  walk(all[name]);
}
const sorted = Object.fromEntries(Object.keys(picked).sort().map((k) => [k, picked[k]]));
process.stdout.write(
  JSON.stringify(
    {
      source: 'https://github.com/openai/openai-openapi/blob/' + commit + '/openapi.json',
      openapi: spec.openapi,
      info_version: spec.info.version,
      roots,
      components: { schemas: sorted },
    },
    null,
    1,
  ) + '\n',
);
