// The captioner's console (速录员工作台): the recognizer's lines as they come, uncertain words
// marked, and a keyboard-first way to fix them — or to type the captions outright (速录).
// Every correction is a revision of the same line; the server sends it to every viewer.
import { t, setupLangToggle, onLangChange } from './i18n.js';
import { api } from './api.js';
import { connectSignal } from './signal.js';
import { MediaSession } from './media.js';

const $ = (id) => document.getElementById(id);
const status = (s) => { $('status').textContent = s; };
let eventId = '';
let info = null;
let lines = []; // stable lines, by seq order
let partial = null;
let sel = -1; // index into lines
let word = -1; // index into the selected line's words
let follow = true; // the selection stays on the newest line until the captioner moves
let editing = null; // {seq, before, after, old} while the edit form is open
let es = null;
const drafts = [];

const segmenter = typeof Intl !== 'undefined' && Intl.Segmenter ? new Intl.Segmenter('zh', { granularity: 'word' }) : null;

// Words with their character offsets: a word-aware split where the browser has one.
function words(text) {
  const chars = Array.from(text);
  const out = [];
  if (segmenter) {
    let at = 0;
    for (const s of segmenter.segment(text)) {
      const n = Array.from(s.segment).length;
      if (s.isWordLike) out.push({ text: s.segment, start: at, end: at + n });
      at += n;
    }
    return out;
  }
  chars.forEach((c, i) => { if (/[\p{L}\p{N}]/u.test(c)) out.push({ text: c, start: i, end: i + 1 }); });
  return out;
}

function unsureAt(line, start, end) {
  return (line.unsure || []).some(([a, b]) => a < end && start < b);
}

function renderLine(li, line, i) {
  li.innerHTML = '';
  li.dataset.seq = String(line.seq);
  li.className = 'desk-line';
  if (i === sel) li.classList.add('selected');
  if (i === sel) li.setAttribute('aria-current', 'true');
  const num = document.createElement('span');
  num.className = 'seq';
  num.textContent = `#${line.seq}`;
  const body = document.createElement('span');
  body.className = 'txt';
  const chars = Array.from(line.text);
  const ws = words(line.text);
  let at = 0;
  ws.forEach((w, k) => {
    if (w.start > at) body.append(chars.slice(at, w.start).join(''));
    const s = document.createElement('span');
    s.className = 'w';
    s.textContent = w.text;
    if (unsureAt(line, w.start, w.end)) { s.classList.add('unsure'); s.title = t('cap_unsure'); }
    if (i === sel && k === word) s.classList.add('cur');
    body.append(s);
    at = w.end;
  });
  if (at < chars.length) body.append(chars.slice(at).join(''));
  const state = document.createElement('span');
  state.className = 'state';
  const r = line.rev || 0;
  // A line the recognizer re-read whole (settled) is still unchecked: a person has not seen it.
  state.textContent = line.typed ? t('cap_state_typed') : line.corrected ? t('cap_state_corrected', { r }) : line.checked ? t('cap_state_checked') : line.settled ? t('cap_state_settled') : t('cap_state_new');
  li.dataset.state = line.typed ? 'typed' : line.corrected ? 'corrected' : line.checked ? 'checked' : line.settled ? 'settled' : 'new';
  li.append(num, ' ', body, ' ', state);
}

function render() {
  const list = $('lines');
  const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 40;
  list.innerHTML = '';
  lines.forEach((line, i) => {
    const li = document.createElement('li');
    renderLine(li, line, i);
    li.onclick = () => { sel = i; word = -1; follow = i === lines.length - 1; render(); $('lines').focus(); };
    list.append(li);
  });
  if (partial && partial.text && info?.captioning !== 'typed') {
    const li = document.createElement('li');
    li.className = 'desk-line partial';
    li.setAttribute('aria-hidden', 'true');
    li.textContent = `${partial.text} …`;
    list.append(li);
  }
  if (follow && atBottom) list.scrollTop = list.scrollHeight;
  else list.querySelector('.selected')?.scrollIntoView({ block: 'nearest' });
  (window.signrelay ||= {}).desk = { lines, sel, word };
}

