// The in-call view shared by the three pages: video tiles, camera/mic toggles, hang-up,
// guest invitation, and the text conversation (RFC 8865 real-time text as people type).
import { t, onLangChange, applyI18n, currentLang } from './i18n.js';
import { MediaSession, mark } from './media.js';
import { CaptionView, download } from './captions.js';

const LINE_SEP = '\u2028';
const BACKSPACE = '\b';

// A visual alert across the top. `hold` keeps it up until `unflash()` (a ringing console must
// not lose its signal after a few seconds).
export function flash(text, { hold = false } = {}) {
  const el = document.getElementById('alert');
  if (!el) return;
  el.textContent = text;
  el.hidden = false;
  el.classList.toggle('held', hold);
  el.classList.remove('flashing');
  void el.offsetWidth; // restart the animation
  el.classList.add('flashing');
  if (navigator.vibrate) navigator.vibrate([300, 150, 300]);
  clearTimeout(flash.timer);
  if (!hold) flash.timer = setTimeout(() => { el.hidden = true; }, 4000);
}

// The messages of a call a page passes to its InCall, made on first need by `ensure`; `ready`
// (optional) holds negotiation until the page's camera is open.
export function forwardCallMessages(sig, { ensure, current, ready }) {
  const run = (fn) => (ready ? ready().then(fn) : fn());
  sig.on('room', (m) => run(() => ensure().onRoom(m)));
  sig.on('offer', (m) => run(() => ensure().onOffer(m)));
  sig.on('chat', (m) => current()?.onChat(m));
  sig.on('caption', (m) => current()?.onCaption(m));
  sig.on('caption_status', (m) => current()?.onCaptionStatus(m));
  sig.on('call_captioner', (m) => current()?.onCallCaptioner(m));
  sig.on('captioner_suggested', () => current()?.onCaptionerSuggested());
}

export function unflash() {
  const el = document.getElementById('alert');
  clearTimeout(flash.timer);
  if (el) el.hidden = true;
}

export function setTextScale(delta) {
  const cur = parseFloat(localStorage.getItem('signrelay.textScale') || '1');
  const next = Math.min(2.5, Math.max(0.8, cur + delta));
  localStorage.setItem('signrelay.textScale', String(next));
  document.documentElement.style.setProperty('--text-scale', String(next));
}
setTextScale(0);

export class InCall {
  constructor(root, { signal, role, localStream, iceServers, captions = false, handoverAfterSecs = 0 }) {
    this.handoverAfterSecs = handoverAfterSecs;
    this.root = root;
    this.withCaptions = captions;
    this.signal = signal;
    this.role = role;
    this.localStream = localStream;
    this.roster = new Map();
    this.tiles = new Map();
    this.live = new Map(); // pid -> text being typed
    this.sent = '';
    this.composing = false;
    this.record = []; // {at, name, text}: what the page showed, for the summary and saving
    this.startedAt = Date.now();
    this.media = new MediaSession(signal, {
      localStream, iceServers,
      onTrack: (pid, stream) => this.attach(pid, stream),
      onRtt: (pid, chunk) => this.receiveRtt(pid, chunk),
    });
    window.signrelay = window.signrelay || {};
    window.signrelay.media = this.media;
    window.signrelay.incall = this;
    this.render();
  }

