/**
 * The CLI's exit codes, for scripts:
 *   0  done
 *   1  refused or failed: invalid input, not found, a conflict, a test call that did not end as expected
 *   2  usage: unknown command or option, missing argument
 *   3  a service it needs is unreachable: Postgres, AMI or ARI
 */
export const EXIT = { ok: 0, refused: 1, usage: 2, unavailable: 3 } as const;
