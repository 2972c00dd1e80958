import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { FILTERS } from './registry.js';
import { REASONS } from '../pipeline/reasons.js';

const srcDir = new URL('../../../src/filters/', import.meta.url);

test('every filter folder is registered, and its name is the snake_case of the folder', () => {
  const folders = readdirSync(srcDir).filter((n) => statSync(new URL(n, srcDir)).isDirectory() && n !== 'common');
  const names = FILTERS.map((f) => f.name).sort();
  assert.deepEqual(folders.map((f) => f.replace(/-/g, '_')).sort(), names);
});

test('every reason code a filter declares is registered in pipeline/reasons.ts', () => {
  for (const f of FILTERS) for (const r of f.reasons) assert.ok(r in REASONS, `${f.name}: ${r} is not in REASONS`);
});

test('filter order values are unique so chain order never depends on registry order', () => {
  const orders = FILTERS.map((f) => f.order);
  assert.equal(new Set(orders).size, orders.length);
});

test('reason codes are lowercase, dot-namespaced', () => {
  for (const code of Object.keys(REASONS)) assert.match(code, /^[a-z0-9_]+(\.[a-z0-9_]+)+$/);
});
