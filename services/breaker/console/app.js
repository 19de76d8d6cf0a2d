// The Bulwark breaker console: plain browser JavaScript, no framework, nothing from another host (the
// page's Content-Security-Policy allows scripts, styles and requests from this origin only). Every value is
// written with textContent, never as HTML, so nothing an event or a flag carries can run here.
'use strict';

const TOKEN_KEY = 'bulwark.operator.token';
const POLL_MS = 2000;
const $ = (id) => document.getElementById(id);

let timer;

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: {
      authorization: `Bearer ${token()}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  let data = {};
  try {
    data = await res.json();
  } catch {
    data = {};
  }
  if (!res.ok) {
    const err = new Error(data.error || `HTTP ${res.status}`);
    err.status = res.status;
    throw err;
  }
  return data;
}

function say(text, isError) {
  const m = $('message');
  m.textContent = text;
  m.className = isError ? 'error' : '';
}

function cell(row, text, className) {
  const td = document.createElement('td');
  td.textContent = text === null || text === undefined ? '' : String(text);
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function fill(tableId, items, render) {
  const body = $(tableId).querySelector('tbody');
  body.replaceChildren();
  for (const item of items) {
    const tr = document.createElement('tr');
    render(tr, item);
    body.appendChild(tr);
  }
}

const time = (iso) => (iso ? iso.replace('T', ' ').replace(/\.\d{3}Z$/, 'Z') : '');
const usd = (n) =>
  `$${Number(n).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
const minutes = (ms) => `${Math.round(ms / 60000)} min`;

function fourEyes(scope, pending) {
  const p = pending.find((x) => x.scope === scope.scope);
  if (!p) return '';
  const who = p.approvals.map((a) => `${a.operator} approved (expires ${time(a.expiresAt)})`);
  const still = p.needed > 0 ? `${p.needed} more operator${p.needed > 1 ? 's' : ''} needed` : '';
  return [...who, still].filter(Boolean).join('; ') || `${p.required} operators needed`;
}

function render(o) {
  $('who').textContent = o.operator ? `signed in as ${o.operator}` : '';
  fill('scopes', o.scopes, (tr, s) => {
    tr.dataset.scope = s.scope;
    cell(tr, s.scope);
    cell(tr, s.state, s.state === 'halted' ? 'halted' : 'open');
    cell(tr, time(s.at));
    cell(tr, time(s.crossedAt));
    cell(tr, s.by);
    cell(tr, s.trigger);
    cell(tr, s.reason);
    cell(tr, s.state === 'halted' ? fourEyes(s, o.pending) : '', 'four-eyes');
    const td = cell(tr, '');
    if (s.state === 'halted') {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = 'Resume…';
      b.className = 'pick-resume';
      b.addEventListener('click', () => {
        $('resume-scope').value = s.scope;
        $('resume-reason').focus();
      });
      td.appendChild(b);
    }
  });
  fill('windows', o.windows, (tr, w) => {
    const ratio = w.threshold > 0 ? w.value / w.threshold : 0;
    cell(tr, w.trigger);
    cell(tr, w.scope);
    cell(
      tr,
      w.kind === 'sum-amount-usd' ? usd(w.value) : w.value,
      ratio >= 1 ? 'over' : ratio >= 0.5 ? 'near' : '',
    );
    cell(tr, w.kind === 'sum-amount-usd' ? usd(w.threshold) : w.threshold);
    cell(tr, minutes(w.windowMs));
    cell(tr, time(w.endsAt));
    cell(
      tr,
      w.users.slice(0, 10).join(', ') + (w.users.length > 10 ? ` and ${w.users.length - 10} more` : ''),
    );
  });
  $('window-note').textContent =
    'Each window ends at the newest flag it holds (event time), read from the windows the breaker trips on; ' +
    'while halted it shows what led to the halt; after a resume, flags from before it no longer count.';
  const d = o.detector;
  const dl = $('detector');
  dl.replaceChildren();
  const row = (k, v) => {
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = v;
    dl.append(dt, dd);
  };
  row(
    'progress',
    d.progressAgeSeconds === null
      ? 'not watched'
      : `${Math.round(d.progressAgeSeconds)} s since the detector last moved while input waited`,
  );
  row('stalled', d.stalled ? `yes (over ${d.stallMs / 1000} s)` : 'no');
  row('flag watermark', d.flagWatermark ? time(d.flagWatermark) : 'none yet');
  row('flags held for event-time order', String(d.flagsHeld));
  fill('flags', o.flags, (tr, f) => {
    cell(tr, time(f.raisedAt > f.occurredAt ? f.raisedAt : f.occurredAt));
    cell(tr, f.ruleId);
    cell(tr, f.severity, f.severity === 'critical' ? 'over' : '');
    cell(tr, f.userId);
    cell(tr, f.withdrawalId);
    cell(tr, f.asset);
    cell(tr, usd(f.amountUsd));
  });
  fill('audit', o.audit, (tr, e) => {
    cell(tr, e.seq);
    cell(tr, time(e.recordedAt));
    cell(tr, e.action);
    cell(tr, e.outcome);
    cell(tr, e.scope);
    cell(tr, e.by);
    cell(tr, e.reason);
  });
}

async function refresh() {
  try {
    render(await api('GET', '/v1/breaker/overview'));
  } catch (err) {
    if (err.status === 401 || err.status === 403) return signOut(`Signed out: ${err.message}`);
    say(`Could not read the breaker: ${err.message}`, true);
  }
}

async function signIn(t) {
  sessionStorage.setItem(TOKEN_KEY, t);
  try {
    render(await api('GET', '/v1/breaker/overview'));
  } catch (err) {
    return signOut(`Sign-in refused: ${err.message}`);
  }
  $('signin-panel').hidden = true;
  $('app').hidden = false;
  $('signout').hidden = false;
  say('');
  clearInterval(timer);
  timer = setInterval(refresh, POLL_MS);
}

function signOut(why) {
  sessionStorage.removeItem(TOKEN_KEY);
  clearInterval(timer);
  $('app').hidden = true;
  $('signout').hidden = true;
  $('who').textContent = '';
  $('signin-panel').hidden = false;
  $('token').value = '';
  say(why || '', Boolean(why));
  if (why) {
    // Shown on the sign-in panel, where the message area of the app is hidden.
    $('signin-panel').querySelector('p').textContent = why;
  }
}

async function act(what, path, scope, reason) {
  if (!window.confirm(`${what} ${scope}?\n\nReason: ${reason}`)) return say(`${what} cancelled`);
  try {
    const r = await api('POST', path, { scope, reason });
    if (r.note) say(r.note, true);
    else if (r.status === 'pending')
      say(
        `Resume of ${scope} approved by you; ${r.required - r.approvals.length} more operator(s) needed (approved: ${r.approvals.join(', ')})`,
      );
    else if (r.state === 'open') say(`${scope} resumed`);
    else if (r.changed === false) say(`${scope} was already halted`);
    else say(`${scope} halted`);
  } catch (err) {
    say(`${what} refused: ${err.message}`, true);
  }
  await refresh();
}

document.addEventListener('DOMContentLoaded', () => {
  $('signin-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void signIn($('token').value.trim());
  });
  $('signout').addEventListener('click', () => signOut());
  $('halt-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void act('Halt', '/v1/breaker/halt', $('halt-scope').value.trim(), $('halt-reason').value.trim());
  });
  $('resume-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void act(
      'Approve resume of',
      '/v1/breaker/resume',
      $('resume-scope').value.trim(),
      $('resume-reason').value.trim(),
    );
  });
  if (token()) void signIn(token());
});
