// The captioner's console (同步速录) end to end: a speaker page speaks a real clip through the
// SFU and Whisper; a captioner signed in on the console replaces a word of a line by keyboard
// and types a line in 速录 mode; a "live" viewer sees the corrected line replaced in place
// (same seq) within 500 ms, a "checked" viewer sees lines only after the window or the
// captioner's acceptance; the caption stream (SSE) carries the revision and the WebVTT
// download the corrected text.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import {
  startServer, serverBin, launchBrowser, until, speechThenSilence, createEvent, axeProblems,
  setTextZoom, sidewaysOverflow,
} from './lib.mjs';

const CLIP = 'zh_long_concat_shared.wav';
const WINDOW_MS = 4000;
const NEW_WORD = '速录校正';
const TYPED = '这是速录员打出的一行字幕';

// Reads a caption stream (SSE) in the background and keeps every caption it carries.
function follow(url) {
  const seen = [];
  const ctl = new AbortController();
  (async () => {
    const res = await fetch(url, { signal: ctl.signal });
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += dec.decode(value, { stream: true });
      let at;
      while ((at = buf.indexOf('\n\n')) >= 0) {
        const frame = buf.slice(0, at); buf = buf.slice(at + 2);
        if (!/^event: caption$/m.test(frame)) continue;
        const data = frame.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
        seen.push({ ...JSON.parse(data), at: Date.now() });
      }
    }
  })().catch(() => {});
  return { seen, stop: () => ctl.abort() };
}

const log = (page) => page.evaluate(() => window.signrelay?.captionLog || []);
const revisions = (page) => page.evaluate(() => window.signrelay?.revisionLog || []);

