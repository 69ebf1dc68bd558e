// Videomail end to end: nobody is on duty, so the waiting caller is offered a message and
// records one from the fake camera; the server records it from the media plane into a sealed
// WebM file; an interpreter who signs in later sees one unread message, plays it (the browser
// decodes frames), and answers on video with a line of text; the caller's private link shows
// the text and plays the video answer.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  startServer, launchBrowser, signInInterpreter, axeProblems, metricBecomes, waitForMediaFrom, hangUp,
} from './lib.mjs';

describe('videomail', { timeout: 180000 }, () => {
  let srv; let caller; let anna; let link;

  before(async () => {
    srv = await startServer('[captions]\nenabled = false\n[videomail]\noffer_after_secs = 60\nmax_secs = 30');
    [caller, anna] = await Promise.all([
      launchBrowser({ viewport: { width: 390, height: 844 } }), launchBrowser(),
    ]);
  });

  after(async () => {
    for (const b of [caller, anna]) await b?.browser.close().catch(() => {});
    if (srv) await srv.stop();
  });

  it('a waiting caller with nobody to answer records a message from the camera', async () => {
    const c = caller.page;
    await c.goto(`${srv.url}/`);
    await c.click('#btn-call');
    // Nobody on duty: the message is offered at once, not after the configured wait.
    await c.waitForSelector('#btn-vm-wait:not([hidden])', { timeout: 10000 });
    await c.click('#btn-vm-wait');
    await c.waitForSelector('#recording:not([hidden])');
    await c.waitForFunction(() => /还可以录/.test(document.getElementById('vm-countdown').textContent), null, { timeout: 10000 });
    assert.deepEqual(await axeProblems(c), [], 'axe while recording');
    await c.waitForTimeout(5000);
    await c.click('#btn-vm-stop');
    await c.waitForSelector('#vm-saved:not([hidden])', { timeout: 20000 });
    link = await c.inputValue('#vm-link');
    assert.match(link, /\/videomail#[0-9a-f]{32,}$/);
    assert.match(await c.textContent('#vm-saved-detail'), /留言长/);
    await metricBecomes(srv.url, 'signrelay_peers', 0);
    await metricBecomes(srv.url, 'signrelay_rooms', 0);

    // Sealed at rest: no WebM in the clear in the data directory.
    const dir = join(srv.dir, 'data', 'videomail');
    const files = readdirSync(dir).filter((f) => f.endsWith('.vm'));
    assert.equal(files.length, 1);
    const sealed = readFileSync(join(dir, files[0]));
    assert.equal(sealed.subarray(0, 4).toString(), 'SRVM');
    assert.ok(!sealed.includes(Buffer.from('webm')), 'the file is not readable without the key');
  });

  it('an interpreter sees it unread, plays it and answers; the caller reads the answer', async (t) => {
    const a = anna.page;
    await signInInterpreter(a, srv.url, 'anna', 'pw-anna');
    await a.waitForSelector('#vm-box:not([hidden])', { timeout: 10000 });
    await a.waitForFunction(() => document.getElementById('vm-unread').textContent === '1 条未读', null, { timeout: 10000 });
    assert.deepEqual(await axeProblems(a), [], 'axe on the console with videomail');
    await a.click('#vm-list button');
    // The browser decodes the recorded VP8: frames of the fake camera, and time moves on.
    await a.waitForFunction(() => {
      const v = document.getElementById('vm-video');
      return v.videoWidth > 0 && v.getVideoPlaybackQuality().totalVideoFrames > 10 && v.currentTime > 0.5;
    }, null, { timeout: 15000 });
    const file = await a.evaluate(async () => {
      const id = document.querySelector('#vm-list tr').dataset.vm;
      const b = new Uint8Array(await (await fetch(`/api/videomail/${id}/video`)).arrayBuffer());
      return { head: Array.from(b.slice(0, 4)), size: b.length };
    });
    assert.deepEqual(file.head, [0x1a, 0x45, 0xdf, 0xa3], 'a WebM (EBML) file');
    assert.ok(file.size > 20000, `a few seconds of video (${file.size} bytes)`);
    t.diagnostic(`a 5 s message from the fake camera: ${file.size} bytes of WebM`);
    await a.waitForFunction(() => document.querySelector('#vm-list tr')?.dataset.state === 'in_progress', null, { timeout: 10000 });
    // The answer: signed on video from the console's camera, with a line of text.
    await a.fill('#vm-answer', '您好，社保卡补办请带身份证到3号窗口。');
    await a.click('#btn-vm-record');
    await a.waitForFunction(() => /还可以录/.test(document.getElementById('vm-rec-countdown').textContent), null, { timeout: 10000 });
    await a.waitForTimeout(4000);
    await a.click('#btn-vm-rec-stop');
    await a.waitForFunction(() => document.querySelector('#vm-list tr')?.dataset.state === 'answered', null, { timeout: 20000 });
    await a.waitForSelector('#vm-rec', { state: 'hidden' });
    // Recording set the console away, so no call rang into it.
    await a.waitForSelector('#my-status[data-status="away"]');

    const c = caller.page;
    await c.goto(link);
    await c.waitForSelector('#vm:not([hidden])');
    assert.match(await c.textContent('#vm-state'), /翻译员已回复/);
    assert.equal(await c.textContent('#vm-answer'), '您好，社保卡补办请带身份证到3号窗口。');
    await c.click('#btn-answer-video');
    await c.waitForFunction(() => {
      const v = document.getElementById('vm-answer-video');
      return v.videoWidth > 0 && v.getVideoPlaybackQuality().totalVideoFrames > 10;
    }, null, { timeout: 15000 });
    assert.deepEqual(await axeProblems(c), [], 'axe on the caller\'s message page');
    // A wrong token reads nothing.
    const r = await c.evaluate(async () => (await fetch('/api/my-videomail', { headers: { Authorization: 'Bearer nope' } })).status);
    assert.equal(r, 404);
  });

  it('while the caller has the message page open, the interpreter can call back', async () => {
    const a = anna.page;
    const c = caller.page;
    // The console learns within its polling period that the author's page is open.
    await a.waitForSelector('.vm-call-back', { timeout: 25000 });
    await a.click('.vm-call-back');
    await c.waitForSelector('#cb-offer:not([hidden])', { timeout: 10000 });
    assert.match(await c.textContent('#cb-h'), /安娜 回拨给您/);
    assert.deepEqual(await axeProblems(c), [], 'axe on the call-back ring');
    await c.click('#btn-cb-accept');
    await Promise.all([waitForMediaFrom(c, 1), waitForMediaFrom(a, 1)]);
    await hangUp(a);
    await c.waitForSelector('#vm:not([hidden])', { timeout: 10000 });
    await metricBecomes(srv.url, 'signrelay_peers', 0);
    await metricBecomes(srv.url, 'signrelay_rooms', 0);
  });
});
