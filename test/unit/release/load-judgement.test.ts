// The load gate's judgement: a candidate fails when it is slower or serves less than the live version beyond
// the tolerance in nearly every paired slice, or errs; a few milliseconds of p99, or one slow slice, are noise.
import { describe, expect, it } from 'vitest';
import {
  combineSlices,
  compareLoad,
  measureAgain,
  P99_SLACK_MS,
  pairsNeeded,
  sliceOrder,
  WARM_UP_CPU_TOLERANCE,
  WARM_UP_REQUESTS,
  warmedUp,
  type LoadFigures,
} from '../../../src/gates/load.js';
import { cpuMsPerRequest, parseCpuSeconds, parseServedRequests, untilUnread } from '../../../src/gates/instance-cpu.js';

const figures = (p99: number, qps = 5_000, errorRate = 0): LoadFigures => ({
  requests: qps,
  failed: Math.round(qps * errorRate),
  qps,
  p50: p99 / 3,
  p99,
  errorRate,
});
const tolerance = { p99: 0.5, qps: 0.3, errorRate: 0 };
const pair = (active: LoadFigures, candidate: LoadFigures) => [{ active, candidate }];

describe('the load gate judgement', () => {
  it('passes a candidate within the tolerance, and one a few milliseconds slower at p99 (noise)', () => {
    expect(compareLoad(pair(figures(3), figures(4.4)), tolerance)).toEqual([]);
    expect(compareLoad(pair(figures(3), figures(3 + P99_SLACK_MS)), tolerance)).toEqual([]); // 5 ms against 3 ms was seen for the same build
  });

  it('fails a slower candidate, one that serves less, and one that errs, saying why', () => {
    expect(compareLoad(pair(figures(3), figures(30)), tolerance)).toEqual([
      'p99 30 ms is over 8.0 ms (active 3 ms + 50%, at least + 5 ms) in 1 of 1 paired slices',
    ]);
    expect(compareLoad(pair(figures(40), figures(70)), tolerance)).toEqual([
      'p99 70 ms is over 60.0 ms (active 40 ms + 50%, at least + 5 ms) in 1 of 1 paired slices',
    ]);
    expect(compareLoad(pair(figures(3, 5_000), figures(3, 3_000)), tolerance)).toEqual([
      'QPS 3000 is under 3500 (active 5000 - 30%) in 1 of 1 paired slices',
    ]);
    expect(compareLoad(pair(figures(3), figures(3, 5_000, 0.01)), tolerance)).toEqual([
      'error rate 1.00% is over 0.00%',
    ]);
    expect(compareLoad([], tolerance)).toEqual(['no load was measured']);
  });

  it('a slow slice or two on a busy machine do not fail an identical candidate; a candidate slower in nearly every pair fails', () => {
    expect([1, 2, 3, 4, 5, 10].map(pairsNeeded)).toEqual([1, 2, 3, 3, 4, 8]);
    // Same build, five pairs: another process's burst hit the candidate's slice twice (p99 80 ms against 40, QPS halved).
    const noisy = [
      { active: figures(40, 1_600), candidate: figures(80, 800) },
      { active: figures(42, 1_650), candidate: figures(41, 1_640) },
      { active: figures(39, 1_700), candidate: figures(90, 700) },
      { active: figures(41, 1_620), candidate: figures(40, 1_630) },
      { active: figures(40, 1_610), candidate: figures(43, 1_600) },
    ];
    expect(compareLoad(noisy, tolerance)).toEqual([]);
    // Twice as slow in every pair, through the same noise: it fails on both counts.
    const slower = noisy.map(({ active }) => ({ active, candidate: figures(active.p99 * 2, active.qps / 2) }));
    expect(compareLoad(slower, tolerance)).toEqual([
      'p99 80 ms is over 60.0 ms (active 40 ms + 50%, at least + 5 ms) in 5 of 5 paired slices',
      'QPS 810 is under 1134 (active 1620 - 30%) in 5 of 5 paired slices',
    ]);
  });

  it('measures again when a first round fails the candidate, or passes it with pairs beyond the tolerance; never when it errs', () => {
    const round = (pairs: Array<{ active: LoadFigures; candidate: LoadFigures }>) => ({
      pairs,
      reasons: compareLoad(pairs, tolerance),
      candidate: combineSlices(
        pairs.map((p) => p.candidate),
        pairs.length,
      ),
    });
    // Twice as slow, through heavy noise: beyond the tolerance in two pairs of three, so it passed on one noisy pair.
    const slowerThroughNoise = round([
      { active: figures(98, 207), candidate: figures(110, 124) },
      { active: figures(90, 210), candidate: figures(120, 130) },
      { active: figures(150, 150), candidate: figures(110, 140) },
    ]);
    expect(slowerThroughNoise.reasons).toEqual([]);
    expect(measureAgain(slowerThroughNoise, tolerance)).toBe(true);
    // The same version, every pair within the tolerance: one round is enough.
    const same = round([
      { active: figures(40, 300), candidate: figures(45, 290) },
      { active: figures(42, 310), candidate: figures(41, 300) },
      { active: figures(39, 305), candidate: figures(50, 280) },
    ]);
    expect(measureAgain(same, tolerance)).toBe(false);
    // A round that failed the candidate is measured again (a fresh process may not have reached its pace)...
    const slow = round(
      same.pairs.map(({ active }) => ({ active, candidate: figures(active.p99 * 2, active.qps / 2) })),
    );
    expect(slow.reasons).not.toEqual([]);
    expect(measureAgain(slow, tolerance)).toBe(true);
    // ...unless it erred: errors are no matter of pace.
    const erring = round(
      same.pairs.map(({ active }) => ({ active, candidate: figures(active.p99, active.qps, 0.05) })),
    );
    expect(measureAgain(erring, tolerance)).toBe(false);
  });

  it('measures both sides in alternating slices, and combines each side: requests added, latency of the median slice', () => {
    expect(sliceOrder(3)).toEqual(['active', 'candidate', 'candidate', 'active', 'active', 'candidate']);
    const combined = combineSlices([figures(3, 5_000), figures(40, 1_000), figures(4, 4_000)], 15);
    expect(combined).toMatchObject({ requests: 10_000, qps: 10_000 / 15, p99: 4 });
  });
});

