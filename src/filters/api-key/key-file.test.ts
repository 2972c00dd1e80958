// The keys file watcher without fs.watch: the stat poll alone must pick up changes (the path NFS
// and some container mounts take), refuse bad content once with a log line and keep the last
// good set, and survive the file disappearing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { KeyFile } from './key-file.js';
import { generateKey } from './key-format.js';
import type { KeyRecord } from './config.js';

function recordingLog() {
  const lines: Array<{ level: string; obj: Record<string, unknown>; msg: string }> = [];
  const at = (level: string) => (obj: Record<string, unknown>, msg: string) => void lines.push({ level, obj, msg });
  return { lines, log: { info: at('info'), error: at('error'), warn: at('warn') } as unknown as Logger };
}

/** Resolves when `cond` holds; polls every 20 ms, fails after a generous deadline. */
async function until(cond: () => boolean, what: string, deadlineMs = 10_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const rec = (owner: string) => {
  const k = generateKey();
  return `- id: ${k.id}\n  hash: ${k.hash}\n  owner: ${owner}\n`;
};

test('poll-only: add, refuse a bad file once (no values in the log), keep the last good set, survive deletion', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-keyfile-'));
  const path = join(dir, 'keys.yaml');
  writeFileSync(path, rec('a'));
  const { lines, log } = recordingLog();
  let applied: KeyRecord[][] = [];
  const kf = new KeyFile({ path, log, pollMs: 50, watch: false, apply: (r) => void applied.push(r) });
  assert.equal(kf.loadSync().length, 1);
  kf.start();
  try {
    // Atomic replace (new inode), the way editors and config management write.
    writeFileSync(`${path}.tmp`, rec('a') + rec('b'));
    renameSync(`${path}.tmp`, path);
    await until(() => applied.length === 1, 'the added key');
    assert.deepEqual(applied[0]!.map((r) => r.owner), ['a', 'b']);

    const secretLooking = generateKey().key;
    writeFileSync(path, `- id: abcdefgh\n  hash: ${secretLooking}\n  owner: c\n`);
    await until(() => lines.some((l) => l.level === 'error'), 'the refusal');
    const refusal = lines.find((l) => l.level === 'error')!;
    assert.match(String(refusal.obj.reason), /\[0\]\.hash: must match pattern/);
    assert.ok(!JSON.stringify(lines).includes(secretLooking), 'a key-like value reached the log');
    writeFileSync(path, 'keys: [\n'); // YAML syntax error: refused too, logged once
    await until(() => lines.filter((l) => l.level === 'error').length === 2, 'the second refusal');
    await new Promise((r) => setTimeout(r, 300)); // several polls: no repeated log line
    assert.equal(lines.filter((l) => l.level === 'error').length, 2);
    assert.equal(applied.length, 1, 'a bad file was applied');

    rmSync(path);
    await until(() => lines.filter((l) => l.level === 'error').length === 3, 'the missing-file log');
    assert.match(String(lines.at(-1)!.obj.reason), /ENOENT/);
    writeFileSync(path, rec('d'));
    await until(() => applied.length === 2, 'the restored file');
    assert.deepEqual(applied[1]!.map((r) => r.owner), ['d']);
  } finally {
    kf.close();
    applied = [];
  }
});

test('apply may refuse records (e.g. an id also inline): logged, last good set kept', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-keyfile-'));
  const path = join(dir, 'keys.json');
  writeFileSync(path, '[]');
  const { lines, log } = recordingLog();
  const kf = new KeyFile({
    path, log, pollMs: 50, watch: false,
    apply: () => {
      throw new Error('keys_file[0]: duplicate key id "abcdefgh" (first in api_key.keys[0])');
    },
  });
  assert.deepEqual(kf.loadSync(), []);
  kf.start();
  try {
    writeFileSync(path, JSON.stringify([{ id: 'abcdefgh', hash: generateKey().hash, owner: 'x' }]));
    await until(() => lines.some((l) => l.level === 'error'), 'the refusal');
    assert.match(String(lines[0]!.obj.reason), /duplicate key id/);
  } finally {
    kf.close();
  }
});
