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
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { check, harness } from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');

const ME_PATH = '/api/users/auth/me/';
// Names from components.securitySchemes in openapi/openapi.json.
const BEARER_SCHEME = 'bearerAuth';
const TENANT_SCHEME = 'tenantKey';
const TENANT_HEADER = 'x-tenant-key';

const STEP_TIMEOUT_MS = 15_000; // any one wait
const TOTAL_TIMEOUT_MS = 50_000; // the whole check, browser start to screenshot

// Ignored: favicons (cosmetic), and Swagger's online-validator badge, a third-party image that
// cannot load on a closed network (Swagger UI only shows it for non-localhost spec URLs).
const ignoredUrl = (url) => /\/favicon[^/]*$/i.test(new URL(url, base).pathname) || /validator\.swagger\.io/i.test(url);

async function saveScreenshot(page) {
  try {
    mkdirSync(dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true, timeout: 10_000 });
    return screenshot;
  } catch (err) {
    console.error(`[swagger-check] could not save a screenshot: ${err.message.split('\n')[0]}`);
    return null;
  }
}

const { log, requireEnv, problems, step, fail, launch, pass } = harness('swagger-check', {
  totalTimeoutMs: TOTAL_TIMEOUT_MS,
  ignoredUrl,
  screenshotOnFailure: saveScreenshot,
});

const base = requireEnv('KASSA_URL').replace(/\/+$/, '');
const token = requireEnv('KASSA_TOKEN');
const tenantKey = requireEnv('KASSA_TENANT_KEY');
const username = requireEnv('KASSA_USERNAME');
const screenshot = resolve(repo, process.env.SCREENSHOT || 'target/swagger-check.png');
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const origin = new URL(base).origin;

async function main() {
  const page = await launch(executablePath, STEP_TIMEOUT_MS);

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
  check(await saveScreenshot(page), `could not save the screenshot to ${screenshot}`);
  log(`screenshot: ${screenshot}`);
  if (problems.length) await fail(`the page had ${problems.length} problem(s) that matter`);

  await pass(`Swagger UI authorized, executed GET ${ME_PATH} and showed 200 with the caller's username`);
}

main().catch((err) => fail(err.stack || String(err)));
