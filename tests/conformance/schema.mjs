// A compact validator for the subset of JSON Schema (as OpenAPI 3.x writes it) that OpenAI's
// published schemas use: type (one or several; "integer"; "null"), nullable, enum, required,
// properties, additionalProperties, items, anyOf, oneOf, allOf and local $ref
// (#/components/schemas/<name>). Annotations (description, format, default, discriminator,
// x-*) are ignored, as a validator must. No npm package: tests/package.json pins the clients
// under test only.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

// The schemas pinned in schemas/openai/ (see its README for the spec's commit).
export function loadOpenAiSchemas() {
  return JSON.parse(readFileSync(path.join(here, 'schemas', 'openai', 'openai-schemas.json'), 'utf8'));
}

function typeOf(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;  // string, boolean, object
}

function typeMatches(expected, value) {
  const actual = typeOf(value);
  return actual === expected || (expected === 'number' && actual === 'integer');
}

// Every way `value` breaks `schema`, as "<path>: <what>" lines (none: it validates).
export function validate(doc, schema, value, where = '$') {
  const errors = [];
  check(doc, schema, value, where, errors);
  return errors;
}

function resolve(doc, ref) {
  const prefix = '#/components/schemas/';
  if (!ref.startsWith(prefix)) throw new Error(`unsupported $ref ${ref}`);
  const target = doc.components.schemas[ref.slice(prefix.length)];
  if (!target) throw new Error(`$ref to a schema that is not pinned: ${ref}`);
  return target;
}

function check(doc, schema, value, where, errors) {
  if (schema === true || schema === undefined) return;
  if (schema === false) {
    errors.push(`${where}: not allowed`);
    return;
  }
  if (value === null && schema.nullable === true) return;
  if (schema.$ref) {
    check(doc, resolve(doc, schema.$ref), value, where, errors);
    // OpenAPI 3.1 allows siblings of $ref; the ones these schemas use are annotations and
    // `nullable`, handled above.
  }
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.some((t) => typeMatches(t, value))) {
      errors.push(`${where}: expected ${types.join(' or ')}, got ${typeOf(value)} ${JSON.stringify(value)?.slice(0, 80)}`);
      return;
    }
  }
  if (schema.enum !== undefined && !schema.enum.some((e) => e === value)) {
    errors.push(`${where}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  }
  if (schema.allOf) {
    for (const sub of schema.allOf) check(doc, sub, value, where, errors);
  }
  if (schema.anyOf) {
    const failures = schema.anyOf.map((sub) => validate(doc, sub, value, where));
    if (!failures.some((f) => f.length === 0)) {
      errors.push(`${where}: matches none of anyOf (${failures.map((f) => f[0]).join(' | ')})`);
    }
  }
  if (schema.oneOf) {
    const failures = schema.oneOf.map((sub) => validate(doc, sub, value, where));
    const matched = failures.filter((f) => f.length === 0).length;
    if (matched !== 1) {
      errors.push(`${where}: matches ${matched} of oneOf, not exactly one (${failures.map((f) => f[0]).join(' | ')})`);
    }
  }
  if (typeOf(value) === 'object') {
    for (const name of schema.required ?? []) {
      if (!(name in value)) errors.push(`${where}: missing required member '${name}'`);
    }
    const props = schema.properties ?? {};
    for (const [name, member] of Object.entries(value)) {
      if (name in props) {
        check(doc, props[name], member, `${where}.${name}`, errors);
      } else if (schema.additionalProperties !== undefined && schema.additionalProperties !== true) {
        check(doc, schema.additionalProperties, member, `${where}.${name}`, errors);
      }
    }
  }
  if (Array.isArray(value) && schema.items !== undefined) {
    value.forEach((item, i) => check(doc, schema.items, item, `${where}[${i}]`, errors));
  }
}

// Asserts that `value` validates against the pinned schema `name`; the message lists why not.
export function assertSchema(doc, name, value, what = name) {
  const schema = doc.components.schemas[name];
  if (!schema) throw new Error(`schema ${name} is not pinned`);
  const errors = validate(doc, schema, value);
  if (errors.length > 0) {
    throw new Error(`${what} does not validate against OpenAI's ${name}:\n  ${errors.join('\n  ')}\n` +
      `document: ${JSON.stringify(value).slice(0, 1500)}`);
  }
}
