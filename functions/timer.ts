import { IDLE_TIMER_RULE } from '../shared/conversation/service';
import { type Dependencies, productionDependencies } from './lib/dependencies';
import { makeTimerHandler, type TimerRule } from './lib/timer-handler';

/** The app's timer rules, by name; each area's service decides from its own stored state. */
export function timerRules(deps: Pick<Dependencies, 'conversations'>): Readonly<Record<string, TimerRule>> {
  return {
    [IDLE_TIMER_RULE]: (firing) => deps.conversations.onIdleTimer(firing),
  };
}

export const handler = makeTimerHandler(timerRules(productionDependencies()));
