/**
 * What the server takes as a SIP URI (shared/auth/identity.ts `sipUri`), for the web app to check an address before
 * sending it: ASCII only, without `"` and `\` (RFC 3261 escapes anything else as %XX), one `@`, and at most 128
 * characters, so a URI takes as many bytes in a JSON frame as it has characters (limits.ts).
 */
export const SIP_URI_PATTERN = /^sip:[!#-?A-[\]-~]+@[!#-?A-[\]-~]+$/i;
export const SIP_URI_MAX_LENGTH = 128;
