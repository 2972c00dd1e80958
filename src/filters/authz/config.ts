import { Type as T, type Static } from '@sinclair/typebox';

export const authzSchema = T.Object(
  {
    policies: T.Optional(
      T.Array(T.String({ minLength: 1 }), {
        description:
          'Names of policies (from authorization.policies) evaluated for every caller on this route, in addition to the ' +
          "policies of the caller's roles (authorization.roles)",
      }),
    ),
    roles: T.Optional(
      T.Array(T.String({ minLength: 1 }), {
        description: 'Shorthand: callers holding any of these roles are allowed on this route (unless a policy explicitly denies)',
      }),
    ),
    allow: T.Optional(
      T.Literal('authenticated', {
        description:
          'Allow any authenticated caller unless a policy explicitly denies. Without it (or roles, or an Allow statement), ' +
          'a route with authentication denies by default',
      }),
    ),
    mode: T.Optional(
      T.Union([T.Literal('enforce'), T.Literal('shadow')], {
        description: 'enforce (default), or shadow: evaluate, log and count every decision, but let denied requests through',
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'Authorization (IAM-style policies). Added automatically, denying by default, to every route with an authenticator. ' +
      'Deny wins over Allow; no Allow means deny. Resources are route/<route-name><path>, actions http:<METHOD>',
  },
);

export type AuthzConfig = Static<typeof authzSchema>;
