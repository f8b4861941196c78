const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1']);

/** True for `localhost`, 127.0.0.0/8 and ::1 (also bracketed, or IPv4-mapped as ::ffff:127.x). */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const bare = address.toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/^::ffff:/, '');
  return LOOPBACK_NAMES.has(bare) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}
