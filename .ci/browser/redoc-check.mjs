// Real-browser check of kassa's ReDoc page (run through `.ci/browser/run redoc`).
//
// In headless Debian Chromium, /redoc/ renders the OpenAPI document kassa serves, and lists
// every operation in it; every request the page makes stays on kassa's own origin (ReDoc's
// script is served by kassa), and nothing fails on the way (page errors, console errors,
// failed or >= 400 requests). A screenshot goes to SCREENSHOT.
//
// Env: KASSA_URL (required); SCREENSHOT (default <repo>/target/redoc-check.png); CHROMIUM.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { check, harness } from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');
const STEP_TIMEOUT_MS = 30_000;

const { log, requireEnv, problems, step, fail, launch, pass } = harness('redoc-check', {
  totalTimeoutMs: 120_000,
  ignoredUrl: (url) => /\/favicon[^/]*$/i.test(new URL(url).pathname),
  screenshotOnFailure: async (page) => {
    await page.screenshot({ path: screenshot, fullPage: false, timeout: 10_000 });
    return screenshot;
  },
});

const base = requireEnv('KASSA_URL').replace(/\/+$/, '');
const screenshot = resolve(repo, process.env.SCREENSHOT || 'target/redoc-check.png');
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const origin = new URL(base).origin;

async function main() {
  const page = await launch(executablePath, STEP_TIMEOUT_MS);
  const elsewhere = [];
  page.on('request', (req) => {
    const url = req.url();
    if (!url.startsWith('blob:') && !url.startsWith('data:') && new URL(url).origin !== origin) elsewhere.push(url);
  });

  const expected = await step('read the operations of the document kassa serves', async () => {
    const answer = await fetch(`${base}/api-docs/openapi.json`);
    check(answer.status === 200, `the document answered ${answer.status}`);
    const spec = await answer.json();
    const methods = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];
    const ids = Object.values(spec.paths).flatMap((item) => methods.filter((m) => item[m]).map((m) => item[m].operationId));
    check(ids.length > 50 && ids.every(Boolean), `operations without an id, or too few: ${ids.length}`);
    return ids;
  });

  await step('/redoc/ renders every operation of the document', async () => {
    await page.goto(`${base}/redoc/`, { waitUntil: 'load' });
    await page.locator('[data-section-id^="operation/"]').first().waitFor();
    const shown = await page.$$eval('[data-section-id^="operation/"]', (nodes) =>
      nodes.map((node) => node.getAttribute('data-section-id').slice('operation/'.length)),
    );
    const missing = expected.filter((id) => !shown.includes(id));
    check(missing.length === 0, `ReDoc does not show ${missing.length} operations: ${missing.slice(0, 5).join(', ')}`);
    log(`${shown.length} operations shown, ${expected.length} in the document`);
    await page.screenshot({ path: screenshot, fullPage: false, timeout: 10_000 });
  });

  await step('no request left kassa\'s origin', async () => check(elsewhere.length === 0, elsewhere.slice(0, 5).join(', ')));
  await step('nothing failed on the way', async () => check(problems.length === 0, problems.join('; ')));
  await pass(`every operation shown; screenshot in ${screenshot}`);
}

main().catch((err) => fail(String(err?.stack ?? err)));
