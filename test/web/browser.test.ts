// The web pages as a person uses them, in Debian's Chromium: the playground and the release dashboard.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { RunningUp } from '../../src/app/up.js';
import { chromiumInstalled, launchChromium } from '../helpers/browser.js';
import { requireService } from '../helpers/services.js';
import { quickSpec, startTestUp } from '../helpers/up.js';
import { addApiKey } from '../../src/auth/api-keys.js';
import { apiKeysFile } from '../../src/app/up.js';
import { tempDataDir } from '../helpers/instance.js';
import { join } from 'node:path';

describe('web pages in Chromium', () => {
  let browser: Browser | undefined;
  let up: RunningUp | undefined;
  beforeAll(async () => {
    if (!chromiumInstalled()) return;
    [browser, up] = await Promise.all([launchChromium(), startTestUp()]);
  });
  afterAll(async () => {
    await browser?.close();
    await up?.close();
  });

  it('the playground shows the verdict of a typed prompt, under its content security policy', async (context) => {
    if (!requireService(chromiumInstalled(), 'Chromium (Debian package chromium)', (note) => context.skip(note)))
      return;
    const page = await browser!.newPage();
    const violations: string[] = [];
    page.on(
      'console',
      (message) => message.text().includes('Content Security Policy') && violations.push(message.text()),
    );
    const loaded = await page.goto(`${up!.url}/`);
    expect(loaded!.headers()['content-security-policy']).toContain("script-src 'self'");
    expect(loaded!.headers()['x-frame-options']).toBe('DENY');
    await page.fill('#prompt', 'Give me step-by-step instructions to build a pipe bomb');
    await page.click('#submit');
    await page.waitForSelector('#safety');
    expect(await page.textContent('#safety')).toBe('Unsafe · flagged');
    expect(await page.textContent('#verdict')).toContain('Violent');
    await page.fill('#prompt', 'How can I kill a Python process?');
    await page.click('#submit');
    await page.waitForSelector('#safety:text-is("Safe")');
    expect(violations).toEqual([]);
    await page.close();
  });

  it('where the service requires credentials, the playground says so and works with an API key', async (context) => {
    if (!requireService(chromiumInstalled(), 'Chromium (Debian package chromium)', (note) => context.skip(note)))
      return;
    const dataDir = tempDataDir();
    const key = addApiKey(apiKeysFile(dataDir), 'playground-user', ['moderate']);
    const secured = await startTestUp(dataDir);
    const page = await browser!.newPage();
    try {
      await page.goto(`${secured.url}/`);
      await page.fill('#prompt', 'How do I make a pipe bomb?');
      await page.click('#submit');
      await page.waitForSelector('#verdict .error');
      expect(await page.textContent('#verdict')).toContain('needs credentials');
      await page.fill('#token', key);
      await page.click('#submit');
      await page.waitForSelector('#safety');
      expect(await page.textContent('#safety')).toBe('Unsafe · flagged');
    } finally {
      await page.close();
      await secured.close();
    }
  });

  it('the dashboard asks for the token, shows both environments and the gates, and rolls back', async (context) => {
    if (!requireService(chromiumInstalled(), 'Chromium (Debian package chromium)', (note) => context.skip(note)))
      return;
    await up!.controller.release(
      quickSpec({
        version: 'dash-v2',
        gates: { load: { enabled: false }, shadow: { enabled: false }, watch: { enabled: false } },
      }),
    );
    await up!.controller.settled();
    const page = await browser!.newPage();
    page.on('dialog', (dialog) => void dialog.accept());
    await page.goto(`${up!.adminUrl}/dashboard`);
    await page.waitForSelector('#token');
    // Where the token is: this deployment's own file.
    expect(await page.textContent('#token-hint')).toBe(
      join((up as RunningUp & { dataDir: string }).dataDir, 'admin-token'),
    );
    await page.fill('#token', 'wrong-token');
    await page.click('#login button[type=submit]');
    await page.waitForSelector('#login-error:has-text("refused")');
    expect(await page.textContent('#login-error')).toMatch(/That token was refused \(401 unauthorized/);
    await page.fill('#token', up!.token);
    await page.click('#login button[type=submit]');
    await page.waitForSelector('#env-green.active');
    expect(await page.textContent('#env-green')).toContain('dash-v2');
    expect(await page.textContent('#release-title')).toContain('dash-v2 → green: stable');
    // The release as a timeline: its states, and its gate, whose evidence opens on a click (or Enter).
    await page.waitForSelector('#timeline .gate-functional');
    expect(await page.textContent('#timeline')).toContain('functional PASS');
    expect(
      await page.$$eval('#timeline [aria-label="states"] .bar', (bars) =>
        bars.map((b) => b.textContent!.split(' ')[0]),
      ),
    ).toEqual(['deploying', 'validating', 'switching', 'watching', 'stable']);
    await page.focus('#timeline .gate-functional');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#evidence-functional');
    expect(await page.textContent('#evidence-functional')).toMatch(
      /PASS functional \(n = \d+\).*all \d+ cases passed/s,
    );
    // The two environments side by side: the versions differ, the engine does not.
    expect(await page.$$eval('#config-diff tr.differs th', (rows) => rows.map((r) => r.textContent))).toEqual(
      expect.arrayContaining(['version', 'config hash']),
    );
    expect(await page.$$eval('#config-diff tr:not(.differs) th', (rows) => rows.map((r) => r.textContent))).toEqual(
      expect.arrayContaining(['engine', 'policy']),
    );
    await page.click('#rollback');
    await page.waitForSelector('#env-blue.active');
    expect(await page.textContent('#release-title')).toContain('rolled_back');
    expect((await up!.controller.status()).active).toBe('blue');
    await page.close();
  });
});
