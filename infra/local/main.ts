import { parseArgs } from 'node:util';
import { type LocalCloud, LOCAL_JWT_SECRET, startLocalCloud } from './cloud';

/** `npm start [-- --in-memory] [--port N]`: the whole backend on this machine. */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { 'in-memory': { type: 'boolean', default: false }, port: { type: 'string' }, 'data-dir': { type: 'string' } },
  });
  const startedAt = Date.now();
  let cloud: LocalCloud;
  try {
    cloud = await startLocalCloud({
      inMemory: values['in-memory'],
      port: values.port === undefined ? undefined : Number(values.port),
      dataDir: values['data-dir'],
    });
  } catch (error) {
    console.error(`local cloud failed to start: ${(error as Error).message}`);
    process.exit(1);
  }
  const secretNote = process.env.AUTH_JWT_SECRET === LOCAL_JWT_SECRET ? ' (development secret)' : '';
  console.log(
    [
      `local cloud ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`,
      `  Web app         http://localhost:${cloud.port}/   (npm run build:web builds it; npm start does)`,
      `  WebSocket API   ${cloud.wsUrl}/?token=JWT`,
      `  AWS endpoint    ${cloud.url}   (AWS_ENDPOINT_URL=${cloud.url} aws dynamodb list-tables)`,
      `  state           ${values['in-memory'] ? 'in memory' : '.data/'}${cloud.externalEndpoint ? `, AWS services at ${cloud.externalEndpoint}` : ''}`,
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
