// A captioner (速录员) in a call, end to end in real Chromium: a deaf caller starts a captioned
// call and a hearing guest's fake microphone speaks a real clip through the SFU and Whisper.
// A captioner is on duty at the console, but hears nothing until the caller agrees; then the
// console plays the call, the captioner replaces a word by keyboard, and the caller's page
// shows the corrected line in place (same seq) within 500 ms; a line the captioner types
// reaches the caller as it is typed. The caller withdraws and the
// captioner is out at once; after the call nothing is left (/metrics back to zero).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import {
  startServer, serverBin, launchBrowser, until, speechThenSilence, silence, axeProblems, hangUp,
  metric, metricBecomes, setTextZoom, sidewaysOverflow, signInInterpreter,
} from './lib.mjs';

const CLIP = 'zh_long_concat_shared.wav';
const NEW_WORD = '速录校正';
const SERVING = 'signrelay_call_captioners{state="serving"}';

describe('captioner in a call', { timeout: 300000 }, () => {
  let srv; let caller; let guest; let desk; let anna;

  before(async () => {
    srv = await startServer();
    execFileSync(serverBin(), ['admin', '--config', join(srv.dir, 'config.toml'), 'create-user',
      '--username', 'sue', '--role', 'captioner', '--display-name', '速录员苏'], {
      env: { ...process.env, SIGNRELAY_NEW_PASSWORD: 'pw-sue-long', SIGNRELAY_LOG: 'error' },
    });
    [caller, guest, desk] = await Promise.all([
      launchBrowser({ audio: silence(5), viewport: { width: 390, height: 844 } }),
      launchBrowser({ audio: speechThenSilence(CLIP, 40) }),
      launchBrowser({ viewport: { width: 1000, height: 900 } }),
    ]);
    anna = await launchBrowser({ audio: speechThenSilence(CLIP, 40) });
  });

  after(async () => {
    for (const b of [caller, guest, desk, anna]) await b?.browser.close().catch(() => {});
    if (srv) await srv.stop();
  });

  it('the captioner joins only with the caller\'s yes, and a correction replaces the line in place', async () => {
    await desk.page.goto(`${srv.url}/caption`);
    await desk.page.fill('#username', 'sue');
    await desk.page.fill('#password', 'pw-sue-long');
    await desk.page.click('#login button[type=submit]');
    await desk.page.waitForSelector('#calls:not([hidden])');
    await desk.page.click('#duty');
    await desk.page.waitForSelector('#duty[aria-pressed="true"]');
    await metricBecomes(srv.url, 'signrelay_call_captioners{state="on_duty"}', 1);

    await caller.page.goto(`${srv.url}/`);
    await caller.page.click('#btn-captioned');
    await caller.page.waitForSelector('#invite-url', { timeout: 10000 });
    const link = await caller.page.inputValue('#invite-url');
    await guest.page.goto(link);
    await guest.page.click('#join button[type=submit]');
    // Captions flow, and nobody but the two of them hears the call.
    await until(caller.page, () => (window.signrelay?.captionLog || []).length >= 1, null, 60000);
    assert.match(await caller.page.textContent('#cc-state'), /没有人工校对|not checked/);
    assert.equal(await metric(srv.url, SERVING), 0);
    assert.equal(await desk.page.isHidden('#work'), true);

    // The caller agrees: the console joins the call and hears it.
    await caller.page.click('#cc-toggle');
    await caller.page.waitForFunction(() => /速录员苏/.test(document.getElementById('cc-state').textContent), null, { timeout: 10000 });
    // The hearing guest is told too.
    await guest.page.waitForFunction(() => /速录员苏/.test(document.getElementById('cc-state')?.textContent || ''), null, { timeout: 10000 });
    await desk.page.waitForSelector('#work:not([hidden])', { timeout: 10000 });
    assert.match(await desk.page.textContent('#ev-title'), /通话|Call/);
    await until(desk.page, () => {
      const v = document.getElementById('listen');
      return v.srcObject && v.srcObject.getAudioTracks().length > 0 && !v.paused && v.currentTime > 0.5;
    }, null, 20000);
    assert.equal(await metric(srv.url, SERVING), 1);

    // A line reaches the console; the captioner replaces its second word by keyboard.
    await until(desk.page, () => (window.signrelay?.desk?.lines || []).some((l) => l.text.length >= 4), null, 60000);
    const target = await desk.page.evaluate(() => window.signrelay.desk.lines.find((l) => l.text.length >= 4));
    await desk.page.focus('#lines');
    const idx = await desk.page.evaluate((seq) => window.signrelay.desk.lines.findIndex((l) => l.seq === seq), target.seq);
    await desk.page.keyboard.press('Home');
    for (let k = 0; k < idx; k += 1) await desk.page.keyboard.press('ArrowDown');
    await desk.page.keyboard.press('ArrowRight');
    await desk.page.keyboard.press('r');
    await desk.page.waitForSelector('#edit:not([hidden])');
    // What the captioner teaches applies to this call's later lines only.
    assert.match(await desk.page.textContent('#learn-row'), /本次通话/);
    await desk.page.check('#learn');
    const oldWord = await desk.page.inputValue('#edit-text');
    assert.ok(oldWord.length >= 1 && target.text.includes(oldWord), `${oldWord} in ${target.text}`);
    await desk.page.fill('#edit-text', NEW_WORD);
    const beforeLines = await caller.page.$$eval('#call-captions .cap-stable p', (els) => els.length);
    const sentAt = await desk.page.evaluate(() => Date.now());
    await desk.page.keyboard.press('Enter');
    const want = target.text.replace(oldWord, NEW_WORD);
    await until(caller.page, ([seq, text]) => (window.signrelay?.revisionLog || []).some((r) => r.seq === seq && r.text === text), [target.seq, want], 10000);
    const rev = (await caller.page.evaluate(() => window.signrelay.revisionLog)).find((r) => r.seq === target.seq && r.text === want);
    assert.ok(rev.rev >= 1);
    assert.ok(rev.shown - sentAt <= 500, `the revision took ${rev.shown - sentAt} ms`);
    // In place: no line added for it (the page may have scrolled old lines out meanwhile).
    const shownLine = await caller.page.$eval(`#call-captions p[data-seq="${target.seq}"]`, (p) => p.textContent).catch(() => null);
    if (shownLine !== null) assert.ok(shownLine.includes(NEW_WORD), shownLine);
    const afterLog = await caller.page.evaluate((seq) => window.signrelay.captionLog.filter((l) => l.seq === seq).length, target.seq);
    assert.equal(afterLog, 1, 'the correction is not a new line');
    assert.ok(beforeLines >= 1);
    // The console shows it corrected too, and the rule was taken.
    await until(desk.page, (seq) => window.signrelay.desk.lines.some((l) => l.seq === seq && l.corrected), target.seq, 5000);
    assert.match(await desk.page.textContent('#status'), /已记住/);

    // 速录 beside the recognizer: the caller sees the words as they are typed, then the line.
    const TYPED = '请到三楼挂号窗口';
    await desk.page.focus('#typed');
    await desk.page.keyboard.type(TYPED.slice(0, 4), { delay: 40 });
    await caller.page.waitForFunction((w) => document.querySelector('#call-captions .cap-partial')?.textContent.includes(w), TYPED.slice(0, 4), { timeout: 5000 });
    await desk.page.keyboard.type(TYPED.slice(4), { delay: 40 });
    await desk.page.keyboard.press('Enter');
    await until(caller.page, (w) => (window.signrelay?.captionLog || []).some((l) => l.text === w), TYPED, 5000);
    await until(desk.page, (w) => window.signrelay.desk.lines.some((l) => l.text === w && l.typed), TYPED, 5000);
    assert.equal(await desk.page.inputValue('#typed'), '');
    assert.doesNotMatch(await desk.page.textContent('#status'), /出错|error/i);

    if (process.env.E2E_SHOTS) {
      await caller.page.screenshot({ path: join(process.env.E2E_SHOTS, 'call-captioner-caller.png') });
      await desk.page.screenshot({ path: join(process.env.E2E_SHOTS, 'call-captioner-desk.png') });
    }
    assert.deepEqual(await axeProblems(desk.page), [], 'axe on the console in a call');
    assert.deepEqual(await axeProblems(caller.page), [], 'axe on the caller with a captioner');
    await setTextZoom(caller.page, 200);
    assert.ok(await sidewaysOverflow(caller.page) <= 0, 'nothing scrolls sideways at 200 % text');
    if (process.env.E2E_SHOTS) await caller.page.screenshot({ path: join(process.env.E2E_SHOTS, 'call-captioner-caller-200.png'), fullPage: true });
    await setTextZoom(caller.page, 100);

    // The caller withdraws: the captioner is out at once and hears nothing more.
    await caller.page.click('#cc-toggle');
    await desk.page.waitForSelector('#work[hidden]', { state: 'attached', timeout: 10000 });
    await metricBecomes(srv.url, SERVING, 0, 10000);
    assert.match(await caller.page.textContent('#cc-state'), /没有人工校对|not checked/);
    assert.equal(await desk.page.evaluate(() => document.getElementById('listen').srcObject), null);

    // The call ends: nothing of it is left on the server.
    await hangUp(caller.page);
    await metricBecomes(srv.url, 'signrelay_call_caption_desks', 0, 15000);
    await metricBecomes(srv.url, 'signrelay_rooms', 0, 15000);
    await metricBecomes(srv.url, 'signrelay_caption_streams', 0, 15000);
    // The console is still on duty for the next call, and stops when asked.
    await desk.page.click('#duty');
    await metricBecomes(srv.url, 'signrelay_call_captioners{state="on_duty"}', 0, 10000);
  });

  it("an interpreter's proposal only asks the caller, whose yes brings the captioner in", async () => {
    await guest.browser.close();
    await signInInterpreter(anna.page, srv.url, 'anna', 'pw-anna');
    await desk.page.click('#duty');
    await desk.page.waitForSelector('#duty[aria-pressed="true"]');
    await caller.page.click('#btn-again');
    await caller.page.click('#btn-call');
    await anna.page.waitForSelector('#ring:not([hidden])', { timeout: 10000 });
    await anna.page.click('#btn-accept');
    await anna.page.waitForSelector('#cc-suggest', { timeout: 10000 });
    await anna.page.click('#cc-suggest');
    await caller.page.waitForSelector('#cc-ask-box:not([hidden])', { timeout: 10000 });
    assert.match(await caller.page.textContent('#cc-ask-text'), /翻译员建议/);
    // Asking is not agreeing: nobody listens yet.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await metric(srv.url, SERVING), 0);
    assert.deepEqual(await axeProblems(caller.page), [], 'axe on the consent question');
    if (process.env.E2E_SHOTS) await caller.page.screenshot({ path: join(process.env.E2E_SHOTS, 'call-captioner-consent.png') });
    await caller.page.click('#cc-yes');
    await desk.page.waitForSelector('#work:not([hidden])', { timeout: 10000 });
    await anna.page.waitForFunction(() => /速录员苏/.test(document.getElementById('cc-state').textContent), null, { timeout: 10000 });
    assert.equal(await anna.page.isHidden('#cc-suggest'), true);
    // The interpreter's voice is captioned for the console too.
    await until(desk.page, () => (window.signrelay?.desk?.lines || []).length >= 1, null, 60000);
    await hangUp(anna.page);
    await desk.page.waitForSelector('#work[hidden]', { state: 'attached', timeout: 15000 });
    await metricBecomes(srv.url, SERVING, 0, 10000);
    await metricBecomes(srv.url, 'signrelay_call_caption_desks', 0, 15000);
    await metricBecomes(srv.url, 'signrelay_rooms', 0, 15000);
  });
});
