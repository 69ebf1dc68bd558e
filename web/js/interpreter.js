import { t, setupLangToggle, duration } from './i18n.js';
import { connectSignal } from './signal.js';
import { getCamera, mark } from './media.js';
import { InCall, flash, unflash } from './incall.js';
import { TeamPanel } from './team.js';
import { VideomailPanel } from './vm-console.js';

const $ = (id) => document.getElementById(id);
const status = (text) => { $('status').textContent = text; };

let welcome = null;
let incall = null;
let team = null;
let me = ''; // this console's account name
let stream = null;
let myStatus = 'away';
let ringing = null; // the incoming message, plus `at`: when it arrived here
const baseTitle = document.title;
let snapshot = null;
let snapshotAt = 0;

const sig = connectSignal({ onClose: () => status(t('disconnected')) });

function renderStatus() {
  $('my-status').textContent = t(myStatus);
  $('my-status').dataset.status = myStatus;
  const btn = $('btn-presence');
  btn.textContent = myStatus === 'available' ? t('set_away') : t('set_available');
  btn.disabled = myStatus === 'busy';
}

function renderQueue() {
  if (!snapshot) return;
  const s = snapshot.staffing;
  $('staffing').textContent = t('staffing', { a: s.available, b: s.busy, c: s.away });
  const body = $('queue-body');
  body.innerHTML = '';
  const elapsed = Math.floor((Date.now() - snapshotAt) / 1000);
  if (!snapshot.calls.length) {
    const tr = body.insertRow();
    tr.insertCell().textContent = t('queue_empty');
    return;
  }
  for (const c of snapshot.calls) {
    const tr = body.insertRow();
    tr.className = c.purpose === 'emergency' ? 'emergency' : '';
    tr.insertCell().textContent = t(`purpose_${c.purpose}`);
    tr.insertCell().textContent = c.sign_language;
    tr.insertCell().textContent = t('waited', { t: duration(c.waited_secs + elapsed) });
    tr.insertCell().textContent = [c.ringing ? t('ringing') : '', c.requeued ? t('requeued') : '',
      c.preferred_interpreter_gender ? t(`prefers_${c.preferred_interpreter_gender}`) : '',
      c.service_point ? t('from_counter', { name: c.service_point }) : ''].filter(Boolean).join(' · ');
  }
}
// The ring shows how long the caller has waited and how long it will keep ringing, second by
// second; the tab title carries it too, for a console in a background tab.
function renderRing() {
  if (!ringing) return;
  const m = ringing;
  const since = Math.floor((Date.now() - m.at) / 1000);
  // A colleague's ask says who asks and for what; a queue call says how long the caller waited.
  $('ring-h').textContent = ringTitle(m);
  $('ring-info').textContent = [t(`purpose_${m.purpose}`), m.sign_language,
    m.kind ? '' : t('waited', { t: duration(m.waited_secs + since) }),
    m.preferred_interpreter_gender ? t(`prefers_${m.preferred_interpreter_gender}`) : '',
    m.service_point ? t('from_counter', { name: m.service_point }) : ''].filter(Boolean).join(' · ');
  const left = Math.max(0, m.ring_timeout_secs - since);
  $('ring-countdown').textContent = t(m.kind ? 'ask_countdown' : 'ring_countdown', { s: left });
  document.title = `${t('ring_title')}${t(`purpose_${m.purpose}`)} · ${baseTitle}`;
  // The held alert follows a language switch too.
  const alert = $('alert');
  if (alert && !alert.hidden) alert.textContent = t('pair', { a: ringTitle(m), b: t(`purpose_${m.purpose}`) });
}

// A queue call rings as a new call; a colleague's ask says who asks and for what.
function ringTitle(m) { return m.kind ? t(`asked_${m.kind}`, { n: m.from }) : t('incoming'); }

function stopRing() {
  ringing = null;
  $('ring').hidden = true;
  document.title = baseTitle;
  unflash();
  if (stopRing.note) { stopRing.note.close(); stopRing.note = null; }
}

setInterval(() => { renderQueue(); renderRing(); }, 1000);

