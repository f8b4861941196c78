import { AUTOMATIC_RULES } from '../shared/conference/conference';
import { CONTENT_PURGE_RULE, EXPIRY_RULE } from '../shared/conference/service';
import { IDLE_TIMER_RULE } from '../shared/conversation/service';
import { REFRESH_TIMER_RULE } from '../shared/presence/service';
import { type Dependencies, productionDependencies } from './lib/dependencies';
import { lambdaHandler } from './lib/observability';
import { makeTimerHandler, type TimerRule } from './lib/timer-handler';

/** The app's timer rules, by name; each area's service decides from its own stored state. */
export function timerRules(deps: Pick<Dependencies, 'conversations' | 'conferences' | 'presence'>): Readonly<Record<string, TimerRule>> {
  return {
    [IDLE_TIMER_RULE]: (firing) => deps.conversations.onIdleTimer(firing),
    [REFRESH_TIMER_RULE]: (firing) => deps.presence.onRefreshTimer(firing),
    [AUTOMATIC_RULES.empty]: (firing) => deps.conferences.onDeactivationTimer('empty', firing),
    [AUTOMATIC_RULES.noEnterprise]: (firing) => deps.conferences.onDeactivationTimer('noEnterprise', firing),
    [AUTOMATIC_RULES.inactivity]: (firing) => deps.conferences.onDeactivationTimer('inactivity', firing),
    [CONTENT_PURGE_RULE]: (firing) => deps.conferences.onContentPurgeTimer(firing),
    [EXPIRY_RULE]: (firing) => deps.conferences.onExpiryTimer(firing),
  };
}

export const handler = lambdaHandler(makeTimerHandler(timerRules(productionDependencies())));
