import { z } from 'zod';
import {
  BadRequestError,
  ForbiddenError,
  GoneError,
  TooManyRequestsError,
  UnauthorizedError,
  UnavailableError,
} from '../../../../shared/errors';
import { errorResponse, okResponse, parseFrame, ridOf, serverEvent, validateArgs } from '../../../../shared/protocol/envelope';

/** Runs `act`, expecting a BadRequestError, and returns it for further assertions. */
function badRequestFrom(act: () => unknown): BadRequestError {
  try {
    act();
  } catch (error) {
    expect(error).toBeInstanceOf(BadRequestError);
    return error as BadRequestError;
  }
  throw new Error('expected a BadRequestError, but nothing was thrown');
}

describe('parseFrame', () => {
  it('splits a frame into action, rid and the remaining arguments', () => {
    const frame = parseFrame(JSON.stringify({ action: 'conf.join', rid: 'c-17', conferenceId: 'x', muted: true }));

    expect(frame).toEqual({ action: 'conf.join', rid: 'c-17', args: { conferenceId: 'x', muted: true } });
  });

  it('a frame without rid is accepted with rid undefined', () => {
    const frame = parseFrame('{"action":"ping"}');

    expect(frame.action).toBe('ping');
    expect(frame.rid).toBeUndefined();
    expect(frame.args).toEqual({});
  });

  it.each(['{not json', '', '{"action":"ping"', 'undefined'])('malformed JSON is a 400 (%p)', (text) => {
    const error = badRequestFrom(() => parseFrame(text));

    expect(error.status).toBe(400);
    expect(error.message).toMatch(/malformed JSON/);
  });

  it.each([null, undefined])('a missing body is a 400 (%p)', (text) => {
    const error = badRequestFrom(() => parseFrame(text));

    expect(error.message).toMatch(/malformed JSON/);
  });

  it.each(['[]', '[{"action":"ping"}]', '"ping"', '42', 'null', 'true'])('a frame that is not a JSON object is a 400 (%s)', (text) => {
    const error = badRequestFrom(() => parseFrame(text));

    expect(error.message).toMatch(/expected a JSON object/);
  });

  it('a missing action is a 400 naming the field action', () => {
    const error = badRequestFrom(() => parseFrame('{"rid":"r1","to":"sip:bob@contoso.com"}'));

    expect(error.field).toBe('action');
    expect(error.message).toMatch(/'action' is required/);
  });

  it.each(['42', 'null', '{}', '["ping"]'])('a mistyped action is a 400 naming the field action (%s)', (action) => {
    const error = badRequestFrom(() => parseFrame(`{"action":${action}}`));

    expect(error.field).toBe('action');
    expect(error.message).toMatch(/'action' must be a string/);
  });

  it.each(['42', 'null', '{}'])('a mistyped rid is a 400 naming the field rid (%s)', (rid) => {
    const error = badRequestFrom(() => parseFrame(`{"action":"ping","rid":${rid}}`));

    expect(error.field).toBe('rid');
  });

  it('a rid longer than 128 characters is a 400 naming the field rid', () => {
    const error = badRequestFrom(() => parseFrame(JSON.stringify({ action: 'ping', rid: 'r'.repeat(129) })));

    expect(error.field).toBe('rid');
  });

  it('a rid of exactly 128 characters is accepted', () => {
    const rid = 'r'.repeat(128);

    expect(parseFrame(JSON.stringify({ action: 'ping', rid })).rid).toBe(rid);
  });
});

describe('ridOf', () => {
  it('is the rid of a valid frame', () => {
    expect(ridOf('{"action":"ping","rid":"p-1"}')).toBe('p-1');
  });

  it('is the rid even when the rest of the frame is bad', () => {
    expect(ridOf('{"action":42,"rid":"p-2"}')).toBe('p-2');
    expect(ridOf('{"rid":"p-3"}')).toBe('p-3');
  });

  it.each(['{not json', '', '[]', 'null', '"p-1"'])('is undefined for text that is not a JSON object (%p)', (text) => {
    expect(ridOf(text)).toBeUndefined();
  });

  it.each([null, undefined])('is undefined for a missing body (%p)', (text) => {
    expect(ridOf(text)).toBeUndefined();
  });

  it('is undefined when rid is not a string', () => {
    expect(ridOf('{"action":"ping","rid":7}')).toBeUndefined();
  });

  it('is undefined when rid is longer than 128 characters', () => {
    expect(ridOf(JSON.stringify({ action: 'ping', rid: 'r'.repeat(129) }))).toBeUndefined();
  });

  it('is undefined when the frame has no rid', () => {
    expect(ridOf('{"action":"ping"}')).toBeUndefined();
  });
});

