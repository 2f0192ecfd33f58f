// Browser test of the web console: playwright-core drives Debian's
// chromium (headless) against a real cppbx. Usage:
//   node console_test.mjs /path/to/cppbx [screenshot folder]
//
// Flows, each reported on its own (one failing does not hide the others):
//   login      wrong password refused with a visible message; right one
//              reaches the Dashboard (its version is the API's)
//   extension  create one with a generated password, see it listed,
//              REGISTER with it (SIPp)
//   webhook    Test against a receiver this script runs: it gets the sample
//              "registered" event with the configured header; page shows 200
//   backend    add an http backend pointing at a service this script runs,
//              Test (found, password masked), move it first, Apply (a bad
//              value first: its problem beside the field), REGISTER a user
//              only that service knows, see it in Registrations, remove the
//              binding (gone from the page and from the API)
//   narrow     the pages at 375 px wide fit without sideways scrolling
//   and after: editing keeps a masked password, disable/enable take effect
//   on REGISTER at once, delete asks first; the static files' headers; a
//   logout returns to Login and logging in goes back to the page asked for
// Screenshots of every page go to the screenshot folder (default:
// ./screenshots) for a person to look at.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { Cppbx, startUserService, startWebhookReceiver, waitFor } from './services.mjs';

const binary = process.argv[2];
if (!binary) {
  console.error('usage: node console_test.mjs /path/to/cppbx [screenshot folder]');
  process.exit(2);
}
const shots = path.resolve(process.argv[3] || 'screenshots');
fs.mkdirSync(shots, { recursive: true });

const ADMIN = 'admin';
const ADMIN_PASSWORD = `Adm1n-${crypto.randomBytes(6).toString('hex')}`;
const WEB_USER = `webonly${crypto.randomBytes(3).toString('hex')}`;
const WEB_PASSWORD = `web-${crypto.randomBytes(8).toString('hex')}`;
const WEBHOOK_SECRET = `Bearer hook-${crypto.randomBytes(6).toString('hex')}`;
const EXTENSION = '2001';
const DESKTOP = { width: 1280, height: 900 };
const NARROW = { width: 375, height: 812 };

