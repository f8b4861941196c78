import {
  AppError,
  BadRequestError,
  ConflictError,
  ForbiddenError,
  GoneError,
  NotFoundError,
  TooLargeError,
  TooManyRequestsError,
  UnauthorizedError,
  UnavailableError,
} from '../../../shared/errors';

describe('error hierarchy', () => {
  const cases: ReadonlyArray<readonly [AppError, number, string, string]> = [
    [new BadRequestError('bad'), 400, 'BadRequest', 'BadRequestError'],
    [new UnauthorizedError(), 401, 'Unauthorized', 'UnauthorizedError'],
    [new ForbiddenError('no'), 403, 'Forbidden', 'ForbiddenError'],
    [new NotFoundError('missing'), 404, 'NotFound', 'NotFoundError'],
    [new ConflictError('clash'), 409, 'Conflict', 'ConflictError'],
    [new GoneError('ended'), 410, 'Gone', 'GoneError'],
    [new TooLargeError('big'), 413, 'TooLarge', 'TooLargeError'],
    [new TooManyRequestsError('slow down', 1500), 429, 'TooManyRequests', 'TooManyRequestsError'],
    [new UnavailableError('later', 250), 503, 'Unavailable', 'UnavailableError'],
  ];

  it.each(cases)('each error carries the status and code of the envelope (%p)', (error, status, code, name) => {
    expect(error.status).toBe(status);
    expect(error.code).toBe(code);
    expect(error.name).toBe(name);
  });

  it.each(cases)('every error is an AppError and an Error, so instanceof checks work (%p)', (error) => {
    expect(error).toBeInstanceOf(AppError);
    expect(error).toBeInstanceOf(Error);
  });

  it('a bad request names the offending field', () => {
    const error = new BadRequestError("field 'to' is required", 'to');

    expect(error.message).toBe("field 'to' is required");
    expect(error.field).toBe('to');
  });

  it('a bad request without a field leaves field undefined', () => {
    expect(new BadRequestError('malformed JSON').field).toBeUndefined();
  });

  it('unauthorized has a default message', () => {
    expect(new UnauthorizedError().message).toBe('authentication required');
  });

  it('429 and 503 carry retryAfterMs', () => {
    expect(new TooManyRequestsError('slow down', 1500).retryAfterMs).toBe(1500);
    expect(new UnavailableError('later', 250).retryAfterMs).toBe(250);
  });

  it('errors other than 429 and 503 carry no retryAfterMs', () => {
    const others: AppError[] = [new BadRequestError('x'), new ForbiddenError('x'), new NotFoundError('x'), new GoneError('x')];

    for (const error of others) expect(error.retryAfterMs).toBeUndefined();
  });
});
