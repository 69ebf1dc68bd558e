// The service dashboard: live queue and interpreters, service levels of a period with charts,
// CSV export of the records, and user management. Signs in with a session cookie.
import { t, currentLang, setupLangToggle } from './i18n.js';
import { api } from './api.js';

const $ = (id) => document.getElementById(id);
const status = (s) => { $('status').textContent = s; };
let timer = null;
let lastStats = null;


const day = (d) => d.toISOString().slice(0, 10);
function period() {
  const from = new Date(`${$('from').value}T00:00:00`).getTime();
  const to = new Date(`${$('to').value}T00:00:00`).getTime() + 86400000;
  return `from_ms=${from}&to_ms=${to}&tz_offset_min=${-new Date().getTimezoneOffset()}`;
}

// A bar chart as plain elements: each bar is a labelled row, readable without the picture.
function bars(el, entries, label) {
  el.innerHTML = '';
  el.setAttribute('aria-label', label);
  const max = Math.max(1, ...entries.map(([, v]) => v));
  for (const [k, v] of entries) {
    const row = document.createElement('div');
    row.className = 'bar-row';
    const name = document.createElement('span');
    name.className = 'bar-label';
    name.textContent = k;
    const bar = document.createElement('span');
    bar.className = 'bar';
    bar.style.width = `${(v / max) * 100}%`;
    const val = document.createElement('span');
    val.className = 'bar-value';
    val.textContent = String(v);
    row.append(name, bar, val);
    el.append(row);
  }
}

function renderStats(s) {
  const dl = $('figures');
  dl.innerHTML = '';
  const secs = (v) => (v == null ? '—' : `${v.toFixed(1)} ${t('seconds', { n: '' }).trim()}`);
  const items = [
    ['fig_offered', s.offered],
    ['fig_answered', s.answered],
    ['fig_within30', `${s.answered_within_30s_pct.toFixed(1)} %`],
    ['fig_within120', `${s.answered_within_120s_pct.toFixed(1)} %`],
    ['fig_asa', `${secs(s.answer_p50_s)} / ${secs(s.answer_p80_s)} / ${secs(s.answer_p95_s)}`],
    ['fig_abandoned', `${s.abandonment_pct.toFixed(1)} % (${s.abandoned} + ${s.no_interpreter})`],
    ['fig_captioned', s.captioned],
  ];
  for (const [k, v] of items) {
    const dt = document.createElement('dt'); dt.textContent = t(k);
    const dd = document.createElement('dd'); dd.textContent = String(v); dd.dataset.fig = k;
    dl.append(dt, dd);
  }
  bars($('chart-hour'), s.per_hour.map((v, h) => [`${String(h).padStart(2, '0')}:00`, v]), t('per_hour'));
  bars($('chart-purpose'), Object.entries(s.per_purpose).map(([k, v]) => [t(`purpose_${k}`), v]), t('per_purpose'));
}

async function loadStats() {
  try {
    lastStats = await api('GET', `/api/admin/stats?${period()}`);
    renderStats(lastStats);
    loadCounters().catch((e) => status(t('error', { e: e.message })));
    $('csv').href = `/api/admin/calls.csv?${period()}`;
  } catch (e) { status(t('error', { e: e.message })); }
}

async function loadLive() {
  try {
    const l = await api('GET', '/api/admin/live');
    $('live-calls').textContent = t('live_calls', { w: l.calls.waiting, r: l.calls.ringing, c: l.calls.connected });
    const q = $('live-queue');
    q.innerHTML = '';
    for (const c of l.queue) {
      const tr = document.createElement('tr');
      if (c.purpose === 'emergency') tr.className = 'emergency';
      tr.innerHTML = '<td></td><td></td><td></td>';
      tr.children[0].textContent = t(`purpose_${c.purpose}`);
      tr.children[1].textContent = t('waited', { t: `${c.waited_secs}s` });
      tr.children[2].textContent = c.ringing ? t('ringing') : '';
      q.append(tr);
    }
    const ul = $('live-interpreters');
    ul.innerHTML = '';
    for (const i of l.interpreters) {
      const li = document.createElement('li');
      li.dataset.status = i.status;
      li.textContent = `${i.name} · ${t(i.status)}`;
      ul.append(li);
    }
  } catch (e) { status(t('error', { e: e.message })); }
}

