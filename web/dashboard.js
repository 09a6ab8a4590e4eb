// The release dashboard: both environments and their configurations side by side, live charts of each color's
// traffic (requests/s, error rate, P99, cache hit rate, shadow agreement) with the switches marked, the release
// in progress as a timeline of its states and gates (a gate's evidence on click), promote / abort / rollback,
// and the history. Every call carries the admin token, kept in this tab only.
const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem('guardgate-token') ?? '';
let timer = null;
const COLORS = { blue: '#2456d6', green: '#13803f' };
const TERMINAL = new Set(['stable', 'aborted', 'rolled_back']);
const WINDOW_MS = 15 * 60_000;

const el = (tag, props = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'dataset' || key === 'style') Object.assign(node[key], value);
    else if (key.startsWith('aria-') || key === 'role') node.setAttribute(key, value);
    else node[key] = value;
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
};
// One way to show a time on this page: the browser's local time, 24-hour; a date where a day is needed.
const pad = (n) => String(n).padStart(2, '0');
const clock = (time) => {
  const d = new Date(time);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
};
const dateTime = (time) => {
  const d = new Date(time);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${clock(d)}`;
};
/** A moment of today by its time alone; of another day with its date too (a note kept from yesterday). */
const when = (time) => (new Date(time).toDateString() === new Date().toDateString() ? clock(time) : dateTime(time));
/** The controller's texts (notes, summaries, progress, errors) name times in ISO form: shown like every other time here. */
const ISO_TIME = /\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?/g;
const localTimes = (text) =>
  String(text ?? '').replace(ISO_TIME, (iso) => (Number.isNaN(Date.parse(iso)) ? iso : when(Date.parse(iso))));
/**
 * A table cell's text with its long unbroken tokens (digests, long URLs, JSON) marked to wrap anywhere: a table is as
 * wide as its longest unbreakable run, so only these may break mid-way; ordinary words wrap at spaces. Runs under 32
 * characters (an instance's URL, a config hash) fit a phone's line whole and are kept whole.
 */
const LONG_TOKEN = /(\S{32,})/;
/** The same, for the side-by-side configuration table: two values beside a label, so runs of 16 may break. */
const SIDE_BY_SIDE_TOKEN = /(\S{16,})/;
const tokens = (text, long = LONG_TOKEN) =>
  String(text)
    .split(long)
    .filter((part) => part !== '')
    .map((part) => (long.test(part) ? el('span', { className: 'token' }, part) : part));
const seconds = (ms) =>
  ms >= 60_000
    ? `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`
    : `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;

class AuthError extends Error {}

async function call(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await response.json().catch(() => ({}));
  if (response.status === 401 || response.status === 403)
    throw new AuthError(`${response.status} ${json.error?.code ?? ''}: ${json.error?.message ?? 'refused'}`);
  if (!response.ok)
    throw new Error(`${json.error?.code ?? response.status}: ${json.error?.message ?? response.statusText}`);
  return json;
}

function showLogin(message) {
  clearInterval(timer);
  timer = null;
  $('login').hidden = false;
  $('app').hidden = true;
  $('login-error').textContent = message ?? '';
  $('token').focus();
}

// ------------------------------------------------------------------ environments and their configurations

function environmentCard(color, env, active) {
  const card = el('div', { className: `card${active ? ' active' : ''}`, id: `env-${color}` });
  card.append(
    el(
      'h2',
      {},
      `${color} `,
      el('span', { className: `tag${active ? ' active' : ''}` }, active ? 'active' : 'standby'),
    ),
  );
  if (!env) {
    card.append(el('p', { className: 'muted' }, 'not deployed'));
    return card;
  }
  const ready = env.instances.filter((i) => i.state === 'ready').length;
  card.append(
    el(
      'p',
      {},
      el('strong', {}, env.version),
      ` · ${ready}/${env.replicas} ready${env.retireAt ? ` · kept until ${when(env.retireAt)}` : ''}`,
    ),
  );
  const rows = env.instances.map((i) =>
    el(
      'tr',
      {},
      el('td', {}, ...tokens(i.url)),
      el('td', { className: i.state === 'ready' ? 'ok' : 'bad' }, i.state),
      el('td', {}, `${i.restarts} restarts`),
    ),
  );
  card.append(el('table', {}, ...rows));
  return card;
}

/** The rows an operator compares: what each environment runs. */
function configRows(env) {
  const spec = env?.spec;
  const engine = spec?.engine;
  return {
    version: env?.version ?? '—',
    engine: engine?.kind ?? '—',
    model: engine
      ? engine.kind === 'openai'
        ? `${engine.model} at ${engine.baseUrl}`
        : engine.kind === 'llamacpp'
          ? engine.model
          : 'embedded rules'
      : '—',
    policy: spec?.policy ?? '—',
    replicas: env ? String(env.replicas) : '—',
    image: spec?.image ?? (spec ? "the driver's" : '—'),
    'model server': spec?.modelServer
      ? `${spec.modelServer.image} (${spec.modelServer.gpus} GPU)`
      : spec
        ? 'none'
        : '—',
    'config hash': env?.configHash ?? '—',
  };
}

function configDiff(status) {
  const blue = configRows(status.environments.blue);
  const green = configRows(status.environments.green);
  const both = status.environments.blue !== null && status.environments.green !== null;
  const rows = Object.keys(blue).map((key) =>
    el(
      'tr',
      { className: both && blue[key] !== green[key] ? 'differs' : '' },
      el('th', { scope: 'row' }, key),
      el('td', {}, ...tokens(blue[key], SIDE_BY_SIDE_TOKEN)),
      el('td', {}, ...tokens(green[key], SIDE_BY_SIDE_TOKEN)),
    ),
  );
  return el(
    'table',
    { id: 'config-diff' },
    el('tr', {}, el('th', {}, ''), el('th', {}, 'blue'), el('th', {}, 'green')),
    ...rows,
  );
}

// ------------------------------------------------------------------ live charts

const CHARTS = [
  { key: 'rps', title: 'Requests/s', value: (c) => c.rps },
  { key: 'errorRate', title: 'Error rate (%)', value: (c) => 100 * c.errorRate },
  { key: 'p99Ms', title: 'P99 (ms)', value: (c) => (c.p99Ms === null || c.p99Ms === Infinity ? null : c.p99Ms) },
  {
    key: 'cacheHitRate',
    title: 'Cache hit rate (%)',
    value: (c) => (c.cacheHitRate === null ? null : 100 * c.cacheHitRate),
  },
];
let points = [];
const charts = new Map();

/** The moments the active color changed, from the points. */
const switchesOf = (list) =>
  list.flatMap((p, i) => (i > 0 && p.active !== list[i - 1].active ? [{ at: p.at, to: p.active }] : []));

/** Room above the plot (CSS px) for the switches' labels: drawn inside it, they hid the lines at the top (100% agreement). */
const LABEL_ROOM = 16;

function markSwitches(u) {
  const { ctx, bbox } = u;
  ctx.save();
  ctx.setLineDash([6, 4]);
  ctx.lineWidth = 2 * devicePixelRatio;
  ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
  for (const change of switchesOf(points)) {
    const x = u.valToPos(change.at / 1000, 'x', true);
    if (x < bbox.left || x > bbox.left + bbox.width) continue;
    ctx.strokeStyle = COLORS[change.to];
    ctx.fillStyle = COLORS[change.to];
    ctx.beginPath();
    ctx.moveTo(x, bbox.top);
    ctx.lineTo(x, bbox.top + bbox.height);
    ctx.stroke();
    // Above the plot, on the side of the line where it fits (a switch a moment ago is at the right edge).
    const label = `→ ${change.to}`;
    const right = x + 4 * devicePixelRatio + ctx.measureText(label).width <= bbox.left + bbox.width;
    ctx.textAlign = right ? 'left' : 'right';
    ctx.fillText(label, x + (right ? 4 : -4) * devicePixelRatio, bbox.top - 4 * devicePixelRatio);
  }
  ctx.restore();
}

function chartWidth() {
  const box = $('charts');
  const columns = getComputedStyle(box).gridTemplateColumns.split(' ').length;
  return Math.max(240, Math.floor(box.clientWidth / columns) - 12);
}

function makeChart(key, title, series) {
  const holder = el('div', { className: 'chart', id: `chart-${key}`, role: 'img', 'aria-label': title });
  holder.append(el('h3', {}, title));
  $('charts').append(holder);
  const chart = new uPlot(
    {
      width: chartWidth(),
      height: 170,
      padding: [LABEL_ROOM, null, null, null],
      // At least the last minute, at most the last 15: a fresh page's axis reads in seconds, not milliseconds.
      scales: {
        x: {
          time: true,
          range: (_u, min) => {
            const now = Date.now() / 1000;
            return [Math.max(now - WINDOW_MS / 1000, Math.min(min ?? now, now - 60)), now];
          },
        },
        y: {
          range: (_u, min, max) => [
            0,
            Math.max(max ?? 1, key === 'errorRate' || key === 'cacheHitRate' || key === 'shadow' ? 5 : 1) * 1.1,
          ],
        },
      },
      // Points shown where a line alone would not be (a gate that lasted a second or two).
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.stroke,
          width: 2,
          spanGaps: false,
          points: { show: key === 'shadow', size: 6, fill: s.stroke },
          ...(key === 'shadow' ? { spanGaps: true } : {}),
        })),
      ],
      // Time labels in the page's one format (24-hour local time; seconds only when the ticks are under a minute apart).
      // Ticks at least 70 px apart, so that a phone's narrow chart does not draw its time labels into one another.
      axes: [
        {
          stroke: '#5b6475',
          space: 70,
          values: (_u, splits) =>
            splits.map((v) => clock(v * 1000).slice(0, splits.length > 1 && splits[1] - splits[0] >= 60 ? 5 : 8)),
        },
        { stroke: '#5b6475', size: 50 },
      ],
      hooks: { draw: [markSwitches] },
      legend: { live: false },
    },
    [[], ...series.map(() => [])],
    holder,
  );
  charts.set(key, chart);
  return chart;
}

