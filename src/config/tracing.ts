// Tracing settings from the standard OTEL_* variables, read once at each process's edge; a bad value is a
// configuration error like any other.
import { TracingConfigError, tracingSettings, type TracingSettings } from '../shared/tracing.js';
import { ConfigError } from './load.js';

/** The tracing settings from the environment; a bad value is a ConfigError. */
export function tracingConfig(env: NodeJS.ProcessEnv, serviceName: string): TracingSettings | null {
  try {
    return tracingSettings(env, serviceName);
  } catch (error) {
    if (error instanceof TracingConfigError) throw new ConfigError(error.message);
    throw error;
  }
}
