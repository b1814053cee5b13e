// Real-browser check of kassa's store console (run through `.ci/browser/run console`).
//
// In headless Debian Chromium an owner does, once in Russian and once in English, what the
// console is for: signs in, picks the store, adds an employee and reads the password shown
// once, resets that password, makes a pairing code and pairs a till with it through the API,
// gives a role one more permission, and finds each of those in the audit trail. It passes when
// every step shows what it should and nothing failed on the way (page errors, console errors,
// failed or >= 400 requests). Then the owner turns two-step sign-in on, reading the secret
// from the page (codes computed by the `otpauth` package, not kassa's code), signs out, signs
// in with the password and a code on the second page, and prints a set-up code for a new
// employee, who then chooses their own password with it. Screenshots go to SCREENSHOT_DIR.
//
// Env: KASSA_URL, KASSA_USERNAME, KASSA_PASSWORD (required); SCREENSHOT_DIR (default
//      <repo>/target/console); CHROMIUM (default /usr/bin/chromium).
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Secret, TOTP } from 'otpauth';

import { check, harness } from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');
const STEP_TIMEOUT_MS = 15_000;
const TOTAL_TIMEOUT_MS = 180_000;

const ignoredUrl = (url) => /\/favicon[^/]*$/i.test(new URL(url, base).pathname);

async function shotOf(target, name) {
  mkdirSync(shots, { recursive: true });
  const path = join(shots, `${name}.png`);
  await target.screenshot({ path, fullPage: true, timeout: 10_000 });
  return path;
}

const { log, requireEnv, problems, step, fail, launch, pass } = harness('console-check', {
  totalTimeoutMs: TOTAL_TIMEOUT_MS,
  ignoredUrl,
  screenshotOnFailure: (target) => shotOf(target, 'failure'),
});

const base = requireEnv('KASSA_URL').replace(/\/+$/, '');
const username = requireEnv('KASSA_USERNAME');
const password = requireEnv('KASSA_PASSWORD');
const shots = resolve(repo, process.env.SCREENSHOT_DIR || 'target/console');
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';

let page;
const shot = (name) => shotOf(page, name);

/// Clicks `target` and waits for the page it leads to. (Waiting for a load state instead
/// returns at once on the page already loaded, and the next step's navigation then aborts
/// the one the click started.)
async function follow(target) {
  await Promise.all([page.waitForEvent('load'), target.click()]);
}

/// Submits the form whose action ends with `action` (the first one on the page).
async function submit(action) {
  await follow(page.locator(`form[action$="${action}"]`).first().locator('button[type=submit]'));
}

async function expectText(selector, pattern, what) {
  const text = await page.locator(selector).first().innerText();
  check(pattern.test(text), `${what}: ${JSON.stringify(text.slice(0, 300))}`);
  return text;
}

