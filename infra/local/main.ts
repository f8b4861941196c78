import { parseArgs } from 'node:util';
import { type LocalCloud, LOCAL_JWT_SECRET, startLocalCloud } from './cloud';

/** `npm start [-- --in-memory] [--port N] [--data-dir DIR] [--expose]`: the whole backend on this machine (loopback only unless --expose). */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'in-memory': { type: 'boolean', default: false },
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      // Listen on HOST (default 0.0.0.0) rather than loopback: every service is then on the network.
      expose: { type: 'boolean', default: false },
    },
  });
  const startedAt = Date.now();
  const exportDirGiven = process.env.COMPLIANCE_EXPORT_DIR !== undefined;
  let cloud: LocalCloud;
  try {
    cloud = await startLocalCloud({
      inMemory: values['in-memory'],
      port: values.port === undefined ? undefined : Number(values.port),
      dataDir: values['data-dir'],
      expose: values.expose,
      // A web app served elsewhere (a Vite dev server): join links open it instead of this cloud's.
      ...(process.env.WEB_APP_URL ? { env: { WEB_APP_URL: process.env.WEB_APP_URL } } : {}),
    });
  } catch (error) {
    console.error(`local cloud failed to start: ${(error as Error).message}`);
    process.exit(1);
  }
  const secretNote = process.env.AUTH_JWT_SECRET === LOCAL_JWT_SECRET ? ' (development secret)' : '';
  for (const warning of cloud.warnings) console.warn(`WARNING: ${warning}`);
  const state = values['in-memory'] ? 'in memory' : `${values['data-dir'] ?? '.data'}/`;
  console.log(
    [
      `local cloud ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s, listening on ${cloud.host}${cloud.exposed ? ' (EXPOSED beyond this machine: --expose)' : ' (loopback only)'}`,
      `  Web app         http://localhost:${cloud.port}/   (npm run build:web builds it; npm start does)`,
      `  WebSocket API   ${cloud.wsUrl}/?token=JWT`,
      `  OIDC issuer     ${cloud.oidc.issuer}   (the web app signs in here: a development form, any user and kind)`,
      cloud.externalEndpoint
        ? `  AWS services    ${cloud.externalEndpoint}   (external endpoint: DynamoDB, SQS, Scheduler and S3 there; its schedules fired and its compliance queue consumed here)`
        : `  AWS endpoint    ${cloud.url}   (aws --endpoint-url ${cloud.url} sqs list-queues; signed with the credentials it started with: AWS_ACCESS_KEY_ID=${process.env.AWS_ACCESS_KEY_ID} and its secret)`,
      `  state           ${cloud.externalEndpoint ? `in ${cloud.externalEndpoint}; ` : ''}${state}`,
      `  compliance      ${cloud.complianceExportDir}${values['in-memory'] && !exportDirGiven ? ' (temporary, removed at exit)' : ''}`,
      `  a token${secretNote}: npm run token -- sip:alice@contoso.com [kind] [device]`,
      'Ctrl-C stops everything.',
    ].join('\n'),
  );
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the local cloud`);
    await cloud.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

void main();
