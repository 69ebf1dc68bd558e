// A counter with a standing QR code, end to end: an admin registers it and gets its poster
// and device link; the counter's tablet opens the link once and starts; a resident opens the
// counter's link (what the QR code holds), calls, an interpreter answers and the tablet joins
// by itself, with video among the three. The dashboard counts the call for the counter; once
// revoked (here during a second call), the tablet leaves the call and is told, the call goes
// on, and the link says so.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, waitForMediaFrom, signInInterpreter, hangUp, axeProblems, metricBecomes,
} from './lib.mjs';

describe('a service counter with a QR code', { timeout: 240000 }, () => {
  let srv; let admin; let tablet; let caller; let anna;
  let code; let deviceLink;

  before(async () => {
    srv = await startServer('[captions]\nenabled = false');
    [admin, tablet, caller, anna] = await Promise.all([
      launchBrowser(), launchBrowser(), launchBrowser({ viewport: { width: 390, height: 844 } }), launchBrowser(),
    ]);
  });

  after(async () => {
    for (const b of [admin, tablet, caller, anna]) await b?.browser.close().catch(() => {});
    if (srv) await srv.stop();
  });

  it('an admin registers a counter and gets its poster and device link', async () => {
    const a = admin.page;
    await a.goto(`${srv.url}/admin`);
    await a.fill('#username', 'boss');
    await a.fill('#password', 'pw-boss-long');
    await a.click('#login button[type=submit]');
    await a.waitForSelector('#desk:not([hidden])');
    await a.fill('#nc-name', '3号窗口');
    await a.fill('#nc-dept', '社保局');
    await a.fill('#nc-addr', '市民中心一楼');
    await a.selectOption('#nc-purpose', 'policy_consultation');
    await a.click('#new-counter button[type=submit]');
    await a.waitForSelector('#device-link-box:not([hidden])');
    deviceLink = await a.inputValue('#device-link');
    assert.match(deviceLink, /\/counter#[0-9a-f]{40,}$/);
    code = await a.getAttribute('#counter-list tr', 'data-counter');
    assert.ok(code);
    assert.deepEqual(await axeProblems(a), [], 'axe on the dashboard');

    const poster = await admin.context.newPage();
    await poster.goto(`${srv.url}/poster#${code}`);
    await poster.waitForSelector('#poster:not([hidden])');
    assert.equal(await poster.textContent('#poster-name'), '3号窗口');
    assert.equal(await poster.textContent('#poster-link'), `${srv.url}/c/${code}`);
    await poster.waitForFunction(() => document.getElementById('poster-qr').naturalWidth > 100, null, { timeout: 10000 });
    assert.deepEqual(await axeProblems(poster), [], 'axe on the poster');
    await poster.close();
  });

  it('a resident calls from the counter link and the counter joins by itself', async () => {
    const t = tablet.page;
    await t.goto(deviceLink);
    // The secret leaves the address bar once kept.
    assert.ok(!t.url().includes('#'));
    await t.click('#btn-begin');
    await t.waitForFunction(() => /等待居民扫码/.test(document.getElementById('counter-state').textContent), null, { timeout: 10000 });
    assert.match(await t.textContent('#counter-title'), /3号窗口/);
    assert.deepEqual(await axeProblems(t), [], 'axe on the counter tablet');

    const c = caller.page;
    await c.goto(`${srv.url}/c/${code}`);
    await c.waitForSelector('#counter-box:not([hidden])');
    assert.match(await c.textContent('#counter-where'), /3号窗口 · 社保局 · 市民中心一楼/);
    assert.ok(await c.isHidden('#start .purposes'), 'the counter says what the call is for');
    assert.deepEqual(await axeProblems(c), [], 'axe on the caller page from a counter');
    await c.click('#btn-call');
    await t.waitForFunction(() => /正在等待手语翻译员接听/.test(document.getElementById('counter-state').textContent), null, { timeout: 10000 });

    await signInInterpreter(anna.page, srv.url, 'anna', 'pw-anna');
    await anna.page.waitForSelector('#ring:not([hidden])', { timeout: 10000 });
    assert.match(await anna.page.textContent('#ring-info'), /政策咨询.*来自窗口：3号窗口/);
    await anna.page.click('#btn-accept');

    // Video both ways among the three, with no invitation step.
    await Promise.all([waitForMediaFrom(c, 2), waitForMediaFrom(t, 2), waitForMediaFrom(anna.page, 2)]);
    assert.match(await c.textContent('#incall'), /3号窗口/);
    assert.deepEqual(await axeProblems(t), [], 'axe on the tablet in a call');

    await hangUp(c);
    await t.waitForSelector('#ready:not([hidden])', { timeout: 10000 });
    await t.waitForFunction(() => /等待居民扫码/.test(document.getElementById('counter-state').textContent), null, { timeout: 10000 });
    await metricBecomes(srv.url, 'signrelay_peers', 0);
    await metricBecomes(srv.url, 'signrelay_rooms', 0);
  });

  it('the dashboard counts the call for the counter; a counter revoked mid-call drops its tablet, not the call', async () => {
    const a = admin.page;
    await a.click('#period button[type=submit]');
    await a.waitForFunction((k) => document.querySelector(`#counter-list tr[data-counter="${k}"] td:nth-child(3)`)?.textContent === '1', code, { timeout: 10000 });
    // A second call, and the tablet is withdrawn while in it (lost or stolen).
    await caller.page.goto(`${srv.url}/c/${code}`);
    await caller.page.waitForSelector('#counter-box:not([hidden])');
    await caller.page.click('#btn-call');
    await anna.page.waitForSelector('#ring:not([hidden])', { timeout: 10000 });
    await anna.page.click('#btn-accept');
    await Promise.all([waitForMediaFrom(caller.page, 2), waitForMediaFrom(tablet.page, 2)]);
    await metricBecomes(srv.url, 'signrelay_peers', 3);
    const revoke = a.locator(`#counter-list tr[data-counter="${code}"] button`, { hasText: '停用' });
    await revoke.click();
    await revoke.click();
    await a.waitForFunction((k) => /已停用/.test(document.querySelector(`#counter-list tr[data-counter="${k}"]`)?.textContent), code, { timeout: 10000 });

    await tablet.page.waitForSelector('#setup:not([hidden])', { timeout: 10000 });
    assert.match(await tablet.page.textContent('#status'), /已停用或已更换/);
    // The resident and the interpreter go on without it.
    await metricBecomes(srv.url, 'signrelay_peers', 2);
    assert.ok(await caller.page.isVisible('#incall'));
    // The end of the call never replaces the tablet's reason on screen.
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(await tablet.page.isVisible('#setup'));
    assert.match(await tablet.page.textContent('#status'), /已停用或已更换/);
    await hangUp(caller.page);
    await metricBecomes(srv.url, 'signrelay_peers', 0);
    await caller.page.goto(`${srv.url}/c/${code}`);
    await caller.page.waitForFunction(() => /二维码已停用/.test(document.getElementById('counter-where').textContent), null, { timeout: 10000 });
    // A plain call still works from here.
    assert.ok(await caller.page.isVisible('#start .purposes'));
  });
});
