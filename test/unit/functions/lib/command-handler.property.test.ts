import fc from 'fast-check';
import { type CommandRoutes, makeCommandHandler } from '../../../../functions/lib/command-handler';
import type { WebSocketEvent } from '../../../../functions/lib/websocket-event';
import { type Action, commandSchemas } from '../../../../shared/protocol/commands';
import { actions, anyFrameText, anyRid, commandFrame, fieldsOf, fieldValues, noKnownIds, objectWithRandomAction } from '../../../support/frames';

/**
 * Property: whatever a client sends, the command handler answers one response envelope, 2xx or 4xx, never
 * a 5xx and never a thrown error; and it answers 200 exactly when the action is known and its arguments
 * satisfy the command's schema. Every action has a route that returns its validated arguments, so the
 * parser and every schema are exercised without the use cases (those are fuzzed end to end in
 * test/e2e/fuzz.test.ts). The rate limiter is out of the way here; test/unit/shared/rate-limit.test.ts has it.
 */

const routes: Record<Action, (args: unknown) => Promise<unknown>> = Object.fromEntries(actions.map((action) => [action, async (args: unknown) => args])) as Record<
  Action,
  (args: unknown) => Promise<unknown>
>;
const handler = makeCommandHandler(routes satisfies CommandRoutes, { rateLimiter: { admit: () => undefined, admitPing: () => undefined } });
const caller = { uri: 'sip:fuzz@contoso.com', kind: 'enterprise', name: 'Fuzz', device: 'desktop' };

let framesTried = 0;

async function answer(body: string) {
  framesTried++;
  const event: WebSocketEvent = {
    requestContext: { routeKey: '$default', eventType: 'MESSAGE', connectionId: 'conn-fuzz', requestId: `req-${framesTried}`, authorizer: caller },
    body,
  };
  const result = await handler(event);
  expect(result.statusCode).toBe(200);
  const response = JSON.parse(result.body ?? 'null') as { type: string; status: number; rid?: unknown; body?: unknown; error?: { code: string; field?: string } };
  expect(response.type).toBe('response');
  expect(response.status === 200 || (response.status >= 400 && response.status < 500)).toBe(true);
  return response;
}

/** What the handler must answer, decided independently of parseFrame: 200 with the parsed args, or 400 naming the field. */
function expected(frame: Record<string, unknown>): { status: 200; body: unknown } | { status: 400; field?: string } {
  const { action, rid, ...args } = frame;
  if (rid !== undefined && (typeof rid !== 'string' || rid.length > 128)) return { status: 400, field: 'rid' };
  if (typeof action !== 'string') return { status: 400, field: 'action' };
  if (!Object.hasOwn(commandSchemas, action)) return { status: 400, field: 'action' };
  const parsed = commandSchemas[action as Action].safeParse(args);
  return parsed.success ? { status: 200, body: JSON.parse(JSON.stringify(parsed.data ?? {})) } : { status: 400 };
}

describe('property: every frame is answered 2xx or 4xx, never 5xx, never a throw', () => {
  afterAll(() => {
    // The figure docs/reliability.md reports: at least 10,000 frames through the handler.
    expect(framesTried).toBeGreaterThanOrEqual(10_000);
  });

  it('every field of every command has a generator', () => {
    for (const action of actions) {
      const values = fieldValues(noKnownIds);
      expect(fieldsOf(action).filter((field) => !(field in values))).toEqual([]);
    }
  });

  it('any text: not JSON, JSON that is not an object, frames cut short', async () => {
    await fc.assert(
      fc.asyncProperty(anyFrameText, async (text) => {
        const response = await answer(text);
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch {
          expect(response.status).toBe(400);
          return;
        }
        if (typeof value !== 'object' || value === null || Array.isArray(value)) expect(response.status).toBe(400);
        else expect(response.status).toBe(expected(value as Record<string, unknown>).status);
      }),
      { numRuns: 3_000 },
    );
  });

  it('objects with a random, near-miss or mistyped action are 400 naming the action (or the rid)', async () => {
    await fc.assert(
      fc.asyncProperty(objectWithRandomAction, anyRid, async (frame, rid) => {
        const sent = { ...frame, rid };
        const response = await answer(JSON.stringify(sent));
        const want = expected(JSON.parse(JSON.stringify(sent)) as Record<string, unknown>);
        expect(response.status).toBe(want.status);
        if (want.status === 400 && want.field) expect(response.error?.field).toBe(want.field);
      }),
      { numRuns: 2_000 },
    );
  });

  it('every known action with right, mistyped, missing and extra fields: 200 exactly when the schema accepts, else 400', async () => {
    await fc.assert(
      fc.asyncProperty(commandFrame(), fc.string({ maxLength: 128 }), async (frame, rid) => {
        const sent = JSON.parse(JSON.stringify({ ...frame, rid })) as Record<string, unknown>;
        const response = await answer(JSON.stringify(sent));
        const want = expected(sent);
        expect(response.status).toBe(want.status);
        expect(response.rid).toBe(rid);
        if (want.status === 200) expect(response.body).toEqual(want.body);
        else expect(response.error?.code).toBe('BadRequest');
      }),
      { numRuns: 6_000 },
    );
  });

  it('every action is generated, accepted at least once and refused at least once', async () => {
    const accepted = new Set<string>();
    const refused = new Set<string>();
    const samples = fc.sample(commandFrame(), { numRuns: 4_000, seed: 11 });
    for (const frame of samples) {
      const response = await answer(JSON.stringify(frame));
      (response.status === 200 ? accepted : refused).add(frame.action);
    }
    expect([...accepted].sort()).toEqual([...actions].sort());
    // Commands without arguments (ping, chat.getserverinfo, chat.getinv) ignore extra fields: never refused.
    expect(actions.filter((action) => fieldsOf(action).length > 0 && !refused.has(action))).toEqual([]);
  });
});
