// The dashboard while things happen, in Debian's Chromium: its charts draw and move while load runs, a release's
// switch appears on them, the shadow gate's agreement is charted as it accumulates, and the timeline shows the
// release's gates; at a phone's width nothing spills sideways. Screenshots for the README (npm run screenshots).
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { browserAndUp, pageErrors, wordsBrokenMidWay } from '../helpers/browser.js';
import { startLiveLoad } from '../helpers/load.js';
import { screenshot } from '../helpers/screenshots.js';
import { quickSpec } from '../helpers/up.js';

const number = async (page: Page, attribute: string) => Number(await page.getAttribute('#charts', attribute));
/** The page as the browser sees it, for the functions sent to run there (whole: they are sent as text; the tests are compiled without the DOM's types). */
interface PageGlobals {
  document: {
    querySelector(selector: string): { getAttribute(name: string): string | null; clientWidth: number };
    documentElement: { scrollWidth: number };
  };
}
/** Wait until one of the charts' counters has reached `value` (checked in the browser). */
const counterAtLeast = (page: Page, attribute: string, value: number, timeout: number) =>
  page
    .waitForFunction(
      ([name, least]) =>
        Number((globalThis as unknown as PageGlobals).document.querySelector('#charts').getAttribute(name)) >= least,
      [attribute, value] as const,
      { timeout },
    )
    .catch((error: Error) => {
      throw new Error(`the charts' ${attribute} at least ${value}, not within ${timeout} ms: ${error.message}`);
    });

/**
 * No bar is drawn over another in either lane, however short; each label stays in its own bar's box (cut there with
 * an ellipsis, never over the neighbour's label) and the bar's tooltip names it whole.
 */
async function expectBarsApart(page: Page): Promise<void> {
  for (const lane of ['states', 'gates']) {
    const bars = await page.$$eval(`#timeline [aria-label="${lane}"] .bar`, (buttons) =>
      buttons.map((b) => {
        const label = b.querySelector('.bar-label');
        const style = b.ownerDocument.defaultView.getComputedStyle(label);
        const [box, text] = [b.getBoundingClientRect(), label.getBoundingClientRect()];
        return {
          bar: [box.left, box.right],
          label: [text.left, text.right],
          cut: `${style.overflow} ${style.textOverflow} ${style.whiteSpace}`,
          text: label.textContent as string,
          title: b.title as string,
        };
      }),
    );
    const said = JSON.stringify(bars);
    for (const [i, b] of bars.entries()) {
      expect(b.label[0], `${lane} label ${i} outside its bar: ${said}`).toBeGreaterThanOrEqual(b.bar[0] - 0.5);
      expect(b.label[1], `${lane} label ${i} outside its bar: ${said}`).toBeLessThanOrEqual(b.bar[1] + 0.5);
      expect(b.cut).toBe('hidden ellipsis nowrap');
      expect(b.title).toContain(b.text.split(/[ …]/)[0]);
      if (i === 0) continue;
      expect(b.bar[0], `${lane} bar ${i} starts before bar ${i - 1} ends: ${said}`).toBeGreaterThanOrEqual(
        bars[i - 1]!.bar[1] - 0.5,
      );
      expect(b.label[0], `${lane} label ${i} starts before label ${i - 1} ends: ${said}`).toBeGreaterThanOrEqual(
        bars[i - 1]!.label[1] - 0.5,
      );
    }
  }
}

