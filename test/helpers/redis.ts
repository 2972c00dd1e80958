// A real redis-server for tests: spawned on a free 127.0.0.1 port with persistence off, killed at
// the end. Without the binary, tests skip visibly, naming the package (never a silent pass).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';

export const REDIS_MISSING = 'redis-server not installed (apt-get install redis-server)';

/** True when redis-server is on PATH. */
export function hasRedis(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

export interface TestRedis {
  port: number;
  url: string;
  /** SIGKILL the server (a crash: no goodbye to clients). */
  kill(): Promise<void>;
  /** Start it again on the same port (empty: persistence is off). */
  restart(): Promise<void>;
  /** One command over a fresh connection (RESP), e.g. command('FLUSHALL'). */
  command(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startRedis(): Promise<TestRedis> {
  const port = await freePort();
  let proc: ChildProcess | undefined;
  let output = '';
  const launch = async () => {
    output = '';
    proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
    proc.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
    // Wait for PING (bounded: 10 s).
    const end = Date.now() + 10_000;
    for (;;) {
      try {
        if ((await command(port, ['PING'])).startsWith('+PONG')) return;
      } catch {
        /* not up yet */
      }
      if (proc.exitCode !== null || Date.now() > end) throw new Error(`redis-server did not start on ${port}: ${output}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  const kill = async () => {
    const p = proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((r) => {
      p.once('exit', () => r());
      p.kill('SIGKILL');
    });
  };
  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    restart: launch,
    command: (...args) => command(port, args),
    stop: kill,
  };
}

/** Sends one RESP command and returns the raw reply text (enough for PING, FLUSHALL, DBSIZE, KEYS). */
function command(port: number, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = '';
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error('redis command timed out'));
    }, 2000);
    s.on('connect', () => s.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`));
    s.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.endsWith('\r\n')) {
        clearTimeout(t);
        s.end();
        resolve(buf);
      }
    });
    s.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}
