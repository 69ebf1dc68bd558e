// The organizer's desk: sign in (session cookie), create a briefing, hand out its links, end it.
import { t, setupLangToggle } from './i18n.js';
import { api } from './api.js';

const $ = (id) => document.getElementById(id);
let events = [];
const overviews = new Map(); // event id -> captioners, terms, rules, figures

const status = (s) => { $('status').textContent = s; };


function field(label, value, id) {
  const p = document.createElement('p');
  p.className = 'row';
  const l = document.createElement('label');
  l.textContent = label;
  l.htmlFor = id;
  const wrap = document.createElement('span');
  wrap.className = 'copyrow';
  const input = document.createElement('input');
  input.readOnly = true; input.value = value; input.id = id;
  const copy = document.createElement('button');
  copy.type = 'button'; copy.textContent = t('copy');
  copy.onclick = async () => {
    try { await navigator.clipboard.writeText(value); copy.textContent = t('copied'); } catch { input.select(); }
  };
  wrap.append(input, copy);
  p.append(l, wrap);
  return p;
}

// The event's captioning: who captions it (速录员), how long checked viewers wait, a glossary,
// and the figures of the captioners' work.
function captioning(e) {
  const id = e.event.id;
  const o = overviews.get(id);
  const box = document.createElement('form');
  box.className = 'card';
  const row = (label, input) => {
    const p = document.createElement('p');
    p.className = 'row';
    const l = document.createElement('label');
    l.textContent = label; l.htmlFor = input.id;
    p.append(l, input);
    return p;
  };
  const who = document.createElement('input');
  who.id = `cap-${id}`; who.value = (o?.captioners || []).join(', ');
  const win = document.createElement('input');
  win.id = `win-${id}`; win.type = 'number'; win.min = '0'; win.max = '30'; win.step = '1';
  win.value = String(Math.round((o?.event.correction_window_ms ?? 4000) / 1000));
  const file = document.createElement('input');
  file.id = `glo-${id}`; file.type = 'file'; file.accept = '.txt,.csv,text/plain';
  const save = document.createElement('button');
  save.type = 'submit'; save.textContent = t('org_save');
  const stats = document.createElement('p');
  stats.className = 'hint';
  stats.dataset.stats = id;
  if (o) {
    const s = o.stats;
    const ms = s.median_correction_ms == null ? '—' : `${(s.median_correction_ms / 1000).toFixed(1)} s`;
    stats.textContent = t('org_stats', { lines: s.lines, corrected: s.corrected, chars: s.chars_changed, typed: s.typed, ms });
  }
  const link = field(t('link_captioner'), `${location.origin}/caption#${id}`, `c-${id}`);
  box.append(row(t('org_captioners'), who), row(t('org_window'), win), row(t('org_glossary'), file), save, link, stats);
  box.onsubmit = async (ev) => {
    ev.preventDefault();
    try {
      const base = `/api/events/${encodeURIComponent(id)}`;
      await api('PUT', `${base}/captioners`, { captioners: who.value.split(/[,，、\s]+/).filter(Boolean) });
      await api('POST', `${base}/captioning`, { correction_window_ms: Math.round(Number(win.value) * 1000) });
      if (file.files[0]) await api('PUT', `${base}/glossary`, { text: await file.files[0].text() });
      status(t('org_saved'));
      await load();
    } catch (err) { status(t('error', { e: err.message })); }
  };
  return box;
}

function render() {
  const box = $('events');
  box.innerHTML = '';
  for (const e of events) {
    const card = document.createElement('article');
    card.className = 'card event';
    card.dataset.id = e.event.id;
    const h = document.createElement('h3');
    h.textContent = `${e.event.title} · ${t(`state_${e.event.state}`).split('：')[0].split(':')[0]}`;
    const abs = (p) => `${location.origin}${p}`;
    card.append(
      h,
      field(t('link_viewer'), abs(e.viewer_path), `v-${e.event.id}`),
      field(t('link_broadcaster'), abs(e.broadcaster_path), `b-${e.event.id}`),
      field(t('link_interpreter'), abs(e.interpreter_path), `i-${e.event.id}`),
      field(t('link_whip'), abs(e.whip_path), `w-${e.event.id}`),
      field(t('whip_token'), e.broadcaster_token, `k-${e.event.id}`),
    );
    card.append(captioning(e));
    if (e.event.state !== 'ended') {
      const end = document.createElement('button');
      end.type = 'button'; end.className = 'danger'; end.textContent = t('end_event');
      end.onclick = async () => {
        if (!window.confirm(`${t('end_event')}: ${e.event.title}?`)) return;
        try { await api('POST', `/api/events/${e.event.id}/end`); await load(); } catch (err) { status(t('error', { e: err.message })); }
      };
      card.append(end);
    }
    box.append(card);
  }
}

async function load() {
  events = await api('GET', '/api/events');
  await Promise.all(events.map(async (e) => {
    try { overviews.set(e.event.id, await api('GET', `/api/events/${encodeURIComponent(e.event.id)}/captioning`)); } catch { /* shown without figures */ }
  }));
  render();
}

$('login').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  try {
    await api('POST', '/api/login', { username: $('username').value, password: $('password').value });
    await load();
    $('login').hidden = true;
    $('desk').hidden = false;
    status('');
  } catch (err) {
    status(t('error', { e: err.message }));
  }
});

$('create').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const start = $('ev-start').value ? new Date($('ev-start').value).getTime() : undefined;
  try {
    await api('POST', '/api/events', {
      title: $('ev-title-in').value,
      language: $('ev-lang').value,
      hotwords: $('ev-hotwords').value.split(/[,，、\s]+/).filter(Boolean),
      starts_at_unix_ms: start,
    });
    $('create').reset();
    await load();
  } catch (err) {
    status(t('error', { e: err.message }));
  }
});

setupLangToggle(render);
