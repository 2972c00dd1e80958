// Compile problems are collected, not thrown one by one, so `gatehouse validate` can list them
// all; compilePolicy() throws the first as a PolicyError.

export type PathSegment = string | number;

export interface PolicyIssue {
  /** Relative to the policy document, e.g. ['Statement', 2, 'Condition', 'StringEqulas']. */
  readonly path: PathSegment[];
  /** Lowercase, no trailing period, without the path (callers prefix their own key path). */
  readonly message: string;
}

export class PolicyError extends Error {
  readonly code = 'GH_ERR_POLICY_INVALID';
  readonly policy: string;
  readonly path: PathSegment[];
  /** The message without the policy name and path. */
  readonly detail: string;

  constructor(policy: string, issue: PolicyIssue) {
    const where = formatPolicyPath(issue.path);
    super(`policy ${JSON.stringify(policy)}${where ? ` ${where}` : ''}: ${issue.message}`);
    this.name = 'PolicyError';
    this.policy = policy;
    this.path = issue.path;
    this.detail = issue.message;
  }
}

/** `Statement[2].Condition.StringEqulas`: the spelling of config key paths elsewhere in Gatehouse. */
export function formatPolicyPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** Where compile steps report problems; `at` extends the path for a nested step. */
export class IssueSink {
  readonly issues: PolicyIssue[] = [];
  readonly #base: PathSegment[];

  constructor(base: PathSegment[] = [], shared?: IssueSink) {
    this.#base = base;
    if (shared) this.issues = shared.issues;
  }

  at(...segs: PathSegment[]): IssueSink {
    return new IssueSink([...this.#base, ...segs], this);
  }

  report(message: string, ...segs: PathSegment[]): void {
    this.issues.push({ path: [...this.#base, ...segs], message });
  }

  get count(): number {
    return this.issues.length;
  }
}
