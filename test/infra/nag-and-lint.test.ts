import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../infra/app';

const run = promisify(execFile);

// Bundling is skipped (the template is what is checked); cdk-nag's AwsSolutions checks are on every buildApp.
const { app, stateful, stateless } = buildApp(new App({ context: { 'aws:cdk:bundling-stacks': [], 'uc:alarmEmail': 'ops@contoso.com' } }));
const assembly = app.synth();

describe('issue 19: cdk-nag and cfn-lint', () => {
  test('cdk-nag (AwsSolutions) reports no unsuppressed finding on either stack, and every suppression has a reason', () => {
    const findings = [stateful, stateless].flatMap((stack) =>
      assembly
        .getStackArtifact(stack.artifactId)
        .messages.filter((message) => message.level === 'error' || message.level === 'warning')
        .filter((message) => String(message.entry.data).startsWith('AwsSolutions-'))
        .map((message) => `${message.id}: ${String(message.entry.data).split('\n')[0]}`),
    );
    expect(findings).toEqual([]);
    for (const stack of [stateful, stateless]) {
      for (const resource of Object.values(Template.fromStack(stack).toJSON().Resources as Record<string, { Metadata?: { cdk_nag?: { rules_to_suppress: { reason?: string }[] } } }>)) {
        for (const suppression of resource.Metadata?.cdk_nag?.rules_to_suppress ?? []) expect(suppression.reason?.length).toBeGreaterThan(20);
      }
    }
  });

  test('cfn-lint reports no error on the synthesized templates', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'uc-cfn-lint-'));
    try {
      const files = [stateful, stateless].map((stack) => {
        const file = join(dir, `${stack.stackName}.template.json`);
        writeFileSync(file, JSON.stringify(Template.fromStack(stack).toJSON()));
        return file;
      });
      // Errors only (warnings and informational findings are advice): exit code bit 2 is an error.
      const result = await run('cfn-lint', ['--format', 'parseable', '--regions', 'us-east-1', '--', ...files]).then(
        () => ({ code: 0, stdout: '' }),
        (error: { code?: number; stdout?: string }) => ({ code: error.code ?? -1, stdout: error.stdout ?? '' }),
      );
      const errors = result.stdout.split('\n').filter((line) => /:E\d{4}:/.test(line));
      expect(errors).toEqual([]);
      expect(result.code & 2).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
