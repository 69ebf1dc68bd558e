// The organizer's desk: sign in (session cookie), create a briefing, hand out its links, end it.
import { t, setupLangToggle } from './i18n.js';
import { api } from './api.js';

const $ = (id) => document.getElementById(id);
let events = [];

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