async function loadUsers() {
  const users = await api('GET', '/api/admin/users');
  const tb = $('user-list');
  tb.innerHTML = '';
  for (const u of users) {
    const tr = document.createElement('tr');
    tr.dataset.user = u.username;
    // Tests and assistive scripts read the state here, not from the button label, which says
    // "switch off" while the account is still on.
    tr.dataset.disabled = String(Boolean(u.disabled));
    tr.innerHTML = '<td></td><td></td><td></td><td></td>';
    tr.children[0].textContent = u.username;
    tr.children[1].textContent = u.display_name;
    const skills = [u.gender ? t(`pref_${u.gender}`) : '', (u.topics || []).map((p) => t(`purpose_${p}`)).join('、')].filter(Boolean);
    tr.children[2].textContent = [t(`role_${u.role}`), ...skills, u.disabled ? t('disabled') : ''].filter(Boolean).join(' · ');
    const toggle = document.createElement('button');
    toggle.type = 'button';
    toggle.textContent = u.disabled ? t('enable') : t('disable');
    toggle.onclick = async () => {
      try { await api('POST', `/api/admin/users/${encodeURIComponent(u.username)}`, { disabled: !u.disabled }); await loadUsers(); await loadAudit(); } catch (e) { status(t('error', { e: e.message })); }
    };
    tr.children[3].append(toggle);
    tb.append(tr);
  }
}

// Service points: each has a permanent QR code to print and a device link for its tablet,
// shown once when made (only its hash is stored).
const absolute = (link) => new URL(link, location.origin).href;
function showDeviceLink(secret) {
  $('device-link-box').hidden = false;
  $('device-link').value = `${location.origin}/counter#${secret}`;
  $('device-link').focus();
  $('device-link').select();
}
let counterLangs = [];
async function loadCounters() {
  const r = await api('GET', '/api/admin/counters');
  if (!counterLangs.length) {
    counterLangs = r.sign_languages;
    const sel = $('nc-lang');
    sel.innerHTML = '';
    for (const l of counterLangs) {
      const o = document.createElement('option');
      o.value = l.code; o.textContent = `${l.name_zh} · ${l.name_en}`;
      sel.append(o);
    }
  }
  const tb = $('counter-list');
  tb.innerHTML = '';
  const calls = lastStats?.per_service_point || {};
  for (const p of r.points) {
    const tr = tb.insertRow();
    tr.dataset.counter = p.code;
    tr.insertCell().textContent = p.revoked_at_ms ? `${p.name} · ${t('counter_revoked_at')}` : p.name;
    tr.insertCell().textContent = [p.department, p.address].filter(Boolean).join(' · ');
    const n = tr.insertCell();
    n.textContent = String(calls[p.code] || 0);
    // Stacked on a narrow screen the column header is gone: the figure says what it counts.
    n.dataset.label = `${t('counter_calls')}${currentLang() === 'zh' ? '：' : ': '}`;
    const act = tr.insertCell();
    if (p.revoked_at_ms) continue;
    const poster = document.createElement('a');
    poster.href = `/poster#${encodeURIComponent(p.code)}`;
    poster.target = '_blank';
    poster.rel = 'noopener';
    poster.textContent = t('counter_poster');
    poster.title = absolute(p.link);
    const dev = document.createElement('button');
    dev.type = 'button';
    dev.textContent = t('counter_new_device');
    dev.onclick = async () => {
      try { const d = await api('POST', `/api/admin/counters/${encodeURIComponent(p.code)}/device`); showDeviceLink(d.device_secret); await loadAudit(); } catch (e) { status(t('error', { e: e.message })); }
    };
    const rev = document.createElement('button');
    rev.type = 'button';
    rev.textContent = t('counter_revoke');
    // Asked twice: a revoked QR code cannot be brought back (print a new one instead).
    rev.onclick = async () => {
      if (!rev.dataset.armed) { rev.dataset.armed = '1'; status(t('counter_revoke_confirm')); return; }
      try { await api('POST', `/api/admin/counters/${encodeURIComponent(p.code)}/revoke`); status(''); await Promise.all([loadCounters(), loadAudit()]); } catch (e) { status(t('error', { e: e.message })); }
    };
    act.append(poster, ' ', dev, ' ', rev);
  }
}

