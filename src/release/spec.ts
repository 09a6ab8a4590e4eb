// The release spec (YAML): what to deploy as the candidate, and how to prove it before it takes traffic.
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { positiveInt } from '../config/schema-parts.js';
import { engineSchema } from '../config/engine.js';
import { versionSchema } from '../config/version.js';
import { readYamlFile, validate } from '../config/load.js';
import { parseDurationMs } from '../shared/duration.js';
import { POLICIES } from '../moderation/taxonomy.js';
import { loadSuite, suiteSchema, type SuiteRef } from '../gates/suite.js';

const fraction = z.coerce.number().min(0).max(1);

/** `500ms`, `30s`, `10m`, `24h`, or a number of milliseconds. */
const durationMs = z.union([
  z.number().int().min(0),
  z
    .string()
    .refine((v) => parseDurationMs(v) !== null, 'a duration like 30s, 10m or 24h')
    .transform((v) => parseDurationMs(v)!),
]);

/** A suite file (read where the gates run), or the suite itself inline (what `guardgate release` sends). */
const suiteRef = z.union([z.string().min(1), suiteSchema]);

/** The gates of a release: what proves the candidate before and after the switch. */
export const gatesSchema = z
  .object({
    functional: z
      .object({ enabled: z.boolean().default(true), suite: suiteRef.optional(), minPassRate: fraction.default(1) })
      .strict()
      .prefault({}),
    load: z
      .object({
        enabled: z.boolean().default(true),
        durationSeconds: positiveInt.max(600).default(5),
        connections: positiveInt.max(256).default(16),
        tolerance: z
          .object({
            p99: z.coerce.number().min(0).default(0.5),
            qps: fraction.default(0.3),
            errorRate: fraction.default(0),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    shadow: z
      .object({
        enabled: z.boolean().default(true),
        fraction: fraction.default(0.2),
        durationSeconds: positiveInt.max(3_600).default(30),
        samples: positiveInt.max(100_000).default(200),
        minSamples: z.coerce.number().int().min(0).default(20),
        minAgreement: fraction.default(0.95),
        maxUnsafeToSafe: z.coerce.number().int().min(0).default(0),
        /** Fewer than minSamples compared verdicts: fail (default), pass (recorded as inconclusive), or wait for an operator. */
        onInconclusive: z.enum(['fail', 'pass', 'wait']).default('fail'),
        /**
         * With fewer live verdicts than `samples`, replay texts to both colors: first the last `audit` distinct
         * texts of the audit log (when the audit text policy keeps texts; 0: none), then a corpus: an audit
         * suite file (its prompts and responses), or by default the shipped suite and a benign/harmful mix.
         * false: live traffic only.
         */
        replay: z
          .union([
            z.literal(false),
            z
              .object({ corpus: suiteRef.optional(), audit: z.coerce.number().int().min(0).max(10_000).default(200) })
              .strict(),
          ])
          .default({ audit: 200 }),
      })
      .strict()
      .prefault({}),
    watch: z
      .object({
        enabled: z.boolean().default(true),
        durationSeconds: positiveInt.max(86_400).default(30),
        maxErrorRate: fraction.default(0.01),
        maxP99Ms: positiveInt.default(2_000),
        minRequests: z.coerce.number().int().min(0).default(20),
        /** Fewer than minRequests in the window: fail, which rolls back (default), or pass (recorded as inconclusive). */
        onInconclusive: z.enum(['fail', 'pass']).default('fail'),
        /** Read the figures from a Prometheus server that scrapes the router, instead of the router itself. */
        prometheus: z
          .object({ url: z.url({ protocol: /^https?$/ }) })
          .strict()
          .optional(),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({});

/** One canary step: the candidate's share of live traffic, and how long (and on how much) it is judged. */
const canaryStepSchema = z
  .object({
    /** Percentage of live traffic (1 to 100) the candidate serves during the step. */
    weight: z.coerce.number().int().min(1).max(100),
    /** The step lasts at least this long… */
    durationSeconds: positiveInt.max(86_400).default(30),
    /** …and until the candidate has served this many requests and this many verdicts were compared. */
    minRequests: z.coerce.number().int().min(0).default(20),
    minSamples: z.coerce.number().int().min(0).default(10),
    /** Wait for `guardgate promote` after this step (held at its weight) before the next. */
    pause: z.boolean().default(false),
  })
  .strict();

/**
 * Strategy canary: after the pre-switch gates, the candidate serves a growing share of live traffic; at each step
 * its error rate and p99 are compared with the stable version's on live traffic, and its verdicts with the stable
 * version's on the same live requests (mirrored both ways); a breach takes the weight back to 0 at once.
 */
export const canarySchema = z
  .object({
    steps: z
      .array(canaryStepSchema)
      .min(1)
      .max(20)
      .prefault([{ weight: 5 }, { weight: 25 }, { weight: 50 }])
      .refine((steps) => steps.every((s, i) => i === 0 || s.weight > steps[i - 1]!.weight), 'weights must grow'),
    /** A request header whose value keeps one user on one version (hashed): the same user, the same side. */
    stickyHeader: z
      .string()
      .regex(/^[A-Za-z0-9-]{1,64}$/, 'a header name')
      .optional(),
    /** Share of each side's live requests also sent to the other side, to compare verdicts on the same text. */
    mirrorFraction: fraction.default(0.2),
    /** The candidate's error rate may exceed the stable one's by this much at most (0.01: one point). */
    maxErrorRateIncrease: fraction.default(0.01),
    /**
     * The candidate's p99 may be this many times the stable one's at most (5 ms of difference never counts). The
     * router's latency buckets step by 2 to 2.5 times, so under 3 a candidate one bucket slower would fail.
     */
    maxP99Ratio: z.coerce.number().min(1).default(3),
    minAgreement: fraction.default(0.95),
    maxUnsafeToSafe: z.coerce.number().int().min(0).default(0),
    /** A step that does not gather its requests and samples within ten times its duration: fail (roll back) or pass. */
    onInconclusive: z.enum(['fail', 'pass']).default('fail'),
  })
  .strict();

/** A release spec: what the candidate runs and how it is proven. */
export const releaseSpecSchema = z
  .object({
    version: versionSchema,
    engine: engineSchema.default({ kind: 'lexicon' }),
    policy: z.enum(POLICIES).default('strict'),
    replicas: positiveInt.default(1),
    /**
     * Where the release expects to run, and what moves its traffic: checked against the deployment (`up
     * --driver`, `--traffic`); a release that expects otherwise is refused before anything is deployed.
     */
    driver: z.enum(['local', 'kubernetes']).optional(),
    traffic: z.enum(['router', 'service-selector', 'gateway-api']).optional(),
    /**
     * Driver kubernetes: the model server runs in each pod beside Guardgate (a second container), so that a
     * model upgrade is a color. The engine (kind openai) then talks to it on the pod's own loopback.
     */
    modelServer: z
      .object({
        image: z.string().min(1),
        args: z.array(z.string()).default([]),
        port: z.coerce.number().int().min(1).max(65535).default(8000),
        gpus: z.coerce.number().int().min(0).default(1),
      })
      .strict()
      .optional(),
    /**
     * Driver kubernetes: the Guardgate image this release's pods run (new code is a release like a new model);
     * default: the deployment's (up --image). A local deployment runs this machine's guardgate and refuses it.
     */
    image: z.string().min(1).optional(),
    /** Start the candidate smaller (saves GPUs); it is scaled to `replicas` before the switch. */
    previewReplicas: positiveInt.optional(),
    /** Switch as soon as the gates pass; false waits for `guardgate promote`. */
    autoPromote: z.boolean().default(true),
    /** How long the old environment stays for an instant rollback (10m locally; the seed keeps 24h). */
    scaleDownDelay: durationMs.default(600_000),
    /** How long a failed candidate stays for inspection before it is torn down. */
    abortTeardownDelay: durationMs.default(0),
    /** bluegreen: one atomic switch once the gates pass; canary: a growing share of live traffic first (`canary`). */
    strategy: z.enum(['bluegreen', 'canary']).default('bluegreen'),
    canary: canarySchema.prefault({}),
    gates: gatesSchema,
  })
  .strict();

/** A parsed release spec. */
export type ReleaseSpec = z.output<typeof releaseSpecSchema>;

/** Parse a release spec (from a file or a request); every problem listed. */
export function parseReleaseSpec(value: unknown, source: string): ReleaseSpec {
  return validate(releaseSpecSchema, value, source);
}

/** A spec file; a relative suite path is read from the spec file's directory, not the working directory. */
export function loadReleaseSpec(path: string): ReleaseSpec {
  const spec = parseReleaseSpec(readYamlFile(path), path);
  const near = (ref: SuiteRef | undefined) =>
    typeof ref === 'string' && !isAbsolute(ref) ? resolve(dirname(path), ref) : ref;
  spec.gates.functional.suite = near(spec.gates.functional.suite);
  const replay = spec.gates.shadow.replay;
  if (replay !== false) replay.corpus = near(replay.corpus);
  return spec;
}

/** The suite files a spec names: field, path, and whether the gate that reads it is enabled. */
export function suiteFiles(spec: Pick<ReleaseSpec, 'gates'>): Array<[field: string, path: string, used: boolean]> {
  const { functional, shadow } = spec.gates;
  const named: Array<[string, SuiteRef | undefined, boolean]> = [
    ['gates.functional.suite', functional.suite, functional.enabled],
    ['gates.shadow.replay.corpus', shadow.replay === false ? undefined : shadow.replay.corpus, shadow.enabled],
  ];
  return named.filter((entry): entry is [string, string, boolean] => typeof entry[1] === 'string');
}

/** The spec with its suite files read into it: what a client sends, so that the server never reads a path it is given. */
export function inlineSuites(spec: ReleaseSpec): ReleaseSpec {
  const replay = spec.gates.shadow.replay;
  const read = (ref: SuiteRef | undefined) => (ref === undefined ? undefined : loadSuite(ref));
  return {
    ...spec,
    gates: {
      ...spec.gates,
      functional: { ...spec.gates.functional, suite: read(spec.gates.functional.suite) },
      shadow: { ...spec.gates.shadow, replay: replay === false ? false : { ...replay, corpus: read(replay.corpus) } },
    },
  };
}
