// The service dashboard in real headless Chromium: calls made through the real pages become
// records, and the dashboard's figures, live view, CSV export and user management match them.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, signInInterpreter, waitForMediaFrom, hangUp } from './lib.mjs';

describe('service dashboard', { timeout: 180000 }, () => {
  let srv; let anna; let caller; let admin;

  before(async () => {
    srv = await startServer('[captions]\nenabled = false');
    [anna, caller, admin] = await Promise.all([launchBrowser(), launchBrowser(), launchBrowser()]);
  });

  after(async () => {
    for (const b of [anna, caller, admin]) await b?.browser.close().catch(() => {});
    if (srv) await srv.stop();
  });

  it('shows service levels that match the calls just made, and exports them', async () => {
    await signInInterpreter(anna.page, srv.url, 'anna', 'pw-anna');
    // Call 1: answered, then hung up by the caller.
    await caller.page.goto(`${srv.url}/`);
    await caller.page.click('#btn-call');
    await anna.page.waitForSelector('#ring:not([hidden])', { timeout: 10000 });
    await anna.page.click('#btn-accept');
    await waitForMediaFrom(caller.page, 1);
    await hangUp(caller.page);
    await caller.page.waitForSelector('#ended:not([hidden])', { timeout: 10000 });
    // The interpreter's console lists the call she answered (her own calls only).
    await anna.page.waitForFunction(() => document.querySelectorAll('#my-calls tr').length === 1, null, { timeout: 10000 });
    // Call 2: no interpreter free (Anna steps away), the caller gives up.
    await anna.page.waitForSelector('#my-status[data-status="available"]');
    await anna.page.click('#btn-presence');
    await anna.page.waitForSelector('#my-status[data-status="away"]');
    await caller.page.click('#btn-again');
    await caller.page.click('#btn-emergency');
    await caller.page.waitForSelector('#waiting:not([hidden])');
    await caller.page.click('#btn-cancel');
    await caller.page.waitForSelector('#start:not([hidden])', { timeout: 10000 });

    await admin.page.goto(`${srv.url}/admin`);
    await admin.page.fill('#username', 'boss');
    await admin.page.fill('#password', 'pw-boss-long');
    await admin.page.click('#login button[type=submit]');
    await admin.page.waitForSelector('#desk:not([hidden])');
    const fig = (k) => admin.page.textContent(`dd[data-fig="${k}"]`);
    await admin.page.waitForFunction(() => document.querySelector('dd[data-fig="fig_offered"]')?.textContent === '2', null, { timeout: 10000 });
    assert.equal(await fig('fig_answered'), '1');
    assert.match(await fig('fig_abandoned'), /^50\.0 % \(0 \+ 1\)/);
    assert.equal(await fig('fig_within30'), '50.0 %');
    // Calls per purpose: one each.
    const purposes = await admin.page.$$eval('#chart-purpose .bar-row', (rows) => rows.map((r) => r.textContent));
    assert.equal(purposes.length, 2, JSON.stringify(purposes));
    // Live: Anna is signed in and away; nobody waits.
    await admin.page.waitForFunction(() => document.querySelector('#live-interpreters li')?.dataset.status === 'away', null, { timeout: 5000 });
    // The CSV export has the same two calls.
    const csv = await admin.page.evaluate(async () => (await fetch(document.getElementById('csv').href)).text());
    const lines = csv.trim().split('\n');
    assert.equal(lines.length, 3, csv);
    assert.ok(lines.some((l) => l.includes(',answered,')), csv);
    assert.ok(lines.some((l) => l.includes(',no_interpreter,')), csv);
  });

  it('manages users: a new interpreter can sign in, a switched-off one cannot', async () => {
    await admin.page.fill('#nu-name', 'chen');
    await admin.page.fill('#nu-display', '陈老师');
    await admin.page.fill('#nu-pass', 'pw-chen-long');
    // What the queue matches him on: a man who knows medical and legal calls.
    await admin.page.selectOption('#nu-gender', 'male');
    await admin.page.check('input[name=nu-topic][value=medical]');
    await admin.page.check('input[name=nu-topic][value=legal]');
    await admin.page.click('#new-user button[type=submit]');
    await admin.page.waitForSelector('tr[data-user="chen"]');
    const row = await admin.page.textContent('tr[data-user="chen"]');
    assert.ok(/男|Male/.test(row) && /就医|Medical/.test(row) && /法律事务|Legal/.test(row), row);
    const probe = await launchBrowser();
    try {
      await signInInterpreter(probe.page, srv.url, 'chen', 'pw-chen-long');
      await admin.page.waitForFunction(() => document.querySelector('#audit-list')?.textContent.includes('create_user'));
      await admin.page.click('tr[data-user="chen"] button');
      // The button reads 停用 before the click too; wait for the row the server re-sent.
      await admin.page.waitForSelector('tr[data-user="chen"][data-disabled="true"]');
      const off = await admin.page.textContent('tr[data-user="chen"]');
      assert.ok(/已停用|switched off/.test(off), off);
      const res = await admin.page.evaluate(async () => (await fetch('/api/login', {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ username: 'chen', password: 'pw-chen-long' }),
      })).status);
      assert.equal(res, 403);
    } finally {
      await probe.browser.close();
    }
  });
});