function drawCharts() {
  if (charts.size === 0) {
    for (const chart of CHARTS)
      makeChart(chart.key, chart.title, [
        { label: 'blue', stroke: COLORS.blue },
        { label: 'green', stroke: COLORS.green },
      ]);
    makeChart('shadow', 'Shadow agreement (%)', [{ label: 'candidate agrees with active', stroke: '#7b61c4' }]);
  }
  const xs = points.map((p) => p.at / 1000);
  for (const chart of CHARTS) {
    const of = (color) => points.map((p) => (p.colors[color] ? chart.value(p.colors[color]) : null));
    charts.get(chart.key).setData([xs, of('blue'), of('green')]);
  }
  charts.get('shadow').setData([xs, points.map((p) => (p.shadow ? 100 * p.shadow.agreement : null))]);
  drawShadowFigure();
  const box = $('charts');
  box.dataset.points = String(points.length);
  box.dataset.switches = String(switchesOf(points).length);
  box.dataset.lastAt = String(points.at(-1)?.at ?? 0);
  box.dataset.shadowPoints = String(points.filter((p) => p.shadow).length);
  const last = points.at(-1);
  $('charts-note').textContent = last
    ? `now: ${['blue', 'green'].map((c) => (last.colors[c] ? `${c} ${last.colors[c].rps.toFixed(1)} req/s` : `${c} —`)).join(', ')}${last.shadow ? `; shadow ${(100 * last.shadow.agreement).toFixed(1)}% agree over ${last.shadow.samples}` : ''}`
    : 'waiting for the first figures…';
}

