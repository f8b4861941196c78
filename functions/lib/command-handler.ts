import { type Action, type CommandArgs, commandSchemas } from '../../shared/protocol/commands';
import { type CommandContext, type CommandHandlerOptions, makeCommandPipeline, type PipelineRoute } from './command-pipeline';
import { lambdaHandler } from './observability';

export type { CommandContext, CommandHandlerOptions } from './command-pipeline';

export type CommandRoutes = {
  readonly [A in Action]?: (args: CommandArgs<A>, context: CommandContext) => Promise<unknown>;
};

/**
 * A function's route map, exactly its actions: `{...} satisfies RoutesOf<AreaAction<'chat'>>` makes a missing or
 * an extra route a type error (the actions are listed once, in shared/protocol/actions.ts).
 */
export type RoutesOf<Actions extends Action> = {
  readonly [A in Actions]: (args: CommandArgs<A>, context: CommandContext) => Promise<unknown>;
};

/**
 * A command function: parse the frame, validate its arguments against the protocol's schemas
 * (shared/protocol/commands.ts), identify the caller, run the use case, answer in the envelope
 * (./command-pipeline.ts). Every outcome, errors included, is a response frame; the connection stays open.
 */
export function makeCommandHandler(routes: CommandRoutes, options: CommandHandlerOptions = {}) {
  return makeCommandPipeline(routes as Readonly<Record<string, PipelineRoute>>, commandSchemas, options);
}

/** The Lambda form (Powertools' Lambda context on the logger, the Tracer): functions/lib/observability.ts. */
export { lambdaHandler };