const videomail = new VideomailPanel(sig, {
  onCallBack: async (id) => {
    if (incall) return;
    try { stream = await getCamera(); } catch (err) { status(t('media_denied', { e: err.message })); stream = null; }
    status(t('cb_calling'));
    sig.send({ type: 'call_back', videomail: id });
  },
});
setupLangToggle(() => { renderStatus(); renderQueue(); renderRing(); loadMyCalls().catch(() => {}); videomail.render(); });

// System notifications reach an interpreter whose console is in a background tab; asked for
// only by a click, as browsers require.
if ('Notification' in window && Notification.permission === 'default') $('btn-notify').hidden = false;
$('btn-notify').onclick = async () => {
  try { await Notification.requestPermission(); } catch { /* not offered */ }
  $('btn-notify').hidden = Notification.permission === 'default';
};

let beepCtx = null;
function beep() {
  try {
    beepCtx ||= new AudioContext();
    const o = beepCtx.createOscillator();
    o.frequency.value = 880;
    o.connect(beepCtx.destination);
    o.start(); o.stop(beepCtx.currentTime + 0.3);
  } catch { /* sound is only an extra; the visual alert is the signal */ }
}

function ensureInCall() {
  if (!incall) {
    $('incall').hidden = false;
    incall = new InCall($('incall'), {
      signal: sig, role: 'interpreter', localStream: stream, iceServers: welcome?.ice_servers, captions: !!welcome?.captions,
      handoverAfterSecs: welcome?.handover_suggest_secs || 0,
    });
    team = new TeamPanel($('team-box'), { signal: sig, me });
    if (snapshot) team.setColleagues(snapshot.colleagues);
  }
  return incall;
}

function endCall() {
  if (team) team.close();
  team = null;
  if (incall) incall.close();
  incall = null;
  $('incall').hidden = true;
  if (stream) stream.getTracks().forEach((tr) => tr.stop());
  stream = null;
}

// The calls this interpreter answered today (records show each interpreter only their own).
async function loadMyCalls() {
  const from = new Date(); from.setHours(0, 0, 0, 0);
  const res = await fetch(`/api/my/calls?from_ms=${from.getTime()}`);
  if (!res.ok) return;
  const body = $('my-calls');
  body.innerHTML = '';
  for (const c of await res.json()) {
    const tr = body.insertRow();
    tr.insertCell().textContent = new Date(c.placed_at_ms).toLocaleTimeString();
    tr.insertCell().textContent = t(`purpose_${c.purpose}`);
    tr.insertCell().textContent = t('waited', { t: duration(Math.round((c.wait_ms || 0) / 1000)) });
    tr.insertCell().textContent = c.talk_ms == null ? '' : duration(Math.round(c.talk_ms / 1000));
    // This interpreter's part when more than one worked the call (transfer, team, hand-over).
    const mine = (c.interpreters || []).filter((x) => x.username === me);
    const part = (support) => mine.filter((x) => x.support === support).reduce((n, x) => n + x.ms, 0);
    tr.insertCell().textContent = (c.interpreters || []).length > 1
      ? [part(false) && t('my_part_active', { t: duration(Math.round(part(false) / 1000)) }),
        part(true) && t('my_part_support', { t: duration(Math.round(part(true) / 1000)) })].filter(Boolean).join(' · ')
      : '';
  }
}