/**
 * The agreement as a number beside its chart: a shadow gate of a few seconds leaves one or two points, which read as
 * dots rather than a line; the figure says it whatever the chart can draw.
 */
function drawShadowFigure() {
  let figure = $('shadow-figure');
  if (!figure) {
    figure = el('p', { className: 'figure', id: 'shadow-figure', 'aria-live': 'polite' });
    $('chart-shadow').querySelector('h3').after(figure);
  }
  const last = points.findLast((p) => p.shadow)?.shadow;
  figure.textContent = last
    ? `agreement ${(100 * last.agreement).toFixed(1)}% (n = ${last.samples})`
    : 'no shadow gate in the last 15 minutes';
  figure.classList.toggle('muted', !last);
}

async function refreshLive() {
  const since = points.at(-1)?.at ?? 0;
  const { points: fresh } = await call('GET', `/admin/live?since=${since}`);
  points = [...points, ...fresh].filter((p) => p.at > Date.now() - WINDOW_MS);
  drawCharts();
}

addEventListener('resize', () => {
  for (const chart of charts.values()) chart.setSize({ width: chartWidth(), height: 170 });
  // The bars' narrowest width is in pixels of the lane as it was: placed again for the lane as it is.
  if (drawn) drawTimeline(...drawn);
});

// ------------------------------------------------------------------ the release: timeline and evidence

