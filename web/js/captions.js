// Live captions on screen: stable lines stay, the recognizer's current guess is shown apart
// (italic, dimmer, marked "…") and replaced as it firms up. Size, contrast and position are
// the reader's choice and remembered on this device.
import { t, onLangChange } from './i18n.js';

const CONTRASTS = ['light-on-dark', 'yellow-on-black', 'dark-on-light'];
const POSITIONS = ['bottom', 'top', 'below'];

function pref(key, fallback) { return localStorage.getItem(`signrelay.cap.${key}`) || fallback; }
function setPref(key, v) { localStorage.setItem(`signrelay.cap.${key}`, v); }

export function download(name, text, type = 'text/plain') {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type: `${type};charset=utf-8` }));
  a.download = name;
  a.textContent = name;
  a.hidden = true;
  document.body.appendChild(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}

export class CaptionView {
  // box: where the captions show; bar: where the controls go. `keep`: stable lines kept on
  // screen (the rest scroll away; a transcript panel keeps them all).
  constructor(box, bar, { keep = 3, showNames = true, positions = false, ignore = () => false, emptyKey = 'cap_empty' } = {}) {
    this.emptyKey = emptyKey;
    this.box = box;
    this.keep = keep;
    this.showNames = showNames;
    this.ignore = ignore;
    this.partials = new Map(); // speaker -> CaptionLine
    this.lines = []; // every stable line seen on this page
    this.lastLine = null;
    this.lag = null;
    this.box.classList.add('captions');
    this.box.setAttribute('role', 'log');
    this.box.setAttribute('aria-live', 'polite');
    this.box.setAttribute('aria-label', t('captions'));
    this.stableEl = document.createElement('div');
    this.stableEl.className = 'cap-stable';
    this.partialEl = document.createElement('div');
    this.partialEl.className = 'cap-partial';
    // Guesses change several times a second: a screen reader should read only final text.
    this.partialEl.setAttribute('aria-hidden', 'true');
    // An empty caption box says what it is for instead of being a dark rectangle.
    this.emptyEl = document.createElement('p');
    this.emptyEl.className = 'cap-empty';
    this.delayEl = document.createElement('p');
    this.delayEl.className = 'cap-delay';
    this.delayEl.hidden = true;
    this.box.append(this.delayEl, this.stableEl, this.partialEl, this.emptyEl);
    this.behind = new Map(); // speaker -> {ms, at}
    this.apply();
    this.renderEmpty();
    if (bar) this.controls(bar, positions);
    this.delayTimer = setInterval(() => this.renderDelay(), 1000);
  }

  renderEmpty() {
    const empty = !this.lines.length && !this.partials.size;
    this.emptyEl.hidden = !empty;
    this.emptyEl.textContent = t(this.emptyKey);
  }

  // The server says how far behind a speaker's captions run; silence and a stuck recognizer
  // look the same on a page without it.
  status(msg) {
    if (this.ignore(msg)) return;
    if (msg.behind_ms > 0 || msg.degraded) this.behind.set(msg.speaker, { ms: msg.behind_ms, at: Date.now() });
    else this.behind.delete(msg.speaker);
    this.renderDelay();
  }

  // Seconds the captions run behind now, from the server's word (aged since it came) or the
  // last caption's own delay while it is recent.
  behindSecs() {
    let ms = 0;
    const now = Date.now();
    for (const b of this.behind.values()) {
      // Unrefreshed for long: the stream ended or the news is old.
      if (now - b.at < 5000) ms = Math.max(ms, b.ms + (now - b.at));
    }
    return ms / 1000;
  }

  renderDelay() {
    const s = this.behindSecs();
    this.delayEl.hidden = s < 3;
    if (s >= 3) this.delayEl.textContent = t('cap_delayed', { s: Math.round(s) });
  }

  apply() {
    const scale = parseFloat(pref('scale', '1'));
    this.box.style.setProperty('--cap-scale', String(scale));
    for (const c of CONTRASTS) this.box.classList.toggle(`cap-${c}`, c === pref('contrast', CONTRASTS[0]));
    const pos = pref('position', 'bottom');
    for (const p of POSITIONS) this.box.classList.toggle(`cap-pos-${p}`, p === pos);
  }

