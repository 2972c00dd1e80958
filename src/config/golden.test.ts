// Golden config tests (Caddy's adapt tests): testdata/<case>.yaml is loaded and compared with
// <case>.out.json (the loaded config, warnings and secret paths) or <case>.err.txt (the exact
// error lines). UPDATE_GOLDEN=1 rewrites the expected files from the current output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadConfigText } from './load.js';
import { ConfigError } from './issues.js';

// Tests run from dist/; the golden files live (and are updated) in the source tree.
const dir = fileURLToPath(new URL('../../../src/config/testdata/', import.meta.url));
const update = process.env.UPDATE_GOLDEN === '1';

/** The environment every case sees; cases must not depend on the real one. */
const ENV = {
  GH_PORT: '8080',
  GH_EMPTY: '',
  GH_UPSTREAM: 'http://upstream.internal:9000',
  GH_TOKEN: 's3cr3t-token',
};

const cases = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => f.slice(0, -'.yaml'.length))
  .sort();

for (const name of cases) {
  test(`golden ${name}`, async () => {
    const file = `testdata/${name}.yaml`;
    const text = readFileSync(`${dir}${name}.yaml`, 'utf8');
    let actual: string;
    let kind: 'out.json' | 'err.txt';
    try {
      const loaded = await loadConfigText(text, file, { env: ENV, baseDir: dir });
      kind = 'out.json';
      const { config, warnings, secretPaths } = loaded;
      actual = `${JSON.stringify({ config, warnings, secretPaths }, null, 2)}\n`;
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      kind = 'err.txt';
      actual = `${err.errors.join('\n')}\n`;
    }
    const expectedPath = `${dir}${name}.${kind}`;
    const otherPath = `${dir}${name}.${kind === 'out.json' ? 'err.txt' : 'out.json'}`;
    if (update) {
      writeFileSync(expectedPath, actual);
      return;
    }
    assert.ok(!existsSync(otherPath) || existsSync(expectedPath), `${name}: expected ${otherPath.split('/').pop()}, but the config ${kind === 'err.txt' ? 'failed' : 'loaded'}:\n${actual}`);
    assert.ok(existsSync(expectedPath), `${name}: no ${name}.${kind}; run with UPDATE_GOLDEN=1 and review it`);
    assert.equal(actual, readFileSync(expectedPath, 'utf8'));
  });
}
