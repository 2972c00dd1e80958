// The condition operator vocabulary: names, their families and how a name splits into
// [ForAnyValue:|ForAllValues:] Operator [IfExists].
import { didYouMean } from './suggest.js';

export type Family = 'string' | 'numeric' | 'date' | 'bool' | 'ip' | 'null';
export type Compare = 'eq' | 'lt' | 'le' | 'gt' | 'ge';

export interface OperatorSpec {
  readonly family: Family;
  /** Negated operators are true on a missing key and when no value matches. */
  readonly negated: boolean;
  readonly compare: Compare;
  /** String*Like*: `*` and `?` are wildcards in the policy values. */
  readonly like: boolean;
  readonly ignoreCase: boolean;
}

export type SetQualifier = 'none' | 'any' | 'all';

export interface ParsedOperator {
  readonly spec: OperatorSpec;
  readonly ifExists: boolean;
  readonly set: SetQualifier;
}

const op = (family: Family, negated = false, compare: Compare = 'eq', like = false, ignoreCase = false): OperatorSpec => ({
  family,
  negated,
  compare,
  like,
  ignoreCase,
});

function ordered(family: 'numeric' | 'date'): Record<string, OperatorSpec> {
  const name = family === 'numeric' ? 'Numeric' : 'Date';
  return {
    [`${name}Equals`]: op(family),
    [`${name}NotEquals`]: op(family, true),
    [`${name}LessThan`]: op(family, false, 'lt'),
    [`${name}LessThanEquals`]: op(family, false, 'le'),
    [`${name}GreaterThan`]: op(family, false, 'gt'),
    [`${name}GreaterThanEquals`]: op(family, false, 'ge'),
  };
}

export const OPERATORS: Readonly<Record<string, OperatorSpec>> = Object.freeze({
  StringEquals: op('string'),
  StringNotEquals: op('string', true),
  StringEqualsIgnoreCase: op('string', false, 'eq', false, true),
  StringNotEqualsIgnoreCase: op('string', true, 'eq', false, true),
  StringLike: op('string', false, 'eq', true),
  StringNotLike: op('string', true, 'eq', true),
  // Extension (not in AWS): StringLike with case-insensitive matching, e.g. for host names.
  StringLikeIgnoreCase: op('string', false, 'eq', true, true),
  StringNotLikeIgnoreCase: op('string', true, 'eq', true, true),
  ...ordered('numeric'),
  ...ordered('date'),
  Bool: op('bool'),
  IpAddress: op('ip'),
  NotIpAddress: op('ip', true),
  Null: op('null'),
});

const QUALIFIERS: Record<string, SetQualifier> = { ForAnyValue: 'any', ForAllValues: 'all' };

/** Splits an operator name, or returns an error message. */
export function parseOperator(name: string): ParsedOperator | string {
  let rest = name;
  let set: SetQualifier = 'none';
  const colon = name.indexOf(':');
  if (colon >= 0) {
    const q = name.slice(0, colon);
    const qualifier = QUALIFIERS[q];
    if (qualifier === undefined) return `unknown set qualifier ${JSON.stringify(q)}${didYouMean(q, Object.keys(QUALIFIERS))}`;
    set = qualifier;
    rest = name.slice(colon + 1);
  }
  let ifExists = false;
  let spec = OPERATORS[rest];
  if (spec === undefined && rest.endsWith('IfExists')) {
    spec = OPERATORS[rest.slice(0, -'IfExists'.length)];
    ifExists = spec !== undefined;
  }
  if (spec === undefined) {
    const all = Object.keys(OPERATORS).flatMap((n) => (n === 'Null' ? [n] : [n, `${n}IfExists`]));
    return `unknown condition operator ${JSON.stringify(name)}${didYouMean(rest, all)}`;
  }
  if (spec.family === 'null' && (ifExists || set !== 'none')) {
    return `the Null operator takes neither IfExists nor ForAnyValue/ForAllValues (it already tests presence)`;
  }
  return { spec, ifExists, set };
}
