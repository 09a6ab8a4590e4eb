// Screenshots of the web pages: always taken (a page that cannot render fails), kept under docs/ for the README
// when GUARDGATE_SCREENSHOTS=docs (`npm run screenshots`), else in a temporary directory.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';

const DIR =
  process.env.GUARDGATE_SCREENSHOTS === 'docs'
    ? fileURLToPath(new URL('../../docs/', import.meta.url))
    : mkdtempSync(join(tmpdir(), 'guardgate-screenshots-'));

export async function screenshot(page: Page, name: string): Promise<string> {
  const path = join(DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
