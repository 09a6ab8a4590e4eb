// The release dashboard: both environments, live traffic by color, the release in progress with its gate
// evidence, and promote / abort / rollback. Every call carries the admin token.
const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem('guardgate-token') ?? '';
let lastTraffic = null;

const el = (tag, props = {}, ...children) => {
  const node = document.createElement(tag);
  Object.assign(node, props);
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
};

async function call(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await response.json();
  if (response.status === 401 || response.status === 403) {
    sessionStorage.removeItem('guardgate-token');
    showLogin();
  }
  if (!response.ok) throw new Error(`${json.error?.code}: ${json.error?.message}`);
  return json;
}

function showLogin() {
  $('login').hidden = false;
  $('app').hidden = true;
}

function environmentCard(color, env, active) {
  const card = el('div', { className: `card${active ? ' active' : ''}`, id: `env-${color}` });
  card.append(el('h2', {}, `${color} `, el('span', { className: `tag${active ? ' active' : ''}` }, active ? 'active' : 'standby')));
  if (!env) {
    card.append(el('p', { className: 'muted' }, 'not deployed'));
    return card;
  }
  const ready = env.instances.filter((i) => i.state === 'ready').length;
  card.append(el('p', {}, el('strong', {}, env.version), ` · ${ready}/${env.replicas} ready${env.retireAt ? ` · kept until ${new Date(env.retireAt).toLocaleTimeString()}` : ''}`));
  const rows = env.instances.map((i) => el('tr', {}, el('td', {}, i.url), el('td', { className: i.state === 'ready' ? 'ok' : 'bad' }, i.state), el('td', {}, `${i.restarts} restarts`)));
  card.append(el('table', {}, ...rows));
  return card;
}

function gateBlock(gate) {
  const block = el('div', { className: 'section' });
  const verdict = gate.inconclusive ? 'INCONCLUSIVE' : gate.passed ? 'PASS' : 'FAIL';
  const samples = gate.samples === undefined ? '' : ` (n = ${gate.samples})`;
  block.append(el('p', {}, el('strong', { className: gate.passed ? 'ok' : 'bad' }, `${verdict} ${gate.gate}${samples}`), ` — ${gate.summary}`));
  const evidence = gate.evidence;
  if (gate.gate === 'shadow' && evidence?.matrix) {
    const tiers = ['Safe', 'Controversial', 'Unsafe'];
    const head = el('tr', {}, el('th', {}, 'active ↓ / candidate →'), ...tiers.map((t) => el('th', {}, t)));
    const rows = tiers.map((a) => el('tr', {}, el('th', {}, a), ...tiers.map((c) => el('td', { className: a !== c && evidence.matrix[a][c] ? 'bad' : '' }, String(evidence.matrix[a][c])))));
    block.append(el('table', { className: 'matrix' }, head, ...rows));
    block.append(el('p', { className: 'muted' }, `category agreement ${(100 * evidence.categoryAgreement).toFixed(1)}% · mean latency active ${evidence.activeLatencyMs.mean.toFixed(1)} ms, candidate ${evidence.candidateLatencyMs.mean.toFixed(1)} ms`));
    if (evidence.disagreements.length) {
      block.append(el('table', {}, el('tr', {}, el('th', {}, 'active'), el('th', {}, 'candidate'), el('th', {}, 'request')),
        ...evidence.disagreements.slice(0, 10).map((d) => el('tr', {}, el('td', {}, `${d.active.safety} ${d.active.categories.join(', ')}`), el('td', {}, `${d.candidate.safety} ${d.candidate.categories.join(', ')}`), el('td', {}, d.request.prompt ?? `sha256 ${d.request.digest.slice(0, 16)}… (text not kept)`)))));
    }
  }
  if (gate.gate === 'functional' && evidence?.cases) {
    const failed = evidence.cases.filter((c) => !c.passed);
    if (failed.length) block.append(el('table', {}, ...failed.map((c) => el('tr', {}, el('td', { className: 'bad' }, c.name), el('td', {}, JSON.stringify(c.expected)), el('td', {}, JSON.stringify(c.got))))));
  }
  if (gate.gate === 'load' && evidence?.active) {
    const row = (name, f) => el('tr', {}, el('td', {}, name), el('td', {}, `${f.p50} ms`), el('td', {}, `${f.p99} ms`), el('td', {}, f.qps.toFixed(0)), el('td', {}, `${(100 * f.errorRate).toFixed(2)}%`));
    block.append(el('table', {}, el('tr', {}, el('th', {}, ''), el('th', {}, 'p50'), el('th', {}, 'p99'), el('th', {}, 'QPS'), el('th', {}, 'errors')), row('active', evidence.active), row('candidate', evidence.candidate)));
  }
  return block;
}

