import { startTestCloud, type TestCloud } from '../support/cloud';

let cloud: TestCloud;

beforeAll(async () => {
  // API Gateway's 10-minute idle and 2-hour limits, shortened.
  cloud = await startTestCloud({ idleTimeoutSeconds: 1, maxConnectionSeconds: 3 });
});
afterAll(async () => {
  await cloud.stop();
});

test('an idle connection is closed after the idle timeout (1001 going away)', async () => {
  const client = await cloud.connect('sip:idle@contoso.com');
  expect(await client.waitClosed(5000)).toBe(1001);
});

test('ping is activity: it keeps a connection past the idle timeout, until the maximum lifetime', async () => {
  const client = await cloud.connect('sip:pinger@contoso.com');
  const openedAt = Date.now();
  const pinger = setInterval(() => void client.request('ping').catch(() => undefined), 300);
  try {
    expect(await client.waitClosed(6000)).toBe(1001);
  } finally {
    clearInterval(pinger);
  }
  expect(Date.now() - openedAt).toBeGreaterThanOrEqual(2900);
});
