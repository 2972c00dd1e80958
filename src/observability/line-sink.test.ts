// The line sink with a real file: string lines and pre-encoded byte batches keep their order, and
// every line ends in exactly one newline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLineSink } from './line-sink.js';

test('string lines and byte batches come out in the order they were handed over', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-sink-'));
  const file = join(dir, 'out.log');
  const sink = createLineSink(file);
  sink.append('{"n":1}\n');
  // A rope without its newline: the sink adds one.
  sink.append(`{"n":${2}` + `,"s":"${'x'.repeat(20)}"}`);
  sink.appendBytes(Buffer.from('{"n":3}\n{"n":4,"s":"é"}\n', 'utf8'));
  sink.append('{"n":5}\n');
  await sink.flush();
  const text = readFileSync(file, 'utf8');
  assert.ok(text.endsWith('\n') && !text.includes('\n\n'));
  assert.deepEqual(text.trimEnd().split('\n').map((l) => JSON.parse(l).n), [1, 2, 3, 4, 5]);
  assert.equal(JSON.parse(text.split('\n')[3]!).s, 'é');
  rmSync(dir, { recursive: true, force: true });
});
