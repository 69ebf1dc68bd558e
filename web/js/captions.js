// Live captions on screen: stable lines stay, the recognizer's current guess is shown apart
// (italic, dimmer, marked "…") and replaced as it firms up. Size, contrast and position are
// the reader's choice and remembered on this device.
import { t } from './i18n.js';

const CONTRASTS = ['light-on-dark', 'yellow-on-black', 'dark-on-light'];
const POSITIONS = ['bottom', 'top', 'below'];

function pref(key, fallback) { return localStorage.getItem(`signrelay.cap.${key}`) || fallback; }
function setPref(key, v) { localStorage.setItem(`signrelay.cap.${key}`, v); }

export function download(name, text, type = 'text/plain') {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type: `${type};charset=utf-8` }));
  a.download = name;
  document.body.appendChild(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}

export class CaptionView {
  // box: where the captions show; bar: where the controls go. `keep`: stable lines kept on
  // screen (the rest scroll away; a transcript panel keeps them all).
  constructor(box, bar, { keep = 3, showNames = true, positions = false, ignore = () => false } = {}) {
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
    this.box.append(this.stableEl, this.partialEl);
    this.apply();
    if (bar) this.controls(bar, positions);
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
    btn('cap-smaller', 'A−', t('cap_smaller'), () => scale(-0.15));
    btn('cap-bigger', 'A+', t('cap_bigger'), () => scale(0.15));
    const contrast = btn('cap-contrast', t('cap_contrast'), null, () => {
      const i = (CONTRASTS.indexOf(pref('contrast', CONTRASTS[0])) + 1) % CONTRASTS.length;
      setPref('contrast', CONTRASTS[i]);
      this.apply();
      contrast.setAttribute('aria-label', `${t('cap_contrast')}: ${t(`cap_${CONTRASTS[i].replace(/-/g, '_')}`)}`);
    });
    if (positions) {
      btn('cap-position', t('cap_position'), null, () => {
        const i = (POSITIONS.indexOf(pref('position', 'bottom')) + 1) % POSITIONS.length;
        setPref('position', POSITIONS[i]);
        this.apply();
      });
    }
  }

  name(line) { return this.showNames && line.name ? `${line.name}：` : ''; }

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
  }

  // How far behind the speech the captions ran when the last one arrived (the clocks of one
  // machine, or NTP-synced ones); null before any caption.
  delaySecs() {
    return this.lag ?? null;
  }

  transcriptText() {
    return this.lines.map((l) => `${this.name(l)}${l.text}`).join('\n') + '\n';
  }
}
