// The playground's behaviour: send the form to /predict and show the verdict.
const form = document.getElementById('form');
const out = document.getElementById('verdict');
const button = document.getElementById('submit');

// The credential stays in this tab (sessionStorage), never in a cookie or on disk.
form.token.value = sessionStorage.getItem('guardgate-token') ?? '';

const row = (name, value) => {
  const dt = document.createElement('dt');
  dt.textContent = name;
  const dd = document.createElement('dd');
  dd.textContent = value;
  return [dt, dd];
};

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const prompt = form.prompt.value;
  const response = form.response.value.trim() === '' ? undefined : form.response.value;
  const token = form.token.value.trim();
  sessionStorage.setItem('guardgate-token', token);
  button.disabled = true;
  out.style.display = 'block';
  out.replaceChildren(document.createTextNode('Checking…'));
  try {
    const res = await fetch('/predict', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ prompt, response, policy: form.policy.value }),
    });
    const body = await res.json();
    if (!res.ok) {
      const p = document.createElement('p');
      p.className = 'error';
      p.textContent = res.status === 401 ? 'This service needs credentials: paste an API key or token above.' : `${body.error.code}: ${body.error.message}`;
      out.replaceChildren(p);
      return;
    }
    const badge = document.createElement('span');
    badge.className = `badge ${body.safety}`;
    badge.id = 'safety';
    badge.textContent = body.safety + (body.flagged ? ' · flagged' : '');
    const dl = document.createElement('dl');
    dl.append(
      ...row('categories', body.categories.length ? body.categories.join(', ') : 'None'),
      ...row('target', body.target),
      ...(body.refusal === null ? [] : row('refusal', body.refusal ? 'Yes' : 'No')),
      ...row('policy', body.policy),
      ...row('model', `${body.model} (${body.engine.name} ${body.engine.version})`),
      ...row('version', `${body.version}${body.color ? ` · ${body.color}` : ''}`),
      ...row('language', body.language ?? 'unknown'),
      ...row('latency', `${body.latency_ms} ms${body.cached ? ' (cached)' : ''}${body.degraded ? ` · degraded (${body.degraded_reason === 'language_not_covered' ? 'the engine cannot read this language' : 'the model was down: the rules answered'})` : ''}`),
      ...row('trace id', body.trace_id),
    );
    out.replaceChildren(badge, dl);
  } catch (error) {
    out.replaceChildren(document.createTextNode(`Request failed: ${error}`));
  } finally {
    button.disabled = false;
  }
});
