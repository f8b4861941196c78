import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { AppFunction } from '../constructs/app-function';
import { APP_FUNCTIONS, AUTHORIZER, type FunctionSpec } from '../functions';

export interface StatelessStackProps extends StackProps {
  readonly table: ITable;
  readonly jwtSecret: ISecret;
  /** Overrides of SPEC.md's configuration (durations, HOME_DOMAIN). */
  readonly config?: Readonly<Record<string, string>>;
  readonly stageName?: string;
}

/** The WebSocket API and its functions, built from the one list in infra/functions.ts. */
export class StatelessStack extends Stack {
  readonly api: WebSocketApi;
  readonly stage: WebSocketStage;
  readonly functions = new Map<string, AppFunction>();

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    super(scope, id, props);
    const environment = { ...(props.config ?? {}) };
    const build = (spec: FunctionSpec) => {
      const fn = new AppFunction(this, pascal(spec.name), { spec, environment });
      if (spec.uses.table) fn.bindTable(props.table, spec.uses.table);
      this.functions.set(spec.name, fn);
      return fn;
    };

    const authorizerFunction = build(AUTHORIZER);
    // The token secret reaches only the authorizer, as a CloudFormation dynamic reference resolved at deploy.
    authorizerFunction.fn.addEnvironment('AUTH_JWT_SECRET', props.jwtSecret.secretValue.unsafeUnwrap());
    const authorizer = new WebSocketLambdaAuthorizer('TokenAuthorizer', authorizerFunction.fn, {
      identitySource: ['route.request.querystring.token'],
    });

    const functions = APP_FUNCTIONS.map((spec) => ({ spec, fn: build(spec) }));
    const integrationOf = (route: string) => {
      const owner = functions.find(({ spec }) => spec.routes.includes(route));
      if (!owner) throw new Error(`no function serves ${route}`);
      return new WebSocketLambdaIntegration(`${pascal(owner.spec.name)}${pascal(route)}Integration`, owner.fn.fn);
    };

    this.api = new WebSocketApi(this, 'WebSocketApi', {
      routeSelectionExpression: '$request.body.action',
      connectRouteOptions: { integration: integrationOf('$connect'), authorizer },
      disconnectRouteOptions: { integration: integrationOf('$disconnect') },
      defaultRouteOptions: { integration: integrationOf('$default'), returnResponse: true },
    });
    for (const { spec } of functions) {
      for (const route of spec.routes.filter((key) => !key.startsWith('$'))) {
        // A route response: the function's result is the answer frame, no postToConnection needed.
        this.api.addRoute(route, { integration: integrationOf(route), returnResponse: true });
      }
    }
    this.stage = new WebSocketStage(this, 'Stage', {
      webSocketApi: this.api,
      stageName: props.stageName ?? 'prod',
      autoDeploy: true,
      throttle: { rateLimit: 500, burstLimit: 1000 },
    });
    for (const { spec, fn } of functions) {
      if (!spec.uses.connections) continue;
      fn.fn.addEnvironment('WS_MANAGEMENT_ENDPOINT', this.stage.callbackUrl);
      this.api.grantManageConnections(fn.fn);
    }
    new CfnOutput(this, 'WebSocketUrl', { value: this.stage.url });
  }
}

function pascal(name: string): string {
  return name
    .replace(/^\$/, '')
    .split(/[^a-zA-Z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');
}
