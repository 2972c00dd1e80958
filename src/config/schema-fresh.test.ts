// The committed schema (editors load it) must be exactly what the code generates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { renderJsonSchema } from './json-schema.js';

const committed = new URL('../../../schema/gatehouse.schema.json', import.meta.url);

test('schema/gatehouse.schema.json is fresh', () => {
  let text: string;
  try {
    text = readFileSync(committed, 'utf8');
  } catch {
    assert.fail('schema/gatehouse.schema.json is missing: run npm run schema');
  }
  assert.ok(text === renderJsonSchema(), 'schema/gatehouse.schema.json is stale: run npm run schema');
});

test('the schema is draft-07 with an id and title', () => {
  const schema = JSON.parse(renderJsonSchema()) as Record<string, unknown>;
  assert.equal(schema.$schema, 'http://json-schema.org/draft-07/schema#');
  assert.equal(typeof schema.$id, 'string');
  assert.equal(schema.title, 'Gatehouse configuration');
  assert.equal(schema.additionalProperties, false);
});