/** States as intervals (from the transitions) and gates as intervals (from their reports). */
function timelineOf(release, progress, now) {
  const states = [];
  let current = { state: 'deploying', start: Date.parse(release.createdAt), notes: [] };
  for (const t of release.transitions) {
    if (t.to === current.state) {
      if (t.note) current.notes.push(t.note);
      continue;
    }
    states.push({ ...current, end: Date.parse(t.at) });
    current = { state: t.to, start: Date.parse(t.at), notes: t.note ? [t.note] : [] };
  }
  states.push({
    ...current,
    end: TERMINAL.has(current.state) ? current.start : now,
    open: !TERMINAL.has(current.state),
  });
  const gates = release.gates.map((g, index) => ({
    gate: g,
    index,
    start: Date.parse(g.startedAt),
    end: Date.parse(g.finishedAt),
  }));
  const running =
    progress && progress.releaseId === release.id && (/ gate$/.test(progress.step) || progress.step === 'canary')
      ? {
          name: progress.step.replace(/ gate$/, ''),
          start: Date.parse(progress.startedAt),
          end: now,
          detail: progress.detail,
        }
      : null;
  const end = TERMINAL.has(release.state) ? Math.max(states.at(-1).end, ...gates.map((g) => g.end)) : now;
  return { states, gates, running, start: states[0].start, end };
}

let selected = null; // { kind: 'gate', index } or { kind: 'state', state }
let drawn = null; // the release and progress last drawn, to place the bars again when the window is resized

/**
 * A bar of the timeline: a button (Tab, Enter); wide enough to see and to click, however short it was. Its label is
 * a box of its own, cut with an ellipsis at the bar's edge (never drawn over the next bar); the tooltip says it whole.
 */
function bar(className, label, ariaLabel, pressed, onSelect) {
  const button = el(
    'button',
    {
      className: `bar ${className}`,
      type: 'button',
      title: ariaLabel,
      'aria-label': ariaLabel,
      'aria-pressed': pressed ? 'true' : 'false',
    },
    el('span', { className: 'bar-label' }, label),
  );
  button.onclick = onSelect;
  return button;
}

/** The narrowest a bar is drawn (px): still a target for a click or a tap, with room for an ellipsis. */
const MIN_BAR_PX = 20;

/**
 * Places a lane's bars (in time order) side by side in pixels: each at its time, at least MIN_BAR_PX wide, and
 * never over its neighbour (a short bar pushes the next ones right; if that runs past the lane's end, the lane is
 * squeezed to fit). A label that does not fit ends in an ellipsis inside its own bar; the bar's tooltip has it whole.
 */
function placeBars(lane, bars, laneWidth) {
  let end = 0;
  const placed = bars.map(({ left, width, button }) => {
    const x = Math.max((left / 100) * laneWidth, end);
    const w = Math.max((width / 100) * laneWidth, MIN_BAR_PX);
    end = x + w;
    return { x, w, button };
  });
  // In percent of the lane: a narrower window shrinks the bars with it until they are placed again.
  const scale = (end > laneWidth ? laneWidth / end : 1) * (100 / laneWidth);
  for (const { x, w, button } of placed) {
    button.style.left = `${x * scale}%`;
    button.style.width = `${w * scale}%`;
    lane.append(button);
  }
}