  controls(bar, positions) {
    bar.classList.add('cap-controls');
    const btn = (id, label, aria, fn) => {
      const b = document.createElement('button');
      b.type = 'button'; b.id = id; b.textContent = label;
      if (aria) b.setAttribute('aria-label', aria);
      b.onclick = fn;
      bar.appendChild(b);
      return b;
    };
    const scale = (d) => {
      const next = Math.min(3, Math.max(0.7, parseFloat(pref('scale', '1')) + d));
      setPref('scale', String(next));
      this.apply();
    };
    // The visible text is part of the accessible name (WCAG 2.5.3), and says which A−/A+ this is.
    const smaller = btn('cap-smaller', t('cap_smaller_label'), t('cap_smaller'), () => scale(-0.15));
    const bigger = btn('cap-bigger', t('cap_bigger_label'), t('cap_bigger'), () => scale(0.15));
    onLangChange(() => {
      smaller.textContent = t('cap_smaller_label'); smaller.setAttribute('aria-label', t('cap_smaller'));
      bigger.textContent = t('cap_bigger_label'); bigger.setAttribute('aria-label', t('cap_bigger'));
      contrast.textContent = t('cap_contrast'); contrast.removeAttribute('aria-label');
      if (position) position.textContent = t('cap_position');
      this.box.setAttribute('aria-label', t('captions'));
      this.renderEmpty();
      this.renderDelay();
    });
    const contrast = btn('cap-contrast', t('cap_contrast'), null, () => {
      const i = (CONTRASTS.indexOf(pref('contrast', CONTRASTS[0])) + 1) % CONTRASTS.length;
      setPref('contrast', CONTRASTS[i]);
      this.apply();
      contrast.setAttribute('aria-label', `${t('cap_contrast')}: ${t(`cap_${CONTRASTS[i].replace(/-/g, '_')}`)}`);
    });
    let position = null;
    if (positions) {
      position = btn('cap-position', t('cap_position'), null, () => {
        const i = (POSITIONS.indexOf(pref('position', 'bottom')) + 1) % POSITIONS.length;
        setPref('position', POSITIONS[i]);
        this.apply();
      });
    }
  }

  name(line) { return this.showNames && line.name ? t('pair', { a: line.name, b: '' }) : ''; }

  update(line) {
    if (this.ignore(line)) return;
    this.lastLine = line;
    const shown = Date.now();
    if (line.text) this.lag = Math.max(0, (shown - line.audio_end_unix_ms) / 1000);
    if (line.stable) {
      this.lines.push(line);
      // Read by the end-to-end tests and the latency benchmark.
      const sr = (window.signrelay ||= {});
      (sr.captionLog ||= []).push({ seq: line.seq, text: line.text, shown, audio_end: line.audio_end_unix_ms });
      this.partials.delete(line.speaker);
      const p = document.createElement('p');
      p.className = 'cap-line';
      p.dataset.seq = String(line.seq);
      // The name only when the speaker changes: a run of one person's lines reads as one.
      const same = this.lastSpeaker === line.speaker;
      this.lastSpeaker = line.speaker;
      p.textContent = `${same ? '' : this.name(line)}${line.text}`;
      p.dataset.full = `${this.name(line)}${line.text}`;
      this.stableEl.appendChild(p);
      while (this.stableEl.childElementCount > this.keep) this.stableEl.firstElementChild.remove();
      // The top line always says who is speaking.
      const top = this.stableEl.firstElementChild;
      if (top) top.textContent = top.dataset.full;
    } else if (line.text) {
      this.partials.set(line.speaker, line);
    } else {
      this.partials.delete(line.speaker);
    }
    this.partialEl.textContent = '';
    for (const l of this.partials.values()) {
      const p = document.createElement('p');
      p.textContent = `${this.name(l)}${l.text} …`;
      this.partialEl.appendChild(p);
    }
    this.renderEmpty();
  }

  // A captioner's revision of a line already shown: its text is replaced where it stands (no
  // new line, no jump), marked as corrected.
  revise(line) {
    const at = this.lines.findIndex((l) => l.seq === line.seq);
    if (at >= 0) this.lines[at] = line;
    const sr = (window.signrelay ||= {});
    (sr.revisionLog ||= []).push({ seq: line.seq, rev: line.rev, text: line.text, shown: Date.now() });
    const p = this.stableEl.querySelector(`p[data-seq="${line.seq}"]`);
    if (!p) return;
    const named = p.textContent.startsWith(this.name(line)) && this.name(line);
    p.dataset.full = `${this.name(line)}${line.text}`;
    p.textContent = named ? p.dataset.full : line.text;
    p.classList.add('revised');
    p.hidden = !line.text;
  }

  // How far behind the speech the captions ran when the last one arrived (the clocks of one
  // machine, or NTP-synced ones); null before any caption.
  delaySecs() {
    const server = this.behindSecs();
    if (server > 0) return Math.max(server, this.lag ?? 0);
    return this.lag ?? null;
  }

  transcriptText() {
    return this.lines.map((l) => `${this.name(l)}${l.text}`).join('\n') + '\n';
  }
}
