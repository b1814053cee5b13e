// Real-browser check of kassa's Swagger UI (run through .ci/browser/run).
//
// In headless Debian Chromium it does what a person would: open /swagger/, authorize with the
// bearer token and the tenant key, expand `GET /api/users/auth/me/`, "Try it out", "Execute",
// and read the live response. It passes when the UI shows code 200 and a body holding the
// caller's username, and nothing that matters failed on the way (page errors, console errors,
// failed or >= 400 requests). It always saves a full-page screenshot to SCREENSHOT.
//
// Env: KASSA_URL, KASSA_TOKEN, KASSA_TENANT_KEY, KASSA_USERNAME (required);
//      SCREENSHOT (default <repo>/target/swagger-check.png); CHROMIUM (default /usr/bin/chromium).
import { chromium } from 'playwright-core';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');

const ME_PATH = '/api/users/auth/me/';
// Names from components.securitySchemes in openapi/openapi.json.
const BEARER_SCHEME = 'bearerAuth';
const TENANT_SCHEME = 'tenantKey';
const TENANT_HEADER = 'x-tenant-key';

const STEP_TIMEOUT_MS = 15_000; // any one wait
const TOTAL_TIMEOUT_MS = 50_000; // the whole check, browser start to screenshot

const started = Date.now();
const log = (msg) => console.log(`[swagger-check +${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);

function requireEnv(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`[swagger-check] FAIL: env ${name} is not set`);
    process.exit(2);
  }
  return value;
}

const base = requireEnv('KASSA_URL').replace(/\/+$/, '');
const token = requireEnv('KASSA_TOKEN');
const tenantKey = requireEnv('KASSA_TENANT_KEY');
const username = requireEnv('KASSA_USERNAME');
const screenshot = resolve(repo, process.env.SCREENSHOT || 'target/swagger-check.png');
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const origin = new URL(base).origin;

class CheckFailure extends Error {}
const check = (cond, msg) => {
  if (!cond) throw new CheckFailure(msg);
};

// --- what the page did that matters --------------------------------------------------------
// Ignored: favicons (cosmetic), and Swagger's online-validator badge, a third-party image that
// cannot load on a closed network (Swagger UI only shows it for non-localhost spec URLs).
const ignoredUrl = (url) => /\/favicon[^/]*$/i.test(new URL(url, base).pathname) || /validator\.swagger\.io/i.test(url);
const problems = [];
const problem = (what) => {
  problems.push(what);
  log(`problem: ${what}`);
};

let browser; // the persistent context: closing it ends Chromium
let page;
let userDataDir;

async function saveScreenshot() {
  if (!page) return false;
  try {
    mkdirSync(dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true, timeout: 10_000 });
    return true;
  } catch (err) {
    console.error(`[swagger-check] could not save a screenshot: ${err.message.split('\n')[0]}`);
    return false;
  }
}

async function cleanup() {
  try {
    if (browser) await browser.close();
  } catch {
    /* the browser may already be gone */
  }
  try {
    // Chromium's last writes can race the removal (ENOTEMPTY): retry a little.
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  } catch (err) {
    console.error(`[swagger-check] could not remove ${userDataDir}: ${err.message}`);
  }
}

let failing = false;
async function fail(message) {
  if (failing) return; // a second failure (the watchdog, a late rejection) while reporting the first
  failing = true;
  console.error(`\n[swagger-check] FAIL: ${message}`);
  for (const p of problems) console.error(`[swagger-check]   page problem: ${p}`);
  if (await saveScreenshot()) console.error(`[swagger-check] screenshot of the failure: ${screenshot}`);
  await cleanup();
  process.exit(1);
}

// A bound on the whole run, whatever hangs (a browser that never starts, a wait without timeout).
const watchdog = setTimeout(() => {
  fail(`the whole check took longer than ${TOTAL_TIMEOUT_MS / 1000}s`);
}, TOTAL_TIMEOUT_MS);

async function step(name, fn) {
  log(name);
  try {
    return await fn();
  } catch (err) {
    // Playwright's call logs carry terminal colour codes: drop them for CI logs.
    const plain = String(err?.message ?? err).replace(/\x1b\[[0-9;]*m/g, '');
    const detail = err instanceof CheckFailure ? plain : plain.split('\n').filter((l) => l.trim()).slice(0, 6).join('\n    ');
    await fail(`${name}: ${detail}`);
  }
}

async function main() {
  // A fresh, empty profile every run (Playwright takes it as launchPersistentContext's
  // argument, not as a --user-data-dir flag); removed again in cleanup().
  userDataDir = mkdtempSync(join(tmpdir(), 'kassa-swagger-check-'));
  const context = await step(`launch ${executablePath}`, () =>
    chromium.launchPersistentContext(userDataDir, {
      executablePath,
      headless: true,
      timeout: 30_000,
      viewport: { width: 1280, height: 900 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    }),
  );
  browser = context;
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  page = context.pages()[0] ?? (await context.newPage());

  page.on('pageerror', (err) => problem(`uncaught exception in the page: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const url = msg.location()?.url || '';
    if (url && ignoredUrl(url)) return;
    problem(`console error: ${msg.text()}${url ? ` (${url})` : ''}`);
  });
  page.on('requestfailed', (req) => {
    if (ignoredUrl(req.url())) return;
    problem(`request failed: ${req.method()} ${req.url()}: ${req.failure()?.errorText}`);
  });
  page.on('response', (res) => {
    if (res.status() >= 400 && !ignoredUrl(res.url())) problem(`HTTP ${res.status()} for ${res.request().method()} ${res.url()}`);
  });

  // 1. The page and the spec.
  await step(`open ${base}/swagger/`, async () => {
    const specResponse = page.waitForResponse((r) => new URL(r.url()).pathname === '/api-docs/openapi.json');
    specResponse.catch(() => {}); // awaited below; keeps a failed goto from leaving it unhandled
    const res = await page.goto(`${base}/swagger/`, { waitUntil: 'domcontentloaded' });
    check(res && res.ok(), `GET /swagger/ answered ${res ? res.status() : 'nothing'}`);
    const spec = await specResponse;
    check(spec.ok(), `GET /api-docs/openapi.json answered ${spec.status()}`);
  });

  const meBlock = page.locator('.opblock.opblock-get').filter({
    has: page.locator(`.opblock-summary-path[data-path="${ME_PATH}"]`),
  });
  await step('wait for Swagger UI to render the operations', async () => {
    await page.locator('.swagger-ui .information-container .info .title').waitFor({ state: 'visible' });
    await meBlock.waitFor({ state: 'visible' });
    const specErrors = page.locator('.swagger-ui .errors-wrapper');
    if ((await specErrors.count()) > 0) {
      check(false, `Swagger UI shows errors: ${(await specErrors.first().innerText({ timeout: 2_000 }).catch(() => '?')).slice(0, 500)}`);
    }
    log(`title: ${(await page.locator('.information-container .info .title').innerText()).replace(/\s+/g, ' ')}`);
  });

  // 2. Authorize: both security schemes of the operation.
  const dialog = page.locator('.dialog-ux .modal-ux');
  await step('open the Authorize dialog', async () => {
    await page.locator('.scheme-container .auth-wrapper').getByRole('button', { name: 'Authorize', exact: true }).click();
    await dialog.getByRole('heading', { name: 'Available authorizations' }).waitFor({ state: 'visible' });
  });

  const schemeBox = (scheme) =>
    dialog.locator('.auth-container').filter({ has: page.locator('h4 code', { hasText: new RegExp(`^${scheme}$`) }) });
  await step(`fill ${BEARER_SCHEME} and ${TENANT_SCHEME}`, async () => {
    for (const [scheme, value] of [
      [BEARER_SCHEME, token],
      [TENANT_SCHEME, tenantKey],
    ]) {
      const box = schemeBox(scheme);
      check((await box.count()) === 1, `the dialog has ${await box.count()} sections for the scheme ${scheme}, expected 1`);
      await box.getByRole('textbox').fill(value);
    }
  });
  await step('authorize', async () => {
    // One "Authorize" (aria-label "Apply credentials") per scheme's form; the two filled ones
    // are applied (a till's `deviceToken` stays empty: `me` does not use it).
    for (const scheme of [BEARER_SCHEME, TENANT_SCHEME]) {
      const apply = schemeBox(scheme).getByRole('button', { name: 'Apply credentials' });
      check((await apply.count()) === 1, `the ${scheme} section has ${await apply.count()} "Authorize" buttons, expected 1`);
      await apply.click();
      await schemeBox(scheme).getByRole('heading', { name: 'Authorized' }).waitFor({ state: 'visible' });
    }
  });
  await step('close the dialog', async () => {
    await dialog.locator('.auth-btn-wrapper').getByRole('button', { name: 'Close', exact: true }).first().click();
    await dialog.waitFor({ state: 'hidden' });
    await page.locator('.scheme-container .auth-wrapper button.authorize.locked').waitFor({ state: 'visible' });
  });

  // 3. GET /api/users/auth/me/: expand, Try it out, Execute.
  await step(`expand GET ${ME_PATH}`, async () => {
    const control = meBlock.locator('.opblock-summary-control');
    await control.click();
    await meBlock.locator('.opblock-body').waitFor({ state: 'visible' });
    check((await control.getAttribute('aria-expanded')) === 'true', 'the operation did not expand (aria-expanded is not true)');
  });
  await step('click "Try it out"', async () => {
    await meBlock.getByRole('button', { name: 'Try it out' }).click();
    await meBlock.getByRole('button', { name: 'Execute' }).waitFor({ state: 'visible' });
  });

  const request = await step('click "Execute" and wait for the API call', async () => {
    const call = page.waitForResponse(
      (r) => new URL(r.url()).pathname === ME_PATH && r.request().method() === 'GET',
    );
    call.catch(() => {}); // awaited below
    await meBlock.getByRole('button', { name: 'Execute' }).click();
    const res = await call;
    const headers = await res.request().allHeaders();
    check(headers.authorization === `Bearer ${token}`, `the request did not carry "Authorization: Bearer <KASSA_TOKEN>" (got ${headers.authorization ? 'another value' : 'none'})`);
    check(headers[TENANT_HEADER] === tenantKey, `the request did not carry "X-Tenant-Key: ${tenantKey}" (got ${JSON.stringify(headers[TENANT_HEADER] ?? null)})`);
    check(new URL(res.url()).origin === origin, `Swagger UI called ${res.url()}, not ${origin}`);
    log(`API answered ${res.status()}`);
    return res;
  });

  // 4. What the UI shows.
  await step('read the live response in the UI', async () => {
    const live = meBlock.locator('.live-responses-table');
    const status = live.locator('tbody tr.response td.response-col_status');
    await status.waitFor({ state: 'visible' });
    const code = (await status.innerText()).trim();
    const body = live.locator('.response-col_description pre').first();
    await body.waitFor({ state: 'visible' });
    const text = await body.innerText();
    check(code.startsWith('200'), `the UI shows response code ${JSON.stringify(code)}, expected 200; body: ${text.slice(0, 500)}`);
    check(request.status() === 200, `the API answered ${request.status()}`);
    check(
      text.includes(`"username": ${JSON.stringify(username)}`) || text.includes(`"username":${JSON.stringify(username)}`),
      `the response body shown does not contain "username": ${JSON.stringify(username)}; body: ${text.slice(0, 500)}`,
    );
    log(`UI shows code ${code} and a body with "username": ${JSON.stringify(username)}`);
  });

  // Let late console messages or requests arrive before judging the page.
  await page.waitForTimeout(300);
  check(await saveScreenshot(), `could not save the screenshot to ${screenshot}`);
  log(`screenshot: ${screenshot}`);
  if (problems.length) await fail(`the page had ${problems.length} problem(s) that matter`);

  clearTimeout(watchdog);
  await cleanup();
  log(`PASS: Swagger UI authorized, executed GET ${ME_PATH} and showed 200 with the caller's username`);
}

main().catch((err) => fail(err.stack || String(err)));
