// Out of service hours: the caller page says so before the tap, offers what still works
// (emergency call, captioned call, the emergency contacts), and an emergency call still rings
// the interpreter on duty.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, signInInterpreter, hangUp, axeProblems, setTextZoom, sidewaysOverflow } from './lib.mjs';

describe('out of service hours', { timeout: 120000 }, () => {
  let srv; let anna; let caller;

  before(async () => {
    // No opening hours at all: closed whenever the test runs.
    srv = await startServer('[captions]\nenabled = false\n[service.hours]\nutc_offset_minutes = 480\nholidays = ["2026-10-01"]\n');
    [anna, caller] = await Promise.all([launchBrowser(), launchBrowser({ viewport: { width: 390, height: 844 } })]);
  });

  after(async () => {
    for (const b of [anna, caller]) await b?.browser.close().catch(() => {});
    if (srv) await srv.stop();
  });

  it('the caller page says it is closed, keeps emergencies, and lists other help', async () => {
    await caller.page.goto(`${srv.url}/`);
    await caller.page.waitForSelector('#hours:not([hidden])');
    assert.match(await caller.page.textContent('#hours'), /现在不在服务时间/);
    assert.equal(await caller.page.isDisabled('#btn-call'), true, 'no ordinary call out of hours');
    assert.equal(await caller.page.isDisabled('#btn-emergency'), false);
    assert.equal(await caller.page.isDisabled('#btn-captioned'), false);
    assert.ok(await caller.page.isVisible('#closed-box'));
    assert.match(await caller.page.getAttribute('#closed-contacts a', 'href'), /^sms:12110$/);
    // Out of hours a signed message is offered instead of a call.
    assert.ok(await caller.page.isVisible('#btn-vm-start'));
    assert.match(await caller.page.textContent('#vm-offer-why'), /不在服务时间/);
    await caller.page.click('#lang-toggle');
    assert.match(await caller.page.textContent('#hours'), /Closed now/);
    assert.deepEqual(await axeProblems(caller.page), [], 'axe on the closed caller page');
    await setTextZoom(caller.page, 200);
    assert.equal(await sidewaysOverflow(caller.page), 0, 'no sideways scrolling at 200 % text');
    if (process.env.E2E_SHOTS) await caller.page.screenshot({ path: `${process.env.E2E_SHOTS}/caller-closed-390-200.png`, fullPage: true });
    await setTextZoom(caller.page, 100);
    await caller.page.click('#lang-toggle');
  });

  it('an emergency call still rings the interpreter on duty', async () => {
    await signInInterpreter(anna.page, srv.url, 'anna', 'pw-anna');
    await caller.page.click('#btn-emergency');
    await anna.page.waitForSelector('#ring:not([hidden])', { timeout: 10000 });
    await anna.page.click('#btn-accept');
    await caller.page.waitForSelector('#incall:not([hidden])', { timeout: 15000 });
    await hangUp(caller.page);
  });
});