/// The whole round in one language; `suffix` keeps usernames apart between rounds.
async function round(lang, suffix) {
  const words =
    lang === 'en'
      ? { staff: /Staff/, added: /Employee added/, reset: /Password reset/, code: /Pairing code/ }
      : { staff: /Сотрудники/, added: /Сотрудник добавлен/, reset: /Пароль сброшен/, code: /Код сопряжения/ };

  await step(`[${lang}] sign in`, async () => {
    await page.goto(`${base}/console/?lang=${lang}`, { waitUntil: 'domcontentloaded' });
    check(new URL(page.url()).pathname === '/console/sign-in/', `the console sent a signed-out browser to ${page.url()}`);
    check((await page.locator('html').getAttribute('lang')) === lang, 'the page is not in the chosen language');
    await page.locator('input[name=username]').fill(username);
    await page.locator('input[name=password]').fill(password);
    await submit('/console/sign-in/');
    check(new URL(page.url()).pathname === '/console/stores/', `after signing in: ${page.url()}`);
  });

  let store;
  await step(`[${lang}] pick the store`, async () => {
    const link = page.locator('a[href^="/console/s/"][href$="/staff/"]').first();
    store = (await link.getAttribute('href')).replace(/staff\/$/, '');
    await follow(link);
    await expectText('h1', words.staff, 'the staff page');
  });

  const employee = `console_${lang}_${suffix}`;
  let firstPassword;
  await step(`[${lang}] add ${employee} and read the password shown once`, async () => {
    await page.goto(`${base}${store}staff/new/`, { waitUntil: 'domcontentloaded' });
    await page.locator('input[name=username]').fill(employee);
    await page.locator('input[name=first_name]').fill(lang === 'en' ? 'Anna' : 'Анна');
    await page.locator('select[name=role]').selectOption('cashier');
    await submit('/staff/new/');
    await expectText('h1', words.added, 'after adding');
    firstPassword = (await page.locator('#password').innerText()).trim();
    check(firstPassword.length >= 8, `the password shown: ${JSON.stringify(firstPassword)}`);
    await shot(`password-${lang}`);
    const login = await fetch(`${base}/api/users/auth/login/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: employee, password: firstPassword }),
    });
    check(login.status === 200, `the shown password does not sign ${employee} in: ${login.status}`);
  });

  await step(`[${lang}] reset ${employee}'s password`, async () => {
    await page.goto(`${base}${store}staff/?search=${employee}`, { waitUntil: 'domcontentloaded' });
    await submit('/reset-password/');
    await expectText('h1', words.reset, 'after the reset');
    const second = (await page.locator('#password').innerText()).trim();
    check(second.length >= 8 && second !== firstPassword, 'the reset did not show a new password');
  });

  await step(`[${lang}] make a pairing code and pair a till with it`, async () => {
    await page.goto(`${base}${store}devices/`, { waitUntil: 'domcontentloaded' });
    await page.locator('input[name=name]').fill(`Till ${lang} ${suffix}`);
    await submit('/devices/pairing-code/');
    await expectText('h1', words.code, 'the pairing page');
    const code = (await page.locator('#pairing-code').innerText()).trim();
    check(/^[0-9A-Z]{4}-[0-9A-Z]{4}$/.test(code), `the code shown: ${code}`);
    await shot(`pairing-code-${lang}`);
    const paired = await fetch(`${base}/api/users/devices/pair/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: code.toLowerCase() }),
    });
    check(paired.status === 201, `pairing with the code shown answered ${paired.status}`);
  });

  await step(`[${lang}] give the cashier role one more permission`, async () => {
    await page.goto(`${base}${store}roles/`, { waitUntil: 'domcontentloaded' });
    const cashier = page.locator('form[action$="/roles/edit/"]').filter({ has: page.locator('input[name=code][value=cashier]') });
    const box = cashier.locator(`input[name=permissions][value=${lang === 'en' ? 'refund_sales' : 'void_sales'}]`);
    await box.check();
    await follow(cashier.locator('button[type=submit]'));
    check(new URL(page.url()).pathname === `${store}roles/`, `after saving the role: ${page.url()}`);
    check(await page.locator('form[action$="/roles/edit/"]').filter({ has: page.locator('input[name=code][value=cashier]') })
      .locator(`input[name=permissions][value=${lang === 'en' ? 'refund_sales' : 'void_sales'}]`).isChecked(), 'the permission did not stay ticked');
  });

  await step(`[${lang}] find each of those in the audit trail`, async () => {
    await page.goto(`${base}${store}audit/`, { waitUntil: 'domcontentloaded' });
    const trail = await page.locator('table.audit').innerText();
    for (const action of ['employee.created', 'employee.password_reset', 'device.paired', 'role.updated']) {
      check(trail.includes(action), `the audit trail lacks ${action}`);
    }
    check(trail.includes(employee), `the audit trail does not name ${employee}`);
    await page.goto(`${base}${store}audit/?action=device.paired`, { waitUntil: 'domcontentloaded' });
    const filtered = await page.locator('table.audit').innerText();
    check(!filtered.includes('employee.created'), 'the action filter let other events through');
  });

  await step(`[${lang}] the staff list, then sign out`, async () => {
    await page.goto(`${base}${store}staff/`, { waitUntil: 'domcontentloaded' });
    check((await page.locator('table.staff').innerText()).includes(employee), `${employee} is not on the staff list`);
    await shot(`staff-${lang}`);
    // The same page on a phone: nothing runs off the side of the screen.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload({ waitUntil: 'domcontentloaded' });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 1, `on a 390 px wide screen the staff page is ${overflow} px too wide`);
    await shot(`staff-phone-${lang}`);
    await page.setViewportSize({ width: 1280, height: 900 });
    await submit('/console/sign-out/');
    check(new URL(page.url()).pathname === '/console/sign-in/', `after signing out: ${page.url()}`);
  });
}

/// The RFC 6238 code of `secret` (base32) `steps` 30-second steps away from now.
function codeAt(secret, steps) {
  const totp = new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 });
  return totp.generate({ timestamp: Date.now() + steps * 30_000 });
}

/// Waits out the last seconds of a 30-second step, so the steps computed stay the server's.
async function awayFromStepEdge() {
  const intoStep = Math.floor(Date.now() / 1000) % 30;
  if (intoStep >= 25) await new Promise((done) => setTimeout(done, (31 - intoStep) * 1000));
}

/// Two-step sign-in in English: enrol, sign out, sign in with a code, print a set-up code.
async function twoStep(suffix) {
  await step('[2fa] sign in and set up an authenticator app from the page', async () => {
    await page.goto(`${base}/console/sign-in/?lang=en`, { waitUntil: 'domcontentloaded' });
    await page.locator('input[name=username]').fill(username);
    await page.locator('input[name=password]').fill(password);
    await submit('/console/sign-in/');
    await page.goto(`${base}/console/two-factor/`, { waitUntil: 'domcontentloaded' });
    await expectText('#two-factor-state', /off/, 'the state before enrolling');
    await submit('/console/two-factor/enrol/');
    check(await page.locator('#totp-qr svg').count() === 1, 'no QR code drawn on the enrolment page');
    await shot('two-factor-enrol');
  });

  let secret;
  await step('[2fa] confirm with a code from the app and see the recovery codes once', async () => {
    secret = (await page.locator('#totp-secret').innerText()).trim();
    check(/^[A-Z2-7]{32,}$/.test(secret), `the secret shown: ${JSON.stringify(secret)}`);
    await awayFromStepEdge();
    // The previous step's code: the current one stays unused for the sign-in that follows.
    await page.locator('input[name=code]').fill(codeAt(secret, -1));
    await submit('/console/two-factor/confirm/');
    check(await page.locator('#recovery-codes li').count() === 10, 'not 10 recovery codes');
    await shot('two-factor-recovery-codes');
  });

  let store;
  await step('[2fa] sign out, then sign in with the password and a code', async () => {
    await page.goto(`${base}/console/two-factor/`, { waitUntil: 'domcontentloaded' });
    await expectText('#two-factor-state', /on/, 'the state after confirming');
    await submit('/console/sign-out/');
    await page.locator('input[name=username]').fill(username);
    await page.locator('input[name=password]').fill(password);
    await submit('/console/sign-in/');
    check(await page.locator('form[action="/console/sign-in/2fa/"]').count() === 1, `no second step after the password: ${page.url()}`);
    await shot('two-factor-second-step');
    await awayFromStepEdge();
    await page.locator('input[name=code]').fill(codeAt(secret, 0));
    await submit('/console/sign-in/2fa/');
    check(new URL(page.url()).pathname === '/console/stores/', `after the second step: ${page.url()}`);
    const link = page.locator('a[href^="/console/s/"][href$="/staff/"]').first();
    store = (await link.getAttribute('href')).replace(/staff\/$/, '');
  });

  const employee = `setup_${suffix}`;
  await step(`[2fa] print a set-up code for ${employee}, who then chooses a password`, async () => {
    await page.goto(`${base}${store}staff/new/`, { waitUntil: 'domcontentloaded' });
    await page.locator('input[name=username]').fill(employee);
    await page.locator('input[name=first_name]').fill('Olga');
    await page.locator('select[name=role]').selectOption('cashier');
    await page.locator('input[name=setup][value=code]').check();
    await submit('/staff/new/');
    const code = (await page.locator('#setup-code').innerText()).trim();
    check(/^[0-9A-Z]{4}-[0-9A-Z]{4}$/.test(code), `the set-up code shown: ${code}`);
    check(await page.locator('#setup-qr svg').count() === 1, 'no QR code beside the set-up code');
    check(await page.locator('#password').count() === 0, 'a password is shown beside the set-up code');
    await shot('setup-code');
    const setUp = await fetch(`${base}/api/users/auth/setup/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: code.toLowerCase(), new_password: `Own-Choice-${suffix}-9` }),
    });
    check(setUp.status === 200, `the set-up code shown did not set ${employee}'s password: ${setUp.status}`);
  });
}

async function main() {
  page = await launch(executablePath, STEP_TIMEOUT_MS);
  const suffix = Date.now().toString(36);
  await round('ru', suffix);
  await round('en', suffix);
  await twoStep(suffix);
  await step('nothing failed on the way', async () => check(problems.length === 0, problems.join('; ')));
  await pass(`both rounds and two-step sign-in; screenshots in ${shots}`);
}

main().catch((err) => fail(String(err?.stack ?? err)));