async function loadAudit() {
  const rows = await api('GET', '/api/admin/audit');
  const tb = $('audit-list');
  tb.innerHTML = '';
  for (const r of rows.slice(0, 50)) {
    const tr = tb.insertRow();
    tr.insertCell().textContent = new Date(r.at_ms).toLocaleString();
    tr.insertCell().textContent = r.actor;
    tr.insertCell().textContent = r.action;
    tr.insertCell().textContent = r.detail;
  }
}

async function enter() {
  $('login').hidden = true;
  $('desk').hidden = false;
  $('btn-logout').hidden = false;
  status('');
  const today = new Date();
  $('to').value = day(today);
  $('from').value = day(new Date(today.getTime() - 6 * 86400000));
  await Promise.all([loadLive(), loadStats(), loadUsers(), loadAudit()]);
  timer = setInterval(loadLive, 2000);
}

$('login').addEventListener('submit', async (e) => {
  e.preventDefault();
  try {
    const me = await api('POST', '/api/login', { username: $('username').value, password: $('password').value });
    if (me.role !== 'admin') { status(t('error', { e: t('not_admin') })); return; }
    await enter();
  } catch (err) { status(t('error', { e: err.message })); }
});
$('btn-logout').onclick = async () => { clearInterval(timer); await fetch('/api/logout', { method: 'POST' }); location.reload(); };
$('new-counter').addEventListener('submit', async (e) => {
  e.preventDefault();
  try {
    const p = await api('POST', '/api/admin/counters', {
      name: $('nc-name').value, department: $('nc-dept').value, address: $('nc-addr').value,
      sign_language: $('nc-lang').value || undefined, purpose: $('nc-purpose').value,
    });
    $('new-counter').reset();
    await Promise.all([loadCounters(), loadAudit()]);
    showDeviceLink(p.device_secret);
  } catch (err) { status(t('error', { e: err.message })); }
});
$('period').addEventListener('submit', (e) => { e.preventDefault(); loadStats(); });
$('new-user').addEventListener('submit', async (e) => {
  e.preventDefault();
  try {
    await api('POST', '/api/admin/users', {
      username: $('nu-name').value, display_name: $('nu-display').value, role: $('nu-role').value, password: $('nu-pass').value,
      ...($('nu-role').value === 'interpreter' ? {
        gender: $('nu-gender').value,
        topics: Array.from(document.querySelectorAll('input[name=nu-topic]:checked')).map((c) => c.value),
      } : {}),
    });
    $('new-user').reset();
    await Promise.all([loadUsers(), loadAudit()]);
  } catch (err) { status(t('error', { e: err.message })); }
});
setupLangToggle(() => {
  if (lastStats) renderStats(lastStats);
  // Rows carry words of the language they were drawn in (roles, buttons, labels).
  if (!$('desk').hidden) Promise.all([loadUsers(), loadCounters()]).catch((e) => status(t('error', { e: e.message })));
});
// Already signed in (cookie): go straight to the dashboard.
api('GET', '/api/me').then((me) => { if (me?.role === 'admin') enter(); }).catch(() => {});