function upsert(line) {
  const at = lines.findIndex((l) => l.seq === line.seq);
  if (at >= 0) {
    // The later revision wins, whoever sent it.
    if ((line.rev || 0) >= (lines[at].rev || 0)) lines[at] = line;
  } else {
    lines.push(line);
    lines.sort((a, b) => a.seq - b.seq);
    if (lines.length > 300) { lines.shift(); sel -= 1; }
  }
  if (follow) { sel = lines.length - 1; if (at < 0) word = -1; }
}

function renderInfo() {
  if (callId) {
    $('ev-title').textContent = t('cap_call_title', { n: callId });
    $('desk-state').textContent = t('cap_call_live');
  }
  if (!info) return;
  $('ev-title').textContent = info.title;
  const typed = info.captioning === 'typed';
  $('mode-machine').setAttribute('aria-pressed', String(!typed));
  $('mode-typed').setAttribute('aria-pressed', String(typed));
  $('typed-box').hidden = !typed;
  $('window').value = String(info.correction_window_ms);
  const held = info.correction_window_ms > 0;
  $('desk-state').textContent = held ? t('cap_desk_holding', { s: Math.round(info.correction_window_ms / 1000) }) : t('cap_desk_live');
  $('desk-state').dataset.kind = 'info';
}

function follow_() {
  if (es) es.close();
  es = new EventSource(`/events/${encodeURIComponent(eventId)}/captions?view=desk&since=0`);
  es.addEventListener('caption', (e) => {
    const line = JSON.parse(e.data);
    if (line.draft) {
      if (line.stable) { drafts.push(line.text); if (drafts.length > 3) drafts.shift(); }
      $('draft').textContent = [...drafts, line.stable ? '' : line.text].filter(Boolean).join(' ');
      return;
    }
    if (line.stable) { upsert(line); partial = null; } else partial = line;
    if (!editing) render();
  });
  es.addEventListener('status', (e) => { info = JSON.parse(e.data); renderInfo(); render(); });
  es.onopen = () => status(t('cap_connected'));
  es.onerror = () => status(t('reconnecting'));
}

// The captioner must hear what was said to correct it: the console joins the briefing as a
// viewer and plays the speaker (the broadcaster), like the watch page does.
let sig = null;
let listening = null;
function listen() {
  if (sig) sig.close();
  const me = connectSignal({
    onClose: () => { if (sig === me && eventId) setTimeout(listen, 2000); },
  });
  sig = me;
  let media = null;
  const streams = new Map();
  let roster = new Map();
  const place = () => {
    for (const [pid, stream] of streams) {
      if (roster.get(pid) !== 'broadcaster' || listening === stream) continue;
      listening = stream;
      const v = $('listen');
      v.srcObject = stream;
      v.play().catch(() => {});
    }
  };
  me.on('welcome', (m) => {
    media = new MediaSession(me, { iceServers: m.ice_servers, onTrack: (pid, stream) => { streams.set(pid, stream); place(); } });
  });
  me.on('room', (m) => { roster = new Map(m.participants.map((p) => [p.id, p.role])); place(); });
  me.on('offer', (m) => media?.handleOffer(m.sdp));
  me.on('error', (m) => { if (m.code === 'media_failed') me.close(); });
  me.on('*', () => {});
  me.send({ type: 'join_event', event: eventId });
}

async function open(id) {
  eventId = id;
  try {
    const o = await api('GET', `/api/events/${encodeURIComponent(id)}/captioning`);
    info = o.event;
  } catch (err) { status(t('error', { e: err.message })); return; }
  $('pick').hidden = true;
  $('work').hidden = false;
  location.hash = id;
  renderInfo();
  follow_();
  if (info.state !== 'ended') listen();
  $('lines').focus();
}