describe('captioner console', { timeout: 300000 }, () => {
  let srv; let speaker; let desk; let viewer; let checkedPage; let ev; let sse;

  before(async () => {
    srv = await startServer();
    execFileSync(serverBin(), ['admin', '--config', join(srv.dir, 'config.toml'), 'create-user',
      '--username', 'sue', '--role', 'captioner', '--display-name', '速录员苏'], {
      env: { ...process.env, SIGNRELAY_NEW_PASSWORD: 'pw-sue-long', SIGNRELAY_LOG: 'error' },
    });
    [speaker, desk, viewer] = await Promise.all([
      launchBrowser({ audio: speechThenSilence(CLIP, 40) }),
      launchBrowser({ viewport: { width: 1000, height: 900 } }),
      launchBrowser({ viewport: { width: 390, height: 844 } }),
    ]);
    // The checked viewer has a device (storage) of its own.
    const ctx = await viewer.browser.newContext({ viewport: { width: 390, height: 844 } });
    checkedPage = await ctx.newPage();
    ev = await createEvent(srv.url, { title: '速录发布会', language: 'zh', captioners: ['sue'], correction_window_ms: WINDOW_MS });
    sse = follow(`${srv.url}/events/${ev.event.id}/captions`);
  });

  after(async () => {
    sse?.stop();
    for (const b of [speaker, desk, viewer]) await b?.browser.close().catch(() => {});
    if (srv) await srv.stop();
  });

  it('a correction replaces the line in place for live viewers, and checked viewers wait', async () => {
    await desk.page.goto(`${srv.url}/caption#${ev.event.id}`);
    await desk.page.fill('#username', 'sue');
    await desk.page.fill('#password', 'pw-sue-long');
    await desk.page.click('#login button[type=submit]');
    await desk.page.waitForSelector('#work:not([hidden])');
    assert.equal(await desk.page.textContent('#ev-title'), '速录发布会');

    await viewer.page.goto(`${srv.url}${ev.viewer_path}`);
    await checkedPage.goto(`${srv.url}${ev.viewer_path}`);
    await checkedPage.click('#view-checked');
    assert.equal(await checkedPage.getAttribute('#view-checked', 'aria-pressed'), 'true');

    await speaker.page.goto(`${srv.url}${ev.broadcaster_path}`);
    await speaker.page.click('#btn-live');
    // The badge says a person checks these captions.
    await viewer.page.waitForFunction(() => /校对中|correcting/.test(document.getElementById('cap-mode').textContent), null, { timeout: 20000 });
    await checkedPage.waitForFunction(() => /校对后|Checked/.test(document.getElementById('cap-mode').textContent), null, { timeout: 20000 });

    // The captioner hears the speaker: the console plays the broadcaster's sound.
    await until(desk.page, () => {
      const v = document.getElementById('listen');
      return v.srcObject && v.srcObject.getAudioTracks().length > 0 && !v.paused && v.currentTime > 0.5;
    }, null, 20000);

    // The first line reaches the console; the captioner replaces its first word by keyboard.
    await until(desk.page, () => (window.signrelay?.desk?.lines || []).some((l) => l.text.length >= 4), null, 60000);
    const target = await desk.page.evaluate(() => window.signrelay.desk.lines[0]);
    await desk.page.focus('#lines');
    await desk.page.keyboard.press('Home');
    await desk.page.keyboard.press('ArrowRight');
    await desk.page.keyboard.press('r');
    await desk.page.waitForSelector('#edit:not([hidden])');
    const oldWord = await desk.page.inputValue('#edit-text');
    assert.ok(oldWord.length >= 1 && target.text.includes(oldWord), `${oldWord} in ${target.text}`);
    await desk.page.fill('#edit-text', NEW_WORD);
    const beforeCount = await viewer.page.$$eval('#transcript li', (els) => els.length);
    const sentAt = await desk.page.evaluate(() => Date.now());
    await desk.page.keyboard.press('Enter');
    const want = target.text.replace(oldWord, NEW_WORD);

    // Live viewer: the same seq, replaced in place within 500 ms.
    await until(viewer.page, ([seq, text]) => (window.signrelay?.revisionLog || []).some((r) => r.seq === seq && r.text === text), [target.seq, want], 10000);
    const rev = (await revisions(viewer.page)).find((r) => r.seq === target.seq && r.text === want);
    assert.ok(rev.rev >= 1);
    assert.ok(rev.shown - sentAt <= 500, `shown ${rev.shown - sentAt} ms after the correction`);
    const li = await viewer.page.$eval(`#transcript li[data-seq="${target.seq}"]`, (el) => el.textContent);
    assert.ok(li.includes(want), li);
    const afterCount = await viewer.page.$$eval('#transcript li', (els) => els.filter((e) => Number(e.dataset.seq) <= Number(document.querySelector('#transcript li:last-child').dataset.seq)).length);
    assert.ok(afterCount >= beforeCount, 'no line removed');
    assert.equal(await viewer.page.$$eval(`#transcript li[data-seq="${target.seq}"]`, (els) => els.length), 1, 'not a new line');
    // The console shows it corrected.
    await desk.page.waitForSelector(`#lines li[data-seq="${target.seq}"][data-state="corrected"]`);

    // SSE subscribers got the revision as the same line.
    await new Promise((r) => setTimeout(r, 300));
    const sseRev = sse.seen.find((l) => l.seq === target.seq && l.rev >= 1);
    assert.ok(sseRev && sseRev.text === want && sseRev.corrected, JSON.stringify(sse.seen.filter((l) => l.seq === target.seq)));
    assert.equal(sse.seen.filter((l) => l.seq === target.seq && !l.rev && l.stable).length, 1, 'one first version');

    // A later line: the captioner accepts it; the checked viewer sees it only then.
    await until(desk.page, (s) => (window.signrelay?.desk?.lines || []).some((l) => l.seq > s), target.seq, 60000);
    await desk.page.focus('#lines');
    await desk.page.keyboard.press('End');
    const accepted = await desk.page.evaluate(() => window.signrelay.desk.lines[window.signrelay.desk.sel]);
    const acceptAt = await desk.page.evaluate(() => Date.now());
    await desk.page.keyboard.press('Enter');
    await until(checkedPage, (s) => (window.signrelay?.captionLog || []).some((l) => l.seq === s), accepted.seq, 10000);

    // Wait for the speech to end, then compare when each line reached live and checked.
    await until(desk.page, () => (window.signrelay?.desk?.lines || []).length >= 4, null, 90000);
    await new Promise((r) => setTimeout(r, WINDOW_MS + 1500));
    const liveLog = await log(viewer.page);
    const checkedLog = await log(checkedPage);
    for (const c of checkedLog) {
      const l = liveLog.find((x) => x.seq === c.seq);
      if (!l) continue;
      if (c.seq === target.seq) continue; // released by its correction
      if (c.seq === accepted.seq) {
        assert.ok(c.shown >= acceptAt, `line ${c.seq} shown to checked viewers before acceptance`);
        continue;
      }
      const held = c.shown - l.shown;
      // Lines before the accepted one went out with it; the rest waited for the window.
      if (c.seq < accepted.seq) assert.ok(c.shown >= Math.min(acceptAt, l.shown + WINDOW_MS) - 300, `line ${c.seq} held ${held} ms`);
      else assert.ok(held >= WINDOW_MS - 300, `line ${c.seq} held only ${held} ms`);
    }
    assert.ok(checkedLog.length >= 3, `checked viewer saw ${checkedLog.length} lines`);
    // Checked viewers see the corrected text of the corrected line.
    const inChecked = await checkedPage.$eval(`#transcript li[data-seq="${target.seq}"]`, (el) => el.textContent).catch(() => '');
    assert.ok(inChecked.includes(want), inChecked);
  });

  it('速录: typed text streams to viewers and becomes a line', async () => {
    await desk.page.click('#mode-typed');
    await desk.page.waitForSelector('#typed-box:not([hidden])');
    await viewer.page.waitForFunction(() => /速录|Typed/.test(document.getElementById('cap-mode').textContent), null, { timeout: 10000 });
    await desk.page.focus('#typed');
    await desk.page.keyboard.type(TYPED, { delay: 30 });
    // While typing, the viewer sees the text so far.
    await viewer.page.waitForFunction((w) => document.querySelector('#captions .cap-partial').textContent.includes(w.slice(0, 4)), TYPED, { timeout: 10000 });
    await desk.page.keyboard.press('Enter');
    await until(viewer.page, (w) => (window.signrelay?.captionLog || []).some((l) => l.text === w), TYPED, 10000);
    await until(checkedPage, (w) => (window.signrelay?.captionLog || []).some((l) => l.text === w), TYPED, 3000);
    assert.deepEqual(await axeProblems(desk.page), [], 'axe on the captioner console');
    assert.deepEqual(await axeProblems(checkedPage), [], 'axe on the checked viewer');
  });

  it('the WebVTT download has the corrected and the typed text', async () => {
    const vtt = await fetch(`${srv.url}/events/${ev.event.id}/transcript.vtt`).then((r) => r.text());
    assert.ok(vtt.startsWith('WEBVTT'));
    assert.ok(vtt.includes(NEW_WORD), vtt);
    assert.ok(vtt.includes(TYPED), vtt);
    const json = await fetch(`${srv.url}/events/${ev.event.id}/transcript.json`).then((r) => r.json());
    const corrected = json.find((l) => l.corrected);
    assert.ok(corrected.machine_text && corrected.text.includes(NEW_WORD), JSON.stringify(corrected));
  });

  it('the console and the viewer work at 390 px and 200 % text', async () => {
    await desk.page.setViewportSize({ width: 390, height: 844 });
    await setTextZoom(desk.page, 200);
    await setTextZoom(checkedPage, 200);
    assert.equal(await sidewaysOverflow(desk.page), 0, 'console scrolls sideways');
    assert.equal(await sidewaysOverflow(checkedPage), 0, 'viewer scrolls sideways');
    if (process.env.E2E_SHOTS) {
      await desk.page.screenshot({ path: join(process.env.E2E_SHOTS, 'caption-desk-390-200.png'), fullPage: true });
      await checkedPage.screenshot({ path: join(process.env.E2E_SHOTS, 'watch-checked-390-200.png'), fullPage: true });
    }
  });

  it('when the captioner leaves, checked viewers are told and get live captions', async () => {
    await desk.browser.close();
    await checkedPage.waitForFunction(() => /未经人工校对|not checked/.test(document.getElementById('cap-mode').textContent), null, { timeout: 15000 });
  });
});
