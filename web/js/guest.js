import { t, setupLangToggle } from './i18n.js';
import { connectSignal } from './signal.js';
import { getCamera } from './media.js';
import { InCall, flash, forwardCallMessages } from './incall.js';

const $ = (id) => document.getElementById(id);
const status = (text) => { $('status').textContent = text; };
setupLangToggle();

// The token travels in the URL fragment, which browsers never send to servers or in Referer.
const token = location.hash.slice(1);
let incall = null;
let stream = null;
let welcome = null;
let sig = null;

function ensureInCall() {
  if (!incall) {
    $('join').hidden = true;
    $('incall').hidden = false;
    incall = new InCall($('incall'), {
      signal: sig, role: 'guest', localStream: stream, iceServers: welcome?.ice_servers, captions: !!welcome?.captions,
    });
  }
  return incall;
}

if (!token) {
  status(t('no_token'));
  $('join').hidden = true;
}

$('join').addEventListener('submit', async (e) => {
  e.preventDefault();
  try { stream = await getCamera(); } catch (err) { status(t('media_denied', { e: err.message })); stream = null; }
  sig = connectSignal({ onClose: () => status(t('disconnected')) });
  sig.on('welcome', (m) => { welcome = m; ensureInCall(); });
  forwardCallMessages(sig, { ensure: ensureInCall, current: () => incall });
  sig.on('interpreter_lost', (m) => flash(t(m.handed_back ? 'interp_handed_back' : 'interp_lost')));
  sig.on('call_connected', () => flash(t('answered')));
  sig.on('call_ended', () => {
    if (incall) incall.close();
    incall = null;
    if (stream) stream.getTracks().forEach((tr) => tr.stop());
    $('incall').hidden = true; $('ended').hidden = false; status('');
    $('ended-h').focus();
  });
  sig.on('error', (m) => {
  // A browser offers candidates the server will not check (link-local, mDNS names): the call
  // goes on over the others, and there is nothing for the person to do.
  if (m.code === 'bad_candidate') return;
  if (m.code === 'shutting_down') status(t('restarting'));
  else status(t('error', { e: m.message }));
});
  sig.on('pong', () => {});
  sig.send({ type: 'hello', role: 'guest', name: $('guest-name').value || undefined, invite: token });
});