async function pick() {
  const list = await api('GET', '/api/captioner/events');
  const want = decodeURIComponent(location.hash.slice(1));
  if (want && list.some((e) => e.id === want)) return open(want);
  const ul = $('event-list');
  ul.innerHTML = '';
  for (const e of list) {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = `${e.title} · ${t(`state_${e.state}`).split('：')[0].split(':')[0]}`;
    b.onclick = () => open(e.id);
    li.append(b);
    ul.append(li);
  }
  if (!list.length) ul.textContent = t('cap_no_events');
  $('pick').hidden = false;
  $('calls').hidden = false;
}

// Call work (通话速录): a socket of its own, signed in by the session cookie. The server puts
// this console into a call only after the caller agreed, and takes it out the moment the
// caller withdraws or the call ends; the lines and corrections then travel on this socket.
let duty = null;
let callId = null;
let callMedia = null;
function renderDuty(on) {
  const b = $('duty');
  b.setAttribute('aria-pressed', String(on));
  b.dataset.i18n = on ? 'cap_duty_off' : 'cap_duty_on';
  b.textContent = t(b.dataset.i18n);
  const st = $('duty-state');
  st.dataset.i18n = callId ? 'cap_duty_call' : on ? 'cap_duty_waiting' : '';
  st.textContent = st.dataset.i18n ? t(st.dataset.i18n) : '';
}

function openCall(id) {
  callId = id;
  eventId = '';
  if (es) { es.close(); es = null; }
  if (sig) { sig.close(); sig = null; }
  lines = []; partial = null; sel = -1; word = -1; follow = true;
  info = null;
  $('ev-title').textContent = t('cap_call_title', { n: id });
  $('desk-state').textContent = t('cap_call_live');
  $('event-bar').hidden = true;
  // In a call the captioner types beside the recognizer (its lines stay in the list), and
  // what they teach applies to this call only.
  setCallTexts(true);
  $('listen-cap').dataset.i18n = 'cap_call_listen';
  $('listen-cap').textContent = t('cap_call_listen');
  $('pick').hidden = true;
  $('calls').hidden = true;
  $('work').hidden = false;
  status(t('cap_call_joined'));
  const streams = new Map();
  let roster = new Map();
  // The hearing party's voice matters most for the captions; everyone else plays as sound.
  const place = () => {
    const main = [...streams.keys()].find((pid) => roster.get(pid) === 'guest')
      || [...streams.keys()].find((pid) => roster.get(pid) === 'interpreter')
      || [...streams.keys()][0];
    const audio = $('call-audio');
    for (const [pid, stream] of streams) {
      if (pid === main) {
        if ($('listen').srcObject !== stream) { $('listen').srcObject = stream; $('listen').play().catch(() => {}); }
        audio.querySelector(`[data-pid="${pid}"]`)?.remove();
      } else if (!audio.querySelector(`[data-pid="${pid}"]`)) {
        const a = document.createElement('audio');
        a.dataset.pid = pid; a.autoplay = true; a.srcObject = stream;
        audio.append(a);
      }
    }
  };
  callMedia = new MediaSession(duty, { onTrack: (pid, stream) => { streams.set(pid, stream); place(); } });
  duty.on('room', (m) => { callMedia?.setYou(m.you); roster = new Map(m.participants.map((p) => [p.id, p.role])); place(); });
  render();
  $('lines').focus();
}

function closeCall(why) {
  if (callMedia) callMedia.close();
  callMedia = null;
  callId = null;
  $('listen').srcObject = null;
  $('call-audio').innerHTML = '';
  $('event-bar').hidden = false;
  setCallTexts(false);
  $('listen-cap').dataset.i18n = 'cap_listen';
  $('listen-cap').textContent = t('cap_listen');
  closeEditIfOpen();
  $('work').hidden = true;
  $('pick').hidden = false;
  $('calls').hidden = false;
  status(why);
}

