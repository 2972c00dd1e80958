// Policy documents → CompiledPolicy. Keys use AWS's spelling (Statement, Effect, ...), plus the
// Gatehouse members `explanation` and `remediation`, which a denial shows to the caller.
import { IssueSink, PolicyError, type PolicyIssue } from './errors.js';
import { isPlainObject } from './shape.js';
import { compileStatement, optionalString, type CompiledStatement } from './statement.js';
import { didYouMean } from './suggest.js';

export interface CompiledPolicy {
  readonly name: string;
  readonly statements: readonly CompiledStatement[];
  readonly explanation?: string;
  readonly remediation?: string;
}

const MEMBERS = ['Version', 'Id', 'Statement', 'explanation', 'remediation'];
// 2012-10-17 is the version that has policy variables; an older one would silently change meaning.
const VERSION = '2012-10-17';

/** Compiles a policy document; throws a PolicyError naming the first problem. */
export function compilePolicy(name: string, doc: unknown): CompiledPolicy {
  const { policy, issues } = compile(name, doc);
  if (issues.length > 0 || policy === undefined) throw new PolicyError(name, issues[0] ?? { path: [], message: 'invalid policy' });
  return policy;
}

/** Every problem in a policy document (empty when it compiles), for `gatehouse validate`. */
export function compilePolicyIssues(name: string, doc: unknown): PolicyIssue[] {
  return compile(name, doc).issues;
}

function compile(name: string, doc: unknown): { policy: CompiledPolicy | undefined; issues: PolicyIssue[] } {
  const sink = new IssueSink();
  if (!isPlainObject(doc)) {
    sink.report('a policy document must be an object with a Statement member');
    return { policy: undefined, issues: sink.issues };
  }
  for (const k of Object.keys(doc)) {
    if (!MEMBERS.includes(k)) sink.report(`unknown policy member ${JSON.stringify(k)}${didYouMean(k, MEMBERS)}`, k);
  }
  if (doc.Version !== undefined && doc.Version !== VERSION) sink.report(`Version must be "${VERSION}" when given`, 'Version');
  if (doc.Id !== undefined && typeof doc.Id !== 'string') sink.report('must be a string', 'Id');
  const explanation = optionalString(doc, 'explanation', sink);
  const remediation = optionalString(doc, 'remediation', sink);
  const statements: CompiledStatement[] = [];
  const raw = doc.Statement;
  if (raw === undefined) sink.report('a policy document needs a Statement member');
  else if (Array.isArray(raw) && raw.length === 0) sink.report('needs at least one statement', 'Statement');
  else {
    const list = Array.isArray(raw) ? raw : [raw];
    list.forEach((s, i) => {
      const at = Array.isArray(raw) ? sink.at('Statement', i) : sink.at('Statement');
      const st = compileStatement(s, i, at);
      if (st) statements.push(st);
    });
    const seen = new Map<string, number>();
    for (const st of statements) {
      if (st.sid === undefined) continue;
      const first = seen.get(st.sid);
      if (first !== undefined) sink.report(`Sid ${JSON.stringify(st.sid)} is already used by statement ${first}`, 'Statement', st.index, 'Sid');
      else seen.set(st.sid, st.index);
    }
  }
  if (sink.count > 0) return { policy: undefined, issues: sink.issues };
  const policy: CompiledPolicy = Object.freeze({
    name,
    statements: Object.freeze(statements),
    ...(explanation !== undefined && { explanation }),
    ...(remediation !== undefined && { remediation }),
  });
  return { policy, issues: [] };
}
