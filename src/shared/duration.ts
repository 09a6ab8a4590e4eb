// Durations written the way people write them: `500ms`, `30s`, `10m`, `24h`, `7d`.

const DURATION = /^(\d+)\s*(ms|s|m|h|d)$/;
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** The duration in milliseconds, or null when the text is not one. */
export function parseDurationMs(text: string): number | null {
  const match = DURATION.exec(text.trim());
  return match === null ? null : Number(match[1]) * UNIT_MS[match[2]!]!;
}
