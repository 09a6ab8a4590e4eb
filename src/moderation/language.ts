// Which language a text is in (ISO 639-1), for the verdict and the audit log.
import { eld } from 'eld/small';

/** The detected language code, or null when the text is too short or ambiguous to tell. */
export function detectLanguage(text: string): string | null {
  const sample = text.length > 2000 ? text.slice(0, 2000) : text;
  const result = eld.detect(sample);
  return result.language && result.isReliable() ? result.language : null;
}