function drawTimeline(release, progress) {
  const box = $('timeline');
  drawn = [release, progress];
  if (!release) return box.replaceChildren(el('p', { className: 'muted' }, 'No release yet.'));
  const now = Date.now();
  const line = timelineOf(release, progress, now);
  // A settled release ends in a state with no length: it is drawn with a little room of its own.
  const last = line.states.at(-1);
  if (!last.open) {
    const room = Math.max((line.end - line.start) * 0.06, 1);
    last.end = last.start + room;
    line.end = Math.max(line.end, last.end);
  }
  const span = Math.max(line.end - line.start, 1);
  const at = (t) => (100 * (t - line.start)) / span;
  const width = (a, b) => (100 * Math.max(b - a, 0)) / span;
  const laneWidth = box.clientWidth || 600;
  const stateLane = el('div', { className: 'lane', role: 'group', 'aria-label': 'states' });
  const stateBars = [];
  for (const s of line.states) {
    const isSelected = selected?.kind === 'state' && selected.state === s.state;
    const settled = s === last && !s.open;
    const label = settled ? s.state : `${s.state} ${seconds(s.end - s.start)}`;
    stateBars.push({
      left: at(s.start),
      width: width(s.start, s.end),
      button: bar(
        `state-${s.state}`,
        label,
        settled
          ? `${s.state} since ${clock(s.start)}`
          : `${s.state}: ${seconds(s.end - s.start)}${s.open ? ' so far' : ''}`,
        isSelected,
        () => select({ kind: 'state', state: s.state }),
      ),
    });
  }
  placeBars(stateLane, stateBars, laneWidth);
  const gateLane = el('div', { className: 'lane', role: 'group', 'aria-label': 'gates' });
  const gateBars = [];
  for (const g of line.gates) {
    const verdict = g.gate.inconclusive ? 'inconclusive' : g.gate.passed ? 'pass' : 'fail';
    const isSelected = selected?.kind === 'gate' && selected.index === g.index;
    gateBars.push({
      left: at(g.start),
      width: width(g.start, g.end),
      button: bar(
        `gate-${verdict} gate-${g.gate.gate}`,
        g.gate.gate === 'canary' && g.gate.evidence?.weight !== undefined
          ? `${g.gate.evidence.weight}% ${verdict.toUpperCase()}`
          : `${g.gate.gate} ${verdict.toUpperCase()}`,
        `${g.gate.gate === 'canary' && g.gate.evidence?.weight !== undefined ? `${g.gate.evidence.weight}% canary step` : `${g.gate.gate} gate`}: ${verdict.toUpperCase()}, ${seconds(g.end - g.start)}${g.gate.samples === undefined ? '' : `, n = ${g.gate.samples}`}`,
        isSelected,
        () => select({ kind: 'gate', index: g.index }),
      ),
    });
  }
  if (line.running)
    gateBars.push({
      left: at(line.running.start),
      width: width(line.running.start, line.running.end),
      button: bar(
        'gate-running',
        `${line.running.name}…`,
        `${line.running.name} gate running: ${localTimes(line.running.detail)}`,
        false,
        () => undefined,
      ),
    });
  placeBars(gateLane, gateBars, laneWidth);
  box.replaceChildren(
    el('div', { className: 'lane-label' }, 'states'),
    stateLane,
    el('div', { className: 'lane-label' }, 'gates (select one for its evidence)'),
    gateLane,
  );
  box.dataset.states = String(line.states.length);
  box.dataset.gates = String(line.gates.length);
  box.dataset.laneWidth = String(laneWidth);
  drawEvidence(release, line);
}

function select(what) {
  selected = selected && JSON.stringify(selected) === JSON.stringify(what) ? null : what;
  refresh().catch(() => undefined);
}

function drawEvidence(release, line) {
  const box = $('evidence');
  if (selected?.kind === 'gate' && release.gates[selected.index])
    return box.replaceChildren(gateBlock(release.gates[selected.index]));
  if (selected?.kind === 'state') {
    const state = line.states.find((s) => s.state === selected.state);
    if (state)
      return box.replaceChildren(
        el(
          'div',
          { className: 'section' },
          el('p', {}, el('strong', {}, state.state), ` — ${seconds(state.end - state.start)}`),
          ...state.notes.map((n) => el('p', { className: 'muted' }, localTimes(n))),
        ),
      );
  }
  box.replaceChildren(...release.gates.filter((g) => !g.passed).map(gateBlock));
}