function setCallTexts(inCall) {
  $('typed-box').hidden = !inCall;
  $('draft').hidden = inCall;
  $('draft-h').hidden = inCall;
  $('typed').value = '';
  const ph = inCall ? 'cap_typed_call_ph' : 'cap_typed_ph';
  $('typed').dataset.i18nPh = ph;
  $('typed').placeholder = t(ph);
  const l = $('learn-label');
  l.dataset.i18n = inCall ? 'cap_learn_call' : 'cap_learn';
  l.textContent = t(l.dataset.i18n);
}

function closeEditIfOpen() { if (editing) { editing = null; $('edit').hidden = true; } }

function startDuty() {
  const me = connectSignal({
    onClose: () => {
      if (duty !== me) return;
      duty = null;
      if (callId) closeCall(t('reconnecting'));
      renderDuty(false);
    },
  });
  duty = me;
  me.on('captioner_duty', (m) => {
    if (m.call_id && m.call_id !== callId) openCall(m.call_id);
    else if (!m.call_id && callId) closeCall(t('cap_call_over'));
    renderDuty(m.on);
  });
  me.on('caption', (m) => {
    if (!callId) return;
    // The line being typed here is already in the typing box.
    if (m.typed && !m.stable) return;
    if (m.stable) { upsert(m); partial = null; } else partial = m;
    if (!editing) render();
  });
  me.on('offer', (m) => callMedia?.handleOffer(m.sdp));
  me.on('call_ended', () => { if (callMedia) { callMedia.close(); } });
  // Candidates the server does not check (link-local, mDNS) leave nothing to do.
  me.on('error', (m) => { if (m.code !== 'bad_candidate') status(t('error', { e: m.message })); });
  me.on('*', () => {});
  me.send({ type: 'captioner_duty', on: true });
}

$('duty').onclick = () => {
  if (!duty) { startDuty(); return; }
  const d = duty;
  duty = null;
  d.send({ type: 'captioner_duty', on: false });
  setTimeout(() => d.close(), 300);
  renderDuty(false);
};

// Where a whole-line edit changed the text: the part that differs, for the "learn" offer.
function changed(a, b) {
  const x = Array.from(a); const y = Array.from(b);
  let p = 0;
  while (p < x.length && p < y.length && x[p] === y[p]) p += 1;
  let s = 0;
  while (s < x.length - p && s < y.length - p && x[x.length - 1 - s] === y[y.length - 1 - s]) s += 1;
  return { wrong: x.slice(p, x.length - s).join(''), right: y.slice(p, y.length - s).join('') };
}

function openEdit(replaceWord) {
  const line = lines[sel];
  if (!line) return;
  const ws = words(line.text);
  const w = replaceWord && word >= 0 ? ws[word] : null;
  const chars = Array.from(line.text);
  editing = w
    ? { seq: line.seq, before: chars.slice(0, w.start).join(''), after: chars.slice(w.end).join(''), old: line.text }
    : { seq: line.seq, before: '', after: '', old: line.text };
  $('edit-label').textContent = w ? t('cap_replace', { w: w.text }) : t('cap_edit_line', { n: line.seq });
  $('edit-text').value = w ? w.text : line.text;
  $('learn').checked = false;
  $('edit').hidden = false;
  $('edit-text').focus();
  $('edit-text').select();
}

function closeEdit() {
  editing = null;
  $('edit').hidden = true;
  render();
  $('lines').focus();
}

async function sendEdit() {
  if (!editing) return;
  const e = editing;
  const text = e.before + $('edit-text').value + e.after;
  const learn = $('learn').checked;
  if (callId) {
    duty.send({ type: 'correct_caption', seq: e.seq, text });
    const d = changed(e.old, text);
    if (learn && d.wrong && d.right) {
      duty.send({ type: 'caption_rule', wrong: d.wrong, right: d.right });
      status(t('cap_learnt', { a: d.wrong, b: d.right }));
    }
    closeEdit();
    return;
  }
  try {
    await api('POST', `/api/events/${encodeURIComponent(eventId)}/captions/${e.seq}`, { text });
    const d = changed(e.old, text);
    if (learn && d.right) {
      await api('POST', `/api/events/${encodeURIComponent(eventId)}/rules`, { wrong: d.wrong, right: d.right, hotword: true });
      status(t('cap_learnt', { a: d.wrong, b: d.right }));
    } else status('');
  } catch (err) { status(t('error', { e: err.message })); }
  closeEdit();
}

