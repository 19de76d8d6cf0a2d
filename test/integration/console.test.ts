import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { defaultBreakerConfig } from '../../libs/breaker';
import { overviewResponseSchema } from '../../libs/breaker/api-schemas';
import type { TopicNames } from '../../libs/kafka';
import { silentLogger } from '../../libs/logger';
import { breakerEnvSchema } from '../../services/breaker/config';
import { OperatorRegistry, newOperatorLine } from '../../services/breaker/operators';
import { startBreakerService, type RunningBreakerService } from '../../services/breaker/service';
import {
  cleanRedis,
  deleteTopicsWithPrefix,
  provisionTopics,
  testKafka,
  testRedis,
  uniquePrefix,
  waitFor,
} from '../helpers/env';
import { testFlag } from '../helpers/flags';
import { serviceEnv } from '../helpers/service-env';

jest.setTimeout(120000);

/** Debian's Chromium (scripts/tools.sh installs it); playwright-core's own browser download does not work here. */
const CHROMIUM = process.env.BULWARK_CHROMIUM ?? '/usr/bin/chromium';
/** Screenshots of each step, kept as test artifacts (the README's come from here). */
const ARTIFACTS = path.resolve(__dirname, '../../.cache/test-artifacts/console');

/**
 * The operator console in a real browser against a real breaker service (Kafka, Redis): two operators in two
 * browser contexts sign in, alice halts `global`, alice approves a resume (the four eyes show who approved
 * and who is still needed), bob approves and the scope opens. Screenshots of each step are kept.
 */
