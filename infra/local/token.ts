import { identityKinds, type IdentityKind } from '../../shared/auth/identity';
import { issueToken } from '../../shared/auth/tokens';
import { LOCAL_JWT_SECRET } from './cloud';

/** `npm run token -- sip:alice@contoso.com [kind] [device]`: a development token for the local cloud. */
async function main(): Promise<void> {
  const [uri, kind = 'enterprise', device = 'desktop'] = process.argv.slice(2);
  if (!uri?.startsWith('sip:')) {
    console.error('usage: npm run token -- sip:alice@contoso.com [enterprise|federated|anonymous|pstn|application|admin] [desktop|mobile|web|bot]');
    process.exit(2);
  }
  if (!(identityKinds as readonly string[]).includes(kind)) {
    console.error(`unknown kind '${kind}': one of ${identityKinds.join(', ')}`);
    process.exit(2);
  }
  const token = await issueToken(
    { uri, kind: kind as IdentityKind, device: device as 'desktop', name: uri.slice(4, uri.indexOf('@')) },
    process.env.AUTH_JWT_SECRET ?? LOCAL_JWT_SECRET,
  );
  console.log(token);
}

void main();