const results = [];
async function flow(name, body) {
  const started = Date.now();
  try {
    await body();
    results.push({ name, ok: true });
    console.log(`ok    ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    results.push({ name, ok: false });
    console.log(`FAIL  ${name}: ${error.stack || error}`);
  }
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
}

const cppbx = new Cppbx(binary, { admin: ADMIN, adminPassword: ADMIN_PASSWORD });
const userService = await startUserService(WEB_USER, WEB_PASSWORD);
const receiver = await startWebhookReceiver();
let browser = null;
let exitCode = 1;
try {
  await cppbx.start();
  const launchArgs = process.getuid && process.getuid() === 0 ? ['--no-sandbox'] : [];
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: launchArgs });
  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  // Script errors only: the browser also logs every non-2xx answer (the
  // expected 401 of the login page, the 400 of a refused Apply).
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) pageErrors.push(message.text());
  });
  const apiGet = async (route) => {
    const response = await page.request.get(`${cppbx.url}${route}`);
    return { status: response.status(), body: await response.json().catch(() => null) };
  };

  await flow('login', async () => {
    await page.goto(`${cppbx.url}/`);
    await page.waitForURL(/\/console\/#\/login$/);
    await page.getByLabel('Username').fill(ADMIN);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Log in' }).click();
    const refusal = page.locator('.banner.error');
    await refusal.waitFor();
    assert.match(await refusal.textContent(), /Wrong username or password/);
    assert.equal(await page.getByLabel('Password').inputValue(), '', 'the password field is cleared');
    await shot(page, 'login');

    await page.getByLabel('Password').fill(ADMIN_PASSWORD);
    await page.getByLabel('Password').press('Enter');  // Enter submits
    await page.waitForURL(/#\/dashboard$/);
    await page.locator('#stat-version').waitFor();
    const dashboard = await apiGet('/api/dashboard');
    assert.equal(dashboard.status, 200);
    assert.equal(await page.locator('#stat-version').textContent(), dashboard.body.version);
    assert.equal(await page.locator('h1').textContent(), 'Dashboard');
    await shot(page, 'dashboard');
  });

  let extensionPassword = null;
  await flow('extension', async () => {
    await page.getByRole('link', { name: 'Extensions' }).click();
    // Escape closes the dialog and gives the focus back to its opener.
    await page.getByRole('button', { name: 'New extension' }).click();
    await page.locator('dialog[open]').waitFor();
    await page.keyboard.press('Escape');
    await page.locator('dialog[open]').waitFor({ state: 'detached' });
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'New extension');
    await page.getByRole('button', { name: 'New extension' }).click();
    const dialog = page.locator('dialog[open]');
    await dialog.getByLabel('Username (extension number)').fill(EXTENSION);
    await dialog.getByRole('button', { name: 'Generate' }).click();
    const password = dialog.getByLabel('SIP password');
    await waitFor(async () => (await password.inputValue()).length > 0, 5000, 'a generated password');
    extensionPassword = await password.inputValue();
    assert.match(extensionPassword, /^[A-Za-z0-9]{24}$/);
    await dialog.getByLabel('Display name').fill('Front Desk');
    await shot(page, 'extension-dialog');
    // What the page sends must be what it shows: a late answer or an autofill
    // changing the field after it was read would store another password.
    const created = page.waitForRequest((request) => request.method() === 'POST' && request.url().endsWith('/api/extensions'));
    await dialog.getByRole('button', { name: 'Create' }).click();
    assert.equal((await created).postDataJSON().password, extensionPassword, 'the page sent the password it showed');
    await page.locator('dialog[open]').waitFor({ state: 'detached' });
    const row = page.locator('tbody tr', { hasText: 'Front Desk' });
    await row.waitFor();
    assert.match(await row.textContent(), new RegExp(EXTENSION));
    assert.match(await page.locator('.banner.success').textContent(), /created/);
    await shot(page, 'extensions');
    const registered = await cppbx.register(EXTENSION, extensionPassword);
    assert.ok(registered.ok, `SIPp REGISTER as ${EXTENSION} failed (${registered.status}): ${registered.output}`);
    const wrong = await cppbx.register(EXTENSION, 'wrong-password');
    assert.ok(!wrong.ok, 'a wrong password must not register');
  });

  await flow('webhook test', async () => {
    await page.getByRole('link', { name: 'Proxy Settings' }).click();
    await page.locator('#webhook-enabled').check();
    await page.getByLabel('Webhook URL').fill(receiver.url);
    const webhookSection = page.locator('section', { has: page.locator('#webhook-enabled') });
    await webhookSection.getByRole('button', { name: 'Add header' }).click();
    await webhookSection.getByLabel('Header name').fill('Authorization');
    await webhookSection.getByLabel('Value').fill(WEBHOOK_SECRET);
    await page.locator('#webhook-test').click();
    const result = webhookSection.locator('.test-result');
    await result.locator('[data-outcome]').waitFor();
    assert.equal(await result.locator('[data-outcome]').getAttribute('data-outcome'), 'ok');
    assert.match(await result.textContent(), /HTTP status\s*200/);
    assert.match(await result.textContent(), /hook received ok/);
    assert.equal(receiver.received.length, 1, 'the receiver got exactly the sample event');
    const sample = receiver.received[0];
    assert.equal(sample.headers.authorization, WEBHOOK_SECRET);
    assert.equal(JSON.parse(sample.body).event, 'registered');
    await result.scrollIntoViewIfNeeded();
    await shot(page, 'settings-webhook-test');
  });

  await flow('http backend, apply, registrations', async () => {
    if (!page.url().endsWith('#/settings/proxy')) await page.getByRole('link', { name: 'Proxy Settings' }).click();
    await page.locator('#new-backend-type').selectOption('http');
    await page.locator('#add-backend').click();
    const card = page.locator('#backend-1');
    assert.match(await card.locator(':scope > legend').textContent(), /2\. http/);
    await card.getByLabel('Service URL').fill(userService.url);
    await card.getByLabel('Method').selectOption('POST');
    await card.getByLabel('Username', { exact: true }).fill(WEB_USER);
    await card.getByRole('button', { name: 'Test', exact: true }).click();
    const outcome = card.locator('.test-result [data-outcome]');
    await outcome.waitFor();
    assert.equal(await outcome.getAttribute('data-outcome'), 'found', await card.locator('.test-result').textContent());
    const resultText = await card.locator('.test-result').textContent();
    assert.match(resultText, /\*{8}/, 'the password is masked');
    assert.ok(!resultText.includes(WEB_PASSWORD), 'the password is never shown');
    assert.ok(userService.requests.some((request) => request.username === WEB_USER), 'the service was asked');
    await card.scrollIntoViewIfNeeded();
    await shot(page, 'settings-backend-test');

    await card.getByRole('button', { name: /Move backend 2 \(http\) up/ }).click();
    assert.match(await page.locator('#backend-0 > legend').textContent(), /1\. http/);
    assert.match(await page.locator('#backend-1 > legend').textContent(), /2\. extension/);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'backend-0-down', 'focus follows the moved backend');

    // A bad value first: Apply refuses it and says so beside the field.
    const timeout = page.locator('#backend-0').getByLabel('Timeout (ms)');
    await timeout.fill('not-a-number');
    await page.locator('#apply').click();
    const refused = page.locator('.apply-result .banner');
    await refused.waitFor();
    const refusal = await refused.textContent();
    assert.match(refusal, /Not applied/, `PUT /api/settings/proxy must refuse the bad value; the page says: ${refusal}`);
    const fieldError = page.locator('[data-path="user_backends.0.timeout_ms"] > .field-error');
    assert.ok(await fieldError.isVisible(), 'the problem is shown beside the timeout field');
    await shot(page, 'settings-apply-problem');
    await timeout.fill('1500');
    await page.locator('#apply').click();
    const applied = page.locator('.apply-result .banner.success');
    await applied.waitFor();
    assert.match(await applied.textContent(), /Applied/);
    assert.match(await page.locator('#backend-0 > legend').textContent(), /1\. http/, 'the applied order is shown');
    const running = await apiGet('/api/settings/proxy');
    assert.equal(running.body.user_backends[0].type, 'http');
    assert.equal(running.body.user_backends[0].url, userService.url);
    assert.equal(running.body.locator_webhook.url, receiver.url);
    assert.equal(running.body.locator_webhook.headers.Authorization, '********', 'the webhook secret comes back masked');
    await shot(page, 'settings-applied');

    const registered = await cppbx.register(WEB_USER, WEB_PASSWORD);
    assert.ok(registered.ok, `SIPp REGISTER as ${WEB_USER} failed (${registered.status}): ${registered.output}`);

    await page.getByRole('link', { name: 'Registrations' }).click();
    const row = page.locator('tbody tr', { hasText: WEB_USER });
    await row.waitFor();
    assert.match(await row.textContent(), new RegExp(`127\\.0\\.0\\.1:${registered.localPort}`));
    await page.locator('tbody tr', { hasText: `sip:${EXTENSION}@` }).waitFor();  // the extension's too
    await shot(page, 'registrations');
    await page.getByLabel('Filter by user').fill(WEB_USER);
    await page.getByLabel('Filter by user').press('Enter');
    await waitFor(async () => (await page.locator('tbody tr').count()) === 1, 5000, 'the filtered list');
    await row.getByRole('button', { name: 'Remove' }).click();
    const confirm = page.locator('dialog[open]');
    await confirm.getByRole('button', { name: 'Remove' }).click();
    await page.locator('#no-registrations').waitFor();
    assert.match(await page.locator('.banner.success').textContent(), /Removed/);
    const left = await apiGet(`/api/registrations?user=${WEB_USER}`);
    assert.equal(left.status, 200);
    assert.equal(left.body.total, 0, 'the binding is gone from the locator');
  });

  await flow('dashboard after', async () => {
    // The applied webhook is live: the real registration of the web-only
    // user and its removal reached the receiver.
    await waitFor(() => receiver.received.some((hit) => hit.body.includes(`sip:${WEB_USER}@`) &&
      JSON.parse(hit.body).event === 'unregistered'), 10000, 'the unregistered event of the removed binding');
    assert.ok(receiver.received.every((hit) => hit.headers.authorization === WEBHOOK_SECRET), 'every event carries the header');
    await page.getByRole('link', { name: 'Dashboard' }).click();
    await page.locator('#stat-bindings').waitFor();
    const dashboard = await apiGet('/api/dashboard');
    assert.equal(dashboard.body.registrations.bindings, 1, 'the extension is still registered');
    await page.getByRole('button', { name: 'Refresh' }).click();
    await waitFor(async () => (await page.locator('#stat-bindings').textContent()) === '1', 5000, 'one binding shown');
    assert.equal(await page.locator('#stat-webhook-sent').textContent(), String(dashboard.body.webhook.sent));
    assert.match(await page.locator('.card.wide').textContent(), /http → extension/);
    await shot(page, 'dashboard-after');
  });

  await flow('narrow screen', async () => {
    await page.setViewportSize(NARROW);
    for (const [route, name] of [['#/dashboard', 'dashboard-375'], ['#/extensions', 'extensions-375'],
      ['#/registrations', 'registrations-375'], ['#/settings/proxy', 'settings-375']]) {
      await page.goto(`${cppbx.url}/console/${route}`);
      await page.locator('h1').waitFor();
      await page.waitForLoadState('networkidle');
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${route} is ${overflow}px wider than the 375 px screen`);
      await shot(page, name);
    }
    await page.setViewportSize(DESKTOP);
  });

  await flow('extension edit, disable, delete', async () => {
    await page.goto(`${cppbx.url}/console/#/extensions`);
    const row = () => page.locator('tbody tr', { hasText: EXTENSION });
    await row().waitFor();
    // Edit keeps the masked password: the phone still registers with it.
    await row().getByRole('button', { name: `Edit ${EXTENSION}` }).click();
    const dialog = page.locator('dialog[open]');
    assert.equal(await dialog.getByLabel('SIP password').inputValue(), '********');
    await dialog.getByLabel('Display name').fill('Reception');
    await dialog.getByLabel('Display name').press('Enter');  // Enter saves
    await page.locator('tbody tr', { hasText: 'Reception' }).waitFor();
    assert.ok((await cppbx.register(EXTENSION, extensionPassword)).ok, 'the unchanged password still registers');
    // Disabled: refused at once (the backend's cache is dropped); enabled again: accepted.
    await row().getByRole('button', { name: `Disable ${EXTENSION}` }).click();
    await row().getByText('Disabled').waitFor();
    assert.ok(!(await cppbx.register(EXTENSION, extensionPassword)).ok, 'a disabled extension must not register');
    await row().getByRole('button', { name: `Enable ${EXTENSION}` }).click();
    await row().getByText('Enabled').waitFor();
    assert.ok((await cppbx.register(EXTENSION, extensionPassword)).ok, 'enabled again, it registers');
    // Delete asks first; Cancel keeps it.
    await row().getByRole('button', { name: `Delete ${EXTENSION}` }).click();
    await page.locator('dialog[open]').getByRole('button', { name: 'Cancel' }).click();
    assert.equal(await row().count(), 1);
    await row().getByRole('button', { name: `Delete ${EXTENSION}` }).click();
    await page.locator('dialog[open]').getByRole('button', { name: 'Delete' }).click();
    await page.getByText('No extensions yet.').waitFor();
    assert.equal((await apiGet(`/api/extensions/${EXTENSION}`)).status, 404);
  });

  await flow('static files', async () => {
    const first = await page.request.get(`${cppbx.url}/console/js/main.js`);
    assert.equal(first.status(), 200);
    const headers = first.headers();
    assert.equal(headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(headers['cache-control'], 'no-cache');
    assert.match(headers['content-security-policy'], /default-src 'self'/);
    assert.equal(headers['x-content-type-options'], 'nosniff');
    assert.equal(headers['x-frame-options'], 'DENY');
    assert.equal(headers['referrer-policy'], 'same-origin');
    assert.ok(headers.etag, 'an ETag');
    const again = await page.request.get(`${cppbx.url}/console/js/main.js`, { headers: { 'If-None-Match': headers.etag } });
    assert.equal(again.status(), 304);
    assert.equal((await page.request.get(`${cppbx.url}/console/missing.js`)).status(), 404);
  });

  await flow('session end returns to login', async () => {
    await page.goto(`${cppbx.url}/console/#/extensions`);
    await page.locator('h1', { hasText: 'Extensions' }).waitFor();
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(/#\/login$/);
    assert.equal((await apiGet('/api/session')).status, 401, 'the session is gone');
    await page.goto(`${cppbx.url}/console/#/registrations`);
    await page.waitForURL(/#\/login$/);
    await page.getByLabel('Username').fill(ADMIN);
    await page.getByLabel('Password').fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(/#\/registrations$/);  // back where it was going
  });

  await flow('no page errors', async () => {
    assert.deepEqual(pageErrors, []);
  });
  exitCode = results.every((result) => result.ok) ? 0 : 1;
} catch (error) {
  console.log(`FAIL  setup: ${error.stack || error}`);
} finally {
  if (browser) await browser.close();
  const code = await cppbx.stop();
  if (code !== 0) {
    console.log(`FAIL  cppbx exited with ${code} after SIGTERM`);
    exitCode = 1;
  }
  if (exitCode !== 0) console.log(`--- cppbx log (tail) ---\n${cppbx.log().slice(-4000)}`);
  cppbx.cleanup();
  userService.server.close();
  receiver.server.close();
}
console.log(`${results.filter((result) => result.ok).length}/${results.length} flows passed; screenshots in ${shots}`);
process.exit(exitCode);
