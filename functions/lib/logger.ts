import { Logger } from '@aws-lambda-powertools/logger';

/**
 * One structured logger per process. Tokens and message bodies are never logged; commands are logged by
 * action, status and correlation id.
 */
export const logger = new Logger({ serviceName: 'uc-backend' });
