// The authorization policy language: pure functions of a policy document and a request.
export { buildEvaluator } from './evaluate.js';
export { compilePolicy, compilePolicyIssues, type CompiledPolicy } from './compile.js';
export type { CompiledStatement } from './statement.js';
export { PolicyError, formatPolicyPath, type PolicyIssue, type PathSegment } from './errors.js';
export { CONDITION_KEYS } from './keys.js';
export { OPERATORS } from './operators.js';
export { policyDocumentSchema } from './schema.js';
export {
  POLICY_REASONS,
  type Attachment,
  type AuthMethod,
  type AuthzRequest,
  type Decision,
  type Effect,
  type Evaluator,
  type EvaluatorOptions,
  type PolicyIdentity,
  type ReasonCode,
  type TraceEntry,
  type TraceOutcome,
} from './types.js';
