// The playground: one prompt, a conversation (prompt and response: the response is judged), or a batch (one
// prompt per line, a table, CSV or JSONL to take away). Each verdict says what it means in words, who answered
// (engine, model, version, color) and whether it is degraded; this tab keeps a short history of its checks.
const $ = (id) => document.getElementById(id);
const form = $('form');
const out = $('verdict');
const button = $('submit');
let mode = 'single';
let lastBatch = null;

// The credential stays in this tab (sessionStorage), never in a cookie or on disk.
form.token.value = sessionStorage.getItem('guardgate-token') ?? '';

const TIERS = {
  Safe: 'Nothing prohibited, and nothing that leads to it.',
  Controversial:
    'Not explicitly harmful, but its intent or the answers it invites could be misused, depending on context.',
  Unsafe: 'Prohibited content.',
};
const CATEGORIES = {
  Violent: 'violence: instructions for or depictions of harming people, weapons, explosives',
  'Non-violent Illegal Acts': 'crimes without violence: hacking, fraud, theft, drugs',
  'Sexual Content or Sexual Acts': 'sexual content or explicit sexual acts',
  PII: 'personal data that identifies someone: names with addresses, phone numbers, ID or card numbers',
  'Suicide & Self-Harm': 'encouraging or explaining suicide or self-harm',
  'Unethical Acts': 'discrimination, harassment, hate, or other unethical behaviour',
  'Politically Sensitive Topics': "politically sensitive topics, as the model's policy defines them",
  'Copyright Violation': 'reproducing protected works without permission',
  Jailbreak: "an attempt to get around an assistant's safety rules",
};

const el = (tag, props = {}, ...children) => {
  const node = document.createElement(tag);
  Object.assign(node, props);
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
};
/**
 * A text with its long unbroken tokens (trace ids, long URLs) marked to wrap anywhere: a grid column or a table is as
 * wide as its longest unbreakable run, so only these may break mid-way; ordinary words wrap at spaces. Runs under 32
 * characters fit a phone's line whole and are kept whole.
 */
const LONG_TOKEN = /(\S{32,})/;
const tokens = (text) =>
  String(text)
    .split(LONG_TOKEN)
    .filter((part) => part !== '')
    .map((part) => (LONG_TOKEN.test(part) ? el('span', { className: 'token' }, part) : part));
const row = (name, value) => [el('dt', {}, name), el('dd', {}, ...tokens(value))];
// The dashboard's time format: local 24-hour time, whatever the browser's locale.
const pad = (n) => String(n).padStart(2, '0');
const clock = (time) => {
  const d = new Date(time);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
};
const degradedText = (v) =>
  v.degraded
    ? v.degraded_reason === 'language_not_covered'
      ? 'degraded: the engine cannot read this language'
      : 'degraded: the model was down, the rules answered'
    : null;

// ------------------------------------------------------------------ modes

function setMode(next) {
  mode = next;
  for (const tab of document.querySelectorAll('[role="tab"]'))
    tab.setAttribute('aria-selected', String(tab.id === `tab-${next}`));
  $('single-fields').hidden = next === 'batch';
  $('batch-fields').hidden = next !== 'batch';
  $('response-field').hidden = next !== 'conversation';
  $('prompt').required = next !== 'batch';
  $('response').required = next === 'conversation';
  $('batch').required = next === 'batch';
}
for (const tab of document.querySelectorAll('[role="tab"]'))
  tab.addEventListener('click', () => setMode(tab.id.slice(4)));
// Arrow keys move between tabs, as in any tab list.
document.querySelector('[role="tablist"]').addEventListener('keydown', (event) => {
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  const at = tabs.findIndex((t) => t.id === `tab-${mode}`);
  const step = event.key === 'ArrowRight' ? 1 : event.key === 'ArrowLeft' ? -1 : 0;
  if (step === 0) return;
  const next = tabs[(at + step + tabs.length) % tabs.length];
  setMode(next.id.slice(4));
  next.focus();
});

// ------------------------------------------------------------------ one verdict