async function refresh() {
  const [status, traffic, history] = await Promise.all([call('GET', '/admin/controller'), call('GET', '/admin/traffic'), call('GET', '/admin/releases?limit=10')]);
  $('environments').replaceChildren(environmentCard('blue', status.environments.blue, status.active === 'blue'), environmentCard('green', status.environments.green, status.active === 'green'));
  const seconds = lastTraffic ? (traffic.at - lastTraffic.at) / 1000 : 0;
  const rate = (color, key) => (lastTraffic && seconds > 0 ? ((traffic.colors[color][key] - lastTraffic.colors[color][key]) / seconds).toFixed(1) : '…');
  $('traffic').replaceChildren(el('table', {}, el('tr', {}, el('th', {}, 'color'), el('th', {}, 'requests/s'), el('th', {}, 'errors/s'), el('th', {}, 'total')),
    ...['blue', 'green'].map((c) => el('tr', { id: `traffic-${c}` }, el('td', {}, c), el('td', {}, rate(c, 'total')), el('td', {}, rate(c, 'errors')), el('td', {}, String(traffic.colors[c].total))))));
  lastTraffic = traffic;
  const release = status.release;
  $('release-title').textContent = release ? `#${release.id} ${release.version} → ${release.candidate}: ${release.state}${release.forced ? ' (forced)' : ''}` : 'none yet';
  $('progress').textContent = status.progress ? `now: ${status.progress.step}${status.progress.detail ? ` (${status.progress.detail})` : ''}` : release?.note ?? '';
  $('gates').replaceChildren(...(release?.gates ?? []).map(gateBlock));
  const state = release?.state;
  $('promote').disabled = state !== 'awaiting_approval';
  $('force').disabled = state !== 'blocked';
  $('abort').disabled = !['deploying', 'validating', 'blocked', 'awaiting_approval'].includes(state);
  $('rollback').disabled = !['watching', 'stable'].includes(state);
  $('history').replaceChildren(el('table', {}, ...history.map((r) => el('tr', {}, el('td', {}, `#${r.id}`), el('td', {}, r.version), el('td', {}, `→ ${r.candidate}`), el('td', { className: r.state === 'stable' ? 'ok' : r.state === 'aborted' || r.state === 'rolled_back' ? 'bad' : '' }, r.state), el('td', { className: 'muted' }, new Date(r.updatedAt).toLocaleString())))));
}

async function act(path, body) {
  $('message').textContent = '';
  try {
    await call('POST', path, body);
    await refresh();
  } catch (error) {
    $('message').textContent = String(error.message ?? error);
    $('message').className = 'bad';
  }
}

$('promote').onclick = () => act('/admin/promote', { force: false });
$('force').onclick = () => confirm('Switch to a candidate that failed a gate? This is recorded as forced.') && act('/admin/promote', { force: true });
$('abort').onclick = () => act('/admin/abort');
$('rollback').onclick = () => confirm('Switch back to the previous environment?') && act('/admin/rollback');
$('login').onsubmit = async (event) => {
  event.preventDefault();
  token = $('token').value.trim();
  sessionStorage.setItem('guardgate-token', token);
  start();
};

async function start() {
  if (!token) return showLogin();
  try {
    await refresh();
    $('login').hidden = true;
    $('app').hidden = false;
    setInterval(() => refresh().catch(() => undefined), 1000);
  } catch {
    showLogin();
  }
}
start();
