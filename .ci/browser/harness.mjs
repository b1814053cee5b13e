// What every browser check of kassa shares (swagger-check.mjs, console-check.mjs): its log,
// its environment, steps that fail with a readable message, the page problems that matter
// (page errors, console errors, failed or >= 400 requests), a fresh headless Debian Chromium,
// a watchdog over the whole run, and clean-up.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class CheckFailure extends Error {}

export const check = (cond, msg) => {
  if (!cond) throw new CheckFailure(msg);
};

/// A check run named `name`: `ignoredUrl(url)` says which requests do not matter;
/// `screenshotOnFailure(page)` saves what the page showed and returns where (or null).
export function harness(name, { totalTimeoutMs, ignoredUrl, screenshotOnFailure }) {
  const started = Date.now();
  const log = (msg) => console.log(`[${name} +${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);
  const problems = [];
  const problem = (what) => {
    problems.push(what);
    log(`problem: ${what}`);
  };
  let context;
  let page;
  let userDataDir;

  function requireEnv(variable) {
    const value = process.env[variable];
    if (!value) {
      console.error(`[${name}] FAIL: env ${variable} is not set`);
      process.exit(2);
    }
    return value;
  }

  async function cleanup() {
    try {
      if (context) await context.close();
    } catch {
      /* the browser may already be gone */
    }
    try {
      // Chromium's last writes can race the removal (ENOTEMPTY): retry a little.
      if (userDataDir) rmSync(userDataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    } catch (err) {
      console.error(`[${name}] could not remove ${userDataDir}: ${err.message}`);
    }
  }

  let failing = false;
  async function fail(message) {
    if (failing) return; // a second failure (the watchdog, a late rejection) while reporting the first
    failing = true;
    console.error(`\n[${name}] FAIL: ${message}`);
    for (const p of problems) console.error(`[${name}]   page problem: ${p}`);
    const saved = page ? await screenshotOnFailure(page).catch(() => null) : null;
    if (saved) console.error(`[${name}] screenshot of the failure: ${saved}`);
    await cleanup();
    process.exit(1);
  }

  // A bound on the whole run, whatever hangs (a browser that never starts, a wait without timeout).
  const watchdog = setTimeout(() => fail(`the whole check took longer than ${totalTimeoutMs / 1000}s`), totalTimeoutMs);

  async function step(title, fn) {
    log(title);
    try {
      return await fn();
    } catch (err) {
      // Playwright's call logs carry terminal colour codes: drop them for CI logs.
      const plain = String(err?.message ?? err).replace(/\x1b\[[0-9;]*m/g, '');
      const detail = err instanceof CheckFailure ? plain : plain.split('\n').filter((l) => l.trim()).slice(0, 6).join('\n    ');
      await fail(`${title}: ${detail}`);
    }
  }

  /// A fresh, empty profile every run (Playwright takes it as launchPersistentContext's
  /// argument, not as a --user-data-dir flag), its page watched for problems.
  async function launch(executablePath, stepTimeoutMs) {
    userDataDir = mkdtempSync(join(tmpdir(), `kassa-${name}-`));
    context = await step(`launch ${executablePath}`, () =>
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
    context.setDefaultTimeout(stepTimeoutMs);
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
    return page;
  }

  /// Ends a run that passed.
  async function pass(message) {
    clearTimeout(watchdog);
    await cleanup();
    log(`PASS: ${message}`);
  }

  return { log, requireEnv, problems, step, fail, launch, pass };
}
