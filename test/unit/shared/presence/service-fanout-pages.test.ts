import { presenceHarness, user, withoutBackoff } from './presence-harness';

/**
 * A publish to a target watched by more subscriptions than one page of the watch index holds (issue 21: presence
 * fan-out with O(1) writes, read page by page): every watching subscription gets the new version exactly once, and
 * the next page is read while the current page is posted, not after.
 */
withoutBackoff();

const target = user('popular');
const WATCHERS = 250; // the memory store's pages hold 100: three pages

async function watchedByMany() {
  const h = presenceHarness();
  await h.connect(target, 't1');
  const subscriptions: string[] = [];
  for (let index = 0; index < WATCHERS; index++) {
    const watcher = user(`watcher${index}`);
    await h.connect(watcher, `w${index}`);
    subscriptions.push((await h.service.subscribe(watcher, `w${index}`, { targets: [target.uri] })).subscriptionId);
  }
  h.delivery.clear();
  h.store.calls.length = 0;
  return { ...h, subscriptions };
}

describe('presence fan-out across watch index pages', () => {
  it('every subscription watching the target gets the new version exactly once, across pages', async () => {
    const h = await watchedByMany();
    const { version } = await h.service.publish(target, 't1', { source: 'user', availability: 'busy' });
    for (let index = 0; index < WATCHERS; index++) expect(h.delivery.versionsSeen(`w${index}`, target.uri)).toEqual([version]);
    expect(h.store.callsOf('watchersPage')).toHaveLength(3);
  });

  it('the next page is read while this page is posted (reads and posts overlap)', async () => {
    const h = await watchedByMany();
    const order: string[] = [];
    const post = h.delivery.toConnections.bind(h.delivery);
    h.delivery.toConnections = async (ids, event) => {
      order.push('post');
      return post(ids, event);
    };
    const page = h.store.watchersPage.bind(h.store);
    h.store.watchersPage = async (uri, cursor) => {
      order.push(cursor ? 'read next page' : 'read first page');
      return page(uri, cursor);
    };
    await h.service.publish(target, 't1', { source: 'user', availability: 'busy' });
    const firstPost = order.indexOf('post');
    const secondRead = order.indexOf('read next page');
    // The second page is asked for before the first page's 100 posts are all made.
    expect(secondRead).toBeGreaterThan(-1);
    expect(order.slice(firstPost, secondRead).length).toBeLessThan(100);
  });
});
