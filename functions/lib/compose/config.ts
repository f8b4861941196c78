import { type Config, loadConfig } from '../../../shared/config';
import { configureInFlightLimit } from '../in-flight';

let config: Config | undefined;

/**
 * The process's configuration, read from the environment once, by the first composition root that runs (on
 * Lambda: at init; the local cloud sets the environment before it loads a handler). Every client and port is
 * built from it; nothing below the composition roots reads the environment's settings again.
 */
export function processConfig(): Config {
  if (config) return config;
  config = loadConfig();
  configureInFlightLimit(config.MAX_IN_FLIGHT_COMMANDS);
  return config;
}
