import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Browser, type BrowserContext, type BrowserContextOptions, chromium, type Locator, type Page } from 'playwright-core';
import type { TestCloud } from './cloud';

/**
 * The browser suites' shared setup (web.test.ts, web-followups.test.ts, web-issue22.test.ts): Debian's Chromium driven by
 * playwright-core against the built web app (web/dist, rebuilt when stale), and the sign-in a person does
 * through the local OIDC issuer.
 */

const ROOT = resolve(__dirname, '..', '..');
export const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];
/** Page waits: generous, since this machine has 2 cores and other test files run beside this one. */
export const WAIT_MS = 30_000;

/** Builds web/dist (as `npm run build:web` does) when it is missing or older than the app's or the client's sources. */
export function buildWebAppIfStale(): void {
  const built = join(ROOT, 'web', 'dist', 'index.html');
  const sources = [join(ROOT, 'web', 'src'), join(ROOT, 'client', 'src'), join(ROOT, 'web', 'index.html'), join(ROOT, 'web', 'vite.config.ts')];
  if (existsSync(built) && statSync(built).mtimeMs >= Math.max(...sources.map(newestMtime))) return;
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', 'web/vite.config.ts'], { cwd: ROOT, stdio: 'pipe', timeout: 180_000 });
}

function newestMtime(path: string): number {
  const info = statSync(path);
  if (!info.isDirectory()) return info.mtimeMs;
  return Math.max(info.mtimeMs, ...readdirSync(path).map((entry) => newestMtime(join(path, entry))));
}

/** One Chromium for a test file; each tab is a fresh context (its own storage: another person), closed after each test. */
export class BrowserSession {
  private readonly contexts: BrowserContext[] = [];
  /** Uncaught errors of any page: a test that leaves one fails in `closeTabs`. */
  readonly pageErrors: string[] = [];

  private constructor(readonly browser: Browser) {}

  /** Builds the app if stale and launches Chromium (missing: a failure saying how to install it). */
  static async launch(): Promise<BrowserSession> {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium is missing at ${CHROMIUM}: the browser tests need Debian's chromium (apt-get install -y chromium; .ci/run installs it)`);
    }
    buildWebAppIfStale();
    return new BrowserSession(await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 }));
  }

  async newTab(options: BrowserContextOptions = {}): Promise<Page> {
    const context = await this.browser.newContext({ viewport: { width: 1280, height: 760 }, ...options });
    this.contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT_MS);
    page.on('pageerror', (error) => this.pageErrors.push(`${error.name}: ${error.message}`));
    return page;
  }

  /** Closes this test's tabs and answers the page errors they had (a test expects none). */
  async closeTabs(): Promise<string[]> {
    await Promise.all(this.contexts.splice(0).map((context) => context.close()));
    return this.pageErrors.splice(0);
  }

  async close(): Promise<void> {
    await this.browser.close();
  }
}

export interface SignIn {
  readonly uri: string;
  readonly name: string;
  readonly kind?: string;
  /** Where the app is served (default: the cloud's own origin). */
  readonly appUrl?: string;
  /** Runs on the issuer's filled-in form, before it is submitted (a screenshot). */
  readonly beforeSubmit?: (page: Page) => Promise<void>;
}

/** Signs in as a person does: the app's Sign in, the local OIDC issuer's development form, back to the app (code + PKCE). */
export async function signIn(page: Page, cloud: TestCloud, { uri, name, kind = 'enterprise', appUrl = cloud.cloud.url + '/', beforeSubmit }: SignIn): Promise<void> {
  await page.goto(appUrl);
  await page.getByTestId('signin-start').click();
  await page.waitForURL(`${cloud.cloud.oidc.issuer}/authorize?*`);
  await page.getByTestId('signin-uri').fill(uri);
  await page.getByTestId('signin-name').fill(name);
  await page.getByTestId('signin-kind').selectOption(kind);
  await beforeSubmit?.(page);
  await page.getByTestId('signin-submit').click();
  await page.locator('[data-testid="conn-state"][data-state="open"]').waitFor();
}

export async function see(locator: Locator, timeout = WAIT_MS): Promise<void> {
  await locator.first().waitFor({ state: 'visible', timeout });
}