describe('validateArgs', () => {
  const sendSchema = z.object({
    to: z.string(),
    text: z.string().max(10),
    urgent: z.boolean().default(false),
  });

  it('valid arguments are returned parsed, with defaults applied', () => {
    const args = validateArgs(sendSchema, { to: 'sip:bob@contoso.com', text: 'hi' });

    expect(args).toEqual({ to: 'sip:bob@contoso.com', text: 'hi', urgent: false });
  });

  it('unknown arguments are dropped', () => {
    const args = validateArgs(sendSchema, { to: 'sip:bob@contoso.com', text: 'hi', extra: 1 });

    expect(args).not.toHaveProperty('extra');
  });

  it('a missing argument is a 400 naming the field', () => {
    const error = badRequestFrom(() => validateArgs(sendSchema, { text: 'hi' }));

    expect(error.status).toBe(400);
    expect(error.field).toBe('to');
    expect(error.message).toContain("field 'to'");
  });

  it('a mistyped argument is a 400 naming the field', () => {
    const error = badRequestFrom(() => validateArgs(sendSchema, { to: 'sip:bob@contoso.com', text: 42 }));

    expect(error.field).toBe('text');
    expect(error.message).toContain("field 'text'");
    expect(error.message).toMatch(/string/);
  });

  it('an out-of-range argument is a 400 naming the field', () => {
    const error = badRequestFrom(() => validateArgs(sendSchema, { to: 'sip:bob@contoso.com', text: 'x'.repeat(11) }));

    expect(error.field).toBe('text');
  });

  it('a nested field is named by its dotted path', () => {
    const schema = z.object({ target: z.object({ uri: z.string() }), items: z.array(z.number()) });

    const nested = badRequestFrom(() => validateArgs(schema, { target: { uri: 5 }, items: [] }));
    const indexed = badRequestFrom(() => validateArgs(schema, { target: { uri: 'u' }, items: [1, 'two'] }));

    expect(nested.field).toBe('target.uri');
    expect(nested.message).toContain("field 'target.uri'");
    expect(indexed.field).toBe('items.1');
  });

  it('a problem with the arguments as a whole is a 400 without a field', () => {
    const schema = z.object({ a: z.string().optional(), b: z.string().optional() }).refine((v) => v.a !== undefined || v.b !== undefined, {
      message: 'one of a or b is required',
    });

    const error = badRequestFrom(() => validateArgs(schema, {}));

    expect(error.field).toBeUndefined();
    expect(error.message).toBe('one of a or b is required');
  });
});

describe('okResponse', () => {
  it('is a 200 response echoing the rid with the body', () => {
    expect(okResponse('r1', { pong: true })).toEqual({ type: 'response', rid: 'r1', status: 200, body: { pong: true } });
  });

  it.each([undefined, null])('a missing body becomes an empty object (%p)', (body) => {
    expect(okResponse('r1', body).body).toEqual({});
  });

  it('without a rid the serialized response has no rid', () => {
    expect(JSON.parse(JSON.stringify(okResponse(undefined, { pong: true })))).toEqual({ type: 'response', status: 200, body: { pong: true } });
  });
});

describe('errorResponse', () => {
  it('an AppError keeps its status, code and message', () => {
    const response = errorResponse('r1', new ForbiddenError('not an organizer'), 'corr-1');

    expect(response).toEqual({ type: 'response', rid: 'r1', status: 403, error: { code: 'Forbidden', message: 'not an organizer' } });
  });

  it('a bad request carries the field it names', () => {
    const response = errorResponse('r1', new BadRequestError("field 'to' is required", 'to'), 'corr-1');

    expect(response.status).toBe(400);
    expect(response.error).toEqual({ code: 'BadRequest', message: "field 'to' is required", field: 'to' });
  });

  it('a bad request without a field has no field key', () => {
    const response = errorResponse('r1', new BadRequestError('malformed JSON'), 'corr-1');

    expect(response.error).not.toHaveProperty('field');
  });

  it('429 and 503 carry retryAfterMs', () => {
    expect(errorResponse('r', new TooManyRequestsError('slow', 1000), 'c').error).toEqual({
      code: 'TooManyRequests',
      message: 'slow',
      retryAfterMs: 1000,
    });
    expect(errorResponse('r', new UnavailableError('later', 200), 'c').error.retryAfterMs).toBe(200);
  });

  it('other errors carry no retryAfterMs or correlationId', () => {
    const response = errorResponse('r', new GoneError('ended'), 'c');

    expect(response.status).toBe(410);
    expect(response.error).not.toHaveProperty('retryAfterMs');
    expect(response.error).not.toHaveProperty('correlationId');
  });

  it('401 maps as Unauthorized', () => {
    expect(errorResponse(undefined, new UnauthorizedError(), 'c')).toMatchObject({ status: 401, error: { code: 'Unauthorized' } });
  });

  it('an unknown error is a 500 with the correlation id and no message or stack leak', () => {
    const secret = new Error('connect ECONNREFUSED 10.0.0.7:8000 password=hunter2');

    const response = errorResponse('r9', secret, 'corr-42');
    const serialized = JSON.stringify(response);

    expect(response).toEqual({
      type: 'response',
      rid: 'r9',
      status: 500,
      error: { code: 'Internal', message: 'internal error (correlation id corr-42)', correlationId: 'corr-42' },
    });
    expect(serialized).not.toContain('ECONNREFUSED');
    expect(serialized).not.toContain('hunter2');
    expect(serialized).not.toContain('at ');
  });

  it.each(['a string', 42, null, undefined, { status: 403, code: 'Forbidden', message: 'spoofed' }])(
    'a non-Error throw is a 500 too (%p)',
    (thrown) => {
      const response = errorResponse('r', thrown, 'corr');

      expect(response.status).toBe(500);
      expect(response.error.code).toBe('Internal');
    },
  );
});

describe('serverEvent', () => {
  it('is an event frame with the payload spread alongside', () => {
    expect(serverEvent('im.typing', { conversationId: 'conv-1', from: { uri: 'sip:alice@contoso.com', name: 'Alice' } })).toEqual({
      type: 'event',
      event: 'im.typing',
      conversationId: 'conv-1',
      from: { uri: 'sip:alice@contoso.com', name: 'Alice' },
    });
  });
});