$('login').addEventListener('submit', (e) => {
  e.preventDefault();
  me = $('username').value;
  sig.send({ type: 'login', username: me, password: $('password').value });
});
// One password check per submit: the web session (for the records of one's own calls) comes
// from the ticket the socket's sign-in returned, not from sending the password again.
function webSession(ticket) {
  if (!ticket) return;
  fetch('/api/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ ticket }) })
    .then((r) => { if (r.ok) { loadMyCalls(); videomail.start(); } }).catch(() => {});
}
$('btn-presence').onclick = () => sig.send({ type: 'set_presence', status: myStatus === 'available' ? 'away' : 'available' });
$('btn-accept').onclick = async () => {
  if (!ringing) return;
  mark('accept_clicked');
  const callId = ringing.call_id;
  try { stream = await getCamera(); } catch (err) { status(t('media_denied', { e: err.message })); stream = null; }
  sig.send({ type: 'accept', call_id: callId });
};
$('btn-decline').onclick = () => { if (ringing) sig.send({ type: 'decline', call_id: ringing.call_id }); };

sig.on('welcome', (m) => { welcome = m; $('login').hidden = true; $('console').hidden = false; renderStatus(); });
sig.on('web_ticket', (m) => webSession(m.ticket));
sig.on('status', (m) => { myStatus = m.status; renderStatus(); });
sig.on('queue_snapshot', (m) => { snapshot = m; snapshotAt = Date.now(); renderQueue(); team?.setColleagues(m.colleagues); });
const ring = (m) => {
  ringing = { ...m, at: Date.now() };
  $('ring').hidden = false;
  renderRing();
  mark('ring_shown');
  $('ring').classList.toggle('emergency', m.purpose === 'emergency');
  flash(t('pair', { a: ringTitle(m), b: t(`purpose_${m.purpose}`) }), { hold: true });
  beep();
  if ('Notification' in window && Notification.permission === 'granted' && document.hidden) {
    try {
      stopRing.note = new Notification(ringTitle(m), { body: t(`purpose_${m.purpose}`), requireInteraction: true });
      stopRing.note.onclick = () => { window.focus(); $('btn-accept').focus(); };
    } catch { /* some browsers allow notifications only from a service worker */ }
  }
  $('btn-accept').focus();
};
sig.on('incoming', ring);
// A colleague asks this console to take over or join a call: it rings the same way.
sig.on('asked', ring);
sig.on('ask_ended', (m) => team?.onAskEnded(m));
sig.on('team_note', (m) => team?.onNote(m));
sig.on('ring_stopped', (m) => {
  stopRing();
  if (m.reason === 'timeout') flash(t('missed'));
});
sig.on('call_connected', () => { stopRing(); ensureInCall(); });
sig.on('room', (m) => { ensureInCall().onRoom(m); team?.setRoster(incall.roster, m.you); });
sig.on('offer', (m) => { if (videomail.recording()) videomail.onOffer(m); else ensureInCall().onOffer(m); });
sig.on('videomail_recording', (m) => videomail.onRecording(m));
sig.on('videomail_saved', () => videomail.onSaved());
sig.on('call_back_ended', (m) => {
  if (m.outcome === 'accepted') { status(''); return; }
  status(t(`cb_ended_${m.outcome}`));
  if (!incall && stream) { stream.getTracks().forEach((tr) => tr.stop()); stream = null; }
});
sig.on('caption', (m) => incall?.onCaption(m));
sig.on('caption_status', (m) => incall?.onCaptionStatus(m));
sig.on('call_captioner', (m) => incall?.onCallCaptioner(m));
sig.on('chat', (m) => incall?.onChat(m));
sig.on('invite_created', (m) => incall?.onInvite(m));
sig.on('call_ended', (m) => {
  endCall(); status('');
  // After a hand-back the console is away until the interpreter says they are free again.
  const done = { handed_back: 'handed_back_done', transferred: 'transferred_done', left_team: 'left_team_done' };
  flash(t(done[m.reason] || 'ended'));
  // The record is written just after the call ends.
  setTimeout(() => loadMyCalls().catch(() => {}), 500);
});
sig.on('error', (m) => {
  // A browser offers candidates the server will not check (link-local, mDNS names): the call
  // goes on over the others, and there is nothing for the person to do.
  if (m.code === 'bad_candidate') return;
  if (m.code === 'interpreter_unavailable' || m.code === 'busy') team?.onError();
  if (m.code === 'videomail_unavailable') videomail.stopRecording();
  if (m.code === 'captioner_unavailable' && incall) { incall.onCaptionerRefused(); return; }
  if (m.code === 'shutting_down') status(t('restarting'));
  else status(t('error', { e: m.message }));
});
sig.on('pong', () => {});
