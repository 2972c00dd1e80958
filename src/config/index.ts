// The config module's public surface.
export { loadConfigFile, loadConfigText, MAX_CONFIG_BYTES, type LoadedConfig, type LoadOptions } from './load.js';
export { ConfigError } from './issues.js';
export { validateConfig, type ValidationResult } from './validate.js';
export { parseDuration, parseSize } from './units.js';
export { createSecretResolver, envSecrets, fileSecrets, type SecretProvider, type SecretResolver } from './secrets.js';
export { buildJsonSchema, renderJsonSchema } from './json-schema.js';
export type { GatehouseConfig } from './schema.js';
