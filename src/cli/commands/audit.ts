// `gatehouse audit verify PATH...`: checks audit chains (files or folders of them). Each process
// writes its own chain across rotated files; every chain is verified from its first record, and
// the first broken, missing or reordered record is reported with file and line. Exit 0 intact,
// 1 broken, 2 bad usage.
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { checkLine, GENESIS } from '../../observability/audit-chain.js';
import { parseCommandArgs } from '../args.js';
import { COMMAND_HELP } from '../help.js';
import { CliError, EXIT, type CliContext } from '../context.js';

interface ChainFile {
  path: string;
  lines: string[];
  /** Line numbers in the file (1-based) of `lines`: other lines are skipped with --mixed. */
  numbers: number[];
  previous: string | null;
  pid: unknown;
}

export async function auditCommand(args: string[], ctx: CliContext): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '-h' || sub === '--help') {
    ctx.stdout(COMMAND_HELP.audit!);
    return sub === undefined ? EXIT.usage : EXIT.ok;
  }
  if (sub !== 'verify') throw new CliError(`gatehouse audit: unknown subcommand "${sub}" (use: gatehouse audit verify PATH...)`);
  const { values, positionals } = parseCommandArgs('audit verify', {
    args: rest,
    options: { 'key-env': { type: 'string' }, 'key-file': { type: 'string' }, checkpoint: { type: 'string' }, mixed: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    ctx.stdout(COMMAND_HELP.audit!);
    return EXIT.ok;
  }
  if (positionals.length === 0) throw new CliError('gatehouse audit verify: give the audit files or folders to check');
  let key: Buffer | undefined;
  if (values['key-env'] !== undefined) {
    const v = process.env[values['key-env']];
    if (!v) throw new CliError(`gatehouse audit verify: environment variable ${values['key-env']} is not set`);
    key = Buffer.from(v);
  } else if (values['key-file'] !== undefined) {
    key = Buffer.from((await readFile(values['key-file'], 'utf8')).trim());
  }
  const files = await collect(positionals, values.mixed === true);
  if (files.length === 0) throw new CliError('gatehouse audit verify: no audit files found');
  const chains = link(files);
  let broken = 0;
  const lastByPid = new Map<string, { seq: number; hash: string }[]>();
  for (const chain of chains) {
    const r = verifyChain(chain, key);
    if (r.problem) {
      broken++;
      ctx.stdout(`BROKEN ${r.problem}\n`);
    } else {
      ctx.stdout(`ok     ${chain.map((f) => basename(f.path)).join(' -> ')}: ${r.records} records, last seq ${r.seen.at(-1)?.seq ?? 0}${r.keyed ? ', keyed (HMAC)' : ''}\n`);
    }
    const pid = String(chain[0]?.pid ?? '');
    lastByPid.set(pid, [...(lastByPid.get(pid) ?? []), ...r.seen]);
  }
  if (values.checkpoint !== undefined) broken += await checkCheckpoints(values.checkpoint, lastByPid, ctx);
  ctx.stdout(guarantees(key !== undefined, values.checkpoint !== undefined));
  return broken ? EXIT.failure : EXIT.ok;
}

/**
 * In a captured stdout stream, a line is skipped only when it is a JSON object that is plainly
 * not an audit record (no hash, no prev, no seq); anything else, even unparsable, is checked.
 */
function otherLine(text: string): boolean {
  if (text === '') return true;
  try {
    const o = JSON.parse(text) as unknown;
    return o !== null && typeof o === 'object' && !Array.isArray(o) && !('hash' in o) && !('prev' in o) && !('seq' in o);
  } catch {
    return false;
  }
}

async function collect(paths: string[], mixed: boolean): Promise<ChainFile[]> {
  const out: ChainFile[] = [];
  for (const p of paths) {
    let s;
    try {
      s = await stat(p);
    } catch {
      throw new CliError(`gatehouse audit verify: cannot read ${p}`);
    }
    const names = s.isDirectory() ? (await readdir(p)).filter((n) => n.endsWith('.jsonl')).sort().map((n) => join(p, n)) : [p];
    for (const path of names) {
      const all = (await readFile(path, 'utf8')).split('\n');
      if (all.at(-1) === '') all.pop();
      const lines: string[] = [];
      const numbers: number[] = [];
      all.forEach((l, i) => {
        if (mixed && otherLine(l)) return;
        lines.push(l);
        numbers.push(i + 1);
      });
      let first: Record<string, unknown> = {};
      try {
        first = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
      } catch {
        /* reported by verifyChain */
      }
      out.push({ path, lines, numbers, previous: typeof first.previous_file === 'string' ? first.previous_file : null, pid: first.pid });
    }
  }
  return out;
}

/** Orders files into chains by their file_start links; a file whose predecessor is absent starts a chain. */
function link(files: ChainFile[]): ChainFile[][] {
  const byName = new Map(files.map((f) => [basename(f.path), f]));
  const next = new Map<string, ChainFile>();
  for (const f of files) if (f.previous && byName.has(f.previous)) next.set(f.previous, f);
  const chains: ChainFile[][] = [];
  for (const f of files) {
    if (f.previous && byName.has(f.previous)) continue;
    const chain = [f];
    for (let cur = next.get(basename(f.path)); cur; cur = next.get(basename(cur.path))) chain.push(cur);
    chains.push(chain);
  }
  return chains;
}

function verifyChain(chain: ChainFile[], key: Buffer | undefined) {
  let prev: string | undefined;
  let seq: number | undefined;
  let records = 0;
  let keyed = false;
  const seen: { seq: number; hash: string }[] = [];
  for (const f of chain) {
    for (let i = 0; i < f.lines.length; i++) {
      const where = `${f.path}:${f.numbers[i]}`;
      const c = checkLine(f.lines[i]!, key);
      if (!c.ok) return { problem: `${where}: ${c.problem}`, records, keyed, seen };
      const r = c.record;
      if (prev === undefined) {
        // The chain's first record: a fresh chain starts from the genesis hash; a chain whose
        // earlier files are missing can only be checked from here on (and says so).
        if (r.prev !== GENESIS && f.previous !== null) return { problem: `${where}: the chain starts in a missing file (${f.previous})`, records, keyed, seen };
        if (r.prev !== GENESIS) return { problem: `${where}: the first record does not start a chain (records before it are missing)`, records, keyed, seen };
      } else if (r.prev !== prev) {
        return { problem: `${where}: does not follow the previous record (a record was deleted, inserted or reordered before it)`, records, keyed, seen };
      }
      if (typeof r.seq !== 'number' || (seq !== undefined && r.seq !== seq + 1)) {
        return { problem: `${where}: sequence ${String(r.seq)} after ${seq ?? 0} (records missing or reordered)`, records, keyed, seen };
      }
      if (i === 0 && r.type !== 'file_start') return { problem: `${where}: a file must begin with its file_start record (truncated at the front?)`, records, keyed, seen };
      prev = c.hash;
      seq = r.seq;
      keyed ||= c.keyed;
      records++;
      seen.push({ seq: r.seq, hash: c.hash });
    }
  }
  return { problem: undefined, records, keyed, seen };
}

async function checkCheckpoints(path: string, chains: Map<string, { seq: number; hash: string }[]>, ctx: CliContext): Promise<number> {
  const lines = (await readFile(path, 'utf8')).split('\n').filter(Boolean);
  let broken = 0;
  for (const [i, line] of lines.entries()) {
    let cp: { seq?: number; hash?: string; pid?: unknown };
    try {
      cp = JSON.parse(line) as typeof cp;
    } catch {
      ctx.stdout(`BROKEN ${path}:${i + 1}: checkpoint is not valid JSON\n`);
      broken++;
      continue;
    }
    const records = chains.get(String(cp.pid ?? '')) ?? [];
    const hit = records.find((r) => r.seq === cp.seq);
    if (!hit || hit.hash !== cp.hash) {
      const last = records.at(-1)?.seq ?? 0;
      ctx.stdout(`BROKEN ${path}:${i + 1}: checkpoint seq ${cp.seq} (pid ${String(cp.pid)}) is not in the chain (last record there: seq ${last}); records were removed or rewritten\n`);
      broken++;
    }
  }
  return broken;
}

function guarantees(keyed: boolean, checkpoints: boolean): string {
  const lines = ['guarantees:', '  - edits, deletions, insertions and reordering inside a chain are detected (hash chain)'];
  lines.push(
    keyed
      ? '  - records cannot be forged or the chain rewritten without the HMAC key'
      : '  - NOT keyed: someone who knows the scheme can append well-formed records or rewrite the whole chain (configure audit.hmac_key)',
  );
  lines.push(
    checkpoints
      ? '  - truncation of the newest records is detected up to the last checkpoint'
      : '  - deleting the newest records is not detectable without checkpoints (pass --checkpoint FILE)',
  );
  return `${lines.join('\n')}\n`;
}