function explain(verdict) {
  const list = el('ul', { className: 'explain' }, el('li', {}, `${verdict.safety}: ${TIERS[verdict.safety]}`));
  for (const category of verdict.categories)
    list.append(el('li', {}, `${category}: ${CATEGORIES[category] ?? category}`));
  if (verdict.refusal !== null)
    list.append(
      el(
        'li',
        {},
        verdict.refusal ? 'The assistant refused or did not comply.' : 'The assistant answered or complied.',
      ),
    );
  list.append(
    el(
      'li',
      {},
      verdict.flagged
        ? `Flagged under the ${verdict.policy} policy.`
        : `Not flagged under the ${verdict.policy} policy.`,
    ),
  );
  return list;
}

function showVerdict(verdict) {
  const badge = el(
    'span',
    { className: `badge ${verdict.safety}`, id: 'safety' },
    verdict.safety + (verdict.flagged ? ' · flagged' : ''),
  );
  const warning = degradedText(verdict);
  const dl = el('dl', {});
  dl.append(
    ...row('categories', verdict.categories.length ? verdict.categories.join(', ') : 'None'),
    ...row('target', verdict.target),
    ...(verdict.refusal === null ? [] : row('refusal', verdict.refusal ? 'Yes' : 'No')),
    ...row('policy', verdict.policy),
    ...row('answered by', `${verdict.engine.name} · model ${verdict.model} (${verdict.engine.version})`),
    ...row('version', `${verdict.version}${verdict.color ? ` · ${verdict.color} environment` : ''}`),
    ...row('language', verdict.language ?? 'unknown'),
    ...(verdict.explanation ? row('why', verdict.explanation) : []),
    ...row('latency', `${verdict.latency_ms} ms${verdict.cached ? ' (cached)' : ''}`),
    ...row('trace id', verdict.trace_id),
  );
  out.replaceChildren(
    ...[badge, warning ? el('p', { className: 'warn', id: 'degraded' }, warning) : null, explain(verdict), dl].filter(
      (c) => c !== null,
    ),
  );
}

// ------------------------------------------------------------------ a batch

/** A CSV cell; a text a spreadsheet would run as a formula (= + - @, a tab or CR first) is kept as text. */
const csvCell = (value) => {
  const raw = String(value ?? '');
  const text = /^[=+\-@\t\r]/.test(raw) ? `'${raw}` : raw;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
};

