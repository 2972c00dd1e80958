// Access-log lines encoded straight into bytes: a batch of lines becomes one Buffer without any
// per-line string. Why: a line built as a template literal is a rope of ~30 cons-string nodes plus
// its flat copy; the V8 sampling heap profiler put it at ~1.6 KB allocated per request, the
// largest allocation Gatehouse adds on top of node:http and undici (BENCHMARKS.md, paired runs).
// Here constant pieces are copied from pre-encoded bytes, numbers are written digit by digit, and
// each variable string is copied into the batch buffer (a byte loop for ASCII, utf8Write otherwise).
//
// Escaping: values the gateway produced or validated itself (request id: a UUID or a client id
// that passed PLAIN_ID; the IP; the method, a token Node's parser accepted; the normalized host;
// route and cluster names from the config schema's pattern; URL origins; reason codes; trace ids,
// 32 hex digits) cannot contain a quote, backslash or control character and are written as they
// are. The path goes through quoted(), which escapes when needed; decisions through
// formatDecisions(), which quotes every value.
import type { AccessFields } from './access-log.js';
import { formatDecisions, isoSecondPrefix, quoted } from './json-text.js';

type Utf8Writer = Buffer & { utf8Write(s: string, offset: number): number };

const bytes = (s: string) => Buffer.from(s, 'latin1');
const OPEN_TIME = bytes('{"time":"');
const REQUEST_ID = bytes('Z","request_id":"');
const TRACE_ID = bytes('","trace_id":"');
const CLIENT_IP = bytes('","client_ip":"');
const METHOD = bytes('","method":"');
const HOST = bytes('","host":"');
const PATH = bytes('","path":');
const ROUTE_NULL = bytes(',"route":null,"cluster":null');
const ROUTE = bytes(',"route":"');
const CLUSTER = bytes('","cluster":"');
const QUOTE = bytes('"');
const ENDPOINT_NULL = bytes(',"endpoint":null');
const ENDPOINT = bytes(',"endpoint":"');
const STATUS = bytes(',"status":');
const CODE_NULL = bytes(',"code":null');
const CODE = bytes(',"code":"');
const BYTES_IN = bytes(',"bytes_in":');
const BYTES_OUT = bytes(',"bytes_out":');
const DURATION = bytes(',"duration_ms":');
const UPSTREAM = bytes(',"upstream_ms":');
const NULL = bytes('null');
const DECISIONS = bytes(',"decisions":');
const CLOSE = bytes('}\n');

/** Bytes a line needs at most besides its variable strings (which take up to 3 bytes per UTF-16 unit). */
const FIXED_MAX = 400;

/** The second-resolution ISO prefix, as bytes: re-encoded when isoSecondPrefix moves on. */
let prefixText = '';
let prefixBytes = bytes('');

/**
 * Encodes lines into one growing buffer. `take()` hands the bytes written so far to the caller
 * (they go to an asynchronous write, so the next batch starts in a fresh buffer).
 */
export class AccessLineEncoder {
  #buf: Utf8Writer;
  #off = 0;

  constructor(readonly initialBytes = 64 * 1024) {
    this.#buf = Buffer.allocUnsafe(initialBytes) as Utf8Writer;
  }

  get length(): number {
    return this.#off;
  }

  /** The encoded lines; the encoder continues in a new buffer. */
  take(): Buffer {
    const out = this.#buf.subarray(0, this.#off);
    this.#buf = Buffer.allocUnsafe(Math.max(this.initialBytes, this.#off)) as Utf8Writer;
    this.#off = 0;
    return out;
  }

  /** A line the caller already has as a string (e.g. a refusal), ending in a newline. */
  text(line: string): void {
    this.#reserve(line.length * 3);
    this.#off += this.#buf.utf8Write(line, this.#off);
  }

