/**
 * Issue 18 item 5: one action list per area (shared/protocol/actions.ts), from which the functions' WebSocket
 * routes (the CDK stack and the local gateway both route with `routeTable`, infra/functions.ts) and
 * `chat.getserverinfo`'s features are derived. tsc checks each list against the schemas and each route map
 * against its list; this checks what tsc cannot: no action in two lists, every schema'd action routed once.
 */
import { APP_FUNCTIONS, AUTHORIZER, routeTable } from '../../../infra/functions';
import { SERVER_FEATURES, serverInfo } from '../../../shared/chat/server-info';
import { commandSchemas } from '../../../shared/protocol/commands';
import { ACTIONS_BY_AREA, CHAT_ACTIONS, SESSION_ACTIONS, SYSTEM_ACTIONS } from '../../../shared/protocol/actions';

const schemaActions = Object.keys(commandSchemas).sort();
const CONNECTION_ROUTES = ['$connect', '$disconnect', '$default'];

test('the areas list every schema\'d action, each in exactly one area', () => {
  const listed = Object.values(ACTIONS_BY_AREA).flat();
  expect(new Set(listed).size).toBe(listed.length);
  expect([...listed].sort()).toEqual(schemaActions);
});

test('the route table (CDK stack and local gateway) routes every schema\'d action to exactly one function, and nothing else', () => {
  // routeTable throws when two functions serve one route.
  const routes = routeTable();
  expect([...routes.keys()].sort()).toEqual([...schemaActions, ...CONNECTION_ROUTES].sort());
  expect(routeTable(APP_FUNCTIONS)).toEqual(routes);
  expect(AUTHORIZER.routes).toEqual([]);
});

test("each command function serves exactly one area's list", () => {
  const areas = Object.entries(ACTIONS_BY_AREA);
  for (const spec of APP_FUNCTIONS.filter((fn) => fn.routes.some((route) => !route.startsWith('$')))) {
    const matching = areas.filter(([, actions]) => actions === spec.routes);
    expect({ fn: spec.name, areas: matching.map(([area]) => area) }).toEqual({ fn: spec.name, areas: [expect.any(String)] });
  }
  // Every area is served.
  const served = new Set(APP_FUNCTIONS.map((fn) => fn.routes));
  for (const [area, actions] of areas) expect({ area, served: served.has(actions) }).toEqual({ area, served: true });
});

test("chat.getserverinfo's features are routed commands: ping, every chat command but itself, session.resume", () => {
  const routes = routeTable();
  for (const feature of SERVER_FEATURES) expect({ feature, routed: routes.has(feature) }).toEqual({ feature, routed: true });
  expect(SERVER_FEATURES).toEqual([...SYSTEM_ACTIONS, ...CHAT_ACTIONS.filter((action) => action !== 'chat.getserverinfo'), ...SESSION_ACTIONS]);
  const info = serverInfo({ CHAT_MAX_MESSAGE_BYTES: 1, CHAT_HISTORY_PAGE_SIZE: 1, CHAT_MAX_FILE_BYTES: 1 }, 1);
  expect(info.features).toEqual(SERVER_FEATURES);
  // ping, every chat action but chat.getserverinfo, session.resume (a count, so the commands being added in parallel need no edit here).
  expect(info.features).toHaveLength(SYSTEM_ACTIONS.length + CHAT_ACTIONS.length - 1 + SESSION_ACTIONS.length);
});
