// The dashboard while things happen, in Debian's Chromium: its charts draw and move while load runs, a release's
// switch appears on them, the shadow gate's agreement is charted as it accumulates, and the timeline shows the
// release's gates; at a phone's width nothing spills sideways. Screenshots for the README (npm run screenshots).
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { browserAndUp, pageErrors } from '../helpers/browser.js';
import { startLiveLoad } from '../helpers/load.js';
import { screenshot } from '../helpers/screenshots.js';
import { quickSpec } from '../helpers/up.js';

const number = async (page: Page, attribute: string) => Number(await page.getAttribute('#charts', attribute));
/** The page as the browser sees it, for the functions sent to run there (whole: they are sent as text; the tests are compiled without the DOM's types). */
interface PageGlobals {
  document: { querySelector(selector: string): { getAttribute(name: string): string | null }; documentElement: { scrollWidth: number } };
}
/** Wait until one of the charts' counters has reached `value` (checked in the browser). */
const counterAtLeast = (page: Page, attribute: string, value: number, timeout: number) =>
  page.waitForFunction(([name, least]) => Number((globalThis as unknown as PageGlobals).document.querySelector('#charts').getAttribute(name)) >= least, [attribute, value] as const, { timeout });

describe('the dashboard, live', () => {
  const { browser, up, skipUnless } = browserAndUp();

  it('charts traffic as it comes, marks the switch of a release, charts the shadow agreement, and shows the gates on the timeline', async (context) => {
    if (!skipUnless(context)) return;
    const page = await browser().newPage({ viewport: { width: 1280, height: 900 } });
    const errors = pageErrors(page);
    await page.goto(`${up().adminUrl}/dashboard`);
    await page.fill('#token', up().token);
    await page.click('#login button[type=submit]');
    await page.waitForSelector('#chart-rps canvas');
    // Light load for a 2-core machine (other test files run beside this one), mixed prompts so the cache both
    // hits and misses.
    const load = startLiveLoad(up().url, { connections: 2, overallRate: 150, bodies: Array.from({ length: 50 }, (_, n) => JSON.stringify({ prompt: `How do I bake bread number ${n}?` })) });
    try {
      // The charts move: points keep arriving, with traffic on blue.
      await counterAtLeast(page, 'data-points', 3, 30_000);
      const before = await number(page, 'data-last-at');
      await counterAtLeast(page, 'data-last-at', before + 1, 30_000);
      await page.waitForSelector('#charts-note:text-matches("blue [1-9][0-9.]* req/s")', { timeout: 30_000 });
      // A release under that load: the shadow gate mirrors live traffic, then the switch.
      await up().controller.release(quickSpec({ version: 'live-v2', gates: { load: { enabled: false }, shadow: { durationSeconds: 6, samples: 400, minSamples: 5, replay: false }, watch: { durationSeconds: 2, minRequests: 1 } } }));
      await counterAtLeast(page, 'data-shadow-points', 1, 60_000);
      await up().controller.settled();
      expect((await up().controller.status()).release).toMatchObject({ version: 'live-v2', state: 'stable' });
      await counterAtLeast(page, 'data-switches', 1, 30_000);
      await page.waitForSelector('#charts-note:text-matches("green [1-9][0-9.]* req/s")', { timeout: 30_000 });
    } finally {
      await load.stop();
    }
    // The timeline: every state, every gate that ran.
    await page.waitForSelector('#release-title:has-text("live-v2 → green: stable")');
    const gates = await page.$$eval('#timeline [aria-label="gates"] .bar', (bars) => bars.map((b) => b.textContent));
    expect(gates).toEqual(['functional PASS', 'shadow PASS', 'watch PASS']);
    // No bar is drawn over another, in either lane, however short (a label is cut inside its own bar).
    for (const lane of ['states', 'gates']) {
      const boxes = await page.$$eval(`#timeline [aria-label="${lane}"] .bar`, (bars) => bars.map((b) => b.getBoundingClientRect()).map((r) => [r.left, r.right]));
      for (let i = 1; i < boxes.length; i++) expect(boxes[i]![0], `${lane} bar ${i} starts before bar ${i - 1} ends: ${JSON.stringify(boxes)}`).toBeGreaterThanOrEqual(boxes[i - 1]![1] - 0.5);
    }
    // One time format: no UTC ISO timestamp anywhere on the page; the shadow agreement said as a figure.
    expect(await page.textContent('body')).not.toMatch(/\d{4}-\d\d-\d\dT\d\d:\d\d/);
    expect(await page.textContent('#chart-shadow h3')).toMatch(/^Shadow agreement \(%\): \d+\.\d% over \d+ compared$/);
    await page.click('#timeline .gate-shadow');
    await page.waitForSelector('#evidence-shadow table.matrix');
    expect(await page.textContent('#evidence-shadow')).toMatch(/PASS shadow \(n = \d+\)/);
    await screenshot(page, 'dashboard');
    // A phone: one column, nothing wider than the screen.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForFunction((width) => (globalThis as unknown as PageGlobals).document.documentElement.scrollWidth <= width, 390);
    await screenshot(page, 'dashboard-phone');
    expect(errors, errors.join('\n')).toEqual([]);
    await page.close();
  }, 180_000);
});