function gateBlock(gate) {
  const block = el('div', { className: 'section', id: `evidence-${gate.gate}` });
  const verdict = gate.inconclusive ? 'INCONCLUSIVE' : gate.passed ? 'PASS' : 'FAIL';
  const samples = gate.samples === undefined ? '' : ` (n = ${gate.samples})`;
  block.append(
    el(
      'p',
      {},
      el('strong', { className: gate.passed ? 'ok' : 'bad' }, `${verdict} ${gate.gate}${samples}`),
      ` — ${localTimes(gate.summary)}`,
    ),
  );
  const evidence = gate.evidence;
  if (gate.gate === 'canary') {
    // One step (a passed step's report) or all of them (the report that ended the canary).
    const steps = evidence?.steps ?? (evidence?.weight === undefined ? [] : [evidence]);
    const pct = (x) => `${(100 * x).toFixed(1)}%`;
    const ms = (x) => (x === null ? '–' : `${x} ms`);
    block.append(
      el(
        'table',
        { className: 'canary-steps' },
        el('tr', {}, ...['step', 'candidate (stable)', 'verdicts'].map((h) => el('th', {}, h))),
        ...steps.map((s) =>
          el(
            'tr',
            {},
            el('td', {}, `${s.step}: ${s.weight}%`),
            el(
              'td',
              { className: s.candidate.errorRate > s.stable.errorRate ? 'bad' : '' },
              `${s.candidate.requests} requests (${s.stable.requests}), errors ${pct(s.candidate.errorRate)} (${pct(s.stable.errorRate)}), p99 ${ms(s.candidate.p99Ms)} (${ms(s.stable.p99Ms)})`,
            ),
            el(
              'td',
              { className: s.comparison.unsafeToSafe > 0 ? 'bad' : '' },
              `${s.comparison.samples} compared${s.comparison.on ? ` (${s.comparison.on})` : ''}, ${pct(s.comparison.agreement)} agree, ${s.comparison.unsafeToSafe} Unsafe→Safe`,
            ),
          ),
        ),
      ),
    );
  }
  if (gate.gate === 'shadow' && evidence?.matrix) {
    const tiers = ['Safe', 'Controversial', 'Unsafe'];
    const tier = (t) => [
      el('span', { className: 'long' }, t),
      el('abbr', { className: 'short', title: t }, t.slice(0, 5) + (t.length > 5 ? '.' : '')),
    ];
    const head = el('tr', {}, el('th', {}, 'active ↓ / candidate →'), ...tiers.map((t) => el('th', {}, ...tier(t))));
    const rows = tiers.map((a) =>
      el(
        'tr',
        {},
        el('th', {}, ...tier(a)),
        ...tiers.map((c) =>
          el('td', { className: a !== c && evidence.matrix[a][c] ? 'bad' : '' }, String(evidence.matrix[a][c])),
        ),
      ),
    );
    block.append(el('table', { className: 'matrix' }, head, ...rows));
    block.append(
      el(
        'p',
        { className: 'muted' },
        `category agreement ${(100 * evidence.categoryAgreement).toFixed(1)}% · mean latency active ${evidence.activeLatencyMs.mean.toFixed(1)} ms, candidate ${evidence.candidateLatencyMs.mean.toFixed(1)} ms`,
      ),
    );
    if (evidence.disagreements.length) {
      block.append(
        el(
          'table',
          {},
          el('tr', {}, el('th', {}, 'active'), el('th', {}, 'candidate'), el('th', {}, 'request')),
          ...evidence.disagreements
            .slice(0, 10)
            .map((d) =>
              el(
                'tr',
                {},
                el('td', {}, `${d.active.safety} ${d.active.categories.join(', ')}`),
                el('td', {}, `${d.candidate.safety} ${d.candidate.categories.join(', ')}`),
                el('td', {}, ...tokens(d.request.prompt ?? `sha256 ${d.request.digest.slice(0, 16)}… (text not kept)`)),
              ),
            ),
        ),
      );
    }
  }
  if (gate.gate === 'functional' && evidence?.cases) {
    const failed = evidence.cases.filter((c) => !c.passed);
    block.append(
      failed.length
        ? el(
            'table',
            {},
            el('tr', {}, el('th', {}, 'case'), el('th', {}, 'expected'), el('th', {}, 'got')),
            ...failed.map((c) =>
              el(
                'tr',
                {},
                el('td', { className: 'bad' }, ...tokens(c.name)),
                el('td', {}, ...tokens(JSON.stringify(c.expected))),
                el('td', {}, ...tokens(JSON.stringify(c.got))),
              ),
            ),
          )
        : el('p', { className: 'muted' }, `all ${evidence.cases.length} cases passed`),
    );
  }
  if (gate.gate === 'load' && evidence?.active) {
    const row = (name, f) =>
      el(
        'tr',
        {},
        el('td', {}, name),
        el('td', {}, `${f.p50} ms`),
        el('td', {}, `${f.p99} ms`),
        el('td', {}, f.qps.toFixed(0)),
        el('td', {}, `${(100 * f.errorRate).toFixed(2)}%`),
      );
    block.append(
      el(
        'table',
        {},
        el(
          'tr',
          {},
          el('th', {}, ''),
          el('th', {}, 'p50'),
          el('th', {}, 'p99'),
          el('th', {}, 'QPS'),
          el('th', {}, 'errors'),
        ),
        row('active', evidence.active),
        row('candidate', evidence.candidate),
      ),
    );
  }
  if (gate.gate === 'watch' && evidence?.reasons?.length)
    block.append(el('p', { className: 'bad' }, localTimes(evidence.reasons.join('; '))));
  if (gate.error) block.append(el('p', { className: 'bad' }, localTimes(gate.error)));
  return block;
}