describe('the dashboard, live', () => {
  const { browser, up, skipUnless } = browserAndUp();
  /** A desktop-sized page signed in to the dashboard, its charts drawn; and the errors it throws. */
  const signedIn = async () => {
    const page = await browser().newPage({ viewport: { width: 1280, height: 900 } });
    const errors = pageErrors(page);
    await page.goto(`${up().adminUrl}/dashboard`);
    await page.fill('#token', up().token);
    await page.click('#login button[type=submit]');
    await page.waitForSelector('#chart-rps canvas');
    return { page, errors };
  };

  it('charts traffic as it comes, marks the switch of a release, charts the shadow agreement, and shows the gates on the timeline', async (context) => {
    if (!skipUnless(context)) return;
    const { page, errors } = await signedIn();
    // Light load for a 2-core machine (other test files run beside this one), mixed prompts so the cache both
    // hits and misses.
    const load = startLiveLoad(up().url, {
      connections: 2,
      overallRate: 150,
      bodies: Array.from({ length: 50 }, (_, n) => JSON.stringify({ prompt: `How do I bake bread number ${n}?` })),
    });
    try {
      // The charts move: points keep arriving, with traffic on blue.
      await counterAtLeast(page, 'data-points', 3, 30_000);
      const before = await number(page, 'data-last-at');
      await counterAtLeast(page, 'data-last-at', before + 1, 30_000);
      await page.waitForSelector('#charts-note:text-matches("blue [1-9][0-9.]* req/s")', { timeout: 30_000 });
      // A release under that load: the shadow gate mirrors live traffic, then the switch.
      await up().controller.release(
        quickSpec({
          version: 'live-v2',
          gates: {
            load: { enabled: false },
            shadow: { durationSeconds: 6, samples: 400, minSamples: 5, replay: false },
            watch: { durationSeconds: 2, minRequests: 1 },
          },
        }),
      );
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
    await expectBarsApart(page);
    // One time format: no ISO timestamp and no 12-hour time anywhere on the page, nor in a tooltip; local 24-hour
    // time, with the date where a day is needed (the history).
    const body = await page.textContent('body');
    expect(body).not.toMatch(/\d{4}-\d\d-\d\dT\d\d:\d\d/);
    expect(body).not.toMatch(/\d:\d\d(:\d\d)? ?[AP]M\b/i);
    const tooltips = await page.$$eval('[title], [aria-label]', (nodes) =>
      nodes.map((n) => `${n.getAttribute('title') ?? ''} ${n.getAttribute('aria-label') ?? ''}`),
    );
    expect(tooltips.filter((t) => /\d{4}-\d\d-\d\dT\d\d:\d\d/.test(t))).toEqual([]);
    expect(await page.textContent('#progress')).toMatch(
      /kept until (\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d for an instant rollback/,
    );
    expect(await page.textContent('#history td.muted')).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    // The shadow agreement said as a number beside its chart (a short gate leaves too few points to read as a line).
    expect(await page.textContent('#chart-shadow h3')).toBe('Shadow agreement (%)');
    expect(await page.textContent('#shadow-figure')).toMatch(/^agreement \d+\.\d% \(n = \d+\)$/);
    await page.click('#timeline .gate-shadow');
    await page.waitForSelector('#evidence-shadow table.matrix');
    expect(await page.textContent('#evidence-shadow')).toMatch(/PASS shadow \(n = \d+\)/);
    await screenshot(page, 'dashboard');
    // A phone: one column, nothing wider than the screen.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForFunction(
      (width) => (globalThis as unknown as PageGlobals).document.documentElement.scrollWidth <= width,
      390,
    );
    // The timeline placed again for the narrow lane: still no bar or label over another; words wrap at spaces only.
    await page.waitForFunction(() => {
      const box = (globalThis as unknown as PageGlobals).document.querySelector('#timeline');
      return box.getAttribute('data-lane-width') === String(box.clientWidth);
    });
    await expectBarsApart(page);
    expect(await wordsBrokenMidWay(page, 'main')).toEqual([]);
    // Every table fits the screen whole: none scrolls inside itself (the shadow matrix's headers shorten).
    const tablesWiderThanTheirBox = await page.$$eval('main table', (tables) =>
      tables
        .filter((t) => t.scrollWidth > t.clientWidth + 1)
        .map((t) => `${t.className || t.parentElement?.id}: ${t.scrollWidth} > ${t.clientWidth} px`),
    );
    expect(tablesWiderThanTheirBox).toEqual([]);
    await screenshot(page, 'dashboard-phone');
    expect(errors, errors.join('\n')).toEqual([]);
    await page.close();
  }, 180_000);

  it('draws a canary release step by step on the timeline, each step with its figures, also at a phone width', async (context) => {
    if (!skipUnless(context)) return;
    const { page, errors } = await signedIn();
    const load = startLiveLoad(up().url, {
      connections: 2,
      overallRate: 150,
      bodies: [JSON.stringify({ prompt: 'How do I make a pipe bomb?' }), JSON.stringify({ prompt: 'Bread recipe?' })],
    });
    try {
      await up().controller.release(
        quickSpec({
          version: 'canary-v3',
          strategy: 'canary',
          canary: {
            steps: [
              { weight: 20, durationSeconds: 2, minRequests: 10, minSamples: 5 },
              { weight: 50, durationSeconds: 2, minRequests: 10, minSamples: 5 },
            ],
          },
          gates: {
            load: { enabled: false },
            shadow: { enabled: false },
            watch: { durationSeconds: 2, minRequests: 1 },
          },
        }),
      );
      await up().controller.settled();
    } finally {
      await load.stop();
    }
    await page.waitForSelector('#release-title:has-text("canary-v3")');
    await page.waitForSelector('#release-title:has-text("stable")');
    const gates = await page.$$eval('#timeline [aria-label="gates"] .bar', (bars) => bars.map((b) => b.textContent));
    expect(gates).toEqual(['functional PASS', '20% PASS', '50% PASS', 'watch PASS']);
    await expectBarsApart(page);
    await page.click('#timeline .gate-canary >> nth=1');
    await page.waitForSelector('#evidence-canary table.canary-steps');
    expect(await page.textContent('#evidence-canary')).toMatch(/PASS canary \(n = \d+\).*2: 50%/s);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForFunction(
      (width) => (globalThis as unknown as PageGlobals).document.documentElement.scrollWidth <= width,
      390,
    );
    expect(
      await page.$$eval(
        'table.canary-steps',
        (tables) => tables.filter((t) => t.scrollWidth > t.clientWidth + 1).length,
      ),
    ).toBe(0);
    expect(errors, errors.join('\n')).toEqual([]);
    await page.close();
  }, 180_000);
});
