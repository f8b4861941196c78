/**
 * A meeting's join link (SPEC §9; docs/protocol.md, "Join links"): `{WEB_APP_URL}{JOIN_PATH}{confId}`. One definition
 * for the server that builds it (shared/conference/meeting-list.ts), the local cloud that serves the app there
 * (infra/local/web.ts) and the app that joins from it (web/src/app.tsx).
 */
export const JOIN_PATH = '/join/';

/** A join link's path, its meeting id captured. */
export const JOIN_LINK_PATH = /^\/join\/([A-Za-z0-9_.-]{1,128})$/;