  render() {
    // Labels carry data-i18n so a language switch mid-call relabels everything at once.
    this.root.innerHTML = `
      <div class="stage" id="stage" data-i18n-aria="video_panel"></div>
      <div class="controls" role="toolbar" data-i18n-aria="call_controls">
        <button type="button" id="btn-cam" aria-pressed="true"></button>
        <button type="button" id="btn-mic" aria-pressed="true"></button>
        ${this.role !== 'guest' ? '<button type="button" id="btn-invite" data-i18n="invite"></button>' : ''}
        ${this.role === 'interpreter' ? '<button type="button" id="btn-handback" data-i18n="hand_back"></button>' : ''}
        <button type="button" id="btn-hangup" class="danger hangup" data-i18n="hang_up"></button>
      </div>
      ${this.role === 'interpreter' ? '<p class="call-clock"><span id="call-clock"></span> <span id="handover-hint" role="status"></span></p>' : ''}
      ${this.role === 'interpreter' ? '<section id="team-box" class="team" aria-labelledby="team-h"></section>' : ''}
      <div id="invite-box" class="invite" hidden></div>
      ${this.withCaptions ? `<section class="cappanel" aria-labelledby="cap-h">
        <div class="tp-head">
          <h2 id="cap-h" data-i18n="captions"></h2>
          <span id="cap-bar"></span>
        </div>
        <div id="call-captions"></div>
        <div class="cc-box" id="cc-box">
          <p id="cc-state" role="status" aria-live="polite"></p>
          <div id="cc-ask-box" class="cc-ask" hidden>
            <p id="cc-ask-text"></p>
            <button type="button" id="cc-yes" data-i18n="cc_yes"></button>
            <button type="button" id="cc-no" data-i18n="cc_no"></button>
          </div>
          ${this.role === 'caller' ? '<button type="button" id="cc-toggle" aria-describedby="cc-hint"></button><p class="hint" id="cc-hint" data-i18n="cc_ask_hint"></p>' : ''}
          ${this.role === 'interpreter' ? '<button type="button" id="cc-suggest" data-i18n="cc_suggest"></button>' : ''}
        </div>
        <button type="button" id="cap-save" data-i18n="cap_save"></button>
      </section>` : ''}
      <section class="textpanel" aria-labelledby="tp-h">
        <div class="tp-head">
          <h2 id="tp-h" data-i18n="text_panel"></h2>
          <span>
            <button type="button" id="txt-smaller" data-i18n="cap_text_smaller" data-i18n-aria="cap_text_smaller_aria"></button>
            <button type="button" id="txt-bigger" data-i18n="cap_text_bigger" data-i18n-aria="cap_text_bigger_aria"></button>
          </span>
        </div>
        <ol id="history" class="history" aria-live="polite"></ol>
        <div id="live" class="live" aria-live="off"></div>
        <form id="rtt-form" class="rtt-form">
          <label for="rtt-input" class="sr-only" data-i18n="text_input"></label>
          <textarea id="rtt-input" rows="2" data-i18n-ph="text_input" autocomplete="off" maxlength="2000"></textarea>
          <button type="submit" data-i18n="send_line"></button>
        </form>
      </section>`;
    applyI18n(this.root);
    const $ = (id) => this.root.querySelector(`#${id}`);
    if (this.localStream) {
      const self = document.createElement('video');
      self.className = 'selfview';
      self.muted = true; self.autoplay = true; self.playsInline = true;
      self.srcObject = this.localStream;
      self.dataset.i18nAria = 'self_view';
      self.setAttribute('aria-label', t('self_view'));
      $('stage').appendChild(self);
    }
    this.cam = true; this.mic = true;
    const label = () => {
      $('btn-cam').textContent = t('pair', { a: t('camera'), b: this.cam ? t('on') : t('off') });
      $('btn-mic').textContent = t('pair', { a: t('mic'), b: this.mic ? t('on') : t('off') });
      $('btn-cam').setAttribute('aria-pressed', String(this.cam));
      $('btn-mic').setAttribute('aria-pressed', String(this.mic));
    };
    label();
    this.offLang = onLangChange(() => {
      label();
      this.renderCaptioner();
      for (const pid of this.tiles.keys()) this.tile(pid);
      this.renderLive();
    });
    $('btn-cam').onclick = () => { this.cam = !this.cam; this.media.setEnabled('video', this.cam); label(); };
    $('btn-mic').onclick = () => { this.mic = !this.mic; this.media.setEnabled('audio', this.mic); label(); };
    // Hang-up asks once: a slip of the thumb must not end an emergency call.
    this.confirmFirst($('btn-hangup'), 'hang_up', 'confirm_hang_up', { type: 'hang_up' });
    if ($('btn-invite')) $('btn-invite').onclick = () => this.signal.send({ type: 'create_invite' });
    // The interpreter sees how long they have been interpreting; past the configured stretch
    // (20 min by default: errors rise after that) the console suggests handing over.
    const clock = $('call-clock');
    if (clock) {
      const tick = () => {
        const secs = Math.floor((Date.now() - this.startedAt) / 1000);
        const mm = String(Math.floor(secs / 60)).padStart(2, '0');
        const ss = String(secs % 60).padStart(2, '0');
        clock.textContent = t('in_call_for', { t: `${mm}:${ss}` });
        const due = this.handoverAfterSecs > 0 && secs >= this.handoverAfterSecs;
        const hint = $('handover-hint');
        // Filled once (and on a language switch), so a screen reader hears it once.
        if (due && hint.dataset.lang !== currentLang()) {
          hint.dataset.lang = currentLang();
          hint.textContent = t('handover_due');
          $('btn-handback')?.classList.add('suggested');
        }
      };
      tick();
      clearInterval(this.clockTimer);
      this.clockTimer = setInterval(tick, 1000);
    }
    // Handing a call back asks once too: the caller is put back at the front of the line.
    if ($('btn-handback')) this.confirmFirst($('btn-handback'), 'hand_back', 'confirm_hand_back', { type: 'hand_back' });
    if (this.withCaptions) {
      // What this page's own microphone says is not shown back to it.
      this.captions = new CaptionView($('call-captions'), $('cap-bar'), {
        keep: 4, ignore: (l) => l.speaker === this.media.you,
      });
      // Nothing of a call is kept on the server; saving is the caller's choice, on their device.
      $('cap-save').onclick = () => this.save();
      // A captioner hears the call, so only the caller's own yes brings one in.
      this.cc = { state: 'off', name: null, on_duty: 0 };
      if ($('cc-toggle')) {
        $('cc-toggle').onclick = () => this.signal.send({ type: 'want_captioner', yes: this.cc.state === 'off' });
      }
      if ($('cc-suggest')) {
        $('cc-suggest').onclick = () => {
          this.signal.send({ type: 'suggest_captioner' });
          $('cc-state').textContent = t('cc_suggest_sent');
        };
      }
      $('cc-yes').onclick = () => { $('cc-ask-box').hidden = true; this.signal.send({ type: 'want_captioner', yes: true }); };
      $('cc-no').onclick = () => { $('cc-ask-box').hidden = true; $('cc-toggle')?.focus(); };
      this.renderCaptioner();
    }
    $('txt-bigger').onclick = () => setTextScale(0.2);
    $('txt-smaller').onclick = () => setTextScale(-0.2);
    const input = $('rtt-input');
    input.addEventListener('compositionstart', () => { this.composing = true; });
    input.addEventListener('compositionend', () => { this.composing = false; this.typed(input); });
    input.addEventListener('input', (e) => { if (!e.isComposing && !this.composing) this.typed(input); });
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); this.commit(input); }
    });
    $('rtt-form').addEventListener('submit', (e) => { e.preventDefault(); this.commit(input); });
  }

  // The whole conversation as text: typed lines and captions, in the order they were shown.
  transcript() {
    return this.record.map((r) => `[${r.at.toLocaleTimeString()}] ${t('pair', { a: r.name, b: r.text })}`).join('\n');
  }

  save() {
    download(`signrelay-${new Date().toISOString().slice(0, 16).replace(':', '')}.txt`, `${this.transcript()}\n`);
  }

  // Sends only the change since the last send: erased characters as T.140 backspaces, then
  // the new ones, so the other side sees each keystroke.
  typed(input) {
    const now = Array.from(input.value.replace(/\n/g, ''));
    const before = Array.from(this.sent);
    let i = 0;
    while (i < now.length && i < before.length && now[i] === before[i]) i += 1;
    const chunk = BACKSPACE.repeat(before.length - i) + now.slice(i).join('');
    if (chunk) this.media.sendRtt(chunk);
    this.sent = now.join('');
  }

  commit(input) {
    this.typed(input);
    const text = this.sent.trim();
    if (this.media.rttOpen()) {
      this.media.sendRtt(LINE_SEP);
      if (text) this.addLine(t('you'), this.role, text);
    } else if (text) {
      // No media path (e.g. UDP blocked): the conversation goes on over signaling.
      this.signal.send({ type: 'chat', text });
    }
    input.value = '';
    this.sent = '';
  }

  receiveRtt(pid, chunk) {
    let cur = Array.from(this.live.get(pid) || '');
    for (const ch of Array.from(chunk.replace(/\r\n/g, '\n'))) {
      if (ch === BACKSPACE) cur.pop();
      else if (ch === LINE_SEP || ch === '\n') {
        const line = cur.join('').trim();
        if (line) this.addLine(this.nameOf(pid), this.roster.get(pid)?.role, line);
        cur = [];
      } else if (ch !== '\uFEFF') cur.push(ch);
    }
    this.live.set(pid, cur.join(''));
    this.renderLive();
  }

  nameOf(pid) { return this.roster.get(pid)?.name || pid; }

  renderLive() {
    const box = this.root.querySelector('#live');
    box.innerHTML = '';
    for (const [pid, text] of this.live) {
      if (!text) continue;
      const p = document.createElement('p');
      p.className = 'live-line';
      p.dataset.pid = pid;
      const who = document.createElement('b');
      who.textContent = t('pair', { a: `${this.nameOf(pid)} (${t('typing')})`, b: '' });
      p.append(who, document.createTextNode(text));
      box.appendChild(p);
    }
  }

  addLine(name, role, text) {
    this.record.push({ at: new Date(), name, text });
    const li = document.createElement('li');
    li.className = `line role-${role || 'other'}`;
    const who = document.createElement('b');
    who.textContent = t('pair', { a: name, b: '' });
    li.append(who, document.createTextNode(text));
    const hist = this.root.querySelector('#history');
    hist.appendChild(li);
    hist.scrollTop = hist.scrollHeight;
  }

  onChat(msg) {
    if (msg.from === this.media.you && this.media.rttOpen()) return;
    this.addLine(msg.from === this.media.you ? t('you') : msg.name, msg.role, msg.text);
  }

  onRoom(msg) {
    this.media.setYou(msg.you);
    this.roster = new Map(msg.participants.map((p) => [p.id, p]));
    for (const [pid, tile] of this.tiles) {
      if (!this.roster.has(pid)) { tile.remove(); this.tiles.delete(pid); this.live.delete(pid); }
    }
    for (const p of msg.participants) if (p.id !== msg.you) this.tile(p.id);
    // A support interpreter does not end the call or hand it back: they leave the team.
    const support = !!this.roster.get(msg.you)?.support;
    for (const id of ['btn-hangup', 'btn-handback']) {
      const b = this.root.querySelector(`#${id}`);
      if (b) b.hidden = support;
    }
    // The guest is in: the one-time link has done its job and gives the video its room back.
    if (msg.participants.some((p) => p.role === 'guest')) {
      const box = this.root.querySelector('#invite-box');
      if (box) box.hidden = true;
    }
    this.renderLive();
  }

  onOffer(msg) { return this.media.handleOffer(msg.sdp); }

  onCaption(msg) {
    if (!this.captions) return;
    // A captioner's correction replaces the line where it stands, here and in what is saved.
    if (msg.rev > 0) {
      this.captions.revise(msg);
      const r = this.record.find((x) => x.seq === msg.seq);
      if (r) r.text = msg.text;
      return;
    }
    this.captions.update(msg);
    if (msg.stable && msg.text && msg.speaker !== this.media.you) {
      this.record.push({ at: new Date(), name: `${msg.name} (${t('captions')})`, text: msg.text, seq: msg.seq });
    }
  }

  onCallCaptioner(msg) {
    if (!this.cc) return;
    this.cc = msg;
    this.renderCaptioner();
  }

  // The proposal was refused: nobody is on duty, or the caller already agreed.
  onCaptionerRefused() {
    const st = this.root.querySelector('#cc-state');
    if (st) st.textContent = t(this.cc?.state === 'off' ? 'cc_none_on_duty' : 'cc_already');
  }

  onCaptionerSuggested() {
    if (!this.cc || this.role !== 'caller' || this.cc.state !== 'off') return;
    const box = this.root.querySelector('#cc-ask-box');
    this.root.querySelector('#cc-ask-text').textContent = t('cc_suggested');
    box.hidden = false;
    // A deaf caller must see the question wherever they are looking: a visual alert, and the
    // question brought into view with the answer focused.
    flash(t('cc_suggested_alert'));
    this.root.querySelector('#cc-yes').focus({ preventScroll: true });
    box.scrollIntoView({ block: 'center' });
  }

  renderCaptioner() {
    if (!this.cc) return;
    const st = this.root.querySelector('#cc-state');
    const c = this.cc;
    const key = c.state === 'on' ? 'cc_on' : c.state === 'waiting' ? (c.on_duty > 0 ? 'cc_waiting' : 'cc_waiting_none') : 'cc_off';
    st.textContent = t(key, { n: c.name || '' });
    st.dataset.state = c.state;
    const btn = this.root.querySelector('#cc-toggle');
    if (btn) {
      btn.textContent = t(c.state === 'off' ? 'cc_ask' : 'cc_stop');
    }
    const sug = this.root.querySelector('#cc-suggest');
    if (sug) sug.hidden = c.state !== 'off';
    const ask = this.root.querySelector('#cc-ask-text');
    if (ask && ask.textContent) ask.textContent = t('cc_suggested');
  }

  onCaptionStatus(msg) { if (this.captions) this.captions.status(msg); }

  onInvite(msg) {
    const url = msg.url || `${location.origin}${msg.path}`;
    const box = this.root.querySelector('#invite-box');
    box.hidden = false;
    box.innerHTML = '';
    const p = document.createElement('p');
    p.textContent = t('invite_link', { m: Math.round(msg.expires_in_secs / 60) });
    const link = document.createElement('input');
    link.readOnly = true; link.value = url; link.id = 'invite-url';
    link.setAttribute('aria-label', t('invite'));
    const copy = document.createElement('button');
    copy.type = 'button'; copy.textContent = t('copy'); copy.dataset.i18n = 'copy';
    copy.onclick = async () => {
      try { await navigator.clipboard.writeText(url); copy.textContent = t('copied'); } catch { link.select(); }
    };
    const img = document.createElement('img');
    img.src = `/qr.svg?text=${encodeURIComponent(url)}`;
    img.alt = url; img.width = 200; img.height = 200;
    box.append(p, link, copy, img);
  }

  tile(pid) {
    let tile = this.tiles.get(pid);
    const p = this.roster.get(pid);
    if (!tile) {
      tile = document.createElement('figure');
      tile.className = 'tile';
      tile.dataset.pid = pid;
      const v = document.createElement('video');
      v.autoplay = true; v.playsInline = true;
      const cap = document.createElement('figcaption');
      tile.append(v, cap);
      this.root.querySelector('#stage').prepend(tile);
      this.tiles.set(pid, tile);
    }
    if (p) {
      tile.dataset.role = p.role;
      const role = t(p.support ? 'role_support' : `role_${p.role}`);
      tile.querySelector('figcaption').textContent = `${p.name} · ${role}`;
      tile.querySelector('video').setAttribute('aria-label', `${p.name} · ${role}`);
      // The person whose signing (or, in a captioned call, speaking) matters most gets the big
      // tile; a team's support interpreter never does, for the caller.
      const hasInterpreter = [...this.roster.values()].some((r) => r.role === 'interpreter');
      let main = this.role === 'interpreter' ? 'caller' : 'interpreter';
      if (!hasInterpreter && this.role === 'caller') main = 'guest';
      tile.classList.toggle('main', p.role === main && !p.support);
      tile.classList.toggle('support', !!p.support);
    }
    return tile;
  }

  attach(pid, stream) {
    const v = this.tile(pid).querySelector('video');
    if (v.srcObject !== stream) {
      v.srcObject = stream;
      if (v.requestVideoFrameCallback) v.requestVideoFrameCallback(() => mark('first_frame'));
    }
    v.play().catch(() => {});
  }

  // A button whose first tap only arms it (for 4 s) and whose second sends `msg`.
  confirmFirst(btn, label, confirmLabel, msg) {
    const set = (key) => { btn.dataset.i18n = key; btn.textContent = t(key); };
    btn.onclick = () => {
      if (btn.dataset.armed) { this.signal.send(msg); return; }
      btn.dataset.armed = '1';
      set(confirmLabel);
      clearTimeout(btn.disarm);
      btn.disarm = setTimeout(() => { delete btn.dataset.armed; set(label); }, 4000);
    };
    this.armed = (this.armed || []).concat(btn);
  }

  close() {
    for (const b of this.armed || []) clearTimeout(b.disarm);
    this.media.close();
    if (this.offLang) this.offLang();
    if (this.captions) clearInterval(this.captions.delayTimer);
    clearInterval(this.clockTimer);
    this.root.innerHTML = '';
  }
}
