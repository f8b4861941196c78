import { atExpression, rateExpression, scheduleName } from '../../../../shared/timers/schedule-names';

describe('timer schedule names are deterministic per rule, subject and version', () => {
  test('the same timer always has the same name, within Scheduler limits', () => {
    const timer = { rule: 'conversation.idle', subject: 'conv#0f3a/with:odd chars', version: 3 };
    expect(scheduleName(timer)).toBe(scheduleName({ ...timer }));
    expect(scheduleName(timer)).toMatch(/^[0-9a-zA-Z_.-]{1,64}$/);
  });

  test('another subject, rule or version is another schedule', () => {
    const base = { rule: 'conversation.idle', subject: 'c1', version: 1 };
    const names = new Set([
      scheduleName(base),
      scheduleName({ ...base, subject: 'c2' }),
      scheduleName({ ...base, rule: 'conference.empty' }),
      scheduleName({ ...base, version: 2 }),
    ]);
    expect(names.size).toBe(4);
  });

  test("item 10: a name stays within 64 characters whatever the version (a static meeting space's version grows forever)", () => {
    for (const version of [1, 99_999, 100_000, 123_456_789_012, Number.MAX_SAFE_INTEGER]) {
      expect(scheduleName({ rule: 'conference.noEnterprise', subject: `conf-${'x'.repeat(40)}/act-${'y'.repeat(40)}`, version })).toMatch(/^[0-9a-zA-Z_.-]{1,64}$/);
    }
  });

  test('a rule name too long for a schedule name is refused', () => {
    expect(() => scheduleName({ rule: 'x'.repeat(40), subject: 's', version: 1 })).toThrow('invalid schedule name');
  });
});

describe('a timer never fires early', () => {
  test('at() rounds up to the next whole second, in UTC', () => {
    expect(atExpression(Date.UTC(2026, 10, 22, 9, 30, 15, 1))).toBe('at(2026-11-22T09:30:16)');
    expect(atExpression(Date.UTC(2026, 10, 22, 9, 30, 15, 0))).toBe('at(2026-11-22T09:30:15)');
  });

  test('rate() uses minutes when it can, seconds (local extension) otherwise', () => {
    expect(rateExpression(60)).toBe('rate(1 minute)');
    expect(rateExpression(300)).toBe('rate(5 minutes)');
    expect(rateExpression(2)).toBe('rate(2 seconds)');
    expect(rateExpression(1)).toBe('rate(1 second)');
  });
});
