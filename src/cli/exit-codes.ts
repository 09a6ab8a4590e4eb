// Exit codes of the `guardgate` command, one meaning each.
export const EXIT = {
  ok: 0,
  /** Something failed that is not one of the outcomes below. */
  failure: 1,
  /** Wrong flags, arguments or configuration. */
  usage: 2,
} as const;