describe('operator console in headless Chromium', () => {
  const redis = testRedis();
  const kafka = testKafka();
  const prefix = uniquePrefix('console');
  const alice = newOperatorLine('alice');
  const bob = newOperatorLine('bob');
  const viewer = newOperatorLine('viewer', undefined, 'audit');
  let topics: TopicNames;
  let service: RunningBreakerService | undefined;
  let browser: Browser | undefined;
  let base = '';

  beforeAll(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    topics = await provisionTopics(kafka, prefix, 1);
    const env = {
      ...breakerEnvSchema.parse({
        ...serviceEnv(prefix, { partitions: 1 }),
        BULWARK_FLAG_ORDER_MAX_HOLD_MS: '0',
      }),
      BULWARK_BREAKER_PORT: 0,
    };
    const operators = OperatorRegistry.parse(`${alice.line},${bob.line},${viewer.line}`, 'test');
    service = await startBreakerService(env, operators, defaultBreakerConfig(), silentLogger());
    base = `http://127.0.0.1:${service.port}`;
    await waitFor(async () => (await fetch(`${base}/readyz`)).ok);
    // One critical flag: below the critical-users threshold, it shows in the feed and in its window.
    const producer = kafka.producer();
    await producer.connect();
    await producer.send([
      {
        topic: topics.flags,
        key: 'u-1',
        value: JSON.stringify(
          testFlag('w-1', Date.parse('2022-01-17T00:00:30.000Z'), {
            userId: 'u-1',
            occurredAt: '2022-01-17T00:00:00.000Z',
            amountUsd: 4800.5,
          }),
        ),
      },
    ]);
    await producer.disconnect();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  });

  afterAll(async () => {
    await browser?.close();
    await service?.stop();
    await deleteTopicsWithPrefix(kafka, prefix);
    await kafka.close();
    await cleanRedis(redis, prefix);
    redis.disconnect();
  });

  async function signedIn(token: string): Promise<Page> {
    const context = await browser!.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.on('pageerror', (err) => {
      throw err;
    });
    await page.goto(`${base}/console/`);
    await page.fill('#token', token);
    await page.click('#signin');
    await page.waitForSelector('#app:not([hidden])');
    return page;
  }

  const scopeRow = (page: Page, scope: string) => page.locator(`#scopes tr[data-scope="${scope}"]`);
  const shot = (page: Page, name: string) =>
    page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });

  it('is served with a strict CSP, no inline script, and its data only behind operator authentication', async () => {
    const res = await fetch(`${base}/console/`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    const html = await res.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // every script is a file from this origin
    expect(html).not.toMatch(/\son[a-z]+=/i); // no inline event handlers
    expect((await fetch(`${base}/v1/breaker/overview`)).status).toBe(401);
    const asViewer = await fetch(`${base}/v1/breaker/overview`, {
      headers: { authorization: `Bearer ${viewer.token}` },
    });
    expect(asViewer.status).toBe(200);
    // The answer is what docs/api/openapi.json says it is.
    const overview = overviewResponseSchema.parse(await asViewer.json());
    expect(overview.operator).toBe('viewer');
    expect(overview.scopes.map((x) => x.scope)).toContain('global');
  });

  it('refuses a wrong token at sign-in', async () => {
    const context = await browser!.newContext();
    const page = await context.newPage();
    await page.goto(`${base}/console/`);
    await page.fill('#token', 'not-a-token');
    await page.click('#signin');
    await page.waitForSelector('text=Sign-in refused');
    expect(await page.isHidden('#app')).toBe(true);
    await context.close();
  });

  it('two operators: a halt, then a four-eyes resume, each confirmed and with a reason', async () => {
    const a = await signedIn(alice.token);
    const b = await signedIn(bob.token);
    // The flag in the feed and its window against the threshold (1 of 3 users).
    await a.waitForSelector('#flags td:text("w-1")');
    await expect(a.textContent('#who')).resolves.toBe('signed in as alice');
    const window = a.locator('#windows tr', { hasText: 'critical-users' });
    await expect(window.locator('td').nth(2).textContent()).resolves.toBe('1');
    await shot(a, '1-signed-in');

    // Alice halts global: a confirmation, then the state.
    await a.fill('#halt-scope', 'global');
    await a.fill('#halt-reason', 'suspicious approvals without MFA');
    a.once('dialog', (d) => void d.accept());
    await a.click('#halt');
    await waitFor(
      async () => (await scopeRow(a, 'global').textContent())?.includes('halted') ?? false,
      10000,
    );
    await expect(scopeRow(a, 'global').textContent()).resolves.toContain('alice');
    await shot(a, '2-halted');

    // Alice approves the resume: pending, she is shown as approved and one more operator is needed.
    await a.fill('#resume-scope', 'global');
    await a.fill('#resume-reason', 'contained, fix deployed');
    a.once('dialog', (d) => void d.accept());
    await a.click('#resume');
    await a.waitForSelector('#message:has-text("more operator")');
    await waitFor(
      async () =>
        (await scopeRow(a, 'global').locator('.four-eyes').textContent())?.includes('alice approved') ??
        false,
      10000,
    );
    await shot(a, '3-one-approval');

    // Bob sees alice's approval and that one more is needed, then approves: global opens.
    await waitFor(
      async () =>
        (await scopeRow(b, 'global').locator('.four-eyes').textContent())?.includes(
          '1 more operator needed',
        ) ?? false,
      10000,
    );
    await shot(b, '4-bob-sees-pending');
    await b.fill('#resume-scope', 'global');
    await b.fill('#resume-reason', 'verified with alice');
    b.once('dialog', (d) => void d.accept());
    await b.click('#resume');
    await waitFor(async () => (await scopeRow(b, 'global').textContent())?.includes('open') ?? false, 10000);
    await b.waitForSelector('#audit td:text("resume")');
    await shot(b, '5-resumed');

    // The same outcome through the API a withdrawal service reads.
    const status = (await (await fetch(`${base}/v1/withdrawals/status`)).json()) as { allowed: boolean };
    expect(status.allowed).toBe(true);
    for (const name of ['1-signed-in', '2-halted', '3-one-approval', '4-bob-sees-pending', '5-resumed'])
      expect(fs.statSync(path.join(ARTIFACTS, `${name}.png`)).size).toBeGreaterThan(1000);
  });

  it('a dismissed confirmation changes nothing', async () => {
    const a = await signedIn(alice.token);
    await a.fill('#halt-scope', 'asset:BTC');
    await a.fill('#halt-reason', 'second thoughts');
    a.once('dialog', (d) => void d.dismiss());
    await a.click('#halt');
    await a.waitForSelector('#message:has-text("cancelled")');
    const s = (await (await fetch(`${base}/v1/withdrawals/status?asset=BTC`)).json()) as { allowed: boolean };
    expect(s.allowed).toBe(true);
  });
});