async function accept() {
  const line = lines[sel];
  if (!line) return;
  if (callId) { duty.send({ type: 'accept_caption', seq: line.seq }); return; }
  try { await api('POST', `/api/events/${encodeURIComponent(eventId)}/captions/${line.seq}/accept`); } catch (err) { status(t('error', { e: err.message })); }
}

$('lines').addEventListener('keydown', (e) => {
  if (editing) return;
  const n = lines.length;
  const nw = sel >= 0 && lines[sel] ? words(lines[sel].text).length : 0;
  const move = (i) => { sel = Math.max(0, Math.min(n - 1, i)); word = -1; follow = sel === n - 1; render(); };
  switch (e.key) {
    case 'ArrowUp': move(sel - 1); break;
    case 'ArrowDown': move(sel + 1); break;
    case 'End': move(n - 1); follow = true; break;
    case 'Home': move(0); break;
    case 'ArrowRight': word = Math.min(nw - 1, word + 1); follow = false; render(); break;
    case 'ArrowLeft': word = Math.max(0, word - 1); follow = false; render(); break;
    case 'Enter': accept(); break;
    case 'e': case 'E': case 'F2': openEdit(false); break;
    case 'r': case 'R': openEdit(word >= 0); break;
    default: return;
  }
  e.preventDefault();
});

$('edit').addEventListener('submit', (e) => { e.preventDefault(); sendEdit(); });
$('edit-cancel').onclick = closeEdit;
$('edit').addEventListener('keydown', (e) => { if (e.key === 'Escape') { e.preventDefault(); closeEdit(); } });

async function setCaptioning(body) {
  try { info = await api('POST', `/api/events/${encodeURIComponent(eventId)}/captioning`, body); renderInfo(); } catch (err) { status(t('error', { e: err.message })); }
}
$('mode-machine').onclick = () => setCaptioning({ mode: 'machine' });
$('mode-typed').onclick = () => { setCaptioning({ mode: 'typed' }).then(() => $('typed').focus()); };
$('window').onchange = () => setCaptioning({ correction_window_ms: Number($('window').value) });

// 速录: what is typed streams to viewers as it is typed (a few times a second), Enter ends
// the line. Nothing is sent mid-composition: an IME's pinyin is not text yet.
let typingTimer = null;
let composing = false;
async function sendTyped(done) {
  clearTimeout(typingTimer);
  typingTimer = null;
  const text = $('typed').value;
  if (done) $('typed').value = '';
  if (callId) { duty?.send({ type: 'type_caption', text, done }); return; }
  try { await api('POST', `/api/events/${encodeURIComponent(eventId)}/typing`, { text, done }); } catch (err) { status(t('error', { e: err.message })); }
}
$('typed').addEventListener('compositionstart', () => { composing = true; });
$('typed').addEventListener('compositionend', () => { composing = false; });
$('typed').addEventListener('input', () => {
  if (composing || typingTimer) return;
  typingTimer = setTimeout(() => sendTyped(false), 150);
});
$('typed').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); sendTyped(true); }
  if (e.key === 'Escape') { e.preventDefault(); $('lines').focus(); }
});

$('login').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  try {
    await api('POST', '/api/login', { username: $('username').value, password: $('password').value });
    $('login').hidden = true;
    status('');
    await pick();
  } catch (err) { status(t('error', { e: err.message })); }
});

setupLangToggle(() => { renderInfo(); render(); renderDuty(!!duty); });
onLangChange(() => {});
api('GET', '/api/me').then((me) => {
  if (me?.role === 'captioner') { $('login').hidden = true; pick(); }
}).catch(() => {});