// ------------------------------------------------------------------ the page

async function refresh() {
  const [status, history] = await Promise.all([
    call('GET', '/admin/controller'),
    call('GET', '/admin/releases?limit=10'),
  ]);
  $('environments').replaceChildren(
    environmentCard('blue', status.environments.blue, status.active === 'blue'),
    environmentCard('green', status.environments.green, status.active === 'green'),
  );
  $('active-note').textContent =
    `${status.active} is live${status.degraded ? ` · the controller's store has not answered since ${when(status.degraded.since)}` : ''}`;
  $('diff').replaceChildren(configDiff(status));
  const release = status.release;
  $('release-title').textContent = release
    ? `#${release.id} ${release.version} → ${release.candidate}: ${release.state}${release.forced ? ' (forced)' : ''}`
    : 'none yet';
  $('progress').textContent = status.progress
    ? `now: ${status.progress.step}${status.progress.detail ? ` (${localTimes(status.progress.detail)})` : ''}`
    : localTimes(release?.note ?? '');
  drawTimeline(release, status.progress);
  const state = release?.state;
  $('promote').disabled = state !== 'awaiting_approval';
  $('force').disabled = state !== 'blocked';
  $('abort').disabled = !['deploying', 'validating', 'blocked', 'awaiting_approval', 'canary'].includes(state);
  $('rollback').disabled = !['watching', 'stable'].includes(state);
  $('history').replaceChildren(
    el(
      'table',
      {},
      ...history.map((r) =>
        el(
          'tr',
          {},
          el('td', {}, `#${r.id}`),
          el('td', {}, r.version),
          el('td', {}, `→ ${r.candidate}`),
          el(
            'td',
            {
              className: r.state === 'stable' ? 'ok' : r.state === 'aborted' || r.state === 'rolled_back' ? 'bad' : '',
            },
            r.state,
          ),
          el('td', { className: 'muted' }, dateTime(r.updatedAt)),
        ),
      ),
    ),
  );
}

async function act(path, body) {
  $('message').textContent = '';
  try {
    await call('POST', path, body);
    await refresh();
  } catch (error) {
    if (error instanceof AuthError) return showLogin(`The admin API refused the token (${error.message}).`);
    $('message').textContent = localTimes(error.message ?? error);
    $('message').className = 'bad';
  }
}

$('promote').onclick = () => act('/admin/promote', { force: false });
$('force').onclick = () =>
  confirm('Switch to a candidate that failed a gate? This is recorded as forced.') &&
  act('/admin/promote', { force: true });
$('abort').onclick = () => act('/admin/abort');
$('rollback').onclick = () => confirm('Switch back to the previous environment?') && act('/admin/rollback');
$('login').onsubmit = (event) => {
  event.preventDefault();
  token = $('token').value.trim();
  start(true);
};

async function tick() {
  try {
    await Promise.all([refresh(), refreshLive()]);
  } catch (error) {
    if (error instanceof AuthError) {
      sessionStorage.removeItem('guardgate-token');
      showLogin(`The admin API refused the token (${error.message}).`);
    } else $('message').textContent = `Cannot reach the admin API: ${error.message ?? error}`;
  }
}

async function start(typed = false) {
  if (!token) return showLogin();
  try {
    await refresh();
  } catch (error) {
    if (error instanceof AuthError) {
      sessionStorage.removeItem('guardgate-token');
      return showLogin(
        typed
          ? `That token was refused (${error.message}). It is in ${$('token-hint').textContent}.`
          : 'The saved token was refused; sign in again.',
      );
    }
    return showLogin(`Cannot reach the admin API: ${error.message ?? error}`);
  }
  sessionStorage.setItem('guardgate-token', token);
  $('login').hidden = true;
  $('app').hidden = false;
  $('message').textContent = '';
  await tick();
  timer ??= setInterval(tick, 1000);
}
start();
