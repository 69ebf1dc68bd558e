// The service dashboard: live queue and interpreters, service levels of a period with charts,
// CSV export of the records, and user management. Signs in with a session cookie.
import { t, setupLangToggle } from './i18n.js';
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
setupLangToggle(() => { if (lastStats) renderStats(lastStats); });
// Already signed in (cookie): go straight to the dashboard.
api('GET', '/api/me').then((me) => { if (me?.role === 'admin') enter(); }).catch(() => {});
