import { lambdaHandler, makeCommandHandler, type RoutesOf } from './lib/command-handler';
import type { AreaAction } from '../shared/protocol/actions';
import { TooLargeError } from '../shared/errors';
import { complianceQueue } from './lib/compose/compliance';
import { conferenceService } from './lib/compose/conference';
import { processConfig } from './lib/compose/config';
import { edgeDependencies } from './lib/compose/edge';
import { schedulerTimers } from './lib/compose/timers';
import type { Dependencies } from './lib/dependencies';

/** Conferences (SPEC §4): the Focus's commands; the rules live in shared/conference. */
export function makeConferenceHandler(deps: Pick<Dependencies, 'conferences' | 'config'>) {
  const focus = () => deps.conferences;
  return makeCommandHandler({
    'conf.schedule': async (args, { identity }) => focus().schedule(identity, args),
    'conf.get': async ({ confId, rosterCursor }, { identity }) => focus().get(identity, confId, rosterCursor),
    'conf.join': async ({ confId }, { identity, connectionId }) => focus().join(identity, connectionId, confId),
    'conf.leave': async ({ confId }, { identity }) => focus().leave(identity, confId),
    'conf.update': async ({ confId, ...changes }, { identity }) => focus().update(identity, confId, changes),
    'conf.end': async ({ confId }, { identity }) => focus().end(identity, confId),
    'conf.delete': async ({ confId }, { identity }) => focus().delete(identity, confId),
    'conf.admit': async ({ confId, uri }, { identity }) => focus().admit(identity, confId, uri.toLowerCase()),
    'conf.deny': async ({ confId, uri }, { identity }) => focus().deny(identity, confId, uri.toLowerCase()),
    'conf.content.add': async ({ confId, ...content }, { identity, connectionId }) => focus().addContent(identity, confId, content, connectionId),
    'conf.content.list': async ({ confId, cursor }, { identity }) => focus().listContent(identity, confId, cursor),
    'conf.list': async ({ limit, cursor }, { identity }) => focus().list(identity, limit, cursor),
    'conf.eject': async ({ confId, uri }, { identity }) => focus().eject(identity, confId, uri.toLowerCase()),
    'conf.role': async ({ confId, uri, role }, { identity }) => focus().setRole(identity, confId, uri.toLowerCase(), role),
    'conf.message': async ({ confId, text, clientMsgId }, { identity, connectionId }) => {
      // Meeting IM is IM: the same cap in UTF-8 bytes (SPEC §9).
      if (Buffer.byteLength(text, 'utf8') > deps.config.IM_MAX_MESSAGE_BYTES) throw new TooLargeError(`field 'text': over ${deps.config.IM_MAX_MESSAGE_BYTES} bytes`);
      return focus().sendMessage(identity, connectionId, confId, { text, ...(clientMsgId !== undefined ? { clientMsgId } : {}) });
    },
    'conf.messages': async ({ confId, before, limit }, { identity }) => focus().messages(identity, confId, limit ?? deps.config.CHAT_HISTORY_PAGE_SIZE, before),
    'admin.deleteUser': async ({ uri }, { identity }) => focus().deleteUser(identity, uri),
  } satisfies RoutesOf<AreaAction<'conference'>>);
}

const config = processConfig();
const conferences = conferenceService(edgeDependencies(config), { timers: schedulerTimers(config), compliance: complianceQueue(config) });
export const handler = lambdaHandler(makeConferenceHandler({ conferences, config }));