function download(name, type, text) {
  const link = el('a', { href: URL.createObjectURL(new Blob([text], { type })), download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

function showBatch(texts, results) {
  lastBatch = texts.map((text, i) => ({ text, ...results[i] }));
  const flagged = results.filter((r) => r.flagged).length;
  const head = el(
    'tr',
    {},
    ...['#', 'text', 'safety', 'categories', 'flagged', 'note'].map((h) => el('th', { scope: 'col' }, h)),
  );
  const rows = lastBatch.map((r, i) =>
    el(
      'tr',
      {},
      el('td', {}, String(i + 1)),
      el('td', {}, ...tokens(r.text.length > 140 ? `${r.text.slice(0, 140)}…` : r.text)),
      el('td', {}, el('span', { className: `badge ${r.safety}` }, r.safety)),
      el('td', {}, r.categories.join(', ') || 'None'),
      el('td', {}, r.flagged ? 'yes' : 'no'),
      el('td', { className: 'warn' }, degradedText(r) ?? ''),
    ),
  );
  const csv = el('button', { type: 'button', className: 'secondary', id: 'export-csv' }, 'Export CSV');
  csv.onclick = () =>
    download(
      'guardgate-verdicts.csv',
      'text/csv',
      [
        ['text', 'safety', 'categories', 'flagged', 'degraded', 'trace_id'].join(','),
        ...lastBatch.map((r) =>
          [r.text, r.safety, r.categories.join('; '), r.flagged, r.degraded, r.trace_id].map(csvCell).join(','),
        ),
      ].join('\r\n') + '\r\n',
    );
  const jsonl = el('button', { type: 'button', className: 'secondary', id: 'export-jsonl' }, 'Export JSONL');
  jsonl.onclick = () =>
    download(
      'guardgate-verdicts.jsonl',
      'application/x-ndjson',
      lastBatch.map((r) => JSON.stringify(r)).join('\n') + '\n',
    );
  out.replaceChildren(
    el('p', { id: 'batch-summary' }, `${results.length} texts, ${flagged} flagged`),
    el('table', { id: 'batch-results' }, head, ...rows),
    el('div', { className: 'row' }, csv, jsonl),
  );
}

// ------------------------------------------------------------------ history (this tab only)

const HISTORY_KEY = 'guardgate-playground-history';
const history = () => JSON.parse(sessionStorage.getItem(HISTORY_KEY) ?? '[]');

/** Texts kept to put a check back in the form: up to this many characters per check, else only its label. */
const KEEP_CHARACTERS = 4_000;

function remember(entry) {
  const size =
    (entry.texts ?? []).reduce((n, t) => n + t.length, 0) + (entry.prompt?.length ?? 0) + (entry.response?.length ?? 0);
  const kept =
    size > KEEP_CHARACTERS ? { at: entry.at, mode: entry.mode, label: entry.label, outcome: entry.outcome } : entry;
  try {
    sessionStorage.setItem(HISTORY_KEY, JSON.stringify([kept, ...history()].slice(0, 20)));
  } catch {
    // The tab's storage is full: the check is shown, only not remembered.
  }
  drawHistory();
}

function drawHistory() {
  const entries = history();
  $('history').replaceChildren(
    ...entries.map((entry) => {
      const again = el('button', { type: 'button', title: 'Put this check back in the form' }, entry.label);
      again.disabled = entry.mode === 'batch' ? !entry.texts : entry.prompt === undefined;
      again.onclick = () => {
        setMode(entry.mode);
        if (entry.mode === 'batch') form.batch.value = entry.texts.join('\n');
        else {
          form.prompt.value = entry.prompt;
          form.response.value = entry.response ?? '';
        }
      };
      return el('li', {}, `${clock(entry.at)} · ${entry.outcome} · `, again);
    }),
  );
  if (entries.length === 0) $('history').replaceChildren(el('li', {}, 'None yet.'));
}

// ------------------------------------------------------------------ sending

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const token = form.token.value.trim();
  sessionStorage.setItem('guardgate-token', token);
  const policy = form.policy.value;
  const texts =
    mode === 'batch'
      ? form.batch.value
          .split(/\r?\n/)
          .map((t) => t.trim())
          .filter((t) => t !== '')
      : null;
  if (texts !== null && texts.length === 0)
    return void out.replaceChildren(el('p', { className: 'error' }, 'Write one prompt per line.'));
  const body =
    texts !== null
      ? { inputs: texts.map((prompt) => ({ prompt })), policy }
      : { prompt: form.prompt.value, ...(mode === 'conversation' ? { response: form.response.value } : {}), policy };
  button.disabled = true;
  out.style.display = 'block';
  out.replaceChildren(document.createTextNode('Checking…'));
  try {
    const res = await fetch('/predict', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
    const json = await res.json();
    if (!res.ok) {
      out.replaceChildren(
        el(
          'p',
          { className: 'error' },
          res.status === 401
            ? 'This service needs credentials: paste an API key or token above.'
            : `${json.error.code}: ${json.error.message}`,
        ),
      );
      return;
    }
    if (texts !== null) {
      showBatch(texts, json.results);
      remember({
        at: Date.now(),
        mode,
        texts,
        label: `${texts.length} texts`,
        outcome: `${json.results.filter((r) => r.flagged).length} flagged`,
      });
    } else {
      showVerdict(json);
      const text = mode === 'conversation' ? form.response.value : form.prompt.value;
      remember({
        at: Date.now(),
        mode,
        prompt: form.prompt.value,
        response: mode === 'conversation' ? form.response.value : undefined,
        label: text.length > 60 ? `${text.slice(0, 60)}…` : text,
        outcome: json.safety,
      });
    }
  } catch (error) {
    out.replaceChildren(document.createTextNode(`Request failed: ${error}`));
  } finally {
    button.disabled = false;
  }
});

setMode('single');
drawHistory();
