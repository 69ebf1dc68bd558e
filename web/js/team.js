// The interpreter's side of working a call with a colleague: warm transfer, asking for a
// team interpreter, the switch between active and support, and the pair's private notes.
import { t, applyI18n, onLangChange } from './i18n.js';

export class TeamPanel {
  constructor(root, { signal, me }) {
    this.root = root;
    this.signal = signal;
    this.me = me; // this console's account name
    this.colleagues = [];
    this.roster = new Map();
    this.you = null;
    this.pending = null; // {kind, name} while a colleague is being asked
    this.notice = '';
    this.render();
    this.offLang = onLangChange(() => this.update());
  }

  render() {
    this.root.innerHTML = `
      <h2 id="team-h" data-i18n="team_h"></h2>
      <p id="team-state" role="status"></p>
      <div id="team-ask" class="row">
        <label for="team-who" data-i18n="team_colleague"></label>
        <select id="team-who"></select>
        <button type="button" id="btn-transfer" data-i18n="team_transfer"></button>
        <button type="button" id="btn-team" data-i18n="team_ask"></button>
      </div>
      <p id="team-pending" hidden><button type="button" id="btn-cancel-ask" data-i18n="team_cancel_ask"></button></p>
      <div id="team-on" hidden>
        <p class="row">
          <button type="button" id="btn-switch" data-i18n="team_switch"></button>
          <button type="button" id="btn-leave-team" data-i18n="team_leave"></button>
        </p>
        <ol id="team-notes" class="history" aria-live="polite"></ol>
        <form id="team-note-form" class="rtt-form">
          <label for="team-note" class="sr-only" data-i18n="team_note"></label>
          <input id="team-note" maxlength="500" autocomplete="off" data-i18n-ph="team_note_ph">
          <button type="submit" data-i18n="team_note_send"></button>
        </form>
      </div>`;
    applyI18n(this.root);
    const $ = (id) => this.root.querySelector(`#${id}`);
    $('btn-transfer').onclick = () => {
      const to = $('team-who').value;
      if (!to) return;
      this.pending = { kind: 'transfer', name: this.nameOf(to) };
      this.signal.send({ type: 'transfer', to });
      this.update();
    };
    $('btn-team').onclick = () => {
      const to = $('team-who').value || null;
      this.pending = { kind: 'team', name: to ? this.nameOf(to) : t('team_anyone') };
      this.signal.send({ type: 'ask_team', to });
      this.update();
    };
    $('team-who').onchange = () => this.update();
    $('btn-cancel-ask').onclick = () => this.signal.send({ type: 'cancel_ask' });
    $('btn-switch').onclick = () => this.signal.send({ type: 'switch_active' });
    $('btn-leave-team').onclick = () => this.signal.send({ type: 'leave_team' });
    $('team-note-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const input = $('team-note');
      const text = input.value.trim();
      if (!text) return;
      this.signal.send({ type: 'team_note', text });
      this.addNote(t('you'), text);
      input.value = '';
    });
    this.update();
  }

  nameOf(username) { return this.colleagues.find((c) => c.username === username)?.name || username; }

  setColleagues(list) { this.colleagues = list || []; this.update(); }

  setRoster(roster, you) { this.roster = roster; this.you = you; this.update(); }

  // Who is who in the call: the other interpreter, and whether this console leads or supports.
  team() {
    const interps = [...this.roster.values()].filter((p) => p.role === 'interpreter');
    const mine = this.roster.get(this.you);
    const other = interps.find((p) => p.id !== this.you);
    return { support: !!mine?.support, other };
  }

  update() {
    const $ = (id) => this.root.querySelector(`#${id}`);
    const { support, other } = this.team();
    const free = this.colleagues.filter((c) => c.status === 'available' && c.username !== this.me);
    const sel = $('team-who');
    const keep = sel.value;
    sel.innerHTML = '';
    const any = new Option(free.length ? t('team_anyone') : t('team_none_free'), '');
    sel.add(any);
    for (const c of free) sel.add(new Option(c.name, c.username));
    if (free.some((c) => c.username === keep)) sel.value = keep;
    $('team-ask').hidden = support || !!other || !!this.pending;
    // A transfer names who takes over; "any free colleague" is for a team request only.
    $('btn-transfer').disabled = !sel.value;
    $('btn-team').disabled = !free.length;
    $('team-pending').hidden = !this.pending;
    $('team-on').hidden = !other;
    $('btn-leave-team').hidden = !support;
    let state = this.notice;
    if (this.pending) state = t(`team_asking_${this.pending.kind}`, { n: this.pending.name });
    else if (other) state = support ? t('team_supporting', { n: other.name }) : t('team_supported_by', { n: other.name });
    $('team-state').textContent = state;
  }

  onAskEnded(m) {
    const name = this.pending?.name || '';
    this.pending = null;
    this.notice = t(`team_outcome_${m.outcome}`, { n: name });
    this.update();
  }

  // A refused ask (colleague no longer free...) leaves nothing pending.
  onError() { if (this.pending) { this.pending = null; this.update(); } }

  onNote(m) { this.addNote(m.from, m.text); }

  addNote(name, text) {
    const li = document.createElement('li');
    const who = document.createElement('b');
    who.textContent = t('pair', { a: name, b: '' });
    li.append(who, document.createTextNode(text));
    const list = this.root.querySelector('#team-notes');
    list.appendChild(li);
    list.scrollTop = list.scrollHeight;
  }

  close() { if (this.offLang) this.offLang(); this.root.innerHTML = ''; }
}
