/** Jest projects: unit tests (pure, no network) and integration tests (local cloud, real SDK clients). */
// Node 20 is this machine's runtime; the SDK's notice about its future support is noise in test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
// Handlers log structured JSON; tests show warnings and errors only.
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
const transform = {
  // ts-jest transpiles (type checking is `npm run typecheck`); middy ships ESM only, so it is transformed too.
  '^.+\\.[tj]s$': ['ts-jest', { tsconfig: { allowJs: true, module: 'commonjs', moduleResolution: 'node10', isolatedModules: true }, diagnostics: false }],
};
/**
 * With AWS_ENDPOINT_URL (the external-endpoint mode: LocalStack, moto, another emulator) these suites test the
 * local cloud's own emulators (their internals, signatures and wire protocols), which do not run then: they
 * are left out with this message, never silently. test/e2e/external-endpoint-moto.test.ts tests that mode.
 */
const LOCAL_EMULATOR_SUITES = {
  'test/integration/local-s3.test.ts': 'the local S3 emulator',
  'test/integration/local-sqs.test.ts': 'the local SQS emulator',
  'test/integration/local-scheduler.test.ts': 'the local Scheduler emulator',
  'test/integration/local-signatures.test.ts': "the local emulators' SigV4 checks",
  'test/integration/third-party-clients.test.ts': 'third-party clients against the local emulators',
};
const externalEndpoint = process.env.AWS_ENDPOINT_URL;
if (externalEndpoint) {
  console.warn(
    `AWS_ENDPOINT_URL=${externalEndpoint}: skipping the suites of the local emulators, which do not run in this mode:\n` +
      Object.entries(LOCAL_EMULATOR_SUITES)
        .map(([file, what]) => `  ${file} (${what})`)
        .join('\n'),
  );
}
const common = {
  testEnvironment: 'node',
  transform,
  transformIgnorePatterns: ['/node_modules/(?!@middy/)'],
  moduleFileExtensions: ['ts', 'js', 'json'],
};
module.exports = {
  /**
   * Two test files at a time (CI and this machine have two cores): the end-to-end suites spend most of their
   * time waiting for the durations they configure (timers of seconds), so a second file runs in that time. Each
   * file is isolated (its own local cloud on a free port, its own table, fresh users); web/dist is built once in
   * the global setup. A file alone still runs in band.
   */
  maxWorkers: 2,
  testTimeout: 60000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts', '<rootDir>/test/e2e/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', ...(externalEndpoint ? Object.keys(LOCAL_EMULATOR_SUITES).map((file) => `<rootDir>/${file}`) : [])],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
    { ...common, displayName: 'infra', testMatch: ['<rootDir>/test/infra/**/*.test.ts'] },
  ],
};
