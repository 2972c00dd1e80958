// The JSON Schema of a policy document, for the config schema and editor completion. It is
// deliberately loose where compilePolicyIssues() gives the better message (operator names,
// condition keys, value formats); descriptions are the user documentation.
import { Type as T, type TSchema } from '@sinclair/typebox';

const StringOrList = (description: string) =>
  T.Union([T.String({ minLength: 1 }), T.Array(T.String({ minLength: 1 }), { minItems: 1 })], { description });

const Scalar = T.Union([T.String(), T.Number(), T.Boolean()]);

const PrincipalValue = (description: string) =>
  T.Union(
    [
      T.Literal('*', { description: 'Anyone, anonymous callers included' }),
      T.Object(
        {
          Role: T.Optional(StringOrList('Callers holding a role matching any of these (wildcards * and ? allowed)')),
          Subject: T.Optional(StringOrList('Callers whose subject (JWT sub, key owner, certificate subject) matches')),
          Issuer: T.Optional(StringOrList('Callers whose token issuer matches')),
          AuthMethod: T.Optional(StringOrList('Callers authenticated by one of: jwt, sigv4, api_key, mtls')),
        },
        { description: 'Matches when any listed key matches (OR). Never matches an anonymous caller' },
      ),
    ],
    { description },
  );

const Statement = T.Object(
  {
    Sid: T.Optional(T.String({ description: 'Statement id, unique in the policy; decisions and logs name the statement by it (else #<index>)' })),
    Effect: T.Union([T.Literal('Allow'), T.Literal('Deny')], { description: 'Deny wins over any Allow; with no matching Allow a request is denied' }),
    Action: T.Optional(StringOrList('HTTP methods as http:<METHOD>, wildcards allowed (http:*, http:G*); case-insensitive. Exactly one of Action / NotAction')),
    NotAction: T.Optional(StringOrList('The statement applies to every method except these')),
    Resource: T.Optional(
      StringOrList(
        'route/<route-name><normalized-path>; * matches any run of characters (including /), ? one character. ' +
          "Policy variables such as ${identity.sub} or ${identity.sub, 'default'} are substituted and matched literally; " +
          '${*} ${?} ${$} write those characters literally. Deny resources ignore case by default. Exactly one of Resource / NotResource',
      ),
    ),
    NotResource: T.Optional(StringOrList('The statement applies to every resource except these')),
    Principal: T.Optional(PrincipalValue('Who the statement applies to (default: anyone)')),
    NotPrincipal: T.Optional(PrincipalValue('The statement applies to everyone except these')),
    Condition: T.Optional(
      T.Record(T.String(), T.Record(T.String(), T.Union([Scalar, T.Array(Scalar)])), {
        description:
          '{ Operator: { key: value | [values] } }. All operators and keys must hold; several values for one key are OR. ' +
          'Operators: String(Not)Equals(IgnoreCase), String(Not)Like(IgnoreCase), Numeric*, Date*, Bool, (Not)IpAddress, Null; ' +
          'any but Null takes an IfExists suffix and a ForAnyValue: / ForAllValues: prefix (ForAllValues is true when the key has no values). ' +
          'Keys: identity.sub, identity.issuer, identity.roles, identity.scopes, identity.claims.<name>, identity.method, identity.key_id, ' +
          'identity.usage_plan, request.ip, request.method, request.path, request.route, request.host, request.scheme, request.secure, ' +
          'request.params.<name>, request.headers.<name>, request.query.<name>, request.time, tls.client.san, tls.client.fingerprint, tls.client.subject',
      }),
    ),
    explanation: T.Optional(T.String({ description: 'Shown to a caller this statement denies (falls back to the policy explanation)' })),
    remediation: T.Optional(T.String({ description: 'What a denied caller can do about it (falls back to the policy remediation)' })),
  },
  { description: 'One rule: Effect, Action or NotAction, Resource or NotResource, and optionally Principal and Condition' },
);

export const policyDocumentSchema: TSchema = T.Object(
  {
    Version: T.Optional(T.Literal('2012-10-17', { description: 'Policy language version; only 2012-10-17 (the one with policy variables)' })),
    Id: T.Optional(T.String({ description: 'Free-form document id' })),
    Statement: T.Union([Statement, T.Array(Statement, { minItems: 1 })], { description: 'One statement or a list of them' }),
    explanation: T.Optional(T.String({ description: 'Shown to callers denied by any statement of this policy that has none of its own' })),
    remediation: T.Optional(T.String({ description: 'What a denied caller can do about it' })),
  },
  { description: 'An IAM-style policy document (AWS key spelling). Evaluation: explicit Deny, else any matching Allow, else deny' },
);