describe("the candidate warmed up to the active side's CPU per request", () => {
  const active = { seconds: 3, requests: 9_000, cpuMsPerRequest: 0.2 };
  it('goes on while it has answered too few requests, or a request costs it more CPU than the tolerance allows', () => {
    expect(warmedUp({ seconds: 3, requests: WARM_UP_REQUESTS - 1, cpuMsPerRequest: 0.2 }, active)).toBe(false);
    expect(warmedUp({ seconds: 4, requests: 4_000, cpuMsPerRequest: 0.26 }, active)).toBe(false); // seen at 2,700 requests
    expect(warmedUp({ seconds: 5, requests: 5_000, cpuMsPerRequest: 0.2 * (1 + WARM_UP_CPU_TOLERANCE) }, active)).toBe(
      true,
    );
  });
  it("counts requests alone when either side's CPU could not be read", () => {
    expect(
      warmedUp({ seconds: 3, requests: WARM_UP_REQUESTS, cpuMsPerRequest: 9 }, { seconds: 3, requests: 9_000 }),
    ).toBe(true);
    expect(warmedUp({ seconds: 3, requests: WARM_UP_REQUESTS }, active)).toBe(true);
  });
  it("reads an instance's CPU seconds from its /metrics and divides what a load cost by its requests", () => {
    const metrics =
      '# HELP process_cpu_seconds_total x\nprocess_cpu_user_seconds_total 1.5\nprocess_cpu_seconds_total 2.25\n';
    expect(parseCpuSeconds(metrics)).toBe(2.25);
    expect(parseCpuSeconds('nodejs_heap_size_used_bytes 1\n')).toBeUndefined();
    expect(parseCpuSeconds('process_cpu_seconds_total NaN\n')).toBeUndefined();
    expect(cpuMsPerRequest(2, 2.5, 1_000)).toBe(0.5);
    expect(cpuMsPerRequest(2, 2.5, 0)).toBeUndefined(); // no request: no cost per request
    expect(cpuMsPerRequest(2, 1, 1_000)).toBeUndefined(); // a restarted process counts from zero
    expect(cpuMsPerRequest(undefined, 2.5, 1_000)).toBeUndefined();
  });
  it('reads how many requests an instance has judged from its /metrics: its answered verdicts, not its errors', () => {
    const metrics = [
      'http_request_duration_seconds_bucket{le="0.01",route="/predict",method="POST",status_code="200",traffic="live"} 7',
      'http_request_duration_seconds_count{route="/predict",method="POST",status_code="200",traffic="live"} 1200',
      'http_request_duration_seconds_count{route="/predict",method="POST",status_code="400",traffic="evidence"} 30',
      'http_request_duration_seconds_count{route="/v1/moderations",method="POST",status_code="200",traffic="live"} 800',
      'http_request_duration_seconds_count{route="/readyz",method="GET",status_code="200",traffic="live"} 5000',
    ].join('\n');
    expect(parseServedRequests(metrics)).toBe(2_000);
    expect(parseServedRequests('process_cpu_seconds_total 2\n')).toBeUndefined(); // none yet, or not an instance
  });
  it('asks an endpoint whose /metrics could not be read no more: one timeout per side, not two per slice', async () => {
    const asked: string[] = [];
    const read = untilUnread(async (endpoint) => {
      asked.push(endpoint);
      return endpoint === 'active' ? asked.length : undefined;
    });
    for (let i = 0; i < 3; i++) {
      expect(await read('active')).toBeTypeOf('number');
      expect(await read('candidate')).toBeUndefined();
    }
    expect(asked).toEqual(['active', 'candidate', 'active', 'active']);
  });
  it("combines slices' CPU per request when every slice has it, as their median", () => {
    const withCpu = (cpu: number) => ({ ...figures(3), cpuMsPerRequest: cpu });
    expect(combineSlices([withCpu(0.3), withCpu(0.1), withCpu(0.2)], 3).cpuMsPerRequest).toBe(0.2);
    expect(combineSlices([withCpu(0.3), figures(3)], 2).cpuMsPerRequest).toBeUndefined();
  });
});
