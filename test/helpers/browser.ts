// Debian's Chromium, driven by playwright-core (never a downloaded browser).
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import type { RunningUp } from '../../src/app/up.js';
import { requireService } from './services.js';
import { startTestUp } from './up.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const chromiumInstalled = (): boolean => existsSync(CHROMIUM);

export const launchChromium = (): Promise<Browser> =>
  chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });

/** The errors a page reports (uncaught exceptions, console errors, failed loads), to assert there were none. */
export function pageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
  return errors;
}

/**
 * A describe block's Chromium and `up`, started once (when Chromium is installed) and closed after it. `skipUnless`
 * skips a test, saying why, where Chromium is missing (a failure under CI).
 */
export function browserAndUp(): {
  browser: () => Browser;
  up: () => RunningUp & { dataDir: string };
  skipUnless: (context: { skip: (note: string) => void }) => boolean;
} {
  let browser: Browser | undefined;
  let up: (RunningUp & { dataDir: string }) | undefined;
  beforeAll(async () => {
    if (!chromiumInstalled()) return;
    [browser, up] = await Promise.all([launchChromium(), startTestUp()]);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await up?.close();
  });
  return {
    browser: () => browser!,
    up: () => up!,
    skipUnless: (context) =>
      requireService(chromiumInstalled(), 'Chromium (Debian package chromium)', (note) => context.skip(note)),
  };
}

/**
 * The words drawn broken across two lines under `selector` ("read y", "lexico n-v2"): ordinary words wrap at spaces
 * (and hyphens, slashes), so any such word is a defect; the long unbroken tokens marked `.token` (trace ids, URLs,
 * hashes) may break anywhere and are not counted. Checked in the browser, word by word, from the lines it drew.
 */
export function wordsBrokenMidWay(page: Page, selector: string): Promise<string[]> {
  return page.$$eval(selector, (roots) => {
    const broken: string[] = [];
    for (const root of roots) {
      const doc = root.ownerDocument;
      const walker = doc.createTreeWalker(root, 4 /* NodeFilter.SHOW_TEXT */);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        if (node.parentElement?.closest('.token')) continue;
        for (const word of (node.data as string).matchAll(/[^\s\-/]+/g)) {
          const range = doc.createRange();
          range.setStart(node, word.index!);
          range.setEnd(node, word.index! + word[0].length);
          const lines = new Set([...range.getClientRects()].map((rect) => Math.round(rect.top)));
          if (lines.size > 1) broken.push(word[0]);
        }
      }
    }
    return broken;
  });
}
