// Help texts: short, with the one example people look for.
export const MAIN_HELP = `Usage: gatehouse <command> [options]

Commands:
  start -c FILE       Run the gateway with the config FILE
  validate -c FILE    Check a config file; problems are printed as FILE:LINE:COL: KEY: MESSAGE
  schema              Print the config file's JSON Schema (for editor completion)
  keys create|hash    Make an API key (printed once) and its record; hash an existing key
  explain -c FILE     Show the authorization decision for a request and caller, statement by statement
  test-policies -c FILE [PATH...]
                      Run *.policy-test.yaml files: expected allow/deny per request and caller
  audit verify PATH...
                      Check audit-trail hash chains; report the first broken record
  help [COMMAND]      Show help for a command

Options:
  -h, --help          Show this help
  -v, --version       Print the version

Run 'gatehouse COMMAND --help' for a command's options.
`;

export const COMMAND_HELP: Record<string, string> = {
  audit: `Usage: gatehouse audit verify PATH... [--key-env NAME | --key-file FILE] [--checkpoint FILE] [--mixed]

Verify audit trails written by the gateway (audit.dir): every chain (one per gateway process,
continued across rotated files) is checked record by record: hash, link to the previous record,
sequence. The first broken, missing, inserted or reordered record is reported as FILE:LINE.
With the HMAC key (the same secret as audit.hmac_key), forged records are detected too; with the
checkpoint file (audit.checkpoint_path), so is truncation of the newest records.

Options:
  --key-env NAME      Read the HMAC key from environment variable NAME
  --key-file FILE     Read the HMAC key from FILE
  --checkpoint FILE   Check the chain still contains every checkpointed record
  --mixed             PATH is a captured stdout stream (audit.sink: stdout): skip the access-log
                      and decision-log lines between audit records (a removed or edited record
                      still breaks the chain)
  -h, --help          Show this help

Exit status: 0 every chain intact, 1 something is broken, 2 bad usage.
`,
  explain: `Usage: gatehouse explain -c FILE --path PATH [--method M] [--identity FILE.json | --token JWT]
                        [--host H] [-H 'name: value']... [--ip IP] [--time ISO] [--json]

Route the request as the gateway would and evaluate the route's authorization policies; print
the decision (reason code, deciding policy and statement, explanation, remediation) and a trace
of every statement considered: + matched, - action/resource/principal did not match,
! a condition failed, blank: the policy is attached to roles the caller lacks.

The caller is --identity, a JSON file with {"subject", "roles", "scopes", "claims", "method",
"issuer", "key_id", "usage_plan"}, or a bare JWT claims set (mapped with the route's jwt
issuer settings: subject_claim, roles_claim, role_map); or --token, a JWT whose claims are
decoded WITHOUT verifying the signature. Neither: an anonymous caller.

Options:
  -c, --config FILE     The config file
  --path PATH           Request path, optionally with ?query (normalized as the gateway does)
  -X, --method M        HTTP method (default GET)
  --host H              Host header (default localhost)
  -H, --header 'n: v'   A request header (repeatable)
  --ip IP               Client address (default 127.0.0.1)
  --time ISO            Request time for Date conditions (default now)
  --json                Print the result as JSON
  -h, --help            Show this help

Exit status: 0 allowed, 1 denied (or no route), 2 bad usage or invalid config.
`,
  'test-policies': `Usage: gatehouse test-policies -c FILE [PATH...] [--verbose]

Run policy unit tests: every *.policy-test.yaml under PATH (default: the config file's folder).
Each file holds a list of cases, decided by the same routing and evaluator as the gateway:

  tests:
    - name: readers can read orders
      request: { method: GET, path: /orders/7, host: api.example.com, headers: {x-tenant: a}, ip: 10.0.0.1 }
      identity: { subject: alice, roles: [orders-reader] }   # or token: JWT, or omit (anonymous)
      expect: allow            # allow | deny
      reason: authz.explicit_deny   # optional, also policy: and statement:

Options:
  -c, --config FILE   The config file
  --verbose           Print passing cases too
  -h, --help          Show this help

Exit status: 0 all passed, 1 a case failed, 2 a test file or the config is invalid.
`,
  start: `Usage: gatehouse start [-c] FILE [--demo-upstream]

Load and validate FILE, then serve until SIGTERM or SIGINT (in-flight requests drain first).
SIGHUP reloads FILE; SIGUSR1 reopens the access log.

Options:
  -c, --config FILE   The config file (or give FILE as the argument)
  --demo-upstream     Also run a small demo upstream on 127.0.0.1:9000
  -h, --help          Show this help

Exit status: 1 if the gateway cannot start, 2 if FILE is invalid.
`,
  validate: `Usage: gatehouse validate [-c] FILE

Check FILE as 'start' would: YAML syntax, \${...} interpolation (environment variables and
secret references are resolved), the schema, and references between sections.
Prints "FILE: ok" when valid. Each problem is one line on stderr:
  FILE:LINE:COL: KEY.PATH: MESSAGE
Warnings (e.g. a route that can never match) start with "warning:" and do not fail.

Options:
  -c, --config FILE   The config file (or give FILE as the argument)
  -h, --help          Show this help

Exit status: 0 valid, 2 invalid.
`,
  keys: `Usage: gatehouse keys create --owner NAME [--roles a,b] [--usage-plan PLAN] [--expires DATE] [--json]
       gatehouse keys hash KEY|-

create  Make a new API key (gh_<id>_<secret>). The key is printed once on the first line of
        stdout and is stored nowhere; the lines after it are the YAML record (id, sha256 hash,
        owner, roles, usage_plan, expires_at) to add to the api_key filter's keys or keys_file.
        --json prints {"key": ..., "record": {...}} on one line instead.
hash    Check an existing key's format and print its record fields (id and hash). Give - to
        read the key from stdin, which keeps it out of shell history and the process list:
          printf %s "$KEY" | gatehouse keys hash -

Options:
  --owner NAME        Who holds the key (required; the identity subject)
  --roles a,b         Roles granted to the key
  --usage-plan PLAN   Usage plan name (for rate limits and quotas)
  --expires DATE      ISO date or date-time after which the key is refused, e.g. 2027-01-31
  --json              Machine-readable output (create)
  -h, --help          Show this help

Exit status: 0 ok, 2 bad usage or a malformed key.
`,
  schema: `Usage: gatehouse schema

Print the JSON Schema (draft-07) of the config file. Point your editor's YAML support at it,
or add "$schema: ./gatehouse.schema.json" to the top of the config file.

Options:
  -h, --help          Show this help
`,
};
