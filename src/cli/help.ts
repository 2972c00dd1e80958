// Help texts: short, with the one example people look for.
export const MAIN_HELP = `Usage: gatehouse <command> [options]

Commands:
  start -c FILE       Run the gateway with the config FILE
  validate -c FILE    Check a config file; problems are printed as FILE:LINE:COL: KEY: MESSAGE
  schema              Print the config file's JSON Schema (for editor completion)
  keys create|hash    Make an API key (printed once) and its record; hash an existing key
  help [COMMAND]      Show help for a command

Options:
  -h, --help          Show this help
  -v, --version       Print the version

Run 'gatehouse COMMAND --help' for a command's options.
`;

export const COMMAND_HELP: Record<string, string> = {
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
