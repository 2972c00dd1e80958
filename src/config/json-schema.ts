// The JSON Schema committed at schema/gatehouse.schema.json for editor completion. Generated
// from the same TypeBox values the loader validates with, so the two cannot drift.
import { filtersSchema } from '../filters/registry.js';
import { configSchema } from './schema.js';

export const SCHEMA_ID = 'urn:gatehouse:config';

export function buildJsonSchema(): Record<string, unknown> {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: SCHEMA_ID,
    title: 'Gatehouse configuration',
    ...configSchema(filtersSchema()),
  };
}

/** Exactly the bytes of the committed file. */
export function renderJsonSchema(): string {
  return `${JSON.stringify(buildJsonSchema(), null, 2)}\n`;
}