  line(ctx: AccessFields, now: number, wallClock: number): void {
    const r = ctx.route;
    const path = quoted(ctx.path);
    const decisions = ctx.decisions === undefined ? undefined : formatDecisions(ctx.decisions);
    this.#reserve(
      FIXED_MAX +
        3 *
          (ctx.id.length + ctx.clientIp.length + ctx.method.length + ctx.host.length + path.length +
            (ctx.traceId?.length ?? 0) + (r === undefined ? 0 : r.name.length + r.cluster.name.length) +
            (ctx.endpoint?.length ?? 0) + (ctx.code?.length ?? 0) + (decisions?.length ?? 0)),
    );
    const sec = wallClock - (wallClock % 1000);
    const prefix = isoSecondPrefix(sec);
    if (prefix !== prefixText) {
      prefixText = prefix;
      prefixBytes = bytes(prefix);
    }
    this.#raw(OPEN_TIME);
    this.#raw(prefixBytes);
    this.#digits3(wallClock - sec);
    this.#raw(REQUEST_ID);
    this.#str(ctx.id);
    if (ctx.traceId !== undefined) {
      this.#raw(TRACE_ID);
      this.#str(ctx.traceId);
    }
    this.#raw(CLIENT_IP);
    this.#str(ctx.clientIp);
    this.#raw(METHOD);
    this.#str(ctx.method);
    this.#raw(HOST);
    this.#str(ctx.host);
    this.#raw(PATH);
    this.#str(path);
    if (r === undefined) this.#raw(ROUTE_NULL);
    else {
      this.#raw(ROUTE);
      this.#str(r.name);
      this.#raw(CLUSTER);
      this.#str(r.cluster.name);
      this.#raw(QUOTE);
    }
    this.#stringOrNull(ctx.endpoint, ENDPOINT, ENDPOINT_NULL);
    this.#raw(STATUS);
    this.#uint(ctx.status);
    this.#stringOrNull(ctx.code, CODE, CODE_NULL);
    this.#raw(BYTES_IN);
    this.#uint(ctx.bytesIn);
    this.#raw(BYTES_OUT);
    this.#uint(ctx.bytesOut);
    this.#raw(DURATION);
    this.#ms(now - ctx.start);
    this.#raw(UPSTREAM);
    if (ctx.upstreamStart) this.#ms((ctx.upstreamHeadersAt || now) - ctx.upstreamStart);
    else this.#raw(NULL);
    if (decisions !== undefined) {
      this.#raw(DECISIONS);
      this.#str(decisions);
    }
    this.#raw(CLOSE);
  }

  #reserve(n: number): void {
    if (this.#off + n <= this.#buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#off + n)) as Utf8Writer;
    this.#buf.copy(next, 0, 0, this.#off);
    this.#buf = next;
  }

  /** `,"name":"value"` (the name part pre-encoded in `open`), or `,"name":null`. */
  #stringOrNull(v: string | undefined, open: Buffer, asNull: Buffer): void {
    if (v === undefined) return this.#raw(asNull);
    this.#raw(open);
    this.#str(v);
    this.#raw(QUOTE);
  }

  #raw(b: Buffer): void {
    this.#buf.set(b, this.#off);
    this.#off += b.length;
  }

  /** ASCII strings (nearly all of them) are copied in a loop: cheaper than a call into C++ for
   * strings this short (a micro-benchmark of one line's eight strings: ~0.65 µs against ~1.1 µs). */
  #str(s: string): void {
    const buf = this.#buf;
    const off = this.#off;
    const n = s.length;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        this.#off = off + buf.utf8Write(s, off);
        return;
      }
      buf[off + i] = c;
    }
    this.#off = off + n;
  }

  /** A non-negative integer (a count or a status): digits written backwards from its length. */
  #uint(n: number): void {
    if (!(n >= 0 && n <= Number.MAX_SAFE_INTEGER && Number.isInteger(n))) {
      this.#str(String(n));
      return;
    }
    let len = 1;
    for (let x = n; x >= 10; x = Math.floor(x / 10)) len++;
    const buf = this.#buf;
    let at = this.#off + len;
    this.#off = at;
    do {
      const q = Math.floor(n / 10);
      buf[--at] = 48 + (n - q * 10);
      n = q;
    } while (n > 0);
  }

  /** 0-999 as exactly three digits. */
  #digits3(n: number): void {
    const buf = this.#buf;
    const at = this.#off;
    buf[at] = 48 + Math.floor(n / 100);
    buf[at + 1] = 48 + (Math.floor(n / 10) % 10);
    buf[at + 2] = 48 + (n % 10);
    this.#off = at + 3;
  }

  /** Milliseconds with microsecond resolution ("12.345"): the same JSON number as Math.round(ms * 1000) / 1000. */
  #ms(ms: number): void {
    const us = Math.round(ms * 1000);
    const whole = Math.floor(us / 1000);
    this.#uint(whole);
    this.#buf[this.#off++] = 46; // '.'
    this.#digits3(us - whole * 1000);
  }
}
