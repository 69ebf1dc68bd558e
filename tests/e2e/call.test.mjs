// The call path end to end, in real headless Chromium with fake cameras and microphones:
// caller -> queue -> ring -> accept -> media both ways -> real-time text -> hearing guest by
// invitation -> interpreter drops -> caller back at the front -> new interpreter -> hang-up.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, waitForMediaFrom, signInInterpreter, hangUp } from './lib.mjs';

describe('interpreted video call', { timeout: 240000 }, () => {
  let srv; let anna; let caller; let guest; let bo; let caller2;

  before(async () => {
    // Fake cameras' beeps are not speech: captions are tested in captions.test.mjs.
    srv = await startServer('[captions]\nenabled = false');
    [anna, caller, guest, bo, caller2] = await Promise.all([1, 2, 3, 4, 5].map(() => launchBrowser()));
  });

  after(async () => {
    for (const b of [anna, caller, guest, bo, caller2]) await b?.browser.close().catch(() => {});
    if (srv) await srv.stop();
  });

  it('the caller page is Chinese first with an English toggle', async () => {
    await caller.page.goto(`${srv.url}/`);
    assert.equal(await caller.page.textContent('#btn-call'), '呼叫手语翻译员');
    assert.equal(await caller.page.getAttribute('html', 'lang'), 'zh-CN');
    await caller.page.click('#lang-toggle');
    assert.equal(await caller.page.textContent('#btn-call'), 'Call a sign interpreter');
    await caller.page.click('#lang-toggle');
    assert.equal(await caller.page.textContent('#btn-call'), '呼叫手语翻译员');
  });

  it('one tap rings the interpreter, accept connects video and audio both ways', async () => {
    await signInInterpreter(anna.page, srv.url, 'anna', 'pw-anna');
    // The caller would rather have a female interpreter; the ring says so.
    await caller.page.click('#profile summary');
    await caller.page.selectOption('#pref-gender', 'female');
    await caller.page.click('#btn-call');
    await anna.page.waitForSelector('#ring:not([hidden])', { timeout: 5000 });
    assert.match(await anna.page.textContent('#ring-info'), /生活求助/);
    assert.match(await anna.page.textContent('#ring-info'), /希望女翻译员/);
    await anna.page.click('#btn-accept');
    // A visual alert, not a sound, tells the deaf caller the interpreter answered.
    await caller.page.waitForSelector('#alert:not([hidden])', { timeout: 10000 });
    assert.match(await caller.page.textContent('#alert'), /翻译员已接听/);
    const seenByCaller = await waitForMediaFrom(caller.page, 1);
    const seenByAnna = await waitForMediaFrom(anna.page, 1);
    assert.equal(Object.keys(seenByCaller).length, 1);
    assert.equal(Object.keys(seenByAnna).length, 1);
    assert.match(await caller.page.textContent('.tile.main figcaption'), /安娜/);
  });

  it('typed text appears on the other side as it is typed (RFC 8865 real-time text)', async () => {
    await caller.page.waitForFunction(() => window.signrelay.media.rttOpen(), null, { timeout: 10000 });
    await anna.page.waitForFunction(() => window.signrelay.media.rttOpen(), null, { timeout: 10000 });
    await caller.page.locator('#rtt-input').pressSequentially('我想问社保', { delay: 30 });
    await anna.page.waitForFunction(() => document.querySelector('#live')?.textContent.includes('我想问社保'), null, { timeout: 5000 });
    await caller.page.locator('#rtt-input').press('Backspace');
    await anna.page.waitForFunction(() => {
      const t = document.querySelector('#live')?.textContent || '';
      return t.includes('我想问社') && !t.includes('社保');
    }, null, { timeout: 5000 });
    await caller.page.locator('#rtt-input').pressSequentially('险', { delay: 30 });
    await caller.page.locator('#rtt-input').press('Enter');
    await anna.page.waitForFunction(() => document.querySelector('#history')?.textContent.includes('我想问社险'), null, { timeout: 5000 });
    assert.equal(await anna.page.textContent('#live'), '', 'the committed line leaves the live area');
    await anna.page.locator('#rtt-input').pressSequentially('请讲', { delay: 30 });
    await anna.page.locator('#rtt-input').press('Enter');
    await caller.page.waitForFunction(() => document.querySelector('#history')?.textContent.includes('请讲'), null, { timeout: 5000 });
  });

  let inviteUrl;
  it('a hearing guest joins by the one-time invitation link and sees and hears both', async () => {
    await anna.page.click('#btn-invite');
    await anna.page.waitForSelector('#invite-url');
    inviteUrl = await anna.page.inputValue('#invite-url');
    assert.match(inviteUrl, /\/guest#[0-9a-f]{32}$/);
    const qr = await anna.page.getAttribute('#invite-box img', 'src');
    const res = await fetch(new URL(qr, srv.url));
    assert.equal(res.headers.get('content-type'), 'image/svg+xml');
    await guest.page.goto(inviteUrl);
    await guest.page.fill('#guest-name', '王医生');
    await guest.page.click('#join button[type=submit]');
    const seen = await waitForMediaFrom(guest.page, 2);
    assert.equal(Object.keys(seen).length, 2);
    await waitForMediaFrom(caller.page, 2);
    await waitForMediaFrom(anna.page, 2);
    await caller.page.waitForFunction(() => [...document.querySelectorAll('figcaption')].some((f) => f.textContent.includes('王医生')));
  });

  it('a used invitation link is refused with a clear message', async () => {
    const again = await guest.browser.newPage();
    await again.goto(inviteUrl);
    await again.click('#join button[type=submit]');
    await again.waitForFunction(() => document.querySelector('#status').textContent.includes('already used'), null, { timeout: 5000 });
    assert.equal(await again.isVisible('#incall'), false);
    await again.close();
  });

  it('closing the interpreter page puts the caller back at the front of the queue', async () => {
    await caller2.page.goto(`${srv.url}/`);
    await caller2.page.click('#btn-call');
    await caller2.page.waitForSelector('#waiting:not([hidden])');
    await caller2.page.waitForFunction(() => document.querySelector('#wait-state').textContent.includes('下一位'));
    await anna.context.close();
    await caller.page.waitForFunction(() => document.querySelector('#status').textContent.includes('翻译员连接中断'), null, { timeout: 10000 });
    await caller2.page.waitForFunction(() => document.querySelector('#waiting').textContent.includes('前面还有 1 位'), null, { timeout: 10000 });
    // The caller and the guest still see each other while the call waits for a new interpreter.
    await waitForMediaFrom(guest.page, 1);
    await signInInterpreter(bo.page, srv.url, 'bo', 'pw-bo');
    await bo.page.waitForSelector('#ring:not([hidden])', { timeout: 5000 });
    const firstRow = await bo.page.textContent('#queue-body tr:first-child');
    assert.match(firstRow, /断线重排/, 'the dropped call is first and marked as requeued');
    await bo.page.click('#btn-accept');
    await waitForMediaFrom(bo.page, 2);
    const seen = await waitForMediaFrom(caller.page, 2);
    assert.equal(Object.keys(seen).length, 2);
    await caller.page.waitForFunction(() => [...document.querySelectorAll('figcaption')].some((f) => f.textContent.includes('Bo')));
  });

  it('hang-up ends the call for everyone and frees the interpreter', async () => {
    await hangUp(caller.page);
    await caller.page.waitForSelector('#ended:not([hidden])', { timeout: 5000 });
    await guest.page.waitForSelector('#ended:not([hidden])', { timeout: 5000 });
    // The console's call view closes (its "ended" flash gives way at once to the next ring).
    await bo.page.waitForSelector('#incall', { state: 'hidden', timeout: 5000 });
    assert.equal(await bo.page.isVisible('#incall'), false);
    // Bo is free again, so the second caller rings at once.
    await bo.page.waitForSelector('#ring:not([hidden])', { timeout: 5000 });
    await caller2.page.click('#btn-cancel');
    await caller2.page.waitForSelector('#start:not([hidden])', { timeout: 5000 });
    const deadline = Date.now() + 10000;
    let h;
    do { h = await srv.health(); } while ((h.rooms !== 0 || h.peers !== 0) && Date.now() < deadline && await new Promise((r) => setTimeout(r, 200)) === undefined);
    assert.equal(h.rooms, 0, 'the media room is torn down');
    assert.equal(h.peers, 0, 'no peer connection is left behind');
    assert.equal(h.calls, 0);
  });
});
