import type { Identity } from '../auth/identity';
import { ForbiddenError } from '../errors';
import { decodeKeyCursor, encodeKeyCursor } from '../protocol/cursor';
import { countThatFits } from '../protocol/frame-fit';
import type { ConferenceContext } from './context';
import type { ConferenceContent } from './ports';

/** Meeting content (links, small documents): presenters add it, participants and the organizer list it. Purged by lifecycle.ts. */
export class Content {
  constructor(private readonly ctx: ConferenceContext) {}

  /** Stored, then `conf.content` to the participants (but the adding connection, which has the answer): nobody needs a Refresh (SPEC §9). */
  async add(caller: Identity, confId: string, content: Pick<ConferenceContent, 'title' | 'kind' | 'body'>, connectionId?: string): Promise<ConferenceContent> {
    const { deps } = this.ctx;
    const conference = await this.ctx.load(confId);
    await this.ctx.assertPresenter(conference, caller);
    const added: ConferenceContent = { ...content, contentId: deps.newId('content'), addedBy: caller.uri, addedAt: deps.clock.now() };
    await deps.store.addContent(confId, added);
    await this.ctx.toParticipants(conference, { event: 'conf.content', payload: { confId, content: added } }, connectionId === undefined ? [] : [connectionId]);
    return added;
  }

  /** In the order added, a frame at a time: `cursor` (the last item answered) when more remain (issue 17 item 2). */
  async list(caller: Identity, confId: string, cursor?: string): Promise<{ content: ConferenceContent[]; cursor?: string }> {
    const conference = await this.ctx.load(confId);
    if (!(await this.ctx.mayReadRoster(conference, caller))) throw new ForbiddenError('only participants and the organizer see meeting content');
    const after = cursor === undefined ? undefined : decodeKeyCursor(cursor);
    const content = (await this.ctx.deps.store.content(confId))
      .sort((a, b) => (contentOrder(a) < contentOrder(b) ? -1 : 1))
      .filter((item) => after === undefined || contentOrder(item) > after);
    const kept = countThatFits(content, (items) => ({ content: items }));
    const last = content[kept - 1];
    return { content: content.slice(0, kept), ...(kept < content.length && last ? { cursor: encodeKeyCursor(contentOrder(last)) } : {}) };
  }
}

function contentOrder(content: ConferenceContent): string {
  return `${String(content.addedAt).padStart(15, '0')}#${content.contentId}`;
}
