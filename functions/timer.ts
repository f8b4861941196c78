import { AUTOMATIC_RULES } from '../shared/conference/conference';
import { CONTENT_PURGE_RULE, EXPIRY_RULE } from '../shared/conference/service';
import { IDLE_TIMER_RULE } from '../shared/conversation/service';
import { REFRESH_TIMER_RULE } from '../shared/presence/service';
import { complianceQueue } from './lib/compose/compliance';
import { conferenceService } from './lib/compose/conference';
import { processConfig } from './lib/compose/config';
import { conversationService } from './lib/compose/conversation';
import { edgeDependencies } from './lib/compose/edge';
import { presenceService } from './lib/compose/presence';
import { schedulerTimers } from './lib/compose/timers';
import type { Dependencies } from './lib/dependencies';
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

const config = processConfig();
const edge = edgeDependencies(config);
const ports = { timers: schedulerTimers(config), compliance: complianceQueue(config) };
export const handler = lambdaHandler(
  makeTimerHandler(timerRules({ conversations: conversationService(edge, ports), conferences: conferenceService(edge, ports), presence: presenceService(edge, ports.timers) })),
);
