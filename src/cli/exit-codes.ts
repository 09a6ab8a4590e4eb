// Exit codes of the `guardgate` command, one meaning each.
/** The command's exit codes. */
export const EXIT = {
  ok: 0,
  /** Something failed that is not one of the outcomes below. */
  failure: 1,
  /** Wrong flags, arguments or configuration. */
  usage: 2,
  /** A gate failed: the release was aborted or is blocked; the active environment is untouched. */
  gateFailed: 3,
  /** The release was rolled back. */
  rolledBack: 4,
  /** The controller could not be reached. */
  unreachable: 5,
} as const;
